package io.moestreams.expert;

import io.micrometer.core.instrument.MeterRegistry;
import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.ExpertResult;
import io.moestreams.compute.ffn.Nd4jBackend;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import io.moestreams.schemas.WireFormat;
import io.moestreams.schemas.config.ConfigException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One expert process: loads only the weights of the experts it serves and runs one {@link ExpertWorker} thread
 * (with its own consumer group membership and transactional producer) per expert.
 */
public final class ExpertService implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(ExpertService.class);

    private final MoeModel model;
    private final List<ExpertWorker> workers;
    private final List<Thread> threads;

    private ExpertService(MoeModel model, List<ExpertWorker> workers, List<Thread> threads) {
        this.model = model;
        this.workers = workers;
        this.threads = threads;
    }

    public static ExpertService start(ExpertConfig config, MeterRegistry meters) {
        // checked before loading: MoeModel.load would reject the id too, but without naming the setting
        int numExperts =
                MoeModel.readConfig(config.modelDir(), config.modelLayer()).numExperts();
        for (int e : config.experts()) {
            if (e >= numExperts) {
                throw new ConfigException(
                        ExpertConfig.EXPERTS,
                        "expert " + e + " does not exist: the model has " + numExperts + " experts (0.."
                                + (numExperts - 1) + ")");
            }
        }
        MoeModel model = MoeModel.load(
                config.modelDir(), config.modelLayer(), ExpertSelection.of(config.experts()), Nd4jBackend.INSTANCE);
        try {
            Topics topics = new Topics(config.topicPrefix());
            SchemaRegistryClient registry = new SchemaRegistryClient(config.schemaRegistryUrl());
            TypedTopics typed = new TypedTopics(topics, registry);
            // Register the output schemas once, here, instead of from every worker's first record at the same
            // time (the workers share this client's cache, so their hot path makes no registry call).
            registry.register(WireFormat.subject(topics.expertResults(), false), ExpertResult.getClassSchema());
            registry.register(WireFormat.subject(topics.deadLetter(), false), DeadLetter.getClassSchema());
            List<ExpertWorker> workers = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int e : config.experts()) {
                ExpertWorker w = new ExpertWorker(
                        config, e, model.expert(e), model.config().hiddenSize(), topics, typed, meters);
                Thread t = new Thread(w, "moe-expert-" + e + "-" + config.workerId());
                workers.add(w);
                threads.add(t);
            }
            threads.forEach(Thread::start);
            LOGGER.info(
                    "Expert service {} serving experts {} of {}",
                    config.workerId(),
                    config.experts(),
                    config.modelDir());
            return new ExpertService(model, workers, threads);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** The loaded model (only the served experts); for tests of what was read. */
    MoeModel model() {
        return model;
    }

    /** The first worker failure, if any (a fenced or crashed worker). */
    public Throwable failure() {
        for (ExpertWorker w : workers) {
            if (w.failure() != null) {
                return w.failure();
            }
        }
        return null;
    }

    /** Partitions of expert {@code e}'s topic this process owns right now (0 if it does not serve e). */
    public int ownedPartitions(int expert) {
        int n = 0;
        for (ExpertWorker w : workers) {
            if (w.expert() == expert) {
                n += w.ownedPartitions();
            }
        }
        return n;
    }

    public boolean alive() {
        return threads.stream().allMatch(Thread::isAlive);
    }

    @Override
    public void close() {
        workers.forEach(ExpertWorker::stop);
        for (ExpertWorker w : workers) {
            try {
                if (!w.awaitStopped(Duration.ofSeconds(30))) {
                    LOGGER.warn("Expert {} worker did not stop within 30 s", w.expert());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        model.close();
    }
}

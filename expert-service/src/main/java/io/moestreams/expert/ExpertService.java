package io.moestreams.expert;

import io.micrometer.core.instrument.MeterRegistry;
import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.ExpertResult;
import io.moestreams.compute.ffn.Nd4jBackend;
import io.moestreams.core.config.MoeConfig;
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
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One expert process: loads only the weights of the experts it serves and runs one {@link ExpertWorker} thread
 * (with its own consumer group membership) per expert; the workers share one idempotent {@link ResultSender}.
 */
public final class ExpertService implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(ExpertService.class);

    private final MoeModel model;
    private final ResultSender sender;
    private final List<ExpertWorker> workers;
    private final List<Thread> threads;
    private final CompletableFuture<String> failed;

    private ExpertService(
            MoeModel model,
            ResultSender sender,
            List<ExpertWorker> workers,
            List<Thread> threads,
            CompletableFuture<String> failed) {
        this.failed = failed;
        this.model = model;
        this.sender = sender;
        this.workers = workers;
        this.threads = threads;
    }

    /**
     * The experts {@code config} asks for, checked against the model (without loading weights).
     *
     * @throws ConfigException naming {@code moe.expert.experts} when an expert does not exist
     */
    public static ExpertSelection selection(ExpertConfig config) {
        MoeConfig modelConfig = MoeModel.readConfig(config.modelDir(), config.modelLayer());
        int numExperts = modelConfig.numExperts();
        int numShared = modelConfig.numSharedExperts();
        for (int e : config.experts()) {
            if (e >= numExperts) {
                throw new ConfigException(
                        ExpertConfig.EXPERTS,
                        "expert " + e + " does not exist: the model has " + numExperts + " experts (0.."
                                + (numExperts - 1) + ")");
            }
        }
        for (int j : config.sharedExperts()) {
            if (j >= numShared) {
                throw new ConfigException(
                        ExpertConfig.EXPERTS,
                        "shared expert s" + j + " does not exist: the model has "
                                + (numShared == 0
                                        ? "no shared experts"
                                        : numShared + " (s0..s" + (numShared - 1) + ")"));
            }
        }
        List<Integer> shared = config.allSharedExperts()
                ? IntStream.range(0, numShared).boxed().toList()
                : new ArrayList<>(config.sharedExperts());
        if (config.experts().isEmpty() && shared.isEmpty()) {
            throw new ConfigException(
                    ExpertConfig.EXPERTS, "'shared' selects nothing: the model has no shared experts");
        }
        return ExpertSelection.of(config.experts(), shared);
    }

    public static ExpertService start(ExpertConfig config, MeterRegistry meters) {
        // checked before loading: MoeModel.load would reject the ids too, but without naming the setting
        ExpertSelection selection = selection(config);
        MoeModel model = MoeModel.load(config.modelDir(), config.modelLayer(), selection, Nd4jBackend.INSTANCE);
        int numExperts = model.config().numExperts();
        try {
            Topics topics = new Topics(config.topicPrefix());
            SchemaRegistryClient registry = SchemaRegistryClient.create(config.schemaRegistryUrl(), config.kafka());
            TypedTopics typed = new TypedTopics(topics, registry);
            // Register the output schemas once, here, instead of from every worker's first record at the same
            // time (the workers share this client's cache, so their hot path makes no registry call).
            registry.register(WireFormat.subject(topics.expertResults(), false), ExpertResult.getClassSchema());
            registry.register(WireFormat.subject(topics.deadLetter(), false), DeadLetter.getClassSchema());
            int hiddenSize = model.config().hiddenSize();
            List<ServedExpert> served = new ArrayList<>();
            for (int e : config.experts()) {
                served.add(ServedExpert.routed(e, topics, config.groupPrefix(), model.expert(e)));
            }
            for (int j : model.loadedSharedExperts()) {
                served.add(ServedExpert.shared(j, numExperts, topics, config.groupPrefix(), model.sharedExpert(j)));
            }
            ResultSender sender = new ResultSender(config, topics, typed, hiddenSize, meters);
            CompletableFuture<String> failed = new CompletableFuture<>();
            List<ExpertWorker> workers = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (ServedExpert s : served) {
                sender.deadLettersOf(s);
                ExpertWorker w = new ExpertWorker(config, s, hiddenSize, typed, sender, failed, meters);
                workers.add(w);
                threads.add(new Thread(w, "moe-expert-" + s.name() + "-" + config.workerId()));
            }
            threads.forEach(Thread::start);
            LOGGER.info(
                    "Expert service {} serving experts {} of {}",
                    config.workerId(),
                    served.stream().map(ServedExpert::name).toList(),
                    config.modelDir());
            return new ExpertService(model, sender, workers, threads, failed);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** The loaded model (only the served experts); for tests of what was read. */
    MoeModel model() {
        return model;
    }

    /** Completes, with the reason, when a worker stopped for good (the process should be restarted). */
    public CompletableFuture<String> failed() {
        return failed;
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

    /** Ready to serve: every worker is running and has joined its expert's consumer group. */
    public boolean ready() {
        return alive() && workers.stream().allMatch(ExpertWorker::joined);
    }

    /**
     * Graceful stop (SIGTERM): every worker finishes its open micro-batch, waits for the acknowledgements, commits
     * and leaves its group, so its partitions move at once and nothing is computed twice.
     */
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
        sender.close();
        model.close();
    }
}

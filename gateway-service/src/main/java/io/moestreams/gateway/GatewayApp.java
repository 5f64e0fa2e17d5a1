package io.moestreams.gateway;

import io.micrometer.core.instrument.MeterRegistry;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import io.moestreams.schemas.config.ConfigException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway process: provisions the topics, then runs the intake (gating) and the combiner as two Kafka Streams
 * applications ({@code <id>} and {@code <id>-combiner}) so the flow controller can pause intake while the
 * combiner keeps draining. Loads the router weights only, never the experts.
 */
public final class GatewayApp implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(GatewayApp.class);

    private final MoeModel model;
    private final KafkaStreams intake;
    private final KafkaStreams combiner;
    private final FlowController flow;
    private final InFlightLedger ledger;
    private final CountDownLatch intakeStarted;
    private final CountDownLatch combinerStarted;

    private GatewayApp(
            MoeModel model,
            KafkaStreams intake,
            KafkaStreams combiner,
            FlowController flow,
            InFlightLedger ledger,
            CountDownLatch intakeStarted,
            CountDownLatch combinerStarted) {
        this.model = model;
        this.intake = intake;
        this.combiner = combiner;
        this.flow = flow;
        this.ledger = ledger;
        this.intakeStarted = intakeStarted;
        this.combinerStarted = combinerStarted;
    }

    public static GatewayApp start(GatewayConfig config, MeterRegistry meters) {
        MoeModel model = MoeModel.load(config.modelDir(), config.modelLayer(), ExpertSelection.none(), null);
        try {
            if (model.numSharedExperts() > 0) {
                // shared experts through the pipeline (own topics, dispatch, combiner sum) are not wired yet
                throw new ConfigException(
                        GatewayConfig.MODEL_LAYER,
                        "layer " + config.modelLayer() + " of " + config.modelDir() + " has "
                                + model.numSharedExperts() + " shared expert(s), which the pipeline does not serve"
                                + " yet; moe reference computes this layer in-process");
            }
            Topics topics = new Topics(config.topicPrefix());
            SchemaRegistryClient registry = new SchemaRegistryClient(config.schemaRegistryUrl());
            TypedTopics typed = new TypedTopics(topics, registry);
            int numExperts = model.config().numExperts();
            try (Admin admin = Admin.create(adminProps(config))) {
                TopicProvisioner.ensure(admin, config, topics, numExperts);
            }
            SchemaCatalog.registerAll(registry, topics, numExperts);
            InFlightLedger ledger = new InFlightLedger(numExperts, 5_000);
            Topology gating =
                    GatewayTopology.build(config, topics, typed, model.config(), model.router(), ledger, meters);
            Topology combining = CombinerTopology.build(config, topics, typed, ledger, meters);
            KafkaStreams intake = new KafkaStreams(gating, streamsProps(config, config.applicationId()));
            KafkaStreams combiner = new KafkaStreams(combining, combinerProps(config, topics));
            FlowController flow = new FlowController(
                    ledger,
                    config.inFlightCreditTokens(),
                    new FlowController.Intake() {
                        @Override
                        public void pause() {
                            intake.pause();
                        }

                        @Override
                        public void resume() {
                            intake.resume();
                        }
                    },
                    meters);
            CountDownLatch intakeStarted = new CountDownLatch(1);
            CountDownLatch combinerStarted = new CountDownLatch(1);
            watch(intake, "intake", intakeStarted);
            watch(combiner, "combiner", combinerStarted);
            // A failed stream thread (e.g. the registry was unreachable) is replaced; under exactly-once its
            // uncommitted work is aborted and processed again, so nothing is lost or doubled.
            intake.setUncaughtExceptionHandler(GatewayApp::replaceThread);
            combiner.setUncaughtExceptionHandler(GatewayApp::replaceThread);
            combiner.start();
            intake.start();
            flow.start();
            LOGGER.info(
                    "Gateway started: application {} on {}, {} experts, topic prefix '{}'",
                    config.applicationId(),
                    config.bootstrapServers(),
                    numExperts,
                    config.topicPrefix());
            return new GatewayApp(model, intake, combiner, flow, ledger, intakeStarted, combinerStarted);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    private static StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse replaceThread(Throwable e) {
        LOGGER.warn("A gateway stream thread failed and is replaced: {}", e.toString());
        return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
    }

    /** Logs lifecycle transitions and counts {@code running} down the first time the app is RUNNING or failed. */
    private static void watch(KafkaStreams streams, String name, CountDownLatch running) {
        streams.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.RUNNING
                    || now == KafkaStreams.State.ERROR
                    || now == KafkaStreams.State.NOT_RUNNING) {
                LOGGER.info("Gateway {} is {}", name, now);
                running.countDown();
            }
        });
    }

    /**
     * Waits until both Streams applications are RUNNING (their first rebalance is over), so requests sent
     * afterwards are served without start-up delay.
     *
     * @return false if the timeout passed first
     */
    public boolean awaitRunning(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean reached = intakeStarted.await(timeout.toNanos(), TimeUnit.NANOSECONDS)
                && combinerStarted.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        KafkaStreams.State a = intake.state();
        KafkaStreams.State b = combiner.state();
        if (a == KafkaStreams.State.ERROR
                || b == KafkaStreams.State.ERROR
                || a == KafkaStreams.State.NOT_RUNNING
                || b == KafkaStreams.State.NOT_RUNNING) {
            throw new IllegalStateException("gateway failed to start: intake " + a + ", combiner " + b);
        }
        return reached;
    }

    static Map<String, Object> adminProps(GatewayConfig config) {
        Map<String, Object> p = new HashMap<>(config.kafka());
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        return p;
    }

    static Properties streamsProps(GatewayConfig config, String applicationId) {
        Properties p = new Properties();
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) config.replicationFactor());
        p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), TopicProvisioner.MAX_MESSAGE_BYTES);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 1);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 50);
        if (config.stateDir() != null) {
            p.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().toString());
        }
        p.putAll(config.kafka());
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        return p;
    }

    /** The combiner application's properties: {@link #streamsProps} plus its idling setting. */
    static Properties combinerProps(GatewayConfig config, Topics topics) {
        Properties p = streamsProps(config, config.applicationId() + "-combiner");
        // The combiner handles manifests and results in any order, so a task never idles waiting for the
        // other input partition to be fetched (the default waits up to fetch.max.wait.ms).
        p.putIfAbsent(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, -1L);
        return p;
    }

    public InFlightLedger ledger() {
        return ledger;
    }

    public boolean throttling() {
        return flow.throttling();
    }

    public KafkaStreams.State intakeState() {
        return intake.state();
    }

    public KafkaStreams.State combinerState() {
        return combiner.state();
    }

    @Override
    public void close() {
        flow.close();
        intake.close(Duration.ofSeconds(15));
        combiner.close(Duration.ofSeconds(15));
        model.close();
        LOGGER.info("Gateway stopped");
    }
}

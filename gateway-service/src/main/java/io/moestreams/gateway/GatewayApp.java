package io.moestreams.gateway;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.LayerFingerprint;
import io.moestreams.core.model.MoeModel;
import io.moestreams.schemas.Limits;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
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
    private final ClusterInFlight cluster;
    private final LoadRecorder load;
    private final Admin admin;
    private final List<KafkaStreamsMetrics> streamsMetrics;
    private final CountDownLatch intakeStarted;
    private final CountDownLatch combinerStarted;
    private final CompletableFuture<String> failed;

    private GatewayApp(
            MoeModel model,
            KafkaStreams intake,
            KafkaStreams combiner,
            FlowController flow,
            InFlightLedger ledger,
            ClusterInFlight cluster,
            LoadRecorder load,
            Admin admin,
            List<KafkaStreamsMetrics> streamsMetrics,
            CountDownLatch intakeStarted,
            CountDownLatch combinerStarted,
            CompletableFuture<String> failed) {
        this.model = model;
        this.intake = intake;
        this.combiner = combiner;
        this.flow = flow;
        this.ledger = ledger;
        this.cluster = cluster;
        this.load = load;
        this.admin = admin;
        this.streamsMetrics = streamsMetrics;
        this.intakeStarted = intakeStarted;
        this.combinerStarted = combinerStarted;
        this.failed = failed;
    }

    /** Completes, with the reason, when intake or combiner stopped for good (a non-transient error). */
    public CompletableFuture<String> failed() {
        return failed;
    }

    public static GatewayApp start(GatewayConfig config, MeterRegistry meters) {
        MoeModel model = MoeModel.load(config.modelDir(), config.modelLayer(), ExpertSelection.none(), null);
        Admin admin = null;
        try {
            Topics topics = new Topics(config.topicPrefix());
            SchemaRegistryClient registry = SchemaRegistryClient.create(config.schemaRegistryUrl(), config.kafka());
            TypedTopics typed = new TypedTopics(topics, registry);
            int numExperts = model.config().numExperts();
            int numShared = model.numSharedExperts();
            admin = Admin.create(adminProps(config));
            TopicProvisioner.ensure(admin, config, topics, numExperts, numShared);
            SchemaCatalog.registerAll(registry, topics, numExperts, numShared);
            // flow control counts tokens per dispatch target: routed experts, then shared ones (wire ids)
            InFlightLedger ledger = new InFlightLedger(numExperts + numShared, 5_000);
            ClusterInFlight cluster = config.clusterFlowControl()
                    ? ClusterInFlight.of(admin, config, topics, numExperts, numShared, ledger, meters)
                    : null;
            // the load record reports the intake's paused time; the flow controller needs the intake: a holder
            // breaks the cycle
            AtomicReference<FlowController> flowHolder = new AtomicReference<>();
            LoadRecorder load = LoadRecorder.of(config, typed, numExperts, numShared, meters, () -> {
                FlowController f = flowHolder.get();
                return f == null ? 0 : f.throttledNanos();
            });
            // What every response was computed with (router and expert tensors as stored, routing config): hashed
            // from the files without ND4J, so it equals the fingerprint moe reference and moe replay compute.
            String fingerprint = LayerFingerprint.of(config.modelDir(), config.modelLayer());
            Topology gating = GatewayTopology.build(
                    config, topics, typed, model.config(), model.router(), fingerprint, ledger, load, meters);
            Topology combining = CombinerTopology.build(config, topics, typed, ledger, meters);
            String clusterId = clusterId(admin);
            KafkaStreams intake =
                    new KafkaStreams(gating, perCluster(streamsProps(config, config.applicationId()), clusterId));
            KafkaStreams combiner = new KafkaStreams(combining, perCluster(combinerProps(config, topics), clusterId));
            FlowController flow = new FlowController(
                    ledger,
                    cluster == null ? ledger : cluster,
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
            flowHolder.set(flow);
            // Kafka's own client and Streams metrics (consumer lag, commit latency, ...) next to the moe meters
            List<KafkaStreamsMetrics> streamsMetrics =
                    List.of(new KafkaStreamsMetrics(intake), new KafkaStreamsMetrics(combiner));
            streamsMetrics.forEach(m -> m.bindTo(meters));
            CountDownLatch intakeStarted = new CountDownLatch(1);
            CountDownLatch combinerStarted = new CountDownLatch(1);
            CompletableFuture<String> failed = new CompletableFuture<>();
            watch(intake, "intake", intakeStarted, failed);
            watch(combiner, "combiner", combinerStarted, failed);
            // A stream thread failed by a transient cause is replaced after a backoff; anything else stops the app.
            intake.setUncaughtExceptionHandler(ThreadFailurePolicy.system("intake")::onFailure);
            combiner.setUncaughtExceptionHandler(ThreadFailurePolicy.system("combiner")::onFailure);
            combiner.start();
            intake.start();
            flow.start();
            if (cluster != null) {
                cluster.onRefresh(flow::evaluate);
                cluster.start();
            }
            load.start();
            LOGGER.info(
                    "Gateway started: application {} on {}, {} experts + {} shared, topic prefix '{}'",
                    config.applicationId(),
                    config.bootstrapServers(),
                    numExperts,
                    numShared,
                    config.topicPrefix());
            return new GatewayApp(
                    model,
                    intake,
                    combiner,
                    flow,
                    ledger,
                    cluster,
                    load,
                    admin,
                    streamsMetrics,
                    intakeStarted,
                    combinerStarted,
                    failed);
        } catch (RuntimeException e) {
            if (admin != null) {
                admin.close(Duration.ofSeconds(5));
            }
            model.close();
            throw e;
        }
    }

    /** Logs lifecycle transitions and counts {@code running} down the first time the app is RUNNING or failed. */
    private static void watch(
            KafkaStreams streams, String name, CountDownLatch running, CompletableFuture<String> failed) {
        streams.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.ERROR) {
                failed.complete("the gateway " + name + " stopped after a non-transient error (see the log)");
            }
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
        p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), Limits.MAX_RECORD_BYTES);
        // Latency: the processors request a commit after every record they answer, so a response (or a dispatch)
        // is committed at the end of the Streams loop iteration that produced it, batched under load; the interval
        // is only the fallback for everything else.
        p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 0);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        // A crashed instance's tasks move within seconds (Kafka's default session timeout is 45 s).
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 10_000);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 2_000);
        if (config.stateDir() != null) {
            p.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().toString());
        }
        p.putAll(config.kafka());
        if (config.instanceId() != null) {
            // Static membership (Streams appends the thread index): a restart reclaims the same tasks at once.
            p.put(
                    StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG),
                    config.instanceId() + "-" + applicationId);
        }
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        return p;
    }

    private static String clusterId(Admin admin) {
        try {
            return admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while describing the Kafka cluster", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot describe the Kafka cluster (its id names the state directory)", e);
        }
    }

    /**
     * Puts the Streams state of one Kafka cluster in its own subdirectory, {@code <state.dir>/cluster-<id>}: local
     * state restored from another cluster (a recreated dev cluster, a gateway moved between clusters with the same
     * application id) would otherwise be taken for this cluster's, e.g. request ids remembered as duplicates.
     */
    static Properties perCluster(Properties p, String clusterId) {
        if (clusterId != null && !clusterId.isBlank()) {
            String base = p.getProperty(
                    StreamsConfig.STATE_DIR_CONFIG,
                    Path.of(System.getProperty("java.io.tmpdir"), "kafka-streams")
                            .toString());
            p.put(
                    StreamsConfig.STATE_DIR_CONFIG,
                    Path.of(base, "cluster-" + clusterId).toString());
        }
        return p;
    }

    /** The combiner application's properties: {@link #streamsProps} plus its idling setting. */
    static Properties combinerProps(GatewayConfig config, Topics topics) {
        Properties p = streamsProps(config, config.applicationId() + "-combiner");
        // 0 (Kafka's default, spelled out): a task processes manifests and results in timestamp order and never
        // runs past the end of one input's buffer while that partition still has records on the broker, but it
        // does not wait for new records to be produced. After a restart the backlog is therefore replayed before
        // any newer record, which is what lets the combiner tell when it has caught up (CatchUp).
        p.putIfAbsent(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, 0L);
        return p;
    }

    public InFlightLedger ledger() {
        return ledger;
    }

    public boolean throttling() {
        return flow.throttling();
    }

    /** The cluster-wide in-flight estimate, or null with {@code moe.gateway.flow-control=local}. */
    public ClusterInFlight cluster() {
        return cluster;
    }

    /** Total time this instance's intake has been paused by flow control. */
    public long throttledNanos() {
        return flow.throttledNanos();
    }

    public KafkaStreams.State intakeState() {
        return intake.state();
    }

    public KafkaStreams.State combinerState() {
        return combiner.state();
    }

    @Override
    public void close() {
        if (cluster != null) {
            cluster.close();
        }
        flow.close();
        // Leave the groups explicitly (static members otherwise keep their tasks until the session times out).
        CloseOptions leave = CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                .withTimeout(Duration.ofSeconds(15));
        intake.close(leave);
        combiner.close(leave);
        streamsMetrics.forEach(KafkaStreamsMetrics::close);
        load.close();
        admin.close(Duration.ofSeconds(5));
        model.close();
        LOGGER.info("Gateway stopped");
    }
}

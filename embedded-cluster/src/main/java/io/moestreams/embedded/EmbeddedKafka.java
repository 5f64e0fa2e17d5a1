package io.moestreams.embedded;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Apache Kafka broker running in this JVM in KRaft mode: one node that is broker and controller
 * ({@code node.id=1}), listening on free 127.0.0.1 ports, with its log directory in a fresh temporary
 * directory that {@link #close()} deletes. Sized for one machine: every internal topic has replication
 * factor 1 so consumer groups and transactions work, rebalances start without delay, topics are never
 * auto-created (the platform creates its own).
 *
 * <p>The broker's threads are not daemons: a JVM that started one exits only after {@link #close()} or
 * {@code System.exit} (a shutdown hook then stops the broker and deletes its directory).
 */
public final class EmbeddedKafka implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(EmbeddedKafka.class);

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration TOPICS_TIMEOUT = Duration.ofSeconds(30);
    private static final int START_ATTEMPTS = 3;

    static {
        LogDefaults.quietKafka();
    }

    private final KafkaRaftServer server;
    private final Path dir;
    private final String bootstrapServers;
    private final long startupMillis;
    private final BrokerSecurity security;
    private final Thread shutdownHook;
    private boolean closed;

    private EmbeddedKafka(
            KafkaRaftServer server, Path dir, String bootstrapServers, long startupMillis, BrokerSecurity security) {
        this.server = server;
        this.dir = dir;
        this.bootstrapServers = bootstrapServers;
        this.startupMillis = startupMillis;
        this.security = security;
        this.shutdownHook = new Thread(this::closeQuietly, "moe-embedded-kafka-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Starts a broker with the default settings. */
    public static EmbeddedKafka start() {
        return start(Map.of());
    }

    /**
     * Starts a broker and returns once it answers an admin request.
     *
     * @param overrides broker properties applied on top of the defaults (e.g. {@code message.max.bytes});
     *                  the listener, port and log-dir settings are chosen here and should not be overridden
     */
    public static EmbeddedKafka start(Map<String, String> overrides) {
        return start(overrides, null);
    }

    /**
     * Starts a secure broker: a SASL_SSL listener (SCRAM-SHA-512) with TLS from a CA generated into its directory,
     * a mutual-TLS controller listener, KRaft's StandardAuthorizer denying whatever no ACL allows
     * ({@code allow.everyone.if.no.acl.found=false}); the super users are the broker itself and
     * {@link BrokerSecurity#ADMIN_USER}. Every other user starts with no ACL at all.
     *
     * @param users the SCRAM users to create besides the broker's and the admin's (e.g. {@code moe-gateway})
     */
    public static EmbeddedKafka startSecure(Collection<String> users) {
        return start(Map.of(), List.copyOf(users));
    }

    /**
     * Starts a broker, secure when {@code secureUsers} is not null (see {@link #startSecure}).
     *
     * @param overrides broker properties applied on top of the defaults
     * @param secureUsers SCRAM users of a secure broker, or null for a PLAINTEXT broker without authorization
     */
    public static EmbeddedKafka start(Map<String, String> overrides, List<String> secureUsers) {
        Objects.requireNonNull(overrides, "overrides");
        overrides.forEach((key, value) -> {
            if (key == null || key.isBlank() || value == null) {
                throw new IllegalArgumentException("broker override must have a non-blank key and a non-null value, "
                        + "found " + key + "=" + value);
            }
        });
        long t0 = System.nanoTime();
        RuntimeException last = null;
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            try {
                return startOnce(overrides, secureUsers, t0);
            } catch (PortTakenException e) {
                last = e;
                LOGGER.info(
                        "Kafka broker port was taken by another process (attempt {}/{}), retrying on new ports",
                        attempt,
                        START_ATTEMPTS);
            }
        }
        throw last;
    }

    private static EmbeddedKafka startOnce(Map<String, String> overrides, List<String> secureUsers, long t0) {
        int[] ports = FreePorts.allocate(2);
        int brokerPort = ports[0];
        int controllerPort = ports[1];
        Path dir;
        try {
            dir = StaleDirs.create("moe-kafka-");
        } catch (IOException e) {
            throw new UncheckedIOException("could not create a temporary directory for the Kafka broker", e);
        }
        KafkaRaftServer server = null;
        BrokerSecurity security = null;
        try {
            String bootstrap = "127.0.0.1:" + brokerPort;
            Properties props = brokerProperties(brokerPort, controllerPort, dir.resolve("data"));
            if (secureUsers != null) {
                security = BrokerSecurity.generate(dir.resolve("security"), secureUsers, bootstrap);
                props.putAll(security.brokerProperties(brokerPort, controllerPort));
            }
            props.putAll(overrides);
            Path propsFile = dir.resolve("server.properties");
            try (OutputStream out = Files.newOutputStream(propsFile)) {
                props.store(out, "moe-streams embedded broker");
            }
            if (security != null) {
                Files.setPosixFilePermissions(propsFile, PosixFilePermissions.fromString("rw-------"));
            }
            format(propsFile, security);

            server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
            server.startup();
            awaitReady(bootstrap, security);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            LOGGER.info(
                    "Kafka {} broker (KRaft) ready at {} ({}) in {} ms, log dir {}",
                    AppInfoParser.getVersion(),
                    bootstrap,
                    security == null ? "PLAINTEXT" : "SASL_SSL " + BrokerSecurity.MECHANISM + ", ACLs",
                    millis,
                    dir);
            return new EmbeddedKafka(server, dir, bootstrap, millis, security);
        } catch (IOException | RuntimeException e) {
            stopServer(server);
            Dirs.deleteRecursively(dir);
            if (causedByBind(e)) {
                throw new PortTakenException(e);
            }
            if (e instanceof IOException io) {
                throw new UncheckedIOException("could not start the embedded Kafka broker in " + dir, io);
            }
            throw (RuntimeException) e;
        }
    }

    static Properties brokerProperties(int brokerPort, int controllerPort, Path logDir) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("log.dirs", logDir.toString());
        // one broker: every internal topic has a single replica
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "5");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "5");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("share.coordinator.state.topic.num.partitions", "1");
        p.put("default.replication.factor", "1");
        p.put("min.insync.replicas", "1");
        p.put("num.partitions", "1");
        p.put("auto.create.topics.enable", "false");
        // no waiting for more members to join a fresh group
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("group.streams.initial.rebalance.delay.ms", "0");
        // small footprint: modest segments and indexes, one small cleaner, few threads
        p.put("log.segment.bytes", String.valueOf(64 * 1024 * 1024));
        p.put("log.index.size.max.bytes", String.valueOf(1024 * 1024));
        p.put("log.cleaner.threads", "1");
        p.put("log.cleaner.dedupe.buffer.size", String.valueOf(8 * 1024 * 1024));
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "4");
        p.put("num.recovery.threads.per.data.dir", "1");
        p.put("background.threads", "4");
        Properties props = new Properties();
        props.putAll(p);
        return props;
    }

    private static void format(Path propsFile, BrokerSecurity security) {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        int rc;
        List<String> args =
                new ArrayList<>(List.of("format", "-t", Uuid.randomUuid().toString(), "-c", propsFile.toString()));
        if (security != null) {
            args.addAll(security.formatArguments()); // the SCRAM users, written into the first metadata records
        }
        try (PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
            rc = StorageTool.execute(args.toArray(new String[0]), out);
        }
        if (rc != 0) {
            String output = buffer.toString(StandardCharsets.UTF_8).strip();
            throw new IllegalStateException("formatting the KRaft log directory failed (StorageTool exit code " + rc
                    + "): " + (security == null ? output : security.redact(output)));
        }
    }

    private static void awaitReady(String bootstrap, BrokerSecurity security) {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        Exception lastError = null;
        Map<String, Object> config = new HashMap<>(adminConfig(bootstrap));
        if (security != null) {
            config.putAll(security.clientProperties(BrokerSecurity.ADMIN_USER));
        }
        try (Admin admin = Admin.create(config)) {
            while (System.nanoTime() < deadline) {
                try {
                    if (!admin.describeCluster()
                            .nodes()
                            .get(5, TimeUnit.SECONDS)
                            .isEmpty()) {
                        return;
                    }
                } catch (ExecutionException | TimeoutException e) {
                    lastError = e;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(
                            "interrupted while waiting for the Kafka broker at " + bootstrap, e);
                }
                pause(50);
            }
        }
        throw new IllegalStateException(
                "Kafka broker at " + bootstrap + " did not answer describeCluster within " + READY_TIMEOUT.toSeconds()
                        + " s" + (lastError == null ? "" : ": " + lastError),
                lastError);
    }

    /**
     * Creates the topics (replication factor 1) and returns once every partition of each has a leader.
     * A topic that already exists with the requested partition count is accepted.
     *
     * @param bootstrapServers  the cluster to create them on
     * @param partitionsByTopic partition count (>= 1) by topic name
     */
    public static void createTopics(String bootstrapServers, Map<String, Integer> partitionsByTopic) {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        Objects.requireNonNull(partitionsByTopic, "partitionsByTopic");
        List<NewTopic> topics = new ArrayList<>();
        partitionsByTopic.forEach((topic, partitions) -> {
            if (topic == null || topic.isBlank()) {
                throw new IllegalArgumentException("topic name must not be blank, was '" + topic + "'");
            }
            if (partitions == null || partitions < 1) {
                throw new IllegalArgumentException(
                        "partition count of topic " + topic + " must be >= 1, was " + partitions);
            }
            topics.add(new NewTopic(topic, partitions, (short) 1));
        });
        if (topics.isEmpty()) {
            return;
        }
        long deadline = System.nanoTime() + TOPICS_TIMEOUT.toNanos();
        try (Admin admin = Admin.create(adminConfig(bootstrapServers))) {
            admin.createTopics(topics).values().forEach((topic, future) -> {
                try {
                    future.get(TOPICS_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException(
                                "could not create topic " + topic + " on " + bootstrapServers + ": " + e.getCause(),
                                e.getCause());
                    }
                } catch (TimeoutException e) {
                    throw new IllegalStateException(
                            "creating topic " + topic + " on " + bootstrapServers + " did not complete within "
                                    + TOPICS_TIMEOUT.toSeconds() + " s",
                            e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while creating topic " + topic, e);
                }
            });
            awaitTopics(admin, bootstrapServers, partitionsByTopic, deadline);
        }
    }

    private static void awaitTopics(Admin admin, String bootstrap, Map<String, Integer> expected, long deadline) {
        Set<String> pending = new HashSet<>(expected.keySet());
        String lastProblem = "not described yet";
        while (true) {
            try {
                Map<String, TopicDescription> described =
                        admin.describeTopics(pending).allTopicNames().get(5, TimeUnit.SECONDS);
                for (TopicDescription description : described.values()) {
                    int want = expected.get(description.name());
                    int have = description.partitions().size();
                    if (have != want) {
                        throw new IllegalStateException("topic " + description.name() + " on " + bootstrap
                                + " exists with " + have + " partitions, expected " + want);
                    }
                    if (description.partitions().stream()
                            .map(TopicPartitionInfo::leader)
                            .allMatch(Objects::nonNull)) {
                        pending.remove(description.name());
                    } else {
                        lastProblem = "topic " + description.name() + " has a partition without leader";
                    }
                }
                if (pending.isEmpty()) {
                    return;
                }
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                    throw new IllegalStateException(
                            "could not describe topics " + pending + " on " + bootstrap + ": " + e.getCause(),
                            e.getCause());
                }
                lastProblem = e.getCause().getMessage();
            } catch (TimeoutException e) {
                lastProblem = "describeTopics timed out";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for topics " + pending, e);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("topics " + pending + " on " + bootstrap + " were not ready within "
                        + TOPICS_TIMEOUT.toSeconds() + " s: " + lastProblem);
            }
            pause(50);
        }
    }

    private static Map<String, Object> adminConfig(String bootstrap) {
        return Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrap,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                5000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                10000,
                AdminClientConfig.RETRY_BACKOFF_MS_CONFIG,
                50);
    }

    /** {@code host:port} of the client listener (PLAINTEXT, or SASL_SSL when secure), for {@code bootstrap.servers}. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Users, passwords and client properties of a secure broker; null for a PLAINTEXT one. */
    public BrokerSecurity security() {
        return security;
    }

    /** The temporary directory holding config and log dirs (deleted by {@link #close()}). */
    Path directory() {
        return dir;
    }

    /** Milliseconds from {@link #start} until the broker answered an admin request. */
    public long startupMillis() {
        return startupMillis;
    }

    /** Stops the broker and deletes its log directory. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shutdownInProgress) {
            // called from a shutdown hook: nothing to unregister
        }
        long t0 = System.nanoTime();
        stopServer(server);
        Dirs.deleteRecursively(dir);
        LOGGER.info(
                "Kafka broker at {} stopped in {} ms",
                bootstrapServers,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    private void closeQuietly() {
        try {
            close();
        } catch (RuntimeException e) {
            LOGGER.warn("stopping the Kafka broker at {} failed: {}", bootstrapServers, e.toString());
        }
    }

    private static void stopServer(KafkaRaftServer server) {
        if (server != null) {
            server.shutdown();
            server.awaitShutdown();
        }
    }

    private static boolean causedByBind(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BindException
                    || (t.getMessage() != null && t.getMessage().contains("Address already in use"))) {
                return true;
            }
        }
        return false;
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the Kafka broker", e);
        }
    }

    @Override
    public String toString() {
        return "EmbeddedKafka[" + bootstrapServers + "]";
    }

    /** The probed port was bound by someone else before the broker could bind it. */
    private static final class PortTakenException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        PortTakenException(Throwable cause) {
            super("a port chosen for the Kafka broker was taken before it could bind: " + cause, cause);
        }
    }
}

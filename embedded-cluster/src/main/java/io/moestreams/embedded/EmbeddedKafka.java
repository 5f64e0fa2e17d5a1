package io.moestreams.embedded;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
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
            Properties props = BrokerSetup.brokerProperties(brokerPort, controllerPort, dir.resolve("data"));
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
            BrokerSetup.format(propsFile, security);

            server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
            server.startup();
            BrokerAdmin.awaitReady(bootstrap, security);
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

    /**
     * Creates the topics (replication factor 1) and returns once every partition of each has a leader.
     * A topic that already exists with the requested partition count is accepted.
     *
     * @param bootstrapServers  the cluster to create them on
     * @param partitionsByTopic partition count (>= 1) by topic name
     */
    public static void createTopics(String bootstrapServers, Map<String, Integer> partitionsByTopic) {
        BrokerAdmin.createTopics(bootstrapServers, partitionsByTopic);
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

package io.moestreams.embedded;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The key material of a broker running the apache/kafka image (its {@code /etc/kafka/secrets} contract) and of its
 * clients, one directory per principal, so that each container mounts only its own (docker-compose.secure.yml):
 *
 * <ul>
 *   <li>{@value #BROKER_DIR}/: {@code broker.p12} (key and certificate, valid for the broker's host name,
 *       {@code localhost} and {@code 127.0.0.1}), {@code broker.keystore-credentials} and
 *       {@code broker.key-credentials} (their password, as the image reads it), {@code ca.pem}, the JAAS file
 *       {@value #JAAS_FILE} and {@code healthcheck.properties};
 *   <li>{@value #ADMIN_DIR}/: {@code moe-admin.properties} (SCRAM on the client listener),
 *       {@code moe-admin-bootstrap.properties} (PLAIN on the bootstrap listener) and {@value #SCRAM_USERS}, every
 *       SCRAM user's password, which the admin creates once the broker is up;
 *   <li>one directory per other principal with its {@code <user>.properties}.
 * </ul>
 *
 * <p>Client listeners take SCRAM-SHA-512. The broker cannot have SCRAM users before it runs (the image formats its
 * storage without any), so a bootstrap listener takes PLAIN against the two users of the JAAS file: the broker itself
 * (inter-broker traffic) and the admin. Every property file carries the CA inline ({@code ssl.truststore.certificates})
 * and so works wherever it is copied; every file is readable by its owner only.
 */
public final class KafkaImageSecrets {

    /** The broker's directory (mounted at /etc/kafka/secrets). */
    public static final String BROKER_DIR = "broker";
    /** The admin's directory. */
    public static final String ADMIN_DIR = "admin";
    /** In the admin's directory: user=password of every SCRAM user. */
    public static final String SCRAM_USERS = "scram-users.properties";
    /** In the admin's directory: PLAIN on the bootstrap listener, usable before any SCRAM user exists. */
    public static final String ADMIN_BOOTSTRAP_PROPERTIES = "moe-admin-bootstrap.properties";
    /** In the broker's directory: the broker's JAAS file (KAFKA_OPTS=-Djava.security.auth.login.config=...). */
    public static final String JAAS_FILE = "kafka_server_jaas.conf";
    /** The listener the broker and the admin use with PLAIN. */
    public static final String BOOTSTRAP_LISTENER = "BOOTSTRAP";

    private static final Pattern DIR_NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");
    private static final String PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule";
    private static final String SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule";

    private KafkaImageSecrets() {}

    /** Where clients reach the broker: its host name, the SCRAM client port and the PLAIN bootstrap port. */
    public record Endpoints(String host, int clientPort, int bootstrapPort) {
        public Endpoints {
            Objects.requireNonNull(host, "host");
            for (int port : new int[] {clientPort, bootstrapPort}) {
                if (port < 1 || port > 65535) {
                    throw new IllegalArgumentException("port " + port + " must be in [1, 65535]");
                }
            }
        }
    }

    /**
     * Generates a CA, the broker's key store and a password per user, and writes the layout above under {@code root}.
     *
     * @param principalDirs SCRAM user (besides the admin) → its directory under {@code root}, e.g.
     *     {@code moe-gateway → gateway}
     * @param validity how long the CA and the broker's certificate are valid (from now)
     * @return the files written
     * @throws IllegalArgumentException for a directory name other than lower-case letters, digits, {@code . _ -}, or
     *     one of {@value #BROKER_DIR} and {@value #ADMIN_DIR}
     */
    public static List<Path> write(
            Path root, Map<String, String> principalDirs, Endpoints endpoints, Duration validity) {
        if (validity.isNegative() || validity.isZero()) {
            throw new IllegalArgumentException("certificate validity " + validity + " must be positive");
        }
        principalDirs.forEach((user, dir) -> {
            if (!DIR_NAME.matcher(dir).matches() || dir.equals(BROKER_DIR) || dir.equals(ADMIN_DIR)) {
                throw new IllegalArgumentException("directory '" + dir + "' of user " + user
                        + " must be 1 to 64 lower-case letters, digits, '.', '_' or '-', and not '" + BROKER_DIR
                        + "' or '" + ADMIN_DIR + "'");
            }
        });
        Path staging = null;
        try {
            staging = Files.createTempDirectory("moe-secure-init");
            List<String> users = new ArrayList<>(principalDirs.keySet());
            BrokerSecurity security = BrokerSecurity.generate(
                    staging.resolve("security"),
                    users,
                    endpoints.host() + ":" + endpoints.clientPort(),
                    List.of(endpoints.host()),
                    validity);
            String ca = Files.readString(security.caCertificate(), StandardCharsets.US_ASCII);
            String clients = endpoints.host() + ":" + endpoints.clientPort();
            String bootstrap = endpoints.host() + ":" + endpoints.bootstrapPort();
            List<Path> written = new ArrayList<>();

            Path broker = directory(root.resolve(BROKER_DIR));
            written.add(bytes(broker.resolve("broker.p12"), Files.readAllBytes(security.keystore())));
            written.add(text(broker.resolve("broker.keystore-credentials"), security.keystorePassword()));
            written.add(text(broker.resolve("broker.key-credentials"), security.keystorePassword()));
            written.add(text(broker.resolve("ca.pem"), ca));
            written.add(text(broker.resolve(JAAS_FILE), jaas(security)));
            written.add(properties(
                    broker.resolve("healthcheck.properties"),
                    plain(BrokerSecurity.BROKER_USER, security.password(BrokerSecurity.BROKER_USER), ca, bootstrap),
                    "the broker's own health check (PLAIN on the bootstrap listener)"));

            Path admin = directory(root.resolve(ADMIN_DIR));
            written.add(text(admin.resolve("ca.pem"), ca));
            written.add(client(admin, security, BrokerSecurity.ADMIN_USER, ca, clients));
            written.add(properties(
                    admin.resolve(ADMIN_BOOTSTRAP_PROPERTIES),
                    plain(BrokerSecurity.ADMIN_USER, security.password(BrokerSecurity.ADMIN_USER), ca, bootstrap),
                    "User:" + BrokerSecurity.ADMIN_USER + " on the bootstrap listener (PLAIN)"));
            Map<String, String> scram = new LinkedHashMap<>();
            scram.put(BrokerSecurity.ADMIN_USER, security.password(BrokerSecurity.ADMIN_USER));
            for (String user : users) {
                scram.put(user, security.password(user));
            }
            written.add(properties(admin.resolve(SCRAM_USERS), scram, "SCRAM-SHA-512 users and their passwords"));

            for (Map.Entry<String, String> e : principalDirs.entrySet()) {
                Path dir = directory(root.resolve(e.getValue()));
                written.add(text(dir.resolve("ca.pem"), ca));
                written.add(client(dir, security, e.getKey(), ca, clients));
            }
            return written;
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the broker's and clients' secrets under " + root, e);
        } finally {
            delete(staging);
        }
    }

    /** The broker's JAAS file: PLAIN with its two users on the bootstrap listener, SCRAM on the others. */
    private static String jaas(BrokerSecurity security) {
        String brokerPassword = security.password(BrokerSecurity.BROKER_USER);
        return "// the broker's SASL logins: PLAIN on the " + BOOTSTRAP_LISTENER + " listener (the broker itself and "
                + "the admin), SCRAM-SHA-512 on every other listener\n"
                + BOOTSTRAP_LISTENER.toLowerCase(Locale.ROOT) + ".KafkaServer {\n"
                + "  " + PLAIN_MODULE + " required\n"
                + "  username=\"" + BrokerSecurity.BROKER_USER + "\" password=\"" + brokerPassword + "\"\n"
                + "  user_" + BrokerSecurity.BROKER_USER + "=\"" + brokerPassword + "\"\n"
                + "  user_" + BrokerSecurity.ADMIN_USER + "=\"" + security.password(BrokerSecurity.ADMIN_USER)
                + "\";\n"
                + "};\n"
                + "KafkaServer {\n"
                + "  " + SCRAM_MODULE + " required;\n"
                + "};\n";
    }

    private static Map<String, String> plain(String user, String password, String ca, String bootstrap) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("bootstrap.servers", bootstrap);
        p.put("security.protocol", "SASL_SSL");
        p.put("sasl.mechanism", "PLAIN");
        p.put("sasl.jaas.config", PLAIN_MODULE + " required username=\"" + user + "\" password=\"" + password + "\";");
        p.put("ssl.truststore.type", "PEM");
        p.put("ssl.truststore.certificates", ca);
        return p;
    }

    private static Path client(Path dir, BrokerSecurity security, String user, String ca, String bootstrap)
            throws IOException {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("bootstrap.servers", bootstrap);
        p.putAll(security.clientProperties(user));
        p.remove("ssl.truststore.location");
        p.put("ssl.truststore.certificates", ca);
        return properties(
                dir.resolve(user + ".properties"),
                p,
                "Kafka client properties of principal User:" + user + " (SASL_SSL, " + BrokerSecurity.MECHANISM + ")");
    }

    private static Path directory(Path dir) throws IOException {
        Files.createDirectories(dir);
        permissions(dir, "rwx------");
        return dir;
    }

    private static Path bytes(Path file, byte[] content) throws IOException {
        create(file);
        Files.write(file, content);
        return file;
    }

    private static Path text(Path file, String content) throws IOException {
        create(file);
        Files.writeString(file, content, StandardCharsets.UTF_8);
        return file;
    }

    private static Path properties(Path file, Map<String, String> values, String comment) throws IOException {
        Properties p = new Properties();
        p.putAll(values);
        create(file);
        try (OutputStream out = Files.newOutputStream(file)) {
            p.store(out, comment);
        }
        return file;
    }

    /** An empty file readable by its owner only, before anything secret is written into it. */
    private static void create(Path file) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file);
        permissions(file, "rw-------");
    }

    private static void permissions(Path path, String mode) throws IOException {
        try {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(mode));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: the directory's own permissions apply
        }
    }

    private static void delete(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not delete the staging directory " + dir, e);
        }
    }
}

package io.moestreams.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaImageSecretsTest {

    private static final KafkaImageSecrets.Endpoints KAFKA = new KafkaImageSecrets.Endpoints("kafka", 9092, 9094);

    @TempDir
    Path root;

    @Test
    void eachPrincipalGetsItsOwnSelfContainedPropertyFileReadableByItsOwnerOnly() throws Exception {
        // Given the secrets of a gateway and a client
        KafkaImageSecrets.write(
                root, Map.of("moe-gateway", "gateway", "moe-client", "client"), KAFKA, Duration.ofDays(365));

        // Then the gateway's file signs in with SCRAM on the client listener, trusting the CA given inline
        Properties gateway = load(root.resolve("gateway/moe-gateway.properties"));
        assertEquals("kafka:9092", gateway.getProperty("bootstrap.servers"));
        assertEquals("SASL_SSL", gateway.getProperty("security.protocol"));
        assertEquals("SCRAM-SHA-512", gateway.getProperty("sasl.mechanism"));
        assertTrue(gateway.getProperty("sasl.jaas.config").contains("username=\"moe-gateway\""));
        assertEquals("PEM", gateway.getProperty("ssl.truststore.type"));
        assertEquals(
                Files.readString(root.resolve("broker/ca.pem")), gateway.getProperty("ssl.truststore.certificates"));
        assertFalse(gateway.containsKey("ssl.truststore.location"), "no path that only exists where it was written");
        // and no directory holds another principal's file
        try (Stream<Path> files = Files.list(root.resolve("gateway"))) {
            assertEquals(
                    List.of("ca.pem", "moe-gateway.properties"),
                    files.map(f -> f.getFileName().toString()).sorted().toList());
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.filter(p -> !p.equals(root)).toList()) {
                String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
                assertEquals(Files.isDirectory(p) ? "rwx------" : "rw-------", mode, p.toString());
            }
        }
    }

    @Test
    void theAdminKnowsEveryScramPasswordAndSignsInWithPlainOnTheBootstrapListener() throws Exception {
        KafkaImageSecrets.write(root, Map.of("moe-client", "client"), KAFKA, Duration.ofDays(365));

        Properties scram = load(root.resolve("admin/" + KafkaImageSecrets.SCRAM_USERS));
        assertEquals(Set.of("moe-admin", "moe-client"), scram.stringPropertyNames());
        assertTrue(load(root.resolve("client/moe-client.properties"))
                .getProperty("sasl.jaas.config")
                .contains("password=\"" + scram.getProperty("moe-client") + "\""));
        Properties bootstrap = load(root.resolve("admin/" + KafkaImageSecrets.ADMIN_BOOTSTRAP_PROPERTIES));
        assertEquals("kafka:9094", bootstrap.getProperty("bootstrap.servers"));
        assertEquals("PLAIN", bootstrap.getProperty("sasl.mechanism"));
        // the broker's JAAS file accepts the admin's PLAIN password on the bootstrap listener
        String jaas = Files.readString(root.resolve("broker/" + KafkaImageSecrets.JAAS_FILE));
        assertTrue(
                jaas.contains("bootstrap.KafkaServer {"),
                jaas.lines().findFirst().orElse(""));
        assertTrue(jaas.contains("user_moe-admin=\"" + scram.getProperty("moe-admin") + "\""));
        assertFalse(jaas.contains(scram.getProperty("moe-client")), "a client's password in the broker's JAAS file");
    }

    @Test
    void theBrokerKeyStoreOpensWithItsCredentialFileAndCoversTheHostName() throws Exception {
        KafkaImageSecrets.write(root, Map.of(), KAFKA, Duration.ofDays(10));

        char[] password = Files.readString(root.resolve("broker/broker.keystore-credentials"))
                .toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(root.resolve("broker/broker.p12"))) {
            ks.load(in, password);
        }
        X509Certificate cert = (X509Certificate) ks.getCertificate("broker");
        List<String> names = cert.getSubjectAlternativeNames().stream()
                .map(n -> String.valueOf(n.get(1)))
                .toList();
        assertTrue(names.containsAll(List.of("kafka", "localhost", "127.0.0.1")), names.toString());
        assertTrue(cert.getNotAfter().toInstant().isBefore(Instant.now().plus(Duration.ofDays(11))));
        X509Certificate ca;
        try (InputStream in = Files.newInputStream(root.resolve("broker/ca.pem"))) {
            ca = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        cert.verify(ca.getPublicKey()); // signed by the CA every client trusts
    }

    @Test
    void aDirectoryNameOfTheBrokerOrTheAdminIsRefused() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> KafkaImageSecrets.write(root, Map.of("moe-x", "admin"), KAFKA, Duration.ofDays(1)));
        assertTrue(e.getMessage().contains("moe-x"), e.getMessage());
    }

    private static Properties load(Path file) throws Exception {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        return p;
    }
}

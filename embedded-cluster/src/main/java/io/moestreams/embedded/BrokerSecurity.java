package io.moestreams.embedded;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The key material and users of a secure embedded broker, generated into its directory: a CA of its own, the
 * broker's certificate signed by it (for {@code 127.0.0.1} and {@code localhost}, also used as its client
 * certificate on the controller listener), SCRAM-SHA-512 users with random passwords, and per user a ready-to-use
 * Kafka client property file ({@code security.protocol}, {@code sasl.*}, {@code ssl.*}).
 *
 * <p>Passwords never leave this object except in the property files (readable by their owner only) and
 * {@link #clientProperties}; {@link #toString()} names the users only.
 */
public final class BrokerSecurity {

    /** The SASL mechanism of every user. */
    public static final String MECHANISM = "SCRAM-SHA-512";
    /** The broker's own SCRAM user (inter-broker listener); a super user. */
    public static final String BROKER_USER = "moe-broker";
    /** The administrator: creates topics and ACLs; a super user. No service runs as it. */
    public static final String ADMIN_USER = "moe-admin";
    /** The principal of the broker's certificate on the mutual-TLS controller listener; a super user. */
    public static final String BROKER_CERT_PRINCIPAL = "CN=moe-broker";

    private static final Pattern USER_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Pattern HOST_NAME = Pattern.compile("(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?");
    private static final String PASSWORD_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789";
    private static final Duration VALIDITY = Duration.ofDays(30);

    private final Path dir;
    private final Map<String, String> passwords;
    private final Path caPem;
    private final Path keystore;
    private final String keystorePassword;

    private BrokerSecurity(
            Path dir, Map<String, String> passwords, Path caPem, Path keystore, String keystorePassword) {
        this.dir = dir;
        this.passwords = Collections.unmodifiableMap(passwords);
        this.caPem = caPem;
        this.keystore = keystore;
        this.keystorePassword = keystorePassword;
    }

    /**
     * Generates the CA, the broker's key store and the users' passwords and property files under {@code dir}.
     *
     * @param users the SCRAM users besides {@link #BROKER_USER} and {@link #ADMIN_USER} (e.g. {@code moe-gateway})
     * @param bootstrapServers written into every property file as {@code bootstrap.servers}
     * @throws IllegalArgumentException for a user name other than letters, digits, {@code . _ -} (at most 64)
     */
    static BrokerSecurity generate(Path dir, Collection<String> users, String bootstrapServers) {
        return generate(dir, users, bootstrapServers, List.of(), VALIDITY);
    }

    /**
     * {@link #generate(Path, Collection, String)} with a broker certificate that is also valid for {@code hostNames}
     * (e.g. the broker's host name on a container network), the CA and it valid for {@code validity}.
     *
     * @throws IllegalArgumentException for a host name that is not a DNS name
     */
    static BrokerSecurity generate(
            Path dir,
            Collection<String> users,
            String bootstrapServers,
            Collection<String> hostNames,
            Duration validity) {
        Objects.requireNonNull(users, "users");
        List<GeneralName> names = new ArrayList<>(List.of(
                new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                new GeneralName(GeneralName.dNSName, "localhost")));
        for (String host : hostNames) {
            if (host == null || !HOST_NAME.matcher(host).matches()) {
                throw new IllegalArgumentException("broker host name '" + host
                        + "' must be a DNS name: letters, digits, '-' and '.', at most 253 characters");
            }
            names.add(new GeneralName(GeneralName.dNSName, host));
        }
        Map<String, String> passwords = new LinkedHashMap<>();
        SecureRandom random = new SecureRandom();
        passwords.put(BROKER_USER, password(random));
        passwords.put(ADMIN_USER, password(random));
        for (String user : users) {
            if (user == null || !USER_NAME.matcher(user).matches()) {
                throw new IllegalArgumentException("SCRAM user name '" + user
                        + "' must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit");
            }
            passwords.putIfAbsent(user, password(random));
        }
        try {
            Files.createDirectories(dir);
            ownerOnly(dir, true);
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), random);
            KeyPair caKeys = generator.generateKeyPair();
            KeyPair brokerKeys = generator.generateKeyPair();
            Instant now = Instant.now();
            X500Name caName = new X500Name("CN=moe-streams embedded CA");
            X509Certificate ca = sign(
                    new JcaX509v3CertificateBuilder(
                                    caName,
                                    serial(random),
                                    Date.from(now.minus(Duration.ofMinutes(5))),
                                    Date.from(now.plus(validity)),
                                    caName,
                                    caKeys.getPublic())
                            .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                            .addExtension(
                                    Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign)),
                    caKeys);
            X509Certificate broker = sign(
                    new JcaX509v3CertificateBuilder(
                                    caName,
                                    serial(random),
                                    Date.from(now.minus(Duration.ofMinutes(5))),
                                    Date.from(now.plus(validity)),
                                    new X500Name(BROKER_CERT_PRINCIPAL),
                                    brokerKeys.getPublic())
                            .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                            .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                            .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(new KeyPurposeId[] {
                                KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
                            }))
                            .addExtension(
                                    Extension.subjectAlternativeName,
                                    false,
                                    new GeneralNames(names.toArray(new GeneralName[0]))),
                    caKeys);
            Path caPem = dir.resolve("ca.pem");
            Files.writeString(caPem, pem(ca), StandardCharsets.US_ASCII);
            String keystorePassword = password(random);
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry(
                    "broker", brokerKeys.getPrivate(), keystorePassword.toCharArray(), new Certificate[] {broker, ca});
            Path keystore = dir.resolve("broker.p12");
            try (OutputStream out = Files.newOutputStream(keystore)) {
                ks.store(out, keystorePassword.toCharArray());
            }
            ownerOnly(keystore, false);
            BrokerSecurity security = new BrokerSecurity(dir, passwords, caPem, keystore, keystorePassword);
            for (String user : passwords.keySet()) {
                security.writePropertiesFile(user, bootstrapServers);
            }
            return security;
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the broker's key material to " + dir, e);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("could not generate the broker's CA and certificate: " + e, e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair issuer)
            throws OperatorCreationException, GeneralSecurityException {
        ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(issuer.getPrivate());
        return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    }

    private static BigInteger serial(SecureRandom random) {
        return new BigInteger(64, random).add(BigInteger.ONE);
    }

    /** A new random password (24 letters and digits). */
    static String password(SecureRandom random) {
        StringBuilder sb = new StringBuilder(24);
        for (int i = 0; i < 24; i++) {
            sb.append(PASSWORD_CHARS.charAt(random.nextInt(PASSWORD_CHARS.length())));
        }
        return sb.toString();
    }

    private static String pem(X509Certificate cert) throws GeneralSecurityException {
        return "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(cert.getEncoded())
                + "\n-----END CERTIFICATE-----\n";
    }

    private static void ownerOnly(Path path, boolean directory) throws IOException {
        try {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(directory ? "rwx------" : "rw-------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: the temporary directory's own permissions apply
        }
    }

    private void writePropertiesFile(String user, String bootstrapServers) throws IOException {
        Properties p = new Properties();
        p.putAll(clientProperties(user));
        p.put("bootstrap.servers", bootstrapServers);
        Path file = propertiesFile(user);
        Files.deleteIfExists(file);
        Files.createFile(file);
        ownerOnly(file, false);
        try (OutputStream out = Files.newOutputStream(file)) {
            p.store(out, "Kafka client properties of principal User:" + user + " (SASL_SSL, " + MECHANISM + ")");
        }
    }

    /** The JAAS line of a SCRAM user. */
    private String jaas(String user) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user + "\" password=\""
                + passwords.get(user) + "\";";
    }

    /** The password of {@code user} (for the broker-side JAAS file of a container broker). */
    String password(String user) {
        String p = passwords.get(user);
        if (p == null) {
            throw new IllegalArgumentException("no SCRAM user '" + user + "' on this broker; users: " + users());
        }
        return p;
    }

    /** The broker's PKCS12 key store (key and certificate chain). */
    Path keystore() {
        return keystore;
    }

    /** The password of the key store and of its key. */
    String keystorePassword() {
        return keystorePassword;
    }

    /** The users with a password here, the broker's and the admin's included. */
    public Set<String> users() {
        return new TreeSet<>(passwords.keySet());
    }

    /**
     * The Kafka client properties of {@code user}: SASL_SSL with SCRAM-SHA-512, trusting the broker's CA (PEM).
     *
     * @throws IllegalArgumentException if the user was not generated here
     */
    public Map<String, String> clientProperties(String user) {
        if (!passwords.containsKey(user)) {
            throw new IllegalArgumentException("no SCRAM user '" + user + "' on this broker; users: " + users());
        }
        Map<String, String> p = new LinkedHashMap<>();
        p.put("security.protocol", "SASL_SSL");
        p.put("sasl.mechanism", MECHANISM);
        p.put("sasl.jaas.config", jaas(user));
        p.put("ssl.truststore.type", "PEM");
        p.put("ssl.truststore.location", caPem.toString());
        return p;
    }

    /** The client property file of {@code user} (owner-readable only). */
    public Path propertiesFile(String user) {
        return dir.resolve(user + ".properties");
    }

    /** The CA certificate (PEM) every client must trust. */
    public Path caCertificate() {
        return caPem;
    }

    /** The users' {@code --add-scram} arguments of the storage format command. */
    List<String> formatArguments() {
        List<String> args = new ArrayList<>();
        passwords.forEach((user, password) -> {
            args.add("--add-scram");
            args.add(MECHANISM + "=[name=" + user + ",password=" + password + "]");
        });
        return args;
    }

    /**
     * The broker settings: a SASL_SSL listener for clients (and the broker itself), a mutual-TLS controller
     * listener, the StandardAuthorizer denying whatever no ACL allows, and the super users.
     */
    Map<String, String> brokerProperties(int brokerPort, int controllerPort) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("listeners", "SASL_SSL://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "SASL_SSL://127.0.0.1:" + brokerPort);
        p.put("listener.security.protocol.map", "SASL_SSL:SASL_SSL,CONTROLLER:SSL");
        p.put("inter.broker.listener.name", "SASL_SSL");
        p.put("sasl.enabled.mechanisms", MECHANISM);
        p.put("sasl.mechanism.inter.broker.protocol", MECHANISM);
        p.put("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config", jaas(BROKER_USER));
        p.put("ssl.keystore.type", "PKCS12");
        p.put("ssl.keystore.location", keystore.toString());
        p.put("ssl.keystore.password", keystorePassword);
        p.put("ssl.key.password", keystorePassword);
        p.put("ssl.truststore.type", "PEM");
        p.put("ssl.truststore.location", caPem.toString());
        p.put("listener.name.controller.ssl.client.auth", "required");
        p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        p.put("allow.everyone.if.no.acl.found", "false");
        p.put("super.users", "User:" + BROKER_USER + ";User:" + BROKER_CERT_PRINCIPAL + ";User:" + ADMIN_USER);
        return p;
    }

    /** {@code text} with every secret replaced by {@code ***} (for error messages that echo configuration). */
    String redact(String text) {
        String out = text;
        for (String secret : passwords.values()) {
            out = out.replace(secret, "***");
        }
        return out.replace(keystorePassword, "***");
    }

    @Override
    public String toString() {
        return "BrokerSecurity[" + MECHANISM + " users " + users() + ", CA " + caPem + "]";
    }
}

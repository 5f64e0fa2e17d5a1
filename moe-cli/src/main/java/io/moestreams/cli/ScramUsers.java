package io.moestreams.cli;

import io.moestreams.embedded.KafkaImageSecrets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.errors.SaslAuthenticationException;

/**
 * The SCRAM users of a secure container deployment, created by the admin over the broker's PLAIN bootstrap listener
 * from the files {@code moe secure-init --generate} wrote into the admin's directory.
 */
final class ScramUsers {

    private static final int ITERATIONS = 8192;
    private static final Duration SIGN_IN_WAIT = Duration.ofSeconds(60);

    private ScramUsers() {}

    /** Creates or updates every user, then waits until the admin signs in with SCRAM on the client listener. */
    static void create(Path adminDir) throws Exception {
        Map<String, String> passwords = ClientProperties.load(adminDir.resolve(KafkaImageSecrets.SCRAM_USERS));
        if (passwords.isEmpty()) {
            throw new IllegalArgumentException(adminDir.resolve(KafkaImageSecrets.SCRAM_USERS)
                    + " lists no user (run moe secure-init --generate)");
        }
        List<UserScramCredentialAlteration> upserts = new ArrayList<>();
        passwords.forEach((user, password) -> upserts.add(new UserScramCredentialUpsertion(
                user, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS), password)));
        Map<String, Object> bootstrap = admin(adminDir.resolve(KafkaImageSecrets.ADMIN_BOOTSTRAP_PROPERTIES));
        try (Admin admin = Admin.create(bootstrap)) {
            admin.alterUserScramCredentials(upserts).all().get(60, TimeUnit.SECONDS);
        }
        System.err.println("moe secure-init: SCRAM-SHA-512 users created on " + bootstrap.get("bootstrap.servers")
                + ": " + String.join(", ", passwords.keySet()));
        awaitSignIn(admin(adminDir.resolve("moe-admin.properties")));
    }

    /** The broker applies new credentials from its metadata log, a moment after the controller accepted them. */
    private static void awaitSignIn(Map<String, Object> scram) throws Exception {
        long deadline = System.nanoTime() + SIGN_IN_WAIT.toNanos();
        while (true) {
            try (Admin admin = Admin.create(scram)) {
                admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS);
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof SaslAuthenticationException) || System.nanoTime() > deadline) {
                    throw e;
                }
            }
            Thread.sleep(250); // back-off before signing in again
        }
    }

    private static Map<String, Object> admin(Path file) {
        Map<String, Object> props = new HashMap<>(ClientProperties.load(file));
        if (!props.containsKey(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG)) {
            throw new IllegalArgumentException(file + " has no bootstrap.servers");
        }
        props.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60_000);
        return props;
    }
}

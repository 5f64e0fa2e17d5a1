package io.moestreams.cli;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.model.MoeModel;
import io.moestreams.embedded.KafkaImageSecrets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code moe secure-init}: the secrets of a secure container deployment (docker-compose.secure.yml), written once,
 * and the SCRAM users created once the broker runs.
 */
@Command(
        name = "secure-init",
        mixinStandardHelpOptions = true,
        description = {
            "Secrets of a secure container deployment (docker-compose.secure.yml), one directory per principal: "
                    + "--generate writes a CA, the broker's key store (apache/kafka image layout: /etc/kafka/secrets), "
                    + "its JAAS file, and a password and a Kafka client property file (SASL_SSL, SCRAM-SHA-512, CA "
                    + "inline) for the admin, the gateway, the client and each expert group; DIR/broker, DIR/admin, "
                    + "DIR/gateway, DIR/client, DIR/expert-<group>. Existing secrets are kept.",
            "--create-users then creates (or updates) the SCRAM users on the running broker, as the admin over its "
                    + "PLAIN bootstrap listener (DIR/admin/moe-admin-bootstrap.properties)."
        })
final class SecureInitCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--dir",
            required = true,
            paramLabel = "DIR",
            description = "Root of the per-principal directories (each may be a volume of its own).")
    Path dir;

    @ArgGroup(multiplicity = "1")
    Action action;

    static final class Action {
        @Option(names = "--generate", required = true, description = "Write the secrets (kept when present).")
        boolean generate;

        @Option(
                names = "--create-users",
                required = true,
                description = "Create or update every SCRAM user of DIR/admin/"
                        + KafkaImageSecrets.SCRAM_USERS
                        + " on the broker, then wait until the admin signs in with SCRAM.")
        boolean createUsers;
    }

    @Option(
            names = "--groups",
            paramLabel = "SPEC",
            defaultValue = "all=rest",
            description = "Expert groups, one principal moe-expert-<group> each, as in `moe acl` (default "
                    + "${DEFAULT-VALUE}); without --model only the names of the entries count.")
    String groups;

    @Option(
            names = "--model",
            paramLabel = "DIR",
            description = "With --generate: the model, for the exact group names (NAME=rest/K, shared experts).")
    Path model;

    @Option(names = "--layer", paramLabel = "L", description = "MoE layer of a Hugging Face checkpoint directory.")
    String layer;

    @Option(
            names = "--host",
            paramLabel = "HOST",
            defaultValue = "kafka",
            description = "The broker's host name for the clients: in its certificate and in every property file "
                    + "(default ${DEFAULT-VALUE}).")
    String host;

    @Option(
            names = "--port",
            paramLabel = "PORT",
            defaultValue = "9092",
            description = "The SASL_SSL (SCRAM-SHA-512) client listener's port (default ${DEFAULT-VALUE}).")
    int port;

    @Option(
            names = "--bootstrap-port",
            paramLabel = "PORT",
            defaultValue = "9094",
            description = "The SASL_SSL (PLAIN) bootstrap listener's port: the broker and the admin "
                    + "(default ${DEFAULT-VALUE}).")
    int bootstrapPort;

    @Option(
            names = "--broker-owner",
            paramLabel = "UID:GID",
            description = "With --generate: owner of DIR/broker (1000:1000 is the apache/kafka image's user); needs "
                    + "root.")
    String brokerOwner;

    @Option(
            names = "--owner",
            paramLabel = "UID:GID",
            description = "With --generate: owner of every other directory (10001:10001 is the moe image's user); "
                    + "needs root.")
    String owner;

    @Option(
            names = "--validity-days",
            paramLabel = "DAYS",
            defaultValue = "365",
            description = "With --generate: the CA and the broker's certificate are valid this many days "
                    + "(default ${DEFAULT-VALUE}); they are not renewed: --force replaces them.")
    int validityDays;

    @Option(
            names = "--force",
            description = "With --generate: replace existing secrets (every password and the CA change: "
                    + "restart the whole stack).")
    boolean force;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        if (action.createUsers) {
            ScramUsers.create(dir.resolve(KafkaImageSecrets.ADMIN_DIR));
            return 0;
        }
        int[] brokerIds = ids(brokerOwner, "--broker-owner", cl);
        int[] serviceIds = ids(owner, "--owner", cl);
        Path marker = dir.resolve(KafkaImageSecrets.ADMIN_DIR).resolve(KafkaImageSecrets.SCRAM_USERS);
        if (Files.exists(marker) && !force) {
            System.err.println("moe secure-init: " + dir + " already holds secrets; kept (--force replaces them)");
            return 0;
        }
        Map<String, String> dirs = new LinkedHashMap<>();
        dirs.put(AclPlan.GATEWAY_USER, "gateway");
        dirs.put(AclPlan.CLIENT_USER, "client");
        for (String group : groupNames(cl)) {
            dirs.put(AclPlan.EXPERT_USER_PREFIX + group, "expert-" + group);
        }
        if (validityDays < 1 || validityDays > 3650) {
            throw new CommandLine.ParameterException(cl, "--validity-days " + validityDays + " must be in [1, 3650]");
        }
        List<Path> files = KafkaImageSecrets.write(
                dir, dirs, new KafkaImageSecrets.Endpoints(host, port, bootstrapPort), Duration.ofDays(validityDays));
        List<String> owned = new ArrayList<>(List.of(KafkaImageSecrets.ADMIN_DIR));
        owned.addAll(dirs.values());
        if (brokerIds != null) {
            chown(dir.resolve(KafkaImageSecrets.BROKER_DIR), brokerIds);
        }
        if (serviceIds != null) {
            for (String d : owned) {
                chown(dir.resolve(d), serviceIds);
            }
        }
        System.err.println("moe secure-init: " + files.size() + " files in " + dir + " (" + KafkaImageSecrets.BROKER_DIR
                + ", " + String.join(", ", owned) + "); principals: " + AclPlan.ADMIN_USER + ", "
                + String.join(", ", dirs.keySet()));
        return 0;
    }

    private List<String> groupNames(CommandLine cl) {
        if (model == null) {
            return ExpertGroups.bareNames(groups);
        }
        MoeConfig config = MoeModel.readConfig(model, layer);
        return AclPlan.groupNames(ExpertGroups.parse(groups, config.numExperts(), cl), config.numSharedExperts());
    }

    private static int[] ids(String spec, String option, CommandLine cl) {
        if (spec == null) {
            return null;
        }
        String[] parts = spec.split(":", -1);
        try {
            if (parts.length == 2) {
                int uid = Integer.parseInt(parts[0]);
                int gid = Integer.parseInt(parts[1]);
                if (uid >= 0 && gid >= 0) {
                    return new int[] {uid, gid};
                }
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new CommandLine.ParameterException(
                cl, option + " '" + spec + "' must be UID:GID, two non-negative numbers (e.g. 1000:1000)");
    }

    /** Hands a directory and everything in it to {@code ids} (uid, gid). */
    private static void chown(Path dir, int[] ids) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.toList()) {
                try {
                    Files.setAttribute(p, "unix:uid", ids[0]);
                    Files.setAttribute(p, "unix:gid", ids[1]);
                } catch (IOException e) {
                    throw new IOException(
                            "cannot give " + p + " to " + ids[0] + ":" + ids[1] + " (needs root): " + e, e);
                }
            }
        }
    }
}

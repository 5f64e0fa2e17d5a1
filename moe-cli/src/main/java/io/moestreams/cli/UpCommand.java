package io.moestreams.cli;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.model.MoeModel;
import io.moestreams.embedded.BrokerSecurity;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.schemas.Topics;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code moe up}: the embedded broker and registry in the foreground until Ctrl-C. */
@Command(
        name = "up",
        mixinStandardHelpOptions = true,
        description =
                "Start an embedded Kafka broker (KRaft) and schema registry in the foreground; Ctrl-C stops both.")
final class UpCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--secure",
            description = "SASL_SSL (SCRAM-SHA-512) with TLS from a CA generated into the broker's directory, ACLs "
                    + "with deny by default, a SCRAM user per principal (admin, gateway, client, each expert group); "
                    + "prints where each principal's Kafka client property file is.")
    boolean secure;

    @Option(
            names = "--model",
            paramLabel = "DIR",
            description = "With --secure: also apply the least-privilege ACLs of this model (see `moe acl`).")
    Path model;

    @Option(names = "--layer", paramLabel = "L", description = "MoE layer of a Hugging Face checkpoint directory.")
    String layer;

    @Option(
            names = "--groups",
            paramLabel = "SPEC",
            defaultValue = "all=rest",
            description = "With --secure: the expert groups, one SCRAM user each (default ${DEFAULT-VALUE}; "
                    + "syntax of `moe k8s render`; with --model only, else only bare names count).")
    String groups;

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        CommandLine cl = spec.commandLine();
        if (!secure && model != null) {
            throw new CommandLine.ParameterException(cl, "--model needs --secure (it only chooses the ACLs)");
        }
        Map<String, Set<Integer>> parsed = null;
        int numShared = 0;
        List<String> groupNames;
        if (model != null) {
            MoeConfig config = MoeModel.readConfig(model, layer);
            parsed = ExpertGroups.parse(groups, config.numExperts(), cl);
            numShared = config.numSharedExperts();
            groupNames = AclPlan.groupNames(parsed, numShared);
        } else {
            groupNames = ExpertGroups.bareNames(groups);
        }
        Map<String, String> users = new LinkedHashMap<>();
        users.put("admin", AclPlan.ADMIN_USER);
        users.put("gateway", AclPlan.GATEWAY_USER);
        users.put("client", AclPlan.CLIENT_USER);
        for (String g : groupNames) {
            users.put("expert group " + g, AclPlan.EXPERT_USER_PREFIX + g);
        }
        EmbeddedStack stack = secure
                ? EmbeddedStack.startSecure(users.values().stream()
                        .filter(u -> !u.equals(AclPlan.ADMIN_USER))
                        .toList())
                : EmbeddedStack.start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            System.err.println("moe up: stopping the broker and the registry...");
                            stack.close();
                            stopped.countDown();
                        },
                        "moe-up-shutdown"));
        System.out.println("bootstrap servers: " + stack.bootstrapServers()
                + (secure ? " (SASL_SSL, " + BrokerSecurity.MECHANISM + ", ACLs: deny by default)" : ""));
        System.out.println("schema registry:   " + stack.schemaRegistryUrl());
        if (secure) {
            printSecurity(stack, users, parsed, numShared);
        }
        System.out.printf("ready in %.1f s; press Ctrl-C to stop%n", (System.nanoTime() - t0) / 1e9);
        System.out.flush();
        stopped.await();
        return 0;
    }

    private void printSecurity(
            EmbeddedStack stack, Map<String, String> users, Map<String, Set<Integer>> parsed, int numShared)
            throws Exception {
        BrokerSecurity security = stack.kafka().security();
        System.out.println("CA certificate:    " + security.caCertificate());
        System.out.println("Kafka client property files (security.protocol, sasl.*, ssl.*, bootstrap.servers; "
                + "readable by you only):");
        users.forEach((role, user) ->
                System.out.printf("  %-22s User:%-22s %s%n", role, user, security.propertiesFile(user)));
        String admin = security.propertiesFile(AclPlan.ADMIN_USER).toString();
        if (parsed == null) {
            System.out.println("ACLs: none yet (only the admin, a super user, may do anything). Apply them with:");
            System.out.println("  ./moe acl --model DIR --groups '" + groups + "' --apply --config " + admin);
            return;
        }
        List<AclPlan.Grant> plan = AclPlan.build(
                new AclPlan.Naming(new Topics(), "moe-gateway", "moe-expert-"),
                MoeModel.readConfig(model, layer).numExperts(),
                numShared,
                parsed,
                AclPlan.Principals.defaults());
        Map<String, Object> props = new HashMap<>(security.clientProperties(AclPlan.ADMIN_USER));
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
        try (Admin a = Admin.create(props)) {
            AclCommand.apply(a, plan);
        }
        System.out.println("ACLs: " + plan.size() + " applied for " + model + " (`./moe acl --model " + model
                + " --groups '" + groups + "' --print` lists them)");
        String common = " --bootstrap-servers " + stack.bootstrapServers() + " --schema-registry "
                + stack.schemaRegistryUrl() + " --model " + model;
        System.out.println("then, e.g.:");
        System.out.println("  ./moe init-topics --config " + admin + common);
        System.out.println("  ./moe gateway --config " + security.propertiesFile(AclPlan.GATEWAY_USER) + common);
        parsed.forEach((g, experts) -> System.out.println("  ./moe expert --config "
                + security.propertiesFile(AclPlan.EXPERT_USER_PREFIX + g) + common + " --experts "
                + experts.stream()
                        .map(String::valueOf)
                        .reduce((a, b) -> a + "," + b)
                        .orElse("")));
        if (numShared > 0) {
            System.out.println("  ./moe expert --config "
                    + security.propertiesFile(AclPlan.EXPERT_USER_PREFIX + AclPlan.SHARED_GROUP) + common
                    + " --experts shared");
        }
        System.out.println("  ./moe infer --config " + security.propertiesFile(AclPlan.CLIENT_USER) + common
                + " --input in.jsonl --output out.jsonl");
    }
}

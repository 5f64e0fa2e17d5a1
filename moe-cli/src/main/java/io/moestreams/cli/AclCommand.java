package io.moestreams.cli;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.model.MoeModel;
import io.moestreams.schemas.Topics;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code moe acl}: the least-privilege ACL set of a model's deployment, printed or applied. */
@Command(
        name = "acl",
        mixinStandardHelpOptions = true,
        description = "The least-privilege Kafka ACLs of the deployment of a model: per principal (client, gateway, "
                + "each expert group, autoscaler, admin) exactly the topics, consumer groups and transactional ids it needs. "
                + "--print lists them, --apply creates them (as a principal allowed to: a super user or ALTER on "
                + "the cluster).")
final class AclCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model directory (for E).")
    Path model;

    @Option(names = "--layer", paramLabel = "L", description = "MoE layer of a Hugging Face checkpoint directory.")
    String layer;

    @Option(
            names = "--groups",
            defaultValue = "all=rest",
            paramLabel = "SPEC",
            description = "Expert groups, as in `moe k8s render` (default ${DEFAULT-VALUE}); group g runs as "
                    + "<expert-principal-prefix>g, shared experts as the group 'shared'.")
    String groups;

    @ArgGroup(multiplicity = "1")
    Action action;

    static final class Action {
        @Option(names = "--print", required = true, description = "Print the ACLs, one per line.")
        boolean print;

        @Option(names = "--apply", required = true, description = "Create the ACLs on the cluster (idempotent).")
        boolean apply;
    }

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "With --apply: Kafka client properties of the admin (e.g. the moe-admin.properties that "
                    + "`moe up --secure` writes).")
    Path config;

    @Option(
            names = "--bootstrap-servers",
            paramLabel = "B",
            description = "With --apply: the cluster (else bootstrap.servers of --config).")
    String bootstrapServers;

    @Option(names = "--topic-prefix", defaultValue = Topics.DEFAULT_PREFIX, description = "Topic prefix.")
    String topicPrefix;

    @Option(
            names = "--application-id",
            defaultValue = "moe-gateway",
            description = "The gateway's moe.gateway.application-id (default ${DEFAULT-VALUE}).")
    String applicationId;

    @Option(
            names = "--group-prefix",
            defaultValue = "moe-expert-",
            description = "The experts' moe.expert.group-prefix (default ${DEFAULT-VALUE}).")
    String groupPrefix;

    @Option(
            names = "--gateway-principal",
            defaultValue = "User:" + AclPlan.GATEWAY_USER,
            description = "Default ${DEFAULT-VALUE}.")
    String gatewayPrincipal;

    @Option(
            names = "--client-principal",
            defaultValue = "User:" + AclPlan.CLIENT_USER,
            description = "Default ${DEFAULT-VALUE}.")
    String clientPrincipal;

    @Option(
            names = "--admin-principal",
            defaultValue = "User:" + AclPlan.ADMIN_USER,
            description = "Creates the topics (moe init-topics); default ${DEFAULT-VALUE}.")
    String adminPrincipal;

    @Option(
            names = "--keda-principal",
            defaultValue = "User:" + AclPlan.KEDA_USER,
            description = "The autoscaler, reading the expert groups' lag; default ${DEFAULT-VALUE}.")
    String kedaPrincipal;

    @Option(
            names = "--expert-principal-prefix",
            defaultValue = "User:" + AclPlan.EXPERT_USER_PREFIX,
            description = "Expert group g runs as this prefix + g (default ${DEFAULT-VALUE}).")
    String expertPrincipalPrefix;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        MoeConfig modelConfig = MoeModel.readConfig(model, layer);
        Map<String, Set<Integer>> parsed = ExpertGroups.parse(groups, modelConfig.numExperts(), cl);
        for (String p : List.of(gatewayPrincipal, clientPrincipal, adminPrincipal, kedaPrincipal)) {
            if (p.indexOf(':') <= 0 || p.endsWith(":")) {
                throw new CommandLine.ParameterException(cl, "principal '" + p + "' must look like User:name");
            }
        }
        if (expertPrincipalPrefix.indexOf(':') <= 0) {
            throw new CommandLine.ParameterException(
                    cl, "--expert-principal-prefix '" + expertPrincipalPrefix + "' must look like User:prefix");
        }
        List<AclPlan.Grant> plan = AclPlan.build(
                new AclPlan.Naming(new Topics(topicPrefix), applicationId, groupPrefix),
                modelConfig.numExperts(),
                modelConfig.numSharedExperts(),
                parsed,
                new AclPlan.Principals(
                        gatewayPrincipal, clientPrincipal, adminPrincipal, kedaPrincipal, expertPrincipalPrefix));
        if (action.print) {
            System.out.println("# moe acl: " + plan.size() + " ALLOW ACLs; everything else is denied "
                    + "(allow.everyone.if.no.acl.found=false)");
            plan.forEach(g -> System.out.println(g.line()));
            return 0;
        }
        Map<String, Object> props = adminProps(cl);
        try (Admin admin = Admin.create(props)) {
            apply(admin, plan);
        }
        System.err.println("moe acl: " + plan.size() + " ACLs applied on " + props.get("bootstrap.servers"));
        return 0;
    }

    /** Creates the ACLs (creating an existing one is a no-op). */
    static void apply(Admin admin, List<AclPlan.Grant> plan)
            throws InterruptedException, ExecutionException, TimeoutException {
        admin.createAcls(plan.stream().map(AclPlan.Grant::binding).toList())
                .all()
                .get(60, TimeUnit.SECONDS);
    }

    private Map<String, Object> adminProps(CommandLine cl) {
        Map<String, Object> props = new HashMap<>(ClientProperties.load(config));
        if (bootstrapServers != null) {
            props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        }
        if (!props.containsKey(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG)) {
            throw new CommandLine.ParameterException(
                    cl, "--apply needs --bootstrap-servers or bootstrap.servers in --config");
        }
        props.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60_000);
        return props;
    }
}

package io.moestreams.cli;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.model.MoeModel;
import io.moestreams.gateway.GatewayConfig;
import io.moestreams.gateway.TopicProvisioner;
import io.moestreams.schemas.Topics;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code moe init-topics}: creates the platform's topics once, with the gateway's settings (the same keys and
 * environment variables), so a deployment can keep broker auto-create off and give hot experts more partitions.
 */
@Command(
        name = "init-topics",
        mixinStandardHelpOptions = true,
        description = "Create the platform's topics (requests, one per expert with its partition count, results, "
                + "manifests, responses, dead-letter) and exit; existing topics are kept. Reads the gateway's "
                + "settings.")
final class InitTopicsCommand implements Callable<Integer> {

    @Mixin
    ServiceOptions options = new ServiceOptions();

    @Option(names = "--partitions", description = "Partitions of every topic without an override.")
    Integer partitions;

    @Option(
            names = "--expert-partitions",
            paramLabel = "E:N,...",
            description = "Per-expert partition overrides, e.g. 0:8,5:4 (hot experts get more).")
    String expertPartitions;

    @Override
    public Integer call() {
        GatewayConfig config = GatewayCommand.config(options, null, partitions, expertPartitions);
        MoeConfig model = MoeModel.readConfig(config.modelDir(), config.modelLayer());
        int numExperts = model.numExperts();
        int numShared = model.numSharedExperts();
        Topics topics = new Topics(config.topicPrefix());
        Map<String, Integer> plan = TopicProvisioner.plan(config, topics, numExperts, numShared);
        if (options.dryRun) {
            System.out.println(
                    "moe init-topics --dry-run: OK: would create on " + config.bootstrapServers() + ": " + plan);
            return 0;
        }
        Map<String, Object> props = new HashMap<>(config.kafka());
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        try (Admin admin = Admin.create(props)) {
            TopicProvisioner.ensure(admin, config, topics, numExperts, numShared);
        }
        System.err.println(
                "moe init-topics: " + plan.size() + " topics ready on " + config.bootstrapServers() + ": " + plan);
        return 0;
    }
}

package io.moestreams.cli;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.model.MoeModel;
import io.moestreams.gateway.GatewayConfig;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.config.ConfigException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code moe k8s render}: the Kubernetes objects of a model's expert groups, generated rather than copied. */
@Command(
        name = "k8s",
        mixinStandardHelpOptions = true,
        description = "Kubernetes manifests.",
        subcommands = {K8sCommand.Render.class, CommandLine.HelpCommand.class})
final class K8sCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    @Command(
            name = "render",
            mixinStandardHelpOptions = true,
            description = "Write one Deployment and one KEDA ScaledObject (a kafka trigger per expert on its "
                    + "consumer group's lag) per expert group, and the moe-topics ConfigMap with the partition "
                    + "counts, as a kustomize directory (kustomization.yaml + experts.yaml) or to stdout.")
    static final class Render implements Callable<Integer> {

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model directory (for E).")
        Path model;

        @Option(
                names = "--layer",
                paramLabel = "L",
                description = "The MoE layer of a Hugging Face checkpoint directory (for its number of experts).")
        String layer;

        @Option(
                names = "--groups",
                required = true,
                paramLabel = "SPEC",
                description = "Expert groups: NAME=IDS;...;NAME=rest[/K], or a number K of equal groups. "
                        + "E.g. 'hot=0;cold=rest' or 'hot=0,7;experts=rest/8'.")
        String groups;

        @Option(
                names = "--partitions",
                defaultValue = "4",
                description = "Partitions of every topic without an override (default ${DEFAULT-VALUE}).")
        int partitions;

        @Option(
                names = "--expert-partitions",
                paramLabel = "E:N,...",
                defaultValue = "",
                description = "Per-expert partition overrides, e.g. 0:8 (a hot expert).")
        String expertPartitions;

        @Option(
                names = "--lag-threshold",
                defaultValue = "20",
                description = "Target consumer lag (dispatch records) per replica (default ${DEFAULT-VALUE}).")
        int lagThreshold;

        @Option(
                names = "--min-replicas",
                defaultValue = "1",
                description = "Fewest replicas of a group (default ${DEFAULT-VALUE}).")
        int minReplicas;

        @Option(
                names = "--replicas",
                paramLabel = "NAME=N,...",
                defaultValue = "",
                description = "Per-group replicas (the Deployment's and KEDA's minimum), e.g. hot-0=3 (moe plan writes"
                        + " them); other groups get --min-replicas.")
        String replicas;

        @Option(
                names = "--cooldown-s",
                defaultValue = "300",
                description = "Seconds without lag before a group scales to its minimum (default ${DEFAULT-VALUE}).")
        int cooldownSeconds;

        @Option(
                names = "--image",
                defaultValue = K8sManifests.DEFAULT_IMAGE,
                description = "Service image (default ${DEFAULT-VALUE}).")
        String image;

        @Option(names = "--topic-prefix", defaultValue = Topics.DEFAULT_PREFIX, description = "Topic prefix.")
        String topicPrefix;

        @Option(names = "--group-prefix", defaultValue = "moe-expert-", description = "Consumer group prefix.")
        String groupPrefix;

        @Option(names = "--out", paramLabel = "DIR", description = "Directory to write (else: YAML on stdout).")
        Path out;

        @Override
        public Integer call() throws Exception {
            CommandLine cl = spec.commandLine();
            MoeConfig modelConfig = MoeModel.readConfig(model, layer);
            int numExperts = modelConfig.numExperts();
            int numShared = modelConfig.numSharedExperts();
            Map<String, Set<Integer>> parsed = ExpertGroups.parse(groups, numExperts, cl);
            Map<Integer, Integer> overrides = partitionOverrides(numExperts);
            if (partitions < 1 || lagThreshold < 1 || minReplicas < 0 || cooldownSeconds < 0) {
                throw new CommandLine.ParameterException(
                        cl, "--partitions and --lag-threshold must be >= 1, --min-replicas and --cooldown-s >= 0");
            }
            K8sManifests m = new K8sManifests(
                    image,
                    new Topics(topicPrefix),
                    groupPrefix,
                    partitions,
                    overrides,
                    lagThreshold,
                    minReplicas,
                    groupReplicas(parsed.keySet(), cl),
                    cooldownSeconds);
            List<Map<String, Object>> objects = m.objects(parsed, expertPartitions, numShared);
            YAMLMapper yaml = new YAMLMapper(new YAMLFactory()
                    .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                    .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                    .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS));
            yaml.disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
            StringBuilder doc = new StringBuilder(K8sManifests.HEADER);
            for (Map<String, Object> o : objects) {
                doc.append("---\n").append(yaml.writeValueAsString(o));
            }
            if (out == null) {
                System.out.print(doc);
                return 0;
            }
            Files.createDirectories(out);
            Files.writeString(out.resolve("experts.yaml"), doc, StandardCharsets.UTF_8);
            Files.writeString(out.resolve("kustomization.yaml"), K8sManifests.kustomization(), StandardCharsets.UTF_8);
            System.err.printf(
                    "moe k8s render: %d expert groups of %d experts%s -> %s%n",
                    parsed.size() + (numShared > 0 ? 1 : 0),
                    numExperts,
                    numShared > 0 ? " + " + numShared + " shared (group 'shared')" : "",
                    out);
            return 0;
        }

        private Map<String, Integer> groupReplicas(Set<String> groups, CommandLine cl) {
            Map<String, Integer> m = new TreeMap<>();
            for (String part : replicas.split(",")) {
                String p = part.trim();
                if (p.isEmpty()) {
                    continue;
                }
                int eq = p.indexOf('=');
                String name = eq > 0 ? p.substring(0, eq).trim() : "";
                int n;
                try {
                    n = Integer.parseInt(p.substring(eq + 1).trim());
                } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
                    n = -1;
                }
                if (!groups.contains(name) && !name.equals("shared")) {
                    throw new CommandLine.ParameterException(
                            cl, "--replicas: '" + name + "' is not a group of --groups " + groups);
                }
                if (n < 0) {
                    throw new CommandLine.ParameterException(
                            cl, "--replicas: expected NAME=N with N >= 0, found '" + p + "'");
                }
                m.put(name, n);
            }
            return m;
        }

        private Map<Integer, Integer> partitionOverrides(int numExperts) {
            Map<Integer, Integer> m = new TreeMap<>();
            for (String part : expertPartitions.split(",")) {
                String p = part.trim();
                if (p.isEmpty()) {
                    continue;
                }
                String[] kv = p.split(":");
                try {
                    int e = Integer.parseInt(kv[0].trim());
                    int n = Integer.parseInt(kv[1].trim());
                    if (kv.length != 2 || e < 0 || e >= numExperts || n < 1) {
                        throw new NumberFormatException();
                    }
                    m.put(e, n);
                } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                    throw new ConfigException(
                            GatewayConfig.EXPERT_PARTITIONS,
                            "expected expert:partitions with 0 <= expert < " + numExperts
                                    + " and partitions >= 1, found '" + p + "'");
                }
            }
            return m;
        }
    }
}

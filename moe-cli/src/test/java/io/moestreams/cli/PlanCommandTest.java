package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.moestreams.core.gen.ModelGenerator;
import io.moestreams.core.placement.PlacementPlanner;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlanCommandTest {

    @Test
    void thePlansK8sArgumentsRenderItsGroupsReplicasAndPartitions(@TempDir Path dir) throws Exception {
        // Given a plan for a hot expert 0 of 8
        ModelGenerator.generateMixtral(dir.resolve("model"), 8, 16, 8, 1);
        PlacementPlanner.Plan plan =
                PlacementPlanner.plan(new double[] {700, 100, 100, 100, 100, 100, 100, 100}, 6, 4, 2);
        String args = PlanCommand.k8sArgs(plan, 2);

        // When moe k8s render is run with the printed arguments
        List<String> argv = new ArrayList<>(
                List.of("k8s", "render", "--model", dir.resolve("model").toString()));
        Matcher m = Pattern.compile("(--[a-z-]+) (?:'([^']*)'|(\\S+))").matcher(args);
        while (m.find()) {
            argv.add(m.group(1));
            argv.add(m.group(2) != null ? m.group(2) : m.group(3));
        }
        argv.addAll(List.of("--out", dir.resolve("k8s").toString()));
        StringWriter err = new StringWriter();
        int code = MoeCli.commandLine().setErr(new PrintWriter(err)).execute(argv.toArray(String[]::new));
        assertEquals(0, code, err.toString());

        // Then every group is a Deployment with the plan's replicas, KEDA keeps at least as many, and the partition
        // counts reach the topics' ConfigMap
        Map<String, JsonNode> byName = new HashMap<>();
        ObjectMapper mapper = new ObjectMapper();
        try (YAMLParser p =
                new YAMLFactory().createParser(dir.resolve("k8s/experts.yaml").toFile())) {
            for (JsonNode n : mapper.readValues(p, JsonNode.class).readAll()) {
                byName.put(
                        n.get("kind").asText() + "/"
                                + n.get("metadata").get("name").asText(),
                        n);
            }
        }
        List<String> names = PlanCommand.names(plan);
        for (int i = 0; i < plan.groups().size(); i++) {
            int replicas = plan.groups().get(i).replicas();
            JsonNode d = byName.get("Deployment/moe-expert-" + names.get(i));
            JsonNode so = byName.get("ScaledObject/moe-expert-" + names.get(i));
            assertEquals(replicas, d.get("spec").get("replicas").asInt(), names.get(i));
            assertEquals(replicas, so.get("spec").get("minReplicaCount").asInt(), names.get(i));
            assertTrue(so.get("spec").get("maxReplicaCount").asInt() >= replicas);
        }
        assertEquals(
                PlanCommand.expertPartitions(plan, 2),
                byName.get("ConfigMap/moe-topics")
                        .get("data")
                        .get("MOE_TOPICS_EXPERT_PARTITIONS")
                        .asText());
        assertTrue(Files.exists(dir.resolve("k8s/kustomization.yaml")));
    }

    @Test
    void anUnknownGroupInReplicasIsRefusedNamingTheGroups(@TempDir Path dir) throws Exception {
        // Given a model / When --replicas names a group --groups lacks / Then the error names both
        ModelGenerator.generateMixtral(dir.resolve("model"), 8, 16, 4, 1);
        StringWriter err = new StringWriter();
        int code = MoeCli.commandLine()
                .setErr(new PrintWriter(err))
                .execute(
                        "k8s",
                        "render",
                        "--model",
                        dir.resolve("model").toString(),
                        "--groups",
                        "a=0-1;b=rest",
                        "--replicas",
                        "c=2");
        assertEquals(2, code);
        assertTrue(err.toString().contains("'c' is not a group of --groups [a, b]"), err.toString());
    }
}

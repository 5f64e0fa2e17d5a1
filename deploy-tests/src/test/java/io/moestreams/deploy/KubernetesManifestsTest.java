package io.moestreams.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.models.V1Deployment;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every manifest of every overlay, rendered offline with kubectl kustomize, parsed strictly: built-in kinds with
 * the Kubernetes API models (an unknown field or a wrong type fails), KEDA objects against closed JSON schemas;
 * then what the models cannot see: scalers match their targets and topics, pods are least-privilege with probes
 * and limits, and every moe container's args and environment pass {@code moe ... --dry-run}.
 */
class KubernetesManifestsTest {

    private static final JsonSchema SCALED_OBJECT = schema("keda-scaledobject.schema.json");
    private static final JsonSchema TRIGGER_AUTH = schema("keda-triggerauthentication.schema.json");

    @ParameterizedTest(name = "overlay {0}")
    @ValueSource(strings = {"dev", "prod", "secure"})
    void everyManifestParsesStrictly(String overlay) {
        List<JsonNode> docs = KubernetesManifests.render(Repo.root().resolve("k8s/overlays/" + overlay));
        assertFalse(docs.isEmpty());
        Set<String> kinds = new TreeSet<>();
        for (JsonNode doc : docs) {
            String kind = doc.path("kind").asText();
            kinds.add(kind);
            List<String> errors = strictErrors(doc);
            assertTrue(errors.isEmpty(), KubernetesManifests.describe(doc) + ": " + errors);
        }
        assertTrue(
                kinds.containsAll(Set.of(
                        "Namespace",
                        "ConfigMap",
                        "Deployment",
                        "Service",
                        "PodDisruptionBudget",
                        "Job",
                        "ScaledObject",
                        "TriggerAuthentication")),
                "kinds rendered: " + kinds);
    }

    @ParameterizedTest(name = "overlay {0}")
    @ValueSource(strings = {"dev", "prod", "secure"})
    void everyExpertGroupScalesOnItsOwnConsumerGroupsWithinItsPartitions(String overlay) {
        List<JsonNode> docs = KubernetesManifests.render(Repo.root().resolve("k8s/overlays/" + overlay));
        Map<String, JsonNode> deployments = byName(docs, "Deployment");
        JsonNode topics = byName(docs, "ConfigMap").get("moe-topics").path("data");
        int partitions = Integer.parseInt(topics.path("MOE_TOPICS_PARTITIONS").asText());
        Map<Integer, Integer> overrides = new HashMap<>();
        for (String kv : topics.path("MOE_TOPICS_EXPERT_PARTITIONS").asText().split(",")) {
            if (!kv.isBlank()) {
                overrides.put(Integer.parseInt(kv.split(":")[0].trim()), Integer.parseInt(kv.split(":")[1].trim()));
            }
        }
        Set<Integer> covered = new TreeSet<>();
        Map<String, JsonNode> scalers = byName(docs, "ScaledObject");
        assertFalse(scalers.isEmpty(), "no ScaledObject");
        for (JsonNode so : scalers.values()) {
            String target = so.path("spec").path("scaleTargetRef").path("name").asText();
            JsonNode deployment = deployments.get(target);
            assertNotNull(deployment, so.path("metadata").path("name") + " scales a missing Deployment " + target);
            Set<Integer> served = experts(args(deployment));
            Set<Integer> triggered = new TreeSet<>();
            int maxPartitions = 0;
            for (JsonNode t : so.path("spec").path("triggers")) {
                JsonNode m = t.path("metadata");
                int e = Integer.parseInt(m.path("topic").asText().substring("moe.expert.".length()));
                triggered.add(e);
                assertEquals("moe-expert-" + e, m.path("consumerGroup").asText(), "consumer group of expert " + e);
                assertEquals(
                        "moe-kafka", t.path("authenticationRef").path("name").asText());
                maxPartitions = Math.max(maxPartitions, overrides.getOrDefault(e, partitions));
            }
            assertEquals(served, triggered, target + ": one trigger per served expert");
            int max = so.path("spec").path("maxReplicaCount").asInt();
            int min = so.path("spec").path("minReplicaCount").asInt();
            assertTrue(min >= 1 && min <= max, target + ": min " + min + " max " + max);
            assertTrue(
                    max <= maxPartitions,
                    target + ": " + max + " replicas for at most " + maxPartitions
                            + " partitions would leave replicas idle");
            assertTrue(so.path("spec").path("cooldownPeriod").asInt() > 0, target + ": cooldown");
            covered.addAll(served);
        }
        Set<Integer> all = new TreeSet<>();
        for (int e = 0; e < 8; e++) {
            all.add(e);
        }
        assertEquals(all, covered, "every expert of the demo model is served by exactly the scaled groups");
        assertEquals(1, byName(docs, "TriggerAuthentication").size());
    }

    @ParameterizedTest(name = "overlay {0}")
    @ValueSource(strings = {"dev", "prod", "secure"})
    void podsAreLeastPrivilegeWithProbesAndLimits(String overlay) {
        for (JsonNode doc : KubernetesManifests.render(Repo.root().resolve("k8s/overlays/" + overlay))) {
            JsonNode pod = podSpec(doc);
            if (pod == null) {
                continue;
            }
            String what = KubernetesManifests.describe(doc);
            assertTrue(pod.path("securityContext").path("runAsNonRoot").asBoolean(), what + ": runAsNonRoot");
            assertEquals(
                    "RuntimeDefault",
                    pod.path("securityContext")
                            .path("seccompProfile")
                            .path("type")
                            .asText(),
                    what + ": seccomp");
            List<JsonNode> containers = new ArrayList<>();
            pod.path("initContainers").forEach(containers::add);
            pod.path("containers").forEach(containers::add);
            for (JsonNode c : containers) {
                String where = what + " container " + c.path("name").asText();
                JsonNode sc = c.path("securityContext");
                assertTrue(sc.path("readOnlyRootFilesystem").asBoolean(), where + ": read-only root file system");
                assertFalse(sc.path("allowPrivilegeEscalation").asBoolean(true), where + ": privilege escalation");
                assertEquals("[\"ALL\"]", sc.path("capabilities").path("drop").toString(), where + ": capabilities");
                assertFalse(
                        c.path("resources").path("limits").path("memory").isMissingNode(), where + ": memory limit");
                assertFalse(c.path("resources").path("requests").path("cpu").isMissingNode(), where + ": cpu request");
            }
            if (doc.path("kind").asText().equals("Deployment")
                    || doc.path("kind").asText().equals("StatefulSet")) {
                for (JsonNode c : pod.path("containers")) {
                    assertFalse(c.path("livenessProbe").isMissingNode(), what + ": liveness probe");
                    assertFalse(c.path("readinessProbe").isMissingNode(), what + ": readiness probe");
                }
            }
        }
    }

    @ParameterizedTest(name = "overlay {0}")
    @ValueSource(strings = {"dev", "prod", "secure"})
    void everyMoeContainerIsAcceptedByTheCliDryRun(String overlay) {
        List<JsonNode> docs = KubernetesManifests.render(Repo.root().resolve("k8s/overlays/" + overlay));
        Map<String, JsonNode> configMaps = byName(docs, "ConfigMap");
        Map<String, JsonNode> secrets = new HashMap<>(byName(docs, "Secret"));
        if (overlay.equals("secure")) {
            // the per-principal Secrets are created out of band, as the overlay's comment says
            for (String p : List.of("admin", "gateway", "expert-hot", "expert-cold")) {
                secrets.put("moe-kafka-" + p, principalSecret("moe-" + p));
            }
        }
        int checked = 0;
        for (JsonNode doc : docs) {
            JsonNode pod = podSpec(doc);
            if (pod == null) {
                continue;
            }
            List<JsonNode> containers = new ArrayList<>();
            pod.path("initContainers").forEach(containers::add);
            pod.path("containers").forEach(containers::add);
            for (JsonNode c : containers) {
                if (!c.path("image").asText().contains("moe-streams")) {
                    continue;
                }
                String where = KubernetesManifests.describe(doc) + " container "
                        + c.path("name").asText();
                assertTrue(c.path("command").isMissingNode(), where + ": must keep the image's moe entry point");
                MoeDryRun.check(where, strings(c.path("args")), env(where, c, configMaps, secrets));
                checked++;
            }
        }
        assertTrue(checked >= 4, "moe containers checked: " + checked);
    }

    /** A Secret as the secure overlay's comment creates it (values in clear: the test reads them as text). */
    private static JsonNode principalSecret(String user) {
        var data = KubernetesManifests.JSON.createObjectNode();
        data.put("KAFKA_SECURITY_PROTOCOL", "SASL_SSL");
        data.put("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512");
        data.put(
                "KAFKA_SASL_JAAS_CONFIG",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                        + "\" password=\"x\";");
        data.put("KAFKA_BASIC_AUTH_USER_INFO", user + ":x");
        var secret = KubernetesManifests.JSON.createObjectNode();
        secret.set("data", data);
        return secret;
    }

    @Test
    void theSecureOverlayRunsEveryWorkloadAsItsOwnPrincipal() {
        // Given the secure overlay
        List<JsonNode> docs = KubernetesManifests.render(Repo.root().resolve("k8s/overlays/secure"));
        Map<String, String> expected = new HashMap<>();
        expected.put("Job moe-topic-init", "moe-kafka-admin");
        expected.put("Deployment moe-gateway", "moe-kafka-gateway");
        int experts = 0;
        for (JsonNode doc : docs) {
            String group = doc.path("metadata")
                    .path("labels")
                    .path("moe-streams.io/expert-group")
                    .asText();
            if (doc.path("kind").asText().equals("Deployment") && !group.isEmpty()) {
                expected.put("Deployment " + doc.path("metadata").path("name").asText(), "moe-kafka-expert-" + group);
                experts++;
            }
        }
        assertTrue(experts >= 2, "expert groups: " + experts);
        // Then every moe workload takes its Kafka credentials from its own, required Secret, and none from the
        // shared moe-kafka-client
        Map<String, String> found = new HashMap<>();
        for (JsonNode doc : docs) {
            JsonNode pod = podSpec(doc);
            if (pod == null) {
                continue;
            }
            String what = doc.path("kind").asText() + " "
                    + doc.path("metadata").path("name").asText();
            for (JsonNode c : pod.path("containers")) {
                for (JsonNode from : c.path("envFrom")) {
                    if (from.has("secretRef")) {
                        assertFalse(from.path("secretRef").path("optional").asBoolean(), what + ": optional Secret");
                        found.put(what, from.path("secretRef").path("name").asText());
                    }
                }
            }
        }
        assertEquals(expected, found);
    }

    @Test
    void committedExpertGroupsAreWhatTheGeneratorRenders(@TempDir Path dir) throws Exception {
        // Given the demo model the deployments serve, rendered as the README says
        Path out = dir.resolve("experts");
        Processes.run(
                        Duration.ofMinutes(2),
                        Map.of("MOE_SKIP_BUILD", "1"),
                        Repo.root(),
                        List.of(
                                Repo.moe().toString(),
                                "k8s",
                                "render",
                                "--model",
                                MoeDryRun.model().toString(),
                                "--groups",
                                "hot=0;cold=rest",
                                "--partitions",
                                "2",
                                "--expert-partitions",
                                "0:6",
                                "--out",
                                out.toString()))
                .orFail();

        // Then k8s/base/experts holds exactly that output
        for (String f : List.of("experts.yaml", "kustomization.yaml")) {
            assertEquals(
                    Files.readString(out.resolve(f), StandardCharsets.UTF_8),
                    Files.readString(Repo.root().resolve("k8s/base/experts/" + f), StandardCharsets.UTF_8),
                    "k8s/base/experts/" + f + " is stale: re-run the render command of the README");
        }
    }

    @Test
    void theGeneratorSplitsAModelWith128ExpertsIntoScaledGroups(@TempDir Path dir) throws Exception {
        // Given a model with 128 experts, two hot experts apart and the rest in 8 groups
        Path model = dir.resolve("model");
        Processes.run(
                        Duration.ofMinutes(2),
                        Map.of("MOE_SKIP_BUILD", "1"),
                        Repo.root(),
                        List.of(
                                Repo.moe().toString(),
                                "generate-model",
                                "--out",
                                model.toString(),
                                "--experts",
                                "128",
                                "--hidden",
                                "8",
                                "--ffn",
                                "8"))
                .orFail();
        String yaml = Processes.run(
                        Duration.ofMinutes(2),
                        Map.of("MOE_SKIP_BUILD", "1"),
                        Repo.root(),
                        List.of(
                                Repo.moe().toString(),
                                "k8s",
                                "render",
                                "--model",
                                model.toString(),
                                "--groups",
                                "hot=3,77;experts=rest/8",
                                "--expert-partitions",
                                "3:16,77:12"))
                .orFail()
                .output();

        // Then there are 9 Deployments and 9 ScaledObjects, strictly valid, covering every expert once
        List<JsonNode> docs = KubernetesManifests.parseYaml(yaml.substring(yaml.indexOf("---")));
        Map<String, JsonNode> deployments = byName(docs, "Deployment");
        assertEquals(9, deployments.size());
        assertEquals(9, byName(docs, "ScaledObject").size());
        List<Integer> all = new ArrayList<>();
        for (JsonNode d : deployments.values()) {
            all.addAll(experts(args(d)));
            assertTrue(strictErrors(d).isEmpty(), strictErrors(d).toString());
        }
        all.sort(Integer::compare);
        assertEquals(128, all.size());
        assertEquals(127, all.get(127));
        assertEquals(
                16,
                byName(docs, "ScaledObject")
                        .get("moe-expert-hot")
                        .path("spec")
                        .path("maxReplicaCount")
                        .asInt());
        for (JsonNode so : byName(docs, "ScaledObject").values()) {
            assertTrue(strictErrors(so).isEmpty(), strictErrors(so).toString());
        }
    }

    @Test
    void theStrictChecksRejectAMisspeltFieldAndAWrongType() {
        // Given the rendered gateway Deployment and a ScaledObject
        List<JsonNode> docs = KubernetesManifests.render(Repo.root().resolve("k8s/overlays/dev"));
        ObjectNode deployment =
                (ObjectNode) byName(docs, "Deployment").get("moe-gateway").deepCopy();
        ObjectNode scaler = (ObjectNode)
                byName(docs, "ScaledObject").values().iterator().next().deepCopy();

        // When a field is misspelt or has the wrong type, Then the checks fail
        ((ObjectNode) deployment.path("spec")).put("replica", 2);
        assertFalse(strictErrors(deployment).isEmpty(), "unknown field 'replica' accepted");
        ObjectNode typed =
                (ObjectNode) byName(docs, "Deployment").get("moe-gateway").deepCopy();
        ((ObjectNode) typed.path("spec")).put("replicas", "two");
        assertFalse(strictErrors(typed).isEmpty(), "replicas: \"two\" accepted");
        ObjectNode meta =
                (ObjectNode) scaler.path("spec").path("triggers").get(0).path("metadata");
        meta.put("lagTreshold", "5");
        assertFalse(strictErrors(scaler).isEmpty(), "KEDA metadata 'lagTreshold' accepted");
        ObjectNode scaler2 = (ObjectNode)
                byName(docs, "ScaledObject").values().iterator().next().deepCopy();
        ((ObjectNode) scaler2.path("spec")).put("maxReplicaCount", "6");
        assertFalse(strictErrors(scaler2).isEmpty(), "maxReplicaCount: \"6\" accepted");
        assertThrows(RuntimeException.class, () -> JSON.deserialize("{\"spec\":{\"replica\":1}}", V1Deployment.class));
    }

    // ---- helpers

    /** Problems with a document: the Kubernetes model's or the KEDA schema's; an unknown kind is one. */
    static List<String> strictErrors(JsonNode doc) {
        String kind = doc.path("kind").asText();
        List<String> errors = new ArrayList<>();
        if (kind.equals("ScaledObject") || kind.equals("TriggerAuthentication")) {
            JsonSchema schema = kind.equals("ScaledObject") ? SCALED_OBJECT : TRIGGER_AUTH;
            for (ValidationMessage m : schema.validate(doc)) {
                errors.add(m.getMessage());
            }
            return errors;
        }
        Class<?> model = KubernetesManifests.MODELS.get(kind);
        if (model == null) {
            errors.add("no strict model for kind " + kind);
            return errors;
        }
        try {
            JSON.deserialize(doc.toString(), model);
        } catch (RuntimeException e) {
            errors.add(e.getMessage());
        }
        return errors;
    }

    private static JsonSchema schema(String name) {
        try (InputStream in = KubernetesManifestsTest.class.getResourceAsStream(name)) {
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                    .getSchema(in);
        } catch (IOException e) {
            throw new IllegalStateException(name, e);
        }
    }

    private static Map<String, JsonNode> byName(List<JsonNode> docs, String kind) {
        Map<String, JsonNode> m = new LinkedHashMap<>();
        for (JsonNode d : docs) {
            if (d.path("kind").asText().equals(kind)) {
                m.put(d.path("metadata").path("name").asText(), d);
            }
        }
        return m;
    }

    private static JsonNode podSpec(JsonNode doc) {
        JsonNode spec = doc.path("spec").path("template").path("spec");
        return spec.isMissingNode() ? null : spec;
    }

    private static List<String> args(JsonNode deployment) {
        return strings(podSpec(deployment).path("containers").get(0).path("args"));
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    /** The --experts of an expert command line (0-7 or 0,5 forms). */
    private static Set<Integer> experts(List<String> args) {
        Set<Integer> out = new TreeSet<>();
        int i = args.indexOf("--experts");
        if (i < 0) {
            return out;
        }
        for (String part : args.get(i + 1).split(",")) {
            String[] range = part.split("-");
            int from = Integer.parseInt(range[0].trim());
            int to = range.length > 1 ? Integer.parseInt(range[1].trim()) : from;
            for (int e = from; e <= to; e++) {
                out.add(e);
            }
        }
        return out;
    }

    /** The container's environment as the kubelet would build it from envFrom and env. */
    private static Map<String, String> env(
            String where, JsonNode container, Map<String, JsonNode> configMaps, Map<String, JsonNode> secrets) {
        Map<String, String> env = new LinkedHashMap<>();
        for (JsonNode from : container.path("envFrom")) {
            JsonNode ref = from.has("configMapRef") ? from.path("configMapRef") : from.path("secretRef");
            String name = ref.path("name").asText();
            JsonNode source = from.has("configMapRef") ? configMaps.get(name) : secrets.get(name);
            if (source == null) {
                if (!ref.path("optional").asBoolean()) {
                    fail(where + ": envFrom " + name + " is neither rendered nor optional");
                }
                continue;
            }
            source.path("data")
                    .fields()
                    .forEachRemaining(f -> env.put(f.getKey(), f.getValue().asText()));
        }
        for (JsonNode e : container.path("env")) {
            if (e.has("value")) {
                env.put(e.path("name").asText(), e.path("value").asText());
            } else if (e.path("valueFrom").has("fieldRef")) {
                env.put(e.path("name").asText(), "pod-0"); // the downward API gives the pod name
            } else {
                fail(where + ": env " + e.path("name").asText() + " has no value the test can resolve");
            }
        }
        return env;
    }
}

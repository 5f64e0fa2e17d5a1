package io.moestreams.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * docker-compose.yml as a file: the compose implementation here accepts it (v1 `docker-compose config`, which
 * rejects unknown keys and needs no engine), it keeps the deployment rules of the README, and every moe service's
 * command and environment pass {@code moe ... --dry-run}.
 */
class ComposeFileTest {

    /** The file as compose reads it: SnakeYAML resolves the anchors, aliases and merge keys ({@code <<}). */
    private static JsonNode compose() throws Exception {
        return compose("docker-compose.yml");
    }

    private static JsonNode compose(String file) throws Exception {
        Object tree = new Yaml(new SafeConstructor(new LoaderOptions()))
                .load(Files.readString(Repo.root().resolve(file), StandardCharsets.UTF_8));
        return KubernetesManifests.JSON.valueToTree(tree);
    }

    @Test
    void composeAcceptsTheFile() {
        composeConfig("-f", "docker-compose.yml", "--profile", "monitoring");
    }

    @Test
    void composeAcceptsTheSecureOverlay() {
        composeConfig("-f", "docker-compose.yml", "-f", "docker-compose.secure.yml");
    }

    /** {@code docker-compose ARGS config -q}: the files as compose v1 reads them (no engine needed). */
    private static void composeConfig(String... args) {
        Assumptions.assumeTrue(
                Processes.onPath("docker-compose"), "SKIPPED: docker-compose is not installed (.ci/run installs it)");
        List<String> cmd = new ArrayList<>(List.of("docker-compose"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("config", "-q"));
        Processes.run(Duration.ofMinutes(1), Map.of(), Repo.root(), cmd).orFail();
    }

    @Test
    void theSecureOverlayGivesEachRoleOnlyItsOwnSecrets() throws Exception {
        JsonNode s = compose("docker-compose.secure.yml").path("services");
        // the broker: deny by default, super users only itself and the admin, its own secrets only
        JsonNode kafka = s.path("kafka").path("environment");
        assertEquals("false", kafka.path("KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND").asText());
        assertEquals(
                "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                kafka.path("KAFKA_AUTHORIZER_CLASS_NAME").asText());
        assertEquals(
                "User:moe-broker;User:CN=moe-broker;User:moe-admin",
                kafka.path("KAFKA_SUPER_USERS").asText());
        assertEquals(
                "[\"secrets-broker:/etc/kafka/secrets\"]",
                s.path("kafka").path("volumes").toString());
        // every service mounts the volume of its own principal only and signs in with that principal's file
        Map<String, String> own = Map.of(
                "gateway", "gateway", "expert-hot", "expert-hot", "experts-cold", "expert-cold", "topic-init", "admin");
        own.forEach((service, principal) -> {
            JsonNode svc = s.path(service);
            assertEquals(1, svc.path("volumes").size(), service + " volumes");
            assertTrue(
                    svc.path("volumes").get(0).asText().startsWith("secrets-" + principal + ":"),
                    service + " mounts " + svc.path("volumes"));
            assertTrue(
                    svc.path("command").toString().contains("/moe-" + principal + ".properties"),
                    service + " signs in as moe-" + principal + ": " + svc.path("command"));
        });
        // the principals of the secrets are the expert groups the ACLs are applied for
        String groups = "--groups\",\"hot=0;cold=rest\"";
        assertTrue(s.path("secrets-init").path("command").toString().contains(groups));
        assertTrue(s.path("topic-init").path("command").toString().contains("--groups 'hot=0;cold=rest'"));
        Iterator<Map.Entry<String, JsonNode>> it = s.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> svc = it.next();
            assertTrue(svc.getValue().path("ports").isMissingNode(), svc.getKey() + " publishes a port");
        }
    }

    /**
     * Compose v2 implements the Compose Specification: the file must validate against its JSON schema (the copy
     * in the npm package dclint, which .ci/run unpacks and names in MOE_COMPOSE_SPEC_SCHEMA; not committed).
     */
    @Test
    void theFileFollowsTheComposeSpecification() throws Exception {
        String schemaFile = System.getenv("MOE_COMPOSE_SPEC_SCHEMA");
        Assumptions.assumeTrue(
                schemaFile != null && Files.exists(Path.of(schemaFile)),
                "SKIPPED: MOE_COMPOSE_SPEC_SCHEMA names no compose-spec JSON schema (.ci/run fetches it)");
        ObjectNode spec = (ObjectNode)
                KubernetesManifests.JSON.readTree(Path.of(schemaFile).toFile());
        spec.remove("$id"); // a relative id ("compose_spec.json"); its references are all local (#/definitions/...)
        JsonSchema schema =
                JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V7).getSchema(spec);
        Set<ValidationMessage> errors = schema.validate(compose());
        assertTrue(errors.isEmpty(), "docker-compose.yml against the Compose Specification: " + errors);
        Set<ValidationMessage> overlay = schema.validate(compose("docker-compose.secure.yml"));
        assertTrue(overlay.isEmpty(), "docker-compose.secure.yml against the Compose Specification: " + overlay);
        // and the schema has teeth: a misspelt service key fails
        JsonNode typo = compose();
        ((ObjectNode) typo.path("services").path("gateway")).put("restrat", "always");
        assertFalse(schema.validate(typo).isEmpty(), "a service key 'restrat' passed the Compose Specification");
    }

    @Test
    void theFileKeepsTheDeploymentRules() throws Exception {
        JsonNode c = compose();
        assertTrue(c.path("name").isMissingNode(), "compose v1 rejects a top-level name: use -p");
        JsonNode s = c.path("services");
        // official images by default, each replaceable through its variable
        assertTrue(s.path("kafka").path("image").asText().matches("\\$\\{KAFKA_IMAGE:-apache/kafka:4\\.[0-9.]+}"));
        assertTrue(s.path("registry")
                .path("image")
                .asText()
                .matches("\\$\\{REGISTRY_IMAGE:-apicurio/apicurio-registry:3\\.[0-9.]+}"));
        // KRaft, no auto-create, the log on a named volume
        JsonNode kafka = s.path("kafka").path("environment");
        assertEquals("broker,controller", kafka.path("KAFKA_PROCESS_ROLES").asText());
        assertEquals("false", kafka.path("KAFKA_AUTO_CREATE_TOPICS_ENABLE").asText());
        assertEquals("/var/lib/kafka/data", kafka.path("KAFKA_LOG_DIRS").asText());
        assertTrue(s.path("kafka").path("volumes").toString().contains("kafka-data:/var/lib/kafka/data"));
        assertTrue(c.path("volumes").has("kafka-data"));
        // a hot expert scaled apart, with more partitions than the cold ones
        assertEquals(2, s.path("expert-hot").path("scale").asInt());
        assertTrue(s.path("expert-hot").path("command").toString().contains("\"--experts\",\"0\""));
        assertEquals(
                "0:6",
                s.path("topic-init")
                        .path("environment")
                        .path("MOE_TOPICS_EXPERT_PARTITIONS")
                        .asText());
        // monitoring only on request
        assertEquals("[\"monitoring\"]", s.path("prometheus").path("profiles").toString());
        assertEquals("[\"monitoring\"]", s.path("grafana").path("profiles").toString());
        Iterator<Map.Entry<String, JsonNode>> it = s.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> svc = it.next();
            for (JsonNode port : svc.getValue().path("ports")) {
                assertTrue(port.asText().startsWith("127.0.0.1:"), svc.getKey() + " publishes " + port);
            }
            svc.getValue()
                    .path("depends_on")
                    .fields()
                    .forEachRemaining(d -> assertFalse(
                            d.getValue().path("condition").isMissingNode()
                                    && !svc.getKey().equals("grafana"),
                            svc.getKey() + " depends on " + d.getKey() + " without a condition"));
            boolean longRunning = !svc.getKey().endsWith("-init");
            boolean moe = svc.getValue().path("image").asText().contains("MOE_IMAGE");
            if (longRunning && moe) {
                assertFalse(svc.getValue().path("healthcheck").isMissingNode(), svc.getKey() + " healthcheck");
                assertFalse(svc.getValue().path("mem_limit").isMissingNode(), svc.getKey() + " memory limit");
            }
        }
    }

    @Test
    void everyMoeServiceIsAcceptedByTheCliDryRun() throws Exception {
        JsonNode s = compose().path("services");
        int checked = 0;
        Iterator<Map.Entry<String, JsonNode>> it = s.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> svc = it.next();
            if (!svc.getValue().path("image").asText().contains("MOE_IMAGE")) {
                continue;
            }
            assertTrue(svc.getValue().path("entrypoint").isMissingNode(), svc.getKey() + " keeps the moe entry point");
            List<String> args = new ArrayList<>();
            svc.getValue().path("command").forEach(a -> args.add(a.asText()));
            Map<String, String> env = new LinkedHashMap<>();
            svc.getValue()
                    .path("environment")
                    .fields()
                    .forEachRemaining(f -> env.put(f.getKey(), f.getValue().asText()));
            MoeDryRun.check("service " + svc.getKey(), args, env);
            checked++;
        }
        assertEquals(5, checked, "model-init, topic-init, gateway, expert-hot and experts-cold checked");
    }
}

package io.moestreams.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1Job;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1PersistentVolumeClaim;
import io.kubernetes.client.openapi.models.V1PodDisruptionBudget;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1StatefulSet;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/** Renders a kustomize directory with {@code kubectl kustomize} (offline) into JSON documents. */
final class KubernetesManifests {

    /** The strict Kubernetes API model of each built-in kind the overlays use. */
    static final Map<String, Class<?>> MODELS = Map.of(
            "Namespace", V1Namespace.class,
            "ConfigMap", V1ConfigMap.class,
            "Secret", V1Secret.class,
            "Service", V1Service.class,
            "Deployment", V1Deployment.class,
            "StatefulSet", V1StatefulSet.class,
            "Job", V1Job.class,
            "PodDisruptionBudget", V1PodDisruptionBudget.class,
            "PersistentVolumeClaim", V1PersistentVolumeClaim.class);

    static final ObjectMapper JSON = JsonMapper.builder().build();

    private KubernetesManifests() {}

    static List<JsonNode> render(Path dir) {
        Assumptions.assumeTrue(
                Processes.onPath("kubectl"),
                "SKIPPED: kubectl is not installed (it renders the kustomize overlays offline; .ci/run installs it)");
        String yaml = Processes.run(Duration.ofMinutes(2), Map.of(), List.of("kubectl", "kustomize", dir.toString()))
                .orFail()
                .output();
        return parseYaml(yaml);
    }

    static List<JsonNode> parseYaml(String yaml) {
        List<JsonNode> docs = new ArrayList<>();
        try (YAMLParser p = new YAMLFactory().createParser(yaml)) {
            ObjectMapper mapper = new ObjectMapper(new YAMLFactory());
            while (p.nextToken() != null) {
                JsonNode doc = mapper.readTree(p);
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    docs.add(doc);
                }
            }
        } catch (IOException e) {
            throw new AssertionError("unparseable YAML: " + e.getMessage(), e);
        }
        return docs;
    }

    static String describe(JsonNode doc) {
        return doc.path("kind").asText() + "/"
                + doc.path("metadata").path("name").asText();
    }
}

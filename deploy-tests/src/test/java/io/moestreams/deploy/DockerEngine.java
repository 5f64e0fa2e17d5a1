package io.moestreams.deploy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/**
 * The Docker engine the container tests run on (the one DOCKER_HOST or the default socket names) and the images
 * they need. No registry is reachable here, so the images are built locally: the base images and the Kafka and
 * Apicurio stand-ins by docker/build-local-images.sh (unless they exist), the service image from moe-cli/target.
 */
final class DockerEngine {

    /** Stand-ins for the images docker-compose.yml names by default; override with MOE_TEST_*_IMAGE. */
    static final String KAFKA_IMAGE = env("MOE_TEST_KAFKA_IMAGE", "localhost/kafka-standin:4.3.1");

    static final String REGISTRY_IMAGE = env("MOE_TEST_REGISTRY_IMAGE", "localhost/apicurio-standin:3.3.3");
    static final String JRE_IMAGE = env("MOE_TEST_BASE_IMAGE", "localhost/moe-jre:17");
    static final String SERVICE_IMAGE = "localhost/moe-streams:test";

    private static boolean serviceImageBuilt;

    private DockerEngine() {}

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }

    /** Skips the calling test, saying why, when no engine answers; the only reason a container test skips. */
    static void assumeAvailable() {
        boolean cli = Processes.onPath("docker") && Processes.onPath("docker-compose");
        Assumptions.assumeTrue(
                cli,
                "SKIPPED: the docker and docker-compose commands are not installed, so no Docker engine can be used "
                        + "(.ci/run installs docker.io and docker-compose and starts dockerd)");
        Processes.Result info = Processes.run(
                Duration.ofSeconds(30), Map.of(), List.of("docker", "info", "--format", "{{.ServerVersion}}"));
        Assumptions.assumeTrue(
                info.exitCode() == 0,
                "SKIPPED: no Docker engine answers at "
                        + System.getenv().getOrDefault("DOCKER_HOST", "the default socket") + " (.ci/run starts one): "
                        + Processes.tail(info.output(), 300));
    }

    static boolean hasImage(String image) {
        return Processes.run(Duration.ofSeconds(30), Map.of(), List.of("docker", "image", "inspect", image))
                        .exitCode()
                == 0;
    }

    /** The base and stand-in images, built once per machine by docker/build-local-images.sh when missing. */
    static synchronized void ensureLocalImages() {
        if (hasImage(KAFKA_IMAGE) && hasImage(REGISTRY_IMAGE) && hasImage(JRE_IMAGE)) {
            return;
        }
        Processes.run(
                        Duration.ofMinutes(15),
                        Map.of(),
                        List.of(Repo.root()
                                .resolve("docker/build-local-images.sh")
                                .toString()))
                .orFail();
    }

    /** The service image from this build's moe-cli/target, on the local JRE base (once per test JVM). */
    static synchronized String serviceImage() {
        ensureLocalImages();
        if (!serviceImageBuilt) {
            Processes.run(
                            Duration.ofMinutes(10),
                            Map.of(),
                            List.of(
                                    "docker",
                                    "build",
                                    "-q",
                                    "--build-arg",
                                    "BASE_IMAGE=" + JRE_IMAGE,
                                    "-t",
                                    SERVICE_IMAGE,
                                    Repo.root().toString()))
                    .orFail();
            serviceImageBuilt = true;
        }
        return SERVICE_IMAGE;
    }
}

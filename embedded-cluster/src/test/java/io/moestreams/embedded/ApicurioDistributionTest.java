package io.moestreams.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ApicurioDistributionTest {

    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"25.0.3, 25", "17.0.15, 17", "21, 21", "1.8.0_292, 8", "11.0.2+9, 11", "22-ea, 22"})
    void readsTheFeatureReleaseOfAJavaVersion(String javaVersion, int expected) {
        // Given a JAVA_VERSION value of a JDK release file, When parsed, Then the feature release comes out
        assertEquals(expected, ApicurioDistribution.featureRelease(javaVersion));
    }

    @Test
    void rejectsAJavaVersionThatIsNotANumber() {
        // Given / When / Then
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> ApicurioDistribution.featureRelease("temurin"));
        assertTrue(e.getMessage().contains("temurin"), e.getMessage());
    }

    @Test
    void carriesBothRegistryVersionsFromThePom() {
        // Given the filtered resource, When read
        Properties versions = ApicurioDistribution.versions();

        // Then both versions are concrete (no unfiltered placeholders) and differ
        String primary = versions.getProperty("apicurio.version");
        String fallback = versions.getProperty("apicurio.java17.version");
        assertTrue(primary.matches("\\d+\\.\\d+\\.\\d+.*"), primary);
        assertTrue(fallback.matches("\\d+\\.\\d+\\.\\d+.*"), fallback);
        assertFalse(primary.equals(fallback));
    }

    @Test
    void choosesTheNewestJdkOnThisMachineAndTheRegistryItCanRun() throws IOException {
        // Given the JDKs of this machine, found by a naive scan written here
        int newest = Integer.parseInt(System.getProperty("java.specification.version"));
        Path jvms = Path.of("/usr/lib/jvm");
        if (Files.isDirectory(jvms)) {
            try (Stream<Path> dirs = Files.list(jvms)) {
                for (Path dir : dirs.toList()) {
                    Path release = dir.resolve("release");
                    if (Files.isRegularFile(release) && Files.isExecutable(dir.resolve("bin/java"))) {
                        for (String line : Files.readAllLines(release)) {
                            if (line.startsWith("JAVA_VERSION=")) {
                                String v =
                                        line.substring("JAVA_VERSION=".length()).replace("\"", "");
                                String major = v.startsWith("1.") ? v.substring(2) : v;
                                int end = 0;
                                while (end < major.length() && Character.isDigit(major.charAt(end))) {
                                    end++;
                                }
                                newest = Math.max(newest, Integer.parseInt(major.substring(0, end)));
                            }
                        }
                    }
                }
            }
        }

        // When the distribution is chosen
        ApicurioDistribution.Choice choice = ApicurioDistribution.choose();

        // Then it runs on the newest JDK, with the registry line that JDK supports
        assertEquals(newest, choice.jdk().feature());
        Properties versions = ApicurioDistribution.versions();
        String expected = newest >= 21
                ? versions.getProperty("apicurio.version")
                : versions.getProperty("apicurio.java17.version");
        assertEquals(expected, choice.version());
        assertTrue(Files.isExecutable(choice.jdk().java()), choice.jdk().java().toString());
    }

    @Test
    void findsTheLauncherOfEitherDistributionLayout() throws IOException {
        // Given a 3.3-style directory with quarkus-run.jar and a 3.0-style one with a runner jar
        Path quarkus = Files.createDirectories(tmp.resolve("q"));
        Files.write(quarkus.resolve("quarkus-run.jar"), new byte[0]);
        Path runner = Files.createDirectories(tmp.resolve("r"));
        Files.write(runner.resolve("apicurio-registry-app-3.0.9-runner.jar"), new byte[0]);
        Path neither = Files.createDirectories(tmp.resolve("n"));
        Files.write(neither.resolve("app.jar"), new byte[0]);

        // When / Then
        assertEquals(
                quarkus.resolve("quarkus-run.jar"),
                ApicurioDistribution.launcherIn(quarkus).orElseThrow());
        assertEquals(
                runner.resolve("apicurio-registry-app-3.0.9-runner.jar"),
                ApicurioDistribution.launcherIn(runner).orElseThrow());
        assertTrue(ApicurioDistribution.launcherIn(neither).isEmpty());
        assertTrue(ApicurioDistribution.launcherIn(tmp.resolve("missing")).isEmpty());
    }

    @Test
    void placesTheArchiveInTheMavenRepositoryLayout() {
        // Given a repository root and a version, When the archive path is built, Then it follows group/artifact/version
        Path path = ApicurioDistribution.archivePath(Path.of("/repo"), "3.3.3");
        assertEquals(
                Path.of("/repo/io/apicurio/apicurio-registry-app/3.3.3/apicurio-registry-app-3.3.3-all.tar.gz"), path);
    }
}

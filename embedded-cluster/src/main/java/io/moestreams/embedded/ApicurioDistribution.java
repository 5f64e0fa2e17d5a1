package io.moestreams.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds what it takes to run Apicurio Registry: a JDK, the matching prebuilt distribution
 * ({@code io.apicurio:apicurio-registry-app:<v>:tar.gz:all}) in the local Maven repository (fetched with
 * {@code mvn dependency:get} when absent) and its unpacked copy in the user's cache directory.
 */
final class ApicurioDistribution {

    private static final Logger LOGGER = LoggerFactory.getLogger(ApicurioDistribution.class);

    /** The newer registry line ({@code apicurio.version}, 3.3.x) needs this Java feature release. */
    static final int PRIMARY_MIN_JAVA = 21;
    /** The fallback line ({@code apicurio.java17.version}, 3.0.x) runs on Java 17. */
    static final int FALLBACK_MIN_JAVA = 17;

    private static final String GROUP_PATH = "io/apicurio/apicurio-registry-app";
    private static final long FETCH_TIMEOUT_MINUTES = 20;
    private static final String DEPENDENCY_GET = "org.apache.maven.plugins:maven-dependency-plugin:2.8:get";
    private static final Pattern JAVA_VERSION =
            Pattern.compile("^JAVA_VERSION=\"?([^\"\\s]+)\"?\\s*$", Pattern.MULTILINE);

    private ApicurioDistribution() {}

    /** A JDK found on this machine. */
    record Jdk(Path home, String version, int feature) {
        Jdk {
            if (home == null || version == null || version.isBlank()) {
                throw new IllegalArgumentException("a JDK needs a home and a version, found " + home + " " + version);
            }
            if (feature < 1) {
                throw new IllegalArgumentException("Java feature release must be >= 1, was " + feature);
            }
        }

        Path java() {
            return home.resolve("bin").resolve("java");
        }
    }

    /** The registry version to run and the JDK to run it with. */
    record Choice(String version, Jdk jdk) {
        Choice {
            if (version == null || version.isBlank() || jdk == null) {
                throw new IllegalArgumentException("a registry choice needs a version and a JDK");
            }
        }
    }

    /** System property naming the JDK to run the registry with, instead of the newest one found. */
    static final String JAVA_HOME_PROPERTY = "moe.embedded.registry.java.home";

    /**
     * Picks the JDK (the one named by {@value #JAVA_HOME_PROPERTY}, else the newest on this machine) and
     * the registry version it can run.
     */
    static Choice choose() {
        Properties versions = versions();
        List<Jdk> jdks;
        String forced = System.getProperty(JAVA_HOME_PROPERTY);
        if (forced != null && !forced.isBlank()) {
            jdks = List.of(readJdk(Path.of(forced))
                    .orElseThrow(() -> new IllegalStateException(JAVA_HOME_PROPERTY + "=" + forced
                            + " is not a JDK home (needs a release file with JAVA_VERSION "
                            + "and an executable bin/java)")));
        } else {
            jdks = findJdks();
        }
        Jdk newest = jdks.stream()
                .max(Comparator.comparingInt(Jdk::feature))
                .orElseThrow(() -> new IllegalStateException(
                        "no JDK found to run Apicurio Registry (looked at java.home, $JAVA_HOME and "
                                + "/usr/lib/jvm/*/release)"));
        if (newest.feature() >= PRIMARY_MIN_JAVA) {
            return new Choice(versions.getProperty("apicurio.version"), newest);
        }
        if (newest.feature() >= FALLBACK_MIN_JAVA) {
            return new Choice(versions.getProperty("apicurio.java17.version"), newest);
        }
        throw new IllegalStateException("Apicurio Registry needs Java " + FALLBACK_MIN_JAVA
                + "+, the newest JDK found is " + newest.version() + " at " + newest.home());
    }

    static Properties versions() {
        Properties properties = new Properties();
        try (InputStream in = ApicurioDistribution.class.getResourceAsStream("apicurio.properties")) {
            if (in == null) {
                throw new IllegalStateException("resource io/moestreams/embedded/apicurio.properties is missing "
                        + "from the embedded-cluster jar");
            }
            properties.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read apicurio.properties", e);
        }
        for (String key : List.of("apicurio.version", "apicurio.java17.version")) {
            String value = properties.getProperty(key, "");
            if (value.isBlank() || value.contains("${")) {
                throw new IllegalStateException("apicurio.properties has no usable " + key + " (found '" + value
                        + "'); the resource was not filtered by the Maven build");
            }
        }
        return properties;
    }

    static List<Jdk> findJdks() {
        Set<Path> homes = new LinkedHashSet<>();
        homes.add(Path.of(System.getProperty("java.home")));
        String javaHome = System.getenv("JAVA_HOME");
        if (javaHome != null && !javaHome.isBlank()) {
            homes.add(Path.of(javaHome));
        }
        Path jvmDir = Path.of("/usr/lib/jvm");
        if (Files.isDirectory(jvmDir)) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(jvmDir)) {
                dirs.forEach(homes::add);
            } catch (IOException e) {
                LOGGER.debug("could not list {}: {}", jvmDir, e.toString());
            }
        }
        List<Jdk> jdks = new ArrayList<>();
        for (Path home : homes) {
            readJdk(home).ifPresent(jdks::add);
        }
        return jdks;
    }

    private static Optional<Jdk> readJdk(Path home) {
        Path release = home.resolve("release");
        if (!Files.isRegularFile(release)
                || !Files.isExecutable(home.resolve("bin").resolve("java"))) {
            return Optional.empty();
        }
        try {
            Matcher m = JAVA_VERSION.matcher(Files.readString(release, StandardCharsets.UTF_8));
            if (!m.find()) {
                return Optional.empty();
            }
            String version = m.group(1);
            return Optional.of(new Jdk(home.toRealPath(), version, featureRelease(version)));
        } catch (IOException | IllegalArgumentException e) {
            LOGGER.debug("ignoring JDK candidate {}: {}", home, e.toString());
            return Optional.empty();
        }
    }

    /** The feature release of a {@code JAVA_VERSION} value: "25.0.3" → 25, "17" → 17, "1.8.0_292" → 8. */
    static int featureRelease(String javaVersion) {
        String[] parts = javaVersion.split("[._+-]");
        try {
            int first = Integer.parseInt(parts[0]);
            return first == 1 && parts.length > 1 ? Integer.parseInt(parts[1]) : first;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("JAVA_VERSION '" + javaVersion + "' does not start with a number", e);
        }
    }

    /** The local Maven repository: -Dmaven.repo.local, else $MAVEN_REPO_LOCAL, else ~/.m2/repository. */
    static Path localRepository() {
        String property = System.getProperty("maven.repo.local");
        if (property != null && !property.isBlank()) {
            return Path.of(property);
        }
        String env = System.getenv("MAVEN_REPO_LOCAL");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".m2", "repository");
    }

    static Path archivePath(Path repository, String version) {
        return repository
                .resolve(GROUP_PATH)
                .resolve(version)
                .resolve("apicurio-registry-app-" + version + "-all.tar.gz");
    }

    /** The distribution archive, fetched into the local repository with mvn when it is not there. */
    static Path archive(String version) {
        Path repository = localRepository();
        Path archive = archivePath(repository, version);
        if (Files.isRegularFile(archive)) {
            return archive;
        }
        fetch(repository, version);
        if (!Files.isRegularFile(archive)) {
            throw new IllegalStateException("mvn " + DEPENDENCY_GET + " succeeded but " + archive + " does not exist");
        }
        return archive;
    }

    private static void fetch(Path repository, String version) {
        String artifact = "io.apicurio:apicurio-registry-app:" + version + ":tar.gz:all";
        LOGGER.info(
                "Apicurio Registry {} is not in {}; fetching {} with mvn (about 160 MB, once)",
                version,
                repository,
                artifact);
        // dependency-plugin 2.8, pinned: 3.x rejects the artifact descriptor of 3.0.9 (its parent pom is
        // not on Central), 2.8 resolves the artifact alone
        Path log = null;
        Path out = null;
        List<String> command = new ArrayList<>();
        try {
            out = Files.createTempDirectory("moe-apicurio-fetch-");
            log = out.resolve("mvn.log");
            command.addAll(List.of(
                    "mvn",
                    "-B",
                    "-q",
                    DEPENDENCY_GET,
                    "-Dartifact=" + artifact,
                    "-Dtransitive=false",
                    "-Dmaven.repo.local=" + repository));
            Process mvn = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            mvn.getOutputStream().close();
            if (!mvn.waitFor(FETCH_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                mvn.descendants().forEach(ProcessHandle::destroyForcibly);
                mvn.destroyForcibly();
                throw new IllegalStateException("'" + String.join(" ", command) + "' did not finish within "
                        + FETCH_TIMEOUT_MINUTES + " minutes");
            }
            if (mvn.exitValue() != 0) {
                throw new IllegalStateException("'" + String.join(" ", command) + "' failed with exit code "
                        + mvn.exitValue() + ":\n" + LogTail.of(log, 30));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "could not run '" + String.join(" ", command) + "' (is Maven's mvn on the PATH?)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while fetching " + artifact, e);
        } finally {
            Dirs.deleteRecursively(out);
        }
    }

    /** $XDG_CACHE_HOME/moe-streams, else ~/.cache/moe-streams. */
    static Path cacheDir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("moe-streams");
    }

    /**
     * The unpacked distribution in the cache, unpacked on first use. Unpacking goes to a temporary
     * directory that is renamed into place, so concurrent first runs never see a half-written copy.
     */
    static Path unpacked(String version) {
        Path cache = cacheDir();
        Path target = cache.resolve("apicurio-" + version);
        if (launcherIn(target).isPresent()) {
            return target;
        }
        Path archive = archive(version);
        long t0 = System.nanoTime();
        Path tmp = null;
        try {
            Files.createDirectories(cache);
            tmp = Files.createTempDirectory(cache, ".apicurio-" + version + "-unpacking-");
            int files = TarGz.extract(archive, tmp);
            if (launcherIn(tmp).isEmpty()) {
                throw new IllegalStateException("archive " + archive + " contains neither quarkus-run.jar nor a "
                        + "*-runner.jar at its top level (" + files + " files)");
            }
            if (launcherIn(target).isPresent()) {
                return target; // another process finished first
            }
            if (Files.exists(target)) {
                // a broken leftover (no launcher): move it out of the way first
                Path broken = Files.createTempDirectory(cache, ".apicurio-" + version + "-broken-");
                Files.move(target, broken.resolve("old"), StandardCopyOption.ATOMIC_MOVE);
                Dirs.deleteRecursively(broken);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                tmp = null;
                LOGGER.info(
                        "unpacked Apicurio Registry {} ({} files) into {} in {} ms",
                        version,
                        files,
                        target,
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            } catch (IOException raced) {
                if (launcherIn(target).isEmpty()) {
                    throw raced;
                }
                // another process unpacked it at the same time and won the rename: use its copy
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("could not unpack " + archive + " into " + target, e);
        } finally {
            Dirs.deleteRecursively(tmp);
        }
    }

    /** quarkus-run.jar (3.1+) or apicurio-registry-app-*-runner.jar (3.0.x) at the top of {@code dir}. */
    static Optional<Path> launcherIn(Path dir) {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        Path quarkusRun = dir.resolve("quarkus-run.jar");
        if (Files.isRegularFile(quarkusRun)) {
            return Optional.of(quarkusRun);
        }
        try (DirectoryStream<Path> runners = Files.newDirectoryStream(dir, "*-runner.jar")) {
            for (Path runner : runners) {
                return Optional.of(runner);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not list " + dir, e);
        }
        return Optional.empty();
    }
}

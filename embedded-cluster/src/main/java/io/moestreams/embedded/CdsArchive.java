package io.moestreams.embedded;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The class-data sharing archive of the embedded registry's JVM: use {@code archive} if present, else record one
 * into {@code dumpTo} at exit, to be kept in the cache as {@code keepAs} for later (faster) starts. All null when
 * disabled ({@code -Dmoe.embedded.registry.cds=false}).
 */
record CdsArchive(Path archive, Path dumpTo, Path keepAs) {

    private static final Logger LOGGER = LoggerFactory.getLogger(CdsArchive.class);

    /** Where the class-data archive of {@code choice} is, or where this run records one into {@code dir}. */
    static CdsArchive choose(ApicurioDistribution.Choice choice, Path dir) {
        if ("false".equalsIgnoreCase(System.getProperty("moe.embedded.registry.cds", "true"))) {
            return new CdsArchive(null, null, null);
        }
        // an archive only fits the JVM build that wrote it: name it by JDK version and home
        String jdk = choice.jdk().version().replaceAll("[^A-Za-z0-9._-]", "_") + "-"
                + Integer.toHexString(choice.jdk().home().toString().hashCode());
        Path archive = ApicurioDistribution.cacheDir()
                .resolve("cds")
                .resolve("apicurio-" + choice.version() + "-java-" + jdk + ".jsa");
        if (Files.isRegularFile(archive)) {
            return new CdsArchive(archive, null, null);
        }
        return new CdsArchive(null, dir.resolve("classes.jsa"), archive);
    }

    /** Moves a class-data archive recorded by this run into the cache, atomically, for later starts. */
    void keep(int exitCode) {
        Path dumped = dumpTo;
        if (dumped == null || !Files.isRegularFile(dumped)) {
            return;
        }
        if (exitCode != 0 && exitCode != 143) {
            LOGGER.debug("not keeping class-data archive {}: registry exit code {}", dumped, exitCode);
            return;
        }
        Path target = keepAs;
        try {
            if (Files.size(dumped) == 0 || Files.exists(target)) {
                return;
            }
            Files.createDirectories(target.getParent());
            Path tmp = target.resolveSibling("." + UUID.randomUUID() + ".tmp");
            Files.copy(dumped, tmp);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            LOGGER.info("recorded a class-data archive for faster Apicurio Registry starts: {}", target);
        } catch (IOException e) {
            LOGGER.warn("could not keep the class-data archive {} as {}: {}", dumped, target, e.toString());
        }
    }
}

package io.moestreams.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Temporary directories of embedded servers carry the pid of the JVM that owns them. A JVM killed with
 * SIGKILL cannot delete its directories; the next JVM that starts a server of the same kind does.
 */
final class StaleDirs {

    private static final Logger LOGGER = LoggerFactory.getLogger(StaleDirs.class);
    private static final String OWNER_FILE = "owner.pid";
    private static final Set<String> SWEPT = ConcurrentHashMap.newKeySet();

    private StaleDirs() {}

    /** Creates a temporary directory with {@code prefix}, marked as owned by this JVM. */
    static Path create(String prefix) throws IOException {
        sweepOnce(prefix);
        Path dir = Files.createTempDirectory(prefix);
        Files.writeString(
                dir.resolve(OWNER_FILE), String.valueOf(ProcessHandle.current().pid()), StandardCharsets.US_ASCII);
        return dir;
    }

    /** Deletes, once per JVM and prefix, the directories whose owning JVM is gone. */
    private static void sweepOnce(String prefix) {
        if (!SWEPT.add(prefix)) {
            return;
        }
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(tmp, prefix + "*")) {
            for (Path dir : dirs) {
                Optional<Long> owner = owner(dir);
                if (owner.isPresent()
                        && ProcessHandle.of(owner.get()).map(h -> !h.isAlive()).orElse(true)) {
                    try {
                        Dirs.deleteRecursively(dir);
                        LOGGER.info("deleted {}, left behind by the killed JVM {}", dir, owner.get());
                    } catch (UncheckedIOException e) {
                        LOGGER.debug("could not delete stale directory {}: {}", dir, e.toString());
                    }
                }
            }
        } catch (IOException e) {
            LOGGER.debug("could not look for stale directories in {}: {}", tmp, e.toString());
        }
    }

    private static Optional<Long> owner(Path dir) {
        Path file = dir.resolve(OWNER_FILE);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Long.parseLong(
                    Files.readString(file, StandardCharsets.US_ASCII).strip()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }
}

package io.moestreams.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class StaleDirsTest {

    @Test
    void deletesDirectoriesOfDeadOwnersAndKeepsTheOthers() throws Exception {
        // Given a directory owned by a process that has exited, one owned by this JVM and one without owner
        String prefix = "moe-staletest-" + UUID.randomUUID() + "-";
        Process finished = new ProcessBuilder("true").start();
        assertTrue(finished.waitFor(10, TimeUnit.SECONDS));
        Path dead = owned(prefix, finished.pid());
        Path alive = owned(prefix, ProcessHandle.current().pid());
        Path unowned = Files.createTempDirectory(prefix);
        Path created = null;
        try {
            // When the next directory with that prefix is created
            created = StaleDirs.create(prefix);

            // Then only the dead owner's directory is gone, and the new one is owned by this JVM
            assertFalse(Files.exists(dead), dead + " survived");
            assertTrue(Files.isDirectory(alive));
            assertTrue(Files.isDirectory(unowned));
            assertEquals(
                    String.valueOf(ProcessHandle.current().pid()),
                    Files.readString(created.resolve("owner.pid"), StandardCharsets.US_ASCII));
        } finally {
            Dirs.deleteRecursively(dead);
            Dirs.deleteRecursively(alive);
            Dirs.deleteRecursively(unowned);
            Dirs.deleteRecursively(created);
        }
    }

    private static Path owned(String prefix, long pid) throws Exception {
        Path dir = Files.createTempDirectory(prefix);
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("data").resolve("segment"), "x");
        Files.writeString(dir.resolve("owner.pid"), String.valueOf(pid), StandardCharsets.US_ASCII);
        return dir;
    }
}

package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecureInitCommandTest {

    @TempDir
    Path dir;

    private int run(StringWriter err, String... args) {
        return MoeCli.commandLine().setErr(new PrintWriter(err)).execute(args);
    }

    @Test
    void generateWritesADirectoryPerPrincipalOfTheGroupsAndKeepsThemOnTheNextRun() throws Exception {
        // Given secrets generated for two expert groups
        assertEquals(
                0,
                run(
                        new StringWriter(),
                        "secure-init",
                        "--generate",
                        "--dir",
                        dir.toString(),
                        "--groups",
                        "hot=0;cold=rest"));
        try (Stream<Path> dirs = Files.list(dir)) {
            assertEquals(
                    List.of("admin", "broker", "client", "expert-cold", "expert-hot", "gateway"),
                    dirs.map(d -> d.getFileName().toString()).sorted().toList());
        }
        assertTrue(Files.exists(dir.resolve("expert-hot/moe-expert-hot.properties")));
        String ca = Files.readString(dir.resolve("broker/ca.pem"));

        // When it runs again (a restarted stack)
        assertEquals(0, run(new StringWriter(), "secure-init", "--generate", "--dir", dir.toString()));

        // Then the secrets are kept: the broker's CA did not change under the clients
        assertEquals(ca, Files.readString(dir.resolve("broker/ca.pem")));
    }

    @Test
    void anOwnerThatIsNotUidColonGidIsRefusedBeforeAnythingIsWritten() throws Exception {
        StringWriter err = new StringWriter();
        assertEquals(2, run(err, "secure-init", "--generate", "--dir", dir.toString(), "--owner", "moe"));
        assertTrue(err.toString().contains("--owner 'moe' must be UID:GID"), err.toString());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(0, files.count());
        }
    }
}

package io.moestreams.deploy;

import java.nio.file.Files;
import java.nio.file.Path;

/** Paths of the checkout the tests run in (Maven runs them in deploy-tests/). */
final class Repo {

    private Repo() {}

    static Path root() {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (dir != null && !Files.exists(dir.resolve("docker-compose.yml"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("no docker-compose.yml above " + System.getProperty("user.dir"));
        }
        return dir;
    }

    static Path moe() {
        return root().resolve("moe");
    }
}

package io.moestreams.embedded;

import java.io.IOException;

/**
 * Run in a separate JVM by {@link EmbeddedSchemaRegistryIT}: starts a registry, prints
 * {@code REGISTRY <registry pid> <watchdog pid> <url> <log file>} on stdout and runs until stdin closes.
 */
public final class RegistryChildMain {

    private RegistryChildMain() {}

    public static void main(String[] args) throws IOException {
        try (EmbeddedSchemaRegistry registry = EmbeddedSchemaRegistry.start()) {
            long watchdog = ProcessHandle.of(registry.pid())
                    .flatMap(ProcessHandle::parent)
                    .map(ProcessHandle::pid)
                    .orElse(-1L);
            System.out.println(
                    "REGISTRY " + registry.pid() + " " + watchdog + " " + registry.url() + " " + registry.logFile());
            System.out.flush();
            while (System.in.read() >= 0) {
                // runs until the parent closes stdin (or kills this JVM)
            }
        }
    }
}

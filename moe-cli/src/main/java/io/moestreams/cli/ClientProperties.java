package io.moestreams.cli;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/** A Kafka client property file as given to a client command ({@code --config}); {@code moe.*} keys are skipped. */
final class ClientProperties {

    private ClientProperties() {}

    /** The file's Kafka client properties, or none when {@code file} is null. */
    static Map<String, String> load(Path file) {
        Map<String, String> out = new TreeMap<>();
        if (file == null) {
            return out;
        }
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read config file " + file, e);
        }
        for (String key : p.stringPropertyNames()) {
            if (!key.startsWith("moe.")) {
                out.put(key, p.getProperty(key).trim());
            }
        }
        return out;
    }
}

package io.moestreams.schemas.config;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Configuration layered as defaults → properties file → environment → explicit overrides (later wins).
 *
 * <p>Keys starting with {@code moe.} belong to moe-streams and must be known to the service reading them; every
 * other key is a Kafka client property and passes through unchanged. Environment variables map as follows:
 * a known key {@code moe.gateway.max-seq-len} is read from {@code MOE_GATEWAY_MAX_SEQ_LEN}; a variable
 * {@code KAFKA_SASL_JAAS_CONFIG} becomes the Kafka property {@code sasl.jaas.config} (the convention of the Kafka
 * container images).
 */
public final class LayeredConfig {

    private final Map<String, String> values;

    private LayeredConfig(Map<String, String> values) {
        this.values = Collections.unmodifiableMap(values);
    }

    /**
     * Loads the layers.
     *
     * @param knownKeys  every {@code moe.*} key the caller understands, with its default (null = no default)
     * @param file       optional properties file
     * @param env        environment variables (normally {@code System.getenv()})
     * @param overrides  explicit values (command-line options), may be empty
     * @throws ConfigException naming an unknown {@code moe.*} key and where it came from
     */
    public static LayeredConfig load(
            Map<String, String> knownKeys, Path file, Map<String, String> env, Map<String, String> overrides) {
        Map<String, String> merged = new TreeMap<>();
        knownKeys.forEach((k, v) -> {
            if (v != null) {
                merged.put(k, v);
            }
        });
        if (file != null) {
            Properties props = new Properties();
            try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                props.load(reader);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read config file " + file, e);
            }
            for (String name : props.stringPropertyNames()) {
                checkKnown(knownKeys.keySet(), name, "config file " + file);
                merged.put(name, props.getProperty(name).trim());
            }
        }
        for (String key : knownKeys.keySet()) {
            String value = env.get(envName(key));
            if (value != null) {
                merged.put(key, value.trim());
            }
        }
        env.forEach((name, value) -> {
            if (name.startsWith("KAFKA_") && name.length() > "KAFKA_".length()) {
                merged.put(
                        name.substring("KAFKA_".length())
                                .toLowerCase(Locale.ROOT)
                                .replace('_', '.'),
                        value);
            }
        });
        overrides.forEach((k, v) -> {
            checkKnown(knownKeys.keySet(), k, "overrides");
            if (v != null) {
                merged.put(k, v);
            }
        });
        return new LayeredConfig(merged);
    }

    /** The environment variable that sets a {@code moe.*} key. */
    public static String envName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    private static void checkKnown(Set<String> known, String key, String source) {
        if (key.startsWith("moe.") && !known.contains(key)) {
            throw new ConfigException(
                    key,
                    "unknown moe-streams setting (from " + source + "); known settings: "
                            + String.join(", ", new TreeSet<>(known)));
        }
    }

    /** A required {@code moe.*} value. */
    public String string(String key) {
        String v = values.get(key);
        if (v == null || v.isBlank()) {
            throw new ConfigException(key, "is required (set it in the config file or via " + envName(key) + ")");
        }
        return v;
    }

    public String stringOrNull(String key) {
        String v = values.get(key);
        return v == null || v.isBlank() ? null : v;
    }

    public int intValue(String key, int min, int max) {
        String v = string(key);
        try {
            int i = Integer.parseInt(v.trim());
            if (i < min || i > max) {
                throw new ConfigException(key, "expected an integer in [" + min + ", " + max + "], found " + v);
            }
            return i;
        } catch (NumberFormatException e) {
            throw new ConfigException(key, "expected an integer in [" + min + ", " + max + "], found '" + v + "'");
        }
    }

    public long longValue(String key, long min, long max) {
        String v = string(key);
        try {
            long l = Long.parseLong(v.trim());
            if (l < min || l > max) {
                throw new ConfigException(key, "expected an integer in [" + min + ", " + max + "], found " + v);
            }
            return l;
        } catch (NumberFormatException e) {
            throw new ConfigException(key, "expected an integer in [" + min + ", " + max + "], found '" + v + "'");
        }
    }

    public boolean bool(String key) {
        String v = string(key).trim().toLowerCase(Locale.ROOT);
        if (v.equals("true") || v.equals("false")) {
            return Boolean.parseBoolean(v);
        }
        throw new ConfigException(key, "expected true or false, found '" + v + "'");
    }

    /** Every non-{@code moe.*} entry: Kafka client properties, passed through unchanged. */
    public Map<String, String> kafkaProperties() {
        Map<String, String> kafka = new TreeMap<>();
        values.forEach((k, v) -> {
            if (!k.startsWith("moe.")) {
                kafka.put(k, v);
            }
        });
        return kafka;
    }

    /**
     * Parses {@code "3:8,5:4"} into {expert → partitions}.
     */
    public Map<Integer, Integer> intMap(String key) {
        Map<Integer, Integer> out = new TreeMap<>();
        String v = stringOrNull(key);
        if (v == null) {
            return out;
        }
        for (String part : v.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            String[] kv = p.split(":");
            try {
                if (kv.length != 2) {
                    throw new NumberFormatException();
                }
                int k = Integer.parseInt(kv[0].trim());
                int n = Integer.parseInt(kv[1].trim());
                if (k < 0 || n < 1) {
                    throw new NumberFormatException();
                }
                out.put(k, n);
            } catch (NumberFormatException e) {
                throw new ConfigException(
                        key, "expected a list like 3:8,5:4 (expert:partitions, partitions >= 1), found '" + v + "'");
            }
        }
        return out;
    }
}

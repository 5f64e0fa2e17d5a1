package io.moestreams.cli;

import io.moestreams.schemas.Topics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Option;

/**
 * Where recorded traffic comes from and which of it ({@code moe record}, {@code moe replay --from-topic}): the
 * cluster, the topic prefix, and a selection of the requests retained on the requests topic — a time range of
 * record timestamps, an offset range per partition, given ids, at most N.
 */
final class TopicSelection {

    @Option(
            names = "--bootstrap-servers",
            paramLabel = "B",
            description = "Kafka bootstrap servers of the deployment whose topics hold the traffic.")
    String bootstrapServers;

    @Option(names = "--schema-registry", paramLabel = "URL", description = "Its Confluent-API schema registry.")
    String schemaRegistry;

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "Kafka client properties (security.protocol, sasl.*, ssl.*, basic.auth.*); its "
                    + "bootstrap.servers stands in for --bootstrap-servers.")
    Path configFile;

    @Option(
            names = "--topic-prefix",
            defaultValue = Topics.DEFAULT_PREFIX,
            description = "Topic prefix of the deployment (default ${DEFAULT-VALUE}).")
    String topicPrefix;

    @Option(
            names = "--since",
            paramLabel = "TIME",
            description = "Only requests whose record timestamp is at or after TIME (ISO-8601 instant such as "
                    + "2026-11-29T19:00:00Z, or epoch milliseconds).")
    String since;

    @Option(
            names = "--until",
            paramLabel = "TIME",
            description = "Only requests whose record timestamp is before TIME (ISO-8601 instant or epoch ms).")
    String until;

    @Option(
            names = "--partition",
            paramLabel = "P",
            description = "Only requests from this partition of the requests topic.")
    Integer partition;

    @Option(
            names = "--from-offset",
            paramLabel = "N",
            description = "Only requests at offset N or later (in every partition read).")
    Long fromOffset;

    @Option(
            names = "--to-offset",
            paramLabel = "N",
            description = "Only requests before offset N (exclusive, in every partition read).")
    Long toOffset;

    @Option(
            names = "--ids",
            split = ",",
            paramLabel = "ID",
            description = "Only these request ids (comma-separated; repeatable).")
    List<String> ids;

    @Option(names = "--ids-file", paramLabel = "FILE", description = "Only the request ids in FILE, one a line.")
    Path idsFile;

    @Option(
            names = "--max-requests",
            paramLabel = "N",
            description = "At most N requests (the first N selected, partition by partition).")
    Integer maxRequests;

    @Option(
            names = "--timeout-s",
            defaultValue = "120",
            description = "Give up reading the topics after (default ${DEFAULT-VALUE} s).")
    long timeoutSeconds;

    /** The validated selection. */
    TopicRecorder.Selection selection() {
        Set<String> wanted = null;
        if (ids != null || idsFile != null) {
            wanted = new LinkedHashSet<>();
            if (ids != null) {
                for (String id : ids) {
                    if (!id.isBlank()) {
                        wanted.add(id.trim());
                    }
                }
            }
            if (idsFile != null) {
                try {
                    for (String line : Files.readAllLines(idsFile, StandardCharsets.UTF_8)) {
                        if (!line.isBlank()) {
                            wanted.add(line.trim());
                        }
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("--ids-file: cannot read " + idsFile, e);
                }
            }
        }
        return new TopicRecorder.Selection(
                time("--since", since), time("--until", until), partition, fromOffset, toOffset, wanted, maxRequests);
    }

    /** The cluster's client properties ({@code --config}), with {@code bootstrap.servers} resolved. */
    Map<String, String> kafka() {
        return ClientProperties.load(configFile);
    }

    /**
     * @throws IllegalArgumentException naming the missing option
     */
    String bootstrap(Map<String, String> kafka) {
        String b = bootstrapServers != null ? bootstrapServers : kafka.get("bootstrap.servers");
        if (b == null || b.isBlank()) {
            throw new IllegalArgumentException(
                    "--bootstrap-servers: expected the cluster holding the topics (or bootstrap.servers in --config)");
        }
        return b;
    }

    String registry() {
        if (schemaRegistry == null || schemaRegistry.isBlank()) {
            throw new IllegalArgumentException("--schema-registry: expected the URL of the cluster's schema registry");
        }
        return schemaRegistry;
    }

    static Long time(String option, String value) {
        if (value == null) {
            return null;
        }
        String v = value.trim();
        if (v.chars().allMatch(Character::isDigit) && !v.isEmpty()) {
            return Long.parseLong(v);
        }
        try {
            return Instant.parse(v).toEpochMilli();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(option + ": expected an ISO-8601 instant (e.g. 2026-11-29T19:00:00Z) "
                    + "or epoch milliseconds, found '" + value + "'");
        }
    }
}

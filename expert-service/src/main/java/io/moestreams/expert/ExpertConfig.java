package io.moestreams.expert;

import io.moestreams.schemas.config.ConfigException;
import io.moestreams.schemas.config.LayeredConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * Validated expert-worker settings (defaults → file → env → command line); non-{@code moe.*} keys are Kafka
 * client properties passed through unchanged.
 *
 * @param bootstrapServers  Kafka bootstrap servers
 * @param schemaRegistryUrl Confluent-API schema registry base URL
 * @param topicPrefix       prefix of every topic name
 * @param modelDir          model directory; only the served experts' weights are read
 * @param experts           the experts this process serves (one consumer group each: {@code <group-prefix><e>})
 * @param groupPrefix       consumer group of expert e is {@code groupPrefix + e}
 * @param maxBatchTokens    a micro-batch closes when it holds this many tokens...
 * @param maxBatchWait      ...or when this much time passed since its first block arrived
 * @param workerId          identifies this process in results and transactional ids
 * @param kafka             Kafka client properties, passed through unchanged
 * @param modelLayer        the MoE layer of a Hugging Face checkpoint directory ({@code moe.model.layer}), or null
 *                          for a moe.json model directory
 */
public record ExpertConfig(
        String bootstrapServers,
        String schemaRegistryUrl,
        String topicPrefix,
        Path modelDir,
        Set<Integer> experts,
        String groupPrefix,
        int maxBatchTokens,
        Duration maxBatchWait,
        String workerId,
        Map<String, String> kafka,
        String modelLayer) {

    public static final String BOOTSTRAP = "moe.bootstrap-servers";
    public static final String REGISTRY = "moe.schema-registry-url";
    public static final String TOPIC_PREFIX = "moe.topic-prefix";
    public static final String MODEL_DIR = "moe.model-dir";
    public static final String MODEL_LAYER = "moe.model.layer";
    public static final String EXPERTS = "moe.expert.experts";
    public static final String GROUP_PREFIX = "moe.expert.group-prefix";
    public static final String MAX_BATCH_TOKENS = "moe.expert.max-batch-tokens";
    public static final String MAX_BATCH_WAIT_MS = "moe.expert.max-batch-wait-ms";
    public static final String WORKER_ID = "moe.expert.worker-id";

    /** Largest range a spec like {@code 0-7} may span. */
    static final int MAX_EXPERT_RANGE = 1 << 16;

    public static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put(BOOTSTRAP, null);
        d.put(REGISTRY, null);
        d.put(TOPIC_PREFIX, "moe.");
        d.put(MODEL_DIR, null);
        d.put(MODEL_LAYER, null);
        d.put(EXPERTS, null);
        d.put(GROUP_PREFIX, "moe-expert-");
        d.put(MAX_BATCH_TOKENS, "512");
        d.put(MAX_BATCH_WAIT_MS, "5");
        d.put(WORKER_ID, null);
        return d;
    }

    public ExpertConfig {
        require(bootstrapServers, BOOTSTRAP);
        require(schemaRegistryUrl, REGISTRY);
        require(topicPrefix, TOPIC_PREFIX);
        require(groupPrefix, GROUP_PREFIX);
        if (modelDir == null) {
            throw new ConfigException(
                    MODEL_DIR,
                    "is required: the model directory (moe.json + model.safetensors, or a Hugging Face checkpoint)");
        }
        if (experts == null || experts.isEmpty()) {
            throw new ConfigException(EXPERTS, "is required: the experts to serve, e.g. 3 or 0,1,5");
        }
        for (int e : experts) {
            if (e < 0) {
                throw new ConfigException(EXPERTS, "expert ids are >= 0, found " + e);
            }
        }
        experts = Set.copyOf(new TreeSet<>(experts));
        if (maxBatchTokens < 1) {
            throw new ConfigException(MAX_BATCH_TOKENS, "expected >= 1, found " + maxBatchTokens);
        }
        if (maxBatchWait == null || maxBatchWait.isNegative()) {
            throw new ConfigException(MAX_BATCH_WAIT_MS, "expected >= 0");
        }
        if (workerId == null || workerId.isBlank()) {
            workerId = "worker-" + UUID.randomUUID().toString().substring(0, 8);
        }
        kafka = Map.copyOf(kafka == null ? Map.of() : kafka);
    }

    private static void require(String value, String key) {
        if (value == null || value.isBlank()) {
            throw new ConfigException(
                    key,
                    "is required (set it in the config file, via " + LayeredConfig.envName(key)
                            + " or on the command line)");
        }
    }

    /** Parses {@code "3"} or {@code "0,1,5"} (ranges like {@code 0-7} too). */
    public static Set<Integer> parseExperts(String spec) {
        Set<Integer> out = new TreeSet<>();
        if (spec == null || spec.isBlank()) {
            return out;
        }
        for (String part : spec.split(",")) {
            String p = part.trim();
            try {
                int dash = p.indexOf('-');
                if (dash > 0) {
                    int from = Integer.parseInt(p.substring(0, dash).trim());
                    int to = Integer.parseInt(p.substring(dash + 1).trim());
                    if (to < from || to - from >= MAX_EXPERT_RANGE) {
                        throw new NumberFormatException();
                    }
                    for (int e = from; e <= to; e++) {
                        out.add(e);
                    }
                } else {
                    out.add(Integer.parseInt(p));
                }
            } catch (NumberFormatException e) {
                throw new ConfigException(
                        EXPERTS,
                        "expected expert ids like 3, 0,1,5 or 0-7 (a range spans at most " + MAX_EXPERT_RANGE
                                + " ids), found '" + spec + "'");
            }
        }
        return out;
    }

    /** Kafka properties may hold credentials (sasl.jaas.config): only their keys are printed. */
    @Override
    public String toString() {
        return "ExpertConfig[bootstrapServers=" + bootstrapServers + ", schemaRegistryUrl=" + schemaRegistryUrl
                + ", topicPrefix=" + topicPrefix + ", modelDir=" + modelDir
                + (modelLayer == null ? "" : ", modelLayer=" + modelLayer) + ", experts=" + experts
                + ", groupPrefix=" + groupPrefix + ", maxBatchTokens=" + maxBatchTokens + ", maxBatchWait="
                + maxBatchWait + ", workerId=" + workerId + ", kafka keys=" + new TreeSet<>(kafka.keySet()) + "]";
    }

    public static ExpertConfig from(LayeredConfig c) {
        String model = c.stringOrNull(MODEL_DIR);
        return new ExpertConfig(
                c.stringOrNull(BOOTSTRAP),
                c.stringOrNull(REGISTRY),
                c.string(TOPIC_PREFIX),
                model == null ? null : Path.of(model),
                parseExperts(c.stringOrNull(EXPERTS)),
                c.string(GROUP_PREFIX),
                c.intValue(MAX_BATCH_TOKENS, 1, 1 << 20),
                Duration.ofMillis(c.longValue(MAX_BATCH_WAIT_MS, 0, 60_000)),
                c.stringOrNull(WORKER_ID),
                c.kafkaProperties(),
                c.stringOrNull(MODEL_LAYER));
    }

    /** Without {@link #modelLayer()} (a moe.json model directory). */
    public ExpertConfig(
            String bootstrapServers,
            String schemaRegistryUrl,
            String topicPrefix,
            Path modelDir,
            Set<Integer> experts,
            String groupPrefix,
            int maxBatchTokens,
            Duration maxBatchWait,
            String workerId,
            Map<String, String> kafka) {
        this(
                bootstrapServers,
                schemaRegistryUrl,
                topicPrefix,
                modelDir,
                experts,
                groupPrefix,
                maxBatchTokens,
                maxBatchWait,
                workerId,
                kafka,
                null);
    }
}

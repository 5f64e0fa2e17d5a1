package io.moestreams.expert;

import io.moestreams.avro.DType;
import io.moestreams.schemas.RegistryUrl;
import io.moestreams.schemas.config.CommonKeys;
import io.moestreams.schemas.config.ConfigException;
import io.moestreams.schemas.config.LayeredConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
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
 * @param experts           the routed experts this process serves (one consumer group each: {@code <group-prefix><e>})
 * @param sharedExperts     the shared experts it serves ({@code s0} → 0; group {@code <group-prefix>s<j>})
 * @param allSharedExperts  serve every shared expert of the model ({@code shared} in the spec)
 * @param groupPrefix       consumer group of expert e is {@code groupPrefix + e}
 * @param maxBatchTokens    a micro-batch closes when it holds this many tokens, or when no more blocks have
 *     arrived...
 * @param maxBatchWait      ...unless this is positive: then it waits up to this long after its first block for more
 * @param workerId          identifies this process in results, client ids and (when stable) its static group
 *     membership
 * @param stableIdentity    true when the worker id was configured (a pod or host name): a restarted process then
 *     takes its partitions back at once instead of waiting for the session timeout
 * @param commitDelay       hold offset commits back this long after a batch is sent: a chaos-testing aid that
 *     widens the window in which a crash recomputes work (0, the default, in production)
 * @param wireDtype         dtype of the result rows on the wire (F32 exact; BF16/F16 halve the bytes)
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
        Set<Integer> sharedExperts,
        boolean allSharedExperts,
        String groupPrefix,
        int maxBatchTokens,
        Duration maxBatchWait,
        String workerId,
        boolean stableIdentity,
        Duration commitDelay,
        DType wireDtype,
        Map<String, String> kafka,
        String modelLayer) {

    public static final String BOOTSTRAP = CommonKeys.BOOTSTRAP;
    public static final String REGISTRY = CommonKeys.REGISTRY;
    public static final String TOPIC_PREFIX = CommonKeys.TOPIC_PREFIX;
    public static final String MODEL_DIR = CommonKeys.MODEL_DIR;
    public static final String MODEL_LAYER = CommonKeys.MODEL_LAYER;
    public static final String EXPERTS = "moe.expert.experts";
    public static final String GROUP_PREFIX = CommonKeys.EXPERT_GROUP_PREFIX;
    public static final String MAX_BATCH_TOKENS = "moe.expert.max-batch-tokens";
    public static final String MAX_BATCH_WAIT_MS = "moe.expert.max-batch-wait-ms";
    public static final String WORKER_ID = "moe.expert.worker-id";
    public static final String WIRE_DTYPE = CommonKeys.WIRE_DTYPE;
    public static final String COMMIT_DELAY_MS = "moe.expert.commit-delay-ms";

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
        d.put(MAX_BATCH_WAIT_MS, "0");
        d.put(WORKER_ID, null);
        d.put(COMMIT_DELAY_MS, "0");
        d.put(WIRE_DTYPE, "F32");
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
        experts = experts == null ? Set.of() : experts;
        sharedExperts = sharedExperts == null ? Set.of() : sharedExperts;
        if (experts.isEmpty() && sharedExperts.isEmpty() && !allSharedExperts) {
            throw new ConfigException(EXPERTS, "is required: the experts to serve, e.g. 3, 0,1,5, 0-7 or 0-3,s0");
        }
        for (int e : experts) {
            if (e < 0) {
                throw new ConfigException(EXPERTS, "expert ids are >= 0, found " + e);
            }
        }
        for (int j : sharedExperts) {
            if (j < 0) {
                throw new ConfigException(EXPERTS, "shared expert indices are >= 0, found s" + j);
            }
        }
        experts = Set.copyOf(new TreeSet<>(experts));
        sharedExperts = Set.copyOf(new TreeSet<>(sharedExperts));
        if (maxBatchTokens < 1) {
            throw new ConfigException(MAX_BATCH_TOKENS, "expected >= 1, found " + maxBatchTokens);
        }
        if (maxBatchWait == null || maxBatchWait.isNegative()) {
            throw new ConfigException(MAX_BATCH_WAIT_MS, "expected >= 0");
        }
        if (workerId == null || workerId.isBlank()) {
            workerId = "worker-" + UUID.randomUUID().toString().substring(0, 8);
            stableIdentity = false;
        }
        commitDelay = commitDelay == null ? Duration.ZERO : commitDelay;
        if (commitDelay.isNegative()) {
            throw new ConfigException(COMMIT_DELAY_MS, "expected >= 0");
        }
        if (wireDtype == null) {
            throw new ConfigException(WIRE_DTYPE, "expected one of F32, BF16, F16");
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

    /**
     * The routed experts of a spec like {@code "3"}, {@code "0,1,5"} or {@code "0-7"}; shared parts ({@code s0},
     * {@code shared}) are left to {@link #parseShared}.
     */
    public static Set<Integer> parseExperts(String spec) {
        Set<Integer> out = new TreeSet<>();
        for (String p : parts(spec)) {
            if (isShared(p)) {
                continue;
            }
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
                throw badSpec(spec);
            }
        }
        return out;
    }

    /** The shared experts of a spec ({@code s0} → 0); {@code shared} (all of them) is {@link #allShared}. */
    public static Set<Integer> parseShared(String spec) {
        Set<Integer> out = new TreeSet<>();
        for (String p : parts(spec)) {
            if (isShared(p) && !p.equals("shared")) {
                try {
                    out.add(Integer.parseInt(p.substring(1)));
                } catch (NumberFormatException e) {
                    throw badSpec(spec);
                }
            }
        }
        return out;
    }

    /** True when the spec names every shared expert ({@code shared}). */
    public static boolean allShared(String spec) {
        return parts(spec).contains("shared");
    }

    private static List<String> parts(String spec) {
        if (spec == null || spec.isBlank()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String part : spec.split(",")) {
            out.add(part.trim().toLowerCase(Locale.ROOT));
        }
        return out;
    }

    private static boolean isShared(String part) {
        return part.equals("shared") || (part.startsWith("s") && part.length() > 1);
    }

    private static ConfigException badSpec(String spec) {
        return new ConfigException(
                EXPERTS,
                "expected expert ids like 3, 0,1,5, 0-7 or 0-3,s0 (s<j> is a shared expert, shared all of them; a"
                        + " range spans at most " + MAX_EXPERT_RANGE + " ids), found '" + spec + "'");
    }

    /** Parses {@code moe.wire.dtype}: F32, BF16 or F16 (any case). */
    public static DType wireDtype(String value) {
        try {
            return DType.valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(WIRE_DTYPE, "expected one of F32, BF16, F16, found '" + value + "'");
        }
    }

    /** Kafka properties may hold credentials (sasl.jaas.config): only their keys are printed. */
    @Override
    public String toString() {
        return "ExpertConfig[bootstrapServers=" + bootstrapServers + ", schemaRegistryUrl="
                + RegistryUrl.withoutUserInfo(schemaRegistryUrl)
                + ", topicPrefix=" + topicPrefix + ", modelDir=" + modelDir
                + (modelLayer == null ? "" : ", modelLayer=" + modelLayer) + ", experts=" + experts + ", sharedExperts="
                + (allSharedExperts ? "all" : sharedExperts)
                + ", groupPrefix=" + groupPrefix + ", maxBatchTokens=" + maxBatchTokens + ", maxBatchWait="
                + maxBatchWait + ", workerId=" + workerId + ", stableIdentity=" + stableIdentity + ", commitDelay="
                + commitDelay + ", wireDtype="
                + wireDtype + ", kafka keys=" + new TreeSet<>(kafka.keySet()) + "]";
    }

    public static ExpertConfig from(LayeredConfig c) {
        String model = c.stringOrNull(MODEL_DIR);
        return new ExpertConfig(
                c.stringOrNull(BOOTSTRAP),
                c.stringOrNull(REGISTRY),
                c.string(TOPIC_PREFIX),
                model == null ? null : Path.of(model),
                parseExperts(c.stringOrNull(EXPERTS)),
                parseShared(c.stringOrNull(EXPERTS)),
                allShared(c.stringOrNull(EXPERTS)),
                c.string(GROUP_PREFIX),
                c.intValue(MAX_BATCH_TOKENS, 1, 1 << 20),
                Duration.ofMillis(c.longValue(MAX_BATCH_WAIT_MS, 0, 60_000)),
                c.stringOrNull(WORKER_ID),
                c.stringOrNull(WORKER_ID) != null,
                Duration.ofMillis(c.longValue(COMMIT_DELAY_MS, 0, 600_000)),
                wireDtype(c.string(WIRE_DTYPE)),
                c.kafkaProperties(),
                c.stringOrNull(MODEL_LAYER));
    }
}

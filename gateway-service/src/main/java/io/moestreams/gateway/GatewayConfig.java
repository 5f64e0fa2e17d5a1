package io.moestreams.gateway;

import io.moestreams.avro.DType;
import io.moestreams.schemas.RegistryUrl;
import io.moestreams.schemas.config.CommonKeys;
import io.moestreams.schemas.config.ConfigException;
import io.moestreams.schemas.config.LayeredConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * Validated gateway settings (defaults → file → env → command line). Everything that is not a {@code moe.*}
 * key is a Kafka client property and reaches the Streams clients unchanged.
 *
 * @param applicationId         Kafka Streams application id of the intake; the combiner uses {@code <id>-combiner}
 * @param bootstrapServers      Kafka bootstrap servers
 * @param schemaRegistryUrl     Confluent-API schema registry base URL
 * @param topicPrefix           prefix of every topic name
 * @param modelDir              model directory (only the router weights are loaded)
 * @param maxSeqLen             longest accepted sequence, in tokens
 * @param maxRequestBytes       largest accepted request record value, in bytes
 * @param defaultTimeout        deadline of a request that carries none, counted from its arrival
 * @param maxTimeout            no deadline lies further than this from the request's arrival
 * @param partialOnTimeout      at the deadline emit PARTIAL with the contributions that did arrive (else TIMEOUT)
 * @param inFlightCreditTokens  per expert: tokens dispatched but not yet combined above which intake pauses
 * @param defaultPartitions     partitions of every topic the platform creates
 * @param expertPartitions      per-expert partition overrides (hot experts get more)
 * @param sharedExpertPartitions partitions of each shared expert's topic (every token visits a shared expert)
 * @param replicationFactor     replication factor of the created topics
 * @param dedupeRetention       how long request ids are remembered for duplicate detection
 * @param stateDir              Kafka Streams state directory (null = Streams default); keep it across restarts:
 *     its process id names the transactional ids, so a restarted gateway fences its crashed predecessor at once
 * @param instanceId            stable identity of this gateway instance (pod or host name), or null: when set,
 *     the Streams consumers use static membership and a restarted instance takes its tasks back without waiting
 *     for the session timeout
 * @param eagerCommit           commit at the end of every Streams loop iteration that dispatched or answered a
 *     request (low latency); false leaves commits to {@code commit.interval.ms} (fewer, larger transactions)
 * @param eagerCommitMaxLag     eager commits are requested only for records at most this old (their Kafka
 *     timestamp): an older record means a backlog, which is worked off with commits every {@code
 *     commit.interval.ms} instead of one transaction per request (throughput under bursts)
 * @param wireDtype             dtype of the hidden rows dispatched to experts (F32 exact; BF16/F16 halve the bytes)
 * @param kafka                 Kafka client properties, passed through unchanged
 * @param modelLayer            the MoE layer of a Hugging Face checkpoint directory ({@code moe.model.layer}), or
 *                              null for a moe.json model directory
 * @param clusterFlowControl    true ({@code moe.gateway.flow-control=cluster}, the default): the credit is shared by
 *     every gateway instance and judged from Kafka's offsets ({@link ClusterInFlight}); false ({@code local}): each
 *     process grants the full credit from its own ledger (exact for a single gateway process only)
 * @param flowRefresh           how often cluster flow control reads the experts' backlog from Kafka
 * @param expertGroupPrefix     the experts' consumer group prefix ({@code moe.expert.group-prefix}, same as theirs)
 * @param loadWindow            length of a window of the expert load record
 * @param loadPublish           how often the open window's running counts are published
 * @param loadRetention         how long the expert-load topic keeps windows (it is compacted and time-retained)
 */
public record GatewayConfig(
        String applicationId,
        String bootstrapServers,
        String schemaRegistryUrl,
        String topicPrefix,
        Path modelDir,
        int maxSeqLen,
        int maxRequestBytes,
        Duration defaultTimeout,
        Duration maxTimeout,
        boolean partialOnTimeout,
        long inFlightCreditTokens,
        int defaultPartitions,
        Map<Integer, Integer> expertPartitions,
        int sharedExpertPartitions,
        short replicationFactor,
        Duration dedupeRetention,
        Path stateDir,
        String instanceId,
        boolean eagerCommit,
        Duration eagerCommitMaxLag,
        DType wireDtype,
        Map<String, String> kafka,
        String modelLayer,
        boolean clusterFlowControl,
        Duration flowRefresh,
        String expertGroupPrefix,
        Duration loadWindow,
        Duration loadPublish,
        Duration loadRetention) {

    public static final String APPLICATION_ID = "moe.gateway.application-id";
    public static final String BOOTSTRAP = CommonKeys.BOOTSTRAP;
    public static final String REGISTRY = CommonKeys.REGISTRY;
    public static final String TOPIC_PREFIX = CommonKeys.TOPIC_PREFIX;
    public static final String MODEL_DIR = CommonKeys.MODEL_DIR;
    public static final String MODEL_LAYER = CommonKeys.MODEL_LAYER;
    public static final String MAX_SEQ_LEN = "moe.gateway.max-seq-len";
    public static final String MAX_REQUEST_BYTES = "moe.gateway.max-request-bytes";
    public static final String DEFAULT_TIMEOUT_MS = "moe.gateway.default-timeout-ms";
    public static final String MAX_TIMEOUT_MS = "moe.gateway.max-timeout-ms";
    public static final String PARTIAL_ON_TIMEOUT = "moe.combiner.partial-on-timeout";
    public static final String INFLIGHT_CREDIT = "moe.gateway.inflight-credit-tokens";
    public static final String PARTITIONS = "moe.topics.partitions";
    public static final String EXPERT_PARTITIONS = "moe.topics.expert-partitions";
    public static final String REPLICATION = "moe.topics.replication-factor";
    public static final String SHARED_EXPERT_PARTITIONS = "moe.topics.shared-expert-partitions";
    public static final String DEDUPE_RETENTION_MS = "moe.gateway.dedupe-retention-ms";
    public static final String STATE_DIR = "moe.gateway.state-dir";
    public static final String INSTANCE_ID = "moe.gateway.instance-id";
    public static final String WIRE_DTYPE = CommonKeys.WIRE_DTYPE;
    public static final String EAGER_COMMIT = "moe.gateway.eager-commit";
    public static final String EAGER_COMMIT_MAX_LAG_MS = "moe.gateway.eager-commit-max-lag-ms";
    public static final String FLOW_CONTROL = "moe.gateway.flow-control";
    public static final String FLOW_REFRESH_MS = "moe.gateway.flow-refresh-ms";
    public static final String EXPERT_GROUP_PREFIX = CommonKeys.EXPERT_GROUP_PREFIX;
    public static final String LOAD_WINDOW_MS = "moe.load.window-ms";
    public static final String LOAD_PUBLISH_MS = "moe.load.publish-ms";
    public static final String LOAD_RETENTION_MS = "moe.load.retention-ms";

    /** Every gateway setting with its default (null = required or optional without default). */
    public static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put(APPLICATION_ID, "moe-gateway");
        d.put(BOOTSTRAP, null);
        d.put(REGISTRY, null);
        d.put(TOPIC_PREFIX, "moe.");
        d.put(MODEL_DIR, null);
        d.put(MODEL_LAYER, null);
        d.put(MAX_SEQ_LEN, "2048");
        d.put(MAX_REQUEST_BYTES, Integer.toString(16 * 1024 * 1024));
        d.put(DEFAULT_TIMEOUT_MS, "30000");
        d.put(MAX_TIMEOUT_MS, "600000");
        d.put(PARTIAL_ON_TIMEOUT, "false");
        d.put(INFLIGHT_CREDIT, "65536");
        d.put(PARTITIONS, "4");
        d.put(EXPERT_PARTITIONS, "");
        d.put(REPLICATION, "1");
        d.put(SHARED_EXPERT_PARTITIONS, null);
        d.put(DEDUPE_RETENTION_MS, Long.toString(Duration.ofHours(1).toMillis()));
        d.put(STATE_DIR, null);
        d.put(INSTANCE_ID, null);
        d.put(EAGER_COMMIT, "true");
        d.put(EAGER_COMMIT_MAX_LAG_MS, "200");
        d.put(WIRE_DTYPE, "F32");
        d.put(FLOW_CONTROL, "cluster");
        d.put(FLOW_REFRESH_MS, "250");
        d.put(EXPERT_GROUP_PREFIX, "moe-expert-");
        d.put(LOAD_WINDOW_MS, "10000");
        d.put(LOAD_PUBLISH_MS, "1000");
        d.put(LOAD_RETENTION_MS, Long.toString(Duration.ofDays(7).toMillis()));
        return d;
    }

    public GatewayConfig {
        require(applicationId, APPLICATION_ID);
        require(bootstrapServers, BOOTSTRAP);
        require(schemaRegistryUrl, REGISTRY);
        require(topicPrefix, TOPIC_PREFIX);
        if (modelDir == null) {
            throw new ConfigException(
                    MODEL_DIR,
                    "is required: the model directory (moe.json + model.safetensors, or a Hugging Face checkpoint)");
        }
        if (maxSeqLen < 1) {
            throw new ConfigException(MAX_SEQ_LEN, "expected >= 1, found " + maxSeqLen);
        }
        if (maxRequestBytes < 64) {
            throw new ConfigException(MAX_REQUEST_BYTES, "expected >= 64, found " + maxRequestBytes);
        }
        if (defaultTimeout == null || defaultTimeout.isNegative() || defaultTimeout.isZero()) {
            throw new ConfigException(DEFAULT_TIMEOUT_MS, "expected > 0");
        }
        if (maxTimeout == null || maxTimeout.compareTo(defaultTimeout) < 0) {
            throw new ConfigException(
                    MAX_TIMEOUT_MS,
                    "expected >= " + DEFAULT_TIMEOUT_MS + " (" + defaultTimeout.toMillis() + "), found "
                            + (maxTimeout == null ? "nothing" : maxTimeout.toMillis()));
        }
        if (inFlightCreditTokens < 1) {
            throw new ConfigException(INFLIGHT_CREDIT, "expected >= 1, found " + inFlightCreditTokens);
        }
        if (defaultPartitions < 1) {
            throw new ConfigException(PARTITIONS, "expected >= 1, found " + defaultPartitions);
        }
        if (sharedExpertPartitions < 1) {
            throw new ConfigException(SHARED_EXPERT_PARTITIONS, "expected >= 1, found " + sharedExpertPartitions);
        }
        if (replicationFactor < 1) {
            throw new ConfigException(REPLICATION, "expected >= 1, found " + replicationFactor);
        }
        if (instanceId != null && (instanceId.isBlank() || !instanceId.matches("[A-Za-z0-9._-]{1,200}"))) {
            throw new ConfigException(
                    INSTANCE_ID, "expected 1..200 characters of [A-Za-z0-9._-], found '" + instanceId + "'");
        }
        if (eagerCommitMaxLag == null || eagerCommitMaxLag.isNegative()) {
            throw new ConfigException(EAGER_COMMIT_MAX_LAG_MS, "expected >= 0 ms");
        }
        if (wireDtype == null) {
            throw new ConfigException(WIRE_DTYPE, "expected one of F32, BF16, F16");
        }
        if (flowRefresh == null || flowRefresh.toMillis() < 10) {
            throw new ConfigException(FLOW_REFRESH_MS, "expected >= 10 ms");
        }
        require(expertGroupPrefix, EXPERT_GROUP_PREFIX);
        if (loadWindow == null || loadWindow.toMillis() < 100) {
            throw new ConfigException(LOAD_WINDOW_MS, "expected >= 100 ms");
        }
        if (loadPublish == null || loadPublish.toMillis() < 10 || loadPublish.compareTo(loadWindow) > 0) {
            throw new ConfigException(
                    LOAD_PUBLISH_MS, "expected 10 ms .. " + LOAD_WINDOW_MS + " (" + loadWindow.toMillis() + ")");
        }
        if (loadRetention == null || loadRetention.compareTo(loadWindow) < 0) {
            throw new ConfigException(LOAD_RETENTION_MS, "expected >= " + LOAD_WINDOW_MS);
        }
        expertPartitions = Map.copyOf(expertPartitions == null ? Map.of() : expertPartitions);
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

    /** Builds the record from layered settings. */
    public static GatewayConfig from(LayeredConfig c) {
        String state = c.stringOrNull(STATE_DIR);
        return new GatewayConfig(
                c.string(APPLICATION_ID),
                c.stringOrNull(BOOTSTRAP),
                c.stringOrNull(REGISTRY),
                c.string(TOPIC_PREFIX),
                c.stringOrNull(MODEL_DIR) == null ? null : Path.of(c.string(MODEL_DIR)),
                c.intValue(MAX_SEQ_LEN, 1, 1 << 20),
                c.intValue(MAX_REQUEST_BYTES, 64, Integer.MAX_VALUE),
                Duration.ofMillis(c.longValue(DEFAULT_TIMEOUT_MS, 1, Long.MAX_VALUE / 4)),
                Duration.ofMillis(c.longValue(MAX_TIMEOUT_MS, 1, Long.MAX_VALUE / 4)),
                c.bool(PARTIAL_ON_TIMEOUT),
                c.longValue(INFLIGHT_CREDIT, 1, Long.MAX_VALUE),
                c.intValue(PARTITIONS, 1, 10_000),
                c.intMap(EXPERT_PARTITIONS),
                c.stringOrNull(SHARED_EXPERT_PARTITIONS) == null
                        ? c.intValue(PARTITIONS, 1, 10_000)
                        : c.intValue(SHARED_EXPERT_PARTITIONS, 1, 10_000),
                (short) c.intValue(REPLICATION, 1, Short.MAX_VALUE),
                Duration.ofMillis(c.longValue(DEDUPE_RETENTION_MS, 1, Long.MAX_VALUE / 4)),
                state == null ? null : Path.of(state),
                c.stringOrNull(INSTANCE_ID),
                c.bool(EAGER_COMMIT),
                Duration.ofMillis(c.longValue(EAGER_COMMIT_MAX_LAG_MS, 0, Long.MAX_VALUE / 4)),
                wireDtype(c.string(WIRE_DTYPE)),
                c.kafkaProperties(),
                c.stringOrNull(MODEL_LAYER),
                flowControl(c.string(FLOW_CONTROL)),
                Duration.ofMillis(c.longValue(FLOW_REFRESH_MS, 10, 600_000)),
                c.string(EXPERT_GROUP_PREFIX),
                Duration.ofMillis(c.longValue(LOAD_WINDOW_MS, 100, Long.MAX_VALUE / 4)),
                Duration.ofMillis(c.longValue(LOAD_PUBLISH_MS, 10, Long.MAX_VALUE / 4)),
                Duration.ofMillis(c.longValue(LOAD_RETENTION_MS, 100, Long.MAX_VALUE / 4)));
    }

    /** Parses {@code moe.gateway.flow-control}: {@code cluster} (true) or {@code local} (false). */
    static boolean flowControl(String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "cluster" -> true;
            case "local" -> false;
            default -> throw new ConfigException(FLOW_CONTROL, "expected cluster or local, found '" + value + "'");
        };
    }

    /** Parses {@code moe.wire.dtype}: F32, BF16 or F16 (any case). */
    static DType wireDtype(String value) {
        try {
            return DType.valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(WIRE_DTYPE, "expected one of F32, BF16, F16, found '" + value + "'");
        }
    }

    /** Kafka properties may hold credentials (sasl.jaas.config): only their keys are printed. */
    @Override
    public String toString() {
        return "GatewayConfig[applicationId=" + applicationId + ", bootstrapServers=" + bootstrapServers
                + ", schemaRegistryUrl=" + RegistryUrl.withoutUserInfo(schemaRegistryUrl) + ", topicPrefix="
                + topicPrefix + ", modelDir=" + modelDir
                + (modelLayer == null ? "" : ", modelLayer=" + modelLayer)
                + ", maxSeqLen=" + maxSeqLen + ", maxRequestBytes=" + maxRequestBytes + ", defaultTimeout="
                + defaultTimeout + ", maxTimeout=" + maxTimeout + ", partialOnTimeout=" + partialOnTimeout
                + ", inFlightCreditTokens=" + inFlightCreditTokens + ", defaultPartitions=" + defaultPartitions
                + ", expertPartitions=" + expertPartitions + ", sharedExpertPartitions=" + sharedExpertPartitions
                + ", replicationFactor=" + replicationFactor
                + ", dedupeRetention=" + dedupeRetention + ", stateDir=" + stateDir + ", instanceId=" + instanceId
                + ", eagerCommit=" + eagerCommit + ", eagerCommitMaxLag=" + eagerCommitMaxLag + ", wireDtype="
                + wireDtype
                + ", flowControl=" + (clusterFlowControl ? "cluster" : "local") + ", flowRefresh=" + flowRefresh
                + ", expertGroupPrefix=" + expertGroupPrefix + ", loadWindow=" + loadWindow + ", loadPublish="
                + loadPublish + ", loadRetention=" + loadRetention + ", kafka keys="
                + new TreeSet<>(kafka.keySet()) + "]";
    }

    /**
     * Whether a record that waited {@code lagMs} before it was processed should request a commit at the end of this
     * Streams loop iteration: eager commits are on and the record is not part of a backlog.
     */
    public boolean commitEagerly(long lagMs) {
        return eagerCommit && lagMs <= eagerCommitMaxLag.toMillis();
    }

    /** Partitions of the topic of expert {@code e}. */
    public int partitionsOf(int expert) {
        return expertPartitions.getOrDefault(expert, defaultPartitions);
    }
}

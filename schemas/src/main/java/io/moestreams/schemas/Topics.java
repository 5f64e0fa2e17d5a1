package io.moestreams.schemas;

import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * The one place topic names come from. With the default prefix {@code moe.}:
 *
 * <table>
 *   <caption>Topics (key = request id, UTF-8 string, on every topic)</caption>
 *   <tr><th>method</th><th>name</th><th>value</th><th>written by</th><th>read by</th></tr>
 *   <tr><td>{@link #requests()}</td><td>{@code moe.requests}</td><td>{@code InferenceRequest}</td>
 *       <td>clients</td><td>gateway (gating)</td></tr>
 *   <tr><td>{@link #expert(int) expert(e)}</td><td>{@code moe.expert.<e>}</td><td>{@code DispatchBlock}</td>
 *       <td>gateway (dispatch)</td><td>expert workers of expert e</td></tr>
 *   <tr><td>{@link #expertResults()}</td><td>{@code moe.expert-results}</td><td>{@code ExpertResult}</td>
 *       <td>expert workers</td><td>gateway (combiner)</td></tr>
 *   <tr><td>{@link #manifests()}</td><td>{@code moe.manifests}</td><td>{@code DispatchManifest}</td>
 *       <td>gateway (dispatch)</td><td>gateway (combiner)</td></tr>
 *   <tr><td>{@link #responses()}</td><td>{@code moe.responses}</td><td>{@code InferenceResponse}</td>
 *       <td>gateway (combiner)</td><td>clients</td></tr>
 *   <tr><td>{@link #deadLetter()}</td><td>{@code moe.dead-letter}</td><td>{@code DeadLetter}</td>
 *       <td>any service</td><td>operators, tools</td></tr>
 *   <tr><td>{@link #expertLoad()}</td><td>{@code moe.expert-load}</td><td>{@code ExpertLoad}</td>
 *       <td>gateway (load record)</td><td>{@code moe plan}, {@code moe top}, operators</td></tr>
 * </table>
 *
 * <p>Values are Avro in the Confluent wire format, subject {@code <topic>-value}. Expert results and
 * manifests must have the same partition count (co-partitioned by request id) so the combiner never
 * repartitions; each expert topic has its own partition count (hot experts get more).
 *
 * <p>The prefix may be empty; prefix and names are validated against Kafka's legal topic characters
 * ({@code [a-zA-Z0-9._-]}, at most 249 characters).
 */
public final class Topics {

    /** The default prefix. */
    public static final String DEFAULT_PREFIX = "moe.";
    /** Kafka's maximum topic name length. */
    public static final int MAX_NAME_LENGTH = 249;

    private static final String EXPERT = "expert.";
    private static final String SHARED_EXPERT = "shared-expert.";

    private final String prefix;

    /** Topic names with the default prefix {@code moe.}. */
    public Topics() {
        this(DEFAULT_PREFIX);
    }

    /**
     * Topic names with {@code prefix} (may be empty).
     *
     * @throws IllegalArgumentException if the prefix has a character Kafka does not allow in topic names
     */
    public Topics(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        for (int i = 0; i < prefix.length(); i++) {
            if (!legal(prefix.charAt(i))) {
                throw new IllegalArgumentException("topic prefix '" + prefix + "' has illegal character '"
                        + prefix.charAt(i) + "' at index " + i + "; allowed are a-z A-Z 0-9 . _ -");
            }
        }
        if (prefix.length() + "expert-results".length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("topic prefix is " + prefix.length() + " characters; topic names "
                    + "would exceed Kafka's limit of " + MAX_NAME_LENGTH);
        }
        this.prefix = prefix;
    }

    /** The prefix of every name. */
    public String prefix() {
        return prefix;
    }

    /** Inference requests: {@code <prefix>requests}. */
    public String requests() {
        return prefix + "requests";
    }

    /**
     * Dispatch blocks for expert {@code e}: {@code <prefix>expert.<e>}.
     *
     * @throws IllegalArgumentException if {@code e < 0}
     */
    public String expert(int e) {
        if (e < 0) {
            throw new IllegalArgumentException("expert index must be >= 0, got " + e);
        }
        return prefix + EXPERT + e;
    }

    /** The expert index of an expert topic of this prefix, or empty if {@code topic} is not one. */
    public OptionalInt expertOf(String topic) {
        String head = prefix + EXPERT;
        if (topic == null
                || !topic.startsWith(head)
                || topic.length() == head.length()
                || topic.length() - head.length() > 9) {
            return OptionalInt.empty();
        }
        String digits = topic.substring(head.length());
        for (int i = 0; i < digits.length(); i++) {
            if (digits.charAt(i) < '0' || digits.charAt(i) > '9') {
                return OptionalInt.empty();
            }
        }
        if (digits.length() > 1 && digits.charAt(0) == '0') {
            return OptionalInt.empty();
        }
        return OptionalInt.of(Integer.parseInt(digits));
    }

    /**
     * Dispatch blocks for shared expert {@code j} (visited by every token): {@code <prefix>shared-expert.<j>}.
     *
     * @throws IllegalArgumentException if {@code j < 0}
     */
    public String sharedExpert(int j) {
        if (j < 0) {
            throw new IllegalArgumentException("shared expert index must be >= 0, got " + j);
        }
        return prefix + SHARED_EXPERT + j;
    }

    /**
     * The topic of a dispatch target by its wire id: routed expert {@code id} below {@code numExperts}, shared expert
     * {@code id - numExperts} at or above it (see {@link ExpertIds}).
     */
    public String dispatch(int wireId, int numExperts) {
        return ExpertIds.isShared(wireId, numExperts)
                ? sharedExpert(ExpertIds.sharedIndex(wireId, numExperts))
                : expert(wireId);
    }

    /** Expert results: {@code <prefix>expert-results}. */
    public String expertResults() {
        return prefix + "expert-results";
    }

    /** Dispatch manifests: {@code <prefix>manifests}. */
    public String manifests() {
        return prefix + "manifests";
    }

    /** Inference responses: {@code <prefix>responses}. */
    public String responses() {
        return prefix + "responses";
    }

    /** Dead letters: {@code <prefix>dead-letter}. */
    public String deadLetter() {
        return prefix + "dead-letter";
    }

    /**
     * The expert load record: per gateway instance and wall-clock window, the tokens routed to each expert
     * ({@code <prefix>expert-load}; compacted and time-retained, key {@code <layer>/<instance>/<windowStartMs>}).
     */
    public String expertLoad() {
        return prefix + "expert-load";
    }

    /** Every topic name of a model with {@code numExperts} experts, in {@link TopicCatalog} order. */
    public List<String> all(int numExperts) {
        return all(numExperts, 0);
    }

    /** Every topic name of a model with routed and shared experts, in {@link TopicCatalog} order. */
    public List<String> all(int numExperts, int numShared) {
        return TopicCatalog.of(this, numExperts, numShared).stream()
                .map(TopicCatalog.Entry::name)
                .toList();
    }

    private static boolean legal(char c) {
        return (c >= 'a' && c <= 'z')
                || (c >= 'A' && c <= 'Z')
                || (c >= '0' && c <= '9')
                || c == '.'
                || c == '_'
                || c == '-';
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Topics other && other.prefix.equals(prefix);
    }

    @Override
    public int hashCode() {
        return prefix.hashCode();
    }

    @Override
    public String toString() {
        return "Topics[prefix=" + prefix + "]";
    }
}

package io.moestreams.core.ffn;

/**
 * Which expert an FFN is: a routed expert {@code e} (0..E-1, chosen per token by the router) or a shared expert
 * {@code s} (0..numShared-1, visited by every token; written {@code s0}, {@code s1}, ... on the command line).
 *
 * @param shared true for a shared expert
 * @param index  the routed expert id, or the shared expert's index
 */
public record ExpertRef(boolean shared, int index) {

    public ExpertRef {
        if (index < 0) {
            throw new IllegalArgumentException("expert index: expected >= 0, found " + index);
        }
    }

    public static ExpertRef routed(int id) {
        return new ExpertRef(false, id);
    }

    public static ExpertRef shared(int index) {
        return new ExpertRef(true, index);
    }

    /** {@code 3} for routed expert 3, {@code s0} for shared expert 0 (the selection syntax). */
    public String id() {
        return shared ? "s" + index : Integer.toString(index);
    }

    @Override
    public String toString() {
        return shared ? "shared expert s" + index : "expert " + index;
    }
}

package io.moestreams.schemas;

/**
 * Expert ids on the wire ({@code DispatchBlock.expert}, {@code ExpertResult.expert}, the manifest's
 * {@code experts}): routed experts keep their index {@code 0..E-1}; shared expert {@code j} (visited by every token)
 * is {@code E + j}, so one int names every dispatch target of a request and the combiner's per-request bitset
 * covers both. Responses list routed experts only.
 */
public final class ExpertIds {

    private ExpertIds() {}

    /** The wire id of shared expert {@code j} of a model with {@code numExperts} routed experts. */
    public static int shared(int numExperts, int j) {
        if (numExperts < 1 || j < 0) {
            throw new IllegalArgumentException("expected numExperts >= 1 and j >= 0, found " + numExperts + ", " + j);
        }
        return numExperts + j;
    }

    public static boolean isShared(int wireId, int numExperts) {
        return wireId >= numExperts;
    }

    /** The shared-expert index {@code j} of a wire id at or above {@code numExperts}. */
    public static int sharedIndex(int wireId, int numExperts) {
        if (wireId < numExperts) {
            throw new IllegalArgumentException("wire id " + wireId + " is routed expert " + wireId + ", not shared");
        }
        return wireId - numExperts;
    }

    /** {@code 3} for routed expert 3, {@code s0} for the first shared expert: how logs and the CLI name them. */
    public static String name(int wireId, int numExperts) {
        return isShared(wireId, numExperts) ? "s" + sharedIndex(wireId, numExperts) : Integer.toString(wireId);
    }
}

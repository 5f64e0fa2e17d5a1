package io.moestreams.replay;

import java.util.Objects;

/**
 * How one replayed request compares with its recording ({@code moe replay}).
 *
 * @param id             request id
 * @param verdict        the outcome
 * @param seqLen         tokens of the request
 * @param bitIdentical   every output value has the same bits (and the routing is the same)
 * @param maxAbsDiff     max |replayed − recorded| over the output (0 when identical; +∞ for a NaN on one side)
 * @param maxRelDiff     max |replayed − recorded| / max(|replayed|, |recorded|) over the output (0 where both are 0)
 * @param tokensDiffering ascending positions whose output row differs: some value with other bits at tolerance 0,
 *                       some |replayed − recorded| above the tolerance otherwise (empty when the shapes differ: see
 *                       the note)
 * @param routingChanged ascending positions whose set of experts differs
 * @param droppedAdded   positions dropped in the replay but not in the recording
 * @param droppedRemoved positions dropped in the recording but not in the replay
 * @param note           why a request was skipped or failed, or what else differs; null otherwise
 */
public record RequestDiff(
        String id,
        Verdict verdict,
        int seqLen,
        boolean bitIdentical,
        double maxAbsDiff,
        double maxRelDiff,
        int[] tokensDiffering,
        int[] routingChanged,
        int[] droppedAdded,
        int[] droppedRemoved,
        String note) {

    /** The outcome of one request. */
    public enum Verdict {
        /** Bit for bit the recorded output and routing. */
        IDENTICAL,
        /** Not bit-identical, but every output value within the tolerance and the same routing. */
        WITHIN_TOLERANCE,
        /** Outside the tolerance, or the routing or dropped positions changed. */
        DIFFERENT,
        /** Nothing to compare with: no recorded response, or a recorded status other than OK. */
        SKIPPED,
        /** The replay could not compute it (e.g. the model has another hidden size). */
        FAILED;

        /** Whether this outcome lets {@code moe replay} exit with status 0. */
        public boolean passes() {
            return this == IDENTICAL || this == WITHIN_TOLERANCE || this == SKIPPED;
        }
    }

    public RequestDiff {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(verdict, "verdict");
        tokensDiffering = tokensDiffering == null ? new int[0] : tokensDiffering;
        for (int i = 0; i < tokensDiffering.length; i++) {
            int t = tokensDiffering[i];
            if (t < 0 || t >= seqLen || (i > 0 && t <= tokensDiffering[i - 1])) {
                throw new IllegalArgumentException("tokensDiffering of " + id + ": expected ascending positions in [0, "
                        + seqLen + "), found " + t + " at index " + i);
            }
        }
        routingChanged = routingChanged == null ? new int[0] : routingChanged;
        droppedAdded = droppedAdded == null ? new int[0] : droppedAdded;
        droppedRemoved = droppedRemoved == null ? new int[0] : droppedRemoved;
    }

    public static RequestDiff skipped(String id, int seqLen, String why) {
        return new RequestDiff(id, Verdict.SKIPPED, seqLen, false, 0, 0, null, null, null, null, why);
    }

    public static RequestDiff failed(String id, int seqLen, String why) {
        return new RequestDiff(
                id,
                Verdict.FAILED,
                seqLen,
                false,
                Double.POSITIVE_INFINITY,
                Double.POSITIVE_INFINITY,
                null,
                null,
                null,
                null,
                why);
    }

    @Override
    public String toString() {
        return "RequestDiff[" + id + ", " + verdict + ", maxAbsDiff=" + maxAbsDiff + ", tokensDiffering="
                + tokensDiffering.length + ", routingChanged=" + routingChanged.length + "]";
    }
}

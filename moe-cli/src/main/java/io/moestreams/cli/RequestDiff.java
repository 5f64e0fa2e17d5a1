package io.moestreams.cli;

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
 * @param routingChanged ascending positions whose set of experts differs
 * @param droppedAdded   positions dropped in the replay but not in the recording
 * @param droppedRemoved positions dropped in the recording but not in the replay
 * @param note           why a request was skipped or failed, or what else differs; null otherwise
 */
record RequestDiff(
        String id,
        Verdict verdict,
        int seqLen,
        boolean bitIdentical,
        double maxAbsDiff,
        double maxRelDiff,
        int[] routingChanged,
        int[] droppedAdded,
        int[] droppedRemoved,
        String note) {

    /** The outcome of one request. */
    enum Verdict {
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
        boolean passes() {
            return this == IDENTICAL || this == WITHIN_TOLERANCE || this == SKIPPED;
        }
    }

    RequestDiff {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(verdict, "verdict");
        routingChanged = routingChanged == null ? new int[0] : routingChanged;
        droppedAdded = droppedAdded == null ? new int[0] : droppedAdded;
        droppedRemoved = droppedRemoved == null ? new int[0] : droppedRemoved;
    }

    static RequestDiff skipped(String id, int seqLen, String why) {
        return new RequestDiff(id, Verdict.SKIPPED, seqLen, false, 0, 0, null, null, null, why);
    }

    static RequestDiff failed(String id, int seqLen, String why) {
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
                why);
    }

    @Override
    public String toString() {
        return "RequestDiff[" + id + ", " + verdict + ", maxAbsDiff=" + maxAbsDiff + ", routingChanged="
                + routingChanged.length + "]";
    }
}

package io.moestreams.replay;

import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.jsonl.ResponseStatus;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Compares a replayed response with its recording. With tolerance 0 a request passes only when every output
 * value has the same bits; with tolerance T &gt; 0 when every |replayed − recorded| ≤ T. Either way the set of
 * experts of every token and the dropped positions must not have changed. The tokens whose output differs are those
 * with a value that fails the same test (other bits at tolerance 0, |replayed − recorded| &gt; T otherwise).
 */
public final class ReplayComparison {

    private ReplayComparison() {}

    /**
     * @param recorded  the recorded response (status OK)
     * @param replayed  the replay's answer
     * @param tolerance max |difference| allowed, 0 for bit-identical
     * @param histogram receives |difference| of every value compared
     */
    public static RequestDiff compare(
            ResponseLine recorded, ResponseLine replayed, double tolerance, DiffHistogram histogram) {
        String id = recorded.id();
        if (replayed.status() != ResponseStatus.OK) {
            return RequestDiff.failed(id, recorded.seqLen(), "replay " + replayed.status() + ": " + replayed.error());
        }
        if (recorded.seqLen() != replayed.seqLen() || recorded.hiddenSize() != replayed.hiddenSize()) {
            return new RequestDiff(
                    id,
                    RequestDiff.Verdict.DIFFERENT,
                    recorded.seqLen(),
                    false,
                    Double.POSITIVE_INFINITY,
                    Double.POSITIVE_INFINITY,
                    null,
                    null,
                    null,
                    null,
                    "output shape: recorded [" + recorded.seqLen() + ", " + recorded.hiddenSize() + "], replayed ["
                            + replayed.seqLen() + ", " + replayed.hiddenSize() + "]");
        }
        float[] a = recorded.output();
        float[] b = replayed.output();
        int hidden = recorded.hiddenSize();
        boolean sameBits = true;
        double maxAbs = 0;
        double maxRel = 0;
        List<Integer> tokensDiffering = new ArrayList<>();
        for (int t = 0; t < recorded.seqLen(); t++) {
            boolean rowDiffers = false;
            for (int i = t * hidden; i < (t + 1) * hidden; i++) {
                if (Float.floatToRawIntBits(a[i]) == Float.floatToRawIntBits(b[i])) {
                    histogram.add(0);
                    continue;
                }
                sameBits = false;
                double abs = Math.abs((double) b[i] - a[i]);
                if (Double.isNaN(abs)) {
                    abs = Double.POSITIVE_INFINITY; // NaN on one side only (or two NaNs of different payloads)
                }
                double scale = Math.max(Math.abs((double) a[i]), Math.abs((double) b[i]));
                double rel = scale == 0 ? 0 : abs / scale;
                maxAbs = Math.max(maxAbs, abs);
                maxRel = Math.max(maxRel, Double.isNaN(rel) ? Double.POSITIVE_INFINITY : rel);
                histogram.add(abs);
                // the verdict's criterion per value: other bits at tolerance 0, beyond the tolerance otherwise
                rowDiffers |= tolerance == 0 || abs > tolerance;
            }
            if (rowDiffers) {
                tokensDiffering.add(t);
            }
        }
        int[] routingChanged = routingChanged(recorded, replayed);
        int[] added = minus(replayed.dropped(), recorded.dropped());
        int[] removed = minus(recorded.dropped(), replayed.dropped());
        boolean sameRouting = routingChanged.length == 0 && added.length == 0 && removed.length == 0;
        boolean identical = sameBits && sameRouting;
        RequestDiff.Verdict verdict;
        if (identical) {
            verdict = RequestDiff.Verdict.IDENTICAL;
        } else if (sameRouting && tolerance > 0 && maxAbs <= tolerance) {
            verdict = RequestDiff.Verdict.WITHIN_TOLERANCE;
        } else {
            verdict = RequestDiff.Verdict.DIFFERENT;
        }
        return new RequestDiff(
                id,
                verdict,
                recorded.seqLen(),
                identical,
                maxAbs,
                maxRel,
                tokensDiffering.stream().mapToInt(Integer::intValue).toArray(),
                routingChanged,
                added,
                removed,
                null);
    }

    /** Positions whose set of experts differs (rank order and weights aside). */
    public static int[] routingChanged(ResponseLine recorded, ResponseLine replayed) {
        int[][] x = recorded.experts();
        int[][] y = replayed.experts();
        List<Integer> changed = new ArrayList<>();
        for (int t = 0; t < Math.max(x.length, y.length); t++) {
            int[] p = t < x.length ? x[t].clone() : new int[0];
            int[] q = t < y.length ? y[t].clone() : new int[0];
            Arrays.sort(p);
            Arrays.sort(q);
            if (!Arrays.equals(p, q)) {
                changed.add(t);
            }
        }
        return changed.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Elements of {@code a} not in {@code b}, ascending. */
    private static int[] minus(int[] a, int[] b) {
        int[] sorted = b.clone();
        Arrays.sort(sorted);
        return Arrays.stream(a)
                .filter(x -> Arrays.binarySearch(sorted, x) < 0)
                .sorted()
                .toArray();
    }
}

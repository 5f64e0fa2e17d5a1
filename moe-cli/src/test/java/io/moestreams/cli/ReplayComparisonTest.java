package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.jsonl.ResponseStatus;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ReplayComparisonTest {

    /** Two tokens of hidden size 2, token 0 on experts {1, 0}, token 1 on {2, 3}, nothing dropped. */
    private static ResponseLine line(float[] output, int[][] experts, int[] dropped) {
        float[][] weights = new float[experts.length][];
        for (int t = 0; t < experts.length; t++) {
            weights[t] = new float[experts[t].length];
            Arrays.fill(weights[t], 1f / Math.max(1, experts[t].length));
        }
        return new ResponseLine("r", ResponseStatus.OK, output, 2, 2, experts, weights, dropped, null);
    }

    private static final int[][] ROUTING = {{1, 0}, {2, 3}};

    @Test
    void theSameBitsAreIdenticalAndCountedAsZeroDifferences() {
        // Given a recorded output and a replay with the same bits
        ResponseLine rec = line(new float[] {1f, -2f, 0.5f, 3f}, ROUTING, new int[0]);
        ResponseLine rep = line(new float[] {1f, -2f, 0.5f, 3f}, ROUTING, new int[0]);
        DiffHistogram h = new DiffHistogram();
        // When compared at tolerance 0
        RequestDiff d = ReplayComparison.compare(rec, rep, 0, h);
        // Then identical, no difference, four zero buckets
        assertEquals(RequestDiff.Verdict.IDENTICAL, d.verdict());
        assertTrue(d.bitIdentical());
        assertEquals(0.0, d.maxAbsDiff());
        assertEquals(4, h.counts()[0]);
        assertEquals(4, h.total());
    }

    @Test
    void oneUlpApartFailsAtToleranceZeroAndPassesWithinATolerance() {
        // Given a replay whose value 3 is one ulp larger (3 + 2^-22)
        float up = Math.nextUp(3f);
        ResponseLine rec = line(new float[] {1f, -2f, 0.5f, 3f}, ROUTING, new int[0]);
        ResponseLine rep = line(new float[] {1f, -2f, 0.5f, up}, ROUTING, new int[0]);
        // When compared at tolerance 0 and at 1e-6
        RequestDiff exact = ReplayComparison.compare(rec, rep, 0, new DiffHistogram());
        DiffHistogram h = new DiffHistogram();
        RequestDiff loose = ReplayComparison.compare(rec, rep, 1e-6, h);
        // Then the differences are 2^-22 absolute and 2^-22 / (3 + 2^-22) relative
        double ulp = Math.pow(2, -22);
        assertEquals(RequestDiff.Verdict.DIFFERENT, exact.verdict());
        assertEquals(RequestDiff.Verdict.WITHIN_TOLERANCE, loose.verdict());
        assertFalse(loose.bitIdentical());
        assertEquals(ulp, loose.maxAbsDiff());
        assertEquals(ulp / (3 + ulp), loose.maxRelDiff(), 1e-15);
        // And 2^-22 ≈ 2.4e-7 falls in the (1e-7, 1e-6] bucket
        assertEquals(1, h.counts()[DiffHistogram.bucket(2.4e-7)]);
        assertEquals(3, h.counts()[0]);
        assertEquals(4, DiffHistogram.labels().indexOf("≤1e-6"));
        assertEquals(4, DiffHistogram.bucket(2.4e-7));
    }

    @Test
    void negativeZeroIsNotBitIdenticalToZero() {
        ResponseLine rec = line(new float[] {0f, 1f, 1f, 1f}, ROUTING, new int[0]);
        ResponseLine rep = line(new float[] {-0f, 1f, 1f, 1f}, ROUTING, new int[0]);
        RequestDiff d = ReplayComparison.compare(rec, rep, 0, new DiffHistogram());
        assertEquals(RequestDiff.Verdict.DIFFERENT, d.verdict());
        assertEquals(0.0, d.maxAbsDiff());
    }

    @Test
    void aChangedExpertSetIsReportedEvenWithinTheToleranceButAChangedRankOrderIsNot() {
        // Given token 0 ranked {0, 1} instead of {1, 0} and token 1 on {2, 1} instead of {2, 3}
        ResponseLine rec = line(new float[] {1f, 1f, 1f, 1f}, ROUTING, new int[0]);
        ResponseLine rep = line(new float[] {1f, 1f, 1f, 1f}, new int[][] {{0, 1}, {2, 1}}, new int[0]);
        // When compared with a generous tolerance
        RequestDiff d = ReplayComparison.compare(rec, rep, 1.0, new DiffHistogram());
        // Then only token 1 changed its expert set, and that fails the request
        assertArrayEquals(new int[] {1}, d.routingChanged());
        assertEquals(RequestDiff.Verdict.DIFFERENT, d.verdict());
    }

    @Test
    void dropChangesAreReportedBothWays() {
        // Given token 1 dropped in the recording only, token 0 in the replay only
        ResponseLine rec = line(new float[] {1f, 1f, 0f, 0f}, new int[][] {{1}, {}}, new int[] {1});
        ResponseLine rep = line(new float[] {0f, 0f, 1f, 1f}, new int[][] {{}, {1}}, new int[] {0});
        RequestDiff d = ReplayComparison.compare(rec, rep, 0, new DiffHistogram());
        assertArrayEquals(new int[] {0}, d.droppedAdded());
        assertArrayEquals(new int[] {1}, d.droppedRemoved());
        assertArrayEquals(new int[] {0, 1}, d.routingChanged());
        assertEquals(1.0, d.maxAbsDiff());
        assertEquals(1.0, d.maxRelDiff());
    }

    @Test
    void aNanOnOneSideIsAnInfiniteDifference() {
        ResponseLine rec = line(new float[] {1f, 1f, 1f, 1f}, ROUTING, new int[0]);
        ResponseLine rep = line(new float[] {Float.NaN, 1f, 1f, 1f}, ROUTING, new int[0]);
        DiffHistogram h = new DiffHistogram();
        RequestDiff d = ReplayComparison.compare(rec, rep, 1e3, h);
        assertEquals(Double.POSITIVE_INFINITY, d.maxAbsDiff());
        assertEquals(RequestDiff.Verdict.DIFFERENT, d.verdict());
        assertEquals(1, h.counts()[h.counts().length - 1]);
    }

    @Test
    void aReplayThatIsRejectedFails() {
        ResponseLine rec = line(new float[] {1f, 1f, 1f, 1f}, ROUTING, new int[0]);
        RequestDiff d = ReplayComparison.compare(
                rec, ResponseLine.rejected("r", "tokens: expected hidden size 4"), 0, new DiffHistogram());
        assertEquals(RequestDiff.Verdict.FAILED, d.verdict());
        assertTrue(d.note().contains("hidden size 4"), d.note());
        assertFalse(d.verdict().passes());
    }
}

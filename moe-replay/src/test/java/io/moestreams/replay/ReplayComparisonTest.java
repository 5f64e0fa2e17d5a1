package io.moestreams.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
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

    /** Six tokens of hidden size 2, token t on experts {t % 4}, values 1, 2, …, 12. */
    private static ResponseLine sixTokens(float[] output) {
        int[][] experts = new int[6][];
        float[][] weights = new float[6][];
        for (int t = 0; t < 6; t++) {
            experts[t] = new int[] {t % 4};
            weights[t] = new float[] {1f};
        }
        return new ResponseLine("r", ResponseStatus.OK, output, 6, 2, experts, weights, new int[0], null);
    }

    private static float[] oneToTwelve() {
        float[] v = new float[12];
        for (int i = 0; i < v.length; i++) {
            v[i] = i + 1;
        }
        return v;
    }

    /** {@link #oneToTwelve()} off by one ulp (2^-22) in the first value of token 1, by 0.5 in the second of token 4. */
    private static ResponseLine offAtTokens1And4() {
        float[] replayed = oneToTwelve();
        replayed[2] = Math.nextUp(replayed[2]);
        replayed[9] += 0.5f;
        return sixTokens(replayed);
    }

    @Test
    void theTokensWhoseOutputRowHasOtherBitsAreListedAscending() {
        // Given six recorded tokens, and a replay off by one ulp in token 1 and by 0.5 in token 4
        ResponseLine rec = sixTokens(oneToTwelve());
        // When compared at tolerance 0 with the replay, and with the recording itself
        RequestDiff d = ReplayComparison.compare(rec, offAtTokens1And4(), 0, new DiffHistogram());
        RequestDiff same = ReplayComparison.compare(rec, sixTokens(oneToTwelve()), 0, new DiffHistogram());
        // Then exactly tokens 1 and 4 differ; none does against the recording itself
        assertArrayEquals(new int[] {1, 4}, d.tokensDiffering());
        assertEquals(RequestDiff.Verdict.DIFFERENT, d.verdict());
        assertTrue(d.toString().contains("tokensDiffering=2"), d.toString());
        assertArrayEquals(new int[0], same.tokensDiffering());
        assertEquals(RequestDiff.Verdict.IDENTICAL, same.verdict());
    }

    @Test
    void withAToleranceOnlyTheTokensBeyondItDiffer() {
        // Given the same replay: token 1 one ulp (2^-22) off, token 4 0.5 off
        ResponseLine rec = sixTokens(oneToTwelve());
        ResponseLine rep = offAtTokens1And4();
        // When compared at tolerance 1e-6, at exactly 0.5, and at 1
        RequestDiff small = ReplayComparison.compare(rec, rep, 1e-6, new DiffHistogram());
        RequestDiff half = ReplayComparison.compare(rec, rep, 0.5, new DiffHistogram());
        RequestDiff large = ReplayComparison.compare(rec, rep, 1.0, new DiffHistogram());
        // Then at 1e-6 only token 4 differs (and fails the request); at 0.5 (|diff| <= T passes) and at 1 none does
        assertArrayEquals(new int[] {4}, small.tokensDiffering());
        assertEquals(RequestDiff.Verdict.DIFFERENT, small.verdict());
        assertArrayEquals(new int[0], half.tokensDiffering());
        assertEquals(RequestDiff.Verdict.WITHIN_TOLERANCE, half.verdict());
        assertArrayEquals(new int[0], large.tokensDiffering());
        assertEquals(RequestDiff.Verdict.WITHIN_TOLERANCE, large.verdict());
    }

    @Test
    void aNegativeZeroIsADifferingTokenAtToleranceZeroOnly() {
        // Given token 0's first value 0 recorded and -0 replayed
        float[] recorded = oneToTwelve();
        recorded[0] = 0f;
        float[] replayed = recorded.clone();
        replayed[0] = -0f;
        // When compared at tolerance 0 and at 1e-9
        RequestDiff exact = ReplayComparison.compare(sixTokens(recorded), sixTokens(replayed), 0, new DiffHistogram());
        RequestDiff loose =
                ReplayComparison.compare(sixTokens(recorded), sixTokens(replayed), 1e-9, new DiffHistogram());
        // Then token 0 differs in bits, but not beyond a tolerance
        assertArrayEquals(new int[] {0}, exact.tokensDiffering());
        assertArrayEquals(new int[0], loose.tokensDiffering());
    }

    @Test
    void tokensDifferingMustBeAscendingPositionsOfTheRequest() {
        // Given positions out of order, or beyond the request's 3 tokens, Then the record refuses them naming the field
        IllegalArgumentException unordered = assertThrows(
                IllegalArgumentException.class,
                () -> new RequestDiff(
                        "r", RequestDiff.Verdict.DIFFERENT, 3, false, 1, 1, new int[] {2, 1}, null, null, null, null));
        assertTrue(unordered.getMessage().startsWith("tokensDiffering of r: "), unordered.getMessage());
        IllegalArgumentException beyond = assertThrows(
                IllegalArgumentException.class,
                () -> new RequestDiff(
                        "r", RequestDiff.Verdict.DIFFERENT, 3, false, 1, 1, new int[] {3}, null, null, null, null));
        assertTrue(beyond.getMessage().contains("[0, 3)"), beyond.getMessage());
    }

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
        // Then only token 1 changed its expert set, and that fails the request; no output differs
        assertArrayEquals(new int[] {1}, d.routingChanged());
        assertArrayEquals(new int[0], d.tokensDiffering());
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
        assertArrayEquals(new int[] {0, 1}, d.tokensDiffering());
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

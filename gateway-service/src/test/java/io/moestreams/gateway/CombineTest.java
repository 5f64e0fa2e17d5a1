package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.ExpertResult;
import io.moestreams.schemas.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.apache.kafka.common.utils.Bytes;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

class CombineTest {

    // ---------------------------------------------------------------------------------------------
    // helpers: a request described as per-token expert lists plus per-(expert, position) output rows

    private static DispatchManifest manifest(String id, int d, List<List<Integer>> tokenExperts) {
        int s = tokenExperts.size();
        List<Integer> experts =
                tokenExperts.stream().flatMap(List::stream).distinct().sorted().toList();
        List<Integer> dropped = new ArrayList<>();
        int total = 0;
        for (int t = 0; t < s; t++) {
            total += tokenExperts.get(t).size();
            if (tokenExperts.get(t).isEmpty()) {
                dropped.add(t);
            }
        }
        float[] weights = new float[total];
        Arrays.fill(weights, 0.5f);
        return DispatchManifest.newBuilder()
                .setRequestId(id)
                .setSeqLen(s)
                .setHiddenSize(d)
                .setDeadlineMs(10_000)
                .setReceivedAtMs(0)
                .setExperts(experts)
                .setTokenExperts(tokenExperts)
                .setTokenWeights(Tensors.f32(weights, total))
                .setDropped(dropped)
                .build();
    }

    /** rows.get(e).get(t) = expert e's (already weighted) output row for position t. */
    private static List<ExpertResult> results(String id, int d, Map<Integer, Map<Integer, float[]>> rows) {
        List<ExpertResult> out = new ArrayList<>();
        rows.forEach((e, byPosition) -> {
            List<Integer> positions = new ArrayList<>(new TreeMap<>(byPosition).keySet());
            float[] data = new float[positions.size() * d];
            for (int i = 0; i < positions.size(); i++) {
                System.arraycopy(byPosition.get(positions.get(i)), 0, data, i * d, d);
            }
            out.add(ExpertResult.newBuilder()
                    .setRequestId(id)
                    .setExpert(e)
                    .setAttempt(0)
                    .setPositions(positions)
                    .setOutput(Tensors.f32(data, positions.size(), d))
                    .setWorkerId("w")
                    .build());
        });
        return out;
    }

    /** The reference order: per element, start at 0.0f and add each present expert's row in rank order. */
    private static float[] naiveRankOrderSum(
            int d, List<List<Integer>> tokenExperts, Map<Integer, Map<Integer, float[]>> rows) {
        int s = tokenExperts.size();
        float[] out = new float[s * d];
        for (int t = 0; t < s; t++) {
            for (int i = 0; i < d; i++) {
                float acc = 0.0f;
                for (int e : tokenExperts.get(t)) {
                    Map<Integer, float[]> byPosition = rows.get(e);
                    if (byPosition != null && byPosition.containsKey(t)) {
                        acc += byPosition.get(t)[i];
                    }
                }
                out[t * d + i] = acc;
            }
        }
        return out;
    }

    private static Map<Integer, Map<Integer, float[]>> randomRows(List<List<Integer>> tokenExperts, int d, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        Map<Integer, Map<Integer, float[]>> rows = new HashMap<>();
        for (int t = 0; t < tokenExperts.size(); t++) {
            for (int e : tokenExperts.get(t)) {
                float[] row = new float[d];
                for (int i = 0; i < d; i++) {
                    // wide dynamic range so that the summation order shows in the low bits
                    row[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-3, 4)));
                }
                rows.computeIfAbsent(e, k -> new HashMap<>()).put(t, row);
            }
        }
        return rows;
    }

    private static Map<Integer, float[]> rowsOf(int d, int[] positions, float value) {
        Map<Integer, float[]> m = new HashMap<>();
        for (int p : positions) {
            float[] row = new float[d];
            Arrays.fill(row, value);
            m.put(p, row);
        }
        return m;
    }

    // ---------------------------------------------------------------------------------------------
    // combine

    @Test
    void sumsEachTokenInRankOrderStartingFromZero() {
        // Given one token whose three experts, in rank order 3, 0, 2, contribute 1e8, -1e8 and 1
        // (in float, (0 + 1e8) + -1e8 + 1 = 1, whereas ascending expert order 0, 2, 3 gives (-1e8 + 1) + 1e8 = 0)
        int d = 1;
        List<List<Integer>> tokenExperts = List.of(List.of(3, 0, 2));
        Map<Integer, Map<Integer, float[]>> rows = Map.of(
                3, Map.of(0, new float[] {1e8f}),
                0, Map.of(0, new float[] {-1e8f}),
                2, Map.of(0, new float[] {1f}));
        DispatchManifest m = manifest("r", d, tokenExperts);

        // When the contributions are combined (results handed over in ascending expert order)
        float[] out = Combine.sum(m, results("r", d, new TreeMap<>(rows)));

        // Then the result is the rank-order sum, which differs from the ascending-expert-order sum
        float ascending = 0.0f;
        ascending += -1e8f;
        ascending += 1f;
        ascending += 1e8f;
        assertArrayEquals(naiveRankOrderSum(d, tokenExperts, rows), out);
        assertEquals(1f, out[0]);
        assertEquals(0f, ascending);
    }

    @Test
    void combinesEveryTokenBitForBitLikeTheNaiveRankOrderLoop() {
        // Given 7 tokens routed top-1, top-2 and top-3 to 5 experts in various rank orders, one token dropped
        int d = 6;
        List<List<Integer>> tokenExperts = List.of(
                List.of(4, 1, 0),
                List.of(1),
                List.of(0, 4),
                List.of(),
                List.of(2, 3, 1),
                List.of(3, 2),
                List.of(1, 0, 4));
        Map<Integer, Map<Integer, float[]>> rows = randomRows(tokenExperts, d, 42);
        DispatchManifest m = manifest("r", d, tokenExperts);
        List<ExpertResult> got = results("r", d, rows);
        Collections.reverse(got);

        // When they are combined
        float[] out = Combine.sum(m, got);

        // Then every element equals the naive loop exactly, and the dropped token is zero
        assertArrayEquals(naiveRankOrderSum(d, tokenExperts, rows), out);
        for (int i = 0; i < d; i++) {
            assertEquals(0f, out[3 * d + i]);
        }
    }

    @Test
    void partialCombineLeavesOnlyThePresentContributions() {
        // Given tokens routed to experts 0, 1 and 2, and no result from expert 1
        int d = 3;
        List<List<Integer>> tokenExperts = List.of(List.of(1, 0), List.of(1), List.of(2, 1, 0), List.of(0, 2));
        Map<Integer, Map<Integer, float[]>> all = randomRows(tokenExperts, d, 7);
        Map<Integer, Map<Integer, float[]>> present = new HashMap<>(all);
        present.remove(1);
        DispatchManifest m = manifest("r", d, tokenExperts);

        // When only the present results are combined
        float[] out = Combine.sum(m, results("r", d, present));

        // Then each token sums exactly its present contributions; the token served only by expert 1 is zero
        assertArrayEquals(naiveRankOrderSum(d, tokenExperts, present), out);
        assertArrayEquals(new float[d], Arrays.copyOfRange(out, d, 2 * d));
        assertArrayEquals(all.get(0).get(0), Arrays.copyOfRange(out, 0, d));
    }

    @Test
    void requestWithoutExpertsCombinesToZeros() {
        // Given a request whose every token was dropped
        int d = 4;
        DispatchManifest m = manifest("r", d, List.of(List.of(), List.of()));

        // When nothing is combined
        float[] out = Combine.sum(m, List.of());

        // Then the output is all zeros of shape [2, 4]
        assertArrayEquals(new float[2 * d], out);
    }

    @Test
    void resultRowsAreMatchedByPositionNotByOrderOfArrival() {
        // Given expert 0 serving positions 1 and 3 (rows 0 and 1 of its output) and expert 1 serving position 3
        int d = 2;
        List<List<Integer>> tokenExperts = List.of(List.of(), List.of(0), List.of(), List.of(1, 0));
        Map<Integer, Map<Integer, float[]>> rows = new HashMap<>();
        rows.put(0, rowsOf(d, new int[] {1}, 2f));
        rows.get(0).put(3, new float[] {5f, 6f});
        rows.put(1, rowsOf(d, new int[] {3}, 10f));
        DispatchManifest m = manifest("r", d, tokenExperts);

        // When combined
        float[] out = Combine.sum(m, results("r", d, rows));

        // Then position 1 holds expert 0's first row and position 3 the sum of expert 1 and expert 0's second row
        assertArrayEquals(new float[] {0f, 0f, 2f, 2f, 0f, 0f, 15f, 16f}, out);
    }

    // ---------------------------------------------------------------------------------------------
    // timer keys

    @Test
    void timerKeysSortByTimeAcrossByteBoundaries() {
        // Given times straddling every byte boundary of a long, plus realistic epoch milliseconds,
        // with ids of different lengths and different kinds so neither can dominate the order
        long[] times = {
            0L,
            1L,
            255L,
            256L,
            257L,
            65_535L,
            65_536L,
            16_777_215L,
            16_777_216L,
            2_147_483_647L,
            2_147_483_648L,
            4_294_967_295L,
            4_294_967_296L,
            1L << 40,
            1_700_000_000_000L,
            1_700_000_000_001L,
            (1L << 48) - 1,
            1L << 48,
            Long.MAX_VALUE / 4
        };
        long[] ascending = times.clone();
        Arrays.sort(ascending);
        byte[] kinds = {CombinerKeys.DEADLINE, CombinerKeys.PURGE_DONE, CombinerKeys.PURGE_ORPHANS};
        List<Bytes> keys = new ArrayList<>();
        for (int i = times.length - 1; i >= 0; i--) {
            String id = "z".repeat(times.length - i) + (char) ('a' + i % 26);
            keys.add(CombinerKeys.timer(times[i], kinds[i % kinds.length], id));
        }

        // When the keys are sorted the way the store orders them (unsigned lexicographic bytes)
        Collections.sort(keys);

        // Then they come out in ascending time, and each decodes to its time
        for (int i = 0; i < times.length; i++) {
            assertEquals(ascending[i], CombinerKeys.timerTime(keys.get(i)), "position " + i);
        }
    }

    @Test
    void timerKeyOfTheSameTimeOrdersByKindThenId() {
        // Given two timers at the same instant
        Bytes a = CombinerKeys.timer(500, CombinerKeys.DEADLINE, "req-a");
        Bytes b = CombinerKeys.timer(500, CombinerKeys.DEADLINE, "req-b");
        Bytes earlierLongId = CombinerKeys.timer(499, CombinerKeys.DEADLINE, "zzzzzzzzzzzz");

        // When compared
        // Then the earlier time wins regardless of id, and equal times fall back to the id
        assertTrue(earlierLongId.compareTo(a) < 0);
        assertTrue(a.compareTo(b) < 0);
        assertFalse(a.equals(b));
        assertEquals(a, CombinerKeys.timer(500, CombinerKeys.DEADLINE, "req-a"));
    }

    @Test
    void timerKeyCarriesKindAfterTheTimeAndTheIdAfterThat() {
        // Given a key
        Bytes key = CombinerKeys.timer(0x0102030405060708L, CombinerKeys.PURGE_DONE, "ü1");

        // When its bytes are read
        byte[] b = key.get();

        // Then they are: 8 bytes big-endian time, the kind byte, the UTF-8 id
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 'P', (byte) 0xC3, (byte) 0xBC, '1'}, b);
    }

    @Test
    void negativeTimesClampToZeroSoTheyStillSortFirst() {
        // Given a negative time (a deadline before the epoch) and time zero
        Bytes negative = CombinerKeys.timer(-5, CombinerKeys.DEADLINE, "a");
        Bytes zero = CombinerKeys.timer(1, CombinerKeys.DEADLINE, "a");

        // When decoded and compared
        // Then the negative one reads as 0 and sorts before 1 (a raw two's-complement negative would sort last)
        assertEquals(0, CombinerKeys.timerTime(negative));
        assertTrue(negative.compareTo(zero) < 0);
    }

    @Test
    void resultKeysOfOneRequestShareItsPrefixAndNoOtherRequests() {
        // Given result keys of requests "a" and "ab"
        String a3 = CombinerKeys.result("a", 3);
        String a12 = CombinerKeys.result("a", 12);
        String ab3 = CombinerKeys.result("ab", 3);

        // When checked against the prefix the orphan purge scans
        String prefix = "a\u0000";

        // Then only request "a"'s keys match, and experts sort numerically
        assertTrue(a3.startsWith(prefix));
        assertTrue(a12.startsWith(prefix));
        assertFalse(ab3.startsWith(prefix));
        assertTrue(a3.compareTo(a12) < 0);
    }

    @Test
    void arrivalBitsHoldEveryExpertIdIndependently() {
        // Given experts 0, 7, 8 and 300 marked as arrived (across byte boundaries)
        byte[] bits = null;
        for (int e : new int[] {0, 7, 8, 300}) {
            bits = ArrivalBits.set(bits, e);
        }

        // Then exactly those are set, and clearing one leaves the others
        for (int e = 0; e < 320; e++) {
            boolean expected = e == 0 || e == 7 || e == 8 || e == 300;
            Assertions.assertEquals(expected, ArrivalBits.isSet(bits, e), "expert " + e);
        }
        byte[] cleared = ArrivalBits.clear(bits, 8);
        Assertions.assertFalse(ArrivalBits.isSet(cleared, 8));
        Assertions.assertTrue(ArrivalBits.isSet(cleared, 7));
        Assertions.assertTrue(ArrivalBits.isSet(bits, 8), "set/clear never mutate their input");
        Assertions.assertFalse(ArrivalBits.isSet(null, 0));
    }

    // ---------------------------------------------------------------------------------------------
    // shared experts

    private static ExpertResult result(String id, int wireId, List<Integer> positions, float[] data, int d) {
        return ExpertResult.newBuilder()
                .setRequestId(id)
                .setExpert(wireId)
                .setAttempt(0)
                .setPositions(positions)
                .setOutput(Tensors.f32(data, positions.size(), d))
                .setWorkerId("w")
                .build();
    }

    @Test
    void sharedExpertsAreAddedAfterTheRoutedOnesInTheManifestsOrder() {
        // Given 4 routed experts, two shared experts (wire ids 4 and 5) listed in the order 5, 4, and one token
        // whose contributions cancel catastrophically, so any other order gives another float
        DispatchManifest m = DispatchManifest.newBuilder(manifest("r", 1, List.of(List.of(2))))
                .setExperts(List.of(2, 4, 5))
                .setSharedExperts(List.of(5, 4))
                .build();
        List<ExpertResult> got = List.of(
                result("r", 4, List.of(0), new float[] {1.0f}, 1),
                result("r", 2, List.of(0), new float[] {1e8f}, 1),
                result("r", 5, List.of(0), new float[] {-1e8f}, 1));

        // When combined
        float[] out = Combine.sum(m, got);

        // Then ((0 + routed 2) + shared 5) + shared 4 = 1, which the other orders do not give
        float expected = ((0.0f + 1e8f) + -1e8f) + 1.0f;
        assertEquals(1.0f, expected);
        assertEquals(expected, out[0]);
        assertFalse(((0.0f + 1e8f) + 1.0f) + -1e8f == out[0], "the ascending shared order would differ");
    }

    @Test
    void aSharedExpertsResultMustCoverEveryPositionOfTheSequence() {
        // Given a 3-token request whose shared expert has wire id 4
        DispatchManifest m = DispatchManifest.newBuilder(manifest("r", 2, List.of(List.of(0), List.of(1), List.of(0))))
                .setExperts(List.of(0, 1, 4))
                .setSharedExperts(List.of(4))
                .build();

        // Then its result fits only with all three positions, even those no routed expert shares
        assertTrue(Combine.matches(m, result("r", 4, List.of(0, 1, 2), new float[6], 2)));
        assertFalse(Combine.matches(m, result("r", 4, List.of(0, 2), new float[4], 2)));
        assertEquals(List.of(0, 1, 2), Combine.expectedPositions(m, 4));
        assertEquals(List.of(0, 2), Combine.expectedPositions(m, 0));
    }
}

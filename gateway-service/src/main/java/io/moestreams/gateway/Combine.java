package io.moestreams.gateway;

import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.ExpertResult;
import io.moestreams.schemas.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The combiner's arithmetic, free of Kafka Streams: which result fits a manifest, and the sum that turns the
 * results of a request into its output — the in-process reference layer's order exactly (docs/architecture.md,
 * "Combining"): per position start from 0.0f, add the routed contributions in the token's rank order, then each
 * shared expert's in the manifest's {@code sharedExperts} order, one F32 addition each. Contributions arrive already
 * multiplied by their gate weights.
 */
final class Combine {

    private Combine() {}

    /** The positions the manifest sent to {@code wireId}: every position for a shared expert. */
    static List<Integer> expectedPositions(DispatchManifest m, int wireId) {
        List<Integer> expected = new ArrayList<>();
        boolean shared = m.getSharedExperts().contains(wireId);
        List<List<Integer>> tokenExperts = m.getTokenExperts();
        for (int t = 0; t < m.getSeqLen(); t++) {
            if (shared || tokenExperts.get(t).contains(wireId)) {
                expected.add(t);
            }
        }
        return expected;
    }

    /** The result carries exactly the positions the manifest sent to its expert, as [n, hiddenSize] rows. */
    static boolean matches(DispatchManifest m, ExpertResult r) {
        List<Integer> expected = expectedPositions(m, r.getExpert());
        if (!expected.equals(r.getPositions())) {
            return false;
        }
        try {
            Tensors.validate(r.getOutput(), "output");
            int[] shape = Tensors.shape(r.getOutput());
            return shape.length == 2 && shape[0] == expected.size() && shape[1] == m.getHiddenSize();
        } catch (IllegalArgumentException ex) {
            return false;
        }
    }

    /**
     * The output [seqLen, hiddenSize] from the results present ({@code got} may miss some experts: PARTIAL, whose
     * contributions are then skipped).
     */
    static float[] sum(DispatchManifest m, List<ExpertResult> got) {
        int s = m.getSeqLen();
        int d = m.getHiddenSize();
        float[] out = new float[s * d];
        int maxId = -1;
        for (ExpertResult r : got) {
            maxId = Math.max(maxId, r.getExpert());
        }
        float[][] outputs = new float[maxId + 1][];
        int[][] rowOf = new int[maxId + 1][];
        for (ExpertResult r : got) {
            int e = r.getExpert();
            outputs[e] = Tensors.toFloats(r.getOutput());
            int[] rows = new int[s];
            Arrays.fill(rows, -1);
            List<Integer> positions = r.getPositions();
            for (int i = 0; i < positions.size(); i++) {
                int t = positions.get(i);
                if (t >= 0 && t < s) {
                    rows[t] = i;
                }
            }
            rowOf[e] = rows;
        }
        List<List<Integer>> tokenExperts = m.getTokenExperts();
        List<Integer> shared = m.getSharedExperts();
        for (int t = 0; t < s; t++) {
            int base = t * d;
            for (int e : tokenExperts.get(t)) {
                add(out, base, d, e, t, outputs, rowOf);
            }
            for (int e : shared) {
                add(out, base, d, e, t, outputs, rowOf);
            }
        }
        return out;
    }

    private static void add(float[] out, int base, int d, int e, int t, float[][] outputs, int[][] rowOf) {
        if (e >= outputs.length || outputs[e] == null || rowOf[e][t] < 0) {
            return; // missing contribution (PARTIAL)
        }
        float[] src = outputs[e];
        int off = rowOf[e][t] * d;
        for (int i = 0; i < d; i++) {
            out[base + i] += src[off + i];
        }
    }
}

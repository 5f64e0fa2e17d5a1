package io.moestreams.cli;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.routing.Assignment;
import io.moestreams.core.routing.CapacityPlanner;
import java.util.List;

/**
 * The whole layer in-process over many requests at once, the way an expert worker batches: route every request,
 * gather each expert's rows across requests, run the expert once per chunk of {@code maxBatchRows}, scatter the
 * gate-weighted rows back. The benchmarks' yardstick for what the pipeline's compute could reach on these cores.
 */
final class BatchedLayer {

    /** One request's tokens: row-major [seqLen, hidden]. */
    record Tokens(String id, float[] rows, int seqLen) {}

    private BatchedLayer() {}

    /** Runs the layer over {@code requests}; returns the outputs (row-major, one array per request). */
    static float[][] run(MoeModel model, List<Tokens> requests, int maxBatchRows) {
        MoeConfig config = model.config();
        int d = config.hiddenSize();
        int numExperts = config.numExperts();
        int n = requests.size();
        Assignment[] assignments = new Assignment[n];
        int[] rowsPerExpert = new int[numExperts];
        for (int r = 0; r < n; r++) {
            Tokens t = requests.get(r);
            assignments[r] = CapacityPlanner.plan(model.router().route(t.id(), t.rows(), t.seqLen()), config);
            int[] perExpert = assignments[r].tokensPerExpert(numExperts);
            for (int e = 0; e < numExperts; e++) {
                rowsPerExpert[e] += perExpert[e];
            }
        }
        float[][] outputs = new float[n][];
        for (int r = 0; r < n; r++) {
            outputs[r] = new float[requests.get(r).seqLen() * d];
        }
        float[] in = new float[maxBatchRows * d];
        float[] out = new float[maxBatchRows * d];
        float[] scale = new float[maxBatchRows];
        int[] ownerRequest = new int[maxBatchRows];
        int[] ownerPosition = new int[maxBatchRows];
        for (int e = 0; e < numExperts; e++) {
            if (rowsPerExpert[e] == 0) {
                continue;
            }
            int filled = 0;
            for (int r = 0; r < n; r++) {
                Assignment a = assignments[r];
                float[] src = requests.get(r).rows();
                for (int t = 0; t < a.seqLen(); t++) {
                    int[] experts = a.experts()[t];
                    for (int j = 0; j < experts.length; j++) {
                        if (experts[j] != e) {
                            continue;
                        }
                        System.arraycopy(src, t * d, in, filled * d, d);
                        scale[filled] = a.weights()[t][j];
                        ownerRequest[filled] = r;
                        ownerPosition[filled] = t;
                        if (++filled == maxBatchRows) {
                            forward(model, e, in, filled, scale, out, outputs, ownerRequest, ownerPosition, d);
                            filled = 0;
                        }
                    }
                }
            }
            if (filled > 0) {
                forward(model, e, in, filled, scale, out, outputs, ownerRequest, ownerPosition, d);
            }
        }
        return outputs;
    }

    private static void forward(
            MoeModel model,
            int expert,
            float[] in,
            int rows,
            float[] scale,
            float[] out,
            float[][] outputs,
            int[] ownerRequest,
            int[] ownerPosition,
            int d) {
        model.expert(expert).forward(in, rows, scale, out);
        for (int i = 0; i < rows; i++) {
            float[] dst = outputs[ownerRequest[i]];
            int base = ownerPosition[i] * d;
            int src = i * d;
            for (int k = 0; k < d; k++) {
                dst[base + k] += out[src + k];
            }
        }
    }
}

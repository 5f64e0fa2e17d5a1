package io.moestreams.gateway;

import io.moestreams.avro.ExpertLoad;
import io.moestreams.core.routing.Assignment;
import io.moestreams.core.routing.RouterOutput;
import io.moestreams.schemas.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The routing load of one wall-clock window, accumulated sequence by sequence: tokens and blocks per dispatch target,
 * and per routed expert the top-1 counts and summed probabilities of {@code BalanceMetrics} (Switch's f_i and P_i),
 * so the window's CV² and auxiliary loss follow without keeping the router outputs. Thread-safe.
 */
final class LoadWindow {

    private final int numExperts;
    private final int numShared;
    private final long startMs;
    private final long endMs;
    private long sequences;
    private long tokens;
    private long dropped;
    private final long[] expertTokens;
    private final long[] expertBlocks;
    private final long[] top1;
    private final double[] importance;

    LoadWindow(int numExperts, int numShared, long startMs, long endMs) {
        this.numExperts = numExperts;
        this.numShared = numShared;
        this.startMs = startMs;
        this.endMs = endMs;
        this.expertTokens = new long[numExperts + numShared];
        this.expertBlocks = new long[numExperts + numShared];
        this.top1 = new long[numExperts];
        this.importance = new double[numExperts];
    }

    long startMs() {
        return startMs;
    }

    long endMs() {
        return endMs;
    }

    synchronized void add(RouterOutput out, Assignment a) {
        int s = out.seqLen();
        sequences++;
        tokens += s;
        dropped += a.dropped().length;
        int[] perExpert = a.tokensPerExpert(numExperts);
        for (int e = 0; e < numExperts; e++) {
            if (perExpert[e] > 0) {
                expertTokens[e] += perExpert[e];
                expertBlocks[e]++;
            }
        }
        for (int j = 0; j < Math.min(numShared, a.numShared()); j++) {
            expertTokens[numExperts + j] += s;
            expertBlocks[numExperts + j]++;
        }
        float[] probs = out.probs();
        for (int t = 0; t < s; t++) {
            int best = 0;
            for (int e = 0; e < numExperts; e++) {
                float p = probs[t * numExperts + e];
                importance[e] += p;
                if (p > probs[t * numExperts + best]) {
                    best = e;
                }
            }
            int[] choices = out.choices()[t];
            top1[!out.final_() && choices.length > 0 ? choices[0] : best]++;
        }
    }

    synchronized long tokens() {
        return tokens;
    }

    /** CV² of the tokens per routed expert (population variance / mean², 0 when nothing was routed). */
    synchronized double loadCv2() {
        return cv2(Arrays.copyOf(expertTokens, numExperts));
    }

    /** E · Σ f_i · P_i over the window (1.0 under perfect balance; 0 for an empty window). */
    synchronized double auxLoss() {
        return auxLoss(top1, importance, tokens);
    }

    synchronized double dropRate() {
        return tokens == 0 ? 0.0 : (double) dropped / tokens;
    }

    synchronized long expertTokens(int wireId) {
        return expertTokens[wireId];
    }

    synchronized ExpertLoad toRecord(String layer, String instance, boolean closed, long throttledMs) {
        float[] imp = new float[numExperts];
        for (int e = 0; e < numExperts; e++) {
            imp[e] = (float) importance[e];
        }
        return ExpertLoad.newBuilder()
                .setLayer(layer)
                .setInstance(instance)
                .setWindowStartMs(startMs)
                .setWindowEndMs(endMs)
                .setClosed(closed)
                .setNumExperts(numExperts)
                .setNumShared(numShared)
                .setSequences(sequences)
                .setTokens(tokens)
                .setDroppedTokens(dropped)
                .setExpertTokens(longs(expertTokens))
                .setExpertBlocks(longs(expertBlocks))
                .setTop1(longs(top1))
                .setImportance(Tensors.f32(imp, numExperts))
                .setThrottledMs(throttledMs)
                .build();
    }

    private static List<Long> longs(long[] v) {
        List<Long> l = new ArrayList<>(v.length);
        for (long x : v) {
            l.add(x);
        }
        return l;
    }

    /** Squared coefficient of variation of counts: population variance / mean², 0 when the mean is 0. */
    static double cv2(long[] values) {
        double mean = 0;
        for (long v : values) {
            mean += v;
        }
        mean /= values.length;
        if (mean == 0) {
            return 0;
        }
        double var = 0;
        for (long v : values) {
            var += (v - mean) * (v - mean);
        }
        return var / values.length / (mean * mean);
    }

    /** Switch's E · Σ_i (top1_i / T) · (importance_i / T); 0 when T is 0. */
    static double auxLoss(long[] top1, double[] importance, long tokens) {
        if (tokens == 0) {
            return 0;
        }
        double aux = 0;
        for (int e = 0; e < top1.length; e++) {
            aux += ((double) top1[e] / tokens) * (importance[e] / tokens);
        }
        return aux * top1.length;
    }
}

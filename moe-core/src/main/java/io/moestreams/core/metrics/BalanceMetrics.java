package io.moestreams.core.metrics;

import io.moestreams.core.routing.Assignment;
import io.moestreams.core.routing.RouterOutput;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Load-balance figures of a batch of routed sequences.
 *
 * @param numExperts      E
 * @param sequences       number of sequences in the batch
 * @param tokens          total tokens T over the batch
 * @param droppedTokens   tokens with no expert after capacity ({@link Assignment#dropped()})
 * @param tokensPerExpert per expert, the (token, expert) assignments it serves after capacity
 * @param importanceCv2   CV² of importance_e = Σ_tokens p_e (population variance / mean², 0 when the mean is 0)
 * @param loadCv2         CV² of {@code tokensPerExpert} (population variance / mean², 0 when the mean is 0)
 * @param auxLoss         Switch load-balancing loss E·Σ_i f_i·P_i without the α coefficient: f_i = fraction of
 *                        tokens whose top-1 choice before capacity is i, P_i = mean p_i. 1.0 under perfect balance
 * @param zLoss           router z-loss: mean over tokens of (logsumexp z)²
 * @param dropRate        droppedTokens / tokens (0 for an empty batch)
 */
public record BalanceMetrics(
        int numExperts,
        int sequences,
        long tokens,
        long droppedTokens,
        long[] tokensPerExpert,
        double importanceCv2,
        double loadCv2,
        double auxLoss,
        double zLoss,
        double dropRate) {

    public BalanceMetrics {
        if (numExperts < 1) {
            throw new IllegalArgumentException("numExperts: expected >= 1, found " + numExperts);
        }
        Objects.requireNonNull(tokensPerExpert, "tokensPerExpert");
        if (tokensPerExpert.length != numExperts) {
            throw new IllegalArgumentException(
                    "tokensPerExpert: expected " + numExperts + " entries, found " + tokensPerExpert.length);
        }
        if (tokens < 0 || droppedTokens < 0 || droppedTokens > tokens) {
            throw new IllegalArgumentException(
                    "droppedTokens: expected in [0, tokens=" + tokens + "], found " + droppedTokens);
        }
        tokensPerExpert = tokensPerExpert.clone();
    }

    /**
     * Computes the metrics of a batch; {@code outputs.get(i)} and {@code assignments.get(i)} describe sequence i.
     * The top-1 choice before capacity is {@code choices[t][0]} of a token-choice router output, and argmax p
     * (ties to the lower index) for a final (expert-choice) output or a token without choices.
     */
    public static BalanceMetrics of(List<RouterOutput> outputs, List<Assignment> assignments, int numExperts) {
        Objects.requireNonNull(outputs, "outputs");
        Objects.requireNonNull(assignments, "assignments");
        if (outputs.size() != assignments.size()) {
            throw new IllegalArgumentException("assignments: expected one per router output (" + outputs.size()
                    + "), found " + assignments.size());
        }
        if (numExperts < 1) {
            throw new IllegalArgumentException("numExperts: expected >= 1, found " + numExperts);
        }
        int e = numExperts;
        long tokens = 0;
        long dropped = 0;
        long[] load = new long[e];
        double[] importance = new double[e];
        long[] top1 = new long[e];
        double zSquares = 0.0;
        for (int i = 0; i < outputs.size(); i++) {
            RouterOutput out = outputs.get(i);
            Assignment a = assignments.get(i);
            if (out.numExperts() != e) {
                throw new IllegalArgumentException(
                        "outputs[" + i + "].numExperts: expected " + e + ", found " + out.numExperts());
            }
            if (a.seqLen() != out.seqLen()) {
                throw new IllegalArgumentException(
                        "assignments[" + i + "].seqLen: expected " + out.seqLen() + ", found " + a.seqLen());
            }
            int s = out.seqLen();
            tokens += s;
            dropped += a.dropped().length;
            int[] perExpert = a.tokensPerExpert(e);
            for (int x = 0; x < e; x++) {
                load[x] += perExpert[x];
            }
            float[] probs = out.probs();
            float[] logits = out.logits();
            for (int t = 0; t < s; t++) {
                int best = 0;
                double sumExp = 0.0;
                double maxZ = Double.NEGATIVE_INFINITY;
                for (int x = 0; x < e; x++) {
                    float p = probs[t * e + x];
                    importance[x] += p;
                    if (p > probs[t * e + best]) {
                        best = x;
                    }
                    maxZ = Math.max(maxZ, logits[t * e + x]);
                }
                int[] choices = out.choices()[t];
                top1[!out.final_() && choices.length > 0 ? choices[0] : best]++;
                for (int x = 0; x < e; x++) {
                    sumExp += StrictMath.exp(logits[t * e + x] - maxZ);
                }
                double lse = maxZ + StrictMath.log(sumExp);
                zSquares += lse * lse;
            }
        }
        double aux = 0.0;
        if (tokens > 0) {
            for (int x = 0; x < e; x++) {
                aux += ((double) top1[x] / tokens) * (importance[x] / tokens);
            }
            aux *= e;
        }
        double[] loadD = new double[e];
        for (int x = 0; x < e; x++) {
            loadD[x] = load[x];
        }
        return new BalanceMetrics(
                e,
                outputs.size(),
                tokens,
                dropped,
                load,
                cv2(importance),
                cv2(loadD),
                aux,
                tokens > 0 ? zSquares / tokens : 0.0,
                tokens > 0 ? (double) dropped / tokens : 0.0);
    }

    /** Metrics of a single sequence. */
    public static BalanceMetrics of(RouterOutput output, Assignment assignment, int numExperts) {
        return of(List.of(output), List.of(assignment), numExperts);
    }

    /** Squared coefficient of variation: population variance / mean², 0 when the mean is 0. */
    static double cv2(double[] values) {
        double mean = 0.0;
        for (double v : values) {
            mean += v;
        }
        mean /= values.length;
        if (mean == 0.0) {
            return 0.0;
        }
        double var = 0.0;
        for (double v : values) {
            var += (v - mean) * (v - mean);
        }
        var /= values.length;
        return var / (mean * mean);
    }

    @Override
    public long[] tokensPerExpert() {
        return tokensPerExpert.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BalanceMetrics m
                && numExperts == m.numExperts
                && sequences == m.sequences
                && tokens == m.tokens
                && droppedTokens == m.droppedTokens
                && Arrays.equals(tokensPerExpert, m.tokensPerExpert)
                && Double.compare(importanceCv2, m.importanceCv2) == 0
                && Double.compare(loadCv2, m.loadCv2) == 0
                && Double.compare(auxLoss, m.auxLoss) == 0
                && Double.compare(zLoss, m.zLoss) == 0
                && Double.compare(dropRate, m.dropRate) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(
                numExperts,
                sequences,
                tokens,
                droppedTokens,
                Arrays.hashCode(tokensPerExpert),
                importanceCv2,
                loadCv2,
                auxLoss,
                zLoss,
                dropRate);
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "BalanceMetrics[experts=%d, sequences=%d, tokens=%d, dropped=%d, dropRate=%.4f, importanceCv2=%.4f,"
                        + " loadCv2=%.4f, auxLoss=%.4f, zLoss=%.4f]",
                numExperts,
                sequences,
                tokens,
                droppedTokens,
                dropRate,
                importanceCv2,
                loadCv2,
                auxLoss,
                zLoss);
    }
}

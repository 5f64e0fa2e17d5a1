package io.moestreams.core.routing;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.Overflow;
import io.moestreams.core.config.RouterType;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * An independent, deliberately plain reference of docs/architecture.md "Routing" and "Capacity and overflow" for the tests:
 * double precision, plain loops and sorts, no production helpers (only {@link SeededRandom} to obtain the same
 * random draws).
 */
final class NaiveRouting {

    /** A naive routing decision for one sequence. */
    static final class Decision {
        final double[][] logits;
        final double[][] probs;
        final int[][] choices;
        final double[][] weights;

        Decision(double[][] logits, double[][] probs, int[][] choices, double[][] weights) {
            this.logits = logits;
            this.probs = probs;
            this.choices = choices;
            this.weights = weights;
        }
    }

    /** A naive assignment after capacity. */
    static final class Plan {
        final int[][] experts;
        final double[][] weights;
        final List<Integer> dropped;
        final int capacity;

        Plan(int[][] experts, double[][] weights, List<Integer> dropped, int capacity) {
            this.experts = experts;
            this.weights = weights;
            this.dropped = dropped;
            this.capacity = capacity;
        }
    }

    private NaiveRouting() {}

    static float[] randomMatrix(Random random, int rows, int cols, double scale) {
        float[] m = new float[rows * cols];
        for (int i = 0; i < m.length; i++) {
            m[i] = (float) (random.nextGaussian() * scale);
        }
        return m;
    }

    /** z[t][e] = Σ_j W[e][j]·x[t][j] in double, then rounded to float as the design says. */
    static double[][] logits(float[] w, int numExperts, int d, float[] hidden, int seqLen) {
        double[][] z = new double[seqLen][numExperts];
        for (int t = 0; t < seqLen; t++) {
            for (int e = 0; e < numExperts; e++) {
                double sum = 0;
                for (int j = 0; j < d; j++) {
                    sum += (double) w[e * d + j] * (double) hidden[t * d + j];
                }
                z[t][e] = (float) sum;
            }
        }
        return z;
    }

    static double[] softmax(double[] v) {
        double max = v[0];
        for (double x : v) {
            if (x > max) {
                max = x;
            }
        }
        double total = 0;
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Math.exp(v[i] - max);
            total += out[i];
        }
        for (int i = 0; i < v.length; i++) {
            out[i] = out[i] / total;
        }
        return out;
    }

    /** Indices sorted by value descending, ties to the lower index; the first k. */
    static int[] topK(double[] v, int k) {
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < v.length; i++) {
            idx.add(i);
        }
        idx.sort(Comparator.<Integer>comparingDouble(i -> -v[i]).thenComparingInt(i -> i));
        int[] out = new int[Math.min(k, v.length)];
        for (int i = 0; i < out.length; i++) {
            out[i] = idx.get(i);
        }
        return out;
    }

    /** Naive C = ceil(cf·k·S/E) in exact decimal arithmetic on the configured factor. */
    static int capacity(double capacityFactor, int k, int seqLen, int numExperts) {
        return BigDecimal.valueOf(capacityFactor)
                .multiply(BigDecimal.valueOf((long) k * seqLen))
                .divide(BigDecimal.valueOf(numExperts), 0, RoundingMode.CEILING)
                .intValueExact();
    }

    static boolean limited(MoeConfig config) {
        return config.capacityFactor() != null && config.capacityFactor() > 0;
    }

    /** Routes one sequence as docs/architecture.md describes. */
    static Decision route(MoeConfig config, float[] gate, float[] noise, String requestId, float[] hidden, int seqLen) {
        int numExperts = config.numExperts();
        int d = config.hiddenSize();
        int k = config.router().topK();
        double[][] z = logits(gate, numExperts, d, hidden, seqLen);
        double[][] p = new double[seqLen][];
        int[][] choices = new int[seqLen][];
        double[][] weights = new double[seqLen][];
        RouterType type = config.router().type();
        for (int t = 0; t < seqLen; t++) {
            p[t] = softmax(z[t]);
        }
        if (type == RouterType.EXPERT_CHOICE) {
            return expertChoice(config, z, p, seqLen);
        }
        for (int t = 0; t < seqLen; t++) {
            switch (type) {
                case TOPK_SOFTMAX -> {
                    int[] sel = topK(p[t], k);
                    double sum = 0;
                    for (int e : sel) {
                        sum += p[t][e];
                    }
                    double[] w = new double[sel.length];
                    for (int i = 0; i < sel.length; i++) {
                        w[i] = config.router().normalize() ? p[t][sel[i]] / sum : p[t][sel[i]];
                    }
                    choices[t] = sel;
                    weights[t] = w;
                }
                case SWITCH -> {
                    int best = 0;
                    for (int e = 1; e < numExperts; e++) {
                        if (p[t][e] > p[t][best]) {
                            best = e;
                        }
                    }
                    choices[t] = new int[] {best};
                    weights[t] = new double[] {p[t][best]};
                }
                case NOISY_TOPK -> {
                    double[] h = z[t].clone();
                    if (config.router().noise()) {
                        SeededRandom rng = SeededRandom.forToken(config.seed(), requestId, t);
                        for (int e = 0; e < numExperts; e++) {
                            double a = 0;
                            for (int j = 0; j < d; j++) {
                                a += (double) noise[e * d + j] * hidden[t * d + j];
                            }
                            double softplus = Math.log(1 + Math.exp(a));
                            h[e] = z[t][e] + rng.nextGaussian() * (softplus + 0.01);
                        }
                    }
                    p[t] = softmax(h);
                    int[] sel = topK(h, k);
                    double[] keptH = new double[sel.length];
                    for (int i = 0; i < sel.length; i++) {
                        keptH[i] = h[sel[i]];
                    }
                    choices[t] = sel;
                    weights[t] = softmax(keptH);
                }
                case GSHARD_TOP2 -> {
                    int[] sel = topK(p[t], 2);
                    double g1 = p[t][sel[0]] / (p[t][sel[0]] + p[t][sel[1]]);
                    double g2 = p[t][sel[1]] / (p[t][sel[0]] + p[t][sel[1]]);
                    boolean second = true;
                    if (config.router().randomRouting()) {
                        double u = SeededRandom.forToken(config.seed(), requestId, t)
                                .nextDouble();
                        second = 2 * g2 > u;
                    }
                    choices[t] = second ? sel : new int[] {sel[0]};
                    weights[t] = second ? new double[] {g1, g2} : new double[] {g1};
                }
                default -> throw new IllegalStateException(type.toString());
            }
        }
        return new Decision(z, p, choices, weights);
    }

    private static Decision expertChoice(MoeConfig config, double[][] z, double[][] p, int seqLen) {
        int numExperts = config.numExperts();
        int c = limited(config)
                ? Math.min(
                        seqLen,
                        capacity(config.capacityFactor(), config.router().topK(), seqLen, numExperts))
                : seqLen;
        boolean[][] took = new boolean[numExperts][seqLen];
        for (int e = 0; e < numExperts; e++) {
            final int expert = e;
            List<Integer> positions = new ArrayList<>();
            for (int t = 0; t < seqLen; t++) {
                positions.add(t);
            }
            positions.sort(
                    Comparator.<Integer>comparingDouble(t -> -p[t][expert]).thenComparingInt(t -> t));
            for (int i = 0; i < c; i++) {
                took[e][positions.get(i)] = true;
            }
        }
        int[][] choices = new int[seqLen][];
        double[][] weights = new double[seqLen][];
        for (int t = 0; t < seqLen; t++) {
            final int pos = t;
            List<Integer> experts = new ArrayList<>();
            for (int e = 0; e < numExperts; e++) {
                if (took[e][t]) {
                    experts.add(e);
                }
            }
            experts.sort(Comparator.<Integer>comparingDouble(e -> -p[pos][e]).thenComparingInt(e -> e));
            choices[t] = experts.stream().mapToInt(Integer::intValue).toArray();
            weights[t] = experts.stream().mapToDouble(e -> p[pos][e]).toArray();
        }
        return new Decision(z, p, choices, weights);
    }

    /** Applies capacity to a router output as docs/architecture.md describes (GShard slot order). */
    static Plan plan(RouterOutput out, MoeConfig config) {
        int s = out.seqLen();
        int numExperts = out.numExperts();
        if (out.final_() || !limited(config) || config.overflow() == Overflow.NONE) {
            int[][] experts = new int[s][];
            double[][] weights = new double[s][];
            List<Integer> dropped = new ArrayList<>();
            for (int t = 0; t < s; t++) {
                experts[t] = out.choices()[t].clone();
                weights[t] = new double[experts[t].length];
                for (int j = 0; j < experts[t].length; j++) {
                    weights[t][j] = out.weights()[t][j];
                }
                if (experts[t].length == 0) {
                    dropped.add(t);
                }
            }
            int capacity = -1;
            if (out.final_()) {
                capacity = limited(config)
                        ? Math.min(
                                s,
                                capacity(
                                        config.capacityFactor(), config.router().topK(), s, numExperts))
                        : s;
            }
            return new Plan(experts, weights, dropped, capacity);
        }
        int c = capacity(config.capacityFactor(), config.router().topK(), s, numExperts);
        // every (rank, position) request, sorted: all first choices by position, then all second choices ...
        List<int[]> requests = new ArrayList<>();
        for (int t = 0; t < s; t++) {
            for (int r = 0; r < out.choices()[t].length; r++) {
                requests.add(new int[] {r, t});
            }
        }
        requests.sort(Comparator.<int[]>comparingInt(q -> q[0]).thenComparingInt(q -> q[1]));
        int[] used = new int[numExperts];
        List<List<Integer>> usedByToken = new ArrayList<>();
        List<List<double[]>> kept = new ArrayList<>(); // {rank, expert, weight}
        for (int t = 0; t < s; t++) {
            List<Integer> mine = new ArrayList<>();
            for (int e : out.choices()[t]) {
                mine.add(e);
            }
            usedByToken.add(mine);
            kept.add(new ArrayList<>());
        }
        for (int[] q : requests) {
            int r = q[0];
            int t = q[1];
            int e = out.choices()[t][r];
            if (used[e] < c) {
                used[e]++;
                kept.get(t).add(new double[] {r, e, out.weights()[t][r]});
            } else if (config.overflow() == Overflow.REROUTE) {
                final int pos = t;
                List<Integer> candidates = new ArrayList<>();
                for (int x = 0; x < numExperts; x++) {
                    candidates.add(x);
                }
                candidates.sort(Comparator.<Integer>comparingDouble(x -> -out.probs()[pos * numExperts + x])
                        .thenComparingInt(x -> x));
                for (int x : candidates) {
                    if (!usedByToken.get(t).contains(x) && used[x] < c) {
                        used[x]++;
                        usedByToken.get(t).add(x);
                        kept.get(t).add(new double[] {r, x, out.probs()[t * numExperts + x]});
                        break;
                    }
                }
            }
        }
        int[][] experts = new int[s][];
        double[][] weights = new double[s][];
        List<Integer> dropped = new ArrayList<>();
        for (int t = 0; t < s; t++) {
            List<double[]> mine = kept.get(t);
            mine.sort(Comparator.comparingDouble(v -> v[0]));
            experts[t] = new int[mine.size()];
            weights[t] = new double[mine.size()];
            for (int i = 0; i < mine.size(); i++) {
                experts[t][i] = (int) mine.get(i)[1];
                weights[t][i] = mine.get(i)[2];
            }
            if (mine.isEmpty()) {
                dropped.add(t);
            }
        }
        return new Plan(experts, weights, dropped, c);
    }
}

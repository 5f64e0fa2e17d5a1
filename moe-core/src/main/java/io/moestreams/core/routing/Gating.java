package io.moestreams.core.routing;

/**
 * Numeric building blocks shared by the routers and the capacity planner. {@link StrictMath} is used for
 * {@code exp}/{@code log} so that every JVM computes bit-identical gates (a replay must route identically).
 */
final class Gating {

    /** Guard against float error in the capacity formula, e.g. 1.2·5/2 = 3.0000000000000004 must give 3. */
    static final double CAPACITY_EPSILON = 1e-9;

    private Gating() {}

    /**
     * out[t·rows + r] = (float) Σ_j W[r·d + j] · x[t·d + j], accumulated in double.
     *
     * @param weight row-major [rows, d] (PyTorch [out, in])
     * @param hidden row-major [seqLen, d]
     */
    static float[] project(float[] weight, int rows, int d, float[] hidden, int seqLen) {
        return project(weight, null, rows, d, hidden, seqLen);
    }

    /** As {@link #project(float[], int, int, float[], int)} plus bias[r] (added in double) when bias is not null. */
    static float[] project(float[] weight, float[] bias, int rows, int d, float[] hidden, int seqLen) {
        float[] out = new float[seqLen * rows];
        for (int t = 0; t < seqLen; t++) {
            int xo = t * d;
            for (int r = 0; r < rows; r++) {
                double z = dot(weight, r * d, hidden, xo, d);
                out[t * rows + r] = (float) (bias == null ? z : z + bias[r]);
            }
        }
        return out;
    }

    /** The logistic function in double. */
    static double sigmoid(double a) {
        return a >= 0 ? 1.0 / (1.0 + StrictMath.exp(-a)) : StrictMath.exp(a) / (1.0 + StrictMath.exp(a));
    }

    static double dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        double acc = 0.0;
        for (int j = 0; j < n; j++) {
            acc += (double) a[aOffset + j] * b[bOffset + j];
        }
        return acc;
    }

    /** Stable softmax of values[offset .. offset+n) computed in double. */
    static double[] softmax(float[] values, int offset, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = values[offset + i];
        }
        return softmax(v);
    }

    /** Stable softmax in double (subtracts the maximum). */
    static double[] softmax(double[] values) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : values) {
            max = Math.max(max, v);
        }
        double[] out = new double[values.length];
        double sum = 0.0;
        for (int i = 0; i < values.length; i++) {
            out[i] = StrictMath.exp(values[i] - max);
            sum += out[i];
        }
        for (int i = 0; i < values.length; i++) {
            out[i] /= sum;
        }
        return out;
    }

    /** log Σ exp(values[offset .. offset+n)), stable. */
    static double logSumExp(float[] values, int offset, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, values[offset + i]);
        }
        if (max == Double.NEGATIVE_INFINITY) {
            return max;
        }
        double sum = 0.0;
        for (int i = 0; i < n; i++) {
            sum += StrictMath.exp(values[offset + i] - max);
        }
        return max + StrictMath.log(sum);
    }

    /**
     * Indices of the k largest values in descending order; ties break to the lower index (a later value must be
     * strictly greater to win).
     */
    static int[] topK(double[] values, int k) {
        int n = values.length;
        int[] picked = new int[Math.min(k, n)];
        boolean[] used = new boolean[n];
        for (int r = 0; r < picked.length; r++) {
            int best = -1;
            for (int i = 0; i < n; i++) {
                if (!used[i] && (best < 0 || values[i] > values[best])) {
                    best = i;
                }
            }
            used[best] = true;
            picked[r] = best;
        }
        return picked;
    }

    /** log(1 + e^a) without overflow. */
    static double softplus(double a) {
        return Math.max(a, 0.0) + StrictMath.log1p(StrictMath.exp(-Math.abs(a)));
    }

    /** Writes the doubles as floats into dst[offset ..]. */
    static void store(double[] src, float[] dst, int offset) {
        for (int i = 0; i < src.length; i++) {
            dst[offset + i] = (float) src[i];
        }
    }
}

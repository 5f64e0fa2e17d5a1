package io.moestreams.core.testing;

import io.moestreams.core.config.Activation;
import io.moestreams.core.config.ModelFormat;

/**
 * Independent plain-loop, double-precision implementations used as test oracles. Nothing here calls the code
 * under test.
 */
public final class Naive {

    private Naive() {}

    public static double erf(double x) {
        double t = Math.abs(x);
        double r;
        if (t < 3.0) {
            // Maclaurin series: erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
            double term = t;
            double sum = t;
            double x2 = t * t;
            for (int n = 1; n < 200; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            r = 2.0 / Math.sqrt(Math.PI) * sum;
        } else {
            // continued fraction for erfc
            double f = 0.0;
            for (int k = 80; k >= 1; k--) {
                f = k / 2.0 / (t + f);
            }
            r = 1.0 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
        }
        return x < 0 ? -r : r;
    }

    public static double act(Activation a, double x) {
        return switch (a) {
            case SILU -> x / (1.0 + Math.exp(-x));
            case RELU -> Math.max(0.0, x);
            case GELU -> 0.5 * x * (1.0 + erf(x / Math.sqrt(2.0)));
            case GELU_TANH -> 0.5 * x * (1.0 + Math.tanh(Math.sqrt(2.0 / Math.PI) * (x + 0.044715 * x * x * x)));
        };
    }

    /** y = W x for W row-major [rows, cols]. */
    public static double[] matVec(float[] w, int rows, int cols, double[] x) {
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0.0;
            for (int c = 0; c < cols; c++) {
                s += (double) w[r * cols + c] * x[c];
            }
            y[r] = s;
        }
        return y;
    }

    /** Σ |W_rc x_c| per row: the magnitude scale of the rounding error of W x. */
    public static double[] absMatVec(float[] w, int rows, int cols, double[] x) {
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0.0;
            for (int c = 0; c < cols; c++) {
                s += Math.abs((double) w[r * cols + c] * x[c]);
            }
            y[r] = s;
        }
        return y;
    }

    /** A naive expert with its error scale: value[i] and scale[i] = Σ |terms| of the last product. */
    public record ExpertResult(double[] value, double[] errorScale) {}

    /**
     * Mixtral: w2 · (act(w1 x) ⊙ (w3 x)); switch: w2 · act(w1 x) (w3 ignored, pass null). w1, w3 [f,d]; w2 [d,f].
     */
    public static ExpertResult expert(
            ModelFormat format, Activation a, int d, int f, float[] w1, float[] w3, float[] w2, double[] x) {
        double[] h1 = matVec(w1, f, d, x);
        double[] h1abs = absMatVec(w1, f, d, x);
        double[] g = new double[f];
        double[] gScale = new double[f];
        double[] h3 = format == ModelFormat.MIXTRAL ? matVec(w3, f, d, x) : null;
        double[] h3abs = format == ModelFormat.MIXTRAL ? absMatVec(w3, f, d, x) : null;
        for (int j = 0; j < f; j++) {
            double act = act(a, h1[j]);
            // the activation's input error is at most ~ eps * h1abs; propagate with |act'| <= 1.2 bound
            double actScale = Math.abs(act) + 1.2 * h1abs[j];
            if (format == ModelFormat.MIXTRAL) {
                g[j] = act * h3[j];
                gScale[j] = actScale * (Math.abs(h3[j]) + h3abs[j]);
            } else {
                g[j] = act;
                gScale[j] = actScale;
            }
        }
        double[] y = matVec(w2, d, f, g);
        double[] yScale = absMatVec(w2, d, f, gScale);
        return new ExpertResult(y, yScale);
    }

    public static double[] row(float[] rows, int r, int d) {
        double[] x = new double[d];
        for (int i = 0; i < d; i++) {
            x[i] = rows[r * d + i];
        }
        return x;
    }

    public static double[] softmax(double[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) {
            max = Math.max(max, v);
        }
        double sum = 0.0;
        double[] p = new double[z.length];
        for (int i = 0; i < z.length; i++) {
            p[i] = Math.exp(z[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < z.length; i++) {
            p[i] /= sum;
        }
        return p;
    }
}

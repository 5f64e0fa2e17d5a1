package io.moestreams.core.jsonl;

import io.moestreams.core.routing.Assignment;
import java.util.Arrays;
import java.util.Objects;

/**
 * One output line {@code {"id", "status", "output": [[...]], "experts": [[e,...]], "weights": [[w,...]],
 * "dropped": [...], "error"?, "fingerprint"?}}.
 *
 * @param id         request id
 * @param status     OK, PARTIAL, REJECTED or TIMEOUT
 * @param output     row-major [seqLen, hiddenSize] (empty for a rejected request)
 * @param seqLen     rows of {@code output} (0 when there is no output)
 * @param hiddenSize values per row (0 when there is no output)
 * @param experts    per token, the experts that served it in rank order; one entry per token, or none at all
 * @param weights    per token, the gate weights aligned with {@code experts}
 * @param dropped    positions that no expert served, ascending
 * @param error      the reason for a non-OK status, or null
 * @param fingerprint the fingerprint of the layer that computed it ({@code sha256:...}), or null when unknown
 */
public record ResponseLine(
        String id,
        ResponseStatus status,
        float[] output,
        int seqLen,
        int hiddenSize,
        int[][] experts,
        float[][] weights,
        int[] dropped,
        String error,
        String fingerprint) {

    public ResponseLine {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(status, "status");
        output = output == null ? new float[0] : output;
        experts = experts == null ? new int[0][] : experts;
        weights = weights == null ? new float[0][] : weights;
        dropped = dropped == null ? new int[0] : dropped;
        if (seqLen < 0 || hiddenSize < 0 || (long) seqLen * hiddenSize != output.length) {
            throw new IllegalArgumentException("output: expected seqLen x hiddenSize = " + seqLen + " x " + hiddenSize
                    + " values, found " + output.length);
        }
        if (experts.length != weights.length) {
            throw new IllegalArgumentException("experts/weights: expected the same number of tokens, found "
                    + experts.length + " and " + weights.length);
        }
        for (int t = 0; t < experts.length; t++) {
            if (experts[t] == null || weights[t] == null || experts[t].length != weights[t].length) {
                throw new IllegalArgumentException("experts[" + t + "]/weights[" + t + "]: expected equal lengths");
            }
        }
    }

    /** Without a fingerprint. */
    public ResponseLine(
            String id,
            ResponseStatus status,
            float[] output,
            int seqLen,
            int hiddenSize,
            int[][] experts,
            float[][] weights,
            int[] dropped,
            String error) {
        this(id, status, output, seqLen, hiddenSize, experts, weights, dropped, error, null);
    }

    /** The same line with the given layer fingerprint. */
    public ResponseLine withFingerprint(String layerFingerprint) {
        return new ResponseLine(
                id, status, output, seqLen, hiddenSize, experts, weights, dropped, error, layerFingerprint);
    }

    /**
     * A successful response from a layer's output and its routing after capacity (arrays are copied).
     *
     * @param output row-major [seqLen, hiddenSize]
     */
    public static ResponseLine ok(String id, float[] output, int seqLen, int hiddenSize, Assignment assignment) {
        if (assignment.seqLen() != seqLen) {
            throw new IllegalArgumentException(
                    "assignment: expected seqLen " + seqLen + ", found " + assignment.seqLen());
        }
        int[][] experts = new int[seqLen][];
        float[][] weights = new float[seqLen][];
        for (int t = 0; t < seqLen; t++) {
            experts[t] = assignment.experts()[t].clone();
            weights[t] = assignment.weights()[t].clone();
        }
        return new ResponseLine(
                id,
                ResponseStatus.OK,
                output.clone(),
                seqLen,
                hiddenSize,
                experts,
                weights,
                assignment.dropped().clone(),
                null);
    }

    /** A rejected request: no output, the reason in {@code error}. */
    public static ResponseLine rejected(String id, String error) {
        return new ResponseLine(
                id, ResponseStatus.REJECTED, new float[0], 0, 0, new int[0][], new float[0][], new int[0], error);
    }

    /** Row t of the output (a copy). */
    public float[] outputRow(int t) {
        return Arrays.copyOfRange(output, t * hiddenSize, (t + 1) * hiddenSize);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ResponseLine r
                && id.equals(r.id)
                && status == r.status
                && seqLen == r.seqLen
                && hiddenSize == r.hiddenSize
                && Arrays.equals(output, r.output)
                && Arrays.deepEquals(experts, r.experts)
                && Arrays.deepEquals(weights, r.weights)
                && Arrays.equals(dropped, r.dropped)
                && Objects.equals(error, r.error)
                && Objects.equals(fingerprint, r.fingerprint);
    }

    @Override
    public int hashCode() {
        return Objects.hash(
                id,
                status,
                seqLen,
                hiddenSize,
                Arrays.hashCode(output),
                Arrays.deepHashCode(experts),
                Arrays.deepHashCode(weights),
                Arrays.hashCode(dropped),
                error,
                fingerprint);
    }

    @Override
    public String toString() {
        return "ResponseLine[id=" + id + ", status=" + status + ", seqLen=" + seqLen + ", hiddenSize=" + hiddenSize
                + ", dropped=" + dropped.length + (error == null ? "" : ", error=" + error) + "]";
    }
}

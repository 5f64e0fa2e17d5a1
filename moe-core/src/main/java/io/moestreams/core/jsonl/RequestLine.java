package io.moestreams.core.jsonl;

import java.util.Arrays;
import java.util.Objects;

/**
 * One input line {@code {"id": "r1", "tokens": [[...d floats...], ...]}}.
 *
 * @param id         request id, non-empty
 * @param tokens     row-major [seqLen, hiddenSize] (may contain NaN/Inf if the file spelled them: the layer
 *                   or the gateway rejects those with the position)
 * @param seqLen     number of token rows (0 for {@code "tokens": []}, which the layer rejects as empty)
 * @param hiddenSize values per row (0 when seqLen is 0)
 */
public record RequestLine(String id, float[] tokens, int seqLen, int hiddenSize) {

    public RequestLine {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(tokens, "tokens");
        if (seqLen < 0 || hiddenSize < 0 || (long) seqLen * hiddenSize != tokens.length) {
            throw new IllegalArgumentException("tokens: expected seqLen x hiddenSize = " + seqLen + " x " + hiddenSize
                    + " values, found " + tokens.length);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RequestLine r
                && id.equals(r.id)
                && seqLen == r.seqLen
                && hiddenSize == r.hiddenSize
                && Arrays.equals(tokens, r.tokens);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, seqLen, hiddenSize, Arrays.hashCode(tokens));
    }

    @Override
    public String toString() {
        return "RequestLine[id=" + id + ", seqLen=" + seqLen + ", hiddenSize=" + hiddenSize + "]";
    }
}

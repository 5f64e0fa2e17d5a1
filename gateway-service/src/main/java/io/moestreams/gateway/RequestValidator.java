package io.moestreams.gateway;

import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.Tensor;
import io.moestreams.schemas.Tensors;
import java.util.List;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Checks a decoded request against the model and the gateway's limits and returns its hidden rows.
 * Every failure is a {@link Rejection} naming the field and the limit.
 */
public final class RequestValidator {

    /** Longest accepted request id, in characters. */
    public static final int MAX_REQUEST_ID_LENGTH = 256;

    /** Longest accepted record key (the request id in UTF-8, at most 4 bytes a character). */
    public static final int MAX_KEY_BYTES = 4 * MAX_REQUEST_ID_LENGTH;

    /** Most headers a request record may carry (tracing and the like need a few). */
    public static final int MAX_HEADERS = 32;

    private final int hiddenSize;
    private final int maxSeqLen;

    public RequestValidator(int hiddenSize, int maxSeqLen) {
        this.hiddenSize = hiddenSize;
        this.maxSeqLen = maxSeqLen;
    }

    /**
     * The limits checked before decoding: the value's size (moe.gateway.max-request-bytes), the key's length (the
     * request id: at most {@link #MAX_REQUEST_ID_LENGTH} characters, so at most 4 bytes each in UTF-8) and the
     * header count ({@link #MAX_HEADERS}).
     */
    public static void checkRecord(byte[] key, Headers headers, byte[] value, int maxRequestBytes) {
        if (value == null || value.length == 0) {
            throw new Rejection("value", "empty record: expected an Avro InferenceRequest");
        }
        if (value.length > maxRequestBytes) {
            throw new Rejection(
                    "value",
                    "record of " + value.length + " bytes exceeds the limit of " + maxRequestBytes
                            + " bytes (moe.gateway.max-request-bytes)");
        }
        if (key != null && key.length > MAX_KEY_BYTES) {
            throw new Rejection(
                    "key",
                    "key of " + key.length + " bytes is longer than any request id (at most " + MAX_REQUEST_ID_LENGTH
                            + " characters)");
        }
        int count = 0;
        if (headers != null) {
            for (Header ignored : headers) {
                count++;
            }
        }
        if (count > MAX_HEADERS) {
            throw new Rejection("headers", "record has " + count + " headers, at most " + MAX_HEADERS + " allowed");
        }
    }

    /** Validates the request id alone (also used to decide whether a REJECTED response can be keyed). */
    public static void checkRequestId(String id) {
        if (id == null || id.isEmpty()) {
            throw new Rejection("requestId", "must be a non-empty string");
        }
        if (id.length() > MAX_REQUEST_ID_LENGTH) {
            throw new Rejection("requestId", "at most " + MAX_REQUEST_ID_LENGTH + " characters, found " + id.length());
        }
        for (int i = 0; i < id.length(); i++) {
            if (Character.isISOControl(id.charAt(i))) {
                throw new Rejection("requestId", "control character at index " + i + " is not allowed");
            }
        }
    }

    /** Validates shape, size and values; returns the rows as row-major [S, d] floats. */
    public float[] validate(InferenceRequest request) {
        checkRequestId(request.getRequestId());
        Tensor t = request.getTokens();
        if (t == null) {
            throw new Rejection("tokens", "is required");
        }
        List<Integer> shape = t.getShape();
        if (shape.size() != 2) {
            throw new Rejection(
                    "tokens.shape",
                    "expected rank 2 [seq_len, " + hiddenSize + "], found rank " + shape.size() + " " + shape);
        }
        int s = shape.get(0);
        int d = shape.get(1);
        if (d != hiddenSize) {
            throw new Rejection("tokens.shape[1]", "expected hidden size " + hiddenSize + ", found " + d);
        }
        if (s < 1) {
            throw new Rejection("tokens.shape[0]", "empty sequence: expected 1.." + maxSeqLen + " tokens, found " + s);
        }
        if (s > maxSeqLen) {
            throw new Rejection(
                    "tokens.shape[0]",
                    "sequence too long: expected at most " + maxSeqLen + " tokens (moe.gateway.max-seq-len), found "
                            + s);
        }
        float[] rows;
        try {
            rows = Tensors.toFloats(t);
        } catch (IllegalArgumentException e) {
            throw new Rejection("tokens.data", e.getMessage());
        }
        if (rows.length != s * d) {
            throw new Rejection(
                    "tokens.data",
                    "expected " + s * d + " values for shape [" + s + ", " + d + "], found " + rows.length);
        }
        for (int i = 0; i < rows.length; i++) {
            float v = rows[i];
            if (Float.isNaN(v) || Float.isInfinite(v)) {
                throw new Rejection("tokens[" + i / d + "][" + i % d + "]", "expected a finite value, found " + v);
            }
        }
        return rows;
    }
}

package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.DType;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.Tensor;
import io.moestreams.schemas.Tensors;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RequestValidatorTest {

    private static final int D = 4;
    private static final int MAX_SEQ = 6;

    private final RequestValidator validator = new RequestValidator(D, MAX_SEQ);

    private static InferenceRequest request(String id, Tensor tokens) {
        return new InferenceRequest(id, tokens, null);
    }

    private static float[] ramp(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (i % 7) * 0.25f - 0.75f; // exactly representable in F32, F16 and BF16
        }
        return v;
    }

    private Rejection reject(InferenceRequest r) {
        return assertThrows(Rejection.class, () -> validator.validate(r));
    }

    private static void assertMentions(Rejection r, String... parts) {
        for (String p : parts) {
            assertTrue(r.getMessage().contains(p), "expected '" + p + "' in: " + r.getMessage());
        }
    }

    @Test
    void validF32RequestReturnsItsRowsUnchanged() {
        // Given a [3, 4] F32 request
        float[] rows = ramp(3 * D);

        // When it is validated
        float[] out = validator.validate(request("r1", Tensors.f32(rows, 3, D)));

        // Then the rows come back bit for bit
        assertArrayEquals(rows, out);
    }

    @Test
    void f16AndBf16RequestTensorsAreAcceptedAndDecoded() {
        // Given the same exactly-representable values as F16 and as BF16
        float[] rows = ramp(2 * D);

        // When both are validated
        float[] f16 = validator.validate(request("h", Tensors.f16(rows, 2, D)));
        float[] bf16 = validator.validate(request("b", Tensors.bf16(rows, 2, D)));

        // Then both decode to the original floats
        assertArrayEquals(rows, f16);
        assertArrayEquals(rows, bf16);
    }

    @Test
    void sequenceOfExactlyMaxSeqLenIsAccepted() {
        // Given a sequence at the limit
        InferenceRequest r = request("full", Tensors.f32(ramp(MAX_SEQ * D), MAX_SEQ, D));

        // When / Then it passes
        assertEquals(MAX_SEQ * D, validator.validate(r).length);
    }

    @Test
    void emptyRequestIdIsRejected() {
        // Given a request with an empty id
        // When it is validated
        Rejection r = reject(request("", Tensors.f32(ramp(D), 1, D)));

        // Then the rejection names the field
        assertEquals("requestId", r.field());
        assertMentions(r, "requestId", "non-empty");
    }

    @Test
    void requestIdLongerThanTheLimitIsRejectedNamingLimitAndLength() {
        // Given an id one character over the limit, and one exactly at it
        String atLimit = "x".repeat(RequestValidator.MAX_REQUEST_ID_LENGTH);
        String tooLong = atLimit + "x";

        // When both are validated
        assertDoesNotThrow(() -> validator.validate(request(atLimit, Tensors.f32(ramp(D), 1, D))));
        Rejection r = reject(request(tooLong, Tensors.f32(ramp(D), 1, D)));

        // Then only the longer one is rejected, naming the limit and what was found
        assertEquals("requestId", r.field());
        assertMentions(
                r,
                "at most " + RequestValidator.MAX_REQUEST_ID_LENGTH,
                "found " + (RequestValidator.MAX_REQUEST_ID_LENGTH + 1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"a\tb", "a\nb", "ab\u0000", "ab\u007f", "ab\u0085"})
    void requestIdWithAControlCharacterIsRejectedNamingItsIndex(String id) {
        // Given an id with a control character
        int index = 0;
        while (!Character.isISOControl(id.charAt(index))) {
            index++;
        }

        // When it is validated
        Rejection r = reject(request(id, Tensors.f32(ramp(D), 1, D)));

        // Then the rejection names the field and the index
        assertEquals("requestId", r.field());
        assertMentions(r, "control character at index " + index);
    }

    @Test
    void missingTokensAreRejected() {
        // Given a request without a tensor
        // When it is validated
        Rejection r = reject(request("r", null));

        // Then the field is named
        assertEquals("tokens", r.field());
    }

    @Test
    void tensorOfRankOtherThanTwoIsRejectedNamingTheRank() {
        // Given rank-1 and rank-3 tensors
        Rejection rank1 = reject(request("r", Tensors.f32(ramp(D), D)));
        Rejection rank3 = reject(request("r", Tensors.f32(ramp(2 * D), 1, 2, D)));

        // Then both name tokens.shape and the rank found
        assertEquals("tokens.shape", rank1.field());
        assertMentions(rank1, "expected rank 2", "found rank 1");
        assertEquals("tokens.shape", rank3.field());
        assertMentions(rank3, "found rank 3");
    }

    @Test
    void wrongHiddenSizeIsRejectedNamingExpectedAndFound() {
        // Given rows of 5 values for a model of hidden size 4
        // When it is validated
        Rejection r = reject(request("r", Tensors.f32(ramp(2 * 5), 2, 5)));

        // Then both sizes are named
        assertEquals("tokens.shape[1]", r.field());
        assertMentions(r, "expected hidden size " + D, "found 5");
    }

    @Test
    void emptySequenceIsRejected() {
        // Given a [0, d] tensor
        // When it is validated
        Rejection r = reject(request("r", Tensors.f32(new float[0], 0, D)));

        // Then it is called empty with the accepted range
        assertEquals("tokens.shape[0]", r.field());
        assertMentions(r, "empty sequence", "1.." + MAX_SEQ, "found 0");
    }

    @Test
    void sequenceLongerThanMaxSeqLenIsRejectedNamingTheSetting() {
        // Given a sequence one token over the limit
        // When it is validated
        Rejection r = reject(request("r", Tensors.f32(ramp((MAX_SEQ + 1) * D), MAX_SEQ + 1, D)));

        // Then the limit, the setting and the length are named
        assertEquals("tokens.shape[0]", r.field());
        assertMentions(r, "at most " + MAX_SEQ, "moe.gateway.max-seq-len", "found " + (MAX_SEQ + 1));
    }

    @Test
    void dataLengthThatDoesNotMatchTheShapeIsRejected() {
        // Given a [2, 4] F32 tensor carrying only 7 values
        Tensor t = new Tensor(DType.F32, List.of(2, D), ByteBuffer.wrap(new byte[7 * 4]));

        // When it is validated
        Rejection r = reject(request("r", t));

        // Then the data field is named with the byte counts
        assertEquals("tokens.data", r.field());
        assertMentions(r, "32", "28");
    }

    @Test
    void nanIsRejectedNamingItsTokenAndIndex() {
        // Given a NaN at token 2, element 3
        float[] rows = ramp(4 * D);
        rows[2 * D + 3] = Float.NaN;

        // When it is validated
        Rejection r = reject(request("r", Tensors.f32(rows, 4, D)));

        // Then the position is named as tokens[t][i]
        assertEquals("tokens[2][3]", r.field());
        assertMentions(r, "finite", "NaN");
    }

    @Test
    void infinityIsRejectedNamingItsTokenAndIndex() {
        // Given -Infinity at token 0, element 1 and +Infinity later
        float[] rows = ramp(3 * D);
        rows[1] = Float.NEGATIVE_INFINITY;
        rows[2 * D] = Float.POSITIVE_INFINITY;

        // When it is validated
        Rejection r = reject(request("r", Tensors.f32(rows, 3, D)));

        // Then the first offending position is named
        assertEquals("tokens[0][1]", r.field());
        assertMentions(r, "-Infinity");
    }

    @Test
    void f16ValueThatIsInfiniteIsRejectedLikeF32() {
        // Given an F16 tensor whose token 1, element 0 overflows binary16 (max 65504) to infinity
        float[] rows = ramp(2 * D);
        rows[D] = 1.0e6f;

        // When it is validated
        Rejection r = reject(request("r", Tensors.f16(rows, 2, D)));

        // Then the decoded infinity is named at its position
        assertEquals("tokens[1][0]", r.field());
    }

    @Test
    void aRecordWithTooManyHeadersIsRejectedBeforeDecoding() {
        // Given an otherwise fine record with one header more than allowed
        RecordHeaders headers = new RecordHeaders();
        for (int i = 0; i <= RequestValidator.MAX_HEADERS; i++) {
            headers.add("h" + i, new byte[] {1});
        }
        // When its limits are checked, it is rejected naming the headers and the limit
        Rejection r = assertThrows(
                Rejection.class,
                () -> RequestValidator.checkRecord("id".getBytes(StandardCharsets.UTF_8), headers, new byte[8], 100));
        assertEquals("headers", r.field());
        assertMentions(r, (RequestValidator.MAX_HEADERS + 1) + " headers", "at most " + RequestValidator.MAX_HEADERS);
        // and at the limit it passes
        headers.remove("h0");
        assertDoesNotThrow(() -> RequestValidator.checkRecord(new byte[] {'a'}, headers, new byte[8], 100));
    }

    @Test
    void aKeyLongerThanAnyRequestIdIsRejectedBeforeDecoding() {
        byte[] key = new byte[RequestValidator.MAX_KEY_BYTES + 1];
        Rejection r = assertThrows(
                Rejection.class, () -> RequestValidator.checkRecord(key, new RecordHeaders(), new byte[8], 100));
        assertEquals("key", r.field());
        assertMentions(r, (RequestValidator.MAX_KEY_BYTES + 1) + " bytes", "256 characters");
    }

    @Test
    void anOversizedOrEmptyValueIsRejectedBeforeDecoding() {
        Rejection big = assertThrows(
                Rejection.class, () -> RequestValidator.checkRecord(null, new RecordHeaders(), new byte[101], 100));
        assertMentions(big, "101 bytes", "limit of 100", "moe.gateway.max-request-bytes");
        Rejection empty = assertThrows(
                Rejection.class, () -> RequestValidator.checkRecord(null, new RecordHeaders(), new byte[0], 100));
        assertMentions(empty, "empty record");
    }
}

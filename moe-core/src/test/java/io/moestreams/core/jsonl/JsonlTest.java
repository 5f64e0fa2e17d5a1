package io.moestreams.core.jsonl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.routing.Assignment;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonlTest {

    /** Floats whose text form is easy to get wrong. */
    private static final float[] TRICKY = {
        0.1f,
        1.0f / 3,
        -0.0f,
        0.0f,
        Float.MIN_VALUE,
        Float.MIN_NORMAL,
        Float.MAX_VALUE,
        -Float.MAX_VALUE,
        1e-45f,
        3.4028235e38f,
        16777217f,
        1.0e-5f,
        123456.79f,
        2.0e-3f,
        Math.nextUp(1.0f),
        Math.nextDown(1.0f),
        8.589973e9f,
        1.00000017881393421514957253748434595763683319091796875f
    };

    private static RequestJsonlReader reader(String text, int hidden) {
        return new RequestJsonlReader(new BufferedReader(new StringReader(text)), hidden);
    }

    @Test
    void requestsRoundTripWithExactFloats() throws IOException {
        // Given requests containing tricky values and random bit patterns
        SplittableRandom random = new SplittableRandom(1);
        int d = TRICKY.length;
        float[] a = TRICKY.clone();
        float[] b = new float[3 * d];
        for (int i = 0; i < b.length; i++) {
            float v;
            do {
                v = Float.intBitsToFloat(random.nextInt());
            } while (!Float.isFinite(v));
            b[i] = v;
        }
        StringWriter text = new StringWriter();
        // When written and read back
        try (RequestJsonlWriter w = new RequestJsonlWriter(text)) {
            w.write("r0", a, 1, d);
            w.write(new RequestLine("r1", b, 3, d));
        }
        try (RequestJsonlReader r = reader(text.toString(), d)) {
            RequestLine r0 = r.next();
            RequestLine r1 = r.next();
            // Then every float is bit-identical (including -0.0) and the shapes are kept
            assertEquals("r0", r0.id());
            assertEquals(1, r0.seqLen());
            assertEquals(d, r0.hiddenSize());
            for (int i = 0; i < d; i++) {
                assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(r0.tokens()[i]), "value " + a[i]);
            }
            assertEquals(new RequestLine("r1", b, 3, d), r1);
            assertNull(r.next());
        }
        assertEquals(2, text.toString().split("\n").length);
        assertTrue(text.toString().endsWith("\n"));
    }

    @Test
    void readsTheDesignExampleWithIntegersAndExponents() {
        // Given a hand-written line / When parsed / Then values are the decimal text rounded once to F32
        RequestLine line =
                RequestJsonlReader.parse("{\"id\": \"r1\", \"tokens\": [[1, -2.5, 1e-3], [0.1, 3E2, -0]]}", 1, 3);
        assertArrayEquals(new float[] {1f, -2.5f, 1e-3f, 0.1f, 300f, -0f}, line.tokens());
        assertEquals(2, line.seqLen());
    }

    @Test
    void badRequestLinesNameLineNumberAndFieldAndReadingContinues() throws IOException {
        // Given a file with good and bad lines (and a blank line that still counts)
        String text = String.join(
                "\n",
                "{\"id\": \"a\", \"tokens\": [[1, 2]]}",
                "",
                "{\"id\": \"b\", \"tokens\": [[1, 2], [3]]}",
                "{\"id\": \"c\", \"tokens\": [[1, \"x\"]]}",
                "{\"id\": \"d\", \"tokens\": [[1, 2]], \"deadline\": 5}",
                "{\"tokens\": [[1, 2]]}",
                "{\"id\": \"e\", \"tokens\": [[1, 2]]",
                "[1, 2]",
                "{\"id\": 7, \"tokens\": [[1, 2]]}",
                "{\"id\": \"f\", \"tokens\": [[1, 2, 3]]}",
                "{\"id\": \"g\", \"tokens\": [[1, 2]]} {}",
                "{\"id\": \"h\", \"id\": \"h\", \"tokens\": [[1, 2]]}",
                "{\"id\": \"i\", \"tokens\": [[1, 2]]}");
        try (RequestJsonlReader r = reader(text, 2)) {
            // When read line by line / Then each error names its line, field and (when known) the id
            assertEquals("a", r.next().id());
            assertError(
                    r, 3, "tokens[1]", "line 3: tokens[1]: expected 2 values (the hidden size), found 1 values (id b)");
            assertError(r, 4, "tokens[0][1]", "line 4: tokens[0][1]: expected a number, found a string \"x\" (id c)");
            assertError(
                    r,
                    5,
                    "deadline",
                    "line 5: deadline: expected only the keys id and tokens, found unknown key " + "deadline (id d)");
            assertError(r, 6, "id", "line 6: id: expected a request id, found nothing (the key is required)");
            JsonlException truncated = assertError(r, 7, "line", null);
            assertTrue(truncated.getMessage().startsWith("line 7: line: invalid JSON"), truncated.getMessage());
            assertEquals("e", truncated.id());
            assertError(r, 8, "line", "line 8: line: expected a JSON object, found an array");
            assertError(r, 9, "id", "line 9: id: expected a string, found a number 7");
            assertError(
                    r,
                    10,
                    "tokens[0]",
                    "line 10: tokens[0]: expected 2 values (the hidden size), found 3 values " + "(id f)");
            assertError(
                    r,
                    11,
                    "line",
                    "line 11: line: expected a single JSON object, found more content after it: " + "an object (id g)");
            JsonlException dup = assertError(r, 12, "line", null);
            assertTrue(dup.getMessage().contains("Duplicate field 'id'"), dup.getMessage());
            assertEquals("i", r.next().id());
            assertNull(r.next());
        }
    }

    @Test
    void raggedRowsAreAnErrorEvenWithoutAnExpectedHiddenSize() {
        // Given / When / Then
        JsonlException e = assertThrows(
                JsonlException.class,
                () -> RequestJsonlReader.parse("{\"id\": \"x\", \"tokens\": [[1, 2], [3, 4, 5]]}", 4, 0));
        assertEquals("line 4: tokens[1]: expected 2 values like tokens[0], found 3 values (id x)", e.getMessage());
    }

    @Test
    void nanAndInfinityLiteralsAreReadSoTheLayerCanRejectThemByPosition() {
        // Given a line spelling NaN and -Infinity / When parsed / Then they arrive as such; an empty sequence too
        RequestLine line = RequestJsonlReader.parse("{\"id\": \"n\", \"tokens\": [[NaN, -Infinity]]}", 1, 2);
        assertTrue(Float.isNaN(line.tokens()[0]));
        assertEquals(Float.NEGATIVE_INFINITY, line.tokens()[1]);
        RequestLine empty = RequestJsonlReader.parse("{\"id\": \"e\", \"tokens\": []}", 1, 2);
        assertEquals(0, empty.seqLen());
    }

    @Test
    void responsesRoundTripExactly(@TempDir Path dir) throws IOException {
        // Given an OK response with drops, a partial one and a rejected one
        float[] out = {TRICKY[0], TRICKY[1], TRICKY[2], 0f, 0f, 0f, TRICKY[4], TRICKY[5], TRICKY[6]};
        ResponseLine ok = new ResponseLine(
                "r1",
                ResponseStatus.OK,
                out,
                3,
                3,
                new int[][] {{2, 0}, {}, {1}},
                new float[][] {{0.6f, 0.4f}, {}, {1.0f / 3}},
                new int[] {1},
                null);
        ResponseLine partial = new ResponseLine(
                "r2",
                ResponseStatus.PARTIAL,
                new float[] {1.5f, -2f},
                1,
                2,
                new int[][] {{3}},
                new float[][] {{0.25f}},
                new int[0],
                "missing experts [3]");
        ResponseLine rejected = ResponseLine.rejected("r3", "tokens[0][1]: expected a finite value, found NaN");
        Path file = dir.resolve("out.jsonl");
        // When written and read back
        try (ResponseJsonlWriter w = ResponseJsonlWriter.open(file)) {
            w.write(ok);
            w.write(partial);
            w.write(rejected);
        }
        List<ResponseLine> back = ResponseJsonlReader.readAll(file);
        // Then equal value for value, with the documented keys (error only when set)
        assertEquals(List.of(ok, partial, rejected), back);
        List<String> lines = Files.readAllLines(file);
        assertEquals(3, lines.size());
        assertTrue(lines.get(0).startsWith("{\"id\":\"r1\",\"status\":\"OK\",\"output\":[["), lines.get(0));
        assertTrue(
                lines.get(0)
                        .contains("\"experts\":[[2,0],[],[1]],\"weights\":[[0.6,0.4],[],[0.33333334]],"
                                + "\"dropped\":[1]}"),
                lines.get(0));
        assertTrue(lines.get(2).contains("\"error\":\"tokens[0][1]: expected a finite value, found NaN\""));
    }

    @Test
    void theLayerFingerprintIsAnOptionalLastKey() {
        // Given a response with the fingerprint of the layer that computed it
        String fp = "sha256:" + "0f".repeat(32);
        ResponseLine line = ResponseLine.rejected("r9", "bad").withFingerprint(fp);
        StringWriter text = new StringWriter();
        // When written and read back
        try (ResponseJsonlWriter w = new ResponseJsonlWriter(text)) {
            w.write(line);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        ResponseLine back = ResponseJsonlReader.parse(text.toString().trim(), 1);
        // Then it is kept, after the documented keys; a line without it reads as null
        assertEquals(line, back);
        assertEquals(fp, back.fingerprint());
        assertTrue(
                text.toString().trim().endsWith(",\"error\":\"bad\",\"fingerprint\":\"" + fp + "\"}"), text.toString());
        assertNull(ResponseJsonlReader.parse("{\"id\":\"a\",\"status\":\"REJECTED\"}", 1)
                .fingerprint());
    }

    @Test
    void okResponseCopiesTheAssignment() {
        // Given a layer output of 2 tokens, the second dropped
        Assignment a = new Assignment(2, new int[][] {{1, 0}, {}}, new float[][] {{0.7f, 0.3f}, {}}, new int[] {1}, 1);
        float[] output = {1f, 2f, 0f, 0f};
        // When turned into a response line
        ResponseLine r = ResponseLine.ok("x", output, 2, 2, a);
        output[0] = 9f;
        // Then status OK, routing per token and drops are carried, and the arrays are copies
        assertEquals(ResponseStatus.OK, r.status());
        assertArrayEquals(new float[] {1f, 2f, 0f, 0f}, r.output());
        assertArrayEquals(new int[][] {{1, 0}, {}}, r.experts());
        assertArrayEquals(new float[] {0.7f, 0.3f}, r.weights()[0]);
        assertArrayEquals(new int[] {1}, r.dropped());
        assertNull(r.error());
    }

    @Test
    void badResponseLinesNameLineAndField() {
        // Given / When / Then
        assertEquals(
                "line 2: status: expected one of OK, PARTIAL, REJECTED, TIMEOUT, found \"FINE\" (id a)",
                assertThrows(
                                JsonlException.class,
                                () -> ResponseJsonlReader.parse("{\"id\":\"a\",\"status\":\"FINE\"}", 2))
                        .getMessage());
        assertEquals(
                "line 3: weights[0]: expected 2 values like experts[0], found 1 values (id a)",
                assertThrows(
                                JsonlException.class,
                                () -> ResponseJsonlReader.parse(
                                        "{\"id\":\"a\",\"status\":\"OK\",\"experts\":[[1,2]],\"weights\":[[0.5]]}", 3))
                        .getMessage());
        assertEquals(
                "line 4: experts[0][0]: expected an integer, found a number 1.5 (id a)",
                assertThrows(
                                JsonlException.class,
                                () -> ResponseJsonlReader.parse(
                                        "{\"id\":\"a\",\"status\":\"OK\",\"experts\":[[1.5]]}", 4))
                        .getMessage());
        assertEquals(
                "line 5: extra: expected only the keys id, status, output, experts, weights, dropped, error, "
                        + "fingerprint, found unknown key extra (id a)",
                assertThrows(
                                JsonlException.class,
                                () -> ResponseJsonlReader.parse("{\"id\":\"a\",\"status\":\"OK\",\"extra\":1}", 5))
                        .getMessage());
    }

    private static JsonlException assertError(RequestJsonlReader r, long line, String field, String message) {
        JsonlException e = assertThrows(JsonlException.class, r::next);
        assertEquals(line, e.lineNumber(), e.getMessage());
        assertEquals(field, e.field(), e.getMessage());
        if (message != null) {
            assertEquals(message, e.getMessage());
        }
        return e;
    }
}

package io.moestreams.core.jsonl;

import com.fasterxml.jackson.core.JsonToken;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads response lines (as written by {@link ResponseJsonlWriter}) with the streaming parser, for tests and
 * tools that compare output files. Unknown keys and wrong types are {@link JsonlException}s with the line number.
 */
public final class ResponseJsonlReader implements AutoCloseable {

    private final BufferedReader in;
    private long lineNumber;

    public ResponseJsonlReader(BufferedReader in) {
        this.in = in;
    }

    public static ResponseJsonlReader open(Path file) throws IOException {
        return new ResponseJsonlReader(Files.newBufferedReader(file, StandardCharsets.UTF_8));
    }

    /** Reads every line of a file. */
    public static List<ResponseLine> readAll(Path file) throws IOException {
        List<ResponseLine> lines = new ArrayList<>();
        try (ResponseJsonlReader reader = open(file)) {
            for (ResponseLine r = reader.next(); r != null; r = reader.next()) {
                lines.add(r);
            }
        }
        return lines;
    }

    /** 1-based number of the last line read. */
    public long lineNumber() {
        return lineNumber;
    }

    /** The next response, or null at the end of the input; blank lines are skipped. */
    public ResponseLine next() {
        String text;
        try {
            do {
                text = in.readLine();
                if (text == null) {
                    return null;
                }
                lineNumber++;
            } while (text.isBlank());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read response line " + (lineNumber + 1), e);
        }
        return parse(text, lineNumber);
    }

    /** Parses one response line. */
    public static ResponseLine parse(String text, long lineNumber) {
        try (JsonlLineParser p = new JsonlLineParser(text, lineNumber)) {
            p.expectObjectStart();
            ResponseStatus status = null;
            FloatMatrix output = null;
            int[][] experts = null;
            float[][] weights = null;
            int[] dropped = null;
            String error = null;
            String fingerprint = null;
            while (p.next() == JsonToken.FIELD_NAME) {
                String name = p.parser.currentName();
                switch (name) {
                    case "id" -> p.id = p.readString("id");
                    case "status" -> {
                        String s = p.readString("status");
                        try {
                            status = ResponseStatus.valueOf(s);
                        } catch (IllegalArgumentException e) {
                            throw p.fail("status", "one of OK, PARTIAL, REJECTED, TIMEOUT", "\"" + s + "\"");
                        }
                    }
                    case "output" -> output = p.readFloatMatrix("output", 0);
                    case "experts" -> experts = p.readRaggedInts("experts");
                    case "weights" -> weights = p.readRaggedFloats("weights");
                    case "dropped" -> dropped = p.readInts("dropped");
                    case "error" -> error = p.readNullableString("error");
                    case "fingerprint" -> fingerprint = p.readNullableString("fingerprint");
                    default ->
                        throw p.fail(
                                name,
                                "only the keys id, status, output, experts, weights, dropped, error, fingerprint",
                                "unknown key " + name);
                }
            }
            p.expectEnd();
            if (p.id == null) {
                throw p.fail("id", "a request id", "nothing (the key is required)");
            }
            if (status == null) {
                throw p.fail("status", "a status", "nothing (the key is required)");
            }
            if (output == null) {
                output = new FloatMatrix(new float[0], 0, 0);
            }
            experts = experts == null ? new int[0][] : experts;
            weights = weights == null ? new float[0][] : weights;
            if (experts.length != weights.length) {
                throw p.fail("weights", experts.length + " rows like experts", weights.length + " rows");
            }
            for (int t = 0; t < experts.length; t++) {
                if (experts[t].length != weights[t].length) {
                    throw p.fail(
                            "weights[" + t + "]",
                            experts[t].length + " values like experts[" + t + "]",
                            weights[t].length + " values");
                }
            }
            return new ResponseLine(
                    p.id,
                    status,
                    output.values(),
                    output.rows(),
                    output.cols(),
                    experts,
                    weights,
                    dropped,
                    error,
                    fingerprint);
        } catch (IOException e) {
            throw new JsonlException(lineNumber, "line", null, "cannot parse: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}

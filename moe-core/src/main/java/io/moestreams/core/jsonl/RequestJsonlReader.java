package io.moestreams.core.jsonl;

import com.fasterxml.jackson.core.JsonToken;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads request lines {@code {"id": "r1", "tokens": [[...d floats...], ...]}} one at a time with Jackson's
 * streaming parser (the file is never held as a tree). Blank lines are skipped. A bad line throws a
 * {@link JsonlException} naming the line number and the field; the next {@link #next()} continues with the
 * following line. Keys other than {@code id} and {@code tokens} are errors.
 */
public final class RequestJsonlReader implements AutoCloseable {

    private final BufferedReader in;
    private final int expectedHiddenSize;
    private long lineNumber;

    /**
     * @param in                 the JSONL text
     * @param expectedHiddenSize values every token row must have, or 0 to accept any (consistent) width
     */
    public RequestJsonlReader(BufferedReader in, int expectedHiddenSize) {
        this.in = in;
        this.expectedHiddenSize = Math.max(0, expectedHiddenSize);
    }

    public static RequestJsonlReader open(Path file, int expectedHiddenSize) throws IOException {
        return new RequestJsonlReader(Files.newBufferedReader(file, StandardCharsets.UTF_8), expectedHiddenSize);
    }

    /** 1-based number of the last line read. */
    public long lineNumber() {
        return lineNumber;
    }

    /**
     * The next request, or null at the end of the input.
     *
     * @throws JsonlException       for a line that is not a valid request (reading may continue)
     * @throws UncheckedIOException if the input cannot be read
     */
    public RequestLine next() {
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
            throw new UncheckedIOException("cannot read request line " + (lineNumber + 1), e);
        }
        return parse(text, lineNumber, expectedHiddenSize);
    }

    /** Parses one request line. */
    public static RequestLine parse(String text, long lineNumber, int expectedHiddenSize) {
        try (JsonlLineParser p = new JsonlLineParser(text, lineNumber)) {
            p.expectObjectStart();
            FloatMatrix tokens = null;
            while (p.next() == JsonToken.FIELD_NAME) {
                String name = p.parser.currentName();
                switch (name) {
                    case "id" -> {
                        String id = p.readString("id");
                        if (id.isEmpty()) {
                            throw p.fail("id", "a non-empty string", "an empty string");
                        }
                        p.id = id;
                    }
                    case "tokens" -> tokens = p.readFloatMatrix("tokens", expectedHiddenSize);
                    default -> throw p.fail(name, "only the keys id and tokens", "unknown key " + name);
                }
            }
            p.expectEnd();
            if (p.id == null) {
                throw p.fail("id", "a request id", "nothing (the key is required)");
            }
            if (tokens == null) {
                throw p.fail("tokens", "an array of token rows", "nothing (the key is required)");
            }
            return new RequestLine(p.id, tokens.values(), tokens.rows(), tokens.cols());
        } catch (IOException e) {
            throw new JsonlException(lineNumber, "line", null, "cannot parse: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}

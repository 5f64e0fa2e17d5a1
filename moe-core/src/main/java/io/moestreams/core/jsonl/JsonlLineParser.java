package io.moestreams.core.jsonl;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Token-by-token reader of one line, producing errors that name the line, the field and the id. */
final class JsonlLineParser implements AutoCloseable {
    final JsonParser parser;
    final long line;
    String id;

    JsonlLineParser(String text, long line) throws IOException {
        this.parser = JsonlSupport.FACTORY.createParser(text);
        this.line = line;
    }

    JsonToken next() throws IOException {
        try {
            return parser.nextToken();
        } catch (JsonParseException e) {
            throw new JsonlException(
                    line,
                    "line",
                    id,
                    "invalid JSON: " + e.getOriginalMessage() + " (column "
                            + e.getLocation().getColumnNr() + ")",
                    e);
        }
    }

    JsonlException fail(String field, String expected, String found) {
        return new JsonlException(line, field, id, "expected " + expected + ", found " + found);
    }

    String describeCurrent() throws IOException {
        JsonToken t = parser.currentToken();
        if (t == null) {
            return "end of line";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case END_ARRAY -> "the end of the array";
            case END_OBJECT -> "the end of the object";
            case VALUE_STRING -> "a string \"" + abbreviate(parser.getText()) + "\"";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number " + abbreviate(parser.getText());
            case VALUE_TRUE, VALUE_FALSE -> "a boolean " + parser.getText();
            case VALUE_NULL -> "null";
            default -> t.toString();
        };
    }

    void expectObjectStart() throws IOException {
        if (next() != JsonToken.START_OBJECT) {
            throw fail("line", "a JSON object", describeCurrent());
        }
    }

    /** After the root object ended: nothing else may follow on the line. */
    void expectEnd() throws IOException {
        if (next() != null) {
            throw fail("line", "a single JSON object", "more content after it: " + describeCurrent());
        }
    }

    String readString(String field) throws IOException {
        next();
        if (parser.currentToken() != JsonToken.VALUE_STRING) {
            throw fail(field, "a string", describeCurrent());
        }
        return parser.getText();
    }

    String readNullableString(String field) throws IOException {
        next();
        if (parser.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        if (parser.currentToken() != JsonToken.VALUE_STRING) {
            throw fail(field, "a string or null", describeCurrent());
        }
        return parser.getText();
    }

    /** Reads a float at the current token; exact (decimal text parsed straight to F32). */
    float currentFloat(String field) throws IOException {
        JsonToken t = parser.currentToken();
        if (t == JsonToken.VALUE_NUMBER_FLOAT || t == JsonToken.VALUE_NUMBER_INT) {
            if (parser.isNaN()) {
                return (float) parser.getDoubleValue();
            }
            try {
                return Float.parseFloat(parser.getText());
            } catch (NumberFormatException e) {
                return (float) parser.getDoubleValue();
            }
        }
        if (t == JsonToken.VALUE_STRING) {
            switch (parser.getText()) {
                case "NaN":
                    return Float.NaN;
                case "Infinity":
                    return Float.POSITIVE_INFINITY;
                case "-Infinity":
                    return Float.NEGATIVE_INFINITY;
                default:
                    break;
            }
        }
        throw fail(field, "a number", describeCurrent());
    }

    int currentInt(String field) throws IOException {
        if (parser.currentToken() != JsonToken.VALUE_NUMBER_INT || !fitsInt()) {
            throw fail(field, "an integer", describeCurrent());
        }
        return parser.getIntValue();
    }

    private boolean fitsInt() throws IOException {
        return parser.getNumberType() == JsonParser.NumberType.INT;
    }

    void startArray(String field) throws IOException {
        next();
        if (parser.currentToken() != JsonToken.START_ARRAY) {
            throw fail(field, "an array", describeCurrent());
        }
    }

    /** Reads [[f, ...], ...] with equal row lengths; returns {values, rows, cols}. */
    FloatMatrix readFloatMatrix(String field, int expectedCols) throws IOException {
        startArray(field);
        FloatList values = new FloatList();
        int rows = 0;
        int cols = -1;
        while (next() != JsonToken.END_ARRAY) {
            String rowField = field + "[" + rows + "]";
            if (parser.currentToken() != JsonToken.START_ARRAY) {
                throw fail(rowField, "an array of numbers", describeCurrent());
            }
            int c = 0;
            while (next() != JsonToken.END_ARRAY) {
                values.add(currentFloat(rowField + "[" + c + "]"));
                c++;
            }
            if (expectedCols > 0 && c != expectedCols) {
                throw fail(rowField, expectedCols + " values (the hidden size)", c + " values");
            }
            if (cols >= 0 && c != cols) {
                throw fail(rowField, cols + " values like " + field + "[0]", c + " values");
            }
            if (c == 0) {
                throw fail(rowField, "at least one value", "an empty row");
            }
            cols = c;
            rows++;
        }
        return new FloatMatrix(values.toArray(), rows, Math.max(cols, 0));
    }

    float[][] readRaggedFloats(String field) throws IOException {
        startArray(field);
        List<float[]> rows = new ArrayList<>();
        while (next() != JsonToken.END_ARRAY) {
            String rowField = field + "[" + rows.size() + "]";
            if (parser.currentToken() != JsonToken.START_ARRAY) {
                throw fail(rowField, "an array of numbers", describeCurrent());
            }
            FloatList row = new FloatList();
            while (next() != JsonToken.END_ARRAY) {
                row.add(currentFloat(rowField + "[" + row.size() + "]"));
            }
            rows.add(row.toArray());
        }
        return rows.toArray(new float[0][]);
    }

    int[][] readRaggedInts(String field) throws IOException {
        startArray(field);
        List<int[]> rows = new ArrayList<>();
        while (next() != JsonToken.END_ARRAY) {
            String rowField = field + "[" + rows.size() + "]";
            if (parser.currentToken() != JsonToken.START_ARRAY) {
                throw fail(rowField, "an array of integers", describeCurrent());
            }
            rows.add(readIntsUntilEnd(rowField));
        }
        return rows.toArray(new int[0][]);
    }

    int[] readInts(String field) throws IOException {
        startArray(field);
        return readIntsUntilEnd(field);
    }

    private int[] readIntsUntilEnd(String field) throws IOException {
        int[] out = new int[8];
        int n = 0;
        while (next() != JsonToken.END_ARRAY) {
            int v = currentInt(field + "[" + n + "]");
            if (n == out.length) {
                out = Arrays.copyOf(out, n * 2);
            }
            out[n++] = v;
        }
        return Arrays.copyOf(out, n);
    }

    @Override
    public void close() throws IOException {
        parser.close();
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}

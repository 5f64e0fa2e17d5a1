package io.moestreams.core.jsonl;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import java.io.IOException;
import java.io.Writer;

/** The writing side shared by the JSONL codecs: one generator per stream, floats and matrices; the factory both sides use. Reading is {@link JsonlLineParser}. */
final class JsonlSupport {

    /** Duplicate keys are errors; NaN / Infinity literals are accepted so that the layer can reject them. */
    static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    private JsonlSupport() {}

    /** Creates a generator for one JSONL stream: no separator between root values (the codec writes '\n'). */
    static JsonGenerator generator(Writer out) throws IOException {
        JsonGenerator g = FACTORY.createGenerator(out);
        g.setRootValueSeparator(null);
        return g;
    }

    /** A float as the shortest text that parses back to exactly the same value ({@link Float#toString}). */
    static void writeFloat(JsonGenerator g, float v) throws IOException {
        g.writeNumber(v);
    }

    /** Writes a row-major [rows, cols] matrix as nested arrays. */
    static void writeMatrix(JsonGenerator g, float[] values, int rows, int cols) throws IOException {
        g.writeStartArray();
        for (int r = 0; r < rows; r++) {
            g.writeStartArray();
            int base = r * cols;
            for (int c = 0; c < cols; c++) {
                writeFloat(g, values[base + c]);
            }
            g.writeEndArray();
        }
        g.writeEndArray();
    }
}

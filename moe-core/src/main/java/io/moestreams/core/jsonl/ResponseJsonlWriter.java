package io.moestreams.core.jsonl;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes response lines {@code {"id", "status", "output": [[...]], "experts": [[e,...]], "weights": [[w,...]],
 * "dropped": [...], "error"?, "fingerprint"?}} with Jackson's streaming generator. Floats are written as {@link Float#toString}
 * text, which parses back to exactly the same F32 value.
 */
public final class ResponseJsonlWriter implements AutoCloseable {

    private final Writer out;
    private final JsonGenerator generator;

    public ResponseJsonlWriter(Writer out) throws IOException {
        this.out = out;
        this.generator = JsonlSupport.generator(out);
    }

    public static ResponseJsonlWriter open(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
        return new ResponseJsonlWriter(w);
    }

    /** Writes one line (terminated by '\n'). */
    public void write(ResponseLine r) throws IOException {
        JsonGenerator g = generator;
        g.writeStartObject();
        g.writeStringField("id", r.id());
        g.writeStringField("status", r.status().name());
        g.writeFieldName("output");
        JsonlSupport.writeMatrix(g, r.output(), r.seqLen(), r.hiddenSize());
        g.writeArrayFieldStart("experts");
        for (int[] row : r.experts()) {
            g.writeStartArray();
            for (int e : row) {
                g.writeNumber(e);
            }
            g.writeEndArray();
        }
        g.writeEndArray();
        g.writeArrayFieldStart("weights");
        for (float[] row : r.weights()) {
            g.writeStartArray();
            for (float w : row) {
                JsonlSupport.writeFloat(g, w);
            }
            g.writeEndArray();
        }
        g.writeEndArray();
        g.writeArrayFieldStart("dropped");
        for (int t : r.dropped()) {
            g.writeNumber(t);
        }
        g.writeEndArray();
        if (r.error() != null) {
            g.writeStringField("error", r.error());
        }
        if (r.fingerprint() != null) {
            g.writeStringField("fingerprint", r.fingerprint());
        }
        g.writeEndObject();
        g.flush();
        out.write('\n');
    }

    public void flush() throws IOException {
        generator.flush();
        out.flush();
    }

    @Override
    public void close() throws IOException {
        generator.close();
        out.close();
    }
}

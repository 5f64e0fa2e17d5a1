package io.moestreams.core.jsonl;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes request lines {@code {"id": ..., "tokens": [[...], ...]}}, floats in exact shortest form. */
public final class RequestJsonlWriter implements AutoCloseable {

    private final Writer out;
    private final JsonGenerator generator;

    public RequestJsonlWriter(Writer out) throws IOException {
        this.out = out;
        this.generator = JsonlSupport.generator(out);
    }

    public static RequestJsonlWriter open(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
        return new RequestJsonlWriter(w);
    }

    public void write(RequestLine request) throws IOException {
        write(request.id(), request.tokens(), request.seqLen(), request.hiddenSize());
    }

    /** Writes one line; {@code tokens} is row-major [seqLen, hiddenSize]. */
    public void write(String id, float[] tokens, int seqLen, int hiddenSize) throws IOException {
        if ((long) seqLen * hiddenSize != tokens.length) {
            throw new IllegalArgumentException(
                    "tokens: expected " + seqLen + " x " + hiddenSize + " values, found " + tokens.length);
        }
        generator.writeStartObject();
        generator.writeStringField("id", id);
        generator.writeFieldName("tokens");
        JsonlSupport.writeMatrix(generator, tokens, seqLen, hiddenSize);
        generator.writeEndObject();
        generator.flush();
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

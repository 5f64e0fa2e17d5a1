package io.moestreams.schemas.cassette;

import io.moestreams.avro.CassetteEntry;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumWriter;

/**
 * Writes a cassette: an Avro object container file whose records are {@link CassetteEntry} (a recorded request and
 * its response) and whose header metadata holds {@value #FORMAT_KEY} = {@value #FORMAT_VERSION} plus what the
 * recorder adds (where and when it recorded). Any Avro tool reads it ({@code avro-tools tojson}). Entries go to
 * {@code FILE.partial} and the file appears under its name only when {@link #close()} completes, so a failed
 * recording never leaves a truncated cassette behind.
 */
public final class CassetteWriter implements AutoCloseable {

    /** Header key marking a cassette. */
    public static final String FORMAT_KEY = "moe.cassette.format";

    /** The cassette format written. */
    public static final String FORMAT_VERSION = "1";

    private final Path file;
    private final Path partial;
    private final DataFileWriter<CassetteEntry> writer;
    private long count;
    private boolean done;

    private CassetteWriter(Path file, Path partial, DataFileWriter<CassetteEntry> writer) {
        this.file = file;
        this.partial = partial;
        this.writer = writer;
    }

    /**
     * Starts a cassette at {@code file} with the given header metadata (keys should start with {@code moe.}).
     *
     * @throws IOException if the file cannot be created
     */
    public static CassetteWriter create(Path file, Map<String, String> metadata) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Path partial = file.resolveSibling(file.getFileName() + ".partial");
        DataFileWriter<CassetteEntry> writer = new DataFileWriter<>(new SpecificDatumWriter<>(CassetteEntry.class));
        writer.setMeta(FORMAT_KEY, FORMAT_VERSION);
        metadata.forEach(writer::setMeta);
        try {
            writer.create(CassetteEntry.getClassSchema(), partial.toFile());
        } catch (IOException | RuntimeException e) {
            writer.close();
            throw e;
        }
        return new CassetteWriter(file, partial, writer);
    }

    /** Appends one entry. */
    public void append(CassetteEntry entry) throws IOException {
        writer.append(entry);
        count++;
    }

    /** Entries appended so far. */
    public long count() {
        return count;
    }

    /** Finishes the file and moves it to its name. */
    @Override
    public void close() throws IOException {
        if (done) {
            return;
        }
        done = true;
        writer.close();
        try {
            Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Gives up: closes and deletes the partial file. */
    public void abort() {
        if (done) {
            return;
        }
        done = true;
        try {
            writer.close();
        } catch (IOException ignored) {
            // the partial file is deleted anyway
        }
        try {
            Files.deleteIfExists(partial);
        } catch (IOException ignored) {
            // nothing more to do
        }
    }

    @Override
    public String toString() {
        return "CassetteWriter[" + file + ", " + count + " entries]";
    }
}

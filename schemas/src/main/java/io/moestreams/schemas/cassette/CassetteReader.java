package io.moestreams.schemas.cassette;

import io.moestreams.avro.CassetteEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.specific.SpecificDatumReader;

/**
 * Reads a cassette written by {@link CassetteWriter}, streaming its entries (a cassette may hold more requests than
 * fit in memory). Entries are decoded with the current {@link CassetteEntry} schema, so cassettes recorded before a
 * compatible schema change still read.
 */
public final class CassetteReader implements AutoCloseable, Iterable<CassetteEntry> {

    private final Path file;
    private final DataFileReader<CassetteEntry> reader;
    private final Map<String, String> metadata;

    private CassetteReader(Path file, DataFileReader<CassetteEntry> reader, Map<String, String> metadata) {
        this.file = file;
        this.reader = reader;
        this.metadata = metadata;
    }

    /**
     * Opens a cassette.
     *
     * @throws IOException              if the file is missing or unreadable
     * @throws IllegalArgumentException naming the file when it is not a cassette (not Avro, or other records)
     */
    public static CassetteReader open(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such cassette file");
        }
        DataFileReader<CassetteEntry> reader;
        try {
            reader = new DataFileReader<>(file.toFile(), new SpecificDatumReader<>(CassetteEntry.class));
        } catch (IOException | AvroRuntimeException e) {
            throw new IllegalArgumentException(
                    file + ": expected a cassette (an Avro container file of CassetteEntry records written by moe"
                            + " record), found a file that is not Avro: " + e.getMessage(),
                    e);
        }
        String format = reader.getMetaString(CassetteWriter.FORMAT_KEY);
        String writerRecord = reader.getSchema().getFullName();
        if (format == null
                || !writerRecord.equals(CassetteEntry.getClassSchema().getFullName())) {
            reader.close();
            throw new IllegalArgumentException(file + ": expected a cassette (" + CassetteWriter.FORMAT_KEY
                    + " in the header and CassetteEntry records), found " + writerRecord + " records"
                    + (format == null ? " without " + CassetteWriter.FORMAT_KEY : ""));
        }
        if (!format.equals(CassetteWriter.FORMAT_VERSION)) {
            reader.close();
            throw new IllegalArgumentException(file + ": expected cassette format " + CassetteWriter.FORMAT_VERSION
                    + ", found " + format + " (written by a newer moe?)");
        }
        Map<String, String> meta = new LinkedHashMap<>();
        for (String key : reader.getMetaKeys()) {
            if (!key.startsWith("avro.")) {
                meta.put(key, reader.getMetaString(key));
            }
        }
        return new CassetteReader(file, reader, Map.copyOf(meta));
    }

    /**
     * The number of entries in a cassette, counted from its block headers without decoding the entries (for a
     * progress bar before a replay).
     *
     * @throws IllegalArgumentException naming the file when it is not a cassette
     */
    public static long count(Path file) throws IOException {
        try (CassetteReader r = open(file)) {
            long n = 0;
            while (r.reader.hasNext()) {
                n += r.reader.getBlockCount();
                r.reader.nextBlock();
            }
            return n;
        }
    }

    /** The header metadata (the {@code avro.*} keys left out). */
    public Map<String, String> metadata() {
        return metadata;
    }

    public Path file() {
        return file;
    }

    /** The entries, in recording order; the iterator can be taken once. */
    @Override
    public Iterator<CassetteEntry> iterator() {
        return reader;
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }

    @Override
    public String toString() {
        return "CassetteReader[" + file + "]";
    }
}

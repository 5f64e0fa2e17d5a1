package io.moestreams.schemas.cassette;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.CassetteEntry;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.avro.ResponseStatus;
import io.moestreams.avro.Tensor;
import io.moestreams.schemas.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CassetteTest {

    @TempDir
    Path dir;

    static CassetteEntry entry(String id, boolean answered) {
        InferenceRequest request = InferenceRequest.newBuilder()
                .setRequestId(id)
                .setTokens(Tensors.f32(new float[] {0.5f, -1f, Float.MIN_VALUE, -0.0f}, 2, 2))
                .setDeadlineMs(null)
                .build();
        CassetteEntry.Builder b = CassetteEntry.newBuilder()
                .setRequestId(id)
                .setRequest(request)
                .setRequestPartition(1)
                .setRequestOffset(42)
                .setRequestTimestampMs(1_700_000_000_000L);
        if (answered) {
            Tensor out = Tensors.f32(new float[] {1f / 3, 2f, 3f, 4f}, 2, 2);
            b.setResponse(InferenceResponse.newBuilder()
                            .setRequestId(id)
                            .setStatus(ResponseStatus.OK)
                            .setOutput(out)
                            .setTokenExperts(List.of(List.of(1, 0), List.of(2)))
                            .setTokenWeights(Tensors.f32(new float[] {0.75f, 0.25f, 1f}, 3))
                            .setDropped(List.of())
                            .setMissingExperts(List.of())
                            .setReceivedAtMs(1)
                            .setCompletedAtMs(2)
                            .setFingerprint("sha256:" + "00".repeat(32))
                            .build())
                    .setResponsePartition(3)
                    .setResponseOffset(7L)
                    .setResponseTimestampMs(1_700_000_000_050L);
        }
        return b.build();
    }

    @Test
    void entriesAndHeaderRoundTripAndTheFileAppearsOnlyWhenClosed() throws IOException {
        // Given a cassette being written with two entries, one without a response
        Path file = dir.resolve("run.cassette");
        CassetteWriter w = CassetteWriter.create(file, Map.of("moe.topic-prefix", "moe."));
        w.append(entry("a", true));
        w.append(entry("b", false));
        assertFalse(Files.exists(file), "no cassette under its name before close");
        // When it is closed and read back
        w.close();
        List<CassetteEntry> back = new ArrayList<>();
        Map<String, String> meta;
        try (CassetteReader r = CassetteReader.open(file)) {
            r.forEach(back::add);
            meta = r.metadata();
        }
        // Then the entries are the same, values for values (floats bit for bit), with the header keys
        assertEquals(List.of(entry("a", true), entry("b", false)), back);
        assertEquals("moe.", meta.get("moe.topic-prefix"));
        assertEquals(CassetteWriter.FORMAT_VERSION, meta.get(CassetteWriter.FORMAT_KEY));
        assertFalse(Files.exists(dir.resolve("run.cassette.partial")));
        assertEquals(2, w.count());
    }

    @Test
    void countReadsTheBlockHeadersOfEveryBlock() throws IOException {
        // Given a cassette of 2500 entries, written in several Avro blocks (the writer flushes ~64 KiB blocks)
        Path file = dir.resolve("many.cassette");
        try (CassetteWriter w = CassetteWriter.create(file, Map.of())) {
            for (int i = 0; i < 2500; i++) {
                w.append(entry("r" + i, i % 3 != 0));
            }
        }
        // When its entries are counted, Then the count is the number appended, and reading still works after
        assertEquals(2500, CassetteReader.count(file));
        int read = 0;
        try (CassetteReader r = CassetteReader.open(file)) {
            for (CassetteEntry e : r) {
                assertEquals("r" + read, e.getRequestId());
                read++;
            }
        }
        assertEquals(2500, read);
    }

    @Test
    void anAbortedRecordingLeavesNoFile() throws IOException {
        // Given a cassette being written
        Path file = dir.resolve("aborted.cassette");
        CassetteWriter w = CassetteWriter.create(file, Map.of());
        w.append(entry("a", true));
        // When the recording is aborted
        w.abort();
        // Then neither the cassette nor its partial file exist
        assertFalse(Files.exists(file));
        assertFalse(Files.exists(dir.resolve("aborted.cassette.partial")));
    }

    @Test
    void filesThatAreNotCassettesAreRefusedNamingTheFile() throws IOException {
        // Given a text file and an Avro file of other records
        Path text = dir.resolve("notes.txt");
        Files.writeString(text, "hello");
        Path otherAvro = dir.resolve("requests.avro");
        try (DataFileWriter<InferenceRequest> w =
                new DataFileWriter<>(new SpecificDatumWriter<>(InferenceRequest.class))) {
            w.create(InferenceRequest.getClassSchema(), otherAvro.toFile());
            w.append(entry("x", false).getRequest());
        }
        // When they are opened as cassettes
        IllegalArgumentException a = assertThrows(IllegalArgumentException.class, () -> CassetteReader.open(text));
        IllegalArgumentException b = assertThrows(IllegalArgumentException.class, () -> CassetteReader.open(otherAvro));
        // Then the errors name the file and say what was found
        assertTrue(a.getMessage().startsWith(text + ": expected a cassette"), a.getMessage());
        assertTrue(b.getMessage().contains("found io.moestreams.avro.InferenceRequest records"), b.getMessage());
        assertThrows(IOException.class, () -> CassetteReader.open(dir.resolve("missing.cassette")));
    }
}

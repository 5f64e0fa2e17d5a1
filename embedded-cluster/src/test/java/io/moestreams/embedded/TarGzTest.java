package io.moestreams.embedded;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TarGzTest {

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"gnu", "pax", "ustar"})
    void extractsWhatTheTarCommandPacked(String format) throws Exception {
        // Given a tree with a long nested path, an empty file and a binary file, packed by the system tar
        Path source = Files.createDirectories(tmp.resolve("source"));
        String longDir = "lib/" + "d".repeat(60) + "/" + "e".repeat(60); // > 100 chars with the file name
        Files.createDirectories(source.resolve(longDir));
        Files.writeString(source.resolve(longDir).resolve("long-name-file.txt"), "deep\n");
        Files.write(source.resolve("empty.bin"), new byte[0]);
        byte[] random = new byte[70_000];
        new Random(42).nextBytes(random);
        Files.write(source.resolve("lib").resolve("random.bin"), random);
        Files.createDirectories(source.resolve("emptydir"));
        Path archive = tmp.resolve("a.tar.gz");
        Process tar = new ProcessBuilder(
                        "tar", "--format=" + format, "-czf", archive.toString(), "-C", source.toString(), ".")
                .redirectErrorStream(true)
                .start();
        String tarOutput = new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(tar.waitFor(60, TimeUnit.SECONDS), "tar did not finish");
        assertEquals(0, tar.exitValue(), "tar failed: " + tarOutput);

        // When it is extracted
        Path target = Files.createDirectories(tmp.resolve("target"));
        int files = TarGz.extract(archive, target);

        // Then every file is there with the same bytes, and nothing else
        Map<String, byte[]> expected = contents(source);
        Map<String, byte[]> actual = contents(target);
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((name, bytes) -> assertArrayEquals(bytes, actual.get(name), name));
        assertEquals(3, files);
        assertTrue(Files.isDirectory(target.resolve("emptydir")));
    }

    @Test
    void rejectsAnEntryThatEscapesTheTargetDirectory() throws Exception {
        // Given an archive whose only entry is named ../escaped.txt (written by a naive tar writer)
        Path archive = tmp.resolve("evil.tar.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(archive))) {
            byte[] data = "x".getBytes(StandardCharsets.US_ASCII);
            out.write(naiveHeader("../escaped.txt", data.length));
            out.write(data);
            out.write(new byte[512 - data.length]);
            out.write(new byte[1024]);
        }
        Path target = Files.createDirectories(tmp.resolve("target"));

        // When it is extracted, Then it fails and nothing is written outside the target
        IOException e = assertThrows(IOException.class, () -> TarGz.extract(archive, target));
        assertTrue(e.getMessage().contains("../escaped.txt"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("escaped.txt")));
    }

    @Test
    void rejectsAHeaderWithAWrongChecksum() throws Exception {
        // Given a header whose checksum field does not match its bytes
        Path archive = tmp.resolve("corrupt.tar.gz");
        byte[] header = naiveHeader("file.txt", 0);
        header[0] = 'g'; // changes the name after the checksum was computed
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(archive))) {
            out.write(header);
            out.write(new byte[1024]);
        }

        // When / Then
        IOException e = assertThrows(IOException.class, () -> TarGz.extract(archive, tmp));
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    }

    /** A v7 tar header for a regular file, written independently of the reader under test. */
    private static byte[] naiveHeader(String name, int size) {
        byte[] h = new byte[512];
        put(h, 0, name);
        put(h, 100, "0000644");
        put(h, 108, "0000000");
        put(h, 116, "0000000");
        put(h, 124, String.format("%011o", size));
        put(h, 136, "00000000000");
        for (int i = 148; i < 156; i++) {
            h[i] = ' ';
        }
        h[156] = '0';
        int sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        put(h, 148, String.format("%06o", sum));
        h[154] = 0;
        return h;
    }

    private static void put(byte[] header, int offset, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(bytes, 0, header, offset, bytes.length);
    }

    private static Map<String, byte[]> contents(Path root) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : (Iterable<Path>) walk.filter(Files::isRegularFile)::iterator) {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                bytes.write(Files.readAllBytes(p));
                files.put(root.relativize(p).toString(), bytes.toByteArray());
            }
        }
        return files;
    }
}

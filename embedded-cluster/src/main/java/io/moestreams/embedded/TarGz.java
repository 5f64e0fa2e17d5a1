package io.moestreams.embedded;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * A small reader for {@code .tar.gz} archives: regular files and directories of ustar, GNU (long names)
 * and POSIX pax archives. Links and special files are skipped. Entries that would land outside the
 * target directory are rejected.
 */
final class TarGz {

    private static final int BLOCK = 512;

    private TarGz() {}

    /** Extracts {@code archive} into the existing directory {@code target}; returns the number of files. */
    static int extract(Path archive, Path target) throws IOException {
        Path root = target.toAbsolutePath().normalize();
        int files = 0;
        try (InputStream in =
                new GZIPInputStream(new BufferedInputStream(Files.newInputStream(archive), 1 << 16), 1 << 16)) {
            byte[] header = new byte[BLOCK];
            String longName = null;
            while (true) {
                if (!readBlock(in, header)) {
                    break; // tolerate archives without the two trailing zero blocks
                }
                if (isZero(header)) {
                    break;
                }
                verifyChecksum(header, archive);
                String name = string(header, 0, 100);
                long size = octal(header, 124, 12, archive);
                char type = (char) header[156];
                String prefix = "ustar".equals(string(header, 257, 5)) ? string(header, 345, 155) : "";
                if (!prefix.isEmpty()) {
                    name = prefix + "/" + name;
                }
                switch (type) {
                    case 'L' -> { // GNU long name: the data is the name of the next entry
                        longName = string(readData(in, size, archive), 0, (int) size);
                        continue;
                    }
                    case 'x' -> { // pax extended header for the next entry
                        String path = paxPath(readData(in, size, archive));
                        if (path != null) {
                            longName = path;
                        }
                        continue;
                    }
                    case 'g' -> { // pax global header: nothing we use
                        skip(in, padded(size), archive);
                        continue;
                    }
                    default -> {
                        // an entry proper, below
                    }
                }
                if (longName != null) {
                    name = longName;
                    longName = null;
                }
                Path destination = root.resolve(name).normalize();
                if (!destination.startsWith(root)) {
                    throw new IOException("archive " + archive + " has an entry outside the target directory: " + name);
                }
                if (type == '5') {
                    Files.createDirectories(destination);
                    skip(in, padded(size), archive);
                } else if (type == '0' || type == '\0' || type == '7') {
                    Files.createDirectories(destination.getParent());
                    try (OutputStream out = Files.newOutputStream(destination)) {
                        copy(in, out, size, archive);
                    }
                    skip(in, padded(size) - size, archive);
                    files++;
                } else {
                    skip(in, padded(size), archive); // links, devices, fifos: not needed here
                }
            }
        }
        return files;
    }

    private static String paxPath(byte[] data) {
        // records: "<len> <key>=<value>\n", len counts the whole record in bytes
        String path = null;
        int pos = 0;
        while (pos < data.length) {
            int space = pos;
            while (space < data.length && data[space] != ' ') {
                space++;
            }
            if (space >= data.length) {
                break;
            }
            int length;
            try {
                length = Integer.parseInt(new String(data, pos, space - pos, StandardCharsets.US_ASCII));
            } catch (NumberFormatException e) {
                break;
            }
            if (length <= 0 || pos + length > data.length) {
                break;
            }
            String record = new String(data, space + 1, pos + length - space - 2, StandardCharsets.UTF_8);
            int eq = record.indexOf('=');
            if (eq > 0 && "path".equals(record.substring(0, eq))) {
                path = record.substring(eq + 1);
            }
            pos += length;
        }
        return path;
    }

    private static byte[] readData(InputStream in, long size, Path archive) throws IOException {
        if (size > 1 << 20) {
            throw new IOException("archive " + archive + " has an extended header of " + size + " bytes, limit 1 MiB");
        }
        byte[] data = new byte[(int) padded(size)];
        readFully(in, data, archive);
        byte[] exact = new byte[(int) size];
        System.arraycopy(data, 0, exact, 0, (int) size);
        return exact;
    }

    private static long padded(long size) {
        return (size + BLOCK - 1) / BLOCK * BLOCK;
    }

    private static boolean readBlock(InputStream in, byte[] block) throws IOException {
        int read = in.readNBytes(block, 0, BLOCK);
        if (read == 0) {
            return false;
        }
        if (read < BLOCK) {
            throw new EOFException("truncated tar header (" + read + " of " + BLOCK + " bytes)");
        }
        return true;
    }

    private static void readFully(InputStream in, byte[] data, Path archive) throws IOException {
        if (in.readNBytes(data, 0, data.length) != data.length) {
            throw new EOFException("archive " + archive + " ends inside an entry");
        }
    }

    private static void copy(InputStream in, OutputStream out, long size, Path archive) throws IOException {
        byte[] buffer = new byte[1 << 16];
        long remaining = size;
        while (remaining > 0) {
            int n = in.read(buffer, 0, (int) Math.min(buffer.length, remaining));
            if (n < 0) {
                throw new EOFException("archive " + archive + " ends inside an entry");
            }
            out.write(buffer, 0, n);
            remaining -= n;
        }
    }

    private static void skip(InputStream in, long bytes, Path archive) throws IOException {
        long remaining = bytes;
        while (remaining > 0) {
            long n = in.skip(remaining);
            if (n <= 0) {
                if (in.read() < 0) {
                    throw new EOFException("archive " + archive + " ends inside an entry");
                }
                n = 1;
            }
            remaining -= n;
        }
    }

    private static boolean isZero(byte[] block) {
        for (byte b : block) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    private static void verifyChecksum(byte[] header, Path archive) throws IOException {
        long stored = octal(header, 148, 8, archive);
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) {
            sum += (i >= 148 && i < 156) ? ' ' : (header[i] & 0xff);
        }
        if (sum != stored) {
            throw new IOException("archive " + archive + " has a corrupt tar header (checksum " + stored + " stored, "
                    + sum + " computed)");
        }
    }

    private static String string(byte[] bytes, int offset, int length) {
        int end = offset;
        while (end < offset + length && bytes[end] != 0) {
            end++;
        }
        return new String(bytes, offset, end - offset, StandardCharsets.UTF_8);
    }

    private static long octal(byte[] bytes, int offset, int length, Path archive) throws IOException {
        if ((bytes[offset] & 0x80) != 0) { // GNU base-256 for large sizes
            long value = bytes[offset] & 0x7f;
            for (int i = offset + 1; i < offset + length; i++) {
                value = (value << 8) | (bytes[i] & 0xff);
            }
            return value;
        }
        int end = offset + length;
        int i = offset;
        while (i < end && (bytes[i] == ' ' || bytes[i] == 0)) {
            i++; // leading padding
        }
        long value = 0;
        for (; i < end && bytes[i] != ' ' && bytes[i] != 0; i++) {
            byte b = bytes[i];
            if (b < '0' || b > '7') {
                throw new IOException(
                        "archive " + archive + " has a non-octal digit in a tar header field at offset " + offset);
            }
            value = (value << 3) | (b - '0');
        }
        return value;
    }
}

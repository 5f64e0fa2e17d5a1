package io.moestreams.schemas;

import java.util.List;
import org.apache.avro.Schema;

/**
 * Checks, before Avro decodes anything, that every length and count in a binary payload fits the bytes actually
 * there. Avro allocates what a payload claims: an array block claiming 2^30 items makes it allocate an
 * {@code Object[2^30]} (4 GiB) for a payload of twenty bytes, a string or bytes length of 2 GiB a 2 GiB buffer. This
 * walk over the writer schema reads only varints and skips the rest, allocates nothing, and refuses a payload whose
 * string, bytes, array or map claims more than the bytes left (every item of an array takes at least one byte, or a
 * bounded count of zero-byte items), an enum or union index out of range, or that ends early. After it passes,
 * decoding allocates at most a small multiple of the payload's size.
 */
final class AvroBounds {

    /** The most items an array or map of zero-byte items (e.g. of null) may claim. */
    static final long MAX_EMPTY_ITEMS = 1 << 16;

    private final byte[] data;
    private final int end;
    private int pos;

    private AvroBounds(byte[] data, int offset, int end) {
        this.data = data;
        this.pos = offset;
        this.end = end;
    }

    /**
     * Walks {@code data[offset..]} as the binary encoding of {@code writer}.
     *
     * @throws IllegalArgumentException naming what was claimed and how many bytes were left
     */
    static void check(Schema writer, byte[] data, int offset) {
        AvroBounds walk = new AvroBounds(data, offset, data.length);
        walk.skip(writer, 0);
    }

    private void skip(Schema s, int depth) {
        if (depth > 64) {
            throw new IllegalArgumentException("schema nests deeper than 64 levels");
        }
        switch (s.getType()) {
            case NULL -> {}
            case BOOLEAN -> take(1, "boolean");
            case INT, LONG -> varint();
            case FLOAT -> take(4, "float");
            case DOUBLE -> take(8, "double");
            case STRING, BYTES -> {
                long length = varint();
                if (length < 0) {
                    throw new IllegalArgumentException("negative " + s.getType().getName() + " length " + length);
                }
                take(length, s.getType().getName());
            }
            case FIXED -> take(s.getFixedSize(), "fixed");
            case ENUM -> {
                long index = varint();
                if (index < 0 || index >= s.getEnumSymbols().size()) {
                    throw new IllegalArgumentException("enum " + s.getName() + " index " + index + " out of range");
                }
            }
            case UNION -> {
                long index = varint();
                List<Schema> branches = s.getTypes();
                if (index < 0 || index >= branches.size()) {
                    throw new IllegalArgumentException("union index " + index + " out of range");
                }
                skip(branches.get((int) index), depth + 1);
            }
            case RECORD -> {
                for (Schema.Field f : s.getFields()) {
                    skip(f.schema(), depth + 1);
                }
            }
            case ARRAY -> items(s.getElementType(), null, depth);
            case MAP -> items(s.getValueType(), Schema.create(Schema.Type.STRING), depth);
            default -> throw new IllegalArgumentException("unsupported Avro type " + s.getType());
        }
    }

    /** Array or map blocks: count (negative: followed by the block's byte size), items, until a zero count. */
    private void items(Schema item, Schema key, int depth) {
        boolean empty = key == null && minSize(item) == 0;
        long total = 0;
        while (true) {
            long count = varint();
            if (count == 0) {
                return;
            }
            if (count < 0) {
                if (count == Long.MIN_VALUE) {
                    throw new IllegalArgumentException("block count out of range");
                }
                count = -count;
                long size = varint();
                if (size < 0 || size > end - pos) {
                    throw new IllegalArgumentException("block claims " + size + " bytes, " + (end - pos) + " left");
                }
            }
            total += count;
            if (empty ? total > MAX_EMPTY_ITEMS : count > end - pos) {
                throw new IllegalArgumentException(
                        "array or map claims " + count + " items, " + (end - pos) + " bytes left");
            }
            for (long i = 0; i < count; i++) {
                if (key != null) {
                    skip(key, depth + 1);
                }
                skip(item, depth + 1);
            }
        }
    }

    /** The fewest bytes one value of {@code s} takes (0 only for null and records of such). */
    private static int minSize(Schema s) {
        return switch (s.getType()) {
            case NULL -> 0;
            case RECORD ->
                s.getFields().stream().mapToInt(f -> minSize(f.schema())).sum() > 0 ? 1 : 0;
            case FIXED -> Math.min(1, s.getFixedSize());
            default -> 1;
        };
    }

    private void take(long n, String what) {
        if (n > end - pos) {
            throw new IllegalArgumentException(what + " of " + n + " bytes, " + (end - pos) + " left");
        }
        pos += (int) n;
    }

    /** A zig-zag varint of at most 10 bytes. */
    private long varint() {
        long raw = 0;
        int shift = 0;
        while (true) {
            if (pos >= end) {
                throw new IllegalArgumentException("data ends inside a number");
            }
            byte b = data[pos++];
            raw |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                break;
            }
            shift += 7;
            if (shift > 63) {
                throw new IllegalArgumentException("number longer than 10 bytes");
            }
        }
        return (raw >>> 1) ^ -(raw & 1);
    }
}

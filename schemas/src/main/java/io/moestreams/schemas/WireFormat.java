package io.moestreams.schemas;

/**
 * The Confluent wire format: byte 0 = magic {@code 0x0}, bytes 1–4 = schema id (big-endian int),
 * then the Avro binary encoding of the record.
 */
public final class WireFormat {

    /** The only magic byte of the format. */
    public static final byte MAGIC_BYTE = 0x0;
    /** Length of the header: magic byte + 4-byte schema id. */
    public static final int HEADER_SIZE = 5;

    private WireFormat() {}

    /** The subject of a topic's values ({@code <topic>-value}) or keys ({@code <topic>-key}). */
    public static String subject(String topic, boolean isKey) {
        return topic + (isKey ? "-key" : "-value");
    }

    /**
     * The schema id of a framed payload, validating the header.
     *
     * @throws IllegalArgumentException with "unknown magic byte 0x.. (expected 0x0)" or
     *     "payload too short: N bytes (need at least 5)"
     */
    public static int schemaId(byte[] payload) {
        checkHeader(payload);
        return readId(payload);
    }

    static void checkHeader(byte[] payload) {
        if (payload.length >= 1 && payload[0] != MAGIC_BYTE) {
            throw new IllegalArgumentException(String.format(
                    "unknown magic byte 0x%02x (expected 0x0): not a Confluent-framed Avro payload",
                    payload[0] & 0xFF));
        }
        if (payload.length < HEADER_SIZE) {
            throw new IllegalArgumentException("payload too short: " + payload.length + " bytes (need at least "
                    + HEADER_SIZE + ": magic byte and 4-byte schema id)");
        }
    }

    static int readId(byte[] payload) {
        return ((payload[1] & 0xFF) << 24)
                | ((payload[2] & 0xFF) << 16)
                | ((payload[3] & 0xFF) << 8)
                | (payload[4] & 0xFF);
    }
}

package io.moestreams.gateway;

import java.util.Arrays;

/**
 * Which experts (by wire id) answered a request, as a small bitset stored per request: duplicate detection and the
 * completeness check never read the stored results.
 */
final class ArrivalBits {

    private ArrivalBits() {}

    static boolean isSet(byte[] bits, int i) {
        return bits != null && i / 8 < bits.length && (bits[i / 8] & (1 << (i % 8))) != 0;
    }

    /** A copy of {@code bits} (null = empty) with bit {@code i} set. */
    static byte[] set(byte[] bits, int i) {
        byte[] out = bits == null || bits.length <= i / 8
                ? Arrays.copyOf(bits == null ? new byte[0] : bits, i / 8 + 1)
                : bits.clone();
        out[i / 8] |= (byte) (1 << (i % 8));
        return out;
    }

    /** A copy of {@code bits} with bit {@code i} cleared ({@code bits} itself when it is not set). */
    static byte[] clear(byte[] bits, int i) {
        if (!isSet(bits, i)) {
            return bits;
        }
        byte[] out = bits.clone();
        out[i / 8] &= (byte) ~(1 << (i % 8));
        return out;
    }
}

package io.moestreams.gateway;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.utils.Bytes;

/**
 * Keys of the combiner's stores. Timers are keyed {@code big-endian time ‖ kind ‖ request id} so a range scan
 * from the start yields the due ones in time order; results are keyed {@code request id ‖ NUL ‖ wire id} so every
 * result of a request shares a prefix.
 */
final class CombinerKeys {

    /** A request's deadline. */
    static final byte DEADLINE = 'T';
    /** Forget the done-marker of an answered request. */
    static final byte PURGE_DONE = 'P';
    /** Forget results whose manifest never came. */
    static final byte PURGE_ORPHANS = 'O';

    private CombinerKeys() {}

    static Bytes timer(long timeMs, byte kind, String requestId) {
        byte[] id = requestId.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(Long.BYTES + 1 + id.length);
        b.putLong(Math.max(0, timeMs)).put(kind).put(id);
        return Bytes.wrap(b.array());
    }

    static long timerTime(Bytes key) {
        return ByteBuffer.wrap(key.get()).getLong();
    }

    static byte timerKind(Bytes key) {
        return key.get()[Long.BYTES];
    }

    static String result(String requestId, int wireId) {
        return resultPrefix(requestId) + String.format("%06d", wireId);
    }

    static String resultPrefix(String requestId) {
        return requestId + '\u0000';
    }
}

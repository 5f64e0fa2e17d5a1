package io.moestreams.gateway;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The request ids the gateway has accepted, for duplicate detection: {@code id → first seen} plus a time index
 * ({@code big-endian time ‖ id}) so that forgetting the ids older than the retention is a range scan over the
 * expired part only, not a scan of every id.
 */
final class RequestIds {

    private final KeyValueStore<String, Long> byId;
    private final KeyValueStore<Bytes, byte[]> byTime;

    RequestIds(KeyValueStore<String, Long> byId, KeyValueStore<Bytes, byte[]> byTime) {
        this.byId = byId;
        this.byTime = byTime;
    }

    /** When {@code id} was first accepted, or null. */
    Long firstSeen(String id) {
        return byId.get(id);
    }

    void remember(String id, long nowMs) {
        byId.put(id, nowMs);
        byTime.put(timeKey(nowMs, id), new byte[0]);
    }

    /** Forgets every id accepted before {@code cutoffMs}; returns how many. */
    int forgetBefore(long cutoffMs) {
        List<Bytes> expired = new ArrayList<>();
        try (KeyValueIterator<Bytes, byte[]> it = byTime.range(timeKey(0, ""), timeKey(cutoffMs, ""))) {
            while (it.hasNext()) {
                KeyValue<Bytes, byte[]> kv = it.next();
                if (time(kv.key) < cutoffMs) {
                    expired.add(kv.key);
                }
            }
        }
        for (Bytes k : expired) {
            byTime.delete(k);
            byId.delete(id(k));
        }
        return expired.size();
    }

    static Bytes timeKey(long timeMs, String id) {
        byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
        return Bytes.wrap(ByteBuffer.allocate(Long.BYTES + idBytes.length)
                .putLong(Math.max(0, timeMs))
                .put(idBytes)
                .array());
    }

    static long time(Bytes key) {
        return ByteBuffer.wrap(key.get()).getLong();
    }

    static String id(Bytes key) {
        byte[] k = key.get();
        return new String(k, Long.BYTES, k.length - Long.BYTES, StandardCharsets.UTF_8);
    }
}

package io.moestreams.gateway;

import java.util.Map;

/**
 * Topic settings of the gateway's and the combiner's changelog topics. After an unclean stop under exactly-once,
 * Kafka Streams rebuilds a store from its changelog; with Kafka's defaults (1 GiB segments, rolled weekly) that
 * means reading most of the history of every request ever combined. Short segments that the log cleaner compacts
 * early keep the restore close to the live state: a few in-flight requests (docs/architecture.md, "Crashes and
 * recovery").
 */
final class Changelogs {

    /** Applied to every store of both topologies. */
    static final Map<String, String> COMPACT_EARLY = Map.of(
            "segment.bytes", Integer.toString(16 * 1024 * 1024),
            "segment.ms", Long.toString(5 * 60_000L),
            "min.cleanable.dirty.ratio", "0.1",
            "delete.retention.ms", Long.toString(60_000L));

    private Changelogs() {}
}

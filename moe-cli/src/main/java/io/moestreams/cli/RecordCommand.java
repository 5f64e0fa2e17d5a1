package io.moestreams.cli;

import io.moestreams.schemas.Topics;
import io.moestreams.schemas.cassette.CassetteWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code moe record}: the requests retained on the topics, with their responses, into a cassette file. */
@Command(
        name = "record",
        mixinStandardHelpOptions = true,
        description = {
            "Write the requests retained on the requests topic and their responses to a cassette file: all of them, "
                    + "or a time range, an offset range, or given ids. A cassette is an Avro object container file "
                    + "of CassetteEntry records (schemas/src/main/avro/CassetteEntry.avsc); moe replay re-runs it.",
            "Only committed records are read; the recording joins no consumer group and commits nothing."
        })
final class RecordCommand implements Callable<Integer> {

    @Mixin
    TopicSelection source;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Cassette file to write.")
    Path out;

    @Override
    public Integer call() throws Exception {
        Map<String, String> kafka = source.kafka();
        String bootstrap = source.bootstrap(kafka);
        String registry = source.registry();
        TopicRecorder.Selection selection = source.selection();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("moe.recorded-at", Instant.now().toString());
        meta.put("moe.bootstrap-servers", bootstrap);
        meta.put("moe.topic-prefix", source.topicPrefix);
        meta.put("moe.selection", selection.describe());
        long t0 = System.nanoTime();
        TopicRecorder.Stats stats;
        CassetteWriter writer = CassetteWriter.create(out, meta);
        try (TopicRecorder recorder = new TopicRecorder(bootstrap, registry, new Topics(source.topicPrefix), kafka)) {
            ProgressBar[] bar = {null}; // records to read are known once the offsets are
            stats = recorder.record(
                    selection,
                    Duration.ofSeconds(source.timeoutSeconds),
                    entry -> {
                        try {
                            writer.append(entry);
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    },
                    (done, total) -> {
                        if (bar[0] == null) {
                            bar[0] = new ProgressBar(System.err, "record", (int) Math.min(total, Integer.MAX_VALUE));
                        }
                        bar[0].update((int) Math.min(done, Integer.MAX_VALUE));
                    });
            writer.close();
        } catch (Exception | Error e) {
            writer.abort();
            throw e;
        }
        System.err.printf(
                "moe record: %d requests (%d with a response, %d undecodable skipped) from %s*, %d records read in "
                        + "%.1f s -> %s%n",
                stats.recorded(),
                stats.answered(),
                stats.undecodable(),
                source.topicPrefix,
                stats.recordsRead(),
                (System.nanoTime() - t0) / 1e9,
                out);
        return 0;
    }
}

package io.moestreams.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.jsonl.RequestJsonlWriter;
import io.moestreams.core.jsonl.ResponseJsonlReader;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.jsonl.ResponseStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Runs of {@code ./moe infer} against a stack on the Docker engine, compared with {@code ./moe reference} on the
 * model the stack serves.
 */
final class InferenceRuns {

    private InferenceRuns() {}

    /** {@code count} requests of 1..16 tokens with ids {@code <name>-<i>}, written to {@code dir/<name>.jsonl}. */
    static Path requests(Path dir, String name, int count, long seed, int hidden) throws IOException {
        Path file = dir.resolve(name + ".jsonl");
        Random random = new Random(seed);
        try (RequestJsonlWriter w = RequestJsonlWriter.open(file)) {
            for (int i = 0; i < count; i++) {
                int len = 1 + random.nextInt(16);
                float[] tokens = new float[len * hidden];
                for (int j = 0; j < tokens.length; j++) {
                    tokens[j] = (float) random.nextGaussian();
                }
                w.write(name + "-" + i, tokens, len, hidden);
            }
        }
        return file;
    }

    /** The answers computed in-process, without Kafka ({@code ./moe reference}). */
    static Path reference(Path model, Path in) {
        Path out = Path.of(in.toString().replace(".jsonl", ".reference.jsonl"));
        List<String> cmd = new ArrayList<>(List.of(Repo.moe().toString()));
        cmd.addAll(List.of(
                "reference", "--model", model.toString(), "--input", in.toString(), "--output", out.toString()));
        Processes.run(Duration.ofMinutes(5), Map.of("MOE_SKIP_BUILD", "1"), Repo.root(), cmd)
                .orFail();
        return out;
    }

    /** Starts {@code ./moe infer} in the background (output in {@code <out>.log}); {@code extra} are more options. */
    static Process infer(String bootstrap, String registry, Path model, Path in, Path out, String... extra)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                Repo.moe().toString(),
                "infer",
                "--bootstrap-servers",
                bootstrap,
                "--schema-registry",
                registry,
                "--model",
                model.toString(),
                "--input",
                in.toString(),
                "--output",
                out.toString()));
        cmd.addAll(Arrays.asList(extra));
        return Processes.start(
                Map.of("MOE_SKIP_BUILD", "1", "MOE_JAVA_OPTS", "-Xmx1g -XX:+UseParallelGC"),
                Repo.root(),
                cmd,
                Path.of(out + ".log"));
    }

    /** Waits for {@code moe infer} (at most 11 minutes), prints its last log line, returns its exit status. */
    static int waitFor(Process infer, Path out, String what) throws Exception {
        if (!infer.waitFor(11, TimeUnit.MINUTES)) {
            infer.destroyForcibly();
            throw new AssertionError("moe infer did not finish: " + Files.readString(Path.of(out + ".log")));
        }
        String log = Files.readString(Path.of(out + ".log"));
        System.err.println(what + ": "
                + Processes.tail(log.strip(), 300).lines().reduce((a, b) -> b).orElse(""));
        return infer.exitValue();
    }

    /** Line by line: the same ids, OK, the reference's routing, and outputs within 1e-5 of the reference's scale. */
    static void assertSameAnswers(Path reference, Path out) throws IOException {
        List<ResponseLine> ref = ResponseJsonlReader.readAll(reference);
        List<ResponseLine> got = ResponseJsonlReader.readAll(out);
        assertEquals(ref.size(), got.size(), "one output line per input line");
        for (int i = 0; i < ref.size(); i++) {
            ResponseLine r = ref.get(i);
            ResponseLine g = got.get(i);
            assertEquals(r.id(), g.id(), "line " + (i + 1));
            assertEquals(ResponseStatus.OK, g.status(), g.id() + ": " + g.error());
            assertTrue(Arrays.deepEquals(r.experts(), g.experts()), g.id() + ": experts differ");
            assertTrue(Arrays.deepEquals(r.weights(), g.weights()), g.id() + ": weights differ");
            assertTrue(Arrays.equals(r.dropped(), g.dropped()), g.id() + ": dropped differ");
            double maxRef = 0;
            double maxDiff = 0;
            for (int j = 0; j < r.output().length; j++) {
                maxRef = Math.max(maxRef, Math.abs(r.output()[j]));
                maxDiff = Math.max(maxDiff, Math.abs((double) r.output()[j] - g.output()[j]));
            }
            assertEquals(r.output().length, g.output().length, g.id() + ": output size");
            assertTrue(maxDiff <= 1e-5 * maxRef, g.id() + ": max |diff| " + maxDiff + " > 1e-5 x " + maxRef);
        }
    }
}

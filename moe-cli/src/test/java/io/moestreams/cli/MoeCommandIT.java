package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.jsonl.ResponseJsonlReader;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.jsonl.ResponseStatus;
import io.moestreams.core.model.LayerFingerprint;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.testsupport.EmbeddedCluster;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The {@code moe} command's contract: infer and reference read and write the same JSONL, one line per input. */
@EmbeddedCluster
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class MoeCommandIT {

    private static int run(String... args) {
        StringWriter err = new StringWriter();
        int code = MoeCli.commandLine().setErr(new PrintWriter(err)).execute(args);
        assertEquals(0, code, String.join(" ", args) + " failed: " + err);
        return code;
    }

    private static void generate(Path dir) {
        run(
                "generate-model",
                "--out",
                dir.resolve("model").toString(),
                "--hidden",
                "16",
                "--ffn",
                "24",
                "--experts",
                "4",
                "--router",
                "{\"type\": \"topk_softmax\", \"top_k\": 2}",
                "--capacity-factor",
                "1.0",
                "--overflow",
                "reroute",
                "--seed",
                "3");
        run(
                "generate-requests",
                "--out",
                dir.resolve("in.jsonl").toString(),
                "--count",
                "40",
                "--hidden",
                "16",
                "--min-len",
                "1",
                "--max-len",
                "12",
                "--seed",
                "4");
    }

    private static void assertSameAsReference(List<ResponseLine> infer, List<ResponseLine> reference) {
        assertEquals(reference.size(), infer.size(), "one output line per input line");
        for (int i = 0; i < reference.size(); i++) {
            ResponseLine r = reference.get(i);
            ResponseLine g = infer.get(i);
            assertEquals(r.id(), g.id(), "line " + (i + 1) + " keeps the input order");
            assertEquals(r.status(), g.status(), r.id() + ": " + g.error());
            if (r.status() != ResponseStatus.OK) {
                continue;
            }
            assertTrue(LayerFingerprint.isFingerprint(r.fingerprint()), r.id() + " fingerprint " + r.fingerprint());
            assertEquals(r.fingerprint(), g.fingerprint(), r.id() + ": computed with the same layer");
            assertTrue(Arrays.deepEquals(r.experts(), g.experts()), r.id() + " experts");
            assertTrue(Arrays.deepEquals(r.weights(), g.weights()), r.id() + " weights");
            assertTrue(Arrays.equals(r.dropped(), g.dropped()), r.id() + " dropped");
            double maxRef = 0;
            double maxDiff = 0;
            for (int j = 0; j < r.output().length; j++) {
                maxRef = Math.max(maxRef, Math.abs(r.output()[j]));
                maxDiff = Math.max(maxDiff, Math.abs((double) r.output()[j] - g.output()[j]));
            }
            assertTrue(maxDiff <= 1e-5 * maxRef, r.id() + ": " + maxDiff);
        }
    }

    @Test
    void inferOnTheEmbeddedStackEqualsReferenceLineByLine(@TempDir Path dir) throws Exception {
        // Given a generated model and request file
        generate(dir);
        String model = dir.resolve("model").toString();

        // When infer runs without a cluster (it starts the embedded one) and reference runs in-process
        run(
                "infer",
                "--model",
                model,
                "--input",
                dir.resolve("in.jsonl").toString(),
                "--output",
                dir.resolve("infer.jsonl").toString());
        run(
                "reference",
                "--model",
                model,
                "--input",
                dir.resolve("in.jsonl").toString(),
                "--output",
                dir.resolve("ref.jsonl").toString());

        // Then both files hold the same answers in the same order
        assertSameAsReference(
                ResponseJsonlReader.readAll(dir.resolve("infer.jsonl")),
                ResponseJsonlReader.readAll(dir.resolve("ref.jsonl")));
    }

    @Test
    void inferAgainstARunningClusterAnswersEveryLineIncludingBadOnes(@TempDir Path dir, EmbeddedStack stack)
            throws Exception {
        // Given a request file with a malformed line and a repeated id between good lines
        generate(dir);
        List<String> lines = new ArrayList<>(Files.readAllLines(dir.resolve("in.jsonl"), StandardCharsets.UTF_8));
        lines.add(3, "{\"id\": \"broken\", \"tokens\": [[1.0, 2.0]]}");
        lines.add(6, lines.get(0));
        Files.write(dir.resolve("mixed.jsonl"), lines, StandardCharsets.UTF_8);
        String model = dir.resolve("model").toString();

        // When infer runs against a running cluster (services started in-process on their own topic prefix)
        run(
                "infer",
                "--model",
                model,
                "--input",
                dir.resolve("mixed.jsonl").toString(),
                "--output",
                dir.resolve("infer.jsonl").toString(),
                "--bootstrap-servers",
                stack.bootstrapServers(),
                "--schema-registry",
                stack.schemaRegistryUrl(),
                "--topic-prefix",
                "cmd" + System.nanoTime() % 100000 + ".",
                "--start-services");
        run(
                "reference",
                "--model",
                model,
                "--input",
                dir.resolve("mixed.jsonl").toString(),
                "--output",
                dir.resolve("ref.jsonl").toString());

        // Then every input line has its answer in order: the bad ones REJECTED with a reason, the rest exact
        List<ResponseLine> infer = ResponseJsonlReader.readAll(dir.resolve("infer.jsonl"));
        List<ResponseLine> reference = ResponseJsonlReader.readAll(dir.resolve("ref.jsonl"));
        assertEquals(lines.size(), infer.size());
        assertEquals(ResponseStatus.REJECTED, infer.get(3).status());
        assertTrue(infer.get(3).error().contains("16"), infer.get(3).error());
        assertEquals(ResponseStatus.REJECTED, infer.get(6).status());
        assertTrue(infer.get(6).error().contains("duplicate"), infer.get(6).error());
        assertSameAsReference(infer, reference);
    }

    @Test
    void aHuggingFaceCheckpointRunsByLayerAndAMissingLayerListsTheSparseOnes(@TempDir Path dir) throws Exception {
        // Given a generated 3-shard BF16 granitemoe checkpoint and a request file
        String ckpt = dir.resolve("ckpt").toString();
        run("generate-model", "--hf", "--family", "granitemoe", "--hidden", "16", "--ffn", "24", "--out", ckpt);
        run("generate-requests", "--out", dir.resolve("in.jsonl").toString(), "--count", "20", "--hidden", "16");
        // When reference and infer run on layer 2, Then they agree line by line
        String in = dir.resolve("in.jsonl").toString();
        run(
                "reference",
                "--model",
                ckpt,
                "--layer",
                "2",
                "--input",
                in,
                "--output",
                dir.resolve("ref.jsonl").toString());
        run(
                "infer",
                "--model",
                ckpt,
                "--layer",
                "2",
                "--input",
                in,
                "--output",
                dir.resolve("inf.jsonl").toString());
        assertSameAsReference(
                ResponseJsonlReader.readAll(dir.resolve("inf.jsonl")),
                ResponseJsonlReader.readAll(dir.resolve("ref.jsonl")));
        // and without --layer the command fails naming the setting and the sparse layers
        StringWriter err = new StringWriter();
        int code = MoeCli.commandLine()
                .setErr(new PrintWriter(err))
                .execute(
                        "reference",
                        "--model",
                        ckpt,
                        "--input",
                        in,
                        "--output",
                        dir.resolve("x.jsonl").toString());
        assertTrue(code != 0);
        assertTrue(
                err.toString().contains("moe.model.layer (--layer): required for a Hugging Face checkpoint"),
                err.toString());
        assertTrue(err.toString().contains("its sparse layers: 0-3"), err.toString());
    }
}

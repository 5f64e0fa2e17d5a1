package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.ExpertResult;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.jsonl.ResponseStatus;
import io.moestreams.core.reference.LayerOutput;
import io.moestreams.expert.ExpertService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Scaling, crashes and dead experts, on the real embedded broker and registry. */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class PipelineResilienceIT {

    private static final int HIDDEN = 16;

    @Test
    void twoWorkersOnOneExpertShareItsLoad(@TempDir Path dir) throws Exception {
        // Given expert 0 with two partitions and two processes serving it (plus one for the others)
        PipelineHarness h = new PipelineHarness();
        Path model = dir.resolve("model");
        PipelineHarness.model(
                model, "mixtral", "{\"type\": \"topk_softmax\", \"top_k\": 2}", "silu", null, "none", HIDDEN, 32, 4, 3);
        List<RequestLine> lines = PipelineHarness.requests(dir, 200, HIDDEN, 2, 16, 9);
        try (LocalPipeline pipeline =
                h.start(model, List.of(Set.of(1, 2, 3)), Map.of("moe.topics.expert-partitions", "0:2"))) {
            ExpertService a = pipeline.startExperts(Set.of(0));
            ExpertService b = pipeline.startExperts(Set.of(0));
            PipelineHarness.awaitCondition(
                    () -> a.ownedPartitions(0) == 1 && b.ownedPartitions(0) == 1,
                    Duration.ofSeconds(60),
                    "both workers of expert 0 own one partition");

            // When the requests are served
            Map<String, InferenceClient.Answer> answers;
            try (InferenceClient client = h.client()) {
                answers = client.run(PipelineHarness.inputs(lines), Duration.ofSeconds(120), n -> {});
            }

            // Then both workers computed part of expert 0's tokens, and every answer is still exact
            Map<String, Integer> blocksByWorker = new HashMap<>();
            for (ExpertResult r : h.readAll(h.topics.expertResults(), ExpertResult.class)) {
                if (r.getExpert() == 0) {
                    blocksByWorker.merge(r.getWorkerId(), 1, Integer::sum);
                }
            }
            assertEquals(2, blocksByWorker.size(), "workers that served expert 0: " + blocksByWorker);
            List<LayerOutput> reference = PipelineHarness.reference(model, lines);
            for (int i = 0; i < lines.size(); i++) {
                PipelineHarness.assertEqualsReference(
                        lines.get(i).id(),
                        reference.get(i),
                        Conversions.line(answers.get(lines.get(i).id()).response()));
            }
        }
    }

    @Test
    void workerStoppedMidRunAndRestartedLosesAndDuplicatesNothing(@TempDir Path dir) throws Exception {
        // Given one process serving every expert
        PipelineHarness h = new PipelineHarness();
        Path model = dir.resolve("model");
        PipelineHarness.model(
                model, "mixtral", "{\"type\": \"topk_softmax\", \"top_k\": 2}", "silu", 1.25, "drop", HIDDEN, 32, 4, 4);
        List<RequestLine> lines = PipelineHarness.requests(dir, 300, HIDDEN, 1, 24, 10);
        try (LocalPipeline pipeline = h.start(model, List.of(), Map.of("moe.gateway.default-timeout-ms", "120000"))) {
            ExpertService first = pipeline.startExperts(Set.of(0, 1, 2, 3));
            CountDownLatch someAnswered = new CountDownLatch(1);
            Map<String, InferenceClient.Answer> answers;
            try (InferenceClient client = h.client()) {
                CompletableFuture<Map<String, InferenceClient.Answer>> run = CompletableFuture.supplyAsync(() -> {
                    try {
                        return client.run(PipelineHarness.inputs(lines), Duration.ofSeconds(180), n -> {
                            if (n >= 20) {
                                someAnswered.countDown();
                            }
                        });
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                // When the worker is stopped mid-run and a new one takes over
                assertTrue(someAnswered.await(120, TimeUnit.SECONDS), "20 answers before the stop");
                pipeline.stopExperts(first);
                pipeline.startExperts(Set.of(0, 1, 2, 3));
                answers = run.get(180, TimeUnit.SECONDS);
            }

            // Then every request completed exactly once, with the reference's answer
            List<LayerOutput> reference = PipelineHarness.reference(model, lines);
            for (int i = 0; i < lines.size(); i++) {
                PipelineHarness.assertEqualsReference(
                        lines.get(i).id(),
                        reference.get(i),
                        Conversions.line(answers.get(lines.get(i).id()).response()));
            }
            Map<String, Integer> responsesPerId = new HashMap<>();
            for (InferenceResponse r : h.readAll(h.topics.responses(), InferenceResponse.class)) {
                responsesPerId.merge(r.getRequestId(), 1, Integer::sum);
            }
            assertEquals(lines.size(), responsesPerId.size());
            responsesPerId.forEach((id, n) -> assertEquals(1, n, "responses for " + id));
        }
    }

    @Test
    void expertThatNeverComesBackTimesOutNamingIt(@TempDir Path dir) throws Exception {
        // Given a 4-expert model whose expert 3 has no worker, and a 3 s deadline
        PipelineHarness h = new PipelineHarness();
        Path model = dir.resolve("model");
        PipelineHarness.model(
                model, "mixtral", "{\"type\": \"topk_softmax\", \"top_k\": 2}", "silu", null, "none", HIDDEN, 32, 4, 5);
        List<RequestLine> lines = PipelineHarness.requests(dir, 40, HIDDEN, 1, 6, 12);
        List<LayerOutput> reference = PipelineHarness.reference(model, lines);
        Map<String, InferenceClient.Answer> answers;
        try (LocalPipeline pipeline =
                        h.start(model, List.of(Set.of(0, 1, 2)), Map.of("moe.gateway.default-timeout-ms", "3000"));
                InferenceClient client = h.client()) {
            // When the requests are sent
            answers = client.run(PipelineHarness.inputs(lines), Duration.ofSeconds(60), n -> {});
            // (a timed-out request releases its in-flight credit like a completed one)
            assertEquals(0, pipeline.gateway().ledger().pendingRequests());
        }

        // Then those that needed expert 3 time out naming it, and the others are exact
        int timedOut = 0;
        for (int i = 0; i < lines.size(); i++) {
            String id = lines.get(i).id();
            ResponseLine got = Conversions.line(answers.get(id).response());
            boolean needs3 = false;
            for (int[] experts : reference.get(i).assignment().experts()) {
                for (int e : experts) {
                    needs3 |= e == 3;
                }
            }
            if (needs3) {
                timedOut++;
                assertEquals(ResponseStatus.TIMEOUT, got.status(), id);
                assertEquals(List.of(3), answers.get(id).response().getMissingExperts(), id);
                assertTrue(got.error().contains("[3]"), got.error());
            } else {
                PipelineHarness.assertEqualsReference(id, reference.get(i), got);
            }
        }
        assertTrue(timedOut > 0 && timedOut < lines.size(), "some but not all requests need expert 3: " + timedOut);
    }
}

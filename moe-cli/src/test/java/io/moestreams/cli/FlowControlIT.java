package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.reference.LayerOutput;
import io.moestreams.gateway.InFlightLedger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Backpressure: an expert over its in-flight credit pauses intake; nothing is dropped; intake resumes. */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class FlowControlIT {

    private static final int HIDDEN = 16;
    private static final long CREDIT = 40;
    private static final int MAX_POLL_RECORDS = 5;
    private static final int TOKENS_PER_REQUEST = 8;

    @Test
    void intakePausesAboveCreditKeepsInFlightBoundedAndLosesNothing(@TempDir Path dir) throws Exception {
        // Given a gateway with a 40-token credit per expert and no expert running yet
        PipelineHarness h = new PipelineHarness();
        Path model = dir.resolve("model");
        PipelineHarness.model(
                model,
                "mixtral",
                "{\"type\": \"topk_softmax\", \"top_k\": 2}",
                "silu",
                null,
                "none",
                HIDDEN,
                32,
                4,
                21);
        List<RequestLine> lines = PipelineHarness.requests(dir, 60, HIDDEN, TOKENS_PER_REQUEST, TOKENS_PER_REQUEST, 22);
        try (LocalPipeline pipeline = h.start(
                        model,
                        List.of(),
                        Map.of(
                                "moe.gateway.inflight-credit-tokens", Long.toString(CREDIT),
                                "moe.gateway.default-timeout-ms", "120000",
                                "max.poll.records", Integer.toString(MAX_POLL_RECORDS)));
                InferenceClient client = h.client()) {
            InFlightLedger ledger = pipeline.gateway().ledger();
            CompletableFuture<Map<String, InferenceClient.Answer>> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return client.run(PipelineHarness.inputs(lines), Duration.ofSeconds(120), n -> {});
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });

            // When the requests pile up, the intake pauses
            PipelineHarness.awaitCondition(
                    () -> pipeline.gateway().throttling(), Duration.ofSeconds(60), "the gateway throttles");
            assertEquals(1.0, h.meters.get("moe.gateway.throttled").gauge().value());
            // ...and stays within the credit plus at most one poll's worth of tokens, for as long as nobody serves
            // (3 s in which the client gets no answer)
            long bound = CREDIT + (long) MAX_POLL_RECORDS * TOKENS_PER_REQUEST * 2;
            Assertions.assertThrows(TimeoutException.class, () -> run.get(3, TimeUnit.SECONDS));
            long peak = 0;
            for (int e = 0; e < ledger.numExperts(); e++) {
                peak = Math.max(peak, ledger.peakInFlight(e));
            }
            assertTrue(peak <= bound, "in-flight peak " + peak + " exceeds " + bound);
            assertTrue(
                    ledger.pendingRequests() < lines.size(),
                    "intake held requests back: " + ledger.pendingRequests() + " of " + lines.size() + " dispatched");

            // Then, once experts serve, every request completes (nothing dropped) and intake resumes
            pipeline.startExperts(Set.of(0, 1, 2, 3));
            Map<String, InferenceClient.Answer> answers = run.get(120, TimeUnit.SECONDS);
            List<LayerOutput> reference = PipelineHarness.reference(model, lines);
            for (int i = 0; i < lines.size(); i++) {
                PipelineHarness.assertEqualsReference(
                        lines.get(i).id(),
                        reference.get(i),
                        Conversions.line(answers.get(lines.get(i).id()).response()));
            }
            PipelineHarness.awaitCondition(
                    () -> !pipeline.gateway().throttling(), Duration.ofSeconds(10), "the gateway resumes");
            assertFalse(pipeline.gateway().throttling());
            assertTrue(h.meters.get("moe.gateway.throttle.events").counters().stream()
                            .mapToDouble(c -> c.count())
                            .sum()
                    >= 1);
        }
    }
}

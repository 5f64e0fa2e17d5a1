package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.InferenceResponse;
import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.reference.LayerOutput;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of real OS processes, at ten points of a paced 300-request run each: an expert process (whose partitions
 * it shares with another process serving the same experts) and the gateway process. Every request must end OK with
 * the reference's output, exactly one response per request on the topic, and the stalls are measured.
 *
 * <p>The run's clock is the sender's progress: kills and restarts happen when the n-th request has been sent, and
 * the next kill waits until the restarted process has served again — no sleeps decide an outcome.
 */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class CrashRecoveryIT {

    private static final int HIDDEN = 32;
    private static final int REQUESTS = 300;
    private static final long PACE_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
    private static final int KILLS = 10;
    private static final Set<Integer> KILLED_EXPERTS = Set.of(0, 1, 2, 3);
    private static final int FIRST_KILL = 15;
    private static final int KILL_EVERY = 27;
    private static final int DOWN_FOR = 6; // requests sent while the killed process is down (1.5 s)

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void killNineOfAnExpertProcessAtTenPointsLosesAndDuplicatesNothing(@TempDir Path dir) throws Exception {
        // Given experts 0-3 served by processes a and c, 4-7 by b and c; a's commits lag 1 s behind its sends, so
        // most kills land after results went out and before their offsets were committed
        Path model = dir.resolve("model");
        PipelineHarness.model(
                model,
                "mixtral",
                "{\"type\": \"topk_softmax\", \"top_k\": 2}",
                "silu",
                1.25,
                "drop",
                HIDDEN,
                64,
                8,
                21);
        List<RequestLine> lines = PipelineHarness.requests(dir, REQUESTS, HIDDEN, 1, 24, 22);
        List<LayerOutput> reference = PipelineHarness.reference(model, lines);
        // Offsets are committed 1 s after a batch's results are acknowledged, longer than the 250 ms between
        // requests: at every kill the last few requests' results are sent but not committed, so the restarted
        // process computes them again however fast the machine is (the combiner must keep one of each).
        try (ProcessPipeline p = new ProcessPipeline(dir, model, Map.of("moe.expert.commit-delay-ms", "1000"))) {
            p.startGateway();
            ChildProcess a = p.startExperts("a", "0-3");
            p.startExperts("b", "4-7");
            p.startExperts("c", "0-7");
            try (LoadClient client = p.client()) {
                awaitServing(client, "probe-expert");
                p.watchResults();

                // When process a is killed ten times mid-run and restarted 1.5 s later each time
                Run run = new Run(client, lines);
                List<long[]> outages = new ArrayList<>(); // {kill, restart} nanoTime
                run.start();
                p.onClose(run);
                for (int k = 0; k < KILLS; k++) {
                    run.awaitSent(FIRST_KILL + k * KILL_EVERY);
                    long kill = System.nanoTime();
                    a.kill();
                    run.awaitSent(FIRST_KILL + k * KILL_EVERY + DOWN_FOR);
                    a.restart();
                    long restart = System.nanoTime();
                    outages.add(new long[] {kill, restart});
                    // the next kill comes only once the restarted process serves again - every one of its experts
                    // has sent a result (owning partitions is not enough: a kill right after the join, before the
                    // first batch, would only measure how often the process can be killed) - and every request
                    // sent before this kill has its answer
                    PipelineHarness.awaitCondition(
                            () -> servedSince(p, restart, "a").containsAll(KILLED_EXPERTS),
                            Duration.ofSeconds(120),
                            "every expert of process a serving again after restart " + (k + 1));
                    PipelineHarness.awaitCondition(
                            () -> run.allAnsweredSentBefore(kill),
                            Duration.ofSeconds(120),
                            "every request sent before kill " + (k + 1) + " answered");
                    run.release(k);
                }
                Map<String, InferenceResponse> answers = run.awaitAnswers(Duration.ofMinutes(3));
                diagnose(p, answers, outages, run);

                // Then every request is OK and equals the reference, with exactly one response record each
                assertAllOkAndExact(lines, reference, answers);
                assertExactlyOneResponseEach(p.allResponses(), lines.size());
                // And the kills did hit work in flight: some results were computed twice (and combined once)
                Map<String, Integer> perBlock = new HashMap<>();
                for (ProcessPipeline.SeenResult r : p.results()) {
                    perBlock.merge(r.requestId() + "/" + r.expert(), 1, Integer::sum);
                }
                long recomputed = perBlock.values().stream().filter(n -> n > 1).count();
                assertTrue(recomputed > 0, "no result was recomputed: the kills missed every batch in flight");

                // And the stalls: unaffected experts go on at once; a's partitions resume after its restart
                List<Double> unaffected = new ArrayList<>();
                List<Double> resumed = new ArrayList<>();
                List<Double> resumedAll = new ArrayList<>();
                for (long[] o : outages) {
                    unaffected.add(msUntil(p, o[0], r -> r.expert() >= 4));
                    resumed.add(msUntil(p, o[1], r -> r.workerId().equals("a")));
                    double all = 0;
                    for (int e : KILLED_EXPERTS) {
                        all = Math.max(all, msUntil(p, o[1], r -> r.workerId().equals("a") && r.expert() == e));
                    }
                    resumedAll.add(all);
                }
                report(
                        "expert",
                        Map.of(
                                "kill -> next result of an unaffected expert (ms)", unaffected,
                                "restart -> first result from the restarted process (ms)", resumed,
                                "restart -> every expert of the restarted process serving (ms)", resumedAll),
                        recomputed,
                        answers.size());
            }
        }
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void killNineOfTheGatewayProcessAtTenPointsLosesAndDuplicatesNothing(@TempDir Path dir) throws Exception {
        // Given a gateway process whose intake and combiner commit only every 500 ms, so most kills land inside
        // an open transaction, and two expert processes
        Path model = dir.resolve("model");
        PipelineHarness.model(
                model,
                "mixtral",
                "{\"type\": \"topk_softmax\", \"top_k\": 2}",
                "silu",
                1.25,
                "drop",
                HIDDEN,
                64,
                8,
                31);
        List<RequestLine> lines = PipelineHarness.requests(dir, REQUESTS, HIDDEN, 1, 24, 32);
        List<LayerOutput> reference = PipelineHarness.reference(model, lines);
        Map<String, String> settings = Map.of("moe.gateway.eager-commit", "false", "commit.interval.ms", "500");
        try (ProcessPipeline p = new ProcessPipeline(dir, model, settings)) {
            ChildProcess gateway = p.startGateway();
            p.startExperts("a", "0-3");
            p.startExperts("b", "4-7");
            try (LoadClient client = p.client()) {
                awaitServing(client, "probe-gateway");
                p.watchResults();

                // When the gateway is killed ten times mid-run and restarted 1.5 s later each time
                Run run = new Run(client, lines);
                List<long[]> outages = new ArrayList<>();
                run.start();
                p.onClose(run);
                for (int k = 0; k < KILLS; k++) {
                    run.awaitSent(FIRST_KILL + k * KILL_EVERY);
                    long kill = System.nanoTime();
                    gateway.kill();
                    run.awaitSent(FIRST_KILL + k * KILL_EVERY + DOWN_FOR);
                    gateway.restart();
                    long restart = System.nanoTime();
                    outages.add(new long[] {kill, restart});
                    PipelineHarness.awaitCondition(
                            () -> run.answeredSentAfter(restart),
                            Duration.ofSeconds(120),
                            "a response after gateway restart " + (k + 1));
                    // the next kill comes once the restarted gateway has worked off what the kill left in flight
                    // (on a slow machine, kills every few seconds would otherwise only ever hit a growing backlog)
                    PipelineHarness.awaitCondition(
                            () -> run.allAnsweredSentBefore(kill),
                            Duration.ofSeconds(120),
                            "every request sent before kill " + (k + 1) + " answered");
                    run.release(k);
                }
                Map<String, InferenceResponse> answers = run.awaitAnswers(Duration.ofMinutes(3));
                diagnose(p, answers, outages, run);

                // Then every request is OK and equals the reference, with exactly one response record each
                assertAllOkAndExact(lines, reference, answers);
                assertExactlyOneResponseEach(p.allResponses(), lines.size());

                List<Double> resumed = new ArrayList<>();
                for (long[] o : outages) {
                    resumed.add(run.msUntilAnswerAfter(o[1]));
                }
                report("gateway", Map.of("restart -> first response (ms)", resumed), 0, answers.size());
            }
        }
    }

    /** Prints, for the first requests that were not OK, when their results arrived relative to the outages. */
    private static void diagnose(
            ProcessPipeline p, Map<String, InferenceResponse> answers, List<long[]> outages, Run run) {
        long t0 = run.startedNanos();
        List<String> bad = answers.values().stream()
                .filter(r -> !r.getStatus().name().equals("OK"))
                .map(InferenceResponse::getRequestId)
                .sorted()
                .limit(3)
                .toList();
        if (bad.isEmpty()) {
            return;
        }
        StringBuilder sb = new StringBuilder("outages (s after start):");
        for (long[] o : outages) {
            sb.append(String.format(" [%.1f..%.1f]", (o[0] - t0) / 1e9, (o[1] - t0) / 1e9));
        }
        for (String id : bad) {
            sb.append("\n")
                    .append(id)
                    .append(" sent at ")
                    .append(String.format("%.1f", (run.sentNanos(id) - t0) / 1e9))
                    .append(" s, results:");
            for (ProcessPipeline.SeenResult r : p.results()) {
                if (r.requestId().equals(id)) {
                    sb.append(String.format(" e%d@%.1f", r.expert(), (r.atNanos() - t0) / 1e9));
                }
            }
        }
        System.out.println(sb);
    }

    /** Sends a probe and waits for its answer: the whole pipeline is up. */
    private static void awaitServing(LoadClient client, String id) throws Exception {
        float[] tokens = new float[HIDDEN];
        tokens[0] = 1f;
        InferenceResponse r =
                client.send(id, tokens, 1, HIDDEN).get(180, TimeUnit.SECONDS).response();
        assertEquals("OK", r.getStatus().name(), "probe: " + r.getError());
    }

    private static void assertAllOkAndExact(
            List<RequestLine> lines, List<LayerOutput> reference, Map<String, InferenceResponse> answers) {
        Map<String, Integer> statuses = new TreeMap<>();
        answers.values().forEach(r -> statuses.merge(r.getStatus().name(), 1, Integer::sum));
        List<String> notOk = answers.values().stream()
                .filter(r -> !r.getStatus().name().equals("OK"))
                .limit(5)
                .map(r -> r.getRequestId() + " " + r.getStatus() + ": " + r.getError())
                .toList();
        assertEquals(Map.of("OK", lines.size()), statuses, "statuses of " + lines.size() + " requests, e.g. " + notOk);
        for (int i = 0; i < lines.size(); i++) {
            String id = lines.get(i).id();
            PipelineHarness.assertEqualsReference(id, reference.get(i), Conversions.line(answers.get(id)));
        }
    }

    private static void assertExactlyOneResponseEach(List<InferenceResponse> all, int requests) {
        Map<String, Integer> perId = new HashMap<>();
        for (InferenceResponse r : all) {
            if (!r.getRequestId().startsWith("probe")) {
                perId.merge(r.getRequestId(), 1, Integer::sum);
            }
        }
        assertEquals(requests, perId.size(), "requests with a response on the topic");
        List<String> duplicated = perId.entrySet().stream()
                .filter(e -> e.getValue() > 1)
                .map(Map.Entry::getKey)
                .toList();
        assertTrue(duplicated.isEmpty(), "requests answered more than once: " + duplicated);
    }

    /** The experts of which worker {@code workerId} has sent a result since {@code fromNanos}. */
    private static Set<Integer> servedSince(ProcessPipeline p, long fromNanos, String workerId) {
        return p.results().stream()
                .filter(r -> r.atNanos() > fromNanos && r.workerId().equals(workerId))
                .map(ProcessPipeline.SeenResult::expert)
                .collect(Collectors.toSet());
    }

    private static double msUntil(ProcessPipeline p, long fromNanos, Predicate<ProcessPipeline.SeenResult> which) {
        return p.results().stream()
                .filter(r -> r.atNanos() > fromNanos && which.test(r))
                .mapToLong(ProcessPipeline.SeenResult::atNanos)
                .min()
                .stream()
                .mapToDouble(t -> (t - fromNanos) / 1e6)
                .findFirst()
                .orElse(Double.NaN);
    }

    private static void report(String what, Map<String, List<Double>> stalls, long recomputed, int answered)
            throws Exception {
        StringBuilder sb = new StringBuilder();
        sb.append("kill -9 of the ")
                .append(what)
                .append(" process, ")
                .append(KILLS)
                .append(" kills, ")
                .append(answered)
                .append("/")
                .append(REQUESTS)
                .append(" OK, 0 duplicated responses");
        if (recomputed > 0) {
            sb.append(", ").append(recomputed).append(" blocks recomputed after kills (combined once)");
        }
        sb.append('\n');
        for (Map.Entry<String, List<Double>> e : new TreeMap<>(stalls).entrySet()) {
            List<Double> v = new ArrayList<>(e.getValue());
            v.sort(Double::compare);
            sb.append(String.format(
                    "  %s: p50 %.0f, max %.0f, all %s%n",
                    e.getKey(),
                    v.get(v.size() / 2),
                    v.get(v.size() - 1),
                    e.getValue().stream().map(x -> String.format("%.0f", x)).toList()));
        }
        System.out.print(sb);
        Path out = Path.of("target", "chaos-" + what + ".txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, sb.toString());
    }

    /**
     * The paced load: one request every 250 ms from a sender thread; its progress is the test's clock. At each kill
     * point after the first, the sender waits until the process killed at the previous point has served again, so
     * every kill lands mid-run however slow the machine is.
     */
    private static final class Run implements AutoCloseable {
        private final LoadClient client;
        private final List<RequestLine> lines;
        private final AtomicInteger sent = new AtomicInteger();
        private final List<CountDownLatch> sentLatches = new ArrayList<>();
        private final List<CountDownLatch> released = new ArrayList<>();
        private final Map<String, CompletableFuture<LoadClient.Arrival>> futures = new HashMap<>();
        private final List<Long> answerTimes = new ArrayList<>();
        private Thread sender;
        private final Map<String, Long> sentAt = new ConcurrentHashMap<>();
        private volatile long startedNanos;

        long startedNanos() {
            return startedNanos;
        }

        long sentNanos(String id) {
            return sentAt.getOrDefault(id, 0L);
        }

        Run(LoadClient client, List<RequestLine> lines) {
            this.client = client;
            this.lines = lines;
            for (int i = 0; i <= lines.size(); i++) {
                sentLatches.add(new CountDownLatch(1));
            }
            for (int k = 0; k < KILLS; k++) {
                released.add(new CountDownLatch(1));
            }
        }

        /** The process killed at kill point k has served again: the sender may pass kill point k + 1. */
        void release(int k) {
            released.get(k).countDown();
        }

        private void awaitReleaseBefore(int index) {
            for (int k = 1; k < KILLS; k++) {
                if (index == FIRST_KILL + k * KILL_EVERY) {
                    try {
                        released.get(k - 1).await(5, TimeUnit.MINUTES);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        }

        void start() {
            startedNanos = System.nanoTime();
            sender = new Thread(
                    () -> {
                        long next = System.nanoTime();
                        for (int i = 0; i < lines.size(); i++) {
                            awaitReleaseBefore(i);
                            next = Math.max(next, System.nanoTime());
                            LockSupport.parkNanos(next - System.nanoTime());
                            next += PACE_NANOS;
                            RequestLine l = lines.get(i);
                            if (Thread.currentThread().isInterrupted()) {
                                return; // the test is over
                            }
                            sentAt.put(l.id(), System.nanoTime());
                            CompletableFuture<LoadClient.Arrival> f =
                                    client.send(l.id(), l.tokens(), l.seqLen(), l.hiddenSize());
                            f.thenAccept(a -> {
                                synchronized (answerTimes) {
                                    answerTimes.add(a.atNanos());
                                }
                            });
                            synchronized (futures) {
                                futures.put(l.id(), f);
                            }
                            sentLatches.get(sent.incrementAndGet()).countDown();
                        }
                    },
                    "chaos-sender");
            sender.setDaemon(true);
            sender.start();
        }

        @Override
        public void close() {
            if (sender != null) {
                sender.interrupt();
            }
        }

        void awaitSent(int n) throws InterruptedException {
            if (!sentLatches.get(Math.min(n, lines.size())).await(5, TimeUnit.MINUTES)) {
                throw new AssertionError("the sender did not reach request " + n);
            }
        }

        /** Every request sent before {@code nanos} has been answered. */
        boolean allAnsweredSentBefore(long nanos) {
            synchronized (futures) {
                return futures.entrySet().stream()
                        .filter(e -> sentNanos(e.getKey()) < nanos)
                        .allMatch(e -> e.getValue().isDone());
            }
        }

        /** A request sent after {@code nanos} has been answered (a response committed before then does not count). */
        boolean answeredSentAfter(long nanos) {
            synchronized (futures) {
                return futures.entrySet().stream()
                        .anyMatch(e ->
                                sentNanos(e.getKey()) > nanos && e.getValue().isDone());
            }
        }

        double msUntilAnswerAfter(long fromNanos) {
            synchronized (answerTimes) {
                return answerTimes.stream().filter(t -> t > fromNanos).mapToLong(Long::longValue).min().stream()
                        .mapToDouble(t -> (t - fromNanos) / 1e6)
                        .findFirst()
                        .orElse(Double.NaN);
            }
        }

        Map<String, InferenceResponse> awaitAnswers(Duration timeout) throws Exception {
            sender.join(TimeUnit.MINUTES.toMillis(5));
            Map<String, InferenceResponse> out = new HashMap<>();
            long deadline = System.nanoTime() + timeout.toNanos();
            List<String> missing = new ArrayList<>();
            synchronized (futures) {
                for (Map.Entry<String, CompletableFuture<LoadClient.Arrival>> e : futures.entrySet()) {
                    long left = Math.max(1, deadline - System.nanoTime());
                    try {
                        out.put(
                                e.getKey(),
                                e.getValue().get(left, TimeUnit.NANOSECONDS).response());
                    } catch (TimeoutException ex) {
                        missing.add(e.getKey());
                    }
                }
            }
            assertTrue(
                    missing.isEmpty(),
                    missing.size() + " requests got no response, e.g. "
                            + missing.subList(0, Math.min(5, missing.size())));
            return out;
        }
    }
}

package io.moestreams.cli;

import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.jsonl.ResponseStatus;
import io.moestreams.core.reference.LayerOutput;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The verdict of {@code moe demo}: the pipeline's answers held against the in-process reference (routing, drops
 * and outputs), the per-expert load and the latencies, and the report printed from them.
 */
final class DemoReport {

    /** Relative tolerance of the comparison with the reference. */
    static final double TOLERANCE = 1e-5;

    private final long[] load;
    private final long[] sortedLatencies;
    private long dropped;
    private int notOk;
    private int routingMismatches;
    private double maxAbsDiff;
    private double maxAbsRef;

    private DemoReport(int experts, int requests) {
        this.load = new long[experts];
        this.sortedLatencies = new long[requests];
    }

    /**
     * Compares the answer to each request with the reference output of the same request.
     *
     * @param lines     the requests, in order
     * @param answers   the pipeline's answers by request id (one for every request)
     * @param reference the reference outputs, in the order of {@code lines}
     * @param experts   number of routed experts of the layer
     */
    static DemoReport compare(
            List<RequestLine> lines,
            Map<String, InferenceClient.Answer> answers,
            List<LayerOutput> reference,
            int experts) {
        DemoReport report = new DemoReport(experts, lines.size());
        for (int i = 0; i < lines.size(); i++) {
            InferenceClient.Answer a = answers.get(lines.get(i).id());
            report.sortedLatencies[i] = a.latencyNanos();
            report.add(Conversions.line(a.response()), reference.get(i));
        }
        Arrays.sort(report.sortedLatencies);
        return report;
    }

    private void add(ResponseLine got, LayerOutput ref) {
        if (got.status() != ResponseStatus.OK) {
            notOk++;
            return;
        }
        dropped += got.dropped().length;
        for (int[] te : got.experts()) {
            for (int e : te) {
                load[e]++;
            }
        }
        if (!Arrays.deepEquals(got.experts(), ref.assignment().experts())
                || !Arrays.equals(got.dropped(), ref.assignment().dropped())) {
            routingMismatches++;
        }
        float[] o = got.output();
        float[] r = ref.output();
        for (int j = 0; j < r.length; j++) {
            maxAbsRef = Math.max(maxAbsRef, Math.abs(r[j]));
            maxAbsDiff = Math.max(maxAbsDiff, Math.abs((double) o[j] - r[j]));
        }
    }

    /** True when every answer is OK, routed as the reference and within {@link #TOLERANCE} (relative) of it. */
    boolean ok() {
        return notOk == 0 && routingMismatches == 0 && maxAbsDiff <= TOLERANCE * maxAbsRef;
    }

    /** Prints load, drops, latency, throughput and the comparison, then the verdict. */
    void print(PrintStream out, long totalTokens, double pipelineSecs, double referenceSecs) {
        out.println();
        out.println("per-expert load (token-choices served):");
        long maxLoad = Arrays.stream(load).max().orElse(1);
        for (int e = 0; e < load.length; e++) {
            int bar = (int) (40 * load[e] / Math.max(1, maxLoad));
            out.printf("  expert %2d %7d  %s%n", e, load[e], "#".repeat(bar));
        }
        out.printf("dropped tokens: %d of %d (%.2f%%)%n", dropped, totalTokens, 100.0 * dropped / totalTokens);
        out.printf(
                "latency (all %d requests sent at once): p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
                sortedLatencies.length,
                percentile(0.50) / 1e6,
                percentile(0.99) / 1e6,
                sortedLatencies[sortedLatencies.length - 1] / 1e6);
        out.printf(
                "throughput: pipeline %.0f tokens/s (%d requests in %.2f s); reference in-process %.0f tokens/s%n",
                totalTokens / pipelineSecs, sortedLatencies.length, pipelineSecs, totalTokens / referenceSecs);
        double rel = maxAbsRef == 0 ? maxAbsDiff : maxAbsDiff / maxAbsRef;
        out.printf(
                "max |pipeline - reference| = %.3g (%.3g of max |reference| = %.3g); routing mismatches: %d; "
                        + "non-OK responses: %d%n",
                maxAbsDiff, rel, maxAbsRef, routingMismatches, notOk);
        out.println(
                ok()
                        ? "demo: OK — the pipeline equals the reference (tolerance 1e-5 relative)"
                        : "demo: FAILED — the pipeline differs from the reference");
    }

    private long percentile(double p) {
        int idx = (int) Math.ceil(p * sortedLatencies.length) - 1;
        return sortedLatencies[Math.max(0, Math.min(sortedLatencies.length - 1, idx))];
    }
}

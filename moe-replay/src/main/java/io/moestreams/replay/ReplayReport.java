package io.moestreams.replay;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moestreams.core.jsonl.ResponseLine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a replay found: one {@link RequestDiff} per request, the histogram of output differences, the per-expert
 * load recorded and replayed, the fingerprints involved; the summary line and the JSON report.
 */
public final class ReplayReport {

    /** Positions printed per list in a request's line ({@link #positions}). */
    public static final int MAX_POSITIONS = 50;

    /** What was replayed against what. */
    public record Setup(
            String source, String model, String layer, boolean forcedRouting, double tolerance, String fingerprint) {}

    private final Setup setup;
    private final List<RequestDiff> diffs = new ArrayList<>();
    private final DiffHistogram histogram = new DiffHistogram();
    private final Map<RequestDiff.Verdict, Integer> verdicts = new EnumMap<>(RequestDiff.Verdict.class);
    private final Map<String, Integer> recordedFingerprints = new TreeMap<>();
    private long[] loadRecorded;
    private long[] loadReplayed;
    private long tokens;
    private long tokensDiffering;
    private int tokensDifferingRequests;
    private long routingChangedTokens;
    private int routingChangedRequests;
    private int dropChangedRequests;
    private double maxAbsDiff;
    private double maxRelDiff;

    public ReplayReport(Setup setup, int numExperts) {
        this.setup = setup;
        this.loadRecorded = new long[numExperts];
        this.loadReplayed = new long[numExperts];
    }

    public Setup setup() {
        return setup;
    }

    public DiffHistogram histogram() {
        return histogram;
    }

    /** Adds a request that was not compared (skipped or failed). */
    public void add(RequestDiff diff, String recordedFingerprint) {
        add(diff, recordedFingerprint, null, null);
    }

    /** Adds a compared request with both answers (for the expert load). */
    public void add(RequestDiff diff, String recordedFingerprint, ResponseLine recorded, ResponseLine replayed) {
        diffs.add(diff);
        verdicts.merge(diff.verdict(), 1, Integer::sum);
        if (recordedFingerprint != null) {
            recordedFingerprints.merge(recordedFingerprint, 1, Integer::sum);
        }
        tokens += diff.seqLen();
        tokensDiffering += diff.tokensDiffering().length;
        tokensDifferingRequests += diff.tokensDiffering().length > 0 ? 1 : 0;
        routingChangedTokens += diff.routingChanged().length;
        routingChangedRequests += diff.routingChanged().length > 0 ? 1 : 0;
        dropChangedRequests += diff.droppedAdded().length + diff.droppedRemoved().length > 0 ? 1 : 0;
        if (diff.verdict() != RequestDiff.Verdict.FAILED && diff.verdict() != RequestDiff.Verdict.SKIPPED) {
            maxAbsDiff = Math.max(maxAbsDiff, diff.maxAbsDiff());
            maxRelDiff = Math.max(maxRelDiff, diff.maxRelDiff());
        }
        if (recorded != null && replayed != null) {
            loadRecorded = count(recorded.experts(), loadRecorded);
            loadReplayed = count(replayed.experts(), loadReplayed);
        }
    }

    private static long[] count(int[][] experts, long[] load) {
        long[] out = load;
        for (int[] row : experts) {
            for (int e : row) {
                if (e >= out.length) {
                    out = Arrays.copyOf(out, e + 1); // recorded with a layer of more experts
                }
                if (e >= 0) {
                    out[e]++;
                }
            }
        }
        return out;
    }

    public List<RequestDiff> diffs() {
        return diffs;
    }

    public int count(RequestDiff.Verdict v) {
        return verdicts.getOrDefault(v, 0);
    }

    public long[] loadRecorded() {
        return Arrays.copyOf(loadRecorded, Math.max(loadRecorded.length, loadReplayed.length));
    }

    public long[] loadReplayed() {
        return Arrays.copyOf(loadReplayed, Math.max(loadRecorded.length, loadReplayed.length));
    }

    public Map<String, Integer> recordedFingerprints() {
        return recordedFingerprints;
    }

    /** Every request identical or within the tolerance (skipped ones aside). */
    public boolean passed() {
        return diffs.stream().allMatch(d -> d.verdict().passes());
    }

    public String fingerprintVerdict() {
        if (recordedFingerprints.isEmpty()) {
            return "the recording names no layer fingerprint";
        }
        if (recordedFingerprints.size() == 1 && recordedFingerprints.containsKey(setup.fingerprint())) {
            return "recorded with this same layer (" + setup.fingerprint() + ")";
        }
        return "recorded with " + String.join(", ", recordedFingerprints.keySet()) + "; replayed with "
                + setup.fingerprint()
                + (recordedFingerprints.containsKey(setup.fingerprint()) ? "" : " (another layer)");
    }

    public String summaryLine() {
        return String.format(
                Locale.ROOT,
                "moe replay: %d requests: %d bit-identical, %d within tolerance %s, %d different, %d failed, %d skipped;"
                        + " output differs on %d tokens of %d requests;"
                        + " routing changed on %d tokens of %d requests, drops changed in %d requests;"
                        + " max |diff| %.3g, max rel diff %.3g%s -> %s",
                diffs.size(),
                count(RequestDiff.Verdict.IDENTICAL),
                count(RequestDiff.Verdict.WITHIN_TOLERANCE),
                setup.tolerance() == 0 ? "0" : Double.toString(setup.tolerance()),
                count(RequestDiff.Verdict.DIFFERENT),
                count(RequestDiff.Verdict.FAILED),
                count(RequestDiff.Verdict.SKIPPED),
                tokensDiffering,
                tokensDifferingRequests,
                routingChangedTokens,
                routingChangedRequests,
                dropChangedRequests,
                maxAbsDiff,
                maxRelDiff,
                setup.forcedRouting() ? " (forced routing)" : "",
                passed() ? "PASS" : "FAIL");
    }

    /** One line for a request that did not pass or was skipped, or null for a passing one. */
    public static String line(RequestDiff d) {
        if (d.verdict() == RequestDiff.Verdict.IDENTICAL || d.verdict() == RequestDiff.Verdict.WITHIN_TOLERANCE) {
            return null;
        }
        StringBuilder sb = new StringBuilder(d.verdict().name()).append(' ').append(d.id());
        if (d.verdict() == RequestDiff.Verdict.DIFFERENT) {
            sb.append(String.format(Locale.ROOT, ": max |diff| %.3g (rel %.3g)", d.maxAbsDiff(), d.maxRelDiff()));
            if (d.tokensDiffering().length > 0) {
                sb.append(", output differs at tokens ").append(positions(d.tokensDiffering()));
            }
            if (d.routingChanged().length > 0) {
                sb.append(", routing changed at tokens ").append(positions(d.routingChanged()));
            }
            if (d.droppedAdded().length > 0) {
                sb.append(", newly dropped ").append(positions(d.droppedAdded()));
            }
            if (d.droppedRemoved().length > 0) {
                sb.append(", no longer dropped ").append(positions(d.droppedRemoved()));
            }
        }
        if (d.note() != null) {
            sb.append(": ").append(d.note());
        }
        return sb.toString();
    }

    /**
     * Positions as {@code [1, 4, 9]}, the first {@link #MAX_POSITIONS} of a longer list followed by how many more
     * (the JSON report has them all).
     */
    public static String positions(int[] positions) {
        if (positions.length <= MAX_POSITIONS) {
            return Arrays.toString(positions);
        }
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < MAX_POSITIONS; i++) {
            sb.append(positions[i]).append(", ");
        }
        return sb.append("… ")
                .append(positions.length - MAX_POSITIONS)
                .append(" more]")
                .toString();
    }

    public void writeJson(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        ObjectNode s = root.putObject("setup");
        s.put("source", setup.source());
        s.put("model", setup.model());
        s.put("layer", setup.layer());
        s.put("forcedRouting", setup.forcedRouting());
        s.put("tolerance", setup.tolerance());
        s.put("fingerprint", setup.fingerprint());
        ObjectNode sum = root.putObject("summary");
        sum.put("requests", diffs.size());
        for (RequestDiff.Verdict v : RequestDiff.Verdict.values()) {
            sum.put(camel(v), count(v));
        }
        sum.put("passed", passed());
        sum.put("tokens", tokens);
        sum.put("tokensDiffering", tokensDiffering);
        sum.put("tokensDifferingRequests", tokensDifferingRequests);
        sum.put("routingChangedTokens", routingChangedTokens);
        sum.put("routingChangedRequests", routingChangedRequests);
        sum.put("dropChangedRequests", dropChangedRequests);
        number(sum, "maxAbsDiff", maxAbsDiff);
        number(sum, "maxRelDiff", maxRelDiff);
        ObjectNode fps = sum.putObject("recordedFingerprints");
        recordedFingerprints.forEach(fps::put);
        ArrayNode hist = root.putArray("histogram");
        long[] counts = histogram.counts();
        List<String> labels = DiffHistogram.labels();
        for (int i = 0; i < counts.length; i++) {
            hist.addObject().put("absDiff", labels.get(i)).put("values", counts[i]);
        }
        ObjectNode load = root.putObject("expertLoad");
        ArrayNode rec = load.putArray("recorded");
        ArrayNode rep = load.putArray("replayed");
        for (long c : loadRecorded()) {
            rec.add(c);
        }
        for (long c : loadReplayed()) {
            rep.add(c);
        }
        ArrayNode requests = root.putArray("requests");
        for (RequestDiff d : diffs) {
            ObjectNode r = requests.addObject();
            r.put("id", d.id());
            r.put("verdict", d.verdict().name());
            r.put("seqLen", d.seqLen());
            r.put("bitIdentical", d.bitIdentical());
            number(r, "maxAbsDiff", d.maxAbsDiff());
            number(r, "maxRelDiff", d.maxRelDiff());
            ArrayNode td = r.putArray("tokensDiffering");
            Arrays.stream(d.tokensDiffering()).forEach(td::add);
            ArrayNode rc = r.putArray("routingChangedTokens");
            Arrays.stream(d.routingChanged()).forEach(rc::add);
            ArrayNode da = r.putArray("droppedAdded");
            Arrays.stream(d.droppedAdded()).forEach(da::add);
            ArrayNode dr = r.putArray("droppedRemoved");
            Arrays.stream(d.droppedRemoved()).forEach(dr::add);
            if (d.note() != null) {
                r.put("note", d.note());
            }
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        json.writeValue(file.toFile(), root);
    }

    /** JSON has no infinity: a string then. */
    private static void number(ObjectNode node, String key, double value) {
        if (Double.isFinite(value)) {
            node.put(key, value);
        } else {
            node.put(key, Double.toString(value));
        }
    }

    private static String camel(RequestDiff.Verdict v) {
        String[] words = v.name().toLowerCase(Locale.ROOT).split("_");
        StringBuilder sb = new StringBuilder(words[0]);
        for (int i = 1; i < words.length; i++) {
            sb.append(Character.toUpperCase(words[i].charAt(0))).append(words[i].substring(1));
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return "ReplayReport[" + diffs.size() + " requests]";
    }
}

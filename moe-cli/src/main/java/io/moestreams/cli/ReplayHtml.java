package io.moestreams.cli;

import io.moestreams.replay.DiffHistogram;
import io.moestreams.replay.ReplayReport;
import io.moestreams.replay.RequestDiff;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The HTML report of a replay: one self-contained file (no script, no external resource) with the summary, the
 * histogram of output differences and the per-expert load recorded vs replayed as inline SVG bar charts, and the
 * requests that did not pass.
 */
final class ReplayHtml {

    /** Rows of the table of requests; the JSON report has them all. */
    static final int MAX_ROWS = 1000;

    private static final String RECORDED = "#4c78a8";
    private static final String REPLAYED = "#f58518";

    private ReplayHtml() {}

    static void write(ReplayReport report, Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, render(report), StandardCharsets.UTF_8);
    }

    static String render(ReplayReport report) {
        ReplayReport.Setup s = report.setup();
        StringBuilder h = new StringBuilder(16_384);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>moe replay</title>\n")
                .append("<style>body{font-family:sans-serif;margin:2em;max-width:70em}")
                .append("table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;")
                .append("font-size:90%;text-align:left}.pass{color:#2a7}.fail{color:#c22}</style></head><body>\n");
        h.append("<h1>moe replay</h1>\n<p class=\"")
                .append(report.passed() ? "pass" : "fail")
                .append("\"><b>")
                .append(esc(report.summaryLine()))
                .append("</b></p>\n<table>");
        row(h, "source", s.source());
        row(h, "model", s.model() + (s.layer() == null ? "" : " layer " + s.layer()));
        row(h, "routing", s.forcedRouting() ? "forced (recorded experts and weights)" : "recomputed by the router");
        row(h, "tolerance", s.tolerance() == 0 ? "0 (bit-identical)" : Double.toString(s.tolerance()));
        row(h, "fingerprint", report.fingerprintVerdict());
        h.append("</table>\n");

        h.append("<h2>Differences |replayed − recorded| over all output values</h2>\n");
        long[] counts = report.histogram().counts();
        List<String> labels = DiffHistogram.labels();
        List<long[]> one = new ArrayList<>();
        for (long c : counts) {
            one.add(new long[] {c});
        }
        h.append(bars(labels, one, new String[] {RECORDED}, new String[] {"values"}, true));

        h.append("<h2>Tokens per expert: recorded vs replayed</h2>\n");
        long[] rec = report.loadRecorded();
        long[] rep = report.loadReplayed();
        List<String> experts = new ArrayList<>();
        List<long[]> pairs = new ArrayList<>();
        for (int e = 0; e < rec.length; e++) {
            experts.add(Integer.toString(e));
            pairs.add(new long[] {rec[e], rep[e]});
        }
        h.append(bars(experts, pairs, new String[] {RECORDED, REPLAYED}, new String[] {"recorded", "replayed"}, false));

        h.append("<h2>Requests that did not pass, or were skipped</h2>\n<table><tr><th>id</th><th>verdict</th>")
                .append("<th>max |diff|</th><th>max rel diff</th><th>tokens whose output differs</th>")
                .append("<th>tokens with changed experts</th>")
                .append("<th>newly dropped</th><th>no longer dropped</th><th>note</th></tr>\n");
        int rows = 0;
        int more = 0;
        for (RequestDiff d : report.diffs()) {
            if (d.verdict() == RequestDiff.Verdict.IDENTICAL || d.verdict() == RequestDiff.Verdict.WITHIN_TOLERANCE) {
                continue;
            }
            if (rows++ >= MAX_ROWS) {
                more++;
                continue;
            }
            h.append("<tr><td>")
                    .append(esc(d.id()))
                    .append("</td><td>")
                    .append(d.verdict())
                    .append("</td><td>")
                    .append(num(d.maxAbsDiff()))
                    .append("</td><td>")
                    .append(num(d.maxRelDiff()))
                    .append("</td><td>")
                    .append(ints(d.tokensDiffering()))
                    .append("</td><td>")
                    .append(ints(d.routingChanged()))
                    .append("</td><td>")
                    .append(ints(d.droppedAdded()))
                    .append("</td><td>")
                    .append(ints(d.droppedRemoved()))
                    .append("</td><td>")
                    .append(d.note() == null ? "" : esc(d.note()))
                    .append("</td></tr>\n");
        }
        h.append("</table>\n");
        if (more > 0) {
            h.append("<p>… and ").append(more).append(" more (see the JSON report).</p>\n");
        }
        if (rows == 0) {
            h.append("<p>None.</p>\n");
        }
        h.append("</body></html>\n");
        return h.toString();
    }

    /**
     * A bar chart: one group of bars per label, one bar per series.
     *
     * @param log whether the height is log10(1 + value) (differences span decades)
     */
    static String bars(List<String> labels, List<long[]> values, String[] colors, String[] series, boolean log) {
        int groups = labels.size();
        int perGroup = colors.length;
        int barW = Math.max(4, Math.min(28, 640 / Math.max(1, groups * perGroup)));
        int groupW = barW * perGroup + 8;
        int left = 60;
        int top = 20;
        int plotH = 200;
        int width = left + groups * groupW + 20;
        int height = top + plotH + 50;
        double max = 0;
        for (long[] v : values) {
            for (long x : v) {
                max = Math.max(max, scale(x, log));
            }
        }
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(
                Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">\n",
                width,
                height));
        svg.append(String.format(
                Locale.ROOT,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n",
                left,
                top + plotH,
                width - 10,
                top + plotH));
        long maxValue = 0;
        for (long[] v : values) {
            for (long x : v) {
                maxValue = Math.max(maxValue, x);
            }
        }
        svg.append(String.format(
                Locale.ROOT,
                "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%d</text>\n",
                left - 4,
                top + 10,
                maxValue));
        svg.append(String.format(
                Locale.ROOT,
                "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">0</text>\n",
                left - 4,
                top + plotH));
        for (int g = 0; g < groups; g++) {
            int x0 = left + 4 + g * groupW;
            for (int k = 0; k < perGroup; k++) {
                long v = values.get(g)[k];
                int hgt = max == 0 ? 0 : (int) Math.round(scale(v, log) / max * plotH);
                svg.append(String.format(
                        Locale.ROOT,
                        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>%s %s: %d</title></rect>\n",
                        x0 + k * barW,
                        top + plotH - hgt,
                        barW - 1,
                        hgt,
                        colors[k],
                        esc(series[k]),
                        esc(labels.get(g)),
                        v));
            }
            svg.append(String.format(
                    Locale.ROOT,
                    "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n",
                    x0 + perGroup * barW / 2,
                    top + plotH + 14,
                    esc(labels.get(g))));
        }
        for (int k = 0; k < perGroup; k++) {
            int lx = left + k * 110;
            svg.append(String.format(
                    Locale.ROOT,
                    "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                            + "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s%s</text>\n",
                    lx,
                    top + plotH + 28,
                    colors[k],
                    lx + 14,
                    top + plotH + 37,
                    esc(series[k]),
                    log ? " (height: log scale)" : ""));
        }
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static double scale(long v, boolean log) {
        return log ? Math.log10(1 + (double) v) : v;
    }

    private static void row(StringBuilder h, String key, String value) {
        h.append("<tr><th>")
                .append(esc(key))
                .append("</th><td>")
                .append(esc(value))
                .append("</td></tr>\n");
    }

    private static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3g", v) : Double.toString(v);
    }

    private static String ints(int[] a) {
        if (a.length == 0) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < a.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            if (i == ReplayReport.MAX_POSITIONS) {
                sb.append("… ").append(a.length - ReplayReport.MAX_POSITIONS).append(" more");
                break;
            }
            sb.append(a[i]);
        }
        return sb.toString();
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }
}

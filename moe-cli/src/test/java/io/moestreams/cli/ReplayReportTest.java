package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.jsonl.ResponseStatus;
import io.moestreams.replay.ReplayComparison;
import io.moestreams.replay.ReplayReport;
import io.moestreams.replay.RequestDiff;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplayReportTest {

    @TempDir
    Path dir;

    private static ResponseLine line(String id, float v, int[][] experts) {
        float[][] w = new float[experts.length][];
        for (int t = 0; t < experts.length; t++) {
            w[t] = new float[experts[t].length];
        }
        return new ResponseLine(
                id, ResponseStatus.OK, new float[] {v, v}, 2, 1, experts, w, new int[0], null, "sha256:rec");
    }

    private ReplayReport report() {
        ReplayReport r =
                new ReplayReport(new ReplayReport.Setup("run.cassette", "model", null, false, 0, "sha256:new"), 4);
        // a: identical; b: different at token 1 (expert 3 instead of 2); c: skipped
        ResponseLine a = line("a", 1f, new int[][] {{0}, {1}});
        r.add(ReplayComparison.compare(a, a, 0, r.histogram()), "sha256:rec", a, a);
        ResponseLine bRec = line("b", 1f, new int[][] {{0}, {2}});
        ResponseLine bRep = line("b", 1.5f, new int[][] {{0}, {3}});
        r.add(ReplayComparison.compare(bRec, bRep, 0, r.histogram()), "sha256:rec", bRec, bRep);
        r.add(RequestDiff.skipped("c<script>", 3, "no response was recorded"), null);
        return r;
    }

    @Test
    void theSummaryCountsEveryVerdictAndFailsOnADifference() {
        ReplayReport r = report();
        assertFalse(r.passed());
        String s = r.summaryLine();
        assertTrue(
                s.startsWith("moe replay: 3 requests: 1 bit-identical, 0 within tolerance 0, 1 different,"
                        + " 0 failed, 1 skipped; output differs on 2 tokens of 1 requests;"
                        + " routing changed on 1 tokens of 1 requests"),
                s);
        assertTrue(s.endsWith("FAIL"), s);
        assertTrue(r.fingerprintVerdict().contains("another layer"), r.fingerprintVerdict());
        assertEquals(
                "DIFFERENT b: max |diff| 0.500 (rel 0.333), output differs at tokens [0, 1],"
                        + " routing changed at tokens [1]",
                ReplayReport.line(r.diffs().get(1)));
    }

    @Test
    void theJsonReportHasTheSummaryHistogramLoadAndEveryRequest() throws Exception {
        Path file = dir.resolve("out/report.json");
        report().writeJson(file);
        JsonNode j = new ObjectMapper().readTree(file.toFile());
        assertEquals(3, j.get("summary").get("requests").asInt());
        assertEquals(1, j.get("summary").get("different").asInt());
        assertEquals(1, j.get("summary").get("identical").asInt());
        assertFalse(j.get("summary").get("passed").asBoolean());
        // expert load: recorded a{0,1} + b{0,2}; replayed a{0,1} + b{0,3}
        assertEquals("[2,1,1,0]", j.get("expertLoad").get("recorded").toString());
        assertEquals("[2,1,0,1]", j.get("expertLoad").get("replayed").toString());
        // 2 values identical in a, 2 in b differ by 0.5 (bucket (0.1, 1])
        assertEquals(2, j.get("histogram").get(0).get("values").asInt());
        assertEquals("≤1e0", j.get("histogram").get(10).get("absDiff").asText());
        assertEquals(2, j.get("histogram").get(10).get("values").asInt());
        assertEquals("[1]", j.get("requests").get(1).get("routingChangedTokens").toString());
        // b's two tokens both differ (1 -> 1.5); a's none
        assertEquals("[0,1]", j.get("requests").get(1).get("tokensDiffering").toString());
        assertEquals("[]", j.get("requests").get(0).get("tokensDiffering").toString());
        assertEquals(2, j.get("summary").get("tokensDiffering").asInt());
        assertEquals(1, j.get("summary").get("tokensDifferingRequests").asInt());
        assertEquals("SKIPPED", j.get("requests").get(2).get("verdict").asText());
    }

    @Test
    void theHtmlReportIsSelfContainedWithTwoPlotsAndEscapesIds() throws Exception {
        Path file = dir.resolve("report.html");
        ReplayHtml.write(report(), file);
        String html = Files.readString(file);
        assertEquals(2, html.split("<svg ", -1).length - 1, "two inline SVG plots");
        assertTrue(html.contains("c&lt;script&gt;"));
        assertFalse(html.contains("<script"), "no script, and ids are escaped");
        assertFalse(html.replace("http://www.w3.org/2000/svg", "").contains("http"), "no external resource");
        assertTrue(html.contains("<title>replayed 3: 1</title>"), "a bar per expert and series");
        assertTrue(html.contains("<th>tokens whose output differs</th>"), html);
        assertTrue(
                html.contains("<td>b</td><td>DIFFERENT</td><td>0.500</td><td>0.333</td><td>0, 1</td><td>1</td>"), html);
    }

    @Test
    void aLongListOfPositionsIsCutAfterTheFirstFifty() {
        // Given 3 positions and 60 positions
        int[] sixty = new int[60];
        for (int i = 0; i < sixty.length; i++) {
            sixty[i] = 2 * i;
        }
        // Then a short list prints whole, a long one its first 50 and how many more
        assertEquals("[1, 4, 9]", ReplayReport.positions(new int[] {1, 4, 9}));
        String cut = ReplayReport.positions(sixty);
        assertTrue(cut.startsWith("[0, 2, 4, "), cut);
        assertTrue(cut.endsWith(", 96, 98, … 10 more]"), cut);
    }
}

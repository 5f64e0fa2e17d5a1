package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class TopCommandTest {

    @Test
    void aFrameShowsEveryExpertWithItsRateShareLagAndWorkerFigures() {
        // Given a 10 s window of two gateways: expert 0 took 600 of 1000 routed tokens in 150 blocks
        LoadHistory.Totals w = new LoadHistory.Totals(
                "0",
                2,
                0,
                10_000,
                20_000,
                1,
                2,
                50,
                500,
                5,
                new long[] {600, 400},
                new long[] {150, 100},
                new long[] {300, 200},
                new double[] {280.0, 220.0},
                2_000);
        TopCommand.Frame f = new TopCommand.Frame(
                25_000,
                "b:9092, prefix moe.",
                w,
                Map.of(0, new ExpertLag.Lag(40, 2, 4), 1, new ExpertLag.Lag(0, 1, 2)),
                Map.of("0", 61.0),
                Map.of("0", 12.5),
                Map.of("0", 3.25),
                Map.of(),
                1,
                2);

        // When rendered
        String text = TopCommand.render(f);

        // Then the header has the window's balance figures and each expert its row
        assertTrue(text.contains("2 gateway(s): 50 requests, 500 tokens (50/s)"), text);
        assertTrue(text.contains("CV² 0.040"), text); // (600-500)² / 500² = 0.04
        assertTrue(text.contains("drops 1.00%"), text);
        assertTrue(text.contains("intake throttled 10% of the window"), text); // 2 s over 2 gateways x 10 s
        assertTrue(text.contains("throttling now: 1 of 2"), text);
        String row0 = text.lines().filter(l -> l.startsWith("0 ")).findFirst().orElseThrow();
        assertEquals(
                "0              60  60.0%         40        160   2/4          61       12.5       3.25          -",
                row0);
    }

    @Test
    void prometheusTextIsSummedPerLabel() {
        // Given a scrape with two series of one counter and a comment
        PrometheusScrape s = PrometheusScrape.parse("# HELP moe_expert_tokens_total x\n"
                + "moe_expert_tokens_total{expert=\"0\",instance=\"a\"} 10.0\n"
                + "moe_expert_tokens_total{expert=\"0\",instance=\"b\"} 5.0\n"
                + "moe_expert_tokens_total{expert=\"1\"} 2.0\n"
                + "moe_gateway_throttled 1.0\n");

        // When summed by expert / Then
        assertEquals(Map.of("0", 15.0, "1", 2.0), s.sumBy("moe_expert_tokens_total", "expert"));
        assertEquals(Map.of("", 1.0), s.sumBy("moe_gateway_throttled", null));
    }
}

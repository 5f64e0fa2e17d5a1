package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code moe bench --skew} end to end at toy sizes (the figures mean nothing here): both layouts run as processes,
 * every request is answered OK, the load record sees the bias, the plan becomes layout (b), the plot and JSON exist.
 */
@Tag("integration")
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class SkewBenchIT {

    @Test
    void theSkewBenchRunsBothLayoutsAndWritesThePlotAndTheFigures(@TempDir Path dir) throws Exception {
        // Given a toy shape: 4 experts, expert 0 favoured with ~45% of the choices
        Path png = dir.resolve("lag.png");
        Path json = dir.resolve("skew.json");
        StringWriter err = new StringWriter();

        // When the bench runs
        int code = MoeCli.commandLine()
                .setErr(new PrintWriter(err))
                .execute(
                        "bench",
                        "--skew",
                        "--experts",
                        "4",
                        "--hidden",
                        "32",
                        "--ffn",
                        "64",
                        "--request-tokens",
                        "8",
                        "--skew-share",
                        "0.45",
                        "--skew-burst",
                        "40",
                        "--skew-seconds",
                        "3",
                        "--skew-workers",
                        "3",
                        "--skew-max-experts-per-worker",
                        "3",
                        "--workdir",
                        dir.toString(),
                        "--plot",
                        png.toString(),
                        "--json",
                        json.toString());

        // Then it succeeds, and every fixed-rate request of both layouts was answered OK
        assertEquals(0, code, err.toString());
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        for (String phase : new String[] {"before", "after"}) {
            assertEquals(0, report.get(phase).get("notOk").asLong(), phase);
            assertTrue(report.get(phase).get("fixedRateDeliveredTokensPerSec").asDouble() > 0, phase);
            assertTrue(report.get(phase).get("lagSamples").size() > 0, phase + ": the lag was sampled");
        }
        // the gateway's load record sees expert 0 take about the generated share of the dispatched tokens
        JsonNode loads = report.get("recordedTokensPerSecByExpert");
        double total = 0;
        for (JsonNode l : loads) {
            total += l.asDouble();
        }
        double hot = loads.get(0).asDouble() / total;
        assertTrue(hot > 0.35 && hot < 0.55, "expert 0's recorded share " + hot);
        // layout (b) is the plan's
        assertTrue(
                report.get("plan").asText().startsWith("--groups '"),
                report.get("plan").asText());
        assertTrue(report.get("openLoopRatio").asDouble() > 0);
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(900, img.getWidth(), "one PNG, two panels");
    }
}

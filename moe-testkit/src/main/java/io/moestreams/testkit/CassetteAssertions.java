package io.moestreams.testkit;

import io.moestreams.avro.CassetteEntry;
import io.moestreams.compute.ffn.Nd4jBackend;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.LayerFingerprint;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.reference.ReferenceMoeLayer;
import io.moestreams.replay.ReplayReport;
import io.moestreams.replay.Replayer;
import io.moestreams.replay.RequestDiff;
import io.moestreams.schemas.cassette.CassetteReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Objects;
import org.opentest4j.AssertionFailedError;

/**
 * Replay-based assertions for JUnit 5 tests: does a model directory reproduce a recorded cassette ({@code moe record})?
 * The cassette is replayed in this process through the reference layer, exactly as {@code moe replay --cassette}
 * does (no Kafka, no schema registry), and compared request by request with what was recorded.
 *
 * <pre>{@code
 * @Test
 * void theNewModelReproducesYesterdaysTraffic() {
 *     CassetteAssertions.assertReproduces(Path.of("models/v2"), null, Path.of("src/test/resources/traffic.cassette"), 0);
 * }
 * }</pre>
 *
 * <p>A request passes when its output is bit-identical to the recording (tolerance 0) or every value is within the
 * tolerance, and the experts of every token and the dropped positions are unchanged. Requests recorded without an OK
 * response are skipped; a cassette in which no request could be compared fails (such a test could never fail).
 */
public final class CassetteAssertions {

    /** Failing requests named in an assertion message; the rest are counted. */
    static final int MAX_NAMED = 10;

    private CassetteAssertions() {}

    /**
     * Asserts that {@code modelDir} reproduces every request of {@code cassette} within {@code tolerance}, routing
     * recomputed by the model's router.
     *
     * @param modelDir  a moe.json model directory or a Hugging Face checkpoint directory
     * @param layer     the MoE layer of a Hugging Face checkpoint ({@code 3}, {@code decoder.1}); null for moe.json
     * @param cassette  a cassette written by {@code moe record} (or {@code CassetteWriter})
     * @param tolerance the largest |replayed − recorded| allowed per output value; 0 for bit-identical
     * @return the report (every request's outcome), for further assertions
     * @throws AssertionFailedError when a request differs, fails, or no request could be compared
     */
    public static ReplayReport assertReproduces(Path modelDir, String layer, Path cassette, double tolerance) {
        return assertReproduces(modelDir, layer, cassette, tolerance, false);
    }

    /**
     * As {@link #assertReproduces(Path, String, Path, double)}; with {@code forcedRouting} every token uses the
     * recorded experts and gate weights per k-slot (and the recorded dropped positions) instead of the router's
     * decision, so only the experts' computation is compared (routing replay).
     */
    public static ReplayReport assertReproduces(
            Path modelDir, String layer, Path cassette, double tolerance, boolean forcedRouting) {
        ReplayReport report = replay(modelDir, layer, cassette, tolerance, forcedRouting);
        String failure = failureMessage(report, modelDir, cassette);
        if (failure != null) {
            throw new AssertionFailedError(failure);
        }
        return report;
    }

    /**
     * Replays {@code cassette} in-process against {@code modelDir} and returns the report without asserting.
     *
     * @throws IllegalArgumentException naming the value when the tolerance is negative or not finite, or the cassette
     *                                  or model is invalid
     * @throws UncheckedIOException     naming the file when the cassette cannot be read
     */
    public static ReplayReport replay(
            Path modelDir, String layer, Path cassette, double tolerance, boolean forcedRouting) {
        Objects.requireNonNull(modelDir, "modelDir");
        Objects.requireNonNull(cassette, "cassette");
        if (!(tolerance >= 0) || Double.isInfinite(tolerance)) {
            throw new IllegalArgumentException("tolerance: expected a finite value >= 0, found " + tolerance);
        }
        String fingerprint = LayerFingerprint.of(modelDir, layer);
        try (MoeModel model = MoeModel.load(modelDir, layer, ExpertSelection.all(), Nd4jBackend.INSTANCE);
                CassetteReader in = CassetteReader.open(cassette)) {
            ReplayReport report = new ReplayReport(
                    new ReplayReport.Setup(
                            cassette.toString(),
                            modelDir + " (in-process)",
                            layer,
                            forcedRouting,
                            tolerance,
                            fingerprint),
                    model.config().numExperts());
            Replayer replayer =
                    new Replayer(Replayer.inProcess(new ReferenceMoeLayer(model), forcedRouting), tolerance, report);
            for (CassetteEntry entry : in) {
                replayer.replay(entry);
            }
            return report;
        } catch (IOException e) {
            throw new UncheckedIOException("cassette " + cassette + ": cannot read it: " + e.getMessage(), e);
        }
    }

    /** Why the report fails the assertion (summary, layer fingerprints, the first failing requests), or null. */
    static String failureMessage(ReplayReport report, Path modelDir, Path cassette) {
        int compared = report.diffs().size() - report.count(RequestDiff.Verdict.SKIPPED);
        if (report.passed() && compared > 0) {
            return null;
        }
        StringBuilder sb = new StringBuilder("model ")
                .append(modelDir)
                .append(
                        report.setup().layer() == null
                                ? ""
                                : " layer " + report.setup().layer())
                .append(compared == 0 ? " was compared on no request of cassette " : " does not reproduce cassette ")
                .append(cassette)
                .append(" within tolerance ")
                .append(report.setup().tolerance())
                .append(report.setup().forcedRouting() ? " (forced routing)" : "")
                .append('\n')
                .append(report.summaryLine())
                .append("\nlayer: ")
                .append(report.fingerprintVerdict());
        int named = 0;
        int more = 0;
        for (RequestDiff d : report.diffs()) {
            if (d.verdict().passes()) {
                continue;
            }
            if (named++ < MAX_NAMED) {
                sb.append("\n  ").append(ReplayReport.line(d));
            } else {
                more++;
            }
        }
        if (more > 0) {
            sb.append("\n  ... and ").append(more).append(" more");
        }
        if (compared == 0) {
            sb.append("\n  (").append(report.diffs().size()).append(" entries, none with an OK recorded response)");
        }
        return sb.toString();
    }
}

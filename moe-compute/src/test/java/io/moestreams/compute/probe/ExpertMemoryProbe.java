package io.moestreams.compute.probe;

import io.moestreams.compute.ffn.Nd4jBackend;
import io.moestreams.compute.ffn.Nd4jSupport;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Measurement harness (not a test): loads one layer of a checkpoint the way an expert worker does and prints the
 * tensor bytes read and the process RSS. Run one JVM per selection, e.g.
 * {@code java -cp ... io.moestreams.compute.probe.ExpertMemoryProbe DIR LAYER 3} versus {@code ... all}; the
 * selection {@code none} (router only, ND4J initialised) is the baseline.
 */
public final class ExpertMemoryProbe {

    private ExpertMemoryProbe() {}

    public static void main(String[] args) throws IOException, InterruptedException {
        Path dir = Path.of(args[0]);
        String layer = args[1];
        ExpertSelection selection = ExpertSelection.parse(args[2]);
        Nd4jSupport.configure();
        long before = rssKib();
        long t0 = System.nanoTime();
        try (MoeModel model = MoeModel.load(dir, layer, selection, Nd4jBackend.INSTANCE)) {
            System.gc();
            Thread.sleep(200);
            long after = rssKib();
            System.out.printf(
                    Locale.ROOT,
                    "selection=%s experts=%d shared=%d bytesRead=%d tensorsRead=%d rssBeforeLoadKiB=%d rssAfterLoadKiB=%d"
                            + " loadMs=%d%n",
                    selection,
                    model.loadedExperts().length,
                    model.loadedSharedExperts().length,
                    model.bytesRead(),
                    model.tensorsRead().size(),
                    before,
                    after,
                    (System.nanoTime() - t0) / 1_000_000);
        }
    }

    private static long rssKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}

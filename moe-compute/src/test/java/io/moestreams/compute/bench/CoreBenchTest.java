package io.moestreams.compute.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class CoreBenchTest {

    @Test
    void printsOneRowPerBatchWithConsistentFigures() {
        // Given a tiny shape and short runs
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        // When the benchmark runs
        List<CoreBench.Row> rows = CoreBench.run(32, 64, new int[] {1, 3}, out, 0.01);
        // Then there is one row per batch, rows/s and GFLOP/s agree (3·2·b·d·f per forward), the ratio is theirs
        assertEquals(2, rows.size());
        for (CoreBench.Row r : rows) {
            assertTrue(r.rawGflops() > 0 && r.expertGflops() > 0 && r.expertRowsPerSec() > 0, r.toString());
            double forwardsPerSec = r.expertRowsPerSec() / r.batch();
            assertEquals(
                    forwardsPerSec * 3 * 2.0 * r.batch() * 32 * 64 / 1e9, r.expertGflops(), 1e-9 * r.expertGflops());
            assertEquals(r.expertGflops() / r.rawGflops(), r.ratio(), 1e-12);
        }
        String table = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(table.contains("raw GFLOP/s") && table.contains("ratio"), table);
        assertEquals(4, table.lines().count(), table);
    }
}

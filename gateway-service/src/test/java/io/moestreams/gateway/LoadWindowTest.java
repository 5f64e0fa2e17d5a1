package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.moestreams.avro.ExpertLoad;
import io.moestreams.core.config.Activation;
import io.moestreams.core.config.ModelFormat;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.Overflow;
import io.moestreams.core.config.RouterConfig;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.metrics.BalanceMetrics;
import io.moestreams.core.routing.Assignment;
import io.moestreams.core.routing.CapacityPlanner;
import io.moestreams.core.routing.Router;
import io.moestreams.core.routing.RouterOutput;
import io.moestreams.core.routing.Routers;
import io.moestreams.schemas.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LoadWindowTest {

    private static final int E = 6;
    private static final int D = 8;

    @Test
    void windowedCountsGiveTheBalanceMetricsOfTheWholeBatch() {
        // Given sequences routed top-2 with a capacity that drops some tokens
        MoeConfig config = new MoeConfig(
                ModelFormat.MIXTRAL,
                "",
                D,
                8,
                E,
                new RouterConfig(RouterType.TOPK_SOFTMAX, 2, true, false, false),
                Activation.SILU,
                1.0,
                Overflow.DROP,
                3L);
        Random random = new Random(5);
        float[] gate = new float[E * D];
        for (int i = 0; i < gate.length; i++) {
            gate[i] = (float) random.nextGaussian();
        }
        Router router = Routers.create(config, gate, null);
        List<RouterOutput> outs = new ArrayList<>();
        List<Assignment> plans = new ArrayList<>();
        LoadWindow window = new LoadWindow(E, 0, 10_000, 20_000);

        // When each is counted into the window
        for (int s = 0; s < 40; s++) {
            int len = 1 + random.nextInt(12);
            float[] x = new float[len * D];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian();
            }
            RouterOutput out = router.route("r" + s, x, len);
            Assignment a = CapacityPlanner.plan(out, config);
            outs.add(out);
            plans.add(a);
            window.add(out, a);
        }

        // Then the window's figures are those BalanceMetrics computes over the whole batch at once
        BalanceMetrics expected = BalanceMetrics.of(outs, plans, E);
        assertEquals(expected.loadCv2(), window.loadCv2(), 1e-12);
        assertEquals(expected.auxLoss(), window.auxLoss(), 1e-9);
        assertEquals(expected.dropRate(), window.dropRate(), 1e-12);
        ExpertLoad record = window.toRecord("0", "gw-a", true, 7);
        long[] tokens =
                record.getExpertTokens().stream().mapToLong(Long::longValue).toArray();
        assertArrayEquals(expected.tokensPerExpert(), tokens);
        assertEquals(expected.tokens(), record.getTokens());
        assertEquals(expected.droppedTokens(), record.getDroppedTokens());
        assertEquals(40, record.getSequences());
        assertEquals(10_000, record.getWindowStartMs());
        assertEquals(20_000, record.getWindowEndMs());
        assertEquals(7, record.getThrottledMs());
        long blocks0 = plans.stream().filter(a -> a.tokensPerExpert(E)[0] > 0).count();
        assertEquals(blocks0, record.getExpertBlocks().get(0));
        float[] importance = Tensors.toFloats(record.getImportance());
        double p0 = 0;
        for (RouterOutput out : outs) {
            for (int t = 0; t < out.seqLen(); t++) {
                p0 += out.prob(t, 0);
            }
        }
        assertEquals(p0, importance[0], 1e-4 * p0);
    }

    @Test
    void anEmptyWindowIsBalancedAndDropsNothing() {
        // Given a window nothing was routed in / When its figures are read / Then they are zero, not NaN
        LoadWindow window = new LoadWindow(E, 1, 0, 1000);
        assertEquals(0.0, window.loadCv2());
        assertEquals(0.0, window.auxLoss());
        assertEquals(0.0, window.dropRate());
        assertEquals(
                E + 1, window.toRecord("0", "i", false, 0).getExpertTokens().size());
    }
}

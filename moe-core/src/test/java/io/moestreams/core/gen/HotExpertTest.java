package io.moestreams.core.gen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.config.Activation;
import io.moestreams.core.config.ModelFormat;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.Overflow;
import io.moestreams.core.config.RouterConfig;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.model.SafetensorsDtype;
import io.moestreams.core.routing.RouterOutput;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HotExpertTest {

    @Test
    void aGeneratedModelRoutesTheAskedShareOfFreshTokensToTheHotExpert(@TempDir Path dir) throws Exception {
        // Given a top-2 model of 8 experts generated with expert 3 favoured at 45%
        MoeConfig config = new MoeConfig(
                ModelFormat.MIXTRAL,
                "",
                32,
                16,
                8,
                new RouterConfig(RouterType.TOPK_SOFTMAX, 2, true, false, false),
                Activation.SILU,
                null,
                Overflow.NONE,
                9L);
        ModelGenerator.generate(dir, config, SafetensorsDtype.parseWritable("F32"), new HotExpert(3, 0.45));

        // When the model's router, loaded from disk, routes N(0,1) tokens other than the calibration's
        int n = 4000;
        float[] x = new float[n * 32];
        Random random = new Random(77);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        int hits = 0;
        int[] perExpert = new int[8];
        try (MoeModel model = MoeModel.load(dir, null, ExpertSelection.none(), null)) {
            RouterOutput out = model.router().route("fresh", x, n);
            for (int t = 0; t < n; t++) {
                for (int e : out.choices()[t]) {
                    perExpert[e]++;
                    if (e == 3) {
                        hits++;
                    }
                }
            }
        }

        // Then about 45% of them visit expert 3, far more than the 2/8 of an unbiased router
        assertEquals(0.45, (double) hits / n, 0.03);
        for (int e = 0; e < 8; e++) {
            assertTrue(e == 3 || perExpert[e] < perExpert[3], "expert " + e + " got " + perExpert[e]);
        }
    }

    @Test
    void halfOfTheTokensOrMoreIsRefusedWithTheReason() {
        // Given a share of 0.5 / When asked / Then refused, saying why
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new HotExpert(0, 0.5));
        assertTrue(e.getMessage().contains("0 < share < 0.5"), e.getMessage());
    }
}

package io.moestreams.compute.ffn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.moestreams.core.ffn.FfnBackends;
import io.moestreams.core.gen.ModelGenerator;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** With moe-compute on the classpath, callers that pass no backend get the ND4J one. */
class FfnBackendsTest {

    @Test
    void theNd4jBackendIsDiscoveredAndBuildsExpertsForTheTwoArgumentLoad(@TempDir Path dir) throws IOException {
        assertInstanceOf(Nd4jBackend.class, FfnBackends.discover());
        ModelGenerator.generateMixtral(dir, 8, 12, 4, 1);
        try (MoeModel model = MoeModel.load(dir, ExpertSelection.of(1, 3))) {
            assertArrayEquals(new int[] {1, 3}, model.loadedExperts());
            assertInstanceOf(GatedExpertFfn.class, model.expert(3));
        }
    }
}

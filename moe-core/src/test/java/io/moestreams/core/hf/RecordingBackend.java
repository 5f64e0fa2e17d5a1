package io.moestreams.core.hf;

import io.moestreams.core.ffn.ClampedSwigluWeights;
import io.moestreams.core.ffn.DenseMlpWeights;
import io.moestreams.core.ffn.ExpertFfn;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.ExpertWeights;
import io.moestreams.core.ffn.FfnBackend;
import io.moestreams.core.ffn.GatedMlpWeights;
import java.util.ArrayList;
import java.util.List;

/** A backend for moe-core tests (no ND4J): keeps the weights it was given; its FFNs cannot compute. */
final class RecordingBackend implements FfnBackend {

    final List<ExpertWeights> built = new ArrayList<>();

    @Override
    public ExpertFfn gated(GatedMlpWeights weights) {
        return record(weights);
    }

    @Override
    public ExpertFfn denseActDense(DenseMlpWeights weights) {
        return record(weights);
    }

    @Override
    public ExpertFfn clampedSwiglu(ClampedSwigluWeights weights) {
        return record(weights);
    }

    private ExpertFfn record(ExpertWeights w) {
        built.add(w);
        return new ExpertFfn() {
            @Override
            public ExpertRef ref() {
                return w.ref();
            }

            @Override
            public int hiddenSize() {
                return w.hiddenSize();
            }

            @Override
            public void forward(float[] rows, int n, float[] scale, float[] out) {
                throw new UnsupportedOperationException("the recording backend does not compute");
            }

            @Override
            public void close() {
                // nothing to release
            }
        };
    }
}

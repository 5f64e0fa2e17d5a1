package io.moestreams.core.reference;

import io.moestreams.core.routing.Assignment;
import io.moestreams.core.routing.RouterOutput;
import java.util.Objects;

/**
 * The result of one MoE layer over one sequence.
 *
 * @param output     row-major [S, d]; zeros for dropped positions
 * @param assignment the routing after capacity (experts, weights and dropped positions per token)
 * @param routing    the router's decision before capacity (logits, probabilities, choices)
 */
public record LayerOutput(float[] output, Assignment assignment, RouterOutput routing) {

    public LayerOutput {
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(assignment, "assignment");
        Objects.requireNonNull(routing, "routing");
        if (assignment.seqLen() == 0 || output.length % assignment.seqLen() != 0) {
            throw new IllegalArgumentException("output: expected seqLen x d values for seqLen " + assignment.seqLen()
                    + ", found " + output.length);
        }
    }

    /** S. */
    public int seqLen() {
        return assignment.seqLen();
    }

    /** d. */
    public int hiddenSize() {
        return output.length / assignment.seqLen();
    }

    @Override
    public String toString() {
        return "LayerOutput[seqLen=" + seqLen() + ", hiddenSize=" + hiddenSize() + ", dropped="
                + assignment.dropped().length + "]";
    }
}

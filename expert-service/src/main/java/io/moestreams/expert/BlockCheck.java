package io.moestreams.expert;

import io.moestreams.avro.DispatchBlock;
import io.moestreams.schemas.Tensors;
import java.util.List;

/**
 * What an expert worker checks of a decoded {@link DispatchBlock} before computing it: the block is for this
 * expert, its tensors are well formed, and positions, hidden rows and gate weights agree. A block that fails is
 * dead-lettered with the reason; it is never computed.
 */
final class BlockCheck {

    /** Why a block was refused: the offending field and the full reason. */
    record Problem(String field, String reason) {}

    private BlockCheck() {}

    /** Null when the block is fine. */
    static Problem check(DispatchBlock block, int expert, int hiddenSize) {
        if (block.getExpert() != expert) {
            return new Problem(
                    "expert",
                    "expert: block for expert " + block.getExpert() + " arrived on the topic of expert " + expert);
        }
        try {
            Tensors.validate(block.getHidden(), "hidden");
        } catch (IllegalArgumentException e) {
            return new Problem("hidden", "hidden: " + e.getMessage());
        }
        try {
            Tensors.validate(block.getGateWeights(), "gateWeights");
        } catch (IllegalArgumentException e) {
            return new Problem("gateWeights", "gateWeights: " + e.getMessage());
        }
        List<Integer> shape = block.getHidden().getShape();
        int n = block.getPositions().size();
        if (shape.size() != 2 || shape.get(1) != hiddenSize) {
            return new Problem(
                    "hidden.shape", "hidden.shape: expected [" + n + ", " + hiddenSize + "], found " + shape);
        }
        List<Integer> weightsShape = block.getGateWeights().getShape();
        if (shape.get(0) != n || weightsShape.size() != 1 || weightsShape.get(0) != n) {
            return new Problem(
                    "positions",
                    "positions: " + n + " positions but hidden has " + shape.get(0) + " rows and gateWeights "
                            + weightsShape);
        }
        return null;
    }
}

package io.moestreams.core.reference;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.ffn.ExpertFfn;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.routing.Assignment;
import io.moestreams.core.routing.CapacityPlanner;
import io.moestreams.core.routing.Router;
import io.moestreams.core.routing.RouterOutput;
import java.util.Arrays;
import java.util.Objects;

/**
 * The whole MoE layer computed in-process, without Kafka: the ground truth the distributed pipeline is compared
 * against ({@code moe reference}).
 *
 * <p>For one sequence: route ({@link Router#route}), apply capacity ({@link CapacityPlanner#plan}), then for each
 * expert one batched forward over all the rows routed to it (ascending position), each row scaled by its gate
 * weight inside the expert (the same {@link ExpertFfn#forward} call the expert workers make), then combine.
 *
 * <p><b>Summation order (the contract the distributed combiner reproduces bit for bit):</b> for every position
 * t, {@code output[t][i] = 0.0f}, then {@code output[t][i] += contribution of assignment.experts()[t][0]}, then
 * {@code += contribution of experts()[t][1]}, and so on in rank order, then {@code += contribution of shared
 * expert s0}, {@code s1}, ... in index order, each addition a single F32 addition. A contribution is the expert's
 * output row already multiplied by its weight (in F32, inside {@link ExpertFfn#forward}); a shared expert's
 * weight is {@link Assignment#sharedWeights()} (1, or qwen2_moe's sigmoid gate) and it runs over all positions
 * of the sequence in one batch. A position without routed experts (dropped) gets only the shared contributions
 * (all zeros when the layer has none).
 *
 * <p>Uses the model's shared expert FFNs, so calls are serialised ({@code synchronized}).
 */
public final class ReferenceMoeLayer {

    private final MoeModel model;
    private final MoeConfig config;
    private final Router router;
    private final int hiddenSize;
    private final int numExperts;
    private final int numShared;

    /**
     * @throws IllegalArgumentException if the model was not loaded with every expert
     */
    public ReferenceMoeLayer(MoeModel model) {
        this.model = Objects.requireNonNull(model, "model");
        this.config = model.config();
        this.router = model.router();
        this.hiddenSize = config.hiddenSize();
        this.numExperts = config.numExperts();
        this.numShared = config.numSharedExperts();
        if (model.loadedExperts().length != numExperts || model.loadedSharedExperts().length != numShared) {
            throw new IllegalArgumentException("model: the reference layer needs all " + numExperts
                    + " experts and " + numShared + " shared experts loaded, found "
                    + Arrays.toString(model.loadedExperts()) + " and shared "
                    + Arrays.toString(model.loadedSharedExperts()));
        }
    }

    public MoeConfig config() {
        return config;
    }

    /**
     * Runs the layer over one sequence.
     *
     * @param requestId seeds noisy / random routing
     * @param tokens    row-major [seqLen, hidden_size], finite
     * @param seqLen    S &gt;= 1
     * @throws IllegalArgumentException naming the field or the position of a non-finite value
     */
    public synchronized LayerOutput forward(String requestId, float[] tokens, int seqLen) {
        validate(requestId, tokens, seqLen);
        RouterOutput routing = router.route(requestId, tokens, seqLen);
        Assignment assignment = CapacityPlanner.plan(routing, config);
        return new LayerOutput(compute(tokens, seqLen, assignment), assignment, routing);
    }

    /**
     * Runs the layer over one sequence with a given routing instead of the router's (forced-routing replay, as RL
     * trainers require of MoE serving: the experts and gate weights recorded per token and rank are used as they
     * are, so a changed router does not change the output). The router still runs: its decision is returned in
     * {@link LayerOutput#routing()}, and when {@code assignment} carries no shared-expert weights but the layer has
     * shared experts, their weights (1, or qwen2_moe's sigmoid gate) come from it. Same summation order as {@link
     * #forward(String, float[], int)}.
     *
     * @param assignment per token the experts (in rank order) and gate weights to use, and the dropped positions
     * @throws IllegalArgumentException naming the token and the expert or weight that does not fit this layer
     */
    public synchronized LayerOutput forward(String requestId, float[] tokens, int seqLen, Assignment assignment) {
        validate(requestId, tokens, seqLen);
        if (assignment == null || assignment.seqLen() != seqLen) {
            throw new IllegalArgumentException("assignment: expected the routing of " + seqLen + " tokens, found "
                    + (assignment == null ? "null" : assignment.seqLen() + " tokens"));
        }
        for (int t = 0; t < seqLen; t++) {
            int[] experts = assignment.experts()[t];
            for (int j = 0; j < experts.length; j++) {
                if (experts[j] < 0 || experts[j] >= numExperts) {
                    throw new IllegalArgumentException("assignment: token " + t + " rank " + j + ": expert "
                            + experts[j] + " is out of range, the layer has " + numExperts + " experts");
                }
                if (!Float.isFinite(assignment.weights()[t][j])) {
                    throw new IllegalArgumentException(
                            "assignment: token " + t + " rank " + j + ": expected a finite gate weight, found "
                                    + assignment.weights()[t][j]);
                }
            }
        }
        RouterOutput routing = router.route(requestId, tokens, seqLen);
        Assignment used = assignment;
        if (assignment.numShared() != numShared) {
            if (assignment.numShared() != 0) {
                throw new IllegalArgumentException("assignment: expected weights of " + numShared
                        + " shared experts per token, found " + assignment.numShared());
            }
            used = new Assignment(
                    seqLen,
                    assignment.experts(),
                    assignment.weights(),
                    assignment.dropped(),
                    assignment.capacity(),
                    routing.sharedWeights());
        }
        return new LayerOutput(compute(tokens, seqLen, used), used, routing);
    }

    private float[] compute(float[] tokens, int seqLen, Assignment assignment) {
        int d = hiddenSize;
        int[][] experts = assignment.experts();
        float[][] weights = assignment.weights();

        // rows per expert, in ascending position order
        int[] count = new int[numExperts];
        for (int t = 0; t < seqLen; t++) {
            for (int e : experts[t]) {
                count[e]++;
            }
        }
        int[][] positions = new int[numExperts][];
        float[][] scales = new float[numExperts][];
        for (int e = 0; e < numExperts; e++) {
            positions[e] = new int[count[e]];
            scales[e] = new float[count[e]];
        }
        // rowOf[t][j]: row of token t's j-th contribution inside its expert's batch
        int[][] rowOf = new int[seqLen][];
        int[] filled = new int[numExperts];
        for (int t = 0; t < seqLen; t++) {
            rowOf[t] = new int[experts[t].length];
            for (int j = 0; j < experts[t].length; j++) {
                int e = experts[t][j];
                int r = filled[e]++;
                positions[e][r] = t;
                scales[e][r] = weights[t][j];
                rowOf[t][j] = r;
            }
        }
        float[][] results = new float[numExperts][];
        for (int e = 0; e < numExperts; e++) {
            int n = count[e];
            if (n == 0) {
                continue;
            }
            float[] rows = new float[n * d];
            for (int r = 0; r < n; r++) {
                System.arraycopy(tokens, positions[e][r] * d, rows, r * d, d);
            }
            results[e] = new float[n * d];
            model.expert(e).forward(rows, n, scales[e], results[e]);
        }

        float[] output = new float[seqLen * d];
        for (int t = 0; t < seqLen; t++) {
            int base = t * d;
            for (int i = 0; i < d; i++) {
                output[base + i] = 0.0f;
            }
            for (int j = 0; j < experts[t].length; j++) {
                float[] contribution = results[experts[t][j]];
                int src = rowOf[t][j] * d;
                for (int i = 0; i < d; i++) {
                    output[base + i] += contribution[src + i];
                }
            }
        }
        float[] sharedOut = numShared == 0 ? null : new float[seqLen * d];
        for (int s = 0; s < numShared; s++) {
            model.sharedExpert(s).forward(tokens, seqLen, assignment.sharedWeightsFor(s), sharedOut);
            for (int k = 0; k < seqLen * d; k++) {
                output[k] += sharedOut[k];
            }
        }
        return output;
    }

    private void validate(String requestId, float[] tokens, int seqLen) {
        if (requestId == null) {
            throw new IllegalArgumentException("requestId: expected a request id, found null");
        }
        if (tokens == null) {
            throw new IllegalArgumentException("tokens: expected [seqLen, " + hiddenSize + "] values, found null");
        }
        if (seqLen < 1 || tokens.length == 0) {
            throw new IllegalArgumentException("tokens: expected a non-empty sequence, found seqLen " + seqLen
                    + " with " + tokens.length + " values");
        }
        if (tokens.length != (long) seqLen * hiddenSize) {
            if (tokens.length % seqLen == 0) {
                throw new IllegalArgumentException("tokens: expected hidden size " + hiddenSize
                        + " (hidden_size of the model), found " + (tokens.length / seqLen) + " values per token");
            }
            throw new IllegalArgumentException("tokens: expected " + seqLen + " x " + hiddenSize + " = "
                    + ((long) seqLen * hiddenSize) + " values, found " + tokens.length);
        }
        for (int k = 0; k < tokens.length; k++) {
            if (!Float.isFinite(tokens[k])) {
                throw new IllegalArgumentException("tokens[" + (k / hiddenSize) + "][" + (k % hiddenSize)
                        + "]: expected a finite value, found " + tokens[k]);
            }
        }
    }

    @Override
    public String toString() {
        return "ReferenceMoeLayer[" + model + "]";
    }
}

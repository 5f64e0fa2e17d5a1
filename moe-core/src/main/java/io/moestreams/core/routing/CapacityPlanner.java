package io.moestreams.core.routing;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.Overflow;
import io.moestreams.core.config.RouterType;
import java.util.Arrays;
import java.util.Objects;

/**
 * Applies expert capacity to one sequence (one routing group), docs/architecture.md "Capacity and overflow".
 *
 * <p>C = ceil(capacity_factor·k·S/E) slots per expert (k = top_k). Slots fill in GShard order: every token's first
 * choice in position order, then every second choice in position order, and so on. A choice that finds its expert
 * full overflows:
 * <ul>
 *   <li>{@code drop}: it contributes nothing and the kept weights are not renormalised; a token whose every choice
 *       dropped has no expert and is listed in {@link Assignment#dropped()};</li>
 *   <li>{@code reroute}: it moves to the expert with the highest p ({@link RouterOutput#probs()}, ties to the lower
 *       index) that is not among the token's chosen experts (its original choices and any expert it was already
 *       rerouted to) and still has room, with weight = that p, keeping the rank position of the choice it
 *       replaces; when no such expert exists it drops.</li>
 * </ul>
 * A fixed {@link MoeConfig#expertCapacity()} (switch_transformers' {@code expert_capacity}) replaces the formula:
 * with top-1 routing and {@code drop} this is exactly transformers' SwitchTransformersTop1Router (each expert keeps
 * its first C tokens in position order, the others output zero). Shared-expert weights pass through untouched.
 * Without a capacity limit, or with overflow {@code none}, the choices pass through (capacity -1). Final router
 * outputs (expert choice) pass through with the router's own C. In every case a token without any expert is
 * listed in {@code dropped}.
 */
public final class CapacityPlanner {

    private CapacityPlanner() {}

    /**
     * C = ceil(capacityFactor·topK·seqLen/numExperts), computed in double with a 1e-9 guard against float error
     * (1.2·5/2 gives 3, not 4). Never negative.
     */
    public static int capacity(double capacityFactor, int topK, int seqLen, int numExperts) {
        double slots = capacityFactor * topK * seqLen / numExperts;
        return (int) Math.max(0.0, Math.ceil(slots - Gating.CAPACITY_EPSILON));
    }

    /**
     * Slots per expert for a sequence of {@code seqLen} tokens under {@code config}, or -1 when unlimited
     * (no capacity factor, or overflow {@code none}). For {@code expert_choice} the tokens each expert takes.
     */
    public static int capacity(MoeConfig config, int seqLen) {
        if (config.router().type() == RouterType.EXPERT_CHOICE) {
            return ExpertChoiceRouter.capacity(config, seqLen);
        }
        if (config.hasExpertCapacity()) {
            return config.overflow() == Overflow.NONE ? -1 : config.expertCapacity();
        }
        if (config.capacityLimit().isEmpty() || config.overflow() == Overflow.NONE) {
            return -1;
        }
        return capacity(config.capacityLimit().getAsDouble(), config.router().topK(), seqLen, config.numExperts());
    }

    /** Applies capacity and the overflow policy of {@code config} to one sequence's router output. */
    public static Assignment plan(RouterOutput out, MoeConfig config) {
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(config, "config");
        int e = out.numExperts();
        if (e != config.numExperts()) {
            throw new IllegalArgumentException(
                    "RouterOutput.numExperts: expected " + config.numExperts() + " (num_experts), found " + e);
        }
        int s = out.seqLen();
        for (int t = 0; t < s; t++) {
            for (int x : out.choices()[t]) {
                if (x < 0 || x >= e) {
                    throw new IllegalArgumentException(
                            "RouterOutput token " + t + ": expert index expected in [0," + e + "), found " + x);
                }
            }
        }
        if (out.final_()) {
            return passThrough(out, ExpertChoiceRouter.capacity(config, s));
        }
        if (config.hasExpertCapacity() && config.overflow() != Overflow.NONE) {
            return fill(out, config.expertCapacity(), config.overflow() == Overflow.REROUTE);
        }
        if (config.capacityLimit().isEmpty() || config.overflow() == Overflow.NONE) {
            return passThrough(out, -1);
        }
        int c = capacity(config.capacityLimit().getAsDouble(), config.router().topK(), s, e);
        return fill(out, c, config.overflow() == Overflow.REROUTE);
    }

    private static Assignment passThrough(RouterOutput out, int capacity) {
        int s = out.seqLen();
        int[][] experts = new int[s][];
        float[][] weights = new float[s][];
        int dropped = 0;
        for (int t = 0; t < s; t++) {
            experts[t] = out.choices()[t].clone();
            weights[t] = out.weights()[t].clone();
            if (experts[t].length == 0) {
                dropped++;
            }
        }
        return new Assignment(
                s, experts, weights, droppedPositions(experts, dropped), capacity, sharedCopy(out.sharedWeights()));
    }

    private static Assignment fill(RouterOutput out, int capacity, boolean reroute) {
        int s = out.seqLen();
        int e = out.numExperts();
        int[][] choices = out.choices();
        int maxRank = 0;
        for (int[] c : choices) {
            maxRank = Math.max(maxRank, c.length);
        }
        int[] load = new int[e];
        // chosen[t][x]: x is one of t's original choices or an expert t was rerouted to
        boolean[][] chosen = new boolean[s][e];
        for (int t = 0; t < s; t++) {
            for (int x : choices[t]) {
                chosen[t][x] = true;
            }
        }
        int[][] keptExperts = new int[s][maxRank];
        float[][] keptWeights = new float[s][maxRank];
        int[] kept = new int[s];
        for (int r = 0; r < maxRank; r++) {
            for (int t = 0; t < s; t++) {
                if (r >= choices[t].length) {
                    continue;
                }
                int x = choices[t][r];
                float w = out.weights()[t][r];
                if (load[x] >= capacity) {
                    x = reroute ? rerouteTarget(out.probs(), t, e, chosen[t], load, capacity) : -1;
                    if (x < 0) {
                        continue;
                    }
                    chosen[t][x] = true;
                    w = out.probs()[t * e + x];
                }
                load[x]++;
                keptExperts[t][kept[t]] = x;
                keptWeights[t][kept[t]] = w;
                kept[t]++;
            }
        }
        int[][] experts = new int[s][];
        float[][] weights = new float[s][];
        int dropped = 0;
        for (int t = 0; t < s; t++) {
            experts[t] = Arrays.copyOf(keptExperts[t], kept[t]);
            weights[t] = Arrays.copyOf(keptWeights[t], kept[t]);
            if (kept[t] == 0) {
                dropped++;
            }
        }
        return new Assignment(
                s, experts, weights, droppedPositions(experts, dropped), capacity, sharedCopy(out.sharedWeights()));
    }

    /** The highest-p expert not chosen for the token that still has room (ties to the lower index), or -1. */
    private static int rerouteTarget(float[] probs, int t, int e, boolean[] chosen, int[] load, int capacity) {
        int best = -1;
        for (int x = 0; x < e; x++) {
            if (!chosen[x] && load[x] < capacity && (best < 0 || probs[t * e + x] > probs[t * e + best])) {
                best = x;
            }
        }
        return best;
    }

    private static float[][] sharedCopy(float[][] shared) {
        float[][] copy = new float[shared.length][];
        for (int t = 0; t < shared.length; t++) {
            copy[t] = shared[t].clone();
        }
        return copy;
    }

    private static int[] droppedPositions(int[][] experts, int count) {
        int[] dropped = new int[count];
        int i = 0;
        for (int t = 0; t < experts.length; t++) {
            if (experts[t].length == 0) {
                dropped[i++] = t;
            }
        }
        return dropped;
    }
}

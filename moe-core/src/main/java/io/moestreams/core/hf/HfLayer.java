package io.moestreams.core.hf;

/**
 * One decoder layer (or switch_transformers block) of a checkpoint.
 *
 * @param name   what {@code --layer} takes: the decoder layer index ({@code 3}), or {@code encoder.B} /
 *               {@code decoder.B} for switch_transformers
 * @param sparse true if the layer's feed-forward block is a MoE block
 */
public record HfLayer(String name, boolean sparse) {}

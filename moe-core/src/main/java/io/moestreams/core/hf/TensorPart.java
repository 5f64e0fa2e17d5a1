package io.moestreams.core.hf;

/**
 * The bytes of one tensor (or of one expert's slice of a fused tensor) that loading an expert or a router reads.
 *
 * @param tensor the tensor name
 * @param shard  the file holding it
 * @param dtype  its stored dtype
 * @param bytes  how many of its bytes belong to this part
 */
public record TensorPart(String tensor, String shard, String dtype, long bytes) {}

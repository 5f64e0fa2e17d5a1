package io.moestreams.core.model;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.ExpertWeights;
import io.moestreams.core.routing.Router;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;

/**
 * Where one MoE layer's tensors come from: a {@code moe.json} directory or one layer of a Hugging Face checkpoint.
 * Reads only what is asked for: the router's tensors, or one expert's.
 */
public interface LayerSource extends AutoCloseable {

    /** The pipeline-facing configuration of the layer. */
    MoeConfig config();

    /** A one-line description for logs (format / family, layer). */
    String describe();

    /** Reads the router tensors and builds the router (with the shared-expert weights when the layer has some). */
    Router loadRouter();

    /** Checks the headers of an expert's tensors without reading data. */
    void validateExpert(ExpertRef ref);

    /** Reads one expert's weights (only its bytes). */
    ExpertWeights loadExpert(ExpertRef ref);

    /**
     * Every tensor serving this layer reads — the router's, every routed and shared expert's (a fused tensor once) —
     * without reading data (headers only).
     */
    List<String> layerTensors();

    /** The header entry (dtype, shape) of one of the layer's tensors. */
    TensorInfo tensorInfo(String name);

    /** Feeds one of the layer's tensors' stored bytes (any dtype, unconverted) to {@code digest}. */
    void digestTensor(String name, MessageDigest digest);

    /** The layer's routing semantics as canonical text: its configuration and its family's settings. */
    String routingSpec();

    /** The files the layer comes from: its configuration files and the tensor files holding its tensors. */
    List<Path> files();

    /** Names of the tensors whose bytes were read, in reading order. */
    List<String> tensorsRead();

    /** Tensor data bytes read so far. */
    long bytesRead();

    @Override
    void close();
}

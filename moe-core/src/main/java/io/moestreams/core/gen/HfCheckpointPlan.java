package io.moestreams.core.gen;

import io.moestreams.core.model.SafetensorsDtype;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The config.json keys and the tensors (in module order) of a generated checkpoint of one family, with the
 * key names transformers writes (4.x or 5.x).
 */
final class HfCheckpointPlan {

    /**
     * One tensor to write: values N(mean, std²) seeded by name.
     *
     * @param name  tensor name
     * @param shape dimensions
     * @param dtype stored dtype
     * @param mean  mean of the values (1 for norm weights)
     * @param std   standard deviation (0 for constants)
     */
    record Planned(String name, long[] shape, SafetensorsDtype dtype, double mean, double std) {}

    final Map<String, Object> config = new TreeMap<>();
    final List<Planned> tensors = new ArrayList<>();
    final HfCheckpointSpec spec;
    final int vocab = 64;

    private HfCheckpointPlan(HfCheckpointSpec spec) {
        this.spec = spec;
    }

    /** The plan of {@code spec.family()}. */
    static HfCheckpointPlan of(HfCheckpointSpec spec) {
        HfCheckpointPlan p = new HfCheckpointPlan(spec);
        p.common();
        switch (spec.family()) {
            case "mixtral" -> HfFamilies.mixtral(p);
            case "qwen2_moe", "qwen3_moe" -> HfFamilies.qwen(p, spec.family().equals("qwen2_moe"));
            case "olmoe" -> HfFamilies.olmoe(p);
            case "deepseek_v3", "deepseek_v2" ->
                HfFamilies.deepseek(p, spec.family().equals("deepseek_v3"));
            case "switch_transformers" -> HfFamilies.switchTransformers(p);
            case "granitemoe" -> HfFamilies.granite(p);
            case "gpt_oss" -> HfFamilies.gptOss(p);
            default -> throw new IllegalArgumentException("no generator for model_type " + spec.family());
        }
        return p;
    }

    int d() {
        return spec.hidden();
    }

    int f() {
        return spec.intermediate();
    }

    int e() {
        return spec.experts();
    }

    void add(String name, double mean, double std, long... shape) {
        tensors.add(new Planned(name, shape, spec.dtype(), mean, std));
    }

    void addF32(String name, double mean, double std, long... shape) {
        tensors.add(new Planned(name, shape, SafetensorsDtype.F32, mean, std));
    }

    /** A linear weight [out, in] ~ N(0, 1/in). */
    void linear(String name, int out, int in) {
        add(name, 0.0, 1.0 / Math.sqrt(in), out, in);
    }

    private void common() {
        String arch = switch (spec.family()) {
            case "mixtral" -> "MixtralForCausalLM";
            case "qwen2_moe" -> "Qwen2MoeForCausalLM";
            case "qwen3_moe" -> "Qwen3MoeForCausalLM";
            case "olmoe" -> "OlmoeForCausalLM";
            case "deepseek_v3" -> "DeepseekV3ForCausalLM";
            case "deepseek_v2" -> "DeepseekV2ForCausalLM";
            case "switch_transformers" -> "SwitchTransformersForConditionalGeneration";
            case "granitemoe" -> "GraniteMoeForCausalLM";
            default -> "GptOssForCausalLM";
        };
        config.put("architectures", List.of(arch));
        config.put("model_type", spec.family());
        config.put(spec.v4Keys() ? "torch_dtype" : "dtype", dtypeName());
        config.put("transformers_version", spec.v4Keys() ? "4.57.1" : "5.18.0");
        config.put("vocab_size", vocab);
        config.put("tie_word_embeddings", false);
        config.put("initializer_range", 0.02);
        if (spec.family().equals("switch_transformers")) {
            return;
        }
        config.put("hidden_size", d());
        config.put("num_hidden_layers", spec.layers());
        config.put("num_attention_heads", 4);
        config.put("num_key_value_heads", 4);
        config.put("hidden_act", "silu");
        config.put("rms_norm_eps", 1e-6);
        config.put("max_position_embeddings", 4096);
        config.put("use_cache", true);
        if (spec.v4Keys()) {
            config.put("rope_theta", 10000.0);
        } else {
            config.put("rope_parameters", new TreeMap<>(Map.of("rope_theta", 10000.0, "rope_type", "default")));
        }
        add("model.embed_tokens.weight", 0.0, 1.0, vocab, d());
    }

    private String dtypeName() {
        return switch (spec.dtype()) {
            case F32 -> "float32";
            case F16 -> "float16";
            default -> "bfloat16";
        };
    }

    /** Attention and norms of decoder layer L (skipped by the MoE loader, present as in a real checkpoint). */
    void attention(String p) {
        add(p + "input_layernorm.weight", 1.0, 0.05, d());
        linear(p + "self_attn.q_proj.weight", d(), d());
        linear(p + "self_attn.k_proj.weight", d(), d());
        linear(p + "self_attn.v_proj.weight", d(), d());
        linear(p + "self_attn.o_proj.weight", d(), d());
        add(p + "post_attention_layernorm.weight", 1.0, 0.05, d());
    }

    void denseMlp(String p, int width) {
        linear(p + "gate_proj.weight", width, d());
        linear(p + "up_proj.weight", width, d());
        linear(p + "down_proj.weight", d(), width);
    }

    void tail() {
        add("model.norm.weight", 1.0, 0.05, d());
        linear("lm_head.weight", vocab, d());
    }

    void perExpertGated(String p, String g, String u, String dn) {
        for (int x = 0; x < e(); x++) {
            String b = p + "experts." + x + ".";
            linear(b + g + ".weight", f(), d());
            linear(b + u + ".weight", f(), d());
            linear(b + dn + ".weight", d(), f());
        }
    }
}

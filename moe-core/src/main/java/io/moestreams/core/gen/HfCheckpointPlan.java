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
    private final HfCheckpointSpec spec;
    private final int vocab = 64;

    private HfCheckpointPlan(HfCheckpointSpec spec) {
        this.spec = spec;
    }

    /** The plan of {@code spec.family()}. */
    static HfCheckpointPlan of(HfCheckpointSpec spec) {
        HfCheckpointPlan p = new HfCheckpointPlan(spec);
        p.common();
        switch (spec.family()) {
            case "mixtral" -> p.mixtral();
            case "qwen2_moe", "qwen3_moe" -> p.qwen(spec.family().equals("qwen2_moe"));
            case "olmoe" -> p.olmoe();
            case "deepseek_v3", "deepseek_v2" -> p.deepseek(spec.family().equals("deepseek_v3"));
            case "switch_transformers" -> p.switchTransformers();
            case "granitemoe" -> p.granite();
            case "gpt_oss" -> p.gptOss();
            default -> throw new IllegalArgumentException("no generator for model_type " + spec.family());
        }
        return p;
    }

    private int d() {
        return spec.hidden();
    }

    private int f() {
        return spec.intermediate();
    }

    private int e() {
        return spec.experts();
    }

    private void add(String name, double mean, double std, long... shape) {
        tensors.add(new Planned(name, shape, spec.dtype(), mean, std));
    }

    private void addF32(String name, double mean, double std, long... shape) {
        tensors.add(new Planned(name, shape, SafetensorsDtype.F32, mean, std));
    }

    /** A linear weight [out, in] ~ N(0, 1/in). */
    private void linear(String name, int out, int in) {
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
    private void attention(String p) {
        add(p + "input_layernorm.weight", 1.0, 0.05, d());
        linear(p + "self_attn.q_proj.weight", d(), d());
        linear(p + "self_attn.k_proj.weight", d(), d());
        linear(p + "self_attn.v_proj.weight", d(), d());
        linear(p + "self_attn.o_proj.weight", d(), d());
        add(p + "post_attention_layernorm.weight", 1.0, 0.05, d());
    }

    private void denseMlp(String p, int width) {
        linear(p + "gate_proj.weight", width, d());
        linear(p + "up_proj.weight", width, d());
        linear(p + "down_proj.weight", d(), width);
    }

    private void tail() {
        add("model.norm.weight", 1.0, 0.05, d());
        linear("lm_head.weight", vocab, d());
    }

    private void perExpertGated(String p, String g, String u, String dn) {
        for (int x = 0; x < e(); x++) {
            String b = p + "experts." + x + ".";
            linear(b + g + ".weight", f(), d());
            linear(b + u + ".weight", f(), d());
            linear(b + dn + ".weight", d(), f());
        }
    }

    private void mixtral() {
        config.put("intermediate_size", f());
        config.put("num_local_experts", e());
        config.put("num_experts_per_tok", spec.topK());
        config.put("router_jitter_noise", 0.0);
        config.put("router_aux_loss_coef", 0.001);
        config.put("output_router_logits", false);
        config.put("sliding_window", null);
        for (int l = 0; l < spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            attention(p);
            linear(p + "block_sparse_moe.gate.weight", e(), d());
            perExpertGated(p + "block_sparse_moe.", "w1", "w3", "w2");
        }
        tail();
    }

    private void qwen(boolean shared) {
        config.put("intermediate_size", 2 * f());
        config.put("moe_intermediate_size", f());
        config.put(!shared && !spec.v4Keys() ? "num_local_experts" : "num_experts", e());
        config.put("num_experts_per_tok", spec.topK());
        config.put("norm_topk_prob", !shared);
        config.put("decoder_sparse_step", 1);
        config.put("mlp_only_layers", List.of(0));
        config.put("router_aux_loss_coef", 0.001);
        config.put("output_router_logits", false);
        if (shared) {
            config.put("shared_expert_intermediate_size", 2 * f());
            config.put("qkv_bias", true);
        } else {
            config.put("head_dim", Math.max(1, d() / 4));
        }
        for (int l = 0; l < spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            attention(p);
            if (l == 0) {
                denseMlp(p + "mlp.", 2 * f());
                continue;
            }
            linear(p + "mlp.gate.weight", e(), d());
            perExpertGated(p + "mlp.", "gate_proj", "up_proj", "down_proj");
            if (shared) {
                denseMlp(p + "mlp.shared_expert.", 2 * f());
                linear(p + "mlp.shared_expert_gate.weight", 1, d());
            }
        }
        tail();
    }

    private void olmoe() {
        config.put("intermediate_size", f());
        config.put("num_experts", e());
        config.put("num_experts_per_tok", spec.topK());
        config.put("norm_topk_prob", false);
        config.put("clip_qkv", null);
        for (int l = 0; l < spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            attention(p);
            linear(p + "mlp.gate.weight", e(), d());
            perExpertGated(p + "mlp.", "gate_proj", "up_proj", "down_proj");
        }
        tail();
    }

    private void deepseek(boolean v3) {
        int nShared = v3 ? 1 : 2;
        config.put("intermediate_size", 2 * f());
        config.put("moe_intermediate_size", f());
        config.put("n_routed_experts", e());
        config.put("n_shared_experts", nShared);
        config.put("num_experts_per_tok", spec.topK());
        config.put("n_group", 4);
        config.put("topk_group", 2);
        config.put("first_k_dense_replace", 1);
        config.put("routed_scaling_factor", v3 ? 2.5 : 2.0);
        config.put("norm_topk_prob", v3);
        config.put("kv_lora_rank", 16);
        config.put("q_lora_rank", 16);
        config.put("qk_rope_head_dim", 8);
        config.put("qk_nope_head_dim", 8);
        config.put("v_head_dim", 8);
        if (v3) {
            if (spec.v4Keys()) {
                config.put("scoring_func", "sigmoid");
                config.put("topk_method", "noaux_tc");
            }
            config.put("num_nextn_predict_layers", 1);
        } else {
            config.put("topk_method", "group_limited_greedy");
            config.put("mlp_bias", false);
        }
        for (int l = 0; l < spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            attention(p);
            if (l == 0) {
                denseMlp(p + "mlp.", 2 * f());
                continue;
            }
            linear(p + "mlp.gate.weight", e(), d());
            if (v3) {
                addF32(p + "mlp.gate.e_score_correction_bias", 0.0, 0.1, e());
            }
            perExpertGated(p + "mlp.", "gate_proj", "up_proj", "down_proj");
            denseMlp(p + "mlp.shared_experts.", nShared * f());
        }
        tail();
    }

    private void switchTransformers() {
        int blocks = spec.layers();
        config.put("d_model", d());
        config.put("d_ff", f());
        config.put("d_kv", Math.max(1, d() / 4));
        config.put("num_heads", 4);
        config.put("num_layers", blocks);
        config.put("num_decoder_layers", blocks);
        config.put("num_sparse_encoder_layers", blocks / 2);
        config.put("num_sparse_decoder_layers", blocks / 2);
        config.put("encoder_sparse_step", 2);
        config.put("decoder_sparse_step", 2);
        config.put("num_experts", e());
        config.put("expert_capacity", 4);
        config.put("router_bias", false);
        config.put("router_dtype", "float32");
        config.put("router_jitter_noise", 0.01);
        config.put("dense_act_fn", "relu");
        config.put("is_encoder_decoder", true);
        config.put("layer_norm_epsilon", 1e-6);
        add("shared.weight", 0.0, 1.0, vocab, d());
        for (String stack : new String[] {"encoder", "decoder"}) {
            for (int b = 0; b < blocks; b++) {
                String p = stack + ".block." + b + ".layer.";
                linear(p + "0.SelfAttention.q.weight", d(), d());
                linear(p + "0.SelfAttention.k.weight", d(), d());
                linear(p + "0.SelfAttention.v.weight", d(), d());
                linear(p + "0.SelfAttention.o.weight", d(), d());
                add(p + "0.layer_norm.weight", 1.0, 0.05, d());
                int ff = 1;
                if (stack.equals("decoder")) {
                    linear(p + "1.EncDecAttention.q.weight", d(), d());
                    linear(p + "1.EncDecAttention.o.weight", d(), d());
                    add(p + "1.layer_norm.weight", 1.0, 0.05, d());
                    ff = 2;
                }
                String m = p + ff + ".mlp.";
                if (b % 2 == 1) {
                    linear(m + "router.classifier.weight", e(), d());
                    for (int x = 0; x < e(); x++) {
                        linear(m + "experts.expert_" + x + ".wi.weight", f(), d());
                        linear(m + "experts.expert_" + x + ".wo.weight", d(), f());
                    }
                } else {
                    linear(m + "wi.weight", f(), d());
                    linear(m + "wo.weight", d(), f());
                }
                add(p + ff + ".layer_norm.weight", 1.0, 0.05, d());
            }
            add(stack + ".final_layer_norm.weight", 1.0, 0.05, d());
        }
        linear("lm_head.weight", vocab, d());
    }

    private void granite() {
        config.put("intermediate_size", f());
        config.put("num_local_experts", e());
        config.put("num_experts_per_tok", spec.topK());
        config.put("residual_multiplier", 0.5);
        config.put("embedding_multiplier", 1.0);
        config.put("attention_multiplier", 1.0);
        config.put("logits_scaling", 1.0);
        for (int l = 0; l < spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            attention(p);
            linear(p + "block_sparse_moe.router.layer.weight", e(), d());
            add(p + "block_sparse_moe.input_linear.weight", 0.0, 1.0 / Math.sqrt(d()), e(), 2L * f(), d());
            add(p + "block_sparse_moe.output_linear.weight", 0.0, 1.0 / Math.sqrt(f()), e(), d(), f());
        }
        tail();
    }

    private void gptOss() {
        config.put("intermediate_size", f());
        config.put("num_local_experts", e());
        config.put("num_experts_per_tok", spec.topK());
        config.put("head_dim", Math.max(1, d() / 4));
        config.put("attention_bias", true);
        config.put("sliding_window", 128);
        if (spec.v4Keys()) {
            config.put("experts_per_token", spec.topK());
            config.put("swiglu_limit", 7.0);
        }
        for (int l = 0; l < spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            attention(p);
            linear(p + "mlp.router.weight", e(), d());
            add(p + "mlp.router.bias", 0.0, 0.1, e());
            add(p + "mlp.experts.gate_up_proj", 0.0, 1.0 / Math.sqrt(d()), e(), d(), 2L * f());
            add(p + "mlp.experts.gate_up_proj_bias", 0.0, 0.1, e(), 2L * f());
            add(p + "mlp.experts.down_proj", 0.0, 1.0 / Math.sqrt(f()), e(), f(), d());
            add(p + "mlp.experts.down_proj_bias", 0.0, 0.1, e(), d());
        }
        tail();
    }
}

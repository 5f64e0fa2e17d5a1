package io.moestreams.core.gen;

import java.util.List;

/**
 * The family-specific part of a {@link HfCheckpointPlan}: for each supported {@code model_type}, its config.json
 * keys and its tensors in module order, with the names transformers uses.
 */
final class HfFamilies {

    private HfFamilies() {}

    static void mixtral(HfCheckpointPlan plan) {
        plan.config.put("intermediate_size", plan.f());
        plan.config.put("num_local_experts", plan.e());
        plan.config.put("num_experts_per_tok", plan.spec.topK());
        plan.config.put("router_jitter_noise", 0.0);
        plan.config.put("router_aux_loss_coef", 0.001);
        plan.config.put("output_router_logits", false);
        plan.config.put("sliding_window", null);
        for (int l = 0; l < plan.spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            plan.attention(p);
            plan.linear(p + "block_sparse_moe.gate.weight", plan.e(), plan.d());
            plan.perExpertGated(p + "block_sparse_moe.", "w1", "w3", "w2");
        }
        plan.tail();
    }

    static void qwen(HfCheckpointPlan plan, boolean shared) {
        plan.config.put("intermediate_size", 2 * plan.f());
        plan.config.put("moe_intermediate_size", plan.f());
        plan.config.put(!shared && !plan.spec.v4Keys() ? "num_local_experts" : "num_experts", plan.e());
        plan.config.put("num_experts_per_tok", plan.spec.topK());
        plan.config.put("norm_topk_prob", !shared);
        plan.config.put("decoder_sparse_step", 1);
        plan.config.put("mlp_only_layers", List.of(0));
        plan.config.put("router_aux_loss_coef", 0.001);
        plan.config.put("output_router_logits", false);
        if (shared) {
            plan.config.put("shared_expert_intermediate_size", 2 * plan.f());
            plan.config.put("qkv_bias", true);
        } else {
            plan.config.put("head_dim", Math.max(1, plan.d() / 4));
        }
        for (int l = 0; l < plan.spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            plan.attention(p);
            if (l == 0) {
                plan.denseMlp(p + "mlp.", 2 * plan.f());
                continue;
            }
            plan.linear(p + "mlp.gate.weight", plan.e(), plan.d());
            plan.perExpertGated(p + "mlp.", "gate_proj", "up_proj", "down_proj");
            if (shared) {
                plan.denseMlp(p + "mlp.shared_expert.", 2 * plan.f());
                plan.linear(p + "mlp.shared_expert_gate.weight", 1, plan.d());
            }
        }
        plan.tail();
    }

    static void olmoe(HfCheckpointPlan plan) {
        plan.config.put("intermediate_size", plan.f());
        plan.config.put("num_experts", plan.e());
        plan.config.put("num_experts_per_tok", plan.spec.topK());
        plan.config.put("norm_topk_prob", false);
        plan.config.put("clip_qkv", null);
        for (int l = 0; l < plan.spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            plan.attention(p);
            plan.linear(p + "mlp.gate.weight", plan.e(), plan.d());
            plan.perExpertGated(p + "mlp.", "gate_proj", "up_proj", "down_proj");
        }
        plan.tail();
    }

    static void deepseek(HfCheckpointPlan plan, boolean v3) {
        int nShared = v3 ? 1 : 2;
        plan.config.put("intermediate_size", 2 * plan.f());
        plan.config.put("moe_intermediate_size", plan.f());
        plan.config.put("n_routed_experts", plan.e());
        plan.config.put("n_shared_experts", nShared);
        plan.config.put("num_experts_per_tok", plan.spec.topK());
        plan.config.put("n_group", 4);
        plan.config.put("topk_group", 2);
        plan.config.put("first_k_dense_replace", 1);
        plan.config.put("routed_scaling_factor", v3 ? 2.5 : 2.0);
        plan.config.put("norm_topk_prob", v3);
        plan.config.put("kv_lora_rank", 16);
        plan.config.put("q_lora_rank", 16);
        plan.config.put("qk_rope_head_dim", 8);
        plan.config.put("qk_nope_head_dim", 8);
        plan.config.put("v_head_dim", 8);
        if (v3) {
            if (plan.spec.v4Keys()) {
                plan.config.put("scoring_func", "sigmoid");
                plan.config.put("topk_method", "noaux_tc");
            }
            plan.config.put("num_nextn_predict_layers", 1);
        } else {
            plan.config.put("topk_method", "group_limited_greedy");
            plan.config.put("mlp_bias", false);
        }
        for (int l = 0; l < plan.spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            plan.attention(p);
            if (l == 0) {
                plan.denseMlp(p + "mlp.", 2 * plan.f());
                continue;
            }
            plan.linear(p + "mlp.gate.weight", plan.e(), plan.d());
            if (v3) {
                plan.addF32(p + "mlp.gate.e_score_correction_bias", 0.0, 0.1, plan.e());
            }
            plan.perExpertGated(p + "mlp.", "gate_proj", "up_proj", "down_proj");
            plan.denseMlp(p + "mlp.shared_experts.", nShared * plan.f());
        }
        plan.tail();
    }

    static void switchTransformers(HfCheckpointPlan plan) {
        int blocks = plan.spec.layers();
        plan.config.put("d_model", plan.d());
        plan.config.put("d_ff", plan.f());
        plan.config.put("d_kv", Math.max(1, plan.d() / 4));
        plan.config.put("num_heads", 4);
        plan.config.put("num_layers", blocks);
        plan.config.put("num_decoder_layers", blocks);
        plan.config.put("num_sparse_encoder_layers", blocks / 2);
        plan.config.put("num_sparse_decoder_layers", blocks / 2);
        plan.config.put("encoder_sparse_step", 2);
        plan.config.put("decoder_sparse_step", 2);
        plan.config.put("num_experts", plan.e());
        plan.config.put("expert_capacity", 4);
        plan.config.put("router_bias", false);
        plan.config.put("router_dtype", "float32");
        plan.config.put("router_jitter_noise", 0.01);
        plan.config.put("dense_act_fn", "relu");
        plan.config.put("is_encoder_decoder", true);
        plan.config.put("layer_norm_epsilon", 1e-6);
        plan.add("shared.weight", 0.0, 1.0, plan.vocab, plan.d());
        for (String stack : new String[] {"encoder", "decoder"}) {
            for (int b = 0; b < blocks; b++) {
                String p = stack + ".block." + b + ".layer.";
                plan.linear(p + "0.SelfAttention.q.weight", plan.d(), plan.d());
                plan.linear(p + "0.SelfAttention.k.weight", plan.d(), plan.d());
                plan.linear(p + "0.SelfAttention.v.weight", plan.d(), plan.d());
                plan.linear(p + "0.SelfAttention.o.weight", plan.d(), plan.d());
                plan.add(p + "0.layer_norm.weight", 1.0, 0.05, plan.d());
                int ff = 1;
                if (stack.equals("decoder")) {
                    plan.linear(p + "1.EncDecAttention.q.weight", plan.d(), plan.d());
                    plan.linear(p + "1.EncDecAttention.o.weight", plan.d(), plan.d());
                    plan.add(p + "1.layer_norm.weight", 1.0, 0.05, plan.d());
                    ff = 2;
                }
                String m = p + ff + ".mlp.";
                if (b % 2 == 1) {
                    plan.linear(m + "router.classifier.weight", plan.e(), plan.d());
                    for (int x = 0; x < plan.e(); x++) {
                        plan.linear(m + "experts.expert_" + x + ".wi.weight", plan.f(), plan.d());
                        plan.linear(m + "experts.expert_" + x + ".wo.weight", plan.d(), plan.f());
                    }
                } else {
                    plan.linear(m + "wi.weight", plan.f(), plan.d());
                    plan.linear(m + "wo.weight", plan.d(), plan.f());
                }
                plan.add(p + ff + ".layer_norm.weight", 1.0, 0.05, plan.d());
            }
            plan.add(stack + ".final_layer_norm.weight", 1.0, 0.05, plan.d());
        }
        plan.linear("lm_head.weight", plan.vocab, plan.d());
    }

    static void granite(HfCheckpointPlan plan) {
        plan.config.put("intermediate_size", plan.f());
        plan.config.put("num_local_experts", plan.e());
        plan.config.put("num_experts_per_tok", plan.spec.topK());
        plan.config.put("residual_multiplier", 0.5);
        plan.config.put("embedding_multiplier", 1.0);
        plan.config.put("attention_multiplier", 1.0);
        plan.config.put("logits_scaling", 1.0);
        for (int l = 0; l < plan.spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            plan.attention(p);
            plan.linear(p + "block_sparse_moe.router.layer.weight", plan.e(), plan.d());
            plan.add(
                    p + "block_sparse_moe.input_linear.weight",
                    0.0,
                    1.0 / Math.sqrt(plan.d()),
                    plan.e(),
                    2L * plan.f(),
                    plan.d());
            plan.add(
                    p + "block_sparse_moe.output_linear.weight",
                    0.0,
                    1.0 / Math.sqrt(plan.f()),
                    plan.e(),
                    plan.d(),
                    plan.f());
        }
        plan.tail();
    }

    static void gptOss(HfCheckpointPlan plan) {
        plan.config.put("intermediate_size", plan.f());
        plan.config.put("num_local_experts", plan.e());
        plan.config.put("num_experts_per_tok", plan.spec.topK());
        plan.config.put("head_dim", Math.max(1, plan.d() / 4));
        plan.config.put("attention_bias", true);
        plan.config.put("sliding_window", 128);
        if (plan.spec.v4Keys()) {
            plan.config.put("experts_per_token", plan.spec.topK());
            plan.config.put("swiglu_limit", 7.0);
        }
        for (int l = 0; l < plan.spec.layers(); l++) {
            String p = "model.layers." + l + ".";
            plan.attention(p);
            plan.linear(p + "mlp.router.weight", plan.e(), plan.d());
            plan.add(p + "mlp.router.bias", 0.0, 0.1, plan.e());
            plan.add(p + "mlp.experts.gate_up_proj", 0.0, 1.0 / Math.sqrt(plan.d()), plan.e(), plan.d(), 2L * plan.f());
            plan.add(p + "mlp.experts.gate_up_proj_bias", 0.0, 0.1, plan.e(), 2L * plan.f());
            plan.add(p + "mlp.experts.down_proj", 0.0, 1.0 / Math.sqrt(plan.f()), plan.e(), plan.f(), plan.d());
            plan.add(p + "mlp.experts.down_proj_bias", 0.0, 0.1, plan.e(), plan.d());
        }
        plan.tail();
    }
}

package io.moestreams.core.hf;

import io.moestreams.core.config.ModelConfigException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The supported families by {@code model_type}. */
public final class HfFamilies {

    private static final Map<String, HfFamily> FAMILIES = new LinkedHashMap<>();

    static {
        for (HfFamily f : List.of(
                new MixtralFamily(),
                QwenMoeFamily.qwen2(),
                QwenMoeFamily.qwen3(),
                QwenMoeFamily.olmoe(),
                DeepseekFamily.v3(),
                DeepseekFamily.v2(),
                new SwitchTransformersFamily(),
                new GraniteMoeFamily(),
                new GptOssFamily())) {
            FAMILIES.put(f.modelType(), f);
        }
    }

    private HfFamilies() {}

    /** The supported model types, in documentation order. */
    public static List<String> modelTypes() {
        return List.copyOf(FAMILIES.keySet());
    }

    /**
     * @throws ModelConfigException naming {@code model_type} and the supported ones
     */
    public static HfFamily forModelType(String modelType) {
        HfFamily f = FAMILIES.get(modelType);
        if (f == null) {
            throw new ModelConfigException(
                    HfConfig.FILE_NAME + " model_type",
                    "one of " + String.join(", ", FAMILIES.keySet()) + " (the supported MoE families)",
                    String.valueOf(modelType));
        }
        return f;
    }
}

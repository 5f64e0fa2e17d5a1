package io.moestreams.schemas.config;

/**
 * The {@code moe.*} settings every service reads, named once; each service's config record adds its own keys.
 * From the environment a key is read upper case with {@code _} ({@link LayeredConfig#envName}).
 */
public final class CommonKeys {

    public static final String BOOTSTRAP = "moe.bootstrap-servers";
    public static final String REGISTRY = "moe.schema-registry-url";
    public static final String TOPIC_PREFIX = "moe.topic-prefix";
    public static final String MODEL_DIR = "moe.model-dir";
    public static final String MODEL_LAYER = "moe.model.layer";
    public static final String WIRE_DTYPE = "moe.wire.dtype";
    /** The expert consumer groups' prefix: experts join {@code <prefix><e>}, the gateway's flow control reads them. */
    public static final String EXPERT_GROUP_PREFIX = "moe.expert.group-prefix";

    private CommonKeys() {}
}

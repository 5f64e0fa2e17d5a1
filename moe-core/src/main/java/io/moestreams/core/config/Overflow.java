package io.moestreams.core.config;

/** What happens to a routing choice whose expert is already at capacity (docs/architecture.md, "Capacity and overflow"). */
public enum Overflow {
    /** Dropless: no capacity limit at all. */
    NONE("none"),
    /** The overflowing choice contributes zero; kept weights are not renormalised. */
    DROP("drop"),
    /** The overflowing choice moves to the highest-p expert not yet chosen for the token that still has room. */
    REROUTE("reroute");

    private final String json;

    Overflow(String json) {
        this.json = json;
    }

    public String json() {
        return json;
    }

    public static Overflow fromJson(String value) {
        for (Overflow o : values()) {
            if (o.json.equals(value)) {
                return o;
            }
        }
        throw new ModelConfigException("overflow", "one of none, drop, reroute", String.valueOf(value));
    }
}

package io.moestreams.schemas;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.common.config.ConfigException;

/**
 * How {@link SchemaRegistryClient} authenticates: nothing, HTTP basic or a bearer token, read from the same client
 * properties as Confluent's serializers (so one property file serves Kafka and the registry):
 *
 * <ul>
 *   <li>{@code basic.auth.credentials.source=USER_INFO} with {@code basic.auth.user.info=user:password}
 *       ({@code USER_INFO} is implied when only the user info is set);
 *   <li>{@code basic.auth.credentials.source=URL}: the user info of the registry URL
 *       ({@code https://user:password@host/...}), which is then removed from the URL the client shows;
 *   <li>{@code bearer.auth.credentials.source=STATIC_TOKEN} (or none) with {@code bearer.auth.token=TOKEN}.
 * </ul>
 *
 * Each key may also carry Confluent's {@code schema.registry.} prefix. Basic and bearer together are an error.
 * {@link #toString()} names the scheme and, for basic, the user, never the secret.
 */
public final class RegistryCredentials {

    public static final String BASIC_SOURCE = "basic.auth.credentials.source";
    public static final String BASIC_USER_INFO = "basic.auth.user.info";
    public static final String BEARER_SOURCE = "bearer.auth.credentials.source";
    public static final String BEARER_TOKEN = "bearer.auth.token";

    private static final String PREFIX = "schema.registry.";
    private static final RegistryCredentials NONE = new RegistryCredentials(null, null, null);

    private final String scheme;
    private final String user;
    private final String header;

    private RegistryCredentials(String scheme, String user, String header) {
        this.scheme = scheme;
        this.user = user;
        this.header = header;
    }

    /** No authentication. */
    public static RegistryCredentials none() {
        return NONE;
    }

    /** HTTP basic authentication. */
    public static RegistryCredentials basic(String user, String password) {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
        if (user.isEmpty() || user.indexOf(':') >= 0) {
            throw new IllegalArgumentException("registry user must be non-empty and without ':'");
        }
        String token = Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        return new RegistryCredentials("basic", user, "Basic " + token);
    }

    /** A static bearer token. */
    public static RegistryCredentials bearer(String token) {
        Objects.requireNonNull(token, "token");
        if (token.isBlank()) {
            throw new IllegalArgumentException("bearer token must not be blank");
        }
        return new RegistryCredentials("bearer", null, "Bearer " + token.trim());
    }

    /**
     * The credentials named by {@code config} (client properties) for the registry at {@code url}.
     *
     * @throws ConfigException naming the key when a source is unknown, a value is missing or malformed, or both
     *     basic and bearer are configured
     */
    public static RegistryCredentials from(Map<String, ?> config, String url) {
        String basicSource = value(config, BASIC_SOURCE);
        String userInfo = value(config, BASIC_USER_INFO);
        String bearerSource = value(config, BEARER_SOURCE);
        String token = value(config, BEARER_TOKEN);
        RegistryCredentials basic = null;
        if (basicSource != null || userInfo != null) {
            String source =
                    basicSource == null ? "USER_INFO" : basicSource.trim().toUpperCase(Locale.ROOT);
            switch (source) {
                case "USER_INFO" -> {
                    if (userInfo == null) {
                        throw new ConfigException(BASIC_USER_INFO, "(not shown)", "missing: expected user:password");
                    }
                    basic = fromUserInfo(userInfo, BASIC_USER_INFO);
                }
                case "URL" -> {
                    String info = RegistryUrl.userInfoOf(url);
                    if (info == null) {
                        throw new ConfigException(
                                BASIC_SOURCE, "URL", "the schema registry URL has no user:password@ part");
                    }
                    basic = fromUserInfo(URLDecoder.decode(info, StandardCharsets.UTF_8), "schema.registry.url");
                }
                default ->
                    throw new ConfigException(
                            BASIC_SOURCE, basicSource, "expected USER_INFO or URL (SASL_INHERIT is not supported)");
            }
        }
        RegistryCredentials bearer = null;
        if (bearerSource != null || token != null) {
            if (bearerSource != null && !bearerSource.trim().equalsIgnoreCase("STATIC_TOKEN")) {
                throw new ConfigException(BEARER_SOURCE, bearerSource, "expected STATIC_TOKEN");
            }
            if (token == null || token.isBlank()) {
                throw new ConfigException(BEARER_TOKEN, "(not shown)", "missing: expected the token");
            }
            bearer = bearer(token);
        }
        if (basic != null && bearer != null) {
            throw new ConfigException(
                    BEARER_TOKEN, "(not shown)", "configure either basic or bearer authentication, not both");
        }
        if (basic == null && bearer == null && url != null && RegistryUrl.userInfoOf(url) != null) {
            // Confluent's default source is URL: user info in the URL authenticates
            basic = fromUserInfo(
                    URLDecoder.decode(RegistryUrl.userInfoOf(url), StandardCharsets.UTF_8), "schema.registry.url");
        }
        return basic != null ? basic : bearer != null ? bearer : NONE;
    }

    private static RegistryCredentials fromUserInfo(String info, String key) {
        int colon = info.indexOf(':');
        if (colon <= 0) {
            throw new ConfigException(key, "(not shown)", "expected user:password");
        }
        return basic(info.substring(0, colon), info.substring(colon + 1));
    }

    private static String value(Map<String, ?> config, String key) {
        Object v = config.get(key);
        if (v == null) {
            v = config.get(PREFIX + key);
        }
        return v == null ? null : v.toString();
    }

    /** The value of the {@code Authorization} header, or null without authentication. */
    String authorizationHeader() {
        return header;
    }

    /** Whether requests carry credentials. */
    public boolean isPresent() {
        return header != null;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RegistryCredentials other && Objects.equals(other.header, header);
    }

    @Override
    public int hashCode() {
        return Objects.hashCode(header);
    }

    @Override
    public String toString() {
        return scheme == null
                ? "RegistryCredentials[none]"
                : "RegistryCredentials[" + scheme + (user == null ? "" : " user=" + user) + "]";
    }
}

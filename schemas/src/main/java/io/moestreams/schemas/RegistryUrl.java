package io.moestreams.schemas;

import java.net.URI;
import java.util.Objects;

/** Schema registry URLs: validation, and the user info ({@code user:password@}) that must never be shown. */
public final class RegistryUrl {

    private RegistryUrl() {}

    /** Validates the URL and strips its user info and trailing slashes. */
    static String normalize(String url) {
        Objects.requireNonNull(url, "baseUrl");
        String baseUrl = withoutUserInfo(url.trim());
        String trimmed = baseUrl;
        while (trimmed.endsWith("/")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1);
        }
        URI uri;
        try {
            uri = URI.create(trimmed);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "schema registry URL '" + baseUrl + "' is not a valid URI: " + e.getMessage(), e);
        }
        if (uri.getScheme() == null
                || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))
                || uri.getHost() == null) {
            throw new IllegalArgumentException("schema registry URL '" + baseUrl
                    + "' must be an absolute http(s) URL such as http://127.0.0.1:8081/apis/ccompat/v7");
        }
        return trimmed;
    }

    /** The user info part of {@code url}, or null. */
    static String userInfoOf(String url) {
        try {
            return URI.create(url.trim()).getRawUserInfo();
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** {@code url} without its user info (the part that must never be shown), for messages and {@code toString}. */
    public static String withoutUserInfo(String url) {
        String info = userInfoOf(url);
        return info == null ? url : url.replace(info + "@", "");
    }
}

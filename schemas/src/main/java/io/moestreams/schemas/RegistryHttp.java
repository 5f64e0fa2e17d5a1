package io.moestreams.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;

/**
 * The HTTP side of {@link SchemaRegistryClient}: sends one request of the Confluent schema-registry REST API,
 * turns every failure (unreachable, timeout, non-2xx, a body that is not JSON) into a
 * {@link SchemaRegistryException} naming the registry and what was being done, and reads the fields of an answer.
 * Knows nothing of caching or of which calls exist. Thread-safe.
 */
final class RegistryHttp {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String baseUrl;
    private final RegistryCredentials credentials;
    private final Duration requestTimeout;
    private final HttpClient http;
    private final AtomicLong requests = new AtomicLong();

    RegistryHttp(String baseUrl, Duration connectTimeout, Duration requestTimeout, RegistryCredentials credentials) {
        this.baseUrl = Objects.requireNonNull(baseUrl, "baseUrl");
        this.requestTimeout = Objects.requireNonNull(requestTimeout, "requestTimeout");
        this.credentials = Objects.requireNonNull(credentials, "credentials");
        this.http = HttpClient.newBuilder()
                .connectTimeout(Objects.requireNonNull(connectTimeout, "connectTimeout"))
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
    }

    /** Number of HTTP requests sent so far. */
    long requestCount() {
        return requests.get();
    }

    /**
     * Sends {@code method path} with the JSON {@code body} (none if null) and returns the answer's JSON (an empty
     * object for an empty body); {@code what} says in the error message what was being done.
     */
    JsonNode send(String method, String path, JsonNode body, String what) {
        String url = baseUrl + path;
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url))
                .timeout(requestTimeout)
                .header("Accept", SchemaRegistryClient.CONTENT_TYPE + ", application/json")
                .header("Content-Type", SchemaRegistryClient.CONTENT_TYPE);
        if (credentials.isPresent()) {
            request.header("Authorization", credentials.authorizationHeader());
        }
        HttpRequest.BodyPublisher publisher = body == null
                ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8);
        request.method(method, publisher);
        HttpResponse<String> response;
        requests.incrementAndGet();
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (HttpConnectTimeoutException e) {
            throw unreachable(what, "connect timed out: " + e.getMessage(), e);
        } catch (HttpTimeoutException e) {
            throw unreachable(what, "no answer within " + requestTimeout.toMillis() + " ms", e);
        } catch (ConnectException e) {
            throw unreachable(what, e.getMessage() == null ? "connection refused" : e.toString(), e);
        } catch (IOException e) {
            throw unreachable(what, e.toString(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SchemaRegistryException(
                    "interrupted while calling schema registry at " + baseUrl + " to " + what,
                    SchemaRegistryException.NO_RESPONSE,
                    -1,
                    null,
                    e);
        }
        int status = response.statusCode();
        String text = response.body() == null ? "" : response.body();
        if (status >= 200 && status < 300) {
            if (text.isBlank()) {
                return JSON.createObjectNode();
            }
            try {
                return JSON.readTree(text);
            } catch (IOException e) {
                throw new SchemaRegistryException(
                        "schema registry at " + baseUrl + " answered " + method + " "
                                + path + " (" + what + ") with HTTP " + status + " and a body that is not JSON: "
                                + abbreviate(text),
                        status,
                        -1,
                        text,
                        e);
            }
        }
        int errorCode = -1;
        String message = text.isBlank() ? null : text;
        try {
            JsonNode error = JSON.readTree(text);
            if (error != null && error.isObject()) {
                if (error.hasNonNull("error_code")) {
                    errorCode = error.get("error_code").asInt(-1);
                }
                if (error.hasNonNull("message")) {
                    message = error.get("message").asText();
                }
            }
        } catch (IOException ignored) {
            // not JSON: keep the raw body as the message
        }
        throw new SchemaRegistryException(
                "schema registry at " + baseUrl + " refused to " + what + ": HTTP "
                        + status + (errorCode >= 0 ? " error_code " + errorCode : "") + ": "
                        + (message == null ? "(no message)" : abbreviate(message)),
                status,
                errorCode,
                message,
                null);
    }

    private SchemaRegistryException unreachable(String what, String detail, Throwable cause) {
        return new SchemaRegistryException(
                "schema registry at " + baseUrl + " is unreachable: " + detail + " (while trying to " + what + ")",
                SchemaRegistryException.NO_RESPONSE,
                -1,
                null,
                cause);
    }

    static String encode(String subject) {
        Objects.requireNonNull(subject, "subject");
        if (subject.isEmpty()) {
            throw new IllegalArgumentException("subject must not be empty");
        }
        return URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
    }

    int intField(JsonNode answer, String field, String what) {
        JsonNode value = answer.get(field);
        if (value == null || !value.canConvertToInt()) {
            throw new SchemaRegistryException(
                    "schema registry at " + baseUrl + ": answer to " + what + " has no integer '" + field + "': "
                            + abbreviate(answer.toString()),
                    200,
                    -1,
                    answer.toString(),
                    null);
        }
        return value.asInt();
    }

    String textField(JsonNode answer, String field, String what) {
        JsonNode value = answer.get(field);
        if (value == null || !value.isTextual()) {
            throw new SchemaRegistryException(
                    "schema registry at " + baseUrl + ": answer to " + what + " has no string '" + field + "': "
                            + abbreviate(answer.toString()),
                    200,
                    -1,
                    answer.toString(),
                    null);
        }
        return value.asText();
    }

    Schema parseSchema(String text, String what) {
        try {
            return new Schema.Parser().parse(text);
        } catch (SchemaParseException e) {
            throw new SchemaRegistryException(
                    "schema registry at " + baseUrl + " returned an unparseable Avro " + "schema for " + what + ": "
                            + e.getMessage(),
                    200,
                    -1,
                    text,
                    e);
        }
    }

    static String abbreviate(String text) {
        return text.length() <= 2000 ? text : text.substring(0, 2000) + "...(" + text.length() + " chars)";
    }
}

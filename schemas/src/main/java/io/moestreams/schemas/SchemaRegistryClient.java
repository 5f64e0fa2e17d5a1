package io.moestreams.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;

/**
 * Client of the Confluent schema-registry REST API (Confluent Schema Registry, Apicurio's {@code /apis/ccompat/v7},
 * Karapace, ...) on {@code java.net.http}, for Avro schemas.
 *
 * <p>The base URL is the API root, e.g. {@code http://127.0.0.1:8081/apis/ccompat/v7} for Apicurio or
 * {@code http://registry:8081} for Confluent; a trailing slash is accepted.
 *
 * <p>Caching: {@link #register} and {@link #lookupId} are cached per (subject, schema JSON), and {@link #getById}
 * forever (ids are immutable), so repeated calls make no HTTP request. {@link #httpRequestCount()} counts the requests
 * actually sent. The class is thread-safe.
 *
 * <p>Every failure is a {@link SchemaRegistryException} carrying the HTTP status, the registry's {@code error_code}
 * and its message; an unreachable registry gives {@code "schema registry at <url> is unreachable: ..."}.
 */
public final class SchemaRegistryClient implements SchemaRegistry {

    /** Content type of the Confluent API. */
    public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    /** Default connect timeout. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Default timeout of one request (from sending to the full answer). */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String baseUrl;
    private final RegistryCredentials credentials;
    private final RegistryHttp http;
    private final RegistryCompatibility compatibility;
    private final Map<SubjectSchema, Integer> registered = new ConcurrentHashMap<>();
    private final Map<SubjectSchema, Integer> lookedUp = new ConcurrentHashMap<>();
    private final Map<Integer, Schema> byId = new ConcurrentHashMap<>();

    /** Result of a compatibility check: whether compatible and the registry's explanation, if any. */
    public record Compatibility(boolean compatible, List<String> messages) {
        public Compatibility {
            messages = List.copyOf(messages);
        }
    }

    /** A registered version of a subject. */
    public record SchemaVersion(String subject, int version, int id, Schema schema) {
        public SchemaVersion {
            Objects.requireNonNull(subject, "subject");
            Objects.requireNonNull(schema, "schema");
        }

        @Override
        public String toString() {
            return "SchemaVersion[subject=" + subject + ", version=" + version + ", id=" + id + ", schema="
                    + schema.getFullName() + "]";
        }
    }

    private record SubjectSchema(String subject, String schemaJson) {}

    private record SharedKey(String url, RegistryCredentials credentials) {}

    private static final Map<SharedKey, SchemaRegistryClient> SHARED = new ConcurrentHashMap<>();

    /**
     * The process-wide client of {@code baseUrl} with {@code credentials} (default timeouts), created on first use.
     * Serdes configured from Kafka properties use it, so their caches and HTTP connections are shared.
     */
    public static SchemaRegistryClient shared(String baseUrl, RegistryCredentials credentials) {
        return SHARED.computeIfAbsent(
                new SharedKey(RegistryUrl.normalize(baseUrl), credentials),
                k -> new SchemaRegistryClient(baseUrl, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, credentials));
    }

    /** A client of {@code baseUrl} authenticating as the client properties {@code config} say. */
    public static SchemaRegistryClient create(String baseUrl, Map<String, ?> config) {
        return new SchemaRegistryClient(
                baseUrl, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, RegistryCredentials.from(config, baseUrl));
    }

    /** A client with the default timeouts (connect 5 s, request 10 s); a URL's user info authenticates. */
    public SchemaRegistryClient(String baseUrl) {
        this(baseUrl, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT);
    }

    /** A client of the registry API rooted at {@code baseUrl}; a URL's user info authenticates. */
    public SchemaRegistryClient(String baseUrl, Duration connectTimeout, Duration requestTimeout) {
        this(baseUrl, connectTimeout, requestTimeout, RegistryCredentials.from(Map.of(), baseUrl));
    }

    /**
     * A client of the API rooted at {@code baseUrl} sending {@code credentials} with every request; the URL's user
     * info is never shown.
     *
     * @throws IllegalArgumentException if the URL is not an absolute http(s) URL
     */
    public SchemaRegistryClient(
            String baseUrl, Duration connectTimeout, Duration requestTimeout, RegistryCredentials credentials) {
        this.credentials = Objects.requireNonNull(credentials, "credentials");
        this.baseUrl = RegistryUrl.normalize(baseUrl);
        this.http = new RegistryHttp(this.baseUrl, connectTimeout, requestTimeout, credentials);
        this.compatibility = new RegistryCompatibility(http, this.baseUrl);
    }

    /** The API root URL, without trailing slash. */
    @Override
    public String location() {
        return baseUrl;
    }

    public String baseUrl() {
        return baseUrl;
    }

    /** Number of HTTP requests this client has sent (cache hits send none). For tests and metrics. */
    public long httpRequestCount() {
        return http.requestCount();
    }

    // ---------------------------------------------------------------------------------------------
    // API

    /**
     * Registers {@code schema} under {@code subject} (idempotent on the registry side) and returns its
     * global id. Cached per (subject, schema).
     *
     * @throws SchemaRegistryException 409 when incompatible with the subject's compatibility level (the
     *     message carries the registry's reason), 422 when the schema is invalid
     */
    @Override
    public int register(String subject, Schema schema) {
        SubjectSchema key = key(subject, schema);
        Integer cached = registered.get(key);
        if (cached != null) {
            return cached;
        }
        JsonNode answer = http.send(
                "POST",
                "/subjects/" + RegistryHttp.encode(subject) + "/versions",
                schemaBody(schema),
                "register schema " + schema.getFullName() + " under subject '" + subject + "'");
        int id = http.intField(answer, "id", "register");
        registered.putIfAbsent(key, id);
        byId.putIfAbsent(id, schema);
        return id;
    }

    /**
     * Registers schema text exactly as given (not parsed here, not cached), e.g. from a file or a tool.
     *
     * @throws SchemaRegistryException 422 / 42201 when the registry finds the schema invalid, 409 when
     *     incompatible
     */
    public int register(String subject, String schemaJson) {
        Objects.requireNonNull(schemaJson, "schemaJson");
        JsonNode answer = http.send(
                "POST",
                "/subjects/" + RegistryHttp.encode(subject) + "/versions",
                JSON.createObjectNode().put("schema", schemaJson),
                "register a schema under subject '" + subject + "'");
        return http.intField(answer, "id", "register");
    }

    /**
     * Looks up the id of {@code schema} already registered under {@code subject}, without registering
     * it. Cached per (subject, schema).
     *
     * @throws SchemaRegistryException 404 (40401 subject not found, 40403 schema not found) when it is
     *     not registered there
     */
    @Override
    public int lookupId(String subject, Schema schema) {
        SubjectSchema key = key(subject, schema);
        Integer cached = registered.get(key);
        if (cached == null) {
            cached = lookedUp.get(key);
        }
        if (cached != null) {
            return cached;
        }
        JsonNode answer = http.send(
                "POST",
                "/subjects/" + RegistryHttp.encode(subject),
                schemaBody(schema),
                "look up schema " + schema.getFullName() + " under subject '" + subject + "'");
        int id = http.intField(answer, "id", "lookup");
        lookedUp.putIfAbsent(key, id);
        byId.putIfAbsent(id, schema);
        return id;
    }

    /**
     * The schema with global id {@code id}. Cached forever.
     *
     * @throws SchemaRegistryException 404 / 40403 when no schema has that id
     */
    @Override
    public Schema getById(int id) {
        Schema cached = byId.get(id);
        if (cached != null) {
            return cached;
        }
        JsonNode answer = http.send("GET", "/schemas/ids/" + id, null, "get schema id " + id);
        Schema schema = http.parseSchema(http.textField(answer, "schema", "get schema id " + id), "schema id " + id);
        Schema previous = byId.putIfAbsent(id, schema);
        return previous != null ? previous : schema;
    }

    /** The latest version registered under {@code subject} (not cached: it changes). */
    public SchemaVersion latest(String subject) {
        return version(subject, "latest");
    }

    /** Version {@code version} of {@code subject} (not cached). */
    public SchemaVersion version(String subject, int version) {
        return version(subject, Integer.toString(version));
    }

    private SchemaVersion version(String subject, String version) {
        String what = "get version " + version + " of subject '" + subject + "'";
        JsonNode answer =
                http.send("GET", "/subjects/" + RegistryHttp.encode(subject) + "/versions/" + version, null, what);
        int id = http.intField(answer, "id", what);
        Schema schema = http.parseSchema(http.textField(answer, "schema", what), "subject '" + subject + "'");
        byId.putIfAbsent(id, schema);
        return new SchemaVersion(subject, http.intField(answer, "version", what), id, byId.get(id));
    }

    /** The global id of the latest version of {@code subject}. */
    public int latestVersionId(String subject) {
        return latest(subject).id();
    }

    /** The version numbers registered under {@code subject}, ascending. */
    public List<Integer> versions(String subject) {
        JsonNode answer = http.send(
                "GET",
                "/subjects/" + RegistryHttp.encode(subject) + "/versions",
                null,
                "list versions of subject '" + subject + "'");
        List<Integer> out = new ArrayList<>();
        answer.forEach(v -> out.add(v.asInt()));
        return out;
    }

    /** All subjects known to the registry. */
    public List<String> subjects() {
        JsonNode answer = http.send("GET", "/subjects", null, "list subjects");
        List<String> out = new ArrayList<>();
        answer.forEach(v -> out.add(v.asText()));
        return out;
    }

    /**
     * Whether {@code schema} could be registered as the next version of {@code subject} under its
     * compatibility level. A subject that does not exist yet accepts any schema (true).
     */
    public boolean testCompatibility(String subject, Schema schema) {
        return checkCompatibility(subject, schema).compatible();
    }

    /**
     * Like {@link #testCompatibility} but also returns the registry's messages explaining an incompatibility
     * (requested with {@code verbose=true}; registries that do not support it return none).
     */
    public Compatibility checkCompatibility(String subject, Schema schema) {
        return compatibility.check(subject, schema);
    }

    /**
     * The compatibility level configured for {@code subject} (e.g. {@code BACKWARD}). Where the
     * subject has no level of its own, the registry's global level.
     */
    public String getCompatibility(String subject) {
        return compatibility.level(subject);
    }

    /** The registry's global compatibility level. */
    public String getGlobalCompatibility() {
        return compatibility.globalLevel();
    }

    /**
     * Sets the compatibility level of {@code subject}: NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD,
     * FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE.
     */
    public void setCompatibility(String subject, String level) {
        compatibility.setLevel(subject, level);
    }

    /** Deletes {@code subject} and all its versions (soft delete); returns the deleted versions. */
    public List<Integer> deleteSubject(String subject) {
        JsonNode answer = http.send(
                "DELETE", "/subjects/" + RegistryHttp.encode(subject), null, "delete subject '" + subject + "'");
        registered.keySet().removeIf(k -> k.subject().equals(subject));
        lookedUp.keySet().removeIf(k -> k.subject().equals(subject));
        List<Integer> out = new ArrayList<>();
        answer.forEach(v -> out.add(v.asInt()));
        return out;
    }

    /** How this client authenticates (never the secret itself). */
    public RegistryCredentials credentials() {
        return credentials;
    }

    @Override
    public String toString() {
        return "SchemaRegistryClient[" + baseUrl + (credentials.isPresent() ? ", " + credentials : "") + "]";
    }

    // ---------------------------------------------------------------------------------------------
    // helpers

    private static SubjectSchema key(String subject, Schema schema) {
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(schema, "schema");
        return new SubjectSchema(subject, schema.toString());
    }

    private static ObjectNode schemaBody(Schema schema) {
        return JSON.createObjectNode().put("schema", schema.toString());
    }
}

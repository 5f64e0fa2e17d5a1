package io.moestreams.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.avro.Schema;

/**
 * The compatibility calls of the Confluent schema-registry API for {@link SchemaRegistryClient}: test a schema
 * against a subject's latest version, read and set a subject's (or the global) compatibility level. Never cached:
 * these answers change.
 */
final class RegistryCompatibility {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String GLOBAL = "get the global compatibility level";

    private final RegistryHttp http;
    private final String baseUrl;

    RegistryCompatibility(RegistryHttp http, String baseUrl) {
        this.http = Objects.requireNonNull(http, "http");
        this.baseUrl = Objects.requireNonNull(baseUrl, "baseUrl");
    }

    /** See {@link SchemaRegistryClient#checkCompatibility}. A subject with no version yet accepts anything. */
    SchemaRegistryClient.Compatibility check(String subject, Schema schema) {
        String what = "test compatibility of " + schema.getFullName() + " with subject '" + subject + "'";
        JsonNode answer;
        try {
            answer = http.send(
                    "POST",
                    "/compatibility/subjects/" + RegistryHttp.encode(subject) + "/versions/latest?verbose=true",
                    JSON.createObjectNode().put("schema", schema.toString()),
                    what);
        } catch (SchemaRegistryException e) {
            if (e.errorCode() == 40401 || e.errorCode() == 40402) {
                return new SchemaRegistryClient.Compatibility(true, List.of()); // nothing registered yet
            }
            throw e;
        }
        JsonNode flag = answer.get("is_compatible");
        if (flag == null || !flag.isBoolean()) {
            throw new SchemaRegistryException(
                    "schema registry at " + baseUrl + ": answer to " + what + " has no boolean 'is_compatible': "
                            + answer,
                    200,
                    -1,
                    answer.toString(),
                    null);
        }
        List<String> messages = new ArrayList<>();
        JsonNode list = answer.get("messages");
        if (list != null && list.isArray()) {
            list.forEach(m -> messages.add(m.isTextual() ? m.asText() : m.toString()));
        }
        return new SchemaRegistryClient.Compatibility(flag.asBoolean(), messages);
    }

    /** The level of {@code subject}, or the global level where the subject has none of its own. */
    String level(String subject) {
        String what = "get compatibility of subject '" + subject + "'";
        JsonNode answer;
        try {
            answer = http.send("GET", "/config/" + RegistryHttp.encode(subject) + "?defaultToGlobal=true", null, what);
        } catch (SchemaRegistryException e) {
            if (!e.isNotFound()) {
                throw e;
            }
            answer = http.send("GET", "/config", null, GLOBAL);
        }
        return levelOf(answer, what);
    }

    /** The registry's global level. */
    String globalLevel() {
        return levelOf(http.send("GET", "/config", null, GLOBAL), GLOBAL);
    }

    /** Sets the level of {@code subject}. */
    void setLevel(String subject, String level) {
        Objects.requireNonNull(level, "level");
        http.send(
                "PUT",
                "/config/" + RegistryHttp.encode(subject),
                JSON.createObjectNode().put("compatibility", level),
                "set compatibility of subject '" + subject + "' to " + level);
    }

    private static String levelOf(JsonNode answer, String what) {
        for (String field : new String[] {"compatibilityLevel", "compatibility"}) {
            JsonNode value = answer.get(field);
            if (value != null && value.isTextual()) {
                return value.asText();
            }
        }
        throw new SchemaRegistryException(
                "answer to " + what + " has no 'compatibilityLevel': " + RegistryHttp.abbreviate(answer.toString()),
                200,
                -1,
                answer.toString(),
                null);
    }
}

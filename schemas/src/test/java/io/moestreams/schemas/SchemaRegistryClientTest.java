package io.moestreams.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moestreams.avro.Tensor;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

class SchemaRegistryClientTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Test
    void registersWithTheConfluentContentTypeAndCachesTheId() throws Exception {
        try (StubRegistry stub = new StubRegistry()) {
            // Given a registry answering id 42 for subject "a b-value" and a base URL with a trailing slash
            stub.on("POST", "/apis/ccompat/v7/subjects/a%20b-value/versions", 200, "{\"id\":42}");
            SchemaRegistryClient client = new SchemaRegistryClient(stub.baseUrl() + "/");

            // When the same schema is registered three times
            int first = client.register("a b-value", Tensor.getClassSchema());
            int second = client.register("a b-value", Tensor.getClassSchema());
            int third = client.register(
                    "a b-value",
                    new Schema.Parser().parse(Tensor.getClassSchema().toString()));

            // Then one POST with the schema as a JSON string was sent and all calls return 42
            assertEquals(42, first);
            assertEquals(42, second);
            assertEquals(42, third);
            assertEquals(1, stub.requests.size());
            assertEquals(1, client.httpRequestCount());
            StubRegistry.Request request = stub.requests.get(0);
            assertEquals("POST", request.method());
            assertEquals("application/vnd.schemaregistry.v1+json", request.contentType());
            JsonNode body = JSON.readTree(request.body());
            assertEquals(
                    Tensor.getClassSchema(),
                    new Schema.Parser().parse(body.get("schema").asText()));
            // and the registered schema is known by id without a further call
            assertEquals(Tensor.getClassSchema(), client.getById(42));
            assertEquals(1, stub.requests.size());
        }
    }

    @Test
    void fetchesSchemasByIdOnce() throws Exception {
        try (StubRegistry stub = new StubRegistry()) {
            // Given a registry that knows schema id 7
            stub.on(
                    "GET",
                    "/apis/ccompat/v7/schemas/ids/7",
                    200,
                    JSON.createObjectNode()
                            .put("schema", Tensor.getClassSchema().toString())
                            .toString());
            SchemaRegistryClient client = new SchemaRegistryClient(stub.baseUrl());

            // When it is fetched twice
            Schema a = client.getById(7);
            Schema b = client.getById(7);

            // Then one request was made and both are the Tensor schema
            assertEquals(Tensor.getClassSchema(), a);
            assertEquals(a, b);
            assertEquals(1, stub.requests.size());
        }
    }

    @Test
    void carriesStatusErrorCodeAndRegistryMessageOnErrors() throws Exception {
        try (StubRegistry stub = new StubRegistry()) {
            // Given a registry that refuses a registration as incompatible and answers 500 with plain text
            stub.on(
                    "POST",
                    "/apis/ccompat/v7/subjects/s/versions",
                    409,
                    "{\"error_code\":409,\"message\":\"Incompatible: b at /fields/1\"}");
            stub.on("GET", "/apis/ccompat/v7/schemas/ids/3", 500, "boom");
            SchemaRegistryClient client = new SchemaRegistryClient(stub.baseUrl());

            // When both calls are made
            SchemaRegistryException incompatible =
                    assertThrows(SchemaRegistryException.class, () -> client.register("s", Tensor.getClassSchema()));
            SchemaRegistryException broken = assertThrows(SchemaRegistryException.class, () -> client.getById(3));

            // Then the exceptions carry the HTTP status, error code and the registry's message
            assertEquals(409, incompatible.httpStatus());
            assertEquals(409, incompatible.errorCode());
            assertEquals("Incompatible: b at /fields/1", incompatible.registryMessage());
            assertTrue(incompatible.getMessage().contains("Incompatible: b at /fields/1"), incompatible.getMessage());
            assertTrue(incompatible.getMessage().contains("subject 's'"), incompatible.getMessage());
            assertFalse(incompatible.isUnreachable());
            assertEquals(500, broken.httpStatus());
            assertEquals(-1, broken.errorCode());
            assertEquals("boom", broken.registryMessage());
        }
    }

    @Test
    void sendsCompatibilityAndConfigRequestsToTheConfluentPaths() throws Exception {
        try (StubRegistry stub = new StubRegistry()) {
            // Given a registry with a subject whose level is FULL, reporting an incompatibility with messages
            stub.on(
                    "POST",
                    "/apis/ccompat/v7/compatibility/subjects/s/versions/latest",
                    200,
                    "{\"is_compatible\":false,\"messages\":[\"reader field b has no default\"]}");
            stub.on("GET", "/apis/ccompat/v7/config/s", 200, "{\"compatibilityLevel\":\"FULL\"}");
            stub.on("PUT", "/apis/ccompat/v7/config/s", 200, "{\"compatibility\":\"NONE\"}");
            SchemaRegistryClient client = new SchemaRegistryClient(stub.baseUrl());

            // When compatibility is tested, read and set
            SchemaRegistryClient.Compatibility result = client.checkCompatibility("s", Tensor.getClassSchema());
            String level = client.getCompatibility("s");
            client.setCompatibility("s", "NONE");

            // Then the answers are interpreted and the PUT body names the level
            assertFalse(result.compatible());
            assertEquals(List.of("reader field b has no default"), result.messages());
            assertEquals("FULL", level);
            StubRegistry.Request put = stub.requests.get(2);
            assertEquals("PUT", put.method());
            assertEquals("NONE", JSON.readTree(put.body()).get("compatibility").asText());
            assertEquals(
                    "/apis/ccompat/v7/compatibility/subjects/s/versions/latest?verbose=true",
                    stub.requests.get(0).path());
        }
    }

    @Test
    void reportsAnUnreachableRegistryWithItsUrl() throws Exception {
        // Given a client pointed at a closed port
        String url = "http://127.0.0.1:" + closedPort() + "/apis/ccompat/v7";
        SchemaRegistryClient client = new SchemaRegistryClient(url, Duration.ofSeconds(2), Duration.ofSeconds(2));

        // When a schema is registered
        SchemaRegistryException e =
                assertThrows(SchemaRegistryException.class, () -> client.register("x-value", Tensor.getClassSchema()));

        // Then the error says the registry at that URL is unreachable
        assertTrue(e.isUnreachable());
        assertEquals(SchemaRegistryException.NO_RESPONSE, e.httpStatus());
        assertTrue(e.getMessage().startsWith("schema registry at " + url + " is unreachable: "), e.getMessage());
    }

    @Test
    void rejectsUrlsThatAreNotHttp() {
        // Given malformed base URLs
        // When clients are built
        IllegalArgumentException relative =
                assertThrows(IllegalArgumentException.class, () -> new SchemaRegistryClient("localhost:8081"));
        IllegalArgumentException spaces =
                assertThrows(IllegalArgumentException.class, () -> new SchemaRegistryClient("http://a b"));

        // Then the message names the URL and the expected form
        assertTrue(relative.getMessage().contains("'localhost:8081'"), relative.getMessage());
        assertTrue(spaces.getMessage().contains("'http://a b'"), spaces.getMessage());
        assertEquals("http://h:1/apis/ccompat/v7", new SchemaRegistryClient("http://h:1/apis/ccompat/v7//").baseUrl());
    }

    @Test
    void sharesOneClientPerNormalizedUrl() {
        // Given the same URL with and without a trailing slash, and another URL
        // When shared clients are asked for
        SchemaRegistryClient a =
                SchemaRegistryClient.shared("http://127.0.0.1:1/apis/ccompat/v7", RegistryCredentials.none());
        SchemaRegistryClient b =
                SchemaRegistryClient.shared("http://127.0.0.1:1/apis/ccompat/v7/", RegistryCredentials.none());
        SchemaRegistryClient c =
                SchemaRegistryClient.shared("http://127.0.0.1:2/apis/ccompat/v7", RegistryCredentials.none());

        // Then the first two are one instance and the third another
        assertSame(a, b);
        assertNotSame(a, c);
    }
}

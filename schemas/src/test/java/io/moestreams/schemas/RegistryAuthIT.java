package io.moestreams.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.InferenceRequest;
import io.moestreams.embedded.SharedStack;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The registry client authenticates with basic or bearer credentials and never shows them. */
@Tag("integration")
@Timeout(600)
class RegistryAuthIT {

    private static final String SECRET = "s3cret-" + UUID.randomUUID();

    private static String subject() {
        return "auth-" + UUID.randomUUID() + "-value";
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void basicCredentialsFromTheConfluentKeysAuthenticate() throws Exception {
        // Given a registry that wants user 'moe' with the secret
        try (AuthenticatingRegistry registry =
                new AuthenticatingRegistry(SharedStack.get().schemaRegistryUrl(), basic("moe", SECRET))) {
            // When a client configured like a Confluent serializer registers and reads back a schema
            SchemaRegistryClient client = SchemaRegistryClient.create(
                    registry.url(),
                    Map.of("basic.auth.credentials.source", "USER_INFO", "basic.auth.user.info", "moe:" + SECRET));
            int id = client.register(subject(), InferenceRequest.getClassSchema());
            // Then it is served, and nothing was refused
            assertEquals(InferenceRequest.getClassSchema(), client.getById(id));
            assertEquals(0, registry.refused.get());
            assertFalse(client.toString().contains(SECRET), client.toString());
        }
    }

    @Test
    void aBearerTokenAuthenticates() throws Exception {
        try (AuthenticatingRegistry registry =
                new AuthenticatingRegistry(SharedStack.get().schemaRegistryUrl(), "Bearer " + SECRET)) {
            SchemaRegistryClient client = SchemaRegistryClient.create(
                    registry.url(),
                    Map.of("bearer.auth.credentials.source", "STATIC_TOKEN", "bearer.auth.token", SECRET));
            assertTrue(client.register(subject(), InferenceRequest.getClassSchema()) > 0);
            assertFalse(client.toString().contains(SECRET));
        }
    }

    @Test
    void userInfoInTheUrlAuthenticatesAndIsNeverShown() throws Exception {
        try (AuthenticatingRegistry registry =
                new AuthenticatingRegistry(SharedStack.get().schemaRegistryUrl(), basic("moe", SECRET))) {
            String url = registry.url().replace("http://", "http://moe:" + SECRET + "@");
            SchemaRegistryClient client = new SchemaRegistryClient(url);
            assertTrue(client.register(subject(), InferenceRequest.getClassSchema()) > 0);
            assertFalse(client.baseUrl().contains(SECRET), client.baseUrl());
            assertFalse(client.toString().contains(SECRET), client.toString());
        }
    }

    @Test
    void aSerdeConfiguredWithCredentialsAuthenticates() throws Exception {
        try (AuthenticatingRegistry registry =
                new AuthenticatingRegistry(SharedStack.get().schemaRegistryUrl(), basic("moe", SECRET))) {
            Map<String, Object> config = Map.of(
                    AvroSerdeConfig.SCHEMA_REGISTRY_URL, registry.url(), "basic.auth.user.info", "moe:" + SECRET);
            AvroSerializer<InferenceRequest> serializer = new AvroSerializer<>();
            serializer.configure(config, false);
            AvroDeserializer<InferenceRequest> deserializer = new AvroDeserializer<>(InferenceRequest.class);
            deserializer.configure(config, false);
            String topic = "auth-" + UUID.randomUUID();
            byte[] bytes = serializer.serialize(topic, Samples.request("a"));
            assertEquals(Samples.request("a"), deserializer.deserialize(topic, bytes));
            assertEquals(0, registry.refused.get());
        }
    }

    @Test
    void aWrongPasswordIsRefusedWithoutEchoingIt() throws Exception {
        try (AuthenticatingRegistry registry =
                new AuthenticatingRegistry(SharedStack.get().schemaRegistryUrl(), basic("moe", SECRET))) {
            String wrong = "wrong-" + UUID.randomUUID();
            SchemaRegistryClient client =
                    SchemaRegistryClient.create(registry.url(), Map.of("basic.auth.user.info", "moe:" + wrong));
            SchemaRegistryException e = assertThrows(
                    SchemaRegistryException.class, () -> client.register(subject(), InferenceRequest.getClassSchema()));
            assertEquals(401, e.httpStatus());
            assertFalse(e.getMessage().contains(wrong), e.getMessage());
            // and so is a client without credentials
            SchemaRegistryClient anonymous = new SchemaRegistryClient(registry.url());
            assertEquals(
                    401,
                    assertThrows(
                                    SchemaRegistryException.class,
                                    () -> anonymous.register(subject(), InferenceRequest.getClassSchema()))
                            .httpStatus());
        }
    }
}

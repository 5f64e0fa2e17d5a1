package io.moestreams.schemas;

import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.config.ConfigException;

/**
 * Configuration keys of {@link AvroSerializer}, {@link AvroDeserializer} and {@link AvroSerde}; the
 * names are Confluent's, so the same client properties work with either implementation. Serdes
 * configured from {@code schema.registry.url} share one {@link SchemaRegistryClient} per URL
 * ({@link SchemaRegistryClient#shared}); of a comma-separated list, the first URL is used. The registry credentials
 * are Confluent's keys too ({@link RegistryCredentials}).
 */
public final class AvroSerdeConfig {

    /** URL of the Confluent-compatible registry API, e.g. {@code http://127.0.0.1:8081/apis/ccompat/v7}. */
    public static final String SCHEMA_REGISTRY_URL = "schema.registry.url";
    /** Whether the serializer registers the record's schema on first use (default true). */
    public static final String AUTO_REGISTER_SCHEMAS = "auto.register.schemas";
    /** Fully-qualified SpecificRecord class the value deserializer produces. */
    public static final String SPECIFIC_AVRO_VALUE_TYPE = "specific.avro.value.type";
    /** Fully-qualified SpecificRecord class the key deserializer produces. */
    public static final String SPECIFIC_AVRO_KEY_TYPE = "specific.avro.key.type";

    private AvroSerdeConfig() {}

    static SchemaRegistryClient clientFrom(Map<String, ?> configs) {
        Object url = configs.get(SCHEMA_REGISTRY_URL);
        if (url == null || url.toString().isBlank()) {
            throw new ConfigException("missing '" + SCHEMA_REGISTRY_URL
                    + "' (e.g. http://127.0.0.1:8081/apis/ccompat/v7) and no SchemaRegistryClient was given");
        }
        String first = url.toString().split(",")[0].trim();
        try {
            return SchemaRegistryClient.shared(first, RegistryCredentials.from(configs, first));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(SCHEMA_REGISTRY_URL, RegistryUrl.withoutUserInfo(first), e.getMessage());
        }
    }

    static boolean autoRegister(Map<String, ?> configs, boolean current) {
        Object value = configs.get(AUTO_REGISTER_SCHEMAS);
        if (value == null) {
            return current;
        }
        if (value instanceof Boolean b) {
            return b;
        }
        String text = value.toString().trim();
        if (text.equalsIgnoreCase("true")) {
            return true;
        }
        if (text.equalsIgnoreCase("false")) {
            return false;
        }
        throw new ConfigException(AUTO_REGISTER_SCHEMAS, value, "expected true or false");
    }

    /** The configured SpecificRecord class for the key or value, or null when not configured. */
    static Class<? extends SpecificRecord> recordType(Map<String, ?> configs, boolean isKey) {
        String key = isKey ? SPECIFIC_AVRO_KEY_TYPE : SPECIFIC_AVRO_VALUE_TYPE;
        Object value = configs.get(key);
        if (value == null) {
            return null;
        }
        Class<?> type;
        if (value instanceof Class<?> c) {
            type = c;
        } else {
            try {
                ClassLoader loader = Thread.currentThread().getContextClassLoader();
                if (loader == null) {
                    loader = AvroSerdeConfig.class.getClassLoader();
                }
                type = Class.forName(value.toString().trim(), true, loader);
            } catch (ClassNotFoundException e) {
                throw new ConfigException(key, value, "class not found");
            }
        }
        if (!SpecificRecord.class.isAssignableFrom(type)) {
            throw new ConfigException(key, value, "not an Avro SpecificRecord class");
        }
        return type.asSubclass(SpecificRecord.class);
    }
}

package io.moestreams.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.avro.CassetteEntry;
import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.ExpertLoad;
import io.moestreams.avro.ExpertResult;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.avro.Tensor;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.JsonProperties;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/** The contract the services code against: record names, field names, docs, no float arrays. */
class SchemaContractTest {

    private static final Map<Schema, List<String>> FIELDS = Map.of(
            Tensor.getClassSchema(), List.of("dtype", "shape", "data"),
            InferenceRequest.getClassSchema(), List.of("requestId", "tokens", "deadlineMs"),
            DispatchBlock.getClassSchema(),
                    List.of(
                            "requestId",
                            "expert",
                            "attempt",
                            "seqLen",
                            "positions",
                            "gateWeights",
                            "hidden",
                            "deadlineMs"),
            ExpertResult.getClassSchema(), List.of("requestId", "expert", "attempt", "positions", "output", "workerId"),
            DispatchManifest.getClassSchema(),
                    List.of(
                            "requestId",
                            "seqLen",
                            "hiddenSize",
                            "deadlineMs",
                            "receivedAtMs",
                            "experts",
                            "tokenExperts",
                            "tokenWeights",
                            "dropped",
                            "sharedExperts",
                            "fingerprint"),
            InferenceResponse.getClassSchema(),
                    List.of(
                            "requestId",
                            "status",
                            "output",
                            "tokenExperts",
                            "tokenWeights",
                            "dropped",
                            "missingExperts",
                            "error",
                            "receivedAtMs",
                            "completedAtMs",
                            "fingerprint"),
            CassetteEntry.getClassSchema(),
                    List.of(
                            "requestId",
                            "request",
                            "requestPartition",
                            "requestOffset",
                            "requestTimestampMs",
                            "response",
                            "responsePartition",
                            "responseOffset",
                            "responseTimestampMs"),
            DeadLetter.getClassSchema(),
                    List.of(
                            "sourceTopic",
                            "sourcePartition",
                            "sourceOffset",
                            "key",
                            "value",
                            "reason",
                            "field",
                            "requestId",
                            "timestampMs"),
            ExpertLoad.getClassSchema(),
                    List.of(
                            "layer",
                            "instance",
                            "windowStartMs",
                            "windowEndMs",
                            "closed",
                            "numExperts",
                            "numShared",
                            "sequences",
                            "tokens",
                            "droppedTokens",
                            "expertTokens",
                            "expertBlocks",
                            "top1",
                            "importance",
                            "throttledMs"));

    @Test
    void recordsHaveExactlyTheAgreedFieldsInOrder() {
        // Given the generated record schemas
        for (Map.Entry<Schema, List<String>> entry : FIELDS.entrySet()) {
            Schema schema = entry.getKey();

            // When their field names are listed
            List<String> names =
                    schema.getFields().stream().map(Schema.Field::name).toList();

            // Then they are the agreed ones, in the io.moestreams.avro namespace
            assertEquals(entry.getValue(), names, schema.getFullName());
            assertEquals("io.moestreams.avro", schema.getNamespace());
        }
    }

    @Test
    void everyFieldAndRecordIsDocumented() {
        // Given all record schemas
        for (Schema schema : FIELDS.keySet()) {
            // When their docs are read
            // Then none is missing or blank
            assertNotNull(schema.getDoc(), schema.getFullName());
            for (Schema.Field field : schema.getFields()) {
                assertTrue(field.doc() != null && !field.doc().isBlank(), schema.getFullName() + "." + field.name());
            }
        }
    }

    @Test
    void noSchemaCarriesFloatArrays() {
        // Given all record schemas, walked recursively
        for (Schema schema : FIELDS.keySet()) {
            // When every nested type is visited
            // Then no array of float/double appears (vectors travel as Tensor bytes)
            assertFalse(hasFloatArray(schema, new HashSet<>()), schema.getFullName());
        }
    }

    @Test
    void optionalFieldsDefaultToNull() {
        // Given the fields documented as optional
        List<Schema.Field> optional = List.of(
                InferenceRequest.getClassSchema().getField("deadlineMs"),
                InferenceResponse.getClassSchema().getField("output"),
                InferenceResponse.getClassSchema().getField("tokenWeights"),
                InferenceResponse.getClassSchema().getField("error"),
                InferenceResponse.getClassSchema().getField("fingerprint"),
                DispatchManifest.getClassSchema().getField("fingerprint"),
                CassetteEntry.getClassSchema().getField("response"),
                CassetteEntry.getClassSchema().getField("responsePartition"),
                CassetteEntry.getClassSchema().getField("responseOffset"),
                CassetteEntry.getClassSchema().getField("responseTimestampMs"),
                DeadLetter.getClassSchema().getField("key"),
                DeadLetter.getClassSchema().getField("value"),
                DeadLetter.getClassSchema().getField("field"),
                DeadLetter.getClassSchema().getField("requestId"));

        // When their types and defaults are inspected
        for (Schema.Field field : optional) {
            // Then each is a union starting with null, defaulting to null
            assertEquals(Schema.Type.UNION, field.schema().getType(), field.name());
            assertEquals(Schema.Type.NULL, field.schema().getTypes().get(0).getType(), field.name());
            assertTrue(field.hasDefaultValue(), field.name());
            assertEquals(JsonProperties.NULL_VALUE, field.defaultVal(), field.name());
        }
    }

    private static boolean hasFloatArray(Schema schema, Set<String> seen) {
        switch (schema.getType()) {
            case RECORD:
                if (!seen.add(schema.getFullName())) {
                    return false;
                }
                for (Schema.Field field : schema.getFields()) {
                    if (hasFloatArray(field.schema(), seen)) {
                        return true;
                    }
                }
                return false;
            case ARRAY:
                Schema.Type item = schema.getElementType().getType();
                return item == Schema.Type.FLOAT
                        || item == Schema.Type.DOUBLE
                        || hasFloatArray(schema.getElementType(), seen);
            case MAP:
                return hasFloatArray(schema.getValueType(), seen);
            case UNION:
                for (Schema branch : schema.getTypes()) {
                    if (hasFloatArray(branch, seen)) {
                        return true;
                    }
                }
                return false;
            default:
                return false;
        }
    }
}

package io.moestreams.schemas;

import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.Tensor;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.JsonProperties;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecordBase;

/**
 * What a version 2 of {@link InferenceRequest} could look like: the same record name plus an
 * optional {@code priority} field defaulting to null. Written by hand (the generated v1 class owns
 * the name), with a model ({@code MODEL$}, which {@code SpecificData.getForClass} picks up) that maps
 * the record name to this class and this class to its schema, so it can also be read into.
 */
public final class InferenceRequestV2 extends SpecificRecordBase {

    private static final long serialVersionUID = 1L;

    public static final Schema SCHEMA$ = buildSchema();

    public static final SpecificData MODEL$ = new SpecificData() {
        @Override
        public Class<?> getClass(Schema schema) {
            if (schema.getType() == Schema.Type.RECORD && schema.getFullName().equals(SCHEMA$.getFullName())) {
                return InferenceRequestV2.class;
            }
            return super.getClass(schema);
        }

        @Override
        public Schema getSchema(Type type) {
            // SpecificData would rewrite a SCHEMA$ whose name is not the class name (its shading hack)
            return type == InferenceRequestV2.class ? SCHEMA$ : super.getSchema(type);
        }
    };

    private String requestId;
    private Tensor tokens;
    private Long deadlineMs;
    private Integer priority;

    public InferenceRequestV2() {}

    public InferenceRequestV2(String requestId, Tensor tokens, Long deadlineMs, Integer priority) {
        this.requestId = requestId;
        this.tokens = tokens;
        this.deadlineMs = deadlineMs;
        this.priority = priority;
    }

    private static Schema buildSchema() {
        Schema v1 = InferenceRequest.getClassSchema();
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field field : v1.getFields()) {
            fields.add(new Schema.Field(field, field.schema()));
        }
        Schema optionalInt = Schema.createUnion(Schema.create(Schema.Type.NULL), Schema.create(Schema.Type.INT));
        fields.add(new Schema.Field(
                "priority", optionalInt, "Scheduling priority (added in v2).", JsonProperties.NULL_VALUE));
        return Schema.createRecord(v1.getName(), v1.getDoc(), v1.getNamespace(), false, fields);
    }

    @Override
    public Schema getSchema() {
        return SCHEMA$;
    }

    @Override
    public SpecificData getSpecificData() {
        return MODEL$;
    }

    @Override
    public Object get(int field) {
        switch (field) {
            case 0:
                return requestId;
            case 1:
                return tokens;
            case 2:
                return deadlineMs;
            case 3:
                return priority;
            default:
                throw new IndexOutOfBoundsException("field " + field);
        }
    }

    @Override
    public void put(int field, Object value) {
        switch (field) {
            case 0:
                requestId = (String) value;
                break;
            case 1:
                tokens = (Tensor) value;
                break;
            case 2:
                deadlineMs = (Long) value;
                break;
            case 3:
                priority = (Integer) value;
                break;
            default:
                throw new IndexOutOfBoundsException("field " + field);
        }
    }

    public String requestId() {
        return requestId;
    }

    public Tensor tokens() {
        return tokens;
    }

    public Long deadlineMs() {
        return deadlineMs;
    }

    public Integer priority() {
        return priority;
    }
}

package io.moestreams.core.model;

import java.util.Optional;

/**
 * The element types of the safetensors format. Only {@link #F32}, {@link #F16} and {@link #BF16} can be read as
 * floats; the others are recognised so that their byte ranges can be validated, and reading them is an error
 * naming the tensor and the dtype.
 */
public enum SafetensorsDtype {
    F32(4, true),
    F16(2, true),
    BF16(2, true),
    F64(8, false),
    I64(8, false),
    U64(8, false),
    I32(4, false),
    U32(4, false),
    I16(2, false),
    U16(2, false),
    I8(1, false),
    U8(1, false),
    BOOL(1, false),
    F8_E4M3(1, false),
    F8_E5M2(1, false);

    private final int byteSize;
    private final boolean floating;

    SafetensorsDtype(int byteSize, boolean floating) {
        this.byteSize = byteSize;
        this.floating = floating;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for the dtypes that {@link SafetensorsFile#readF32(String)} converts (F32, F16, BF16). */
    public boolean readableAsF32() {
        return floating;
    }

    /** The dtype spelled as in a safetensors header, if it is one. */
    public static Optional<SafetensorsDtype> fromHeader(String name) {
        for (SafetensorsDtype d : values()) {
            if (d.name().equals(name)) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    /** Parses one of the writable dtypes F32, F16, BF16 (case-insensitive), for generators and tools. */
    public static SafetensorsDtype parseWritable(String name) {
        if (name != null) {
            for (SafetensorsDtype d : new SafetensorsDtype[] {F32, F16, BF16}) {
                if (d.name().equalsIgnoreCase(name)) {
                    return d;
                }
            }
        }
        throw new IllegalArgumentException("dtype: expected one of F32, F16, BF16, found " + name);
    }
}

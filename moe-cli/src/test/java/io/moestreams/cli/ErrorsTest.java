package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import org.junit.jupiter.api.Test;

class ErrorsTest {

    @Test
    void missingFileIsNamedAsSuch() {
        // Given a missing input file wrapped as commands see it / When described / Then it says what is wrong
        var e = new UncheckedIOException("cannot read requests", new NoSuchFileException("/data/in.jsonl"));
        assertEquals("cannot read requests: file not found: /data/in.jsonl", Errors.describe(e));
    }

    @Test
    void causeChainIsJoinedWithoutRepeatingMessages() {
        // Given a cause whose message the wrapper already contains / When described / Then it appears once
        var cause = new IllegalStateException("registry down");
        var e = new RuntimeException("registry down", cause);
        assertEquals("registry down", Errors.describe(e));
    }
}

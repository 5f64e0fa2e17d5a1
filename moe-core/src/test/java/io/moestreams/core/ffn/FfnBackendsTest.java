package io.moestreams.core.ffn;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** moe-core alone has no FFN backend: asking for one says which module provides it. */
class FfnBackendsTest {

    @Test
    void withoutMoeComputeDiscoveryNamesTheMissingModule() {
        IllegalStateException e = assertThrows(IllegalStateException.class, FfnBackends::discover);
        assertTrue(e.getMessage().contains("moe-compute"), e.getMessage());
    }
}

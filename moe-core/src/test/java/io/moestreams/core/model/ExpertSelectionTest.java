package io.moestreams.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The selection syntax with shared experts: ids, ranges, {@code s0}, {@code shared}. */
class ExpertSelectionTest {

    @Test
    void routedRangesAndSharedIndicesParseTogether() {
        ExpertSelection s = ExpertSelection.parse("0-2, 5, s0");
        assertArrayEquals(new int[] {0, 1, 2, 5}, s.resolve(8));
        assertArrayEquals(new int[] {0}, s.resolveShared(1));
        assertEquals("experts[0, 1, 2, 5]+shared[0]", s.toString());
    }

    @Test
    void sharedAloneOrAllSharedAreSelections() {
        assertArrayEquals(new int[0], ExpertSelection.parse("s1").resolve(8));
        assertArrayEquals(new int[] {1}, ExpertSelection.parse("s1").resolveShared(2));
        assertArrayEquals(new int[] {0, 1}, ExpertSelection.parse("shared").resolveShared(2));
        assertArrayEquals(new int[] {0, 1}, ExpertSelection.all().resolveShared(2));
        assertArrayEquals(new int[0], ExpertSelection.none().resolveShared(2));
        assertArrayEquals(new int[0], ExpertSelection.of(1, 2).resolveShared(2));
    }

    @Test
    void aSharedIndexBeyondTheModelIsNamed() {
        IllegalArgumentException none = assertThrows(
                IllegalArgumentException.class,
                () -> ExpertSelection.parse("s0").resolveShared(0));
        assertEquals("shared expert s0 is out of range: the model has no shared experts", none.getMessage());
        IllegalArgumentException two = assertThrows(
                IllegalArgumentException.class,
                () -> ExpertSelection.parse("s2").resolveShared(2));
        assertEquals("shared expert s2 is out of range: the model has 2 (s0..s1)", two.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> ExpertSelection.parse("sX"));
        assertTrue(bad.getMessage().contains("found 'sx'"), bad.getMessage());
    }
}

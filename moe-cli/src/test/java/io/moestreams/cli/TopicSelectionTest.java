package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class TopicSelectionTest {

    @Test
    void timesAreIsoInstantsOrEpochMilliseconds() {
        assertEquals(1_764_442_800_000L, TopicSelection.time("--since", "2025-11-29T19:00:00Z"));
        assertEquals(1_764_442_800_000L, TopicSelection.time("--since", "1764442800000"));
        assertNull(TopicSelection.time("--since", null));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> TopicSelection.time("--until", "yesterday"));
        assertTrue(e.getMessage().startsWith("--until: expected an ISO-8601 instant"), e.getMessage());
        assertTrue(e.getMessage().contains("'yesterday'"), e.getMessage());
    }

    @Test
    void contradictoryRangesAreRefusedNamingTheOption() {
        IllegalArgumentException time = assertThrows(
                IllegalArgumentException.class,
                () -> new TopicRecorder.Selection(2000L, 1000L, null, null, null, null, null));
        assertTrue(time.getMessage().startsWith("--until:"), time.getMessage());
        IllegalArgumentException offsets = assertThrows(
                IllegalArgumentException.class,
                () -> new TopicRecorder.Selection(null, null, null, 9L, 3L, null, null));
        assertTrue(offsets.getMessage().startsWith("--to-offset:"), offsets.getMessage());
        IllegalArgumentException max = assertThrows(
                IllegalArgumentException.class,
                () -> new TopicRecorder.Selection(null, null, null, null, null, null, 0));
        assertTrue(max.getMessage().startsWith("--max-requests:"), max.getMessage());
    }

    @Test
    void theRecordOptionsParseIntoASelection() {
        // Given moe record's options
        RecordCommand cmd = new RecordCommand();
        new CommandLine(cmd)
                .parseArgs(
                        "--out",
                        "x.cassette",
                        "--since",
                        "1000",
                        "--partition",
                        "2",
                        "--from-offset",
                        "10",
                        "--to-offset",
                        "20",
                        "--ids",
                        "a,b",
                        "--ids",
                        "c",
                        "--max-requests",
                        "5");
        // When the selection is built, Then it has every bound
        TopicRecorder.Selection s = cmd.source.selection();
        assertEquals(1000L, s.fromMs());
        assertNull(s.toMs());
        assertEquals(2, s.partition());
        assertEquals(10L, s.fromOffset());
        assertEquals(20L, s.toOffset());
        assertEquals(Set.of("a", "b", "c"), s.ids());
        assertEquals(5, s.maxRequests());
        assertEquals("since=1000 partition=2 from-offset=10 to-offset=20 ids=3 max-requests=5", s.describe());
        assertEquals("all", TopicRecorder.Selection.all().describe());
    }
}

package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProgressBarTest {

    @Test
    void withoutATerminalItWritesPlainLinesNotAThousandRedraws() {
        // Given a progress bar writing into a log (no terminal)
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressBar bar = new ProgressBar(new PrintStream(bytes, true, StandardCharsets.UTF_8), "replay", 1000, false);

        // When a thousand items are done in quick succession
        for (int i = 1; i <= 1000; i++) {
            bar.update(i);
        }

        // Then the log has no carriage returns, a line for the start and one for the end
        String log = bytes.toString(StandardCharsets.UTF_8);
        assertFalse(log.contains("\r"), log);
        List<String> lines = log.lines().toList();
        assertTrue(lines.size() <= 3, "lines: " + lines);
        assertTrue(lines.get(0).startsWith("replay 1/1000"), lines.get(0));
        assertTrue(lines.get(lines.size() - 1).startsWith("replay 1000/1000"), lines.get(lines.size() - 1));
    }

    @Test
    void onATerminalItRedrawsOneLineAndEndsIt() {
        // Given a progress bar on a terminal
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressBar bar = new ProgressBar(new PrintStream(bytes, true, StandardCharsets.UTF_8), "record", 2, true);

        // When both items are done, and an update comes after the end
        bar.update(1);
        bar.update(2);
        bar.update(2);

        // Then each draw starts with a carriage return and only the final one ends the line
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(out.startsWith("\rrecord ["), out);
        assertEquals(1, out.chars().filter(c -> c == '\n').count(), out);
        assertTrue(out.endsWith(System.lineSeparator()), out);
    }
}

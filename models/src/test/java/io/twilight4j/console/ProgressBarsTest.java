package io.twilight4j.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import me.tongfei.progressbar.ProgressBar;
import org.junit.jupiter.api.Test;

class ProgressBarsTest {

    @Test
    void aBarRunsToTheEndWithoutEverBuildingAJlineTerminal() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        try (ProgressBar bar = ProgressBars.on(out, "filling", 1000, " tokens").build()) {
            for (int i = 0; i < 10; i++) {
                bar.stepBy(100);
            }
        }
        String drawn = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(drawn.contains("filling") && drawn.contains("1000/1000"), drawn);
        // progressbar keeps the jline terminal it builds in TerminalUtils.terminal: it must stay unbuilt.
        Field terminal = Class.forName("me.tongfei.progressbar.TerminalUtils").getDeclaredField("terminal");
        terminal.setAccessible(true);
        assertNull(terminal.get(null), "a jline terminal was built (a subprocess and a JNI library)");
    }

    @Test
    void widthComesFromColumnsWhenItIsASaneNumber() {
        assertEquals(132, ProgressBars.width("132"));
        assertEquals(100, ProgressBars.width(" 100 "));
        assertEquals(ProgressBars.DEFAULT_WIDTH, ProgressBars.width(null));
        assertEquals(ProgressBars.DEFAULT_WIDTH, ProgressBars.width("wide"));
        assertEquals(ProgressBars.DEFAULT_WIDTH, ProgressBars.width("5"));
        assertEquals(ProgressBars.DEFAULT_WIDTH, ProgressBars.width("100000"));
    }
}

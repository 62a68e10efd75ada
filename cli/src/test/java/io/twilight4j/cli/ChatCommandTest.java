package io.twilight4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code chat} on stories260K, which has no chat template: the plain fallback is announced and every line is answered. */
class ChatCommandTest {

    @Test
    void withoutATemplateFallsBackToPlainTurnsAndSaysSo() {
        Path model = CliRun.sharedModel("stories260K.gguf");
        CliRun r = CliRun.run("Hello\n\nTell me a story\n", "chat", "-m", model.toString(), "-n", "8", "--temperature", "0", "-t", "1");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("no tokenizer.chat_template") && r.err().contains("User: ...\\nAssistant:"), r.err());
        // Two non-blank user lines: both turns' prompts were fed ("User: Hello\nAssistant:" is more than 5 tokens).
        String stats = r.err().lines().filter(l -> l.contains("eval rate")).findFirst().orElseThrow(() -> new AssertionError(r.err()));
        int prompt = Integer.parseInt(stats.replaceAll(".*prompt eval count (\\d+) token.*", "$1"));
        assertTrue(prompt > 10, stats);
        assertTrue(stats.matches(".*eval count ([1-9]|1[0-6]) token.*"), "at most 8 tokens per turn: " + stats);
    }
}

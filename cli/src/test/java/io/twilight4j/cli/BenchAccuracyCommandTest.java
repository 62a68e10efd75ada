package io.twilight4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchAccuracyCommandTest {

    private static final String TEXT = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
            + "One day, she saw a big red ball under a tree. She ran to the ball and picked it up.";

    @Test
    void printsATableAndWritesTheRowsAsJson(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("rows.jsonl");
        CliRun r = CliRun.run("", "bench", "accuracy", "-m", CliRun.sharedModel("stories260K.gguf").toString(), "-p", TEXT,
                "--policy", "quest:16,oracle:4096", "--start", "8", "--dense-layers", "0", "--json", json.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("backend: cpu"), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals(5, lines.length, r.out());
        assertTrue(lines[0].startsWith("stories260K.gguf: ") && lines[0].contains("steps 8.."), lines[0]);
        assertTrue(lines[2].startsWith("dense ") && lines[3].startsWith("quest:16 ") && lines[4].startsWith("oracle:4096 "), r.out());
        List<String> rows = Files.readAllLines(json);
        assertEquals(3, rows.size());
        // Keeping every token is dense (to the last bits a cold JVM's first steps leave); a budget of 16 is not.
        assertEquals(1.0, field(rows.get(2), "top1_agreement"), rows.get(2));
        assertEquals(1.0, field(rows.get(2), "perplexity_vs_dense"), 1e-4, rows.get(2));
        assertTrue(field(rows.get(2), "kl_mean") < 1e-6, rows.get(2));
        assertTrue(rows.get(1).contains("\"policy\":\"quest:16\"") && field(rows.get(1), "kl_mean") > 1e-3, rows.get(1));
        assertFalse(Files.list(dir).anyMatch(p -> p.toString().endsWith(".tmp")), "no temporary file left");
    }

    private static double field(String json, String name) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + name + "\":([-0-9.e+]+)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void badInputIsAnErrorNamingTheOption(@TempDir Path dir) {
        String model = CliRun.sharedModel("stories260K.gguf").toString();
        CliRun none = CliRun.run("", "bench", "accuracy", "-m", model);
        assertEquals(2, none.exit());
        assertTrue(none.err().contains("either --text FILE or -p TEXT"), none.err());
        CliRun start = CliRun.run("", "bench", "accuracy", "-m", model, "-p", "Once upon a time", "--start", "40");
        assertEquals(2, start.exit());
        assertTrue(start.err().contains("--start 40: the text reads as"), start.err());
        CliRun policy = CliRun.run("", "bench", "accuracy", "-m", model, "-p", TEXT, "--policy", "quest:16,quest:x");
        assertEquals(2, policy.exit());
        assertTrue(policy.err().contains("--policy 'quest:x'"), policy.err());
        Path missing = dir.resolve("missing.txt");
        CliRun text = CliRun.run("", "bench", "accuracy", "-m", model, "--text", missing.toString());
        assertEquals(2, text.exit());
        assertTrue(text.err().contains("--text " + missing + ": no such readable file"), text.err());
    }
}

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
        // The table (header, dense and two policies), a blank line, then each policy's error by layer.
        assertEquals(9, lines.length, r.out());
        assertTrue(lines[6].startsWith("attention rel_err by layer") && lines[7].startsWith("quest:16 ")
                && lines[8].startsWith("oracle:4096 "), r.out());
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

    /**
     * The model end to end on the OpenCL backend (PoCL in CI) against the CPU backend: the same text, the same
     * policies, scores within what fp16 accumulation order and Quest's page-score ties move. The kernels are
     * checked one by one in the kernels module; this checks the decoder's use of them on a real model.
     */
    @Test
    void theOpenClBackendScoresTheModelAsTheCpuBackendDoes(@TempDir Path dir) throws Exception {
        if (io.twilight4j.opencl.OpenClDevice.list().isEmpty()) {
            String why = "no OpenCL device found (install pocl-opencl-icd ocl-icd-libopencl1)";
            org.junit.jupiter.api.Assertions.assertNotEquals("true", System.getenv("CI"), why);
            System.err.println("SKIPPED: " + why);
            org.junit.jupiter.api.Assumptions.abort(why);
        }
        String model = CliRun.sharedModel("stories260K.gguf").toString();
        List<List<String>> rows = new java.util.ArrayList<>();
        for (String backend : new String[] {"cpu", "opencl"}) {
            Path json = dir.resolve(backend + ".jsonl");
            CliRun r = CliRun.run("", "bench", "accuracy", "-m", model, "-p", TEXT + " " + TEXT, "--backend", backend,
                    "--policy", "quest:32+twilight:0.95,full+twilight:0.9", "--start", "8", "--json", json.toString());
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.err().contains("backend: " + backend), r.err());
            rows.add(Files.readAllLines(json));
        }
        assertEquals(3, rows.get(0).size());
        assertEquals(3, rows.get(1).size());
        for (int i = 0; i < 3; i++) {
            String cpu = rows.get(0).get(i);
            String cl = rows.get(1).get(i);
            String what = "cpu " + cpu + "\nopencl " + cl;
            assertEquals(field(cpu, "perplexity"), field(cl, "perplexity"), (i == 0 ? 1e-4 : 1e-2) * field(cpu, "perplexity"), what);
            assertEquals(field(cpu, "kl_mean"), field(cl, "kl_mean"), 1e-4 + 0.1 * field(cpu, "kl_mean"), what);
            assertEquals(field(cpu, "top1_agreement"), field(cl, "top1_agreement"), 0.03, what);
            assertEquals(field(cpu, "budget_mean"), field(cl, "budget_mean"), 0.05 * field(cpu, "budget_mean"), what);
        }
        assertTrue(field(rows.get(1).get(1), "kl_mean") > 1e-3, "the policies prune: " + rows.get(1).get(1));
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
        CliRun one = CliRun.run("", "bench", "accuracy", "-m", model, "-p", TEXT, "--max-tokens", "1");
        assertEquals(2, one.exit());
        assertTrue(one.err().contains("the text reads as 1 token (--max-tokens 1); scoring needs at least 2"), one.err());
        CliRun layers = CliRun.run("", "bench", "accuracy", "-m", model, "-p", TEXT, "--dense-layers", "-1");
        assertEquals(2, layers.exit());
        assertTrue(layers.err().contains("--dense-layers must be >= 0, not -1") && !layers.err().contains("loading"), layers.err());
        Path missing = dir.resolve("missing.txt");
        CliRun text = CliRun.run("", "bench", "accuracy", "-m", model, "--text", missing.toString());
        assertEquals(2, text.exit());
        assertTrue(text.err().contains("--text " + missing + ": no such readable file"), text.err());
    }
}

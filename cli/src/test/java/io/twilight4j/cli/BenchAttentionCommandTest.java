package io.twilight4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchAttentionCommandTest {

    @Test
    void reportsTheBackendTheFillAndEachPolicyInOrderThenTheTable() {
        CliRun r = CliRun.run("", "bench", "attention", "--backend", "cpu", "--ctx", "512", "--hq", "4", "--hkv", "2",
                "--dim", "64", "--policy", "quest:128+twilight:0.9", "--iterations", "2", "--no-bandwidth");
        assertEquals(0, r.exit(), r.err());
        String err = r.err();
        int backend = err.indexOf("backend: cpu");
        int lastBar = err.lastIndexOf("filling KV cache");
        int dense = err.indexOf("measuring dense ...");
        int sparse = err.indexOf("measuring quest:128+twilight:0.9 ...");
        assertTrue(backend >= 0 && lastBar > backend, err);
        // The bar is closed once the cache is full: nothing of it is drawn after the measurements start.
        assertTrue(dense > lastBar && sparse > dense, err);
        assertTrue(err.substring(lastBar).contains("512/512"), err);
        String[] lines = r.out().strip().split("\n");
        assertEquals(3, lines.length, r.out());
        assertTrue(lines[1].startsWith("dense ") && lines[2].startsWith("quest:128+twilight:0.9 "), r.out());
    }

    @Test
    void stepsTakingTurnsOnSeveralLayersGiveTheOneLayerResults(@TempDir Path dir) throws Exception {
        // Every layer holds the same workload: only where the data sits changes, not budgets or outputs.
        List<String> one = jsonRows(dir.resolve("one.jsonl"), "1");
        List<String> three = jsonRows(dir.resolve("three.jsonl"), "3");
        // Double Sparsity's label channels are calibrated for every layer (with --layers they once were for one).
        assertEquals(3, one.size());
        assertEquals(3, three.size());
        for (int i = 0; i < 3; i++) {
            assertTrue(one.get(i).contains("\"layers\":1") && three.get(i).contains("\"layers\":3"), three.get(i));
            for (String field : new String[] {"policy", "budget_mean", "budget_min", "budget_max", "rel_error", "kept_mass_mean",
                "kept_mass_min"}) {
                assertEquals(field(one.get(i), field), field(three.get(i), field), field);
            }
        }
        assertNotEquals("0.000e+00", field(three.get(1), "rel_error"), "the sparse row's error is real, not skipped");
    }

    /** The rows say whether the cache smoothed its 4-bit keys, and stderr says it before the run. */
    @Test
    void rowsRecordTheKeySmoothing(@TempDir Path dir) throws Exception {
        for (boolean off : new boolean[] {false, true}) {
            Path json = dir.resolve(off + ".jsonl");
            List<String> args = new java.util.ArrayList<>(List.of("bench", "attention", "--ctx", "512", "--hq", "4", "--hkv", "2",
                    "--dim", "64", "--policy", "quest:128+twilight:0.9", "--iterations", "2", "--no-bandwidth", "--json", json.toString()));
            if (off) {
                args.add("--no-key-smoothing");
            }
            CliRun r = CliRun.run("", args.toArray(String[]::new));
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.err().contains(off ? "4-bit keys: not smoothed" : "4-bit keys: smoothed per channel"), r.err());
            for (String row : Files.readAllLines(json)) {
                assertEquals(String.valueOf(!off), field(row, "key_smoothing"), row);
            }
        }
    }

    @Test
    void zeroLayersIsAnErrorNamingTheOption() {
        CliRun r = CliRun.run("", "bench", "attention", "--ctx", "512", "--hq", "4", "--hkv", "2", "--dim", "64",
                "--policy", "quest:128", "--layers", "0", "--no-bandwidth");
        assertNotEquals(0, r.exit());
        assertTrue(r.err().contains("--layers must be positive, got 0"), r.err());
    }

    private static List<String> jsonRows(Path json, String layers) throws Exception {
        CliRun r = CliRun.run("", "bench", "attention", "--backend", "cpu", "--ctx", "700", "--hq", "4", "--hkv", "2",
                "--dim", "64", "--policy", "quest:256+twilight:0.9,ds:256:16", "--iterations", "3", "--no-bandwidth",
                "--layers", layers, "--json", json.toString());
        assertEquals(0, r.exit(), r.err());
        return Files.readAllLines(json);
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":(\"[^\"]*\"|[^,}]*)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return m.group(1);
    }
}

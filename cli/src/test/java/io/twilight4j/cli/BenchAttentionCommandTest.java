package io.twilight4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

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
}

package io.twilight4j.cli;

import io.twilight4j.bench.BenchListener;
import io.twilight4j.console.ProgressBars;
import io.twilight4j.policy.AttentionPolicy;
import java.io.PrintStream;
import me.tongfei.progressbar.ProgressBar;

/**
 * {@code bench attention}'s progress on stderr: the backend, a bar while the KV cache fills (closed as soon
 * as it is full, so it does not sit at 100% through the measurements), then a line per policy measured.
 */
final class BenchProgress implements BenchListener, AutoCloseable {

    private final PrintStream err;
    private final long tokens;
    private ProgressBar bar;

    BenchProgress(PrintStream err, long tokens) {
        this.err = err;
        this.tokens = tokens;
    }

    @Override
    public void opened(String backendDescription) {
        err.println("backend: " + backendDescription);
        bar = ProgressBars.on(err, "filling KV cache", tokens, " tokens").build();
    }

    @Override
    public void filled(int n) {
        if (bar != null) {
            bar.stepBy(n);
        }
    }

    @Override
    public void fillDone() {
        close();
    }

    @Override
    public void measuring(AttentionPolicy policy) {
        err.println("measuring " + policy + " ...");
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}

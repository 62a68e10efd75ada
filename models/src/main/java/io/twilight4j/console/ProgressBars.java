package io.twilight4j.console;

import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress bars for long loads (model weights, the benchmark's KV cache) on a console stream, drawn at a
 * width fixed up front. Why: progressbar's console consumer asks jline for the terminal's width, and to
 * build its terminal jline starts {@code /usr/bin/test -t 1} in a subprocess and extracts and loads its JNI
 * library from /tmp (strace shows both), on the bar's thread, for a width that {@code $COLUMNS} gives.
 * (This was suspected of the SIGSEGVs of bench JVMs on the GPU machines; their cause was an OpenCL driver's
 * signal handlers, see io.twilight4j.opencl.JvmSignals.)
 */
public final class ProgressBars {

    /** Columns when {@code COLUMNS} is not set to a number. */
    static final int DEFAULT_WIDTH = 80;

    private ProgressBars() {
    }

    /** A bar named {@code task} counting to {@code max} {@code unit}s on {@code out}; build() it. */
    public static ProgressBarBuilder on(PrintStream out, String task, long max, String unit) {
        return new ProgressBarBuilder().setTaskName(task).setInitialMax(max).setUnit(unit, 1)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(out, width(System.getenv("COLUMNS"))));
    }

    /** The bar's width: {@code columns} (the shell's COLUMNS) when it is a number from 20 to 1000, else 80. */
    static int width(String columns) {
        try {
            int c = Integer.parseInt(columns == null ? "" : columns.trim());
            return c >= 20 && c <= 1000 ? c : DEFAULT_WIDTH;
        } catch (NumberFormatException e) {
            return DEFAULT_WIDTH;
        }
    }
}

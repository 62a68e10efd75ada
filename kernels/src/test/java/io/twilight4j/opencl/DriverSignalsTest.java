package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * An OpenCL driver must not leave its signal handlers in place of the JVM's: a child JVM records its handlers
 * before any OpenCL call and after using the default device ({@link DriverSignalsProbe}), and every handler of the
 * JVM's must be there after. With {@code -Dtwilight4j.clDriverSignals=keep} on PoCL (whose LLVM installs handlers)
 * SIGSEGV's must have changed: the control that shows the comparison can fail.
 */
class DriverSignalsTest extends OpenClTestSupport {

    @Test
    void theJvmKeepsItsSignalHandlers() throws Exception {
        assumeTrue(JvmSignals.available(), "sigaction is reachable on Linux only");
        String out = probe();
        assertEquals(List.of(), replacedJvmHandlers(out), "signals whose JVM handler a driver replaced:\n" + out);
    }

    @Test
    void theComparisonSeesADriversHandlersWhenTheyAreKept() throws Exception {
        assumeTrue(JvmSignals.available(), "sigaction is reachable on Linux only");
        String out = probe("-Dtwilight4j.clDriverSignals=keep");
        assumeTrue(line(out, "platform").contains("Portable Computing Language"), "only PoCL is known to install handlers");
        assertTrue(replacedJvmHandlers(out).contains(11), "PoCL's handlers were kept, yet SIGSEGV's is the JVM's:\n" + out);
    }

    /** The signals that had a handler of the JVM's before the probe used OpenCL and a different one after. */
    private static List<Integer> replacedJvmHandlers(String out) {
        long[] before = handlers(line(out, "before")), after = handlers(line(out, "after"));
        List<Integer> replaced = new ArrayList<>();
        for (int sig = 1; sig < before.length; sig++) {
            // 0 is SIG_DFL, 1 SIG_IGN, -1 unreadable: not the JVM's.
            if (before[sig] != 0 && before[sig] != 1 && before[sig] != -1 && after[sig] != before[sig]) {
                replaced.add(sig);
            }
        }
        return replaced;
    }

    private static long[] handlers(String list) {
        return java.util.Arrays.stream(list.replaceAll("[\\[\\] ]", "").split(",")).mapToLong(Long::parseLong).toArray();
    }

    /** Runs DriverSignalsProbe in a child JVM; its output (stdout and stderr). */
    private static String probe(String... options) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path")));
        command.addAll(List.of(options));
        command.add(DriverSignalsProbe.class.getName());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the probe did not end");
        String out = new String(output, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "the probe failed:\n" + out);
        return out;
    }

    private static String line(String out, String key) {
        Matcher m = Pattern.compile("(?m)^" + key + ": (.*)$").matcher(out);
        assertTrue(m.find(), "no '" + key + ":' line in the probe's output:\n" + out);
        return m.group(1);
    }
}

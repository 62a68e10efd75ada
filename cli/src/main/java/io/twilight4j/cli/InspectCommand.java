package io.twilight4j.cli;

import io.twilight4j.gguf.GgmlType;
import io.twilight4j.gguf.GgufArray;
import io.twilight4j.gguf.GgufFile;
import io.twilight4j.gguf.GgufTensor;
import io.twilight4j.llama.LlamaWeights;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code twilight4j inspect FILE}: a GGUF file's header, metadata (arrays summarized) and tensor table. */
@Command(name = "inspect", description = "Print a GGUF file's metadata and tensor table.")
final class InspectCommand implements Callable<Integer> {

    /** Array elements shown before "...". */
    private static final int ARRAY_PREVIEW = 5;
    /** Longer strings are cut so one key stays on one line. */
    private static final int MAX_STRING_CHARS = 80;

    @Parameters(index = "0", paramLabel = "FILE", description = "the .gguf file")
    Path file;

    @Option(names = {"-v", "--verbose"}, description = "print the stack trace on errors")
    boolean verbose;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (GgufFile f = GgufFile.open(file)) {
            out.printf("%s: GGUF v%d, %d metadata keys, %d tensors, alignment %d, data at byte %d%n",
                    file, f.version(), f.metadata().size(), f.tensors().size(), f.alignment(), f.dataOffset());
            out.println();
            out.println("metadata:");
            int keyWidth = f.metadata().keySet().stream().mapToInt(String::length).max().orElse(0);
            for (Map.Entry<String, Object> e : f.metadata().entrySet()) {
                out.printf("  %-" + keyWidth + "s  %-8s %s%n", e.getKey(), f.metadataType(e.getKey()), show(e.getValue()));
            }
            out.println();
            out.println("tensors:");
            int nameWidth = f.tensors().stream().mapToInt(t -> t.name().length()).max().orElse(4);
            out.printf("  %-" + nameWidth + "s  %-7s %-22s %12s%n", "name", "type", "dims", "bytes");
            long total = 0;
            for (GgufTensor t : f.tensors()) {
                out.printf("  %-" + nameWidth + "s  %-7s %-22s %12d%n", t.name(), t.type(), Arrays.toString(t.dims()), t.byteSize());
                total += t.byteSize();
            }
            out.printf("  %d tensors, %d bytes of data%n", f.tensors().size(), total);
            out.println(matrixTypes(f));
        }
        out.flush();
        return 0;
    }

    /**
     * The types of the file's matrices (2-D tensors) with their counts, and whether generate and chat can load
     * them: a user learns before the weights load that a file's quantization is not supported.
     */
    static String matrixTypes(GgufFile f) {
        Map<GgmlType, Long> counts = new TreeMap<>();
        for (GgufTensor t : f.tensors()) {
            if (t.dims().length == 2) {
                counts.merge(t.type(), 1L, Long::sum);
            }
        }
        if (counts.isEmpty()) {
            return "  no matrices";
        }
        StringBuilder sb = new StringBuilder("  matrices:");
        counts.forEach((type, n) -> sb.append(' ').append(type).append(" x").append(n));
        List<GgmlType> unsupported = counts.keySet().stream().filter(t -> !LlamaWeights.MATRIX_TYPES.contains(t)).toList();
        sb.append(unsupported.isEmpty() ? "; generate and chat decode all of them"
                : "; generate and chat do not decode " + unsupported + " (they take " + LlamaWeights.MATRIX_TYPES + ")");
        return sb.toString();
    }

    private static String show(Object v) {
        if (v instanceof String s) {
            return quote(s);
        }
        if (v instanceof GgufArray a) {
            StringBuilder sb = new StringBuilder("[").append(a.elementType()).append(" x ").append(a.length()).append("] [");
            for (int i = 0; i < Math.min(ARRAY_PREVIEW, a.length()); i++) {
                sb.append(i == 0 ? "" : ", ").append(show(a.get(i)));
            }
            return sb.append(a.length() > ARRAY_PREVIEW ? ", ...]" : "]").toString();
        }
        return String.valueOf(v);
    }

    /** Quoted, with control characters escaped so the table keeps one line per key. */
    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().limit(MAX_STRING_CHARS).forEach(c -> {
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (Character.isISOControl(c)) {
                        sb.append(String.format("\\u%04x", c));
                    } else {
                        sb.appendCodePoint(c);
                    }
                }
            }
        });
        return sb.append(s.codePointCount(0, s.length()) > MAX_STRING_CHARS ? "...\"" : "\"").toString();
    }
}

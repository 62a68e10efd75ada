package io.twilight4j.kv;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Double Sparsity's calibrated label channels: for each layer and KV head, the r channels (ascending)
 * whose keys the label cache keeps. Saved as a small text file: a header line
 * {@code twilight4j-label-channels layers kvHeads headDim r}, then one line of r channel numbers per
 * (layer, head).
 */
public record LabelChannels(int headDim, int[][][] channels) {

    private static final String MAGIC = "twilight4j-label-channels";

    public LabelChannels {
        if (channels.length == 0 || channels[0].length == 0) {
            throw new IllegalArgumentException("label channels: need at least one layer and head");
        }
        int r = channels[0][0].length;
        for (int l = 0; l < channels.length; l++) {
            for (int h = 0; h < channels[l].length; h++) {
                int[] c = channels[l][h];
                if (c.length != r || channels[l].length != channels[0].length) {
                    throw new IllegalArgumentException("label channels: layer " + l + " head " + h + " is ragged");
                }
                for (int j = 0; j < r; j++) {
                    if (c[j] < 0 || c[j] >= headDim || (j > 0 && c[j] <= c[j - 1])) {
                        throw new IllegalArgumentException("label channels: layer " + l + " head " + h
                                + " must list distinct ascending channels in [0, " + headDim + "), got " + c[j]);
                    }
                }
            }
        }
    }

    /** Label channels per head. */
    public int count() {
        return channels[0][0].length;
    }

    /** Layers covered. */
    public int layers() {
        return channels.length;
    }

    /** KV heads per layer. */
    public int kvHeads() {
        return channels[0].length;
    }

    /** Channels of (layer, head), ascending. */
    public int[] of(int layer, int head) {
        return channels[layer][head];
    }

    /** Writes the channels to {@code file} (whole file or nothing: a temporary file is moved into place). */
    public void save(Path file) throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append(MAGIC).append(' ').append(layers()).append(' ').append(kvHeads()).append(' ')
                .append(headDim).append(' ').append(count()).append('\n');
        for (int[][] layer : channels) {
            for (int[] head : layer) {
                for (int j = 0; j < head.length; j++) {
                    sb.append(j == 0 ? "" : " ").append(head[j]);
                }
                sb.append('\n');
            }
        }
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
        try {
            Files.writeString(tmp, sb, StandardCharsets.UTF_8);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Reads channels written by {@link #save}; a malformed file gives an error naming file and line. */
    public static LabelChannels load(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        String[] head = lines.isEmpty() ? new String[0] : lines.get(0).trim().split("\\s+");
        if (head.length != 5 || !head[0].equals(MAGIC)) {
            throw new IOException(file + ": line 1: expected '" + MAGIC + " layers kvHeads headDim r'");
        }
        int layers = parse(file, 1, head[1]);
        int heads = parse(file, 1, head[2]);
        int headDim = parse(file, 1, head[3]);
        int r = parse(file, 1, head[4]);
        if ((long) layers * heads + 1 > lines.size()) {
            throw new IOException(file + ": expected " + layers * heads + " channel lines, found " + (lines.size() - 1));
        }
        int[][][] ch = new int[layers][heads][r];
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                int lineNo = 2 + l * heads + h;
                String[] parts = lines.get(lineNo - 1).trim().split("\\s+");
                if (parts.length != r) {
                    throw new IOException(file + ": line " + lineNo + ": expected " + r + " channels, found " + parts.length);
                }
                for (int j = 0; j < r; j++) {
                    ch[l][h][j] = parse(file, lineNo, parts[j]);
                }
            }
        }
        try {
            return new LabelChannels(headDim, ch);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private static int parse(Path file, int line, String s) throws IOException {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IOException(file + ": line " + line + ": not an integer: '" + s + "'");
        }
    }
}

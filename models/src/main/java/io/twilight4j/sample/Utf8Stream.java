package io.twilight4j.sample;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Collects token bytes and hands out only whole UTF-8 characters, so streamed text never splits a
 * character across tokens. Bytes that can never complete a character come out as U+FFFD.
 */
public final class Utf8Stream {

    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    /** Adds bytes; returns the text of every character now complete (possibly empty). */
    public String push(byte[] bytes) {
        pending.writeBytes(bytes);
        byte[] b = pending.toByteArray();
        int complete = completePrefix(b);
        pending.reset();
        pending.write(b, complete, b.length - complete);
        return new String(b, 0, complete, StandardCharsets.UTF_8);
    }

    /** Returns what is left at the end of the stream (an unfinished character becomes U+FFFD) and empties the buffer. */
    public String flush() {
        String s = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        return s;
    }

    /** Length of the longest prefix that does not end inside a character that may still be completed. */
    private static int completePrefix(byte[] b) {
        // Only the last 3 bytes can belong to an unfinished character (UTF-8 is at most 4 bytes).
        for (int back = 1; back <= Math.min(3, b.length); back++) {
            int lead = b[b.length - back] & 0xFF;
            if ((lead & 0xC0) == 0x80) {
                continue; // a continuation byte: look further back for its lead
            }
            int needed = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xC2 && lead <= 0xDF ? 2 : 1;
            return back < needed ? b.length - back : b.length;
        }
        return b.length;
    }
}

package io.twilight4j.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.twilight4j.kv.KvPager;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Which pages a step's inputs report as new: what a backend that keeps tables between calls must send. */
class StepInputsTest {

    private static final int HEADS = 2;
    private static final int DIM = 4;

    @Test
    void reportsOnlyPagesTheSlotDidNotHold() {
        KvPager pager = new KvPager(64, 16);
        StepInputs in = new StepInputs(pager, 2, 512, 16);
        int a = pager.newSequence();
        int b = pager.newSequence();
        pager.append(a, 40);
        pager.append(b, 5);
        load(in, a, b);
        assertEquals(0, in.changedFrom(0), "first load sends everything");
        assertEquals(0, in.changedFrom(1));
        load(in, a, b);
        assertEquals(3, in.changedFrom(0), "nothing new: from past the last page");
        assertEquals(1, in.changedFrom(1));
        pager.append(a, 9);  // 49 tokens: a fourth page
        load(in, a, b);
        assertEquals(3, in.changedFrom(0), "the new page only");
        assertEquals(1, in.changedFrom(1));
        assertTable(pager, in, 0, a);
        // A rejected call changes nothing it reports later.
        pager.append(b, 20);
        float[] nan = new float[2 * HEADS * DIM];
        nan[3] = Float.NaN;
        assertThrows(IllegalArgumentException.class, () -> in.load(0, 1, new int[] {a, b}, nan, new float[nan.length], HEADS, DIM));
        load(in, a, b);
        assertEquals(1, in.changedFrom(1), "the pages added before the rejected call are still new");
        assertTable(pager, in, 1, b);
        // The id of a freed sequence comes back for another one: its table is new from page 0.
        pager.free(a);
        int c = pager.newSequence();
        assertEquals(a, c, "the pager reuses the id");
        pager.append(c, 70);
        load(in, c, b);
        assertEquals(0, in.changedFrom(0));
        assertTable(pager, in, 0, c);
        // Slots swapped: each slot holds another sequence now.
        load(in, b, c);
        assertEquals(0, in.changedFrom(0));
        assertEquals(0, in.changedFrom(1));
        assertTable(pager, in, 0, b);
        assertTable(pager, in, 1, c);
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"0, NaN", "7, Infinity", "8, -Infinity", "37, NaN", "39, Infinity"})
    void namesTheFirstNonFiniteQueryValue(int at, float value) {
        KvPager pager = new KvPager(8, 16);
        StepInputs in = new StepInputs(pager, 5, 64, 16);
        int[] seqs = new int[5];
        for (int i = 0; i < seqs.length; i++) {
            seqs[i] = pager.newSequence();
            pager.append(seqs[i], 3);
        }
        // 40 floats: vector body and scalar tail for any vector width up to 16 lanes.
        float[] q = new float[seqs.length * HEADS * DIM];
        q[at] = value;
        if (at + 1 < q.length) {
            q[at + 1] = Float.NaN; // a later one must not be the one named
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> in.load(0, 1, seqs, q, new float[q.length], HEADS, DIM));
        assertEquals("decode: q[" + at + "] = " + value + " is not finite", e.getMessage());
    }

    private static void load(StepInputs in, int... seqs) {
        float[] q = new float[seqs.length * HEADS * DIM];
        in.load(0, 1, seqs, q, new float[q.length], HEADS, DIM);
    }

    private static void assertTable(KvPager pager, StepInputs in, int slot, int seq) {
        int n = pager.pageCount(seq);
        int[] want = new int[n];
        pager.copyPageTable(seq, want, 0);
        assertArrayEquals(want, Arrays.copyOf(in.pageTable(slot), n), "slot " + slot + " table");
    }
}

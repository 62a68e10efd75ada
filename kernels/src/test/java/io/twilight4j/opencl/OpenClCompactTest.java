package io.twilight4j.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The compact kernel against a brute-force reference: an entry keeps the candidates any of its heads'
 * kept bits mark (the GQA union, or one head's set in HEAD mode), in candidate order. Work-groups of 32
 * make a tile 1024 candidates, so the longer entries cross several tiles; counts include 0, 1, a word's
 * edge and a tile's edge, and kept bits come dense, sparse or none per row.
 */
class OpenClCompactTest extends OpenClTestSupport {

    private static final int KV_HEADS = 2, GROUP = 2, QUERY_HEADS = 4, BATCH = 3, WG = 32, CAP = 3000;
    private static final int WORDS = (CAP + 31) / 32;
    private static final int[] COUNTS = {0, 1, 31, 33, 1024, 1025, CAP};

    @ParameterizedTest(name = "heads per entry {0}, seed {1}")
    @CsvSource({"2, 1", "2, 2", "1, 3"})
    void keepsTheUnionOfTheHeadsBitsInCandidateOrder(int headsPerEntry, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int entries = BATCH * KV_HEADS;
        int[] counts = new int[entries];
        int[] cand = new int[entries * CAP];
        for (int e = 0; e < entries; e++) {
            counts[e] = COUNTS[r.nextInt(COUNTS.length)];
            // Ascending positions with gaps, as a selector writes them.
            for (int i = 0, pos = r.nextInt(5); i < counts[e]; i++, pos += 1 + r.nextInt(4)) {
                cand[e * CAP + i] = pos;
            }
        }
        int[] bits = new int[BATCH * QUERY_HEADS * WORDS];
        for (int row = 0; row < BATCH * QUERY_HEADS; row++) {
            int n = counts[(row / QUERY_HEADS) * KV_HEADS + (row % QUERY_HEADS) / GROUP];
            int density = r.nextInt(4); // none, 1 in 16, half, all
            for (int i = 0; i < n; i++) {
                boolean kept = switch (density) {
                    case 0 -> false;
                    case 1 -> r.nextInt(16) == 0;
                    case 2 -> r.nextBoolean();
                    default -> true;
                };
                if (kept) {
                    bits[row * WORDS + i / 32] |= 1 << (i % 32);
                }
            }
        }
        int setsPerSeq = QUERY_HEADS / headsPerEntry;
        int[] sets = new int[BATCH * setsPerSeq * CAP];
        Arrays.fill(sets, -7);
        int[] setCount = new int[BATCH * setsPerSeq];
        run(headsPerEntry, bits, cand, counts, setsPerSeq, sets, setCount);
        for (int es = 0; es < BATCH * setsPerSeq; es++) {
            int b = es / setsPerSeq, firstQ = (es % setsPerSeq) * headsPerEntry;
            int e = b * KV_HEADS + firstQ / GROUP;
            int[] expected = IntStream.range(0, counts[e]).filter(i -> {
                for (int g = 0; g < headsPerEntry; g++) {
                    if ((bits[(b * QUERY_HEADS + firstQ + g) * WORDS + i / 32] >>> (i % 32) & 1) == 1) {
                        return true;
                    }
                }
                return false;
            }).map(i -> cand[e * CAP + i]).toArray();
            String where = "set " + es + " (" + counts[e] + " candidates)";
            assertEquals(expected.length, setCount[es], where + ": count");
            assertArrayEquals(expected, Arrays.copyOfRange(sets, es * CAP, es * CAP + expected.length), where);
        }
    }

    private static void run(int headsPerEntry, int[] bits, int[] cand, int[] counts, int setsPerSeq, int[] sets, int[] setCount) {
        try (ClKernel compact = cl.kernel("common.cl+prune.cl", pruneDefines(KV_HEADS, QUERY_HEADS, headsPerEntry), "compact");
             ClBuffer k = upload("kept bits", bits);
             ClBuffer c = upload("candidates", cand);
             ClBuffer n = upload("candidate counts", counts);
             ClBuffer s = upload("sets", sets);
             ClBuffer sc = upload("set counts", setCount)) {
            compact.arg(0, k).arg(1, WORDS).arg(2, c).arg(3, n).arg(4, CAP).arg(5, setsPerSeq).arg(6, s).arg(7, sc)
                    .local(8, 3 * 4L * WG)
                    .launch(setCount.length, WG);
            System.arraycopy(download(s, sets.length), 0, sets, 0, sets.length);
            System.arraycopy(download(sc, setCount.length), 0, setCount, 0, setCount.length);
        }
    }
}

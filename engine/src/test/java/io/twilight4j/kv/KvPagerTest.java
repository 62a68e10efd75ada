package io.twilight4j.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KvPagerTest {

    /** Random appends and frees against a simple model: no page is ever held twice, counts add up. */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void pagesNeverAliasAcrossAppendFreeAndReuse(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int pages = 64;
        int pageTokens = 1 + r.nextInt(20);
        KvPager pager = new KvPager(pages, pageTokens);
        Map<Integer, Integer> lengths = new HashMap<>();
        for (int step = 0; step < 2000; step++) {
            int op = r.nextInt(10);
            if (op < 2 || lengths.isEmpty()) {
                lengths.put(pager.newSequence(), 0);
            } else if (op < 3) {
                List<Integer> live = new ArrayList<>(lengths.keySet());
                int s = live.get(r.nextInt(live.size()));
                pager.free(s);
                lengths.remove(s);
                assertFalse(pager.isLive(s));
            } else {
                List<Integer> live = new ArrayList<>(lengths.keySet());
                int s = live.get(r.nextInt(live.size()));
                int n = 1 + r.nextInt(3 * pageTokens);
                int freeBefore = pager.freePages();
                try {
                    assertEquals(lengths.get(s), pager.append(s, n));
                    lengths.put(s, lengths.get(s) + n);
                } catch (KvCacheFullException e) {
                    assertEquals(freeBefore, pager.freePages(), "a failed append must change nothing");
                    assertTrue(e.getMessage().contains("sequence " + s), e.getMessage());
                }
            }
            boolean[] held = new boolean[pages];
            int used = 0;
            for (var entry : lengths.entrySet()) {
                int s = entry.getKey();
                assertEquals((int) entry.getValue(), pager.length(s));
                assertEquals((entry.getValue() + pageTokens - 1) / pageTokens, pager.pageCount(s));
                for (int i = 0; i < pager.pageCount(s); i++) {
                    int p = pager.page(s, i);
                    assertFalse(held[p], "page " + p + " held twice (seed " + seed + ")");
                    held[p] = true;
                    used++;
                }
            }
            assertEquals(pages - used, pager.freePages());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -3})
    void badArgumentsNameTheValue(int n) {
        KvPager pager = new KvPager(4, 16);
        int s = pager.newSequence();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> pager.append(s, n)).getMessage().contains(String.valueOf(n)));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> pager.length(7)).getMessage().contains("7"));
    }
}

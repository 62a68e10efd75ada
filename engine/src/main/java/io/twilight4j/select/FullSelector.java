package io.twilight4j.select;

import io.twilight4j.attention.Workspace;
import io.twilight4j.kv.HostKvCache;

/** Every token is a candidate: "full+twilight" is Twilight's pruner alone. */
public final class FullSelector implements Selector {

    @Override
    public int select(HostKvCache cache, int layer, int[] pageTable, int length, int kvHead,
                      float[] q, int qOff, int heads, Workspace ws, float[] shared, int[] out) {
        return Selector.allTokens(length, out);
    }

    @Override
    public int maxCandidates(int length) {
        return length;
    }
}

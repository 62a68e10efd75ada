// Decode attention over token sets, FlashDecoding style (TWILIGHT.md section 5).
// An entry is (sequence b, set e): DENSE entries are (b, KV head) over positions 0..len-1; sparse
// entries read ascending positions from sets[e * cap ...], count setCount[e]. Each entry serves
// HEADS_PER_ENTRY query heads starting at firstQ (the whole GQA group, or one head in HEAD mode),
// so each K/V row is loaded once for the group.
// attend_partial: one work-group per (entry, chunk): group id = entry * chunksPerEntry + chunk; the
//   chunk covers set items [chunk * chunkTokens, +chunkTokens). Work-item i scores tokens i, i+WG...
//   Local memory: q (HEADS_PER_ENTRY * HEAD_DIM floats), probs (HEADS_PER_ENTRY * chunkTokens floats),
//   positions (chunkTokens ints), stats (2 * HEADS_PER_ENTRY floats).
//   Writes the partial state (m, d, o) per (entry, head, chunk); empty chunks write m = -inf, d = 0.
// attend_merge: one work-group per (entry, head), work-item c per channel; merges the chunks by
//   log-sum-exp and writes out[b][q][c] (0 when the set is empty).
#pragma OPENCL FP_CONTRACT OFF

kernel void attend_partial(global const float* q, global const half* K, global const half* V,
                           global const int* pageTables, int maxPages, global const int* lengths,
                           global const int* sets, global const int* setCount, int cap,
                           int entriesPerSeq, int chunkTokens, int chunksPerEntry,
                           global float* pm, global float* pd, global float* po,
                           local float* qs, local float* probs, local int* positions) {
    const int gid = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
    const int e = gid / chunksPerEntry, chunk = gid % chunksPerEntry;
    const int b = e / entriesPerSeq;
    const int firstQ = (e % entriesPerSeq) * HEADS_PER_ENTRY;
    const int kvHead = firstQ / GQA_GROUP;
#if DENSE
    const int n = lengths[b];
#else
    const int n = setCount[e];
#endif
    const int start = chunk * chunkTokens;
    const int count = clamp(n - start, 0, chunkTokens);
    const size_t stateBase = ((size_t) e * HEADS_PER_ENTRY) * chunksPerEntry + chunk;
    local float stats[2 * HEADS_PER_ENTRY];
    if (count == 0) {
        if (lid < HEADS_PER_ENTRY) {
            pm[stateBase + (size_t) lid * chunksPerEntry] = -INFINITY;
            pd[stateBase + (size_t) lid * chunksPerEntry] = 0.0f;
        }
        return;
    }
    const float scale = rsqrt((float) HEAD_DIM);
    for (int i = lid; i < HEADS_PER_ENTRY * HEAD_DIM; i += wg) {
        qs[i] = q[((size_t) b * QUERY_HEADS + firstQ) * HEAD_DIM + i];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    global const int* pageTable = pageTables + (size_t) b * maxPages;
    for (int i = lid; i < count; i += wg) {
#if DENSE
        const int pos = start + i;
#else
        const int pos = sets[(size_t) e * cap + start + i];
#endif
        const size_t row = token_slot(pageTable, pos, kvHead) * HEAD_DIM;
        positions[i] = pos;
        float acc[HEADS_PER_ENTRY];
        for (int g = 0; g < HEADS_PER_ENTRY; g++) {
            acc[g] = 0.0f;
        }
        for (int c = 0; c < HEAD_DIM; c += 4) {
            const float4 k4 = vload_half4(0, K + row + c);
            for (int g = 0; g < HEADS_PER_ENTRY; g++) {
                acc[g] += dot(k4, vload4(0, qs + g * HEAD_DIM + c));
            }
        }
        for (int g = 0; g < HEADS_PER_ENTRY; g++) {
            probs[g * chunkTokens + i] = acc[g] * scale;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid < HEADS_PER_ENTRY) {
        float m = -INFINITY;
        for (int i = 0; i < count; i++) {
            m = fmax(m, probs[lid * chunkTokens + i]);
        }
        stats[lid] = m;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = lid; i < HEADS_PER_ENTRY * count; i += wg) {
        const int g = i / count, t = i % count;
        probs[g * chunkTokens + t] = exp(probs[g * chunkTokens + t] - stats[g]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid < HEADS_PER_ENTRY) {
        float d = 0.0f;
        for (int i = 0; i < count; i++) {
            d += probs[lid * chunkTokens + i];
        }
        pm[stateBase + (size_t) lid * chunksPerEntry] = stats[lid];
        pd[stateBase + (size_t) lid * chunksPerEntry] = d;
    }
    for (int i = lid; i < HEADS_PER_ENTRY * HEAD_DIM; i += wg) {
        const int g = i / HEAD_DIM, c = i % HEAD_DIM;
        float o = 0.0f;
        for (int t = 0; t < count; t++) {
            o += probs[g * chunkTokens + t] * vload_half(token_slot(pageTable, positions[t], kvHead) * HEAD_DIM + c, V);
        }
        po[(stateBase + (size_t) g * chunksPerEntry) * HEAD_DIM + c] = o;
    }
}

kernel void attend_merge(global const float* pm, global const float* pd, global const float* po,
                         int entriesPerSeq, int chunksPerEntry, global float* out) {
    const int eg = get_group_id(0);
    const int e = eg / HEADS_PER_ENTRY, g = eg % HEADS_PER_ENTRY;
    const int b = e / entriesPerSeq;
    const int qHead = (e % entriesPerSeq) * HEADS_PER_ENTRY + g;
    const size_t base = (size_t) eg * chunksPerEntry;
    float m = -INFINITY;
    for (int k = 0; k < chunksPerEntry; k++) {
        m = fmax(m, pm[base + k]);
    }
    for (int c = get_local_id(0); c < HEAD_DIM; c += get_local_size(0)) {
        float d = 0.0f, o = 0.0f;
        for (int k = 0; k < chunksPerEntry; k++) {
            const float dk = pd[base + k];
            if (dk > 0.0f) { // empty chunks hold m = -inf: skipping them avoids -inf - -inf
                const float f = exp(pm[base + k] - m);
                d += dk * f;
                o += po[(base + k) * HEAD_DIM + c] * f;
            }
        }
        out[((size_t) b * QUERY_HEADS + qHead) * HEAD_DIM + c] = d > 0.0f ? o / d : 0.0f;
    }
}

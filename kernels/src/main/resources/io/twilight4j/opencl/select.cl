// Base selectors (TWILIGHT.md section 3). An entry is (sequence b, KV head h): e = b * KV_HEADS + h;
// query heads of the GQA group share the selection (group score = max over the group's heads).
// Candidates: cand[e * cap + i], ascending positions, count candCount[e].
// ds/oracle_scores: one work-group per entry, work-item per token, writing rowScores[e * rowLen + i];
//   no local memory. quest_page_scores: see its own header below.
// select_top: one work-group (power-of-two size) per entry; radix select of the k-th largest score in
//   8-bit passes over the bits below those all keys share (256-bin local histogram, its digits scanned by
//   the group), then ordered emission in tiles of SCAN_RUN items per work-item via group_scan.
//   Local memory: WG ints of scan scratch + 256 bins, with SELECT_LOCAL the row's rowLen order keys, and
//   with KEPT_LOCAL (pages, unit > 1) the k kept page numbers, expanded to tokens at the end.

// window_candidates: one work-group per entry; the sequence's first `sinks` tokens and its last `window` ones,
//   ascending (every token for `full`: sinks 0, window INT_MAX), as the CPU's WindowSelector.positions.
kernel void window_candidates(global const int* lengths, int cap, global int* cand, global int* candCount, int sinks,
                              int window) {
    const int e = GROUP_ID;
    const int n = lengths[e / KV_HEADS];
    const int head = min(sinks, n);
    const int tail = max(head, n - window); // n - INT_MAX does not overflow for n >= 0
    const int count = head + (n - tail);
    for (int i = get_local_id(0); i < count; i += get_local_size(0)) {
        cand[(size_t) e * cap + i] = i < head ? i : tail + (i - head);
    }
    if (get_local_id(0) == 0) {
        candCount[e] = count;
    }
}

inline global const float* query_row(global const float* q, int b, int kvHead, int g) {
    return q + query_index(b, kvHead, g) * HEAD_DIM;
}

// quest_page_scores: groupsPerEntry work-groups of QWG = QLANES * QSLOTS work-items per entry; group g
//   of entry e scores pages [g * span, (g + 1) * span). A page's 4-bit bound codes are one row of
//   2 * HEAD_DIM codes (io.twilight4j.kv.PageBounds: the min row's channels, then the max row's, value =
//   min + u * scale, two codes per byte, code j in the low nibble when even), HEAD_DIM bytes: work-item
//   (slot, lane) reads bytes [QVEC lane, QVEC (lane + 1)), so QLANES work-items read one page together.
//   The kernel quantizes the float queries q, times 2^e per channel as the cache smooths its 4-bit copies
//   (`smoothing` from `smoothingBase`, io.twilight4j.kv.KeySmoothing), to 8-bit rows (q = c * qs) with
//   quantize_queries' arithmetic (query_scale) and the entry's first group stores them (qcodes, qscales)
//   for the estimate. Each query head's bound goes to its own row, rowScores[(e * GQA_GROUP + g) * rowLen
//   + page]: select_top ranks a page by the largest of them relative to each head's best page. With
//   c+ = max(c, 0) and c- = min(c, 0) a head's bound is qs (min sum(c) + scale ([c- | c+] . [u_min | u_max])),
//   as the CPU's QuestSelector computes it: the dot products are exact integers, the same sums on both.
//   Local memory (portable variant): red, QLANES x (GQA_GROUP * QTILE + 1) floats (padded against bank
//   conflicts), GQA_GROUP floats of query sums and of query scales, GQA_GROUP * HEAD_DIM bytes of codes.
#define QLANES (HEAD_DIM / QVEC)
#define QTILE (QSLOTS * QROWS)
#define QHT (GQA_GROUP * QTILE)

#if INLINE_PTX
// NVIDIA variant: QLANES = HEAD_DIM / 8 work-items of one warp read a page's code row with 8-byte loads
// (16 codes each: lanes below QLANES / 2 hold min codes, the others max codes; HEAD_DIM % 16 == 0) and
// dot them with the matching c- or c+ query codes by 4-way byte dot products on the nibbles masked into
// bytes (dp4a: four multiply-adds in one instruction, no conversion of the codes to float); each slot
// scores its own pages, QUNROLL at a time with all their loads issued first (page table -> codes is a
// dependent chain), so the loop needs no barrier. With QSCATTER (GQA_GROUP a power of two dividing
// QLANES) the group's partial sums are reduce-scattered over the lanes and the max over heads taken by
// shuffles, else each head is summed by its own butterfly. Partial sums are integers below 2^24: exact
// as floats in any order.
#define QUNROLL 4
// dp4a of a lane's 16 codes (8 bytes, two per byte) with its 16 query codes, even (qe) and odd (qo) ones.
inline int quest_dot(uint2 v, int2 qe, int2 qo) {
    int d = dot4_us(v.x & LOW_NIBBLES, qe.x, 0);
    d = dot4_us((v.x >> 4) & LOW_NIBBLES, qo.x, d);
    d = dot4_us(v.y & LOW_NIBBLES, qe.y, d);
    return dot4_us((v.y >> 4) & LOW_NIBBLES, qo.y, d);
}

// The 16 codes of a query row's channels [16 chunk, 16 chunk + 16), x (quantize_queries' arithmetic: the
// row's largest magnitude is found by the QLANES / 2 lanes that hold its chunks, neighbours in the warp),
// its scale into *scale. Every lane of the warp must call it (shuffles).
inline char16 quantize_chunk(float16 x, float* scale) {
    const float16 a = fabs(x);
    const float8 a8 = fmax(a.lo, a.hi);
    const float4 a4 = fmax(a8.lo, a8.hi);
    float amax = fmax(fmax(a4.x, a4.y), fmax(a4.z, a4.w));
    for (int o = QLANES / 4; o > 0; o >>= 1) {
        amax = fmax(amax, shfl_xor(amax, o));
    }
    const float2 si = query_scale(amax);
    *scale = si.x;
    return convert_char16(rint(x * si.y));
}

kernel void quest_page_scores(global const float* q, global char* qcodes, global float* qscales,
                              global const uchar* boundCodes, global const half* boundParams,
                              global const int* pageTables, int maxPages, global const int* lengths, int rowLen,
                              global float* rowScores, int groupsPerEntry, local float* unused,
                              global const int* smoothing, int smoothingBase PHASE_PARAM) {
    PHASE_MARK(0);
    const int e = GROUP_ID / groupsPerEntry, part = GROUP_ID % groupsPerEntry;
    const int b = e / KV_HEADS, h = e % KV_HEADS;
    const int lid = get_local_id(0), lane = lid % QLANES, slot = lid / QLANES;
    const int pages = (lengths[b] + PAGE_TOKENS - 1) / PAGE_TOKENS;
    const int2 share = block_range(pages, part, groupsPerEntry);
    const int first = share.x, end = share.y;
    // This lane's 16 codes are channels [16 lane, 16 lane + 16) mod HEAD_DIM of the min row (first half
    // of the lanes) or the max row: it dots them with c- or c+ of those channels, four bytes per int.
    const bool maxLane = lane >= QLANES / 2;
    const int chunk = lane % (QLANES / 2);
    int2 qe[GQA_GROUP], qo[GQA_GROUP];
    float qsum[GQA_GROUP], qscale[GQA_GROUP];
    const int16 ex = vload16(chunk, smoothing + smoothingBase + h * HEAD_DIM);
    for (int g = 0; g < GQA_GROUP; g++) {
        const size_t row = query_index(b, h, g);
        const char16 c = quantize_chunk(ldexp(vload16(chunk, q + row * HEAD_DIM), ex), &qscale[g]);
        // The estimate reads the codes after this kernel: Quest plans need no quantize_queries launch.
        if (part == 0 && slot == 0 && !maxLane) {
            vstore16(c, chunk, qcodes + row * HEAD_DIM);
            if (chunk == 0) qscales[row] = qscale[g];
        }
        const char16 signed_part = maxLane ? max(c, (char16) (0)) : min(c, (char16) (0));
        qe[g] = as_int2(signed_part.even);
        qo[g] = as_int2(signed_part.odd);
        // sum(c) = sum(c-) + sum(c+): each lane adds its part.
        float s = (float) dot4_ss(qe[g].x, 0x01010101, dot4_ss(qe[g].y, 0x01010101,
                          dot4_ss(qo[g].x, 0x01010101, dot4_ss(qo[g].y, 0x01010101, 0))));
        for (int o = QLANES / 2; o > 0; o >>= 1) {
            s += shfl_xor(s, o);
        }
        qsum[g] = s;
    }
#if QSCATTER
    const int myHead = lane / (QLANES / GQA_GROUP);
    float mySum = qsum[0], myScale = qscale[0];
    for (int g = 1; g < GQA_GROUP; g++) {
        mySum = g == myHead ? qsum[g] : mySum;
        myScale = g == myHead ? qscale[g] : myScale;
    }
#endif
    global const int* table = pageTables + (size_t) b * maxPages;
    // Three iterations in flight: this one's codes are loaded, the next one's asked into L2 (no registers
    // held while they come: 74.9 -> 68.1 us at batch 16, 128k on the H100), the page-table entries of the
    // one after that loaded. Entries are (page, KV head) row indices, ints.
    int ent[QUNROLL], nxt[QUNROLL];
    #pragma unroll
    for (int u = 0; u < QUNROLL; u++) {
        ent[u] = table[max(0, min(first + u * QSLOTS + slot, end - 1))] * KV_HEADS + h;
        nxt[u] = table[max(0, min(first + (QUNROLL + u) * QSLOTS + slot, end - 1))] * KV_HEADS + h;
    }
    // Workbench marks (PHASE_TIMES): before the first page load (queries quantized, first table entries
    // loaded) and after the last page.
    PHASE_MARK(1);
    for (int base = first; base < end; base += QSLOTS * QUNROLL) {
        uint2 v[QUNROLL];
        float2 range[QUNROLL];
        #pragma unroll
        for (int u = 0; u < QUNROLL; u++) {
            // One 8-byte load through a typed pointer (rows start at multiples of HEAD_DIM bytes, and
            // vload8 promises only byte alignment).
            v[u] = load_once2((global const uint2*) (boundCodes + (size_t) ent[u] * HEAD_DIM) + lane);
            range[u] = half2_bits_to_float2(((global const uint*) boundParams)[ent[u]]);
        }
        #pragma unroll
        for (int u = 0; u < QUNROLL; u++) {
            prefetch_l2(boundCodes + (size_t) nxt[u] * HEAD_DIM + 8 * lane);
            if (lane == 0) prefetch_l2(boundParams + 2 * (size_t) nxt[u]);
            ent[u] = nxt[u];
            nxt[u] = table[min(base + (2 * QUNROLL + u) * QSLOTS + slot, end - 1)] * KV_HEADS + h;
        }
        #pragma unroll
        for (int u = 0; u < QUNROLL; u++) {
            int x[GQA_GROUP];
            #pragma unroll
            for (int g = 0; g < GQA_GROUP; g++) {
                x[g] = quest_dot(v[u], qe[g], qo[g]);
            }
            const int p = base + u * QSLOTS + slot;
#if QSCATTER
            // Every lane of head myHead's share holds its full sum: the share's first lane writes the bound.
            const float bound = myScale * (range[u].y * mySum + range[u].x * (float) reduce_scatter_int(x, GQA_GROUP, QLANES, lane));
            if (lane % (QLANES / GQA_GROUP) == 0 && p < end) {
                rowScores[((size_t) e * GQA_GROUP + myHead) * rowLen + p] = bound;
            }
#else
            for (int g = 0; g < GQA_GROUP; g++) {
                int s = x[g];
                for (int o = QLANES / 2; o > 0; o >>= 1) {
                    s += shfl_xor_int(s, o);
                }
                if (lane == 0 && p < end) {
                    rowScores[((size_t) e * GQA_GROUP + g) * rowLen + p] = qscale[g] * (range[u].y * qsum[g] + range[u].x * (float) s);
                }
            }
#endif
        }
    }
    PHASE_MARK(2);
}
#else
// Query code j of the [c- | c+] row: c- of channel j in the first half, c+ of channel j - HEAD_DIM after it.
inline float split_query(local const char* qr, int j) {
    return j < HEAD_DIM ? fmin((float) qr[j], 0.0f) : fmax((float) qr[j - HEAD_DIM], 0.0f);
}

kernel void quest_page_scores(global const float* q, global char* qcodes, global float* qscales,
                              global const uchar* boundCodes, global const half* boundParams,
                              global const int* pageTables, int maxPages, global const int* lengths, int rowLen,
                              global float* rowScores, int groupsPerEntry, local float* red,
                              global const int* smoothing, int smoothingBase PHASE_PARAM) {
    const int e = GROUP_ID / groupsPerEntry, part = GROUP_ID % groupsPerEntry;
    const int b = e / KV_HEADS, h = e % KV_HEADS;
    const int lid = get_local_id(0), lane = lid % QLANES, slot = lid / QLANES;
    const int pages = (lengths[b] + PAGE_TOKENS - 1) / PAGE_TOKENS;
    const int2 share = block_range(pages, part, groupsPerEntry);
    const int first = share.x, end = share.y;
    // The group's queries quantized here (quantize_queries' arithmetic: Quest plans launch no separate
    // kernel for them); the entry's first group stores the codes and scales for the estimate.
    local float* qsum = red + QLANES * (QHT + 1);
    local float* qscale = qsum + GQA_GROUP;
    local char* qloc = (local char*) (qscale + GQA_GROUP);
    if (lid < GQA_GROUP) {
        global const float* qr = q + query_index(b, h, lid) * HEAD_DIM;
        global const int* ex = smoothing + smoothingBase + h * HEAD_DIM;
        float amax = 0.0f;
        for (int c = 0; c < HEAD_DIM; c++) {
            amax = fmax(amax, fabs(ldexp(qr[c], ex[c])));
        }
        const float2 si = query_scale(amax);
        int s = 0;
        for (int c = 0; c < HEAD_DIM; c++) {
            const char code = convert_char(rint(ldexp(qr[c], ex[c]) * si.y));
            qloc[lid * HEAD_DIM + c] = code;
            s += code;
        }
        qsum[lid] = (float) s;
        qscale[lid] = si.x;
        if (part == 0) {
            qscales[query_index(b, h, lid)] = si.x;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (part == 0) {
        for (int i = lid; i < GQA_GROUP * HEAD_DIM; i += get_local_size(0)) {
            qcodes[query_index(b, h, 0) * HEAD_DIM + i] = qloc[i];
        }
    }
    // Codes as floats: every product and partial sum below is an integer below 2^24, so exact. This
    // lane's bytes hold codes [2 QVEC lane, 2 QVEC (lane + 1)): the even ones meet qlo, the odd ones qhi.
    float4 qlo[GQA_GROUP], qhi[GQA_GROUP];
    for (int g = 0; g < GQA_GROUP; g++) {
        local const char* qr = qloc + g * HEAD_DIM;
        const int j = 2 * QVEC * lane;
        qlo[g] = (float4) (split_query(qr, j), split_query(qr, j + 2), split_query(qr, j + 4), split_query(qr, j + 6));
        qhi[g] = (float4) (split_query(qr, j + 1), split_query(qr, j + 3), split_query(qr, j + 5), split_query(qr, j + 7));
    }
    global const int* table = pageTables + (size_t) b * maxPages;
    for (int base = first; base < end; base += QTILE) {
        for (int r = 0; r < QROWS; r++) {
            const int p = min(base + slot + r * QSLOTS, end - 1); // past the end: recompute the last page
            const uchar4 v = vload4(lane, boundCodes + ((size_t) table[p] * KV_HEADS + h) * HEAD_DIM);
            const float4 lo = convert_float4(v & (uchar4) (15)), hi = convert_float4(v >> (uchar4) (4));
            for (int g = 0; g < GQA_GROUP; g++) {
                const float4 t = qlo[g] * lo + qhi[g] * hi;
                red[lane * (QHT + 1) + g * QTILE + slot + r * QSLOTS] = t.x + t.y + t.z + t.w;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int j = lid; j < QTILE; j += get_local_size(0)) {
            const int p = min(base + j, end - 1);
            const float2 range = vload_half2((size_t) table[p] * KV_HEADS + h, boundParams);
            for (int g = 0; g < GQA_GROUP; g++) {
                float s = 0.0f;
                for (int l = 0; l < QLANES; l++) {
                    s += red[l * (QHT + 1) + g * QTILE + j];
                }
                if (base + j < end) {
                    rowScores[((size_t) e * GQA_GROUP + g) * rowLen + base + j] = qscale[g] * (range.y * qsum[g] + range.x * s);
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

#endif

#if LABEL_CHANNELS > 0
kernel void ds_scores(global const float* q, global const uchar* labels, global const half* labelParams,
                      global const int* labelChannels, int labelBase, global const int* pageTables, int maxPages,
                      global const int* lengths, int rowLen, global float* rowScores) {
    const int e = GROUP_ID, b = e / KV_HEADS, h = e % KV_HEADS;
    const int n = lengths[b];
    global const int* ch = labelChannels + labelBase + h * LABEL_CHANNELS;
    for (int t = get_local_id(0); t < n; t += get_local_size(0)) {
        const size_t tok = token_slot(pageTables + (size_t) b * maxPages, t, h);
        const float scale = vload_half(tok * 2, labelParams), mn = vload_half(tok * 2 + 1, labelParams);
        float best = -INFINITY;
        for (int g = 0; g < GQA_GROUP; g++) {
            global const float* qr = query_row(q, b, h, g);
            float s = 0.0f;
            for (int j = 0; j < LABEL_CHANNELS; j++) {
                const int code = (labels[tok * LABEL_BYTES + j / 4] >> (2 * (j % 4))) & 3;
                s += qr[ch[j]] * (code * scale + mn);
            }
            best = fmax(best, s / sqrt((float) HEAD_DIM));
        }
        rowScores[(size_t) e * rowLen + t] = best;
    }
}
#endif

kernel void oracle_scores(global const float* q, global const half* K, global const int* pageTables, int maxPages,
                          global const int* lengths, int rowLen, global float* rowScores) {
    const int e = GROUP_ID, b = e / KV_HEADS, h = e % KV_HEADS;
    const int n = lengths[b];
    for (int t = get_local_id(0); t < n; t += get_local_size(0)) {
        const size_t row = token_slot(pageTables + (size_t) b * maxPages, t, h) * HEAD_DIM;
        float best = -INFINITY;
        for (int g = 0; g < GQA_GROUP; g++) {
            global const float* qr = query_row(q, b, h, g);
            float s = 0.0f;
            for (int c = 0; c < HEAD_DIM; c++) {
                s += qr[c] * vload_half(row + c, K);
            }
            best = fmax(best, s / sqrt((float) HEAD_DIM));
        }
        rowScores[(size_t) e * rowLen + t] = best;
    }
}

// Float order as unsigned order (negative floats reversed), so a radix select can walk the bits.
inline uint order_key(float f) {
    const uint u = as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// The float whose order_key is k.
inline float key_float(uint k) {
    return as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

// Quest's ranking under GQA (io.twilight4j.select.QuestSelector.relativeBest, the same float operations):
// item i of the entry's `heads` rows (rowLen apart) scores max_g (row_g[i] - max_i' row_g[i']) over the first
// n items. head_best leaves each row's largest score's order key in best[g] (the whole group calls it);
// combined_item is then item i's score.
inline void head_best(global const float* row, int rowLen, int heads, int n, local uint* best) {
    const int lid = get_local_id(0), wg = get_local_size(0);
    if (lid < heads) best[lid] = 0u; // below every order key
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int g = 0; g < heads; g++) {
        float m = -INFINITY;
        for (int i = lid; i < n; i += wg) m = fmax(m, row[(size_t) g * rowLen + i]);
        atomic_max(&best[g], order_key(m));
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

inline float combined_item(global const float* row, int rowLen, int heads, int i, local const uint* best) {
    float v = -INFINITY;
    for (int g = 0; g < heads; g++) v = fmax(v, row[(size_t) g * rowLen + i] - key_float(best[g]));
    return v;
}

// Keeps the best k items (pages of `unit` tokens, or tokens when unit = 1) of each entry, all of them
// when there are at most k; with forceLast the last item is always kept and counts toward k. With heads > 0
// (Quest) the entry has that many rows of per-head scores, combined first (head_best, combined_item); with 0, one row.
kernel void select_top(global float* rowScores, int rowLen, global const int* lengths, int unit, int k,
                       int forceLast, int cap, global int* cand, global int* candCount, local int* scratch,
                       local uint* keysLocal, local int* kept, int heads PHASE_PARAM) {
    const int e = GROUP_ID, lid = get_local_id(0), wg = get_local_size(0);
    PHASE_MARK(0);
    const int len = lengths[e / KV_HEADS];
    const int n = (len + unit - 1) / unit;
    const int pool = forceLast ? n - 1 : n;
    const int want = forceLast ? k - 1 : k;
    const bool all = n <= k;
    global float* row = rowScores + (size_t) e * max(1, heads) * rowLen;
    local uint headBest[GQA_GROUP];
    local int hist[256];
    local uint digitFound;
    local int wantLeft;
    local uint lowest, highest;
    if (lid == 0) {
        lowest = UINT_MAX;
        highest = 0;
    }
#if SELECT_LOCAL
    // The row's order keys read from global memory once, not once per radix pass and again to emit.
    if (heads > 0) {
        head_best(row, rowLen, heads, pool, headBest);
        for (int i = lid; i < pool; i += wg) ((local float*) keysLocal)[i] = combined_item(row, rowLen, heads, i, headBest);
    } else {
        row_to_local((local float*) keysLocal, row, pool);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = lid; i < pool; i += wg) keysLocal[i] = order_key(as_float(keysLocal[i]));
#define ROW_KEY(i) keysLocal[i]
#else
    if (heads > 0) {
        // Combined in place into the first row: each item is read and written by its own work-item.
        head_best(row, rowLen, heads, pool, headBest);
        for (int i = lid; i < pool; i += wg) row[i] = combined_item(row, rowLen, heads, i, headBest);
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
#define ROW_KEY(i) order_key(row[i])
#endif
    barrier(CLK_LOCAL_MEM_FENCE);
    PHASE_MARK(1);
    uint thr = 0;
    int needEqual = 0;
    if (!all && want > 0) {
        // The bits every key shares need no pass: scores of one row often share sign and exponent, and
        // a pass over those bits sends every key to the same one or two bins (serialized atomics; on
        // the H100 34.5 -> 32.5 us at batch 16, 128k: a small part of this kernel's time).
        uint mn = UINT_MAX, mx = 0;
        for (int i = lid; i < pool; i += wg) {
            const uint key = ROW_KEY(i);
            mn = min(mn, key);
            mx = max(mx, key);
        }
        atomic_min(&lowest, mn);
        atomic_max(&highest, mx);
        barrier(CLK_LOCAL_MEM_FENCE);
        PHASE_MARK(2);
        int pass = 0;
        const uint differ = lowest ^ highest;
        // Radix select, 8 bits a pass from the highest bit where keys differ: thr becomes the want-th
        // largest key. All keys equal: thr is that key, the first `want` are kept.
        int top = differ == 0 ? -1 : 31 - (int) clz(differ);
        uint mask = differ == 0 ? UINT_MAX : ~((2u << top) - 1u); // top = 31: 2u << 31 = 0, no shared bits
        thr = lowest & mask;
        if (lid == 0) wantLeft = want;
        while (top >= 0) {
            const int width = min(8, top + 1), shift = top + 1 - width;
            const uint digits = (1u << width) - 1u;
            for (int i = lid; i < 256; i += wg) hist[i] = 0;
            barrier(CLK_LOCAL_MEM_FENCE);
            for (int i = lid; i < pool; i += wg) {
                const uint key = ROW_KEY(i);
                if ((key & mask) == thr) atomic_inc(&hist[(key >> shift) & digits]);
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            // The digit whose bucket holds the want-th largest key (digit 0 when the larger ones run out):
            // digits largest first, wg at a time, a scan of their counts giving the keys in larger digits.
            const int left = wantLeft;
            int larger = 0;
            for (int base = 0; base < 256; base += wg) {
                const int d = 255 - base - lid, h = d >= 0 ? hist[d] : 0;
                int keys;
                const int above = larger + group_scan(scratch, h, &keys);
                if (d >= 0 && above < left && (above + h >= left || d == 0)) {
                    digitFound = (uint) d;
                    wantLeft = left - above;
                }
                larger += keys;
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            thr |= digitFound << shift;
            mask |= digits << shift;
            top -= width;
            PHASE_MARK(3 + pass++);
        }
        needEqual = wantLeft; // ties at the cut: the first ones in position order
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    PHASE_MARK(7);
    int emitted = 0, equalSeen = 0;
    // SCAN_RUN consecutive items per work-item and tile: a quarter of the scans for thousands of pages.
    for (int base = 0; base < n; base += wg * SCAN_RUN) {
        const int i0 = base + lid * SCAN_RUN;
        int sel[SCAN_RUN], equal[SCAN_RUN];
        int myEqual = 0;
        for (int j = 0; j < SCAN_RUN; j++) {
            const int i = i0 + j;
            sel[j] = 0;
            equal[j] = 0;
            if (i < n) {
                if (all || (forceLast && i == n - 1)) {
                    sel[j] = 1;
                } else if (want > 0 && i < pool) {
                    const uint key = ROW_KEY(i);
                    sel[j] = key > thr;
                    equal[j] = key == thr;
                }
            }
            myEqual += equal[j];
        }
        int equalTotal, selTotal;
        int equalRank = equalSeen + group_scan(scratch, myEqual, &equalTotal);
        int mySel = 0;
        for (int j = 0; j < SCAN_RUN; j++) {
            if (equal[j]) {
                if (equalRank < needEqual) sel[j] = 1;
                equalRank++;
            }
            mySel += sel[j];
        }
        equalSeen += equalTotal;
        int rank = emitted + group_scan(scratch, mySel, &selTotal);
        for (int j = 0; j < SCAN_RUN; j++) {
            if (sel[j]) {
                if (KEPT_LOCAL && unit > 1) {
                    kept[rank] = i0 + j;
                } else {
                    // Every kept item but the sequence's last is a full unit: item rank r starts at r * unit.
                    const int first = (i0 + j) * unit, count = min(unit, len - first);
                    for (int t = 0; t < count; t++) {
                        cand[(size_t) e * cap + rank * unit + t] = first + t;
                    }
                }
                rank++;
            }
        }
        emitted += selTotal;
    }
    // With KEPT_LOCAL, the whole group expands the kept pages to tokens, consecutive work-items storing
    // consecutive words (one work-item storing its page's tokens in a loop took 35k of the kernel's 44k
    // cycles on the H100 at batch 16, 32k): `step` tokens per work-item, 4 with one 16-byte store where
    // pages hold a multiple of 4 tokens (cand rows start at multiples of cap, itself a multiple of the
    // page). Kept token t lies in page kept[t / unit].
    barrier(CLK_LOCAL_MEM_FENCE);
    const int expand = KEPT_LOCAL && unit > 1 ? emitted * unit : 0;
    const int step = unit % 4 == 0 ? 4 : 1;
    global int* out = cand + (size_t) e * cap;
    for (int t = step * lid; t < expand; t += step * wg) {
        const int pos = kept[t / unit] * unit + t % unit;
        if (step == 4 && pos + 3 < len) {
            ((global int4*) out)[t / 4] = (int4) (pos, pos + 1, pos + 2, pos + 3);
        } else {
            for (int j = 0; j < step; j++) {
                if (pos + j < len) out[t + j] = pos + j;
            }
        }
    }
    PHASE_MARK(8);
    if (lid == 0) {
        const int lastCount = len - (n - 1) * unit;
        const bool lastKept = all || forceLast;
        candCount[e] = lastKept ? (emitted - 1) * unit + lastCount : emitted * unit;
    }
}

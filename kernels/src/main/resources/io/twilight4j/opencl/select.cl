// Base selectors (TWILIGHT.md section 3). An entry is (sequence b, KV head h): e = b * KV_HEADS + h;
// query heads of the GQA group share the selection (group score = max over the group's heads).
// Candidates: cand[e * cap + i], ascending positions, count candCount[e].
// ds/oracle_scores: one work-group per entry, work-item per token, writing rowScores[e * rowLen + i];
//   no local memory. quest_page_scores: see its own header below.
// select_top: one work-group (power-of-two size) per entry; radix select of the k-th largest score in
//   8-bit passes over the bits below those all keys share (256-bin local histogram, its digits scanned by
//   the group), then ordered emission in tiles of SCAN_RUN items per work-item via group_scan.
//   Local memory: WG ints of scan scratch + 256 bins, and with SELECT_LOCAL the row's rowLen order keys.

kernel void full_candidates(global const int* lengths, int cap, global int* cand, global int* candCount) {
    const int e = get_group_id(0);
    const int n = lengths[e / KV_HEADS];
    for (int i = get_local_id(0); i < n; i += get_local_size(0)) {
        cand[(size_t) e * cap + i] = i;
    }
    if (get_local_id(0) == 0) {
        candCount[e] = n;
    }
}

inline global const float* query_row(global const float* q, int b, int kvHead, int g) {
    return q + query_index(b, kvHead, g) * HEAD_DIM;
}

// quest_page_scores: groupsPerEntry work-groups of QWG = QLANES * QSLOTS work-items per entry; group g
//   of entry e scores pages [g * span, (g + 1) * span). Work-item (slot, lane) reads channels
//   [QVEC lane, QVEC (lane + 1)) of a page's 8-bit min and max code rows (io.twilight4j.kv.PageBounds:
//   value = min + (s + 128) * scale), so QLANES work-items read one page's rows together. The queries
//   are the 8-bit rows of quantize_queries (q = c * qs). With c+ = max(c, 0) and c- = min(c, 0) a head's
//   bound is qs ((min + 128 scale) sum(c) + scale (c- . s_min + c+ . s_max)), as the CPU's
//   QuestSelector computes it: the dot products are exact integers, the same sums on both.
//   Local memory (portable variant): red, QLANES x (GQA_GROUP * QTILE + 1) floats (padded against bank
//   conflicts), and GQA_GROUP floats of query sums.
#define QLANES (HEAD_DIM / QVEC)
#define QTILE (QSLOTS * QROWS)
#define QHT (GQA_GROUP * QTILE)

#if INLINE_PTX
// NVIDIA variant: QLANES = HEAD_DIM / 8 work-items of one warp read a page's code rows with 8-byte loads
// and dot them with the query codes by 4-way byte dot products (dp4a: four multiply-adds in one
// instruction, no conversion of the codes to float); each slot scores its own pages, QUNROLL at a time
// with all their loads issued first (page table -> codes is a dependent chain), so the loop needs no
// barrier. With QSCATTER (GQA_GROUP a power of two dividing QLANES) the group's partial sums are
// reduce-scattered over the lanes and the max over heads taken by shuffles, else each head is summed by
// its own butterfly. Partial sums are integers below 2^24: exact as floats in any order.
#define QUNROLL 4
// A lane's 8 bytes of a code row as two ints (one 8-byte load through a typed pointer: rows start at
// multiples of HEAD_DIM bytes, and vload8 promises only byte alignment), and their 4-way dot products.
#define qload(p) (((global const int2*) (p))[lane])
inline int quest_dot(int2 a, int2 b, int acc) {
    return dot4_ss(a.y, b.y, dot4_ss(a.x, b.x, acc));
}

kernel void quest_page_scores(global const char* qcodes, global const float* qscales, global const char* boundCodes,
                              global const half* boundParams, global const int* pageTables, int maxPages,
                              global const int* lengths, int rowLen, global float* rowScores, int groupsPerEntry,
                              local float* unused) {
    const int e = get_group_id(0) / groupsPerEntry, part = get_group_id(0) % groupsPerEntry;
    const int b = e / KV_HEADS, h = e % KV_HEADS;
    const int lid = get_local_id(0), lane = lid % QLANES, slot = lid / QLANES;
    const int pages = (lengths[b] + PAGE_TOKENS - 1) / PAGE_TOKENS;
    const int2 share = block_range(pages, part, groupsPerEntry);
    const int first = share.x, end = share.y;
    // This lane's 8 channels of each head's c- and c+, four bytes per int.
    int2 qn[GQA_GROUP], qp[GQA_GROUP];
    float qsum[GQA_GROUP], qscale[GQA_GROUP];
    for (int g = 0; g < GQA_GROUP; g++) {
        const char8 c = as_char8(qload(qcodes + query_index(b, h, g) * HEAD_DIM));
        qn[g] = as_int2(min(c, (char8) (0)));
        qp[g] = as_int2(max(c, (char8) (0)));
        float s = (float) quest_dot(as_int2(c), (int2) (0x01010101), 0);
        for (int o = QLANES / 2; o > 0; o >>= 1) {
            s += shfl_xor(s, o);
        }
        qsum[g] = s;
        qscale[g] = qscales[query_index(b, h, g)];
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
    // The next iteration's page-table entries are loaded while this one's codes arrive.
    size_t ent[QUNROLL];
    #pragma unroll
    for (int u = 0; u < QUNROLL; u++) {
        ent[u] = (size_t) table[max(0, min(first + u * QSLOTS + slot, end - 1))] * KV_HEADS + h;
    }
    for (int base = first; base < end; base += QSLOTS * QUNROLL) {
        int2 mnc[QUNROLL], mxc[QUNROLL];
        float2 range[QUNROLL];
        #pragma unroll
        for (int u = 0; u < QUNROLL; u++) {
            mnc[u] = qload(boundCodes + ent[u] * 2 * HEAD_DIM);
            mxc[u] = qload(boundCodes + ent[u] * 2 * HEAD_DIM + HEAD_DIM);
            range[u] = half2_bits_to_float2(((global const uint*) boundParams)[ent[u]]);
        }
        #pragma unroll
        for (int u = 0; u < QUNROLL; u++) {
            ent[u] = (size_t) table[min(base + (QUNROLL + u) * QSLOTS + slot, end - 1)] * KV_HEADS + h;
        }
        #pragma unroll
        for (int u = 0; u < QUNROLL; u++) {
            const float center = range[u].y + 128.0f * range[u].x;
            float x[GQA_GROUP];
            #pragma unroll
            for (int g = 0; g < GQA_GROUP; g++) {
                x[g] = (float) quest_dot(mxc[u], qp[g], quest_dot(mnc[u], qn[g], 0));
            }
#if QSCATTER
            float best = myScale * (center * mySum + range[u].x * reduce_scatter(x, GQA_GROUP, QLANES, lane));
            for (int o = QLANES / GQA_GROUP; o < QLANES; o <<= 1) {
                best = fmax(best, shfl_xor(best, o));
            }
#else
            float best = -INFINITY;
            for (int g = 0; g < GQA_GROUP; g++) {
                float s = x[g];
                for (int o = QLANES / 2; o > 0; o >>= 1) {
                    s += shfl_xor(s, o);
                }
                best = fmax(best, qscale[g] * (center * qsum[g] + range[u].x * s));
            }
#endif
            const int p = base + u * QSLOTS + slot;
            if (lane == 0 && p < end) rowScores[(size_t) e * rowLen + p] = best;
        }
    }
}
#else
kernel void quest_page_scores(global const char* qcodes, global const float* qscales, global const char* boundCodes,
                              global const half* boundParams, global const int* pageTables, int maxPages,
                              global const int* lengths, int rowLen, global float* rowScores, int groupsPerEntry,
                              local float* red) {
    const int e = get_group_id(0) / groupsPerEntry, part = get_group_id(0) % groupsPerEntry;
    const int b = e / KV_HEADS, h = e % KV_HEADS;
    const int lid = get_local_id(0), lane = lid % QLANES, slot = lid / QLANES;
    const int pages = (lengths[b] + PAGE_TOKENS - 1) / PAGE_TOKENS;
    const int2 share = block_range(pages, part, groupsPerEntry);
    const int first = share.x, end = share.y;
    local float* qsum = red + QLANES * (QHT + 1);
    if (lid < GQA_GROUP) {
        global const char* qr = qcodes + query_index(b, h, lid) * HEAD_DIM;
        int s = 0;
        for (int c = 0; c < HEAD_DIM; c++) {
            s += qr[c];
        }
        qsum[lid] = (float) s;
    }
    // Codes as floats: every product and partial sum below is an integer below 2^24, so exact.
    float4 qn[GQA_GROUP], qp[GQA_GROUP];
    for (int g = 0; g < GQA_GROUP; g++) {
        const float4 x = convert_float4(vload4(lane, qcodes + query_index(b, h, g) * HEAD_DIM));
        qn[g] = fmin(x, 0.0f);
        qp[g] = fmax(x, 0.0f);
    }
    global const int* table = pageTables + (size_t) b * maxPages;
    for (int base = first; base < end; base += QTILE) {
        for (int r = 0; r < QROWS; r++) {
            const int p = min(base + slot + r * QSLOTS, end - 1); // past the end: recompute the last page
            const size_t row = ((size_t) table[p] * KV_HEADS + h) * 2 * HEAD_DIM;
            const float4 mn = convert_float4(vload4(lane, boundCodes + row));
            const float4 mx = convert_float4(vload4(lane, boundCodes + row + HEAD_DIM));
            for (int g = 0; g < GQA_GROUP; g++) {
                const float4 t = qn[g] * mn + qp[g] * mx;
                red[lane * (QHT + 1) + g * QTILE + slot + r * QSLOTS] = t.x + t.y + t.z + t.w;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int j = lid; j < QTILE; j += get_local_size(0)) {
            const int p = min(base + j, end - 1);
            const float2 range = vload_half2((size_t) table[p] * KV_HEADS + h, boundParams);
            const float center = range.y + 128.0f * range.x;
            float best = -INFINITY;
            for (int g = 0; g < GQA_GROUP; g++) {
                float s = 0.0f;
                for (int l = 0; l < QLANES; l++) {
                    s += red[l * (QHT + 1) + g * QTILE + j];
                }
                best = fmax(best, qscales[query_index(b, h, g)] * (center * qsum[g] + range.x * s));
            }
            if (base + j < end) {
                rowScores[(size_t) e * rowLen + base + j] = best;
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
    const int e = get_group_id(0), b = e / KV_HEADS, h = e % KV_HEADS;
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
    const int e = get_group_id(0), b = e / KV_HEADS, h = e % KV_HEADS;
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

// Keeps the best k items (pages of `unit` tokens, or tokens when unit = 1) of each entry, all of them
// when there are at most k; with forceLast the last item is always kept and counts toward k.
kernel void select_top(global const float* rowScores, int rowLen, global const int* lengths, int unit, int k,
                       int forceLast, int cap, global int* cand, global int* candCount, local int* scratch,
                       local uint* keysLocal) {
    const int e = get_group_id(0), lid = get_local_id(0), wg = get_local_size(0);
    const int len = lengths[e / KV_HEADS];
    const int n = (len + unit - 1) / unit;
    const int pool = forceLast ? n - 1 : n;
    const int want = forceLast ? k - 1 : k;
    const bool all = n <= k;
    global const float* row = rowScores + (size_t) e * rowLen;
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
    for (int i = lid; i < pool; i += wg) keysLocal[i] = order_key(row[i]);
#define ROW_KEY(i) keysLocal[i]
#else
#define ROW_KEY(i) order_key(row[i])
#endif
    barrier(CLK_LOCAL_MEM_FENCE);
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
        }
        needEqual = wantLeft; // ties at the cut: the first ones in position order
        barrier(CLK_LOCAL_MEM_FENCE);
    }
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
                // Every kept item but the sequence's last is a full unit, so item rank r starts at r * unit.
                const int first = (i0 + j) * unit, count = min(unit, len - first);
                for (int t = 0; t < count; t++) {
                    cand[(size_t) e * cap + rank * unit + t] = first + t;
                }
                rank++;
            }
        }
        emitted += selTotal;
    }
    if (lid == 0) {
        const int lastCount = len - (n - 1) * unit;
        const bool lastKept = all || forceLast;
        candCount[e] = lastKept ? (emitted - 1) * unit + lastCount : emitted * unit;
    }
}

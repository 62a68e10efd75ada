// Decode attention over token sets, FlashDecoding style (TWILIGHT.md section 5).
// An entry is (sequence b, set e): DENSE entries are (b, KV head) over positions 0..len-1; sparse
// entries read ascending positions from sets[e * cap ...], count setCount[e]. Each entry serves
// HEADS_PER_ENTRY query heads starting at firstQ (the whole GQA group, or one head in HEAD mode),
// so each K/V row is loaded once for the group.
// attend_partial: work-groups of ATT_WG = LANES * SLOTS work-items, each running attend_chunk on chunks
//   of entries. DENSE: group id = entry * chunksPerEntry + chunk, the chunk covers
//   [chunk * chunkTokens, +chunkTokens) (the host knows the lengths). Sparse (head-balanced: the set
//   sizes exist only on the device, and differ by 10x and more between heads): an entry of n tokens is
//   cut into sparse_chunks(n) near-equal chunks of at least chunkTokens tokens (at most chunksPerEntry),
//   every group builds the prefix sums of the entries' chunk counts in local memory, and the groups
//   take the list's chunks in turn (group g: chunks g, g + groups, ...), so the work per group follows
//   the tokens actually kept, not the sets' capacity.
//   Work-item (slot, lane) owns channels [VEC lane, VEC lane + VEC) of rows slot, slot + SLOTS, ... of each
//   tile of TILE = SLOTS * ROWS rows: a row of K or V is read by LANES consecutive work-items (one
//   coalesced 2 * HEAD_DIM-byte read; VEC = ATT_VEC). Partial dot products are summed across lanes in local memory.
//   Local memory: red (LANES x (HEADS_PER_ENTRY * TILE + 1) floats, padded against bank conflicts),
//   scores and probs (HEADS_PER_ENTRY * TILE floats each); red also holds the final
//   SLOTS * HEADS_PER_ENTRY * HEAD_DIM accumulator sums, so it is sized for the larger of the two;
//   sparse: prefix (entries ints).
//   Writes the partial state (m, d, o) per (entry, head, chunk); empty dense chunks write m = -inf, d = 0.
//   FUSED_MERGE (sparse plans that prune: few chunks per entry): the last group to finish an entry's chunk
//   (counted in arrivals[e], which it resets to 0) merges the entry's chunks into out; empty entries'
//   outputs are zeroed by one group. (Unpruned Quest sets, 32 chunks per entry, ran slower so: attend_partial
//   232 -> 364 us at batch 16, 32k on the H100, their merges piling up in the launch's tail.)
// attend_merge (dense, and sparse without FUSED_MERGE): one work-group per (entry, head), work-items (channel c, part); merges the chunks by
//   log-sum-exp and writes out[b][q][c] (0 when the set is empty). HEAD_DIM x parts work-items (the host's
//   choice). Local memory: 2 * chunksPerEntry + parts * (HEAD_DIM + 1) floats.
#pragma OPENCL FP_CONTRACT OFF

// Each work-item reads VEC channels of a row: 8 (16-byte loads) when HEAD_DIM allows, else 4; the
// NVIDIA variant may take 16 (fewer lanes per row: fewer shuffles and exps per row under GQA).
#if ATT_VEC == 16
#define floatV float16
#define vload_halfV vload_half16
#define vloadV vload16
#define vstoreV vstore16
#define dotV(a, b) (dot((a).lo.lo, (b).lo.lo) + dot((a).lo.hi, (b).lo.hi) + dot((a).hi.lo, (b).hi.lo) + dot((a).hi.hi, (b).hi.hi))
#elif ATT_VEC == 8
#define floatV float8
#define vload_halfV vload_half8
#define vloadV vload8
#define vstoreV vstore8
#define dotV(a, b) (dot((a).lo, (b).lo) + dot((a).hi, (b).hi))
#else
#define floatV float4
#define vload_halfV vload_half4
#define vloadV vload4
#define vstoreV vstore4
#define dotV(a, b) dot(a, b)
#endif
#define LANES (HEAD_DIM / ATT_VEC)
#define TILE (SLOTS * ROWS)
#define HT (HEADS_PER_ENTRY * TILE)

// The chunk of entry e that covers its items [start, start + count); its partial states live at
// stateBase + head * chunksPerEntry.
typedef struct {
    int e, b, firstQ, kvHead, start, count;
    size_t stateBase;
} Chunk;

inline Chunk chunk_at(int e, int chunk, int start, int count, int entriesPerSeq, int chunksPerEntry) {
    Chunk c;
    c.e = e;
    c.b = e / entriesPerSeq;
    c.firstQ = (e % entriesPerSeq) * HEADS_PER_ENTRY;
    c.kvHead = c.firstQ / GQA_GROUP;
    c.start = start;
    c.count = count;
    c.stateBase = ((size_t) e * HEADS_PER_ENTRY) * chunksPerEntry + chunk;
    return c;
}

// Chunks of a sparse entry of n tokens: one per chunkTokens tokens, at most maxChunks (0 when empty).
inline int sparse_chunks(int n, int chunkTokens, int maxChunks) {
    return min(maxChunks, (n + chunkTokens - 1) / chunkTokens);
}

// An empty chunk's partial states: m = -inf, d = 0 (the merge skips them).
inline void write_empty(size_t stateBase, int chunksPerEntry, global float* pm, global float* pd) {
    const int lid = get_local_id(0);
    if (lid < HEADS_PER_ENTRY) {
        pm[stateBase + (size_t) lid * chunksPerEntry] = -INFINITY;
        pd[stateBase + (size_t) lid * chunksPerEntry] = 0.0f;
    }
}

// Element offset of the K/V row of item i of a chunk (rows past the end read the chunk's first row).
inline size_t attend_row(global const int* pageTable, global const int* sets, int e, int cap, int start, int i,
                         int count, int kvHead) {
    const int item = i < count ? i : 0;
#if DENSE
    const int pos = start + item;
#else
    const int pos = sets[(size_t) e * cap + start + item];
#endif
    return token_slot(pageTable, pos, kvHead) * HEAD_DIM;
}

#if ATT_SHUFFLE
// NVIDIA fast path (the host sets ATT_SHUFFLE only where inline PTX builds; the portable kernel below
// is the reference it is tested against). The LANES work-items of a slot sit in one warp, so a row's
// dot product is summed with warp shuffles, and each slot keeps its own online-softmax state over
// rows slot, slot + SLOTS, ...: the main loop needs no barrier. Slots merge once at the end.
// Local memory: red (SLOTS * HEADS_PER_ENTRY * (HEAD_DIM + 2) floats).
#define UNROLL ATT_UNROLL
#define LANES_PER_HEAD (LANES / HEADS_PER_ENTRY)

// This lane's ATT_VEC halves of a K or V row (rows start at multiples of 2 * HEAD_DIM bytes) through
// typed 16-byte loads and PTX conversions: vload_half8 promises only 2-byte alignment, and for bytes
// the NVIDIA compiler took the like promise at its word (the 4-bit estimate ran 1.5x faster with
// typed loads).
inline float8 halves8_to_float8(uint4 r) {
    return (float8) (half2_bits_to_float2(r.x), half2_bits_to_float2(r.y), half2_bits_to_float2(r.z),
                     half2_bits_to_float2(r.w));
}
// 16-byte chunk `chunk` of a K or V row, as raw halves.
inline uint4 row_bits(global const half* row, int chunk) {
    return load_once4((global const uint4*) row + chunk);
}
inline float8 row_halves8(global const half* row, int chunk) {
    return halves8_to_float8(row_bits(row, chunk));
}
#if ATT_PIPELINE && ATT_VEC != 8
#error "attend_partial (NVIDIA variant): ATT_PIPELINE needs ATT_VEC 8"
#endif
#if ATT_PIPELINE && !DENSE
#error "attend_partial (NVIDIA variant): ATT_PIPELINE is for dense attention (sparse sets measured slower pipelined)"
#endif
#if ATT_VEC == 16
#define load_rowV(lane, row) ((float16) (row_halves8(row, 2 * (lane)), row_halves8(row, 2 * (lane) + 1)))
#else
#define load_rowV(lane, row) row_halves8(row, lane)
#endif

// Element offset of the K/V row of item i of the current stage (past its end: the stage's first row).
#if DENSE
#define ROW_AT(i) attend_row(pageTable, sets, e, cap, start, (i), count, kvHead)
#else
#define ROW_AT(i) ((size_t) staged[(i) < tn ? (i) : 0] * HEAD_DIM)
#endif
// The pipelined loop's loads (ATT_PIPELINE): rows first, first + SLOTS, ... of this slot as raw halves into kn, vn.
#define LOAD_STEP_BITS(first) \
    for (int u = 0; u < UNROLL; u++) { \
        const size_t row = ROW_AT((first) + u * SLOTS + slot); \
        kn[u] = row_bits(K + row, lane); \
        vn[u] = row_bits(V + row, lane); \
    }

// Attention of chunk ch (count >= 1) into its partial states; every work-item of the group calls it.
inline void attend_chunk(const Chunk ch, global const float* q, global const half* K, global const half* V,
                         global const int* pageTables, int maxPages, global const int* sets, int cap,
                         int chunksPerEntry, global float* pm, global float* pd, global float* po,
                         local float* red, local float* scores, local float* probs, int mark PHASE_PARAM) {
    const int lid = get_local_id(0);
    const int lane = lid % LANES, slot = lid / LANES;
    const int e = ch.e, b = ch.b, firstQ = ch.firstQ, kvHead = ch.kvHead, start = ch.start, count = ch.count;
    const size_t stateBase = ch.stateBase;
    const float scale = rsqrt((float) HEAD_DIM);
    global const int* pageTable = pageTables + (size_t) b * maxPages;
    floatV qr[HEADS_PER_ENTRY], acc[HEADS_PER_ENTRY];
    float m[HEADS_PER_ENTRY], d[HEADS_PER_ENTRY];
    for (int g = 0; g < HEADS_PER_ENTRY; g++) {
        qr[g] = vloadV(lane, q + ((size_t) b * QUERY_HEADS + firstQ + g) * HEAD_DIM) * scale;
        acc[g] = (floatV) (0.0f);
        m[g] = -INFINITY;
        d[g] = 0.0f;
    }
    // Every slot runs the same number of iterations (shuffles need the whole warp); rows past the
    // end read the chunk's first row and weigh nothing.
    // GQA: the HEADS_PER_ENTRY partial dots of a row are reduce-scattered over the lanes, so after
    // log2(LANES) shuffle stages lane l holds the full dot of head l / LANES_PER_HEAD only: fewer
    // shuffles and exponentials per row than reducing every head in every lane. That lane's head
    // keeps the running max and sum; corrections and weights are broadcast to the others.
    const int myHead = lane / LANES_PER_HEAD;
    const int segment = (lid % 32) - lane; // first warp lane of this slot
    float mh = -INFINITY, dh = 0.0f;
    // Sparse sets: the rows' token slots go ATT_STAGE at a time into local memory first (stage_token_slots),
    // as in the estimate, instead of each iteration loading the next one's set index -> page table chain.
    // Here it measured even (46.4 against 46.7 us at batch 16, 32k, chunks of 256, groups of 256 on the
    // H100), the estimate gained (49.6 -> 46.5 us). The NVIDIA variant has no use for `scores`: it holds the slots.
#if DENSE
    const int stage = count;
#else
    const int stage = ATT_STAGE;
    local uint* staged = (local uint*) scores;
#endif
    for (int t0 = 0; t0 < count; t0 += stage) {
        const int tn = min(count - t0, stage);
#if !DENSE
        barrier(CLK_LOCAL_MEM_FENCE); // the previous stage's slots are read
        stage_token_slots(staged, sets + (size_t) e * cap + start + t0, tn, pageTable, kvHead);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (t0 == 0 && mark >= 0) PHASE_MARK(mark);
#endif
#if ATT_PIPELINE
        // Software pipeline (ATT_PIPELINE, dense only): the next step's rows, as raw halves, load while this step
        // computes.
        uint4 kn[UNROLL], vn[UNROLL];
        #pragma unroll
        LOAD_STEP_BITS(0)
#endif
        for (int base = 0; base < tn; base += SLOTS * UNROLL) {
            floatV kr[UNROLL], vr[UNROLL];
            bool valid[UNROLL];
            #pragma unroll
            for (int u = 0; u < UNROLL; u++) {
                valid[u] = base + u * SLOTS + slot < tn;
            }
#if ATT_PIPELINE
            uint4 kc[UNROLL], vc[UNROLL];
            #pragma unroll
            for (int u = 0; u < UNROLL; u++) {
                kc[u] = kn[u];
                vc[u] = vn[u];
            }
            if (base + SLOTS * UNROLL < tn) {
                #pragma unroll
                LOAD_STEP_BITS(base + SLOTS * UNROLL)
            }
            #pragma unroll
            for (int u = 0; u < UNROLL; u++) {
                kr[u] = halves8_to_float8(kc[u]);
                vr[u] = halves8_to_float8(vc[u]);
            }
#else
            // All UNROLL rows' loads are issued before any arithmetic: more bytes in flight per work-item.
            #pragma unroll
            for (int u = 0; u < UNROLL; u++) {
                const size_t row = ROW_AT(base + u * SLOTS + slot);
                kr[u] = load_rowV(lane, K + row);
                vr[u] = load_rowV(lane, V + row);
            }
#endif
            float sc[UNROLL];
            float tileMax = mh;
            #pragma unroll
            for (int u = 0; u < UNROLL; u++) {
                float x[HEADS_PER_ENTRY];
                #pragma unroll
                for (int g = 0; g < HEADS_PER_ENTRY; g++) {
                    x[g] = dotV(kr[u], qr[g]);
                }
                const float full = reduce_scatter(x, HEADS_PER_ENTRY, LANES, lane);
                sc[u] = valid[u] ? full : -INFINITY;
                tileMax = fmax(tileMax, sc[u]);
            }
            // A head that has seen no valid row yet keeps m = -inf: no -inf - -inf.
            const float corr = tileMax == -INFINITY ? 1.0f : exp(mh - tileMax);
            float pr[UNROLL];
            float sum = dh * corr;
            #pragma unroll
            for (int u = 0; u < UNROLL; u++) {
                pr[u] = valid[u] ? exp(sc[u] - tileMax) : 0.0f;
                sum += pr[u];
            }
            dh = sum;
            mh = tileMax;
            #pragma unroll
            for (int g = 0; g < HEADS_PER_ENTRY; g++) {
                const int src = segment + g * LANES_PER_HEAD;
                floatV a = acc[g] * shfl_idx(corr, src);
                // mad: one fused multiply-add where the device has it (FP_CONTRACT is off in these sources).
                #pragma unroll
                for (int u = 0; u < UNROLL; u++) {
                    a = mad((floatV) (shfl_idx(pr[u], src)), vr[u], a);
                }
                acc[g] = a;
            }
        }
    }
    if (mark >= 0) PHASE_MARK(mark + 1);
    for (int g = 0; g < HEADS_PER_ENTRY; g++) {
        m[g] = shfl_idx(mh, segment + g * LANES_PER_HEAD);
        d[g] = shfl_idx(dh, segment + g * LANES_PER_HEAD);
    }
    // Merge the slots: red holds per (slot, head) m, d and the accumulator.
    local float* ms = red;
    local float* ds = red + SLOTS * HEADS_PER_ENTRY;
    local float* os = red + 2 * SLOTS * HEADS_PER_ENTRY;
    for (int g = 0; g < HEADS_PER_ENTRY; g++) {
        if (lane == 0) {
            ms[slot * HEADS_PER_ENTRY + g] = m[g];
            ds[slot * HEADS_PER_ENTRY + g] = d[g];
        }
        vstoreV(acc[g], lane, os + (slot * HEADS_PER_ENTRY + g) * HEAD_DIM);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int j = lid; j < HEADS_PER_ENTRY * HEAD_DIM; j += ATT_WG) {
        const int g = j / HEAD_DIM, c = j % HEAD_DIM;
        float mm = -INFINITY;
        for (int s = 0; s < SLOTS; s++) {
            mm = fmax(mm, ms[s * HEADS_PER_ENTRY + g]);
        }
        float dd = 0.0f, o = 0.0f;
        for (int s = 0; s < SLOTS; s++) {
            const float ds_ = ds[s * HEADS_PER_ENTRY + g];
            if (ds_ > 0.0f) {
                const float f = exp(ms[s * HEADS_PER_ENTRY + g] - mm);
                dd += ds_ * f;
                o += os[(s * HEADS_PER_ENTRY + g) * HEAD_DIM + c] * f;
            }
        }
        po[(stateBase + (size_t) g * chunksPerEntry) * HEAD_DIM + c] = o;
        if (c == 0) {
            pm[stateBase + (size_t) g * chunksPerEntry] = mm;
            pd[stateBase + (size_t) g * chunksPerEntry] = dd;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE); // red is reused by the group's next chunk
    if (mark >= 0) PHASE_MARK(mark + 2);
}
#else
// Attention of chunk ch (count >= 1) into its partial states; every work-item of the group calls it.
inline void attend_chunk(const Chunk ch, global const float* q, global const half* K, global const half* V,
                         global const int* pageTables, int maxPages, global const int* sets, int cap,
                         int chunksPerEntry, global float* pm, global float* pd, global float* po,
                         local float* red, local float* scores, local float* probs, int mark PHASE_PARAM) {
    const int lid = get_local_id(0);
    const int lane = lid % LANES, slot = lid / LANES;
    const int e = ch.e, b = ch.b, firstQ = ch.firstQ, kvHead = ch.kvHead, start = ch.start, count = ch.count;
    const size_t stateBase = ch.stateBase;
    const float scale = rsqrt((float) HEAD_DIM);
    global const int* pageTable = pageTables + (size_t) b * maxPages;
    floatV qr[HEADS_PER_ENTRY], acc[HEADS_PER_ENTRY];
    float m[HEADS_PER_ENTRY], d[HEADS_PER_ENTRY];
    for (int g = 0; g < HEADS_PER_ENTRY; g++) {
        qr[g] = vloadV(lane, q + ((size_t) b * QUERY_HEADS + firstQ + g) * HEAD_DIM);
        acc[g] = (floatV) (0.0f);
        m[g] = -INFINITY;
        d[g] = 0.0f;
    }
    for (int base = 0; base < count; base += TILE) {
        size_t rows[ROWS];
        bool valid[ROWS];
        // Scores of this work-item's rows: partial dots over its VEC channels. Rows past the chunk's
        // end read its first row instead (never out of bounds, even where loads run speculatively).
        for (int r = 0; r < ROWS; r++) {
            const int i = base + slot + r * SLOTS;
            valid[r] = i < count;
            rows[r] = attend_row(pageTable, sets, e, cap, start, i, count, kvHead);
            const floatV k4 = vload_halfV(lane, K + rows[r]);
            for (int g = 0; g < HEADS_PER_ENTRY; g++) {
                red[lane * (HT + 1) + g * TILE + slot + r * SLOTS] = dotV(k4, qr[g]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        // Work-item j sums the lanes of (head, row) pair j.
        for (int j = lid; j < HT; j += ATT_WG) {
            float s = 0.0f;
            for (int l = 0; l < LANES; l++) {
                s += red[l * (HT + 1) + j];
            }
            scores[j] = base + j % TILE < count ? s * scale : -INFINITY;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        float correction[HEADS_PER_ENTRY];
        for (int g = 0; g < HEADS_PER_ENTRY; g++) {
            float tileMax = -INFINITY;
            for (int t = 0; t < TILE; t++) {
                tileMax = fmax(tileMax, scores[g * TILE + t]);
            }
            const float mNew = fmax(m[g], tileMax);
            // exp(-inf - finite) = 0: the empty state contributes nothing.
            correction[g] = exp(m[g] - mNew);
            m[g] = mNew;
        }
        // Static indices into private arrays only: some compilers mishandle dynamic ones.
        for (int g = 0; g < HEADS_PER_ENTRY; g++) {
            for (int t = lid; t < TILE; t += ATT_WG) {
                probs[g * TILE + t] = exp(scores[g * TILE + t] - m[g]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int g = 0; g < HEADS_PER_ENTRY; g++) {
            float sum = 0.0f;
            for (int t = 0; t < TILE; t++) {
                sum += probs[g * TILE + t];
            }
            d[g] = d[g] * correction[g] + sum;
            acc[g] *= correction[g];
        }
        for (int r = 0; r < ROWS; r++) {
            // An invalid row's probability is exp(-inf) = 0.
            const floatV v4 = vload_halfV(lane, V + rows[r]);
            for (int g = 0; g < HEADS_PER_ENTRY; g++) {
                acc[g] = mad((floatV) (probs[g * TILE + slot + r * SLOTS]), v4, acc[g]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    // Sum the slots' accumulators: red is reused as out[slot][head][channel].
    for (int g = 0; g < HEADS_PER_ENTRY; g++) {
        vstoreV(acc[g], lane, red + (slot * HEADS_PER_ENTRY + g) * HEAD_DIM);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int j = lid; j < HEADS_PER_ENTRY * HEAD_DIM; j += ATT_WG) {
        float o = 0.0f;
        for (int s = 0; s < SLOTS; s++) {
            o += red[s * HEADS_PER_ENTRY * HEAD_DIM + j];
        }
        const int g = j / HEAD_DIM, c = j % HEAD_DIM;
        po[(stateBase + (size_t) g * chunksPerEntry) * HEAD_DIM + c] = o;
    }
    if (lid == 0) {
        for (int g = 0; g < HEADS_PER_ENTRY; g++) {
            pm[stateBase + (size_t) g * chunksPerEntry] = m[g];
            pd[stateBase + (size_t) g * chunksPerEntry] = d[g];
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE); // red is reused by the group's next chunk
}

#endif

// The log-sum-exp merge of `chunks` partial states: maxima sm[k], sums sd[k], outputs po[k * HEAD_DIM + c]
// (read with LOAD_PO). NAME returns channel c's sums (d, o) over the chunks first, first + stride, ...,
// each weighted by exp(sm[k] - m), m the maximum of all chunks (max_state); the merged channel is o / d, 0
// when d = 0 (no state holds tokens). One body for attend_merge (chunks shared out over work-items) and the
// fused sparse merge (stride 1).
#define DEFINE_MERGE_PART(NAME, SPACE, LOAD_PO, BATCH)                                                    \
inline float2 NAME(SPACE const float* sm, SPACE const float* sd, global const float* po, int chunks, int first, \
                   int stride, float m, int c) {                                                           \
    float d = 0.0f, o = 0.0f;                                                                              \
    /* BATCH outputs loaded before any is used: a load followed at once by its use stalls the */           \
    /* warp for the whole trip to L2, once per chunk (the fused merge of 32 chunks took ~40 us so). */     \
    for (int k0 = first; k0 < chunks; k0 += BATCH * stride) {                                              \
        float x[BATCH];                                                                                    \
        for (int j = 0; j < BATCH; j++) {                                                                  \
            const int k = k0 + j * stride;                                                                 \
            x[j] = k < chunks && sd[k] > 0.0f ? LOAD_PO(po + (size_t) k * HEAD_DIM + c) : 0.0f;            \
        }                                                                                                  \
        for (int j = 0; j < BATCH; j++) {                                                                  \
            const int k = k0 + j * stride;                                                                 \
            if (k < chunks && sd[k] > 0.0f) { /* empty chunks hold m = -inf: skipping them avoids -inf - -inf */ \
                const float f = exp(sm[k] - m);                                                            \
                d += sd[k] * f;                                                                            \
                o += x[j] * f;                                                                             \
            }                                                                                              \
        }                                                                                                  \
    }                                                                                                      \
    return (float2) (d, o);                                                                                \
}

// The largest of the chunks' maxima sm[0..chunks) (staged in local memory).
inline float max_state(local const float* sm, int chunks) {
    float m = -INFINITY;
    for (int k = 0; k < chunks; k++) {
        m = fmax(m, sm[k]);
    }
    return m;
}

// attend_merge keeps 16 outputs in flight per work-item (a kernel of its own: registers to spare), the
// fused merge 8 (it shares attend_partial's registers).
#define LOAD_PLAIN(p) (*(p))
DEFINE_MERGE_PART(merge_part, local, LOAD_PLAIN, 16)

// The output rows of entry e's HEADS_PER_ENTRY query heads (out[b][q][c]).
inline global float* entry_output(global float* out, int e, int entriesPerSeq) {
    return out + ((size_t) (e / entriesPerSeq) * QUERY_HEADS + (e % entriesPerSeq) * HEADS_PER_ENTRY) * HEAD_DIM;
}

#if FUSED_MERGE
DEFINE_MERGE_PART(merge_part_staged, local, load_coherent, 8)

// The fused merge of sparse entry e's k chunks by the group that finished its last one: the heads' maxima
// and sums staged in local memory (one parallel round of loads), then every (head, channel) of the entry.
inline void merge_entry(global const float* pm, global const float* pd, global const float* po, int e, int k,
                        int entriesPerSeq, int chunksPerEntry, global float* out, local float* staged) {
    const int lid = get_local_id(0);
    const size_t base = (size_t) e * HEADS_PER_ENTRY * chunksPerEntry;
    for (int j = lid; j < HEADS_PER_ENTRY * k; j += ATT_WG) {
        const size_t at = base + (size_t) (j / k) * chunksPerEntry + j % k;
        staged[j] = load_coherent(pm + at);
        staged[HEADS_PER_ENTRY * k + j] = load_coherent(pd + at);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    global float* row = entry_output(out, e, entriesPerSeq);
    for (int j = lid; j < HEADS_PER_ENTRY * HEAD_DIM; j += ATT_WG) {
        const int g = j / HEAD_DIM;
        local const float* sm = staged + g * k;
        const float2 sums = merge_part_staged(sm, staged + HEADS_PER_ENTRY * k + g * k,
                                              po + (base + (size_t) g * chunksPerEntry) * HEAD_DIM, k, 0, 1,
                                              max_state(sm, k), j % HEAD_DIM);
        row[j] = sums.x > 0.0f ? sums.y / sums.x : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE); // staged is reused
}
#endif

kernel void attend_partial(global const float* q, global const half* K, global const half* V,
                           global const int* pageTables, int maxPages, global const int* lengths,
                           global const int* sets, global const int* setCount, int cap, int firstEntry,
                           int entries, int entriesPerSeq, int chunkTokens, int chunksPerEntry,
                           global float* pm, global float* pd, global float* po, global int* arrivals, global float* out,
                           local float* red, local float* scores, local float* probs, local int* prefix PHASE_PARAM) {
    PHASE_MARK(0);
#if DENSE
    const int gid = GROUP_ID, e = gid / chunksPerEntry, chunk = gid % chunksPerEntry;
    const int start = chunk * chunkTokens;
    const Chunk ch = chunk_at(e, chunk, start, clamp(lengths[e / entriesPerSeq] - start, 0, chunkTokens),
                              entriesPerSeq, chunksPerEntry);
    if (ch.count == 0) {
        write_empty(ch.stateBase, chunksPerEntry, pm, pd);
        return;
    }
    attend_chunk(ch, q, K, V, pageTables, maxPages, sets, cap, chunksPerEntry, pm, pd, po, red, scores, probs, -1 PHASE_ARG);
#else
    // The launch's entries are [firstEntry, firstEntry + entries) (a slice of the step's); prefix[i]:
    // chunks of the slice's entries before its i-th; chunks: all of them.
    int chunks = 0;
    for (int base = 0; base < entries; base += ATT_WG) {
        const int i = base + get_local_id(0);
        const int k = i < entries ? sparse_chunks(setCount[firstEntry + i], chunkTokens, chunksPerEntry) : 0;
        int total;
        const int before = group_scan((local int*) red, k, &total);
        if (i < entries) prefix[i] = chunks + before;
        chunks += total;
        // An empty entry has no chunk whose group would merge it: one work-item writes its zero outputs.
#if FUSED_MERGE
        if (i < entries && k == 0 && i % get_num_groups(0) == get_group_id(0)) {
            global float* o = entry_output(out, firstEntry + i, entriesPerSeq);
            for (int c = 0; c < HEADS_PER_ENTRY * HEAD_DIM; c++) o[c] = 0.0f;
        }
#endif
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    PHASE_MARK(1);
    // Workbench marks (PHASE_TIMES): after the stage, the loop and the merge of each of the first four chunks.
    int mark = 2;
    for (int item = get_group_id(0); item < chunks; item += get_num_groups(0), mark += 3) {
        // The entry of this chunk: the last i with prefix[i] <= item (entries of no chunks share their
        // successor's prefix and come before it).
        int i = 0;
        for (int hi = entries - 1; i < hi;) {
            const int mid = (i + hi + 1) / 2;
            if (prefix[mid] <= item) i = mid; else hi = mid - 1;
        }
        const int e = firstEntry + i;
        const int n = setCount[e], k = sparse_chunks(n, chunkTokens, chunksPerEntry), chunk = item - prefix[i];
        // Near-equal chunks, none empty (k <= n).
        const int start = (int) ((long) chunk * n / k), end = (int) ((long) (chunk + 1) * n / k);
        attend_chunk(chunk_at(e, chunk, start, end - start, entriesPerSeq, chunksPerEntry), q, K, V, pageTables,
                     maxPages, sets, cap, chunksPerEntry, pm, pd, po, red, scores, probs, mark < 14 ? mark : -1 PHASE_ARG);
#if FUSED_MERGE
        // The entry's last chunk to finish merges all of them (no merge launch: on the H100 each launch
        // costs ~6 us however small its work): every work-item's partial stores are made visible to the
        // device before the arrival is counted, and the last group reads them after it.
        device_fence();
        barrier(CLK_GLOBAL_MEM_FENCE);
        if (get_local_id(0) == 0) {
            ((local int*) red)[0] = atomic_inc(&arrivals[e]) == k - 1;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const bool last = ((local int*) red)[0];
        barrier(CLK_LOCAL_MEM_FENCE); // red is reused by the next chunk
        if (last) { // the same for the whole group
            device_fence();
            merge_entry(pm, pd, po, e, k, entriesPerSeq, chunksPerEntry, out, red);
            if (get_local_id(0) == 0) arrivals[e] = 0; // ready for the next step (kernel boundaries order it)
        }
#endif
    }
#endif
}

kernel void attend_merge(global const float* pm, global const float* pd, global const float* po,
                         global const int* setCount, int entriesPerSeq, int chunkTokens, int chunksPerEntry,
                         global float* out, local float* staged) {
    const int eg = GROUP_ID;
    const int e = eg / HEADS_PER_ENTRY, g = eg % HEADS_PER_ENTRY;
    global float* row = entry_output(out, e, entriesPerSeq) + g * HEAD_DIM;
    const size_t base = (size_t) eg * chunksPerEntry;
#if DENSE
    const int chunks = chunksPerEntry;
#else
    const int chunks = sparse_chunks(setCount[e], chunkTokens, chunksPerEntry);
#endif
    // The chunks' maxima and sums go to local memory first, in one parallel round of loads (read straight
    // from global memory by every channel's loops, chunk after chunk, each was a trip to L2 in turn). The
    // group is HEAD_DIM x parts work-items: work-item (c, part) sums channel c over every parts-th chunk from
    // `part`, and part 0 adds the parts' sums: with 128 chunks (dense, batch 1) a channel's loads were 128
    // trips to L2 in batches, one work-item doing them all.
    const int lid = get_local_id(0), parts = get_local_size(0) / HEAD_DIM;
    local float* sm = staged;
    local float* sd = staged + chunksPerEntry;
    local float* sums = staged + 2 * chunksPerEntry; // [part][HEAD_DIM channels' o, then d]
    for (int k = lid; k < chunks; k += get_local_size(0)) {
        sm[k] = pm[base + k];
        sd[k] = pd[base + k];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const int c = lid % HEAD_DIM, part = lid / HEAD_DIM;
    const float2 s = merge_part(sm, sd, po + base * HEAD_DIM, chunks, part, parts, max_state(sm, chunks), c);
    if (parts == 1) { // the whole group takes this branch or none
        row[c] = s.x > 0.0f ? s.y / s.x : 0.0f;
        return;
    }
    sums[part * (HEAD_DIM + 1) + c] = s.y;
    if (c == 0) sums[part * (HEAD_DIM + 1) + HEAD_DIM] = s.x;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (part == 0) {
        float d = 0.0f, o = 0.0f;
        for (int p = 0; p < parts; p++) {
            d += sums[p * (HEAD_DIM + 1) + HEAD_DIM];
            o += sums[p * (HEAD_DIM + 1) + c];
        }
        row[c] = d > 0.0f ? o / d : 0.0f;
    }
}

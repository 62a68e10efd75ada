package io.twilight4j.bench.jmh;

import io.twilight4j.attention.Workspace;
import io.twilight4j.bench.BenchConfig;
import io.twilight4j.bench.SyntheticWorkload;
import io.twilight4j.kv.HostKvCache;
import io.twilight4j.kv.Int8Query;
import io.twilight4j.policy.AttentionPolicy;
import java.util.List;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One sequence of the {@code bench attention} workload reduced to one KV head and its GQA group of
 * four query heads (d = 128), with its page table, query rows, a workspace and state buffers; the cache
 * holds the label cache of {@code ds:8192} too.
 */
@State(Scope.Thread)
public class KvHeadState {

    /** Query heads per KV head, as in the default shape (Hq 32 / Hkv 8). */
    public static final int GROUP = 4;
    /** Channels per head. */
    public static final int DIM = 128;

    /** Tokens in the sequence. */
    @Param({"32768"})
    public int ctx;

    public HostKvCache cache;
    public int[] pageTable;
    public float[] q;
    /** q as the metadata scorers read it ({@link Int8Query}). */
    public float[] queryCodes;
    public float[] queryScales;
    public Workspace ws;
    public float[] m;
    public float[] d;
    public float[] o;
    public float scale;

    @Setup(Level.Trial)
    public void setUp() {
        BenchConfig config = new BenchConfig("cpu", null, 1, 1, ctx, GROUP, 1, DIM,
                List.of(AttentionPolicy.parse("quest:8192+twilight:0.95"), AttentionPolicy.parse("ds:8192+twilight:0.95")),
                1, 1);
        SyntheticWorkload workload = new SyntheticWorkload(config);
        // With Double Sparsity's label cache (r = 64, channels calibrated as the bench does).
        cache = new HostKvCache(workload.shape(), workload.labelChannels());
        int[] seqs = workload.fill(cache, n -> { });
        pageTable = new int[cache.pager().pageCount(seqs[0])];
        cache.pager().copyPageTable(seqs[0], pageTable, 0);
        q = workload.queries(config.seed() + 1);
        ws = new Workspace(DIM, GROUP, ctx);
        m = new float[GROUP];
        d = new float[GROUP];
        o = new float[GROUP * DIM];
        scale = cache.shape().scoreScale();
        queryCodes = new float[q.length];
        queryScales = new float[GROUP];
        for (int g = 0; g < GROUP; g++) {
            queryScales[g] = Int8Query.quantize(q, g * DIM, DIM, queryCodes, g * DIM);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cache.close();
    }
}

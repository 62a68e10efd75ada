package io.twilight4j.opencl;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * A plan's per-step transfers, laid out so a step makes one upload and one download: the inputs are
 * the lengths then the queries in one device buffer, the outputs the candidate counts, the set counts
 * and then the attention output in another, each part a sub-buffer the kernels see as a buffer of its
 * own. On the H100 every transfer costs ~10-20 us of queue time however small (a 16 KiB read 20.6 us,
 * bench/results/h100-2026-11-23-session3/step-overhead.txt), and a sparse step made five.
 * Host copies live in pinned memory ({@link PinnedHost}) with the same layout.
 */
final class StepTransfers implements AutoCloseable {

    private final OpenClContext cl;
    private final ClBuffer inputs, outputs;
    private final ClBuffer lengths, queries, candidateCounts, setCounts, out;
    private final PinnedHost hostIn, hostOutputs;
    private final IntBuffer hostLengths, hostCandidateCounts, hostSetCounts;
    private final FloatBuffer hostQueries, hostOut;
    private final long queriesAt, outAt, rowBytes;

    /**
     * Room for {@code maxBatch} sequences of {@code rowFloats} query floats, {@code entriesPerSeq} candidate
     * counts and {@code setsPerSeq} set counts each (0 for plans without them).
     */
    StepTransfers(OpenClContext cl, int maxBatch, int rowFloats, int entriesPerSeq, int setsPerSeq) {
        this.cl = cl;
        long align = cl.subBufferAlignment();
        this.rowBytes = 4L * rowFloats;
        long lengthBytes = 4L * maxBatch, queryBytes = rowBytes * maxBatch;
        long candBytes = 4L * maxBatch * Math.max(1, entriesPerSeq), setBytes = 4L * maxBatch * Math.max(1, setsPerSeq);
        this.queriesAt = roundUp(lengthBytes, align);
        long setsAt = roundUp(candBytes, align);
        this.outAt = roundUp(setsAt + setBytes, align);
        try (Closer guard = new Closer()) {
            inputs = guard.add(cl.buffer("step inputs", queriesAt + queryBytes));
            outputs = guard.add(cl.buffer("step outputs", outAt + queryBytes));
            lengths = guard.add(cl.subBuffer(inputs, "lengths", 0, lengthBytes));
            queries = guard.add(cl.subBuffer(inputs, "queries", queriesAt, queryBytes));
            candidateCounts = guard.add(cl.subBuffer(outputs, "candidate counts", 0, candBytes));
            setCounts = guard.add(cl.subBuffer(outputs, "token set counts", setsAt, setBytes));
            out = guard.add(cl.subBuffer(outputs, "outputs", outAt, queryBytes));
            hostIn = guard.add(new PinnedHost(cl, "step inputs (host)", queriesAt + queryBytes));
            hostOutputs = guard.add(new PinnedHost(cl, "step outputs (host)", outAt + queryBytes));
            guard.keep();
        }
        ByteBuffer in = hostIn.bytes(), o = hostOutputs.bytes();
        this.hostLengths = in.slice(0, (int) lengthBytes).order(in.order()).asIntBuffer();
        this.hostQueries = in.slice((int) queriesAt, (int) queryBytes).order(in.order()).asFloatBuffer();
        this.hostCandidateCounts = o.slice(0, (int) candBytes).order(o.order()).asIntBuffer();
        this.hostSetCounts = o.slice((int) setsAt, (int) setBytes).order(o.order()).asIntBuffer();
        this.hostOut = o.slice((int) outAt, (int) queryBytes).order(o.order()).asFloatBuffer();
    }

    private static long roundUp(long x, long to) {
        return (x + to - 1) / to * to;
    }

    /** Device views: lengths (int per sequence) and queries (rowFloats per sequence). */
    ClBuffer lengths() {
        return lengths;
    }

    ClBuffer queries() {
        return queries;
    }

    /** Device views of the outputs: candidate counts, set counts, attention output. */
    ClBuffer candidateCounts() {
        return candidateCounts;
    }

    ClBuffer setCounts() {
        return setCounts;
    }

    ClBuffer out() {
        return out;
    }

    /**
     * Host copies: the inputs (lengths, queries) are filled before {@link #upload} and left alone until the
     * step's {@link #download}; the outputs hold the step's results after it.
     */
    IntBuffer hostLengths() {
        return hostLengths;
    }

    FloatBuffer hostQueries() {
        return hostQueries;
    }

    IntBuffer hostCandidateCounts() {
        return hostCandidateCounts;
    }

    IntBuffer hostSetCounts() {
        return hostSetCounts;
    }

    FloatBuffer hostOut() {
        return hostOut;
    }

    /**
     * Enqueues one copy of the lengths and the first {@code batch} query rows (as the host copies hold
     * them) without waiting; the host copies stay untouched until the step's {@link #download}.
     */
    void upload(int batch) {
        cl.writeAsync(inputs, 0, hostIn.bytes().slice(0, (int) (queriesAt + rowBytes * batch)));
    }

    /** Reads the first {@code batch} output rows, and the counts before them when {@code counts}; blocking. */
    void download(int batch, boolean counts) {
        long from = counts ? 0 : outAt, to = outAt + rowBytes * batch;
        cl.read(outputs, from, hostOutputs.bytes().slice((int) from, (int) (to - from)));
    }

    @Override
    public void close() {
        for (AutoCloseable c : new AutoCloseable[] {lengths, queries, candidateCounts, setCounts, out, inputs, outputs, hostIn,
                hostOutputs}) {
            Closer.closeQuietly(c);
        }
    }
}

import java.lang.foreign.*;
import java.nio.ByteOrder;
import java.util.Random;
import jdk.incubator.vector.*;
import io.twilight4j.kv.Nibbles;

public class DotBench {
    static final VectorSpecies<Byte> B128 = ByteVector.SPECIES_128;
    static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    static final int BYTES = 64, N = 8192, HEADS = 4;

    // 32-byte chunk c of a row as 16 shorts: lane L holds codes 4L..4L+3 of the chunk (nibble i = code 4L+i).
    // qs[g*128 + c*64 + i*16 + L] = q[64c + 4L + i]
    static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    static void dotsShort(MemorySegment seg, long[] rows, int n, short[] qs, int[] out) {
        for (int r = 0; r < n; r++) {
            long a = rows[r];
            ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int k = 0; k < BYTES; k += 32) {
                ShortVector wa = ShortVector.fromMemorySegment(S, seg, a + k, ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < 4; i++) {
                    ShortVector x = wa.lanewise(VectorOperators.LSHR, 4 * i).and((short) 15);
                    int c = 2 * k + i * 16;
                    a0 = a0.add(x.mul(ShortVector.fromArray(S, qs, c)));
                    a1 = a1.add(x.mul(ShortVector.fromArray(S, qs, c + 128)));
                    a2 = a2.add(x.mul(ShortVector.fromArray(S, qs, c + 256)));
                    a3 = a3.add(x.mul(ShortVector.fromArray(S, qs, c + 384)));
                }
            }
            out[r] = sum(a0); out[N + r] = sum(a1); out[2 * N + r] = sum(a2); out[3 * N + r] = sum(a3);
        }
    }
    // Superword MulAddS2I attempt: codes unpacked to shorts (in natural order) then scalar loop.
    static void dotsMadd(MemorySegment seg, long[] rows, int n, short[] qn, int[] out, short[] cs) {
        for (int r = 0; r < n; r++) {
            long a = rows[r];
            for (int k = 0; k < BYTES; k += 32) {
                ShortVector w = ShortVector.fromMemorySegment(S, seg, a + k, ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < 4; i++) w.lanewise(VectorOperators.LSHR, 4 * i).and((short) 15).intoArray(cs, 2 * k + 16 * i);
            }
            out[r] = madd(cs, qn, 0); out[N + r] = madd(cs, qn, 128); out[2 * N + r] = madd(cs, qn, 256); out[3 * N + r] = madd(cs, qn, 384);
        }
    }
    static void dotsNoSum(MemorySegment seg, long[] rows, int n, short[] qs, int[] out) {
        for (int r = 0; r < n; r++) {
            long a = rows[r];
            ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int k = 0; k < BYTES; k += 32) {
                ShortVector wa = ShortVector.fromMemorySegment(S, seg, a + k, ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < 4; i++) {
                    ShortVector x = wa.lanewise(VectorOperators.LSHR, 4 * i).and((short) 15);
                    int c = 2 * k + i * 16;
                    a0 = a0.add(x.mul(ShortVector.fromArray(S, qs, c)));
                    a1 = a1.add(x.mul(ShortVector.fromArray(S, qs, c + 128)));
                    a2 = a2.add(x.mul(ShortVector.fromArray(S, qs, c + 256)));
                    a3 = a3.add(x.mul(ShortVector.fromArray(S, qs, c + 384)));
                }
            }
            a0.add(a1).add(a2).add(a3).reinterpretAsInts().intoArray(out, (r & 1023) * 8);
        }
    }
    static void dotsScalarSum(MemorySegment seg, long[] rows, int n, short[] qs, int[] out, int[] tmp) {
        for (int r = 0; r < n; r++) {
            long a = rows[r];
            ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int k = 0; k < BYTES; k += 32) {
                ShortVector wa = ShortVector.fromMemorySegment(S, seg, a + k, ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < 4; i++) {
                    ShortVector x = wa.lanewise(VectorOperators.LSHR, 4 * i).and((short) 15);
                    int c = 2 * k + i * 16;
                    a0 = a0.add(x.mul(ShortVector.fromArray(S, qs, c)));
                    a1 = a1.add(x.mul(ShortVector.fromArray(S, qs, c + 128)));
                    a2 = a2.add(x.mul(ShortVector.fromArray(S, qs, c + 256)));
                    a3 = a3.add(x.mul(ShortVector.fromArray(S, qs, c + 384)));
                }
            }
            pairs(a0).intoArray(tmp, 0); pairs(a1).intoArray(tmp, 8); pairs(a2).intoArray(tmp, 16); pairs(a3).intoArray(tmp, 24);
            for (int g = 0; g < 4; g++) {
                int o = 8 * g;
                out[g * N + r] = (tmp[o] + tmp[o + 1]) + (tmp[o + 2] + tmp[o + 3]) + ((tmp[o + 4] + tmp[o + 5]) + (tmp[o + 6] + tmp[o + 7]));
            }
        }
    }
    static IntVector pairs(ShortVector v) {
        IntVector x = v.reinterpretAsInts();
        return x.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(x.lanewise(VectorOperators.ASHR, 16));
    }
    static final short BIAS = 16384;
    static void dotsBias(MemorySegment seg, long[] rows, int n, short[] qs, int[] out) { for (int b = 0; b < n; b += 32) dotsVar(seg, rows, b, 32, qs, out, BYTES, 128, 0); }
    static void dotsVar(MemorySegment seg, long[] rows, int r0, int n, short[] qs, int[] out, int bytes, int row, int qOff) {
        for (int r = r0; r < r0 + n; r++) {
            long a = rows[r];
            ShortVector a0 = ShortVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int k = 0; k < bytes; k += 32) {
                ShortVector wa = ShortVector.fromMemorySegment(S, seg, a + k, ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < 4; i++) {
                    ShortVector x = wa.lanewise(VectorOperators.LSHR, 4 * i).and((short) 15);
                    int c = qOff + 2 * k + i * 16;
                    a0 = a0.add(x.mul(ShortVector.fromArray(S, qs, c)));
                    a1 = a1.add(x.mul(ShortVector.fromArray(S, qs, c + row)));
                    a2 = a2.add(x.mul(ShortVector.fromArray(S, qs, c + 2 * row)));
                    a3 = a3.add(x.mul(ShortVector.fromArray(S, qs, c + 3 * row)));
                }
            }
            out[r] = bsum(a0); out[N + r] = bsum(a1); out[2 * N + r] = bsum(a2); out[3 * N + r] = bsum(a3);
        }
    }
    static int bsum(ShortVector v) {
        IntVector x = v.reinterpretAsInts();
        IntVector p = x.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(x.lanewise(VectorOperators.ASHR, 16));
        p = p.add(p.reinterpretAsLongs().lanewise(VectorOperators.LSHR, 32).reinterpretAsInts());
        return p.lane(0) + p.lane(2) + p.lane(4) + p.lane(6);
    }
    static int madd(short[] c, short[] q, int qo) {
        int acc = 0;
        for (int i = 0; i < 64; i++) {
            acc += c[2 * i] * q[qo + 2 * i] + c[2 * i + 1] * q[qo + 2 * i + 1];
        }
        return acc;
    }
    static int sum(ShortVector v) {
        IntVector x = v.reinterpretAsInts();
        return x.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(x.lanewise(VectorOperators.ASHR, 16)).reduceLanes(VectorOperators.ADD);
    }

    public static void main(String[] args) {
        Random rnd = new Random(1);
        Arena arena = Arena.ofConfined();
        int pages = N / 16 * 4;
        MemorySegment seg = arena.allocate((long) pages * 16 * BYTES, 64);
        for (long i = 0; i < seg.byteSize(); i++) seg.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt());
        long[] rows = new long[N];
        for (int r = 0; r < N; r++) rows[r] = (long) ((r / 16) * 4 + rnd.nextInt(4)) * 16 * BYTES + (r % 16) * BYTES; // page-like
        byte[] q = new byte[HEADS * 128];
        for (int i = 0; i < q.length; i++) q[i] = (byte) (rnd.nextInt(255) - 127);
        float[] qp = new float[HEADS * 128];
        float[] qf = new float[128];
        for (int g = 0; g < HEADS; g++) { for (int j = 0; j < 128; j++) qf[j] = q[g * 128 + j]; Nibbles.permute(qf, 0, qp, g * 128, BYTES); }
        short[] qs = new short[HEADS * 128];
        for (int g = 0; g < HEADS; g++) for (int c = 0; c < 2; c++) for (int i = 0; i < 4; i++) for (int L = 0; L < 16; L++)
            qs[g * 128 + c * 64 + i * 16 + L] = q[g * 128 + 64 * c + 4 * L + i];
        float[] s = new float[HEADS * N];
        float[] scratch = new float[128];
        int[] out = new int[HEADS * N]; int[] out2 = new int[HEADS * N]; short[] cs = new short[128]; int[] tmp = new int[32]; int[] out3 = new int[HEADS * N];
        for (int rep = 0; rep < 15; rep++) {
            long t0 = System.nanoTime();
            for (int it = 0; it < 20; it++) Nibbles.dots(seg, rows, 0, N, BYTES, qp, 0, HEADS, s, 0, N, scratch);
            long t1 = System.nanoTime();
            for (int it = 0; it < 20; it++) dotsShort(seg, rows, N, qs, out);
            long t2 = System.nanoTime();
            for (int it = 0; it < 20; it++) dotsScalarSum(seg, rows, N, qs, out2, tmp);
            long t3 = System.nanoTime();
            for (int it = 0; it < 20; it++) dotsBias(seg, rows, N, qs, out3);
            long t4 = System.nanoTime();
            System.out.printf("float %.1f ns/row   short %.1f ns/row  scalarsum %.1f bias %.1f%n", (t1 - t0) / 20.0 / N, (t2 - t1) / 20.0 / N, (t3 - t2) / 20.0 / N, (t4 - t3) / 20.0 / N);
        }
        // check
        for (int g = 0; g < HEADS; g++) for (int r = 0; r < N; r++) {
            long ref = 0;
            for (int j = 0; j < 128; j++) {
                int b = seg.get(ValueLayout.JAVA_BYTE, rows[r] + j / 2) & 0xff;
                int code = (j % 2 == 0) ? b & 15 : b >>> 4;
                ref += (long) code * q[g * 128 + j];
            }
            if (ref != out[g * N + r] || ref != out3[g * N + r] || ref != out2[g * N + r] || ref != (long) s[g * N + r]) { System.out.println("MISMATCH " + g + " " + r + " " + ref + " " + out[g*N+r] + " " + s[g*N+r]); return; }
        }
        System.out.println("all equal");
    }
}

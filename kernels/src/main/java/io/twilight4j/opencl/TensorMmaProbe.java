package io.twilight4j.opencl;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Whether a device runs the tensor cores' integer mma (common.cl's mma_u8s8, used by the NVIDIA estimate and
 * Quest scoring) as those kernels assume: the driver must build the inline PTX, and one warp's product of
 * seeded random matrices must come back at the positions of the fragment layout the kernels are written for.
 * A device that fails either keeps the shuffle variants, so a driver that differs costs speed, not answers.
 */
final class TensorMmaProbe {

    private static final int LANES = 32, M = 16, N = 8, K = 32;

    private TensorMmaProbe() {
    }

    /**
     * Runs the probe with {@code defines} (the plan's, which common.cl needs) on {@code cl}'s queue: null when
     * the mma works as the kernels assume, else what went wrong.
     */
    static String problem(OpenClContext cl, Map<String, Integer> defines) {
        Map<String, Integer> withMma = new LinkedHashMap<>(defines);
        withMma.put("EST_MMA", 1);
        SplittableRandom r = new SplittableRandom(0x6d6d61);
        int[][] a = new int[M][K];
        int[][] b = new int[K][N];
        for (int[] row : a) {
            for (int k = 0; k < K; k++) {
                row[k] = r.nextInt(256);
            }
        }
        for (int[] row : b) {
            for (int n = 0; n < N; n++) {
                row[n] = r.nextInt(256) - 128;
            }
        }
        IntBuffer aWords = words(LANES * 4), bWords = words(LANES * 2), out = words(LANES * 4);
        for (int lane = 0; lane < LANES; lane++) {
            int row = lane / 4, col = 4 * (lane % 4);
            aWords.put(4 * lane, pack(a[row], col)).put(4 * lane + 1, pack(a[row + 8], col))
                    .put(4 * lane + 2, pack(a[row], col + 16)).put(4 * lane + 3, pack(a[row + 8], col + 16));
            bWords.put(2 * lane, packColumn(b, col, row)).put(2 * lane + 1, packColumn(b, col + 16, row));
        }
        try (ClKernel kernel = cl.kernel("common.cl+mma_probe.cl", withMma, "mma_probe");
             ClBuffer aBuf = cl.buffer("mma probe A", 4L * aWords.capacity());
             ClBuffer bBuf = cl.buffer("mma probe B", 4L * bWords.capacity());
             ClBuffer dBuf = cl.buffer("mma probe D", 4L * out.capacity())) {
            cl.write(aBuf, 0, aWords);
            cl.write(bBuf, 0, bWords);
            kernel.arg(0, aBuf).arg(1, bBuf).arg(2, dBuf).launch(1, LANES);
            cl.read(dBuf, 0, out);
        } catch (OpenClException e) {
            return "the driver does not build it: " + e.getMessage().lines().findFirst().orElse(""); // no sm_80, an older PTX
        }
        for (int lane = 0; lane < LANES; lane++) {
            int row = lane / 4, col = 2 * (lane % 4);
            int[][] at = {{row, col}, {row, col + 1}, {row + 8, col}, {row + 8, col + 1}};
            for (int i = 0; i < 4; i++) {
                int want = dot(a, b, at[i][0], at[i][1]);
                if (out.get(4 * lane + i) != want) {
                    return "lane " + lane + " result " + i + " is " + out.get(4 * lane + i) + ", the layout the kernels assume gives " + want;
                }
            }
        }
        return null;
    }

    private static IntBuffer words(int n) {
        return ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder()).asIntBuffer();
    }

    /** Bytes row[col .. col + 4), the first in the lowest bits. */
    private static int pack(int[] row, int col) {
        return row[col] | row[col + 1] << 8 | row[col + 2] << 16 | row[col + 3] << 24;
    }

    /** Bytes b[k .. k + 4][n] as unsigned bytes, the first in the lowest bits. */
    private static int packColumn(int[][] b, int k, int n) {
        return (b[k][n] & 0xff) | (b[k + 1][n] & 0xff) << 8 | (b[k + 2][n] & 0xff) << 16 | (b[k + 3][n] & 0xff) << 24;
    }

    private static int dot(int[][] a, int[][] b, int m, int n) {
        int s = 0;
        for (int k = 0; k < K; k++) {
            s += a[m][k] * b[k][n];
        }
        return s;
    }
}

package io.twilight4j.tensor;

/**
 * Products of one input vector with several matrices (a layer's Q, K and V, or its gate and up
 * projections) run as one parallel loop: one hand-off to the pool instead of one per matrix, and
 * no idle worker at the end of a small matrix, and one quantization of the input shared by every
 * Q8_0 matrix. The chunks and the input buffers are planned once; a run allocates nothing.
 */
public final class MatvecGroup {

    private final QuantMatrix[] matrices;
    private final float[][] outputs;
    private final int cols;
    // Chunk c covers rows [chunkFrom[c], chunkTo[c]) of matrices[chunkMatrix[c]].
    private final int[] chunkMatrix;
    private final int[] chunkFrom;
    private final int[] chunkTo;
    private final RowPool.Items body = this::runChunk;
    private final MatvecInput input;

    /** Plans {@code outputs[i] = matrices[i] x} for matrices of equal row length. */
    public MatvecGroup(QuantMatrix[] matrices, float[][] outputs) {
        if (matrices.length == 0 || matrices.length != outputs.length) {
            throw new IllegalArgumentException("matvec group: " + matrices.length + " matrices and " + outputs.length + " outputs");
        }
        this.cols = matrices[0].cols();
        int chunks = 0;
        boolean int8 = false;
        for (int m = 0; m < matrices.length; m++) {
            if (matrices[m].cols() != cols) {
                throw new IllegalArgumentException("matvec group: matrix " + m + " has rows of " + matrices[m].cols()
                        + " elements, matrix 0 of " + cols);
            }
            if (outputs[m].length < matrices[m].rows()) {
                throw new IllegalArgumentException("matvec group: output " + m + " holds " + outputs[m].length
                        + " elements, matrix " + m + " has " + matrices[m].rows() + " rows");
            }
            chunks += RowPool.chunks(matrices[m].rows());
            int8 |= matrices[m].readsInt8Input();
        }
        this.input = new MatvecInput(cols, int8);
        this.matrices = matrices.clone();
        this.outputs = outputs.clone();
        chunkMatrix = new int[chunks];
        chunkFrom = new int[chunks];
        chunkTo = new int[chunks];
        int c = 0;
        for (int m = 0; m < matrices.length; m++) {
            int rows = matrices[m].rows();
            int n = RowPool.chunks(rows);
            for (int i = 0; i < n; i++, c++) {
                chunkMatrix[c] = m;
                chunkFrom[c] = (int) ((long) rows * i / n);
                chunkTo[c] = (int) ((long) rows * (i + 1) / n);
            }
        }
    }

    /** Computes every product with input {@code x}; not for concurrent use (one group per decoder). */
    public void matvec(float[] x) {
        if (x.length < cols) {
            throw new IllegalArgumentException("matvec group: x needs " + cols + " elements, got " + x.length);
        }
        input.set(x);
        RowPool.forItems(chunkMatrix.length, body);
    }

    private void runChunk(int c) {
        QuantMatrix m = matrices[chunkMatrix[c]];
        float[] y = outputs[chunkMatrix[c]];
        for (int r = chunkFrom[c], to = chunkTo[c]; r < to; r++) {
            y[r] = m.dotRow(r, input);
        }
    }
}

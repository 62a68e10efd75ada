package io.twilight4j.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.twilight4j.gguf.GgmlType;
import io.twilight4j.gguf.GgufFile;
import io.twilight4j.gguf.GgufWriter;
import io.twilight4j.tensor.BF16Matrix;
import io.twilight4j.tensor.F16Matrix;
import io.twilight4j.tensor.F32Matrix;
import io.twilight4j.tensor.IQ4Matrix;
import io.twilight4j.tensor.KQuantMatrix;
import io.twilight4j.tensor.Q2_KMatrix;
import io.twilight4j.tensor.Q3_KMatrix;
import io.twilight4j.tensor.Q4_0Matrix;
import io.twilight4j.tensor.Q6_KMatrix;
import io.twilight4j.tensor.Q8_0Matrix;
import io.twilight4j.tensor.QuantMatrix;
import io.twilight4j.tensor.SmallBlockMatrix;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The loader maps each GGUF tensor type to the matrix that decodes it: a tensor of random bytes read through
 * {@link LlamaWeights#matrix} decodes exactly as the intended class over the same bytes (QuantMatrixTest checks
 * each class against its reference decoder).
 */
class WeightTypesTest {

    private static final int ROWS = 3, COLS = 256;

    @TempDir
    Path dir;

    static Stream<Arguments> types() {
        return Stream.of(
                type(GgmlType.F32, F32Matrix::new), type(GgmlType.F16, F16Matrix::new), type(GgmlType.BF16, BF16Matrix::new),
                type(GgmlType.Q8_0, Q8_0Matrix::new), type(GgmlType.Q4_0, Q4_0Matrix::new),
                type(GgmlType.Q4_1, (d, rc) -> new SmallBlockMatrix(SmallBlockMatrix.Format.Q4_1, d, rc[0], rc[1])),
                type(GgmlType.Q5_0, (d, rc) -> new SmallBlockMatrix(SmallBlockMatrix.Format.Q5_0, d, rc[0], rc[1])),
                type(GgmlType.Q5_1, (d, rc) -> new SmallBlockMatrix(SmallBlockMatrix.Format.Q5_1, d, rc[0], rc[1])),
                type(GgmlType.Q2_K, Q2_KMatrix::new), type(GgmlType.Q3_K, Q3_KMatrix::new),
                type(GgmlType.Q4_K, (d, rc) -> new KQuantMatrix(KQuantMatrix.Format.Q4_K, d, rc[0], rc[1])),
                type(GgmlType.Q5_K, (d, rc) -> new KQuantMatrix(KQuantMatrix.Format.Q5_K, d, rc[0], rc[1])),
                type(GgmlType.Q6_K, Q6_KMatrix::new),
                type(GgmlType.IQ4_NL, (d, rc) -> new IQ4Matrix(IQ4Matrix.Format.IQ4_NL, d, rc[0], rc[1])),
                type(GgmlType.IQ4_XS, (d, rc) -> new IQ4Matrix(IQ4Matrix.Format.IQ4_XS, d, rc[0], rc[1])));
    }

    interface Make {
        QuantMatrix make(MemorySegment data, int rows, int cols);
    }

    private static Arguments type(GgmlType t, Make m) {
        return Arguments.of(t, m);
    }

    private static Arguments type(GgmlType t, BiFunction<MemorySegment, int[], QuantMatrix> m) {
        return Arguments.of(t, (Make) (d, r, c) -> m.apply(d, new int[] {r, c}));
    }

    /** Every type of MATRIX_TYPES has a decoder case above, and every other type is refused by name. */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(GgmlType.class)
    void theSupportedSetIsWhatLoads(GgmlType type) throws Exception {
        boolean listed = types().anyMatch(a -> a.get()[0] == type);
        assertEquals(listed, LlamaWeights.MATRIX_TYPES.contains(type), type + " in MATRIX_TYPES and in this test's list");
        if (listed || COLS % type.blockElements() != 0) {
            return;
        }
        Path file = dir.resolve(type + ".gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor("w", type, new long[] {COLS, ROWS}, new byte[ROWS * COLS / type.blockElements() * type.blockBytes()]).write(file);
        try (GgufFile f = GgufFile.open(file)) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(io.twilight4j.gguf.GgufFormatException.class,
                    () -> LlamaWeights.matrix(f, "w", ROWS, COLS));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("type " + type + " is not supported"), e.getMessage());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void eachTypeLoadsAsItsDecoder(GgmlType type, Make expected) throws Exception {
        byte[] bytes = new byte[ROWS * COLS / type.blockElements() * type.blockBytes()];
        new Random(type.id()).nextBytes(bytes);
        Path file = dir.resolve(type + ".gguf");
        new GgufWriter().putString("general.architecture", "llama").addTensor("w", type, new long[] {COLS, ROWS}, bytes).write(file);
        try (GgufFile f = GgufFile.open(file)) {
            QuantMatrix loaded = LlamaWeights.matrix(f, "w", ROWS, COLS);
            QuantMatrix reference = expected.make(f.data(f.tensor("w")), ROWS, COLS);
            assertEquals(reference.getClass(), loaded.getClass());
            float[] a = new float[COLS];
            float[] b = new float[COLS];
            for (int r = 0; r < ROWS; r++) {
                loaded.dequantizeRow(r, a);
                reference.dequantizeRow(r, b);
                assertArrayEquals(b, a, type + " row " + r);
            }
        }
    }
}

package io.twilight4j.gguf;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A corpus of broken files made from one small valid file: every truncation, targeted lies in each
 * header field, and random byte flips. A broken file must give a {@link GgufFormatException} naming the
 * file, never another exception or an out-of-memory error.
 */
class GgufCorruptionTest {

    // Byte layout of the small file below, from the GGUF spec: magic, version, counts, one KV, one tensor info.
    private static final int VERSION = 4;
    private static final int TENSOR_COUNT = 8;
    private static final int KV_COUNT = 16;
    private static final int KEY_LENGTH = 24;                 // "general.name": 12 bytes
    private static final int VALUE_TYPE = KEY_LENGTH + 8 + 12; // 44
    private static final int STRING_LENGTH = VALUE_TYPE + 4;   // 48, value "x"
    private static final int ARRAY_KEY_LENGTH = STRING_LENGTH + 8 + 1; // 57, "a"
    private static final int ARRAY_TYPE = ARRAY_KEY_LENGTH + 8 + 1 + 4; // 70: element type
    private static final int ARRAY_COUNT = ARRAY_TYPE + 4;     // 74, three INT32
    private static final int TENSOR_NAME_LENGTH = ARRAY_COUNT + 8 + 12; // 94, "t"
    private static final int N_DIMS = TENSOR_NAME_LENGTH + 8 + 1; // 103
    private static final int DIM0 = N_DIMS + 4;                // 107, 32
    private static final int DIM1 = DIM0 + 8;                  // 115, 2
    private static final int TENSOR_TYPE = DIM1 + 8;           // 123, F32
    private static final int TENSOR_OFFSET = TENSOR_TYPE + 4;  // 127
    private static final int DATA_START = 160;                 // 135 aligned up to 32
    private static final int DATA_END = DATA_START + 32 * 2 * 4;

    @TempDir
    Path dir;
    private byte[] valid;

    @BeforeEach
    void writeValidFile() throws Exception {
        Path p = dir.resolve("valid.gguf");
        new GgufWriter()
                .putString("general.name", "x")
                .putArray("a", new GgufArray(GgufValueType.INT32, new int[] {1, 2, 3}))
                .addTensor("t", GgmlType.F32, new long[] {32, 2}, new byte[32 * 2 * 4])
                .write(p);
        valid = Files.readAllBytes(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertTrue(f.dataOffset() == DATA_START && valid.length == DATA_END, "layout assumed by this test");
        }
    }

    @Test
    void everyTruncationBeforeTheEndOfTheDataFails() throws Exception {
        for (int length = 0; length < DATA_END; length++) {
            expectFormatError(Arrays.copyOf(valid, length), "truncated to " + length);
        }
    }

    @Test
    void lyingHeaderFieldsFailWithTheFieldNamed() throws Exception {
        expectMessage(patch32(0, 0x46554746), "magic");
        expectMessage(patch32(VERSION, 1), "v1 is unsupported");
        expectMessage(patch32(VERSION, 4), "version");
        expectMessage(patch64(TENSOR_COUNT, Long.MAX_VALUE), "tensor count");
        expectMessage(patch64(TENSOR_COUNT, 1_000_000), "tensor count");
        expectMessage(patch64(KV_COUNT, -1), "metadata kv count");
        expectMessage(patch64(KEY_LENGTH, 1L << 40), "metadata key #0");
        expectMessage(patch32(VALUE_TYPE, 99), "unknown value type id 99");
        expectMessage(patch64(STRING_LENGTH, 1_000_000_000), "metadata 'general.name'");
        expectMessage(patch64(ARRAY_COUNT, 1L << 61), "metadata 'a' length");
        expectMessage(patch64(ARRAY_COUNT, 100_000_000), "metadata 'a' length");
        expectMessage(patch32(ARRAY_TYPE, 9), "metadata 'a'"); // array of arrays: 1,2,3 are not array headers
        expectMessage(patch64(TENSOR_NAME_LENGTH, Long.MIN_VALUE), "tensor #0 name");
        expectMessage(patch32(N_DIMS, 5), "n_dims 5");
        expectMessage(patch64(DIM0, -32), "dims[0]");
        expectMessage(patch64(DIM1, Long.MAX_VALUE / 2), "tensor 't'");
        expectMessage(patch64(DIM1, 3), "past the end of the file");
        expectMessage(patch32(TENSOR_TYPE, GgmlType.Q4_K.id()), "not a multiple"); // 32 values, block 256
        expectMessage(patch32(TENSOR_TYPE, 4), "unknown ggml tensor type id 4");
        expectMessage(patch64(TENSOR_OFFSET, 32), "past the end of the file");
        expectMessage(patch64(TENSOR_OFFSET, 7), "alignment");
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {11, 12, 13})
    void randomByteFlipsInTheHeaderNeverThrowAnythingElse(long seed) throws Exception {
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int trial = 0; trial < 400; trial++) {
            byte[] b = valid.clone();
            int flips = 1 + rnd.nextInt(3);
            for (int i = 0; i < flips; i++) {
                b[rnd.nextInt(DATA_START)] ^= (byte) (1 + rnd.nextInt(255));
            }
            Path p = dir.resolve("flip.gguf");
            Files.write(p, b);
            try (GgufFile f = GgufFile.open(p)) {
                f.tensors().forEach(f::data); // a file that opens must have every tensor readable
            } catch (GgufFormatException expected) {
                assertTrue(expected.getMessage().startsWith(p.toString()), expected.getMessage());
            } catch (Throwable other) {
                fail("seed " + seed + " trial " + trial + ": " + other, other);
            }
        }
    }

    @Test
    void aMissingFileIsAFormatExceptionNamingIt() {
        Path p = dir.resolve("absent.gguf");
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p));
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
    }

    @Test
    void theUnpatchedFileOpens() {
        assertDoesNotThrow(() -> open(valid).close());
    }

    private byte[] patch32(int at, int value) {
        byte[] b = valid.clone();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, value);
        return b;
    }

    private byte[] patch64(int at, long value) {
        byte[] b = valid.clone();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, value);
        return b;
    }

    private GgufFile open(byte[] bytes) throws Exception {
        Path p = dir.resolve("case.gguf");
        Files.write(p, bytes);
        return GgufFile.open(p);
    }

    private void expectMessage(byte[] bytes, String fragment) {
        GgufFormatException e = expectFormatError(bytes, fragment);
        assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }

    private GgufFormatException expectFormatError(byte[] bytes, String what) {
        try (GgufFile f = open(bytes)) {
            fail(what + ": opened without error, tensors " + f.tensors());
            return null;
        } catch (GgufFormatException e) {
            assertTrue(e.getMessage().contains("case.gguf"), e.getMessage());
            return e;
        } catch (Throwable other) {
            fail(what + ": expected GgufFormatException, got " + other, other);
            return null;
        }
    }
}

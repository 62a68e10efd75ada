package io.twilight4j.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.ValueLayout;
import java.lang.reflect.Array;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Writer then reader with seeded random metadata of every type and tensors of several types. */
class GgufRoundTripTest {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 42, 2026})
    void everyValueTypeAndTensorSurvivesARoundTrip(long seed) throws Exception {
        SplittableRandom rnd = new SplittableRandom(seed);
        GgufWriter w = new GgufWriter();
        int alignment = rnd.nextBoolean() ? 32 : 64;
        w.alignment(alignment);
        Map<String, Object> expected = new LinkedHashMap<>();
        if (alignment != 32) {
            expected.put("general.alignment", (long) alignment);
        }
        for (GgufValueType type : GgufValueType.values()) {
            String key = "test." + type.name().toLowerCase() + "." + rnd.nextInt(1000);
            if (type == GgufValueType.ARRAY) {
                for (GgufValueType element : GgufValueType.values()) {
                    GgufArray a = randomArray(rnd, element, 0);
                    w.put(key + "." + element, type, a);
                    expected.put(key + "." + element, a);
                }
            } else {
                Object[] writtenAndRead = randomScalar(rnd, type);
                w.put(key, type, writtenAndRead[0]);
                expected.put(key, writtenAndRead[1]);
            }
        }
        GgmlType[] types = {GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.BF16, GgmlType.Q6_K};
        List<byte[]> contents = new ArrayList<>();
        List<long[]> shapes = new ArrayList<>();
        for (int i = 0; i < types.length; i++) {
            GgmlType t = types[i];
            long[] dims = rnd.nextBoolean()
                    ? new long[] {t.blockElements() * (1 + rnd.nextInt(3)), 1 + rnd.nextInt(5)}
                    : new long[] {t.blockElements() * (1 + rnd.nextInt(2)), 1 + rnd.nextInt(3), 1 + rnd.nextInt(3)};
            byte[] data = new byte[(int) (dims[0] / t.blockElements() * t.blockBytes() * (dims.length == 2 ? dims[1] : dims[1] * dims[2]))];
            rnd.nextBytes(data);
            w.addTensor("tensor." + i, t, dims, data);
            contents.add(data);
            shapes.add(dims);
        }
        Path p = dir.resolve("round.gguf");
        w.write(p);

        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(3, f.version());
            assertEquals(alignment, f.alignment());
            assertEquals(0, f.dataOffset() % alignment);
            assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(f.metadata().keySet()), "keys in order");
            for (Map.Entry<String, Object> e : expected.entrySet()) {
                assertValueEquals(e.getValue(), f.metadata().get(e.getKey()), e.getKey());
            }
            assertEquals(types.length, f.tensors().size());
            for (int i = 0; i < types.length; i++) {
                GgufTensor t = f.tensor("tensor." + i);
                assertEquals(types[i], t.type());
                assertArrayEquals(shapes.get(i), t.dims());
                assertEquals(0, t.offset() % alignment);
                assertArrayEquals(contents.get(i), f.data(t).toArray(ValueLayout.JAVA_BYTE), t.name());
            }
        }
        try (var files = Files.list(dir)) {
            assertEquals(List.of(p), files.toList(), "no temporary file left behind");
        }
    }

    private static void assertValueEquals(Object expected, Object actual, String key) {
        if (expected instanceof GgufArray a) {
            GgufArray b = (GgufArray) actual;
            assertEquals(a.elementType(), b.elementType(), key);
            assertEquals(a.length(), b.length(), key);
            for (int i = 0; i < a.length(); i++) {
                assertValueEquals(a.get(i), b.get(i), key + "[" + i + "]");
            }
        } else {
            assertEquals(expected, actual, key);
            assertEquals(expected.getClass(), actual.getClass(), key);
        }
    }

    private static GgufValueType randomElementType(SplittableRandom rnd) {
        GgufValueType[] all = GgufValueType.values();
        return all[rnd.nextInt(all.length)];
    }

    /** {value to write, value the documented widening rule says the reader returns}. */
    private static Object[] randomScalar(SplittableRandom rnd, GgufValueType type) {
        return switch (type) {
            case UINT8 -> {
                int v = rnd.nextBoolean() ? 255 : rnd.nextInt(256);
                yield new Object[] {v, (short) v};
            }
            case INT8 -> {
                byte v = (byte) rnd.nextInt();
                yield new Object[] {v, v};
            }
            case UINT16 -> {
                int v = rnd.nextInt(65536);
                yield new Object[] {v, v};
            }
            case INT16 -> {
                short v = (short) rnd.nextInt();
                yield new Object[] {v, v};
            }
            case UINT32 -> {
                long v = rnd.nextLong(1L << 32);
                yield new Object[] {v, v};
            }
            case INT32 -> {
                int v = rnd.nextInt();
                yield new Object[] {v, v};
            }
            case UINT64, INT64 -> {
                long v = rnd.nextLong();
                yield new Object[] {v, v};
            }
            case FLOAT32 -> {
                float v = (float) rnd.nextGaussian();
                yield new Object[] {v, v};
            }
            case FLOAT64 -> {
                double v = rnd.nextGaussian();
                yield new Object[] {v, v};
            }
            case BOOL -> {
                boolean v = rnd.nextBoolean();
                yield new Object[] {v, v};
            }
            case STRING -> {
                String v = randomString(rnd);
                yield new Object[] {v, v};
            }
            case ARRAY -> throw new AssertionError();
        };
    }

    private static String randomString(SplittableRandom rnd) {
        int[] pool = {'a', 'Z', ' ', '\n', 0xE9, 0x2581, 0x4E2D, 0x1F600, '0'};
        StringBuilder sb = new StringBuilder();
        int n = rnd.nextInt(12);
        for (int i = 0; i < n; i++) {
            sb.appendCodePoint(pool[rnd.nextInt(pool.length)]);
        }
        return sb.toString();
    }

    private static GgufArray randomArray(SplittableRandom rnd, GgufValueType element, int depth) {
        if (element == GgufValueType.ARRAY && depth >= 2) {
            element = GgufValueType.INT32;
        }
        int n = rnd.nextInt(7);
        Object values = Array.newInstance(GgufArray.storageClass(element).getComponentType(), n);
        for (int i = 0; i < n; i++) {
            Object v = element == GgufValueType.ARRAY
                    ? randomArray(rnd, randomElementType(rnd), depth + 1)
                    : randomScalar(rnd, element)[0];
            Array.set(values, i, rawElement(element, v));
        }
        return new GgufArray(element, values);
    }

    /** Unsigned elements are stored as their raw bits in the narrow Java type. */
    private static Object rawElement(GgufValueType type, Object v) {
        return switch (type) {
            case UINT8, INT8 -> ((Number) v).byteValue();
            case UINT16, INT16 -> ((Number) v).shortValue();
            case UINT32, INT32 -> ((Number) v).intValue();
            case UINT64, INT64 -> ((Number) v).longValue();
            default -> v;
        };
    }
}

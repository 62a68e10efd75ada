package io.twilight4j.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Opens the real shared GGUF files and checks them against the facts documented in shared/models/README.md. */
class GgufFileTest {

    @Test
    void stories260KHeaderMetadataAndTensorTableMatchTheReadme() throws Exception {
        Path p = SharedModels.require("stories260K.gguf");
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(3, f.version());
            assertEquals(19, f.metadata().size());
            assertEquals(48, f.tensors().size());
            assertEquals(32, f.alignment());
            assertEquals(14_176, f.dataOffset());
            assertEquals("llama", f.getString("general.architecture"));
            assertEquals(2048, f.getInt("llama.context_length"));
            assertEquals(64, f.getInt("llama.embedding_length"));
            assertEquals(172, f.getInt("llama.feed_forward_length"));
            assertEquals(8, f.getInt("llama.attention.head_count"));
            assertEquals(4, f.getInt("llama.attention.head_count_kv"));
            assertEquals(5, f.getInt("llama.block_count"));
            assertEquals(1e-5f, f.getFloat("llama.attention.layer_norm_rms_epsilon", 0f));
            assertEquals(10000f, f.getFloat("llama.rope.freq_base", 10000f));
            assertFalse(f.has("general.alignment"));
            assertEquals(1, f.getInt("tokenizer.ggml.bos_token_id"));
            assertEquals(2, f.getInt("tokenizer.ggml.eos_token_id"));
            assertEquals(0xFFFF_FFFFL, f.getLong("tokenizer.ggml.padding_token_id", 0));

            String[] tokens = f.getStringArray("tokenizer.ggml.tokens");
            assertEquals(512, tokens.length);
            assertEquals("<unk>", tokens[0]);
            assertEquals("<s>", tokens[1]);
            assertEquals("</s>", tokens[2]);
            assertEquals("<0x00>", tokens[3]);
            assertEquals("<0xFF>", tokens[258]);
            assertEquals("\u2581t", tokens[259]);
            assertEquals("\u200A", tokens[511]);
            assertEquals(512, f.getFloatArray("tokenizer.ggml.scores").length);
            Map<Integer, Integer> typeCounts = new HashMap<>();
            for (int t : f.getIntArray("tokenizer.ggml.token_type")) {
                typeCounts.merge(t, 1, Integer::sum);
            }
            assertEquals(Map.of(1, 253, 2, 1, 3, 2, 6, 256), typeCounts);

            long lastEnd = 0;
            for (GgufTensor t : f.tensors()) {
                assertEquals(GgmlType.F32, t.type(), t.name());
                lastEnd = Math.max(lastEnd, f.dataOffset() + t.offset() + t.byteSize());
            }
            assertEquals(Files.size(p), lastEnd, "tensor data ends exactly at EOF");
            assertArrayEquals(new long[] {64, 512}, f.tensor("token_embd.weight").dims());
            assertArrayEquals(new long[] {64}, f.tensor("output_norm.weight").dims());
            for (int layer = 0; layer < 5; layer++) {
                String b = "blk." + layer + ".";
                assertArrayEquals(new long[] {64, 64}, f.tensor(b + "attn_q.weight").dims());
                assertArrayEquals(new long[] {64, 32}, f.tensor(b + "attn_k.weight").dims());
                assertArrayEquals(new long[] {64, 32}, f.tensor(b + "attn_v.weight").dims());
                assertArrayEquals(new long[] {64, 64}, f.tensor(b + "attn_output.weight").dims());
                assertArrayEquals(new long[] {64, 172}, f.tensor(b + "ffn_gate.weight").dims());
                assertArrayEquals(new long[] {172, 64}, f.tensor(b + "ffn_down.weight").dims());
                assertArrayEquals(new long[] {64, 172}, f.tensor(b + "ffn_up.weight").dims());
                assertEquals(64, f.tensor(b + "ffn_norm.weight").elements());
            }
            GgufTensor q = f.tensor("blk.0.attn_k.weight");
            assertEquals(32, q.rows());
            assertEquals(64, q.rowLength());
            assertEquals(64 * 32 * 4, f.data(q).byteSize());
            assertTrue(f.data(q).isReadOnly());
        }
    }

    @Test
    void outputWeightIsACopyOfTheTokenEmbeddingAsTheReadmeSays() throws Exception {
        try (GgufFile f = GgufFile.open(SharedModels.require("stories260K.gguf"))) {
            byte[] emb = f.data(f.tensor("token_embd.weight")).toArray(ValueLayout.JAVA_BYTE);
            byte[] out = f.data(f.tensor("output.weight")).toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(emb, out);
        }
    }

    @Test
    void tensorDataMatchesTheLlama2cCheckpointBytes() throws Exception {
        // An independent source: the .bin stores token_embedding first, right after a 28-byte header.
        Path bin = SharedModels.require("stories260K.bin");
        try (GgufFile f = GgufFile.open(SharedModels.require("stories260K.gguf"))) {
            byte[] fromBin = new byte[512 * 64 * 4];
            ByteBuffer.wrap(Files.readAllBytes(bin), 28, fromBin.length).order(ByteOrder.LITTLE_ENDIAN).get(fromBin);
            assertArrayEquals(fromBin, f.data(f.tensor("token_embd.weight")).toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void vocabOnlyFileWithDataOffsetPastEofOpens() throws Exception {
        Path p = SharedModels.require("tokenizer/ggml-vocab-llama-spm.gguf");
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(List.of(), f.tensors());
            assertEquals(723_872, f.dataOffset());
            assertEquals(32_000, f.getStringArray("tokenizer.ggml.tokens").length);
            assertEquals("llama", f.getString("tokenizer.ggml.model"));
            assertTrue(f.getBoolean("tokenizer.ggml.add_bos_token", false));
        }
    }

    @Test
    void missingTensorAndWrongTypeNameKeyAndFile() throws Exception {
        Path p = SharedModels.require("stories260K.gguf");
        try (GgufFile f = GgufFile.open(p)) {
            GgufFormatException e = assertThrows(GgufFormatException.class, () -> f.tensor("nope.weight"));
            assertTrue(e.getMessage().contains("nope.weight") && e.getMessage().contains(p.toString()), e.getMessage());
            e = assertThrows(GgufFormatException.class, () -> f.getInt("general.architecture"));
            assertTrue(e.getMessage().contains("general.architecture") && e.getMessage().contains("STRING"), e.getMessage());
            e = assertThrows(GgufFormatException.class, () -> f.getInt("tokenizer.ggml.padding_token_id"));
            assertTrue(e.getMessage().contains("4294967295"), e.getMessage());
            assertTrue(f.findTensor("nope").isEmpty());
        }
    }
}

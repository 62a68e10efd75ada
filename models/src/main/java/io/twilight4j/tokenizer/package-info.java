/**
 * Text to token ids and back, from a GGUF file's vocabulary: SentencePiece BPE (llama) and GPT-2
 * byte-level BPE (Llama 3), with special tokens parsed from text on request.
 */
package io.twilight4j.tokenizer;

/**
 * The Llama model family on the Twilight engine: configuration and weights from GGUF, the forward
 * pass (KV cache and attention through the engine's backend), and seeded synthetic models.
 */
package io.twilight4j.llama;

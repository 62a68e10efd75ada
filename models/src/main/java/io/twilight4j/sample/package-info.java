/** Picking the next token from logits (greedy, temperature, top-k, top-p) and streaming its bytes as whole UTF-8 characters. */
package io.twilight4j.sample;

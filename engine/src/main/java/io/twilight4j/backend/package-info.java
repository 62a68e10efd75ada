/** The backend SPI (KV cache storage and planned decode attention) and backend discovery. */
package io.twilight4j.backend;

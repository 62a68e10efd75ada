/** The backend SPI (KV cache storage and planned decode attention), backend discovery, and the output error measure. */
package io.twilight4j.backend;

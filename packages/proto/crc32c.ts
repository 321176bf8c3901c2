/**
 * CRC32C (Castagnoli), the header and data digest of NVMe/TCP (TCP 3.6.4, the iSCSI CRC of
 * RFC 3720 B.4): reflected, initial value all ones, final XOR all ones. The value returned is
 * the digest as a number; NVMe/TCP stores it little endian after the covered bytes.
 *
 * Pure TypeScript, slicing-by-16 over tables built once on first use: no WebAssembly, no native
 * addon, so it needs no permission on Deno or Bun (see the package README for the benchmark
 * behind that choice). A program that may load native code (the target daemon and the `nvmf`
 * tool do) can put a faster implementation behind both functions with
 * {@linkcode setCrc32cImplementation}; every caller, the NVMe/TCP digests included, then uses it.
 *
 * @example Usage
 * ```ts
 * import { crc32c } from "@nvmf/proto/crc32c";
 * import assert from "node:assert/strict";
 * const bytes = new TextEncoder().encode("123456789");
 * assert.equal(crc32c(bytes), 0xe3069283);
 * assert.equal(crc32c(bytes.subarray(4), crc32c(bytes.subarray(0, 4))), 0xe3069283);
 * ```
 *
 * @module
 */

/** The Castagnoli polynomial 0x1EDC6F41, bit-reversed (RFC 3720 B.4). */
const POLY_REFLECTED = 0x82f63b78;

/** Sixteen 256-entry tables, table k at `k * 256`; built by {@linkcode tables} on first use. */
let table: Int32Array | undefined;
/** True when the platform is little endian, so that aligned words can be read whole. */
let littleEndian = false;
/** Word view of the last buffer digested, reused while callers keep passing the same buffer. */
let wordsBuffer: ArrayBufferLike | undefined;
let words: Int32Array = new Int32Array(0);

/** A CRC32C of whole buffers: `(data, crc)` continues `crc` as {@linkcode crc32c} does. */
export type Crc32cImplementation = (data: Uint8Array, crc: number) => number;

/** The implementation set by {@linkcode setCrc32cImplementation}, if any. */
let external: Crc32cImplementation | undefined;
/** Inputs shorter than this stay in TypeScript: a native call costs more than a header's CRC. */
let externalMin = 0;

/**
 * Puts another CRC32C implementation (e.g. a native one using the CPU's CRC32 instruction)
 * behind {@linkcode crc32c} and {@linkcode crc32cRange} for inputs of at least `minBytes`;
 * `undefined` restores the TypeScript one. It is checked against known digests first and
 * refused (returning false, nothing changed) when it gives a wrong one.
 *
 * @param impl The implementation, or `undefined` for the built-in one.
 * @param minBytes Shorter inputs stay with the built-in one (default 512).
 * @returns Whether `impl` is now in use (true for `undefined`).
 * @example Usage
 * ```ts
 * import { crc32c, setCrc32cImplementation } from "@nvmf/proto/crc32c";
 * import assert from "node:assert/strict";
 * // One that gets the known digests wrong is refused; the built-in one stays.
 * assert.equal(setCrc32cImplementation(() => 0), false);
 * assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
 * assert.equal(setCrc32cImplementation(undefined), true);
 * ```
 */
export function setCrc32cImplementation(
  impl: Crc32cImplementation | undefined,
  minBytes = 512,
): boolean {
  if (impl === undefined) {
    external = undefined;
    return true;
  }
  // Check it: the RFC 3720 B.4 vector, a continuation, and a long unaligned run.
  external = undefined;
  const check = new TextEncoder().encode("123456789");
  const long = new Uint8Array(4099);
  for (let i = 0; i < long.length; i++) long[i] = (i * 131 + 7) & 0xff;
  let ok: boolean;
  try {
    ok = impl(check, 0) >>> 0 === 0xe3069283 &&
      impl(check.subarray(4), impl(check.subarray(0, 4), 0)) >>> 0 === 0xe3069283 &&
      impl(long.subarray(3), 0) >>> 0 === crc32c(long.subarray(3));
  } catch {
    ok = false;
  }
  if (!ok) return false;
  external = impl;
  externalMin = minBytes;
  return true;
}

/** Inputs shorter than this go byte by byte: a word view is not worth creating for them. */
const WORD_PATH_MIN = 64;

function tables(): Int32Array {
  if (table !== undefined) return table;
  const t = new Int32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 16; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  littleEndian = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
  table = t;
  return t;
}

function wordsOf(buffer: ArrayBufferLike, byteEnd: number): Int32Array {
  // A resizable buffer may have grown or shrunk since the view was made.
  if (buffer !== wordsBuffer || words.length * 4 < byteEnd) {
    words = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
    wordsBuffer = buffer;
  }
  return words;
}

/**
 * Computes the CRC32C of `data`, or continues one: pass the value returned for the bytes before
 * `data` as `crc` and the result is the CRC32C of the concatenation.
 *
 * @param data Bytes to digest.
 * @param crc CRC32C of the preceding bytes; 0 (the default) starts a new digest.
 * @returns The CRC32C as an unsigned 32-bit number, the NVMe/TCP digest value.
 * @example Usage
 * ```ts
 * import { crc32c } from "@nvmf/proto/crc32c";
 * import assert from "node:assert/strict";
 * assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
 * const a = Uint8Array.of(1, 2, 3), b = Uint8Array.of(4, 5);
 * assert.equal(crc32c(b, crc32c(a)), crc32c(Uint8Array.of(1, 2, 3, 4, 5)));
 * ```
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  return crc32cRange(data, 0, data.length, crc);
}

/**
 * Computes the CRC32C of `data[start..end)` without creating a subarray, for per-PDU code that
 * digests part of a reused buffer.
 *
 * @param data Buffer holding the bytes to digest.
 * @param start Offset of the first byte.
 * @param end Offset just past the last byte.
 * @param crc CRC32C of the preceding bytes; 0 (the default) starts a new digest.
 * @returns The CRC32C as an unsigned 32-bit number.
 * @example Usage
 * ```ts
 * import { crc32c, crc32cRange } from "@nvmf/proto/crc32c";
 * import assert from "node:assert/strict";
 * const bytes = new TextEncoder().encode("xx123456789yy");
 * assert.equal(crc32cRange(bytes, 2, 11), crc32c(bytes.subarray(2, 11)));
 * ```
 */
export function crc32cRange(data: Uint8Array, start: number, end: number, crc = 0): number {
  if (start < 0 || end > data.length || start > end) {
    throw new RangeError(
      `Cannot compute CRC32C over [${start}, ${end}): outside the ${data.length}-byte buffer`,
    );
  }
  if (external !== undefined && end - start >= externalMin) {
    return external(data.subarray(start, end), crc) >>> 0;
  }
  const t = tables();
  let c = ~crc;
  let i = start;
  if (littleEndian && end - start >= WORD_PATH_MIN) {
    // Slicing-by-16 over aligned 32-bit words of the underlying buffer.
    const base = data.byteOffset;
    while (((base + i) & 3) !== 0) c = t[(c ^ data[i++]) & 0xff] ^ (c >>> 8);
    const w = wordsOf(data.buffer, base + end);
    let j = (base + i) >>> 2;
    const blocks = (end - i) >>> 4;
    const jEnd = j + blocks * 4;
    while (j < jEnd) {
      const a = c ^ w[j];
      const b = w[j + 1];
      const d = w[j + 2];
      const e = w[j + 3];
      c = t[3840 + (a & 0xff)] ^ t[3584 + ((a >>> 8) & 0xff)] ^
        t[3328 + ((a >>> 16) & 0xff)] ^ t[3072 + (a >>> 24)] ^
        t[2816 + (b & 0xff)] ^ t[2560 + ((b >>> 8) & 0xff)] ^
        t[2304 + ((b >>> 16) & 0xff)] ^ t[2048 + (b >>> 24)] ^
        t[1792 + (d & 0xff)] ^ t[1536 + ((d >>> 8) & 0xff)] ^
        t[1280 + ((d >>> 16) & 0xff)] ^ t[1024 + (d >>> 24)] ^
        t[768 + (e & 0xff)] ^ t[512 + ((e >>> 8) & 0xff)] ^
        t[256 + ((e >>> 16) & 0xff)] ^ t[e >>> 24];
      j += 4;
    }
    i += blocks * 16;
  }
  while (i < end) c = t[(c ^ data[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

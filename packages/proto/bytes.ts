/**
 * Byte helpers every nvmf package shares: NVMe's little-endian loads and stores on plain byte
 * arrays (SQE and CQE dwords, log page fields), and hex for messages, JSON and configuration
 * values. One copy here, so host, controller, handoff and the tools do not each carry their own.
 *
 * @example Usage
 * ```ts
 * import { bytesToHex, hex, hexToBytes, readU32, writeU32 } from "@nvmf/proto/bytes";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(4);
 * writeU32(b, 0, 0xdeadbeef);
 * assert.equal(readU32(b, 0), 0xdeadbeef);
 * assert.equal(bytesToHex(b), "efbeadde");
 * assert.deepEqual(hexToBytes("efbeadde"), b);
 * assert.equal(hex(0x82), "0x82");
 * ```
 *
 * @module
 */

/**
 * Formats a number as `0x` and at least `digits` lowercase hex digits, for messages.
 *
 * @param n The value, a non-negative integer.
 * @param digits The fewest digits, zero-padded; 2 (a byte) by default.
 * @returns E.g. `0x7f`, or `0x0000abcd` with 8 digits.
 * @example Usage
 * ```ts
 * import { hex } from "@nvmf/proto/bytes";
 * import assert from "node:assert/strict";
 * assert.equal(hex(0xabcd, 8), "0x0000abcd");
 * ```
 */
export function hex(n: number, digits = 2): string {
  return "0x" + n.toString(16).padStart(digits, "0");
}

/**
 * Formats bytes as lowercase hex, two digits a byte, no separators.
 *
 * @param bytes The bytes.
 * @returns E.g. `"0300"`; `""` for no bytes.
 * @example Usage
 * ```ts
 * import { bytesToHex } from "@nvmf/proto/bytes";
 * import assert from "node:assert/strict";
 * assert.equal(bytesToHex(Uint8Array.of(3, 0, 0xff)), "0300ff");
 * ```
 */
export function bytesToHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX_PAIRS[bytes[i]];
  return s;
}

const HEX_PAIRS: readonly string[] = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

/** A string of whole hex byte pairs, either case, possibly empty. */
export const HEX_BYTES: RegExp = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * Parses hex byte pairs (either case, no separators) into bytes.
 *
 * @param text The hex digits, an even number of them.
 * @returns The bytes.
 * @throws {SyntaxError} When `text` is not whole hex byte pairs.
 * @example Usage
 * ```ts
 * import { hexToBytes } from "@nvmf/proto/bytes";
 * import assert from "node:assert/strict";
 * assert.deepEqual(hexToBytes("0aFF"), Uint8Array.of(10, 255));
 * assert.throws(() => hexToBytes("abc"), SyntaxError);
 * ```
 */
export function hexToBytes(text: string): Uint8Array {
  if (!HEX_BYTES.test(text)) {
    throw new SyntaxError(
      `Cannot parse hex "${text.length > 40 ? text.slice(0, 40) + "..." : text}": ` +
        "expected whole byte pairs of 0-9 and a-f",
    );
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Reads a little-endian u16.
 *
 * @param b The bytes.
 * @param at The offset.
 * @returns The value.
 * @example Usage
 * ```ts
 * import { readU16 } from "@nvmf/proto/bytes";
 * import assert from "node:assert/strict";
 * assert.equal(readU16(Uint8Array.of(0x34, 0x12), 0), 0x1234);
 * ```
 */
export function readU16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}

/**
 * Writes a little-endian u16; bits above 15 are dropped.
 *
 * @param b The bytes.
 * @param at The offset.
 * @param v The value.
 * @example Usage
 * ```ts
 * import { writeU16 } from "@nvmf/proto/bytes";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(2);
 * writeU16(b, 0, 0x1234);
 * assert.deepEqual(b, Uint8Array.of(0x34, 0x12));
 * ```
 */
export function writeU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
}

/**
 * Reads a little-endian u32.
 *
 * @param b The bytes.
 * @param at The offset.
 * @returns The value, unsigned.
 * @example Usage
 * ```ts
 * import { readU32 } from "@nvmf/proto/bytes";
 * import assert from "node:assert/strict";
 * assert.equal(readU32(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0), 0xffffffff);
 * ```
 */
export function readU32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/**
 * Writes a little-endian u32; bits above 31 are dropped.
 *
 * @param b The bytes.
 * @param at The offset.
 * @param v The value.
 * @example Usage
 * ```ts
 * import { writeU32 } from "@nvmf/proto/bytes";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(4);
 * writeU32(b, 0, 1);
 * assert.deepEqual(b, Uint8Array.of(1, 0, 0, 0));
 * ```
 */
export function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

/**
 * Reads a little-endian u64 exactly, as a bigint.
 *
 * @param b The bytes.
 * @param at The offset.
 * @returns The value.
 * @example Usage
 * ```ts
 * import { readU64 } from "@nvmf/proto/bytes";
 * import assert from "node:assert/strict";
 * assert.equal(readU64(new Uint8Array(8).fill(0xff), 0), 2n ** 64n - 1n);
 * ```
 */
export function readU64(b: Uint8Array, at: number): bigint {
  return BigInt(readU32(b, at)) | (BigInt(readU32(b, at + 4)) << 32n);
}

/**
 * Reads a little-endian u64 as a number, for the hot path (no bigint): exact up to 2^53, and
 * above that a value still larger than any limit a caller compares it with (an LBA against
 * NSZE, an offset against a size).
 *
 * @param b The bytes.
 * @param at The offset.
 * @returns The value, rounded above 2^53.
 * @example Usage
 * ```ts
 * import { readU64Number } from "@nvmf/proto/bytes";
 * import assert from "node:assert/strict";
 * assert.equal(readU64Number(Uint8Array.of(0, 0, 0, 0, 1, 0, 0, 0), 0), 2 ** 32);
 * ```
 */
export function readU64Number(b: Uint8Array, at: number): number {
  return readU32(b, at + 4) * 0x100000000 + readU32(b, at);
}

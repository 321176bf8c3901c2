/**
 * Private byte helpers shared by the proto codecs: DataViews, argument checks with the
 * package's error messages, the output buffer of an encoder, and UTF-8 coding, plus the public
 * little-endian loads and stores of `bytes.ts` under the short names the codecs use. Not
 * exported from `mod.ts` or `deno.json`.
 *
 * @module
 */

export {
  hex,
  readU16 as u16,
  readU32 as u32,
  readU64 as u64,
  writeU16 as putU16,
  writeU32 as putU32,
} from "./bytes.ts";

/** ASCII space, the pad byte of space-padded ASCII string fields. */
export const SPACE = 0x20;

/** Shared UTF-8 encoder (stateless). */
export const utf8Encoder: TextEncoder = new TextEncoder();

/** Shared strict UTF-8 decoder: throws a TypeError on malformed input (`fatal: true`). */
export const utf8Decoder: TextDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * A DataView over exactly the bytes of `b`, right for subarrays.
 *
 * @param b The bytes.
 * @returns A view from `b.byteOffset`, `b.byteLength` long.
 */
export function dataView(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Checks that a number argument is an integer from 0 to `max`.
 *
 * @param what The field name used in the message.
 * @param value The value.
 * @param max The largest value allowed.
 * @throws {RangeError} When it is not.
 */
export function checkUint(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`Cannot encode ${what} as it must be 0 to ${max}: received ${value}`);
  }
}

/**
 * Reads a little-endian u128 through a DataView.
 *
 * @param v The view.
 * @param at The offset in `v`.
 * @returns The value.
 */
export function u128(v: DataView, at: number): bigint {
  return (v.getBigUint64(at + 8, true) << 64n) | v.getBigUint64(at, true);
}

/**
 * Writes a little-endian u128 through a DataView; bits above 127 are dropped.
 *
 * @param v The view.
 * @param at The offset in `v`.
 * @param value The value, 0 or more.
 */
export function putU128(v: DataView, at: number, value: bigint): void {
  v.setBigUint64(at, BigInt.asUintN(64, value), true);
  v.setBigUint64(at + 8, BigInt.asUintN(64, value >> 64n), true);
}

/**
 * The output of an encoder: a new zeroed array of `size` bytes, or the first `size` bytes of
 * `into`, zeroed.
 *
 * @param into Where to write, or undefined for a new array.
 * @param size The bytes needed.
 * @param what What is encoded, for the message.
 * @returns The bytes (`into` itself when exactly `size` long) and a view over them.
 * @throws {RangeError} When `into` is not a Uint8Array or is shorter than `size`.
 */
export function target(
  into: Uint8Array | undefined,
  size: number,
  what: string,
): [Uint8Array, DataView] {
  let bytes: Uint8Array;
  if (into === undefined) {
    bytes = new Uint8Array(size);
  } else {
    if (!(into instanceof Uint8Array) || into.length < size) {
      throw new RangeError(
        `Cannot encode ${what}: need ${size} bytes, received ${
          into instanceof Uint8Array ? into.length : typeof into
        }`,
      );
    }
    bytes = into.length === size ? into : into.subarray(0, size);
    bytes.fill(0);
  }
  return [bytes, dataView(bytes)];
}

/**
 * Checks an optional number field for an encoder.
 *
 * @param value The value; undefined means 0.
 * @param max The largest value allowed.
 * @param label The field, for the message.
 * @returns The value, or 0 when undefined.
 * @throws {TypeError} When it is not a number.
 * @throws {RangeError} When it is not an integer from 0 to `max`.
 */
export function uint(value: unknown, max: number, label: string): number {
  if (value === undefined) return 0;
  if (typeof value !== "number") {
    throw new TypeError(`Cannot encode ${label}: expected a number, received ${typeof value}`);
  }
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(
      `Cannot encode ${label}: expected an integer 0 to ${max}, received ${value}`,
    );
  }
  return value;
}

/**
 * Checks an optional bigint field for an encoder.
 *
 * @param value The value; undefined means 0n.
 * @param bits The field width in bits.
 * @param label The field, for the message.
 * @returns The value, or 0n when undefined.
 * @throws {TypeError} When it is not a bigint.
 * @throws {RangeError} When it is negative or does not fit in `bits` bits.
 */
export function ubig(value: unknown, bits: number, label: string): bigint {
  if (value === undefined) return 0n;
  if (typeof value !== "bigint") {
    throw new TypeError(`Cannot encode ${label}: expected a bigint, received ${typeof value}`);
  }
  if (BigInt.asUintN(bits, value) !== value) {
    throw new RangeError(`Cannot encode ${label}: ${value} does not fit in ${bits} bits`);
  }
  return value;
}

/**
 * Private pieces shared by the nvlist builders, accessors and codecs: header field offsets,
 * flag masks, marker sizes, the u64 check and the name key libnv compares names by.
 *
 * @module
 */

import { NvFlag, NVLIST_HEADER_SIZE, NVPAIR_HEADER_SIZE } from "./nvlist_types.ts";

/** The flags a list may carry. */
export const PUBLIC_FLAGS: number = NvFlag.IGNORE_CASE | NvFlag.NO_UNIQUE;
/** The flags an nvlist header may carry. */
export const HEADER_FLAGS: number = PUBLIC_FLAGS | NvFlag.BIG_ENDIAN;
// Header field offsets.
/** Offset of `version` in an nvlist header. */
export const H_VERSION = 1;
/** Offset of `flags` in an nvlist header. */
export const H_FLAGS = 2;
/** Offset of `descriptors` (u64) in an nvlist header. */
export const H_DESCRIPTORS = 3;
/** Offset of `size` (u64) in an nvlist header. */
export const H_SIZE = 11;
// Pair header field offsets.
/** Offset of `namesize` (u16) in a pair header. */
export const P_NAMESIZE = 1;
/** Offset of `datasize` (u64) in a pair header. */
export const P_DATASIZE = 3;
/** Offset of `nitems` (u64) in a pair header. */
export const P_NITEMS = 11;
/** Size of an end marker: a pair header and the empty name. */
export const MARKER_SIZE: number = NVPAIR_HEADER_SIZE + 1;
/** Cost of a nested list beyond its pair: its header and its end marker. */
export const NESTED_COST: number = NVLIST_HEADER_SIZE + MARKER_SIZE;
/** 2^64 - 1. */
export const U64_MASK: bigint = (1n << 64n) - 1n;

/**
 * Checks a NUMBER value and returns it as a `bigint`.
 *
 * @param value 0 to 2^64 - 1; a `number` must be a safe integer.
 * @param name The pair name, for the message.
 * @returns The value.
 * @throws {RangeError} When it is out of range.
 */
export function toU64(value: bigint | number, name: string): bigint {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Cannot make NUMBER "${name}": ${value} is not a u64 safe integer`);
    }
    return BigInt(value);
  }
  if (value < 0n || value > U64_MASK) {
    throw new RangeError(`Cannot make NUMBER "${name}": ${value} is outside 0 to 2^64 - 1`);
  }
  return value;
}

/**
 * The key libnv compares a name by in a list with these flags: ASCII-lowercased with
 * IGNORE_CASE (as `strcasecmp`), the name itself otherwise.
 *
 * @param name The name.
 * @param flags The list's flags.
 * @returns The key.
 */
export function nameKey(name: string, flags: number): string {
  return (flags & NvFlag.IGNORE_CASE) !== 0 ? asciiLower(name) : name;
}

/**
 * Lowercases the ASCII letters of `s`, leaving every other character.
 *
 * @param s The string.
 * @returns It, lowercased.
 */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

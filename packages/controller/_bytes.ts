/**
 * Private byte helpers of the controller package: little-endian loads from SQEs and data, the
 * CID of an SQE, hex in and out. (`@nvmf/proto` keeps its own in a private file; a package
 * never imports another's private file.)
 *
 * @module
 */

import { SQE_CID } from "@nvmf/proto";

/**
 * Reads a little-endian u32.
 *
 * @param b The bytes.
 * @param at The offset.
 * @returns The value, unsigned.
 */
export function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/**
 * Reads a little-endian u64 as a number; beyond 2^53 it loses precision (callers compare it
 * with limits far below that).
 *
 * @param b The bytes.
 * @param at The offset.
 * @returns The value.
 */
export function u64(b: Uint8Array, at: number): number {
  return u32(b, at + 4) * 0x100000000 + u32(b, at);
}

/**
 * The command identifier of an SQE.
 *
 * @param sqe The 64-byte SQE.
 * @returns CID.
 */
export function cidOf(sqe: Uint8Array): number {
  return sqe[SQE_CID] | (sqe[SQE_CID + 1] << 8);
}

/**
 * Whether two byte arrays hold the same bytes.
 *
 * @param a One.
 * @param b The other.
 * @returns True when equal.
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Random lowercase hex digits.
 *
 * @param length How many digits.
 * @returns The digits.
 */
export function randomHex(length: number): string {
  const bytes = new Uint8Array(Math.ceil(length / 2));
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, length);
}

/**
 * Decodes hex digits into bytes.
 *
 * @param hex An even number of hex digits, nothing else.
 * @returns The bytes, or undefined when `hex` is not that.
 */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

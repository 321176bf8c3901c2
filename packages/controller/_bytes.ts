/**
 * Private byte helpers of the controller package: the CID of an SQE, byte comparison, random
 * hex, and the shared little-endian loads and hex of `@nvmf/proto/bytes` under the short names
 * the command handlers use (`u64` is the number form: no bigint on the I/O path).
 *
 * @module
 */

import { SQE_CID } from "@nvmf/proto";
import { bytesToHex, HEX_BYTES, hexToBytes } from "@nvmf/proto/bytes";

export { readU32 as u32, readU64Number as u64 } from "@nvmf/proto/bytes";

/**
 * Decodes hex digits into bytes.
 *
 * @param hex An even number of hex digits, nothing else.
 * @returns The bytes, or undefined when `hex` is not that.
 */
export function fromHex(hex: string): Uint8Array | undefined {
  return HEX_BYTES.test(hex) ? hexToBytes(hex) : undefined;
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
  return bytesToHex(bytes).slice(0, length);
}

/**
 * Private hex helpers of `@nvmf/handoff`: the lowercase hex of bytes (BINARY values in nvlist
 * JSON, the BINARY fields of the records' JSON forms) and of one byte (error messages), and the
 * way back. Not exported from `mod.ts` or `deno.json`.
 *
 * @module
 */

/** A string of whole hex byte pairs, either case (possibly empty). */
export const HEX_BYTES: RegExp = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * Formats a byte as two lowercase hex digits, without `0x`.
 *
 * @param n The byte.
 * @returns E.g. `"6c"`.
 */
export function byteHex(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/**
 * Formats bytes as lowercase hex, two digits a byte.
 *
 * @param bytes The bytes.
 * @returns E.g. `"0300"`.
 */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const x of bytes) s += byteHex(x);
  return s;
}

/**
 * Parses a string that matches {@linkcode HEX_BYTES} (the caller checks it first).
 *
 * @param hex Hex byte pairs.
 * @returns The bytes.
 */
export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

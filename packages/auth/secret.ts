/**
 * DH-HMAC-CHAP secrets in the text form NVMe Base 2.0 (8.13.5.8) gives them, as nvme-cli and
 * Linux read them: `DHHC-1:hh:<base64 of key and CRC-32>:`. `hh` says how the key is turned
 * into the one used: 00 as it is, 01/02/03 HMAC-SHA-256/384/512 keyed with the key over the
 * NQN followed by `"NVMe-over-Fabrics"` (Linux `nvme_auth_transform_key`). The key is 32, 48 or
 * 64 bytes; the CRC-32 (IEEE, as zlib) of the key follows it, little endian.
 *
 * A {@linkcode DhchapSecret} never shows its key: `String()`, JSON and console inspection give
 * `DHHC-1:hh:<redacted>:`, and parse errors never quote the text.
 *
 * @example Usage
 * ```ts
 * import { parseDhchapSecret } from "@nvmf/auth/secret";
 * import assert from "node:assert/strict";
 * const s = parseDhchapSecret("DHHC-1:00:IpktLQLxaeA2eFbEtDT5H6iOegx/TnRKlB2V2oNoU6PtvqeC:");
 * assert.equal(s.keyLength, 32);
 * assert.equal(String(s), "DHHC-1:00:<redacted>:");
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHmac, randomBytes } from "node:crypto";

/** Key lengths a secret may have. */
export const DHCHAP_KEY_LENGTHS: readonly number[] = [32, 48, 64];

/** `hh` values: 0 none, 1 SHA-256, 2 SHA-384, 3 SHA-512, with their digest names. */
const TRANSFORM_DIGESTS = [undefined, "sha256", "sha384", "sha512"] as const;

/**
 * The default key length for an `hh`: the digest's length, 32 with none.
 *
 * @param hmacId `hh`, 0 to 3.
 * @returns Bytes.
 */
export function defaultKeyLength(hmacId: number): number {
  return [32, 32, 48, 64][hmacId] ?? 32;
}

let crcTable: Uint32Array | undefined;

/**
 * CRC-32 (IEEE 802.3, zlib's `crc32`) of some bytes.
 *
 * @param b The bytes.
 * @returns The CRC as an unsigned 32-bit number.
 * @example Usage
 * ```ts
 * import { crc32 } from "@nvmf/auth/secret";
 * import assert from "node:assert/strict";
 * assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
 * ```
 */
export function crc32(b: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < b.length; i++) crc = crcTable[(crc ^ b[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const REDACTED = "<redacted>";

/** A parsed DH-HMAC-CHAP secret. Its key never appears in strings, JSON or inspection. */
export class DhchapSecret {
  /** `hh`: 0 key used as is, 1/2/3 transformed with HMAC-SHA-256/384/512. */
  readonly hmacId: number;
  readonly #key: Uint8Array;

  /**
   * Makes a secret from its parts.
   *
   * @param key The key, 32, 48 or 64 bytes (copied).
   * @param hmacId `hh`, 0 to 3.
   * @throws {RangeError} If either is out of range.
   */
  constructor(key: Uint8Array, hmacId: number) {
    if (!DHCHAP_KEY_LENGTHS.includes(key.length)) {
      throw new RangeError(
        `Cannot use a DH-HMAC-CHAP key of ${key.length} bytes: it must be 32, 48 or 64`,
      );
    }
    if (!Number.isInteger(hmacId) || hmacId < 0 || hmacId > 3) {
      throw new RangeError(`Cannot use DH-HMAC-CHAP key transform ${hmacId}: it must be 0 to 3`);
    }
    this.hmacId = hmacId;
    this.#key = new Uint8Array(key);
  }

  /** Key length in bytes. */
  get keyLength(): number {
    return this.#key.length;
  }

  /**
   * The key bytes as stored in the secret (not transformed).
   *
   * @returns A copy.
   */
  key(): Uint8Array {
    return new Uint8Array(this.#key);
  }

  /**
   * The key used in responses: the key itself when `hh` is 0, else HMAC-H_hh(key, NQN ||
   * "NVMe-over-Fabrics") (Linux `nvme_auth_transform_key`).
   *
   * @param nqn The host NQN for a host secret, the subsystem NQN for a controller secret.
   * @returns The transformed key.
   */
  transform(nqn: string): Uint8Array {
    const digest = TRANSFORM_DIGESTS[this.hmacId];
    if (digest === undefined) return this.key();
    const h = createHmac(digest, this.#key);
    h.update(nqn);
    h.update("NVMe-over-Fabrics");
    return new Uint8Array(h.digest());
  }

  /**
   * The secret's text, `DHHC-1:hh:base64:`, with the key: only for a person who asked for it
   * (`nvmf gen-dhchap-key`).
   *
   * @returns The text form.
   */
  reveal(): string {
    const raw = new Uint8Array(this.#key.length + 4);
    raw.set(this.#key);
    new DataView(raw.buffer).setUint32(this.#key.length, crc32(this.#key), true);
    return `DHHC-1:${hex2(this.hmacId)}:${Buffer.from(raw).toString("base64")}:`;
  }

  /** `DHHC-1:hh:<redacted>:`. */
  toString(): string {
    return `DHHC-1:${hex2(this.hmacId)}:${REDACTED}:`;
  }

  /** The redacted form, so that JSON never carries the key. */
  toJSON(): string {
    return this.toString();
  }

  /** The redacted form for Deno's console. */
  [Symbol.for("Deno.customInspect")](): string {
    return `DhchapSecret(${this.toString()})`;
  }

  /** The redacted form for Node's and Bun's console. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `DhchapSecret(${this.toString()})`;
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/**
 * Parses and checks a secret `DHHC-1:hh:base64:` (the trailing colon may be missing, as
 * nvme-cli accepts). Errors name what is wrong and never quote the text.
 *
 * @param text The secret.
 * @param what What it is, for messages (e.g. `"dhchap_key"`).
 * @returns The secret.
 * @throws {RangeError} If it is malformed or its CRC-32 does not match.
 * @example Usage
 * ```ts
 * import { parseDhchapSecret } from "@nvmf/auth/secret";
 * import assert from "node:assert/strict";
 * assert.throws(() => parseDhchapSecret("DHHC-1:00:AAAA:"), /32, 48 or 64/);
 * ```
 */
export function parseDhchapSecret(text: string, what = "DH-HMAC-CHAP secret"): DhchapSecret {
  if (typeof text !== "string") throw new TypeError(`Cannot parse ${what}: not a string`);
  const parts = text.trim().split(":");
  if (parts.length === 3) parts.push("");
  if (parts.length !== 4 || parts[0] !== "DHHC-1" || parts[3] !== "") {
    throw new RangeError(`Cannot parse ${what}: not of the form DHHC-1:hh:base64:`);
  }
  if (!/^[0-9a-fA-F]{2}$/.test(parts[1])) {
    throw new RangeError(`Cannot parse ${what}: hh must be two hex digits`);
  }
  const hmacId = parseInt(parts[1], 16);
  if (hmacId > 3) throw new RangeError(`Cannot parse ${what}: hh must be 00 to 03`);
  const b64 = parts[2];
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
    throw new RangeError(`Cannot parse ${what}: the key is not base64`);
  }
  const raw = new Uint8Array(Buffer.from(b64, "base64"));
  if (![36, 52, 68].includes(raw.length)) {
    throw new RangeError(
      `Cannot parse ${what}: the key must be 32, 48 or 64 bytes and a CRC-32: decoded ${raw.length} bytes`,
    );
  }
  const key = raw.subarray(0, raw.length - 4);
  const stored = new DataView(raw.buffer).getUint32(raw.length - 4, true);
  if (crc32(key) !== stored) {
    throw new RangeError(`Cannot parse ${what}: its CRC-32 does not match the key`);
  }
  const secret = new DhchapSecret(key, hmacId);
  raw.fill(0);
  return secret;
}

/**
 * Makes a new secret, as `nvme gen-dhchap-key`: a random key (or the one given), and with an
 * NQN the key transformed already (nvme-cli's `--nqn`: it stores HMAC-H_hh(key, NQN ||
 * "NVMe-over-Fabrics"), which the receiver transforms again).
 *
 * @param options `hmacId` (hh, default 0), `keyLength` (default by hh), `key` (instead of a
 * random one), `nqn` (transform first).
 * @returns The secret.
 * @throws {RangeError} If the lengths disagree or are out of range.
 */
export function generateDhchapSecret(
  options: { hmacId?: number; keyLength?: number; key?: Uint8Array; nqn?: string } = {},
): DhchapSecret {
  const hmacId = options.hmacId ?? 0;
  const length = options.keyLength ?? options.key?.length ?? defaultKeyLength(hmacId);
  if (options.key !== undefined && options.key.length !== length) {
    throw new RangeError(
      `Cannot make a secret: the key is ${options.key.length} bytes, the key length ${length}`,
    );
  }
  let key = options.key ?? new Uint8Array(randomBytes(length));
  const secret = new DhchapSecret(key, hmacId);
  if (options.nqn === undefined || hmacId === 0) return secret;
  key = secret.transform(options.nqn);
  return new DhchapSecret(key, hmacId);
}

/**
 * Finite field Diffie-Hellman for DH-HMAC-CHAP's groups ffdhe2048 to ffdhe8192 (RFC 7919,
 * generator 2): an ephemeral key pair, its public value left-padded to the group size as the
 * messages carry it (DHVLEN is the prime's size), the peer's value checked (1 < y < p - 1) and
 * the shared value g^xy mod p, also left-padded (Linux `nvme_auth_gen_shared_secret`).
 *
 * The private exponent is random with RFC 7919's minimum lengths (5.2: 225, 275, 325, 375 and
 * 400 bits), as Linux's `dh_safe_prime` private keys are short too. The work is done by
 * `node:crypto`'s `createDiffieHellman` where it is quick (Deno, Node); Bun 1.4 spends seconds
 * to minutes checking the prime in `createDiffieHellman` (1.4 s for 2048 bits, 37-69 s for 8192
 * measured), so there BigInt arithmetic does it (about 0.1 s for ffdhe8192).
 *
 * @example Usage
 * ```ts
 * import { DhchapDhGroupId } from "@nvmf/proto";
 * import { DhKeyPair } from "@nvmf/auth/dh";
 * import assert from "node:assert/strict";
 * const a = new DhKeyPair(DhchapDhGroupId.FFDHE2048);
 * const b = new DhKeyPair(DhchapDhGroupId.FFDHE2048);
 * assert.equal(a.publicValue.length, 256);
 * assert.deepEqual(a.sharedValue(b.publicValue), b.sharedValue(a.publicValue));
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createDiffieHellman, randomBytes } from "node:crypto";
import { DhchapDhGroupId } from "@nvmf/proto";
import { FFDHE_PRIMES } from "./_ffdhe.ts";

/** A DH group of DH-HMAC-CHAP. */
export interface DhGroup {
  /** DH group ID (`DhchapDhGroupId`). */
  id: number;
  /** The name Linux and nvme-cli use: `null`, `ffdhe2048`, ... */
  name: string;
  /** Size of the prime, and of DH values, in bytes (0 for the null group). */
  size: number;
  /** Bits of the private exponent (RFC 7919 5.2). */
  exponentBits: number;
}

/** The groups, by ID. */
export const DH_GROUPS: readonly DhGroup[] = [
  { id: DhchapDhGroupId.NULL, name: "null", size: 0, exponentBits: 0 },
  { id: DhchapDhGroupId.FFDHE2048, name: "ffdhe2048", size: 256, exponentBits: 225 },
  { id: DhchapDhGroupId.FFDHE3072, name: "ffdhe3072", size: 384, exponentBits: 275 },
  { id: DhchapDhGroupId.FFDHE4096, name: "ffdhe4096", size: 512, exponentBits: 325 },
  { id: DhchapDhGroupId.FFDHE6144, name: "ffdhe6144", size: 768, exponentBits: 375 },
  { id: DhchapDhGroupId.FFDHE8192, name: "ffdhe8192", size: 1024, exponentBits: 400 },
];

/**
 * A DH group by ID.
 *
 * @param id DH group ID.
 * @returns The group, or undefined when unknown.
 */
export function dhGroupById(id: number): DhGroup | undefined {
  return DH_GROUPS[id];
}

/**
 * A DH group by name: `null`, `ffdhe2048`, ..., `ffdhe8192` (case-insensitive).
 *
 * @param name The name.
 * @returns The group, or undefined when unknown.
 */
export function dhGroupByName(name: string): DhGroup | undefined {
  const n = name.toLowerCase();
  return DH_GROUPS.find((g) => g.name === n);
}

/** Whether `node:crypto`'s DiffieHellman is too slow here to use (Bun's prime check). */
const USE_BIGINT: boolean = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

const primes = new Map<number, { p: bigint; bytes: Buffer }>();

function prime(id: number): { p: bigint; bytes: Buffer } {
  let entry = primes.get(id);
  if (entry === undefined) {
    const text = FFDHE_PRIMES[id - 1];
    entry = { p: BigInt(`0x${text}`), bytes: Buffer.from(text, "hex") };
    primes.set(id, entry);
  }
  return entry;
}

function toBigInt(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString("hex")}`);
}

function toBytes(n: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = n;
  for (let i = size - 1; i >= 0 && x > 0n; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function leftPad(b: Uint8Array, size: number): Uint8Array {
  if (b.length === size) return new Uint8Array(b);
  const out = new Uint8Array(size);
  out.set(b.subarray(Math.max(0, b.length - size)), Math.max(0, size - b.length));
  return out;
}

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = base % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

/**
 * Checks a peer's public value: DHVLEN is the group size and 1 < y < p - 1 (NVMe Base 2.0
 * 8.13.5.5 asks receivers to check the value; SP 800-56A 5.6.2.3.1).
 *
 * @param groupId The DH group ID.
 * @param value The received value.
 * @returns Why it is refused, or undefined when it is good.
 */
export function checkPublicValue(groupId: number, value: Uint8Array): string | undefined {
  const group = dhGroupById(groupId);
  if (group === undefined || group.size === 0) return `DH group ${groupId} has no DH values`;
  if (value.length !== group.size) {
    return `the DH value is ${value.length} bytes: ${group.name} values are ${group.size}`;
  }
  const y = toBigInt(value);
  const p = prime(groupId).p;
  if (y <= 1n || y >= p - 1n) return "the DH value is out of range (1 < y < p - 1)";
  return undefined;
}

/** An ephemeral DH key pair of one group; the private exponent never leaves it. */
export class DhKeyPair {
  /** The group. */
  readonly group: DhGroup;
  /** The public value g^x mod p, left-padded to the group size. */
  readonly publicValue: Uint8Array;
  readonly #x: bigint | undefined;
  readonly #dh: ReturnType<typeof createDiffieHellman> | undefined;

  /**
   * Makes a key pair with a fresh random private exponent.
   *
   * @param groupId An ffdhe group ID (1 to 5).
   * @param useBigInt Compute with BigInt instead of `node:crypto` (default: only on Bun).
   * @throws {RangeError} If the group is unknown or the null group.
   */
  constructor(groupId: number, useBigInt: boolean = USE_BIGINT) {
    const group = dhGroupById(groupId);
    if (group === undefined || group.size === 0) {
      throw new RangeError(`Cannot make a DH key pair for DH group ${groupId}`);
    }
    this.group = group;
    const { p, bytes } = prime(groupId);
    const xBytes = new Uint8Array(randomBytes(Math.ceil(group.exponentBits / 8)));
    xBytes[0] |= 0x80; // the full length
    if (useBigInt) {
      this.#x = toBigInt(xBytes);
      this.publicValue = toBytes(modPow(2n, this.#x, p), group.size);
    } else {
      const dh = createDiffieHellman(bytes, Buffer.from([2]));
      dh.setPrivateKey(Buffer.from(xBytes));
      this.publicValue = leftPad(new Uint8Array(dh.generateKeys()), group.size);
      this.#dh = dh;
    }
    xBytes.fill(0);
  }

  /**
   * The shared value (g^y)^x mod p, left-padded to the group size, after checking the peer's
   * value with {@linkcode checkPublicValue}.
   *
   * @param peer The peer's public value.
   * @returns The shared value.
   * @throws {RangeError} If the peer's value is refused (the message says why).
   */
  sharedValue(peer: Uint8Array): Uint8Array {
    const problem = checkPublicValue(this.group.id, peer);
    if (problem !== undefined) throw new RangeError(`Cannot use the peer's DH value: ${problem}`);
    if (this.#dh !== undefined) {
      return leftPad(new Uint8Array(this.#dh.computeSecret(Buffer.from(peer))), this.group.size);
    }
    const { p } = prime(this.group.id);
    return toBytes(modPow(toBigInt(peer), this.#x!, p), this.group.size);
  }
}

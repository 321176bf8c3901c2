/**
 * The DH-HMAC-CHAP computations of NVMe Base 2.0 8.13.5 (TP 8006), as Linux's
 * `drivers/nvme/common/auth.c`, `host/auth.c` and `target/auth.c` do them:
 *
 * ```
 * R1 = HMAC-H(Kh, C1' || LE32(S1) || LE16(T_ID) || SC_C || "HostHost"   || HOSTNQN || 00 || SUBNQN)
 * R2 = HMAC-H(Kc, C2' || LE32(S2) || LE16(T_ID) || SC_C || "Controller" || SUBNQN  || 00 || HOSTNQN)
 * C' = C with the null DH group, else HMAC-H(H(g^xy mod p), C)   (the augmented challenge)
 * ```
 *
 * Kh and Kc are the transformed host and controller keys ({@linkcode DhchapSecret.transform}),
 * H the negotiated hash. Responses are compared in constant time.
 *
 * @example Usage
 * ```ts
 * import { dhchapResponse, hashById } from "@nvmf/auth/dhchap";
 * import assert from "node:assert/strict";
 * const r = dhchapResponse({
 *   hashId: 1, key: new Uint8Array(32), challenge: new Uint8Array(32), seqnum: 1, tid: 0,
 *   role: "host", hostnqn: "nqn.h", subnqn: "nqn.s",
 * });
 * assert.equal(r.length, hashById(1)!.length);
 * ```
 *
 * @module
 */

import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { DhchapHashId } from "@nvmf/proto";

/** A hash function of DH-HMAC-CHAP. */
export interface DhchapHash {
  /** Hash ID (`DhchapHashId`). */
  id: number;
  /** The name Linux and nvme-cli use: `hmac(sha256)`, ... */
  name: string;
  /** `node:crypto`'s digest name. */
  digest: string;
  /** HL, the digest length in bytes. */
  length: number;
}

/** The hashes, SHA-256, SHA-384, SHA-512. */
export const DHCHAP_HASHES: readonly DhchapHash[] = [
  { id: DhchapHashId.SHA256, name: "hmac(sha256)", digest: "sha256", length: 32 },
  { id: DhchapHashId.SHA384, name: "hmac(sha384)", digest: "sha384", length: 48 },
  { id: DhchapHashId.SHA512, name: "hmac(sha512)", digest: "sha512", length: 64 },
];

/**
 * A hash by ID.
 *
 * @param id Hash ID.
 * @returns The hash, or undefined when unknown.
 */
export function hashById(id: number): DhchapHash | undefined {
  return DHCHAP_HASHES.find((h) => h.id === id);
}

/**
 * A hash by name: `hmac(sha256)` or `sha256` (and 384, 512), case-insensitive.
 *
 * @param name The name.
 * @returns The hash, or undefined when unknown.
 */
export function hashByName(name: string): DhchapHash | undefined {
  const n = name.toLowerCase();
  return DHCHAP_HASHES.find((h) => h.name === n || h.digest === n);
}

function hashOf(id: number): DhchapHash {
  const h = hashById(id);
  if (h === undefined) throw new RangeError(`Cannot use DH-HMAC-CHAP hash ID ${id}`);
  return h;
}

/**
 * The augmented challenge HMAC-H(H(shared), C) of a transaction with a DH group (Linux
 * `nvme_auth_augmented_challenge`).
 *
 * @param hashId The negotiated hash ID.
 * @param shared g^xy mod p, left-padded to the group size.
 * @param challenge C1 or C2.
 * @returns The augmented challenge, HL bytes.
 */
export function augmentedChallenge(
  hashId: number,
  shared: Uint8Array,
  challenge: Uint8Array,
): Uint8Array {
  const h = hashOf(hashId);
  const hashed = createHash(h.digest).update(shared).digest();
  return new Uint8Array(createHmac(h.digest, hashed).update(challenge).digest());
}

/** The inputs of a response. */
export interface ResponseInput {
  /** The negotiated hash ID. */
  hashId: number;
  /** The transformed key: Kh for the host's R1, Kc for the controller's R2. */
  key: Uint8Array;
  /** C1 for R1, C2 for R2; augmented with a DH group. */
  challenge: Uint8Array;
  /** S1 for R1, S2 for R2. */
  seqnum: number;
  /** Transaction ID. */
  tid: number;
  /** SC_C of the Negotiate (default 0). */
  scC?: number;
  /** "host" for R1 ("HostHost"), "controller" for R2 ("Controller"). */
  role: "host" | "controller";
  /** Host NQN. */
  hostnqn: string;
  /** Subsystem NQN. */
  subnqn: string;
}

/**
 * R1 (role "host") or R2 (role "controller") of DH-HMAC-CHAP.
 *
 * @param i The inputs.
 * @returns The response, HL bytes.
 */
export function dhchapResponse(i: ResponseInput): Uint8Array {
  const h = hashOf(i.hashId);
  const mac = createHmac(h.digest, i.key);
  mac.update(i.challenge);
  const numbers = new Uint8Array(7);
  const v = new DataView(numbers.buffer);
  v.setUint32(0, i.seqnum >>> 0, true);
  v.setUint16(4, i.tid, true);
  numbers[6] = i.scC ?? 0;
  mac.update(numbers);
  const zero = new Uint8Array(1);
  if (i.role === "host") {
    mac.update("HostHost");
    mac.update(i.hostnqn);
    mac.update(zero);
    mac.update(i.subnqn);
  } else {
    mac.update("Controller");
    mac.update(i.subnqn);
    mac.update(zero);
    mac.update(i.hostnqn);
  }
  return new Uint8Array(mac.digest());
}

/**
 * Compares two responses in constant time (for equal lengths).
 *
 * @param a One.
 * @param b The other.
 * @returns True when equal.
 */
export function responsesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/**
 * A random challenge.
 *
 * @param length HL.
 * @returns Random bytes.
 */
export function randomChallenge(length: number): Uint8Array {
  return new Uint8Array(randomBytes(length));
}

/**
 * A starting sequence number: random, non-zero (0 means "no bidirectional authentication" in a
 * Reply), 31 bits as Linux's `nvme_auth_get_seqnum`.
 *
 * @returns The number.
 */
export function randomSeqnum(): number {
  const n = randomBytes(4).readUInt32BE(0) & 0x7fffffff;
  return n === 0 ? 1 : n;
}

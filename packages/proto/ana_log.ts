/**
 * The Asymmetric Namespace Access log page (LID 0Ch; NVM Express Base 2.0, 5.16.1.13): a
 * header with the change count and the number of ANA group descriptors, then one descriptor
 * per group — its ID, change count, ANA state and, unless the host asked for groups only
 * (LSP bit 0, RGO), the NSIDs of its attached namespaces.
 *
 * @example Usage
 * ```ts
 * import { AnaState, decodeAnaLog, encodeAnaLog } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const page = encodeAnaLog({
 *   changeCount: 3n,
 *   groups: [{ grpid: 1, changeCount: 3n, state: AnaState.OPTIMIZED, nsids: [1, 2] }],
 * });
 * assert.equal(page.length, 16 + 32 + 8);
 * assert.deepEqual(decodeAnaLog(page).groups[0].nsids, [1, 2]);
 * ```
 *
 * @module
 */

import { ProtocolFieldError } from "./errors.ts";

/** Size of the ANA log page header. */
export const ANA_LOG_HEADER_SIZE = 16;
/** Size of an ANA group descriptor before its NSID list. */
export const ANA_GROUP_DESCRIPTOR_SIZE = 32;

/** Field offsets of the ANA log page header. */
export const AnaLogOffset = {
  CHGCNT: 0,
  NGRPS: 8,
} as const;

/** Field offsets of an ANA group descriptor (from its start). */
export const AnaGroupOffset = {
  GRPID: 0,
  NNSIDS: 4,
  CHGCNT: 8,
  STATE: 16,
  NSIDS: 32,
} as const;

/** ANA state is bits 3:0 of its byte. */
const ANA_STATE_MASK = 0x0f;

/** One ANA group descriptor. */
export interface AnaGroupDescriptor {
  /** ANA group ID (1 to ANAGRPMAX). */
  grpid: number;
  /** Change count of the group. */
  changeCount: bigint;
  /** ANA state, a value of `AnaState`. */
  state: number;
  /** NSIDs of the attached namespaces in this group (empty with RGO). */
  nsids: number[];
}

/** The ANA log page. */
export interface AnaLog {
  /** Change count of the page. */
  changeCount: bigint;
  /** The group descriptors. */
  groups: AnaGroupDescriptor[];
}

/**
 * The size of an ANA log page.
 *
 * @param log The page.
 * @param groupsOnly RGO: descriptors carry no NSIDs.
 * @returns Bytes.
 * @example Usage
 * ```ts
 * import { anaLogSize } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const log = { changeCount: 0n, groups: [{ grpid: 1, changeCount: 0n, state: 1, nsids: [1] }] };
 * assert.equal(anaLogSize(log), 52);
 * assert.equal(anaLogSize(log, true), 48);
 * ```
 */
export function anaLogSize(log: AnaLog, groupsOnly = false): number {
  let size = ANA_LOG_HEADER_SIZE;
  for (const g of log.groups) {
    size += ANA_GROUP_DESCRIPTOR_SIZE + (groupsOnly ? 0 : g.nsids.length * 4);
  }
  return size;
}

/**
 * Encodes an ANA log page.
 *
 * @param log The page.
 * @param groupsOnly RGO: leave the NSID lists out (each descriptor says 0 NSIDs).
 * @returns The bytes.
 * @throws {RangeError} When a field is out of range.
 * @example Usage
 * ```ts
 * import { AnaState, encodeAnaLog } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const page = encodeAnaLog({
 *   changeCount: 1n,
 *   groups: [{ grpid: 2, changeCount: 1n, state: AnaState.INACCESSIBLE, nsids: [7] }],
 * }, true);
 * assert.equal(page.length, 48);
 * assert.equal(page[16 + 16], AnaState.INACCESSIBLE);
 * ```
 */
export function encodeAnaLog(log: AnaLog, groupsOnly = false): Uint8Array {
  if (log.groups.length > 0xffff) {
    throw new RangeError(`Cannot encode ${log.groups.length} ANA groups: at most 65535`);
  }
  const bytes = new Uint8Array(anaLogSize(log, groupsOnly));
  const v = new DataView(bytes.buffer);
  v.setBigUint64(AnaLogOffset.CHGCNT, log.changeCount, true);
  v.setUint16(AnaLogOffset.NGRPS, log.groups.length, true);
  let at = ANA_LOG_HEADER_SIZE;
  for (const g of log.groups) {
    if (!Number.isInteger(g.grpid) || g.grpid < 1 || g.grpid > 0xffffffff) {
      throw new RangeError(`Cannot encode ANA group ID ${g.grpid}: it must be 1 to 2^32 - 1`);
    }
    if (!Number.isInteger(g.state) || g.state < 0 || g.state > ANA_STATE_MASK) {
      throw new RangeError(`Cannot encode ANA state ${g.state}: it must be 0 to 15`);
    }
    v.setUint32(at + AnaGroupOffset.GRPID, g.grpid, true);
    const nsids = groupsOnly ? [] : g.nsids;
    v.setUint32(at + AnaGroupOffset.NNSIDS, nsids.length, true);
    v.setBigUint64(at + AnaGroupOffset.CHGCNT, g.changeCount, true);
    bytes[at + AnaGroupOffset.STATE] = g.state;
    at += AnaGroupOffset.NSIDS;
    for (const nsid of nsids) {
      v.setUint32(at, nsid, true);
      at += 4;
    }
  }
  return bytes;
}

/**
 * Decodes an ANA log page, as much as `bytes` holds of it.
 *
 * @param bytes The page (or its start: a truncated descriptor is an error).
 * @returns The page.
 * @throws {ProtocolFieldError} When the page is shorter than its header, or than its counts say.
 * @example Usage
 * ```ts
 * import { decodeAnaLog, encodeAnaLog } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const log = { changeCount: 9n, groups: [{ grpid: 1, changeCount: 9n, state: 2, nsids: [1] }] };
 * assert.deepEqual(decodeAnaLog(encodeAnaLog(log)), log);
 * ```
 */
export function decodeAnaLog(bytes: Uint8Array): AnaLog {
  if (bytes.length < ANA_LOG_HEADER_SIZE) {
    throw new ProtocolFieldError(
      `Cannot decode the ANA log page: ${bytes.length} bytes is shorter than its 16-byte header`,
      "NGRPS",
      AnaLogOffset.NGRPS,
    );
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const changeCount = v.getBigUint64(AnaLogOffset.CHGCNT, true);
  const count = v.getUint16(AnaLogOffset.NGRPS, true);
  const groups: AnaGroupDescriptor[] = [];
  let at = ANA_LOG_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    if (at + ANA_GROUP_DESCRIPTOR_SIZE > bytes.length) {
      throw new ProtocolFieldError(
        `Cannot decode ANA group descriptor ${i}: the page ends at byte ${bytes.length}`,
        "NGRPS",
        at,
      );
    }
    const n = v.getUint32(at + AnaGroupOffset.NNSIDS, true);
    if (at + ANA_GROUP_DESCRIPTOR_SIZE + n * 4 > bytes.length) {
      throw new ProtocolFieldError(
        `Cannot decode ANA group descriptor ${i}: its ${n} NSIDs run past byte ${bytes.length}`,
        "NNSIDS",
        at + AnaGroupOffset.NNSIDS,
      );
    }
    const nsids: number[] = [];
    for (let j = 0; j < n; j++) nsids.push(v.getUint32(at + AnaGroupOffset.NSIDS + j * 4, true));
    groups.push({
      grpid: v.getUint32(at + AnaGroupOffset.GRPID, true),
      changeCount: v.getBigUint64(at + AnaGroupOffset.CHGCNT, true),
      state: bytes[at + AnaGroupOffset.STATE] & ANA_STATE_MASK,
      nsids,
    });
    at += ANA_GROUP_DESCRIPTOR_SIZE + n * 4;
  }
  return { changeCount, groups };
}

/**
 * The 16-byte completion queue entry (NVM Express Base 2.0, 4.6): field offsets, a decoder and
 * encoder, and allocation-free accessors for the per-command hot path.
 *
 * All 16 bytes map to fields of {@linkcode Cqe}, so `encodeCqe(decodeCqe(b))` gives back `b`.
 * `status` is the raw 16-bit field, phase tag (bit 0) included; status.ts splits it.
 *
 * @example Usage
 * ```ts
 * import { cqeCid, decodeCqe, encodeCqe } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * const b = encodeCqe({ dw0: 1, sqhd: 1, cid: 0 });
 * assert.equal(cqeCid(b), 0);
 * assert.deepEqual(decodeCqe(b), { dw0: 1, dw1: 0, sqhd: 1, sqid: 0, cid: 0, status: 0 });
 * ```
 *
 * @module
 */

import { checkUint, dataView, putU16, putU32, u16, u32 } from "./_bytes.ts";
import { CQE_SIZE, CqeStatusBits } from "./constants.ts";

/** Offset of DW0, command specific (u32). */
export const CQE_DW0 = 0;
/** Offset of DW1, command specific (u32). */
export const CQE_DW1 = 4;
/** Offset of SQHD, the submission queue head pointer (u16). */
export const CQE_SQHD = 8;
/** Offset of SQID, the submission queue identifier (u16). */
export const CQE_SQID = 10;
/** Offset of CID, the command identifier (u16). */
export const CQE_CID = 12;
/** Offset of the status field, phase tag included (u16). */
export const CQE_STATUS = 14;

/** A decoded completion queue entry (Base 4.6, Figure 92). */
export interface Cqe {
  /** DW0, bytes 3:0. */
  dw0: number;
  /** DW1, bytes 7:4. */
  dw1: number;
  /** SQHD, bytes 9:8. */
  sqhd: number;
  /** SQID, bytes 11:10. */
  sqid: number;
  /** CID, bytes 13:12. */
  cid: number;
  /** The raw status field, bytes 15:14: phase tag bit 0, then SC, SCT, CRD, M, DNR. */
  status: number;
}

function checkCqeBytes(b: Uint8Array): void {
  if (b.length < CQE_SIZE) {
    throw new RangeError(`Cannot use CQE as it needs ${CQE_SIZE} bytes: received ${b.length}`);
  }
}

/**
 * Decodes a CQE.
 *
 * @param bytes The CQE; only the first 16 bytes are read.
 * @returns Every field.
 * @throws {RangeError} If `bytes` is shorter than 16 bytes.
 * @example Usage
 * ```ts
 * import { decodeCqe } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * // Property Get CAP response of a Linux target: value 0x000008200f0003ff, CID 1
 * const b = Uint8Array.of(0xff, 3, 0, 0x0f, 0x20, 8, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0);
 * assert.deepEqual(decodeCqe(b), {
 *   dw0: 0x0f0003ff, dw1: 0x820, sqhd: 2, sqid: 0, cid: 1, status: 0,
 * });
 * ```
 */
export function decodeCqe(bytes: Uint8Array): Cqe {
  if (bytes.length < CQE_SIZE) {
    throw new RangeError(
      `Cannot decode CQE as it needs ${CQE_SIZE} bytes: received ${bytes.length}`,
    );
  }
  const v = dataView(bytes);
  return {
    dw0: v.getUint32(CQE_DW0, true),
    dw1: v.getUint32(CQE_DW1, true),
    sqhd: v.getUint16(CQE_SQHD, true),
    sqid: v.getUint16(CQE_SQID, true),
    cid: v.getUint16(CQE_CID, true),
    status: v.getUint16(CQE_STATUS, true),
  };
}

/**
 * Encodes a CQE: writes all 16 bytes, zero for every absent field.
 *
 * @param cqe The fields to set.
 * @param into Destination, at least 16 bytes; a new 16-byte array unless given. Bytes past 16
 * are not touched.
 * @returns `into`, or the new array.
 * @throws {RangeError} If `into` is shorter than 16 bytes or a field is out of range.
 * @example Usage
 * ```ts
 * import { encodeCqe } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * const b = encodeCqe({ dw0: 1, sqhd: 1 });
 * assert.deepEqual([...b], [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
 * ```
 */
export function encodeCqe(cqe: Partial<Cqe>, into?: Uint8Array): Uint8Array {
  const out = into ?? new Uint8Array(CQE_SIZE);
  checkCqeBytes(out);
  const dw0 = cqe.dw0 ?? 0;
  const dw1 = cqe.dw1 ?? 0;
  const sqhd = cqe.sqhd ?? 0;
  const sqid = cqe.sqid ?? 0;
  const cid = cqe.cid ?? 0;
  const status = cqe.status ?? 0;
  checkUint("DW0", dw0, 0xffffffff);
  checkUint("DW1", dw1, 0xffffffff);
  checkUint("SQHD", sqhd, 0xffff);
  checkUint("SQID", sqid, 0xffff);
  checkUint("CID", cid, 0xffff);
  checkUint("status", status, 0xffff);
  const v = dataView(out);
  v.setUint32(CQE_DW0, dw0, true);
  v.setUint32(CQE_DW1, dw1, true);
  v.setUint16(CQE_SQHD, sqhd, true);
  v.setUint16(CQE_SQID, sqid, true);
  v.setUint16(CQE_CID, cid, true);
  v.setUint16(CQE_STATUS, status, true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hot path accessors: read and write raw CQE bytes in place, allocating nothing. Each checks
// that the CQE has 16 bytes.

/**
 * DW0 of a raw CQE.
 *
 * @param b The CQE bytes.
 * @returns DW0, unsigned.
 * @example Usage
 * ```ts
 * import { cqeDw0, encodeCqe } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * assert.equal(cqeDw0(encodeCqe({ dw0: 0xffff0001 })), 0xffff0001);
 * ```
 */
export function cqeDw0(b: Uint8Array): number {
  checkCqeBytes(b);
  return u32(b, CQE_DW0);
}

/**
 * Sets DW0 of a raw CQE in place.
 *
 * @param b The CQE bytes.
 * @param v DW0, 0 to 0xffffffff.
 * @throws {RangeError} If the CQE is short or the value out of range.
 * @example Usage
 * ```ts
 * import { cqeDw0, setCqeDw0 } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(16);
 * setCqeDw0(b, 0x12345678);
 * assert.equal(cqeDw0(b), 0x12345678);
 * ```
 */
export function setCqeDw0(b: Uint8Array, v: number): void {
  checkCqeBytes(b);
  checkUint("DW0", v, 0xffffffff);
  putU32(b, CQE_DW0, v);
}

/**
 * DW1 of a raw CQE.
 *
 * @param b The CQE bytes.
 * @returns DW1, unsigned.
 * @example Usage
 * ```ts
 * import { cqeDw1, encodeCqe } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * assert.equal(cqeDw1(encodeCqe({ dw1: 0x820 })), 0x820);
 * ```
 */
export function cqeDw1(b: Uint8Array): number {
  checkCqeBytes(b);
  return u32(b, CQE_DW1);
}

/**
 * Sets DW1 of a raw CQE in place.
 *
 * @param b The CQE bytes.
 * @param v DW1, 0 to 0xffffffff.
 * @throws {RangeError} If the CQE is short or the value out of range.
 * @example Usage
 * ```ts
 * import { cqeDw1, setCqeDw1 } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(16);
 * setCqeDw1(b, 7);
 * assert.equal(cqeDw1(b), 7);
 * ```
 */
export function setCqeDw1(b: Uint8Array, v: number): void {
  checkCqeBytes(b);
  checkUint("DW1", v, 0xffffffff);
  putU32(b, CQE_DW1, v);
}

/**
 * SQHD of a raw CQE.
 *
 * @param b The CQE bytes.
 * @returns SQHD.
 * @example Usage
 * ```ts
 * import { cqeSqhd, encodeCqe } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * assert.equal(cqeSqhd(encodeCqe({ sqhd: 31 })), 31);
 * ```
 */
export function cqeSqhd(b: Uint8Array): number {
  checkCqeBytes(b);
  return u16(b, CQE_SQHD);
}

/**
 * Sets SQHD of a raw CQE in place.
 *
 * @param b The CQE bytes.
 * @param v SQHD, 0 to 0xffff.
 * @throws {RangeError} If the CQE is short or the value out of range.
 * @example Usage
 * ```ts
 * import { cqeSqhd, setCqeSqhd } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(16);
 * setCqeSqhd(b, 5);
 * assert.equal(cqeSqhd(b), 5);
 * ```
 */
export function setCqeSqhd(b: Uint8Array, v: number): void {
  checkCqeBytes(b);
  checkUint("SQHD", v, 0xffff);
  putU16(b, CQE_SQHD, v);
}

/**
 * SQID of a raw CQE.
 *
 * @param b The CQE bytes.
 * @returns SQID.
 * @example Usage
 * ```ts
 * import { cqeSqid, encodeCqe } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * assert.equal(cqeSqid(encodeCqe({ sqid: 1 })), 1);
 * ```
 */
export function cqeSqid(b: Uint8Array): number {
  checkCqeBytes(b);
  return u16(b, CQE_SQID);
}

/**
 * Sets SQID of a raw CQE in place.
 *
 * @param b The CQE bytes.
 * @param v SQID, 0 to 0xffff.
 * @throws {RangeError} If the CQE is short or the value out of range.
 * @example Usage
 * ```ts
 * import { cqeSqid, setCqeSqid } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(16);
 * setCqeSqid(b, 3);
 * assert.equal(cqeSqid(b), 3);
 * ```
 */
export function setCqeSqid(b: Uint8Array, v: number): void {
  checkCqeBytes(b);
  checkUint("SQID", v, 0xffff);
  putU16(b, CQE_SQID, v);
}

/**
 * CID of a raw CQE.
 *
 * @param b The CQE bytes.
 * @returns CID.
 * @example Usage
 * ```ts
 * import { cqeCid, encodeCqe } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * assert.equal(cqeCid(encodeCqe({ cid: 0x3001 })), 0x3001);
 * ```
 */
export function cqeCid(b: Uint8Array): number {
  checkCqeBytes(b);
  return u16(b, CQE_CID);
}

/**
 * Sets CID of a raw CQE in place.
 *
 * @param b The CQE bytes.
 * @param v CID, 0 to 0xffff.
 * @throws {RangeError} If the CQE is short or the value out of range.
 * @example Usage
 * ```ts
 * import { cqeCid, setCqeCid } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(16);
 * setCqeCid(b, 0xfffe);
 * assert.equal(cqeCid(b), 0xfffe);
 * ```
 */
export function setCqeCid(b: Uint8Array, v: number): void {
  checkCqeBytes(b);
  checkUint("CID", v, 0xffff);
  putU16(b, CQE_CID, v);
}

/**
 * The raw 16-bit status field of a CQE, phase tag included.
 *
 * @param b The CQE bytes.
 * @returns The status field; see status.ts to decode it.
 * @example Usage
 * ```ts
 * import { cqeStatus, encodeCqe } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * assert.equal(cqeStatus(encodeCqe({ status: 0x8004 })), 0x8004);
 * ```
 */
export function cqeStatus(b: Uint8Array): number {
  checkCqeBytes(b);
  return u16(b, CQE_STATUS);
}

/**
 * Sets the raw 16-bit status field of a CQE in place, phase tag included.
 *
 * @param b The CQE bytes.
 * @param v The status field, 0 to 0xffff.
 * @throws {RangeError} If the CQE is short or the value out of range.
 * @example Usage
 * ```ts
 * import { cqeStatus, setCqeStatus } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(16);
 * setCqeStatus(b, 0x4004);
 * assert.equal(cqeStatus(b), 0x4004);
 * ```
 */
export function setCqeStatus(b: Uint8Array, v: number): void {
  checkCqeBytes(b);
  checkUint("status", v, 0xffff);
  putU16(b, CQE_STATUS, v);
}

/**
 * The phase tag of a raw CQE (status bit 0). Fabrics transports do not use it; it is there for
 * completeness.
 *
 * @param b The CQE bytes.
 * @returns 0 or 1.
 * @example Usage
 * ```ts
 * import { cqePhase, encodeCqe } from "@nvmf/proto/cqe";
 * import assert from "node:assert/strict";
 * assert.equal(cqePhase(encodeCqe({ status: 0x0001 })), 1);
 * ```
 */
export function cqePhase(b: Uint8Array): number {
  checkCqeBytes(b);
  return b[CQE_STATUS] & CqeStatusBits.PHASE;
}

/**
 * The 64-byte submission queue entry (NVM Express Base 2.0, 4.2) and its SGL descriptor
 * (Base 4.1.2): field offsets, a full decoder and encoder, and allocation-free accessors for the
 * per-command hot path.
 *
 * Every byte of an SQE maps to a field of {@linkcode Sqe}, so `encodeSqe(decodeSqe(b))` gives
 * back `b` byte for byte, reserved bits included. Over NVMe over Fabrics, DPTR is always an SGL
 * descriptor: {@linkcode inCapsuleSgl} for data carried in the command capsule,
 * {@linkcode transportSgl} for data the transport moves on its own (R2T/H2CData, C2HData).
 *
 * @example Usage
 * ```ts
 * import { decodeSqe, encodeSqe, inCapsuleSgl, sqeCid } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * const b = encodeSqe({ opcode: 0x01, psdt: 1, cid: 9, nsid: 1, dptr: inCapsuleSgl(4096) });
 * assert.equal(sqeCid(b), 9);
 * assert.deepEqual(decodeSqe(b).dptr, inCapsuleSgl(4096));
 * ```
 *
 * @module
 */

import {
  Psdt,
  SGL_DESCRIPTOR_SIZE,
  SglIdentifierBits,
  SglSubtype,
  SglType,
  SQE_SIZE,
  SqeFlagsBits,
} from "./constants.ts";
import { checkUint, dataView, putU32, u32, u64 } from "./_bytes.ts";

/** Offset of OPC, the opcode (CDW0 bits 7:0). */
export const SQE_OPCODE = 0;
/** Offset of the flags byte (CDW0 bits 15:8): FUSE bits 1:0, PSDT bits 7:6. */
export const SQE_FLAGS = 1;
/** Offset of CID, the command identifier (u16, CDW0 bits 31:16). */
export const SQE_CID = 2;
/** Offset of NSID (u32). */
export const SQE_NSID = 4;
/** Offset of CDW2 (u32). */
export const SQE_CDW2 = 8;
/** Offset of CDW3 (u32). */
export const SQE_CDW3 = 12;
/** Offset of MPTR, the metadata pointer (u64). */
export const SQE_MPTR = 16;
/** Offset of DPTR, the data pointer: one 16-byte SGL descriptor over Fabrics. */
export const SQE_DPTR = 24;
/** Offset of CDW10 (u32). */
export const SQE_CDW10 = 40;
/** Offset of CDW11 (u32). */
export const SQE_CDW11 = 44;
/** Offset of CDW12 (u32). */
export const SQE_CDW12 = 48;
/** Offset of CDW13 (u32). */
export const SQE_CDW13 = 52;
/** Offset of CDW14 (u32). */
export const SQE_CDW14 = 56;
/** Offset of CDW15 (u32). */
export const SQE_CDW15 = 60;

/** Offset of Address in an SGL descriptor (u64). */
export const SGL_ADDRESS = 0;
/** Offset of Length in an SGL descriptor (u32). */
export const SGL_LENGTH = 8;
/** Offset of the three reserved bytes of a data block descriptor (key bytes in keyed ones). */
export const SGL_RESERVED = 12;
/** Offset of the SGL identifier byte: type in bits 7:4, subtype in bits 3:0. */
export const SGL_IDENTIFIER = 15;

/** An SGL descriptor (Base 4.1.2, Figure 83); 16 bytes. */
export interface SglDescriptor {
  /** Descriptor type, `SglType` (identifier bits 7:4). */
  type: number;
  /** Descriptor subtype, `SglSubtype` (identifier bits 3:0). */
  subtype: number;
  /** Address, or the offset into in-capsule data for subtype OFFSET (u64). */
  address: bigint;
  /** Length in bytes (u32). */
  length: number;
  /**
   * Bytes 14:12 as a little-endian 24-bit number; reserved in data block descriptors. The decoder
   * sets it only when non-zero, so that decoded descriptors compare equal to built ones.
   */
  rsvd?: number;
}

/** A decoded submission queue entry (Base 4.2, Figure 88). Numbers are unsigned. */
export interface Sqe {
  /** OPC, byte 0. */
  opcode: number;
  /** FUSE, byte 1 bits 1:0 (`Fuse`). */
  fuse: number;
  /** PSDT, byte 1 bits 7:6 (`Psdt`); 1 (SGL) over Fabrics. */
  psdt: number;
  /** CID, bytes 3:2. */
  cid: number;
  /** NSID, bytes 7:4. */
  nsid: number;
  /** CDW2, bytes 11:8. */
  cdw2: number;
  /** CDW3, bytes 15:12. */
  cdw3: number;
  /** MPTR, bytes 23:16. */
  mptr: bigint;
  /** DPTR, bytes 39:24. */
  dptr: SglDescriptor;
  /** CDW10, bytes 43:40. */
  cdw10: number;
  /** CDW11, bytes 47:44. */
  cdw11: number;
  /** CDW12, bytes 51:48. */
  cdw12: number;
  /** CDW13, bytes 55:52. */
  cdw13: number;
  /** CDW14, bytes 59:56. */
  cdw14: number;
  /** CDW15, bytes 63:60. */
  cdw15: number;
  /**
   * The reserved bits 5:2 of byte 1, in place (mask 0x3c). The decoder sets it only when
   * non-zero; it exists so that a round trip keeps every byte.
   */
  flagsRsvd?: number;
}

const U64_MAX = (1n << 64n) - 1n;

function checkSqeBytes(b: Uint8Array): void {
  if (b.length < SQE_SIZE) {
    throw new RangeError(`Cannot use SQE as it needs ${SQE_SIZE} bytes: received ${b.length}`);
  }
}

function isU32(value: number): boolean {
  return value >>> 0 === value;
}

function checkU64(what: string, value: bigint): void {
  if (value < 0n || value > U64_MAX) {
    throw new RangeError(`Cannot encode ${what} as it must fit 64 bits: received ${value}`);
  }
}

/**
 * The SGL identifier byte of a descriptor: type in bits 7:4, subtype in bits 3:0.
 *
 * @param desc The descriptor.
 * @returns The identifier byte, e.g. 0x5a for a transport data block.
 * @example Usage
 * ```ts
 * import { sglIdentifier, transportSgl } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * assert.equal(sglIdentifier(transportSgl(4096)), 0x5a);
 * ```
 */
export function sglIdentifier(desc: SglDescriptor): number {
  return ((desc.type & SglIdentifierBits.TYPE_MASK) << SglIdentifierBits.TYPE_SHIFT) |
    (desc.subtype & SglIdentifierBits.SUBTYPE_MASK);
}

/**
 * Decodes the 16-byte SGL descriptor at `offset` of `bytes`.
 *
 * @param bytes Bytes holding the descriptor.
 * @param offset Where it starts; 0 unless given (use {@linkcode SQE_DPTR} inside an SQE).
 * @returns The descriptor; `rsvd` only when bytes 14:12 are not zero.
 * @throws {RangeError} If fewer than 16 bytes follow `offset`.
 * @example Usage
 * ```ts
 * import { decodeSgl } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(16);
 * b[8] = 0x00; b[9] = 0x04; b[15] = 0x01; // length 1024, data block, offset
 * assert.deepEqual(decodeSgl(b), { type: 0, subtype: 1, address: 0n, length: 1024 });
 * ```
 */
export function decodeSgl(bytes: Uint8Array, offset = 0): SglDescriptor {
  if (!(offset >= 0) || bytes.length - offset < SGL_DESCRIPTOR_SIZE) {
    throw new RangeError(
      `Cannot decode SGL descriptor as it needs ${SGL_DESCRIPTOR_SIZE} bytes at offset ${offset}: received ${bytes.length}`,
    );
  }
  const v = dataView(bytes);
  const id = v.getUint8(offset + SGL_IDENTIFIER);
  const desc: SglDescriptor = {
    type: (id >>> SglIdentifierBits.TYPE_SHIFT) & SglIdentifierBits.TYPE_MASK,
    subtype: id & SglIdentifierBits.SUBTYPE_MASK,
    address: v.getBigUint64(offset + SGL_ADDRESS, true),
    length: v.getUint32(offset + SGL_LENGTH, true),
  };
  const rsvd = v.getUint16(offset + SGL_RESERVED, true) |
    (v.getUint8(offset + SGL_RESERVED + 2) << 16);
  if (rsvd !== 0) desc.rsvd = rsvd;
  return desc;
}

/**
 * Writes an SGL descriptor, all 16 bytes, at `offset` of `into`.
 *
 * @param desc The descriptor; `rsvd` 0 unless given.
 * @param into Destination; a new 16-byte array unless given.
 * @param offset Where to write in `into`; 0 unless given.
 * @returns `into`, or the new array.
 * @throws {RangeError} If `into` is too short or a field is out of range.
 * @example Usage
 * ```ts
 * import { encodeSgl, inCapsuleSgl } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * const b = encodeSgl(inCapsuleSgl(1024));
 * assert.deepEqual([...b], [0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0x01]);
 * ```
 */
export function encodeSgl(desc: SglDescriptor, into?: Uint8Array, offset = 0): Uint8Array {
  const out = into ?? new Uint8Array(SGL_DESCRIPTOR_SIZE);
  if (!(offset >= 0) || out.length - offset < SGL_DESCRIPTOR_SIZE) {
    throw new RangeError(
      `Cannot encode SGL descriptor as it needs ${SGL_DESCRIPTOR_SIZE} bytes at offset ${offset}: received ${out.length}`,
    );
  }
  writeSgl(out, offset, desc);
  return out;
}

function writeSgl(b: Uint8Array, at: number, desc: SglDescriptor): void {
  checkUint("SGL type", desc.type, SglIdentifierBits.TYPE_MASK);
  checkUint("SGL subtype", desc.subtype, SglIdentifierBits.SUBTYPE_MASK);
  checkUint("SGL length", desc.length, 0xffffffff);
  checkU64("SGL address", desc.address);
  const rsvd = desc.rsvd ?? 0;
  checkUint("SGL reserved bytes", rsvd, 0xffffff);
  putU32(b, at + SGL_ADDRESS, Number(desc.address & 0xffffffffn));
  putU32(b, at + SGL_ADDRESS + 4, Number(desc.address >> 32n));
  putU32(b, at + SGL_LENGTH, desc.length);
  b[at + SGL_RESERVED] = rsvd;
  b[at + SGL_RESERVED + 1] = rsvd >>> 8;
  b[at + SGL_RESERVED + 2] = rsvd >>> 16;
  b[at + SGL_IDENTIFIER] = sglIdentifier(desc);
}

/**
 * Decodes a whole SQE.
 *
 * @param bytes The SQE; only the first 64 bytes are read.
 * @returns Every field; `flagsRsvd` and `dptr.rsvd` only when not zero.
 * @throws {RangeError} If `bytes` is shorter than 64 bytes.
 * @example Usage
 * ```ts
 * import { decodeSqe } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(64);
 * b[0] = 0x06; b[1] = 0x40; b[2] = 0x16; b[40] = 0x01; // Identify Controller, CID 0x16
 * const sqe = decodeSqe(b);
 * assert.equal(sqe.opcode, 0x06);
 * assert.equal(sqe.psdt, 1);
 * assert.equal(sqe.cid, 0x16);
 * assert.equal(sqe.cdw10, 1);
 * ```
 */
export function decodeSqe(bytes: Uint8Array): Sqe {
  if (bytes.length < SQE_SIZE) {
    throw new RangeError(
      `Cannot decode SQE as it needs ${SQE_SIZE} bytes: received ${bytes.length}`,
    );
  }
  const v = dataView(bytes);
  const flags = v.getUint8(SQE_FLAGS);
  const sqe: Sqe = {
    opcode: v.getUint8(SQE_OPCODE),
    fuse: flags & SqeFlagsBits.FUSE_MASK,
    psdt: (flags >>> SqeFlagsBits.PSDT_SHIFT) & SqeFlagsBits.PSDT_MASK,
    cid: v.getUint16(SQE_CID, true),
    nsid: v.getUint32(SQE_NSID, true),
    cdw2: v.getUint32(SQE_CDW2, true),
    cdw3: v.getUint32(SQE_CDW3, true),
    mptr: v.getBigUint64(SQE_MPTR, true),
    dptr: decodeSgl(bytes, SQE_DPTR),
    cdw10: v.getUint32(SQE_CDW10, true),
    cdw11: v.getUint32(SQE_CDW11, true),
    cdw12: v.getUint32(SQE_CDW12, true),
    cdw13: v.getUint32(SQE_CDW13, true),
    cdw14: v.getUint32(SQE_CDW14, true),
    cdw15: v.getUint32(SQE_CDW15, true),
  };
  const rsvd = flags & SqeFlagsBits.RESERVED_MASK;
  if (rsvd !== 0) sqe.flagsRsvd = rsvd;
  return sqe;
}

function putWord(v: DataView, at: number, value: number | undefined): void {
  if (value === undefined) return;
  if (!isU32(value)) {
    throw new RangeError(
      `Cannot encode SQE dword at offset ${at} as it must be 0 to 0xffffffff: received ${value}`,
    );
  }
  v.setUint32(at, value, true);
}

/**
 * Encodes an SQE: writes all 64 bytes, zero for every absent field.
 *
 * @param sqe The fields to set.
 * @param into Destination, at least 64 bytes (e.g. a view into a PDU buffer); a new 64-byte
 * array unless given. Bytes past 64 are not touched.
 * @returns `into`, or the new array.
 * @throws {RangeError} If `into` is shorter than 64 bytes or a field is out of range.
 * @example Usage
 * ```ts
 * import { encodeSqe, transportSgl } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * const b = encodeSqe({ opcode: 0x06, psdt: 1, cid: 0x16, dptr: transportSgl(4096), cdw10: 1 });
 * assert.equal(b.length, 64);
 * assert.equal(b[1], 0x40);
 * assert.equal(b[39], 0x5a);
 * ```
 */
export function encodeSqe(sqe: Partial<Sqe>, into?: Uint8Array): Uint8Array {
  const out = into ?? new Uint8Array(SQE_SIZE);
  checkSqeBytes(out);
  const opcode = sqe.opcode ?? 0;
  const fuse = sqe.fuse ?? 0;
  const psdt = sqe.psdt ?? 0;
  const flagsRsvd = sqe.flagsRsvd ?? 0;
  const cid = sqe.cid ?? 0;
  checkUint("opcode", opcode, 0xff);
  checkUint("FUSE", fuse, SqeFlagsBits.FUSE_MASK);
  checkUint("PSDT", psdt, SqeFlagsBits.PSDT_MASK);
  checkUint("CID", cid, 0xffff);
  if ((flagsRsvd & SqeFlagsBits.RESERVED_MASK) !== flagsRsvd) {
    throw new RangeError(
      `Cannot encode flags as reserved bits must be within mask 0x3c: received ${flagsRsvd}`,
    );
  }
  const v = dataView(out);
  out.fill(0, 0, SQE_SIZE);
  v.setUint8(SQE_OPCODE, opcode);
  v.setUint8(SQE_FLAGS, fuse | flagsRsvd | (psdt << SqeFlagsBits.PSDT_SHIFT));
  v.setUint16(SQE_CID, cid, true);
  putWord(v, SQE_NSID, sqe.nsid);
  putWord(v, SQE_CDW2, sqe.cdw2);
  putWord(v, SQE_CDW3, sqe.cdw3);
  putWord(v, SQE_CDW10, sqe.cdw10);
  putWord(v, SQE_CDW11, sqe.cdw11);
  putWord(v, SQE_CDW12, sqe.cdw12);
  putWord(v, SQE_CDW13, sqe.cdw13);
  putWord(v, SQE_CDW14, sqe.cdw14);
  putWord(v, SQE_CDW15, sqe.cdw15);
  if (sqe.mptr !== undefined) {
    checkU64("MPTR", sqe.mptr);
    v.setBigUint64(SQE_MPTR, sqe.mptr, true);
  }
  if (sqe.dptr !== undefined) writeSgl(out, SQE_DPTR, sqe.dptr);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hot path accessors: read and write raw SQE bytes in place, allocating nothing (the u64
// readers return a bigint). Each checks that the SQE has 64 bytes.

/**
 * The opcode of a raw SQE.
 *
 * @param b The SQE bytes.
 * @returns OPC.
 * @example Usage
 * ```ts
 * import { encodeSqe, sqeOpcode } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * assert.equal(sqeOpcode(encodeSqe({ opcode: 0x7f })), 0x7f);
 * ```
 */
export function sqeOpcode(b: Uint8Array): number {
  checkSqeBytes(b);
  return b[SQE_OPCODE];
}

/**
 * The CID of a raw SQE.
 *
 * @param b The SQE bytes.
 * @returns CID.
 * @example Usage
 * ```ts
 * import { encodeSqe, sqeCid } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * assert.equal(sqeCid(encodeSqe({ cid: 0x1234 })), 0x1234);
 * ```
 */
export function sqeCid(b: Uint8Array): number {
  checkSqeBytes(b);
  return b[SQE_CID] | (b[SQE_CID + 1] << 8);
}

/**
 * Sets the CID of a raw SQE in place.
 *
 * @param b The SQE bytes.
 * @param cid The new CID, 0 to 0xffff.
 * @throws {RangeError} If the SQE is short or CID out of range.
 * @example Usage
 * ```ts
 * import { setSqeCid, sqeCid } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(64);
 * setSqeCid(b, 0xbeef);
 * assert.equal(sqeCid(b), 0xbeef);
 * ```
 */
export function setSqeCid(b: Uint8Array, cid: number): void {
  checkSqeBytes(b);
  checkUint("CID", cid, 0xffff);
  b[SQE_CID] = cid;
  b[SQE_CID + 1] = cid >>> 8;
}

/**
 * The NSID of a raw SQE.
 *
 * @param b The SQE bytes.
 * @returns NSID, unsigned.
 * @example Usage
 * ```ts
 * import { encodeSqe, sqeNsid } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * assert.equal(sqeNsid(encodeSqe({ nsid: 0xffffffff })), 0xffffffff);
 * ```
 */
export function sqeNsid(b: Uint8Array): number {
  checkSqeBytes(b);
  return u32(b, SQE_NSID);
}

/**
 * The FUSE field of a raw SQE (byte 1 bits 1:0).
 *
 * @param b The SQE bytes.
 * @returns FUSE (`Fuse`).
 * @example Usage
 * ```ts
 * import { encodeSqe, sqeFuse } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * assert.equal(sqeFuse(encodeSqe({ fuse: 2, psdt: 1 })), 2);
 * ```
 */
export function sqeFuse(b: Uint8Array): number {
  checkSqeBytes(b);
  return b[SQE_FLAGS] & SqeFlagsBits.FUSE_MASK;
}

/**
 * The PSDT field of a raw SQE (byte 1 bits 7:6).
 *
 * @param b The SQE bytes.
 * @returns PSDT (`Psdt`).
 * @example Usage
 * ```ts
 * import { encodeSqe, sqePsdt } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * assert.equal(sqePsdt(encodeSqe({ psdt: 1 })), 1);
 * ```
 */
export function sqePsdt(b: Uint8Array): number {
  checkSqeBytes(b);
  return (b[SQE_FLAGS] >>> SqeFlagsBits.PSDT_SHIFT) & SqeFlagsBits.PSDT_MASK;
}

/**
 * Sets the PSDT field of a raw SQE in place, keeping the other bits of byte 1.
 *
 * @param b The SQE bytes.
 * @param psdt The new PSDT; SGL (1) unless given, the only value Fabrics uses.
 * @throws {RangeError} If the SQE is short or PSDT out of range.
 * @example Usage
 * ```ts
 * import { encodeSqe, setSqePsdt } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * const b = encodeSqe({ fuse: 1 });
 * setSqePsdt(b);
 * assert.equal(b[1], 0x41);
 * ```
 */
export function setSqePsdt(b: Uint8Array, psdt: number = Psdt.SGL_MPTR_CONTIGUOUS): void {
  checkSqeBytes(b);
  checkUint("PSDT", psdt, SqeFlagsBits.PSDT_MASK);
  b[SQE_FLAGS] = (b[SQE_FLAGS] & ~(SqeFlagsBits.PSDT_MASK << SqeFlagsBits.PSDT_SHIFT)) |
    (psdt << SqeFlagsBits.PSDT_SHIFT);
}

/**
 * The SGL identifier byte of DPTR in a raw SQE (byte 39): type << 4 | subtype.
 *
 * @param b The SQE bytes.
 * @returns The identifier byte, e.g. 0x01 for in-capsule data, 0x5a for a transport data block.
 * @example Usage
 * ```ts
 * import { encodeSqe, inCapsuleSgl, sqeSglType } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * assert.equal(sqeSglType(encodeSqe({ dptr: inCapsuleSgl(512) })), 0x01);
 * ```
 */
export function sqeSglType(b: Uint8Array): number {
  checkSqeBytes(b);
  return b[SQE_DPTR + SGL_IDENTIFIER];
}

/**
 * The Length of DPTR's SGL descriptor in a raw SQE.
 *
 * @param b The SQE bytes.
 * @returns Length in bytes.
 * @example Usage
 * ```ts
 * import { encodeSqe, sqeSglLength, transportSgl } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * assert.equal(sqeSglLength(encodeSqe({ dptr: transportSgl(1 << 20) })), 1 << 20);
 * ```
 */
export function sqeSglLength(b: Uint8Array): number {
  checkSqeBytes(b);
  return u32(b, SQE_DPTR + SGL_LENGTH);
}

/**
 * The Address of DPTR's SGL descriptor in a raw SQE (the offset for in-capsule data).
 *
 * @param b The SQE bytes.
 * @returns Address.
 * @example Usage
 * ```ts
 * import { encodeSqe, inCapsuleSgl, sqeSglAddress } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * assert.equal(sqeSglAddress(encodeSqe({ dptr: inCapsuleSgl(512, 64) })), 64n);
 * ```
 */
export function sqeSglAddress(b: Uint8Array): bigint {
  checkSqeBytes(b);
  return u64(b, SQE_DPTR + SGL_ADDRESS);
}

/**
 * Writes DPTR of a raw SQE in place, all 16 bytes.
 *
 * @param b The SQE bytes.
 * @param desc The descriptor.
 * @throws {RangeError} If the SQE is short or a field out of range.
 * @example Usage
 * ```ts
 * import { setSqeSgl, sqeSglLength, sqeSglType, transportSgl } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(64);
 * setSqeSgl(b, transportSgl(4096));
 * assert.equal(sqeSglType(b), 0x5a);
 * assert.equal(sqeSglLength(b), 4096);
 * ```
 */
export function setSqeSgl(b: Uint8Array, desc: SglDescriptor): void {
  checkSqeBytes(b);
  writeSgl(b, SQE_DPTR, desc);
}

function cdwOffset(n: number): number {
  if (!Number.isInteger(n) || n < 10 || n > 15) {
    throw new RangeError(`Cannot access CDW${n} as only CDW10 to CDW15 have accessors`);
  }
  return SQE_CDW10 + (n - 10) * 4;
}

/**
 * Command dword `n` (10 to 15) of a raw SQE.
 *
 * @param b The SQE bytes.
 * @param n Which dword, 10 to 15.
 * @returns The dword, unsigned.
 * @throws {RangeError} If `n` is not 10 to 15 or the SQE is short.
 * @example Usage
 * ```ts
 * import { encodeSqe, sqeCdw } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * assert.equal(sqeCdw(encodeSqe({ cdw12: 0x80000007 }), 12), 0x80000007);
 * ```
 */
export function sqeCdw(b: Uint8Array, n: number): number {
  checkSqeBytes(b);
  return u32(b, cdwOffset(n));
}

/**
 * Sets command dword `n` (10 to 15) of a raw SQE in place.
 *
 * @param b The SQE bytes.
 * @param n Which dword, 10 to 15.
 * @param value The dword, 0 to 0xffffffff.
 * @throws {RangeError} If `n` is not 10 to 15, the value out of range or the SQE short.
 * @example Usage
 * ```ts
 * import { setSqeCdw, sqeCdw } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(64);
 * setSqeCdw(b, 10, 0xdeadbeef);
 * assert.equal(sqeCdw(b, 10), 0xdeadbeef);
 * ```
 */
export function setSqeCdw(b: Uint8Array, n: number, value: number): void {
  checkSqeBytes(b);
  const at = cdwOffset(n);
  if (!isU32(value)) {
    throw new RangeError(`Cannot set CDW${n} as it must be 0 to 0xffffffff: received ${value}`);
  }
  putU32(b, at, value);
}

// ---------------------------------------------------------------------------------------------
// SGL descriptors of NVMe over Fabrics

/**
 * The descriptor of data carried in the command capsule: Data Block, subtype Offset, Address
 * the offset into the in-capsule data (identifier 0x01; NVMe/TCP 3.3 in-capsule data).
 *
 * @param length Bytes of in-capsule data.
 * @param offset Offset of the data within the in-capsule data area; 0 unless given.
 * @returns The descriptor.
 * @example Usage
 * ```ts
 * import { inCapsuleSgl } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * assert.deepEqual(inCapsuleSgl(1024), { type: 0, subtype: 1, address: 0n, length: 1024 });
 * ```
 */
export function inCapsuleSgl(length: number, offset = 0): SglDescriptor {
  return {
    type: SglType.DATA_BLOCK,
    subtype: SglSubtype.OFFSET,
    address: BigInt(offset),
    length,
  };
}

/**
 * The descriptor of data the transport moves itself (Transport SGL Data Block, subtype
 * transport specific, identifier 0x5a): over NVMe/TCP, data sent by R2T/H2CData or C2HData.
 *
 * @param length Bytes of data.
 * @returns The descriptor, Address 0.
 * @example Usage
 * ```ts
 * import { transportSgl } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * assert.deepEqual(transportSgl(4096), { type: 5, subtype: 0xa, address: 0n, length: 4096 });
 * ```
 */
export function transportSgl(length: number): SglDescriptor {
  return {
    type: SglType.TRANSPORT_DATA_BLOCK,
    subtype: SglSubtype.TRANSPORT_SPECIFIC,
    address: 0n,
    length,
  };
}

/**
 * Whether a descriptor describes in-capsule data (Data Block, subtype Offset).
 *
 * @param desc The descriptor.
 * @returns True for in-capsule data.
 * @example Usage
 * ```ts
 * import { inCapsuleSgl, isInCapsuleSgl, transportSgl } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * assert.equal(isInCapsuleSgl(inCapsuleSgl(8)), true);
 * assert.equal(isInCapsuleSgl(transportSgl(8)), false);
 * ```
 */
export function isInCapsuleSgl(desc: SglDescriptor): boolean {
  return desc.type === SglType.DATA_BLOCK && desc.subtype === SglSubtype.OFFSET;
}

/**
 * Whether a descriptor is a Transport SGL Data Block, subtype transport specific.
 *
 * @param desc The descriptor.
 * @returns True for data the transport moves.
 * @example Usage
 * ```ts
 * import { isTransportSgl, transportSgl } from "@nvmf/proto/sqe";
 * import assert from "node:assert/strict";
 * assert.equal(isTransportSgl(transportSgl(0)), true);
 * ```
 */
export function isTransportSgl(desc: SglDescriptor): boolean {
  return desc.type === SglType.TRANSPORT_DATA_BLOCK &&
    desc.subtype === SglSubtype.TRANSPORT_SPECIFIC;
}

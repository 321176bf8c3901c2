/**
 * Controller properties (NVM Express Base 2.0, 3.1.3; NVMe over Fabrics 1.1, 3.4): CAP, VS, CC
 * and CSTS as records, and the size of each property that Property Get/Set may name.
 *
 * CAP is 64 bits wide, so it travels as a bigint; the 32-bit properties are numbers. Decoders
 * ignore reserved bits; encoders write them as 0 and reject values that do not fit their field.
 *
 * @example Usage
 * ```ts
 * import { capTimeoutMs, decodeCap, decodeCc, encodeCc } from "@nvmf/proto/properties";
 * import assert from "node:assert/strict";
 * const cap = decodeCap(0x000008200f0003ffn); // what a Linux 6.1 target returns
 * assert.equal(cap.mqes, 1023);
 * assert.equal(capTimeoutMs(cap), 7500);
 * assert.equal(decodeCc(encodeCc({ en: true, iosqes: 6, iocqes: 4 })).en, true);
 * ```
 *
 * @module
 */

import {
  CAP_TO_UNIT_MS,
  CapBits,
  CcBits,
  CstsBits,
  Property,
  PropertySize,
  VsBits,
} from "./constants.ts";

/** Controller Capabilities, CAP (Base 3.1.3.1, Figure 36). */
export interface Cap {
  /** Maximum Queue Entries Supported, 0's based. */
  mqes: number;
  /** Contiguous Queues Required. */
  cqr: boolean;
  /** Arbitration Mechanism Supported, bits (1: weighted round robin, 2: vendor specific). */
  ams: number;
  /** Timeout: worst-case time for CSTS.RDY to follow CC.EN, in 500 ms units. */
  to: number;
  /** Doorbell Stride, 2 ^ (2 + DSTRD) bytes. */
  dstrd: number;
  /** NVM Subsystem Reset Supported. */
  nssrs: boolean;
  /** Command Sets Supported, `CapCss` bits. */
  css: number;
  /** Boot Partition Support. */
  bps: boolean;
  /** Controller Power Scope. */
  cps: number;
  /** Memory Page Size Minimum, 2 ^ (12 + MPSMIN) bytes. */
  mpsmin: number;
  /** Memory Page Size Maximum, 2 ^ (12 + MPSMAX) bytes. */
  mpsmax: number;
  /** Persistent Memory Region Supported. */
  pmrs: boolean;
  /** Controller Memory Buffer Supported. */
  cmbs: boolean;
  /** NVM Subsystem Shutdown Supported. */
  nsss: boolean;
  /** Controller Ready Modes Supported, bits (1: with media, 2: independent of media). */
  crms: number;
}

/** Version, VS (Base 3.1.3.2, Figure 37). */
export interface Vs {
  /** MJR. */
  major: number;
  /** MNR. */
  minor: number;
  /** TER. */
  tertiary: number;
}

/** Controller Configuration, CC (Base 3.1.3.5, Figure 41). */
export interface Cc {
  /** Enable. */
  en: boolean;
  /** I/O Command Set Selected. */
  css: number;
  /** Memory Page Size, 2 ^ (12 + MPS) bytes. */
  mps: number;
  /** Arbitration Mechanism Selected. */
  ams: number;
  /** Shutdown Notification, `ShutdownNotification`. */
  shn: number;
  /** I/O Submission Queue Entry Size, log2 (6 for 64 bytes). */
  iosqes: number;
  /** I/O Completion Queue Entry Size, log2 (4 for 16 bytes). */
  iocqes: number;
  /** Controller Ready Independent of Media Enable. */
  crime: boolean;
}

/** Controller Status, CSTS (Base 3.1.3.6, Figure 42). */
export interface Csts {
  /** Ready. */
  rdy: boolean;
  /** Controller Fatal Status. */
  cfs: boolean;
  /** Shutdown Status, `ShutdownStatus`. */
  shst: number;
  /** NVM Subsystem Reset Occurred. */
  nssro: boolean;
  /** Processing Paused. */
  pp: boolean;
  /** Shutdown Type: 1 when the shutdown reported by SHST is of the NVM subsystem. */
  st: boolean;
}

function capField(v: bigint, shift: number, mask: number): number {
  return Number((v >> BigInt(shift)) & BigInt(mask));
}

function capFlag(v: bigint, shift: number): boolean {
  return ((v >> BigInt(shift)) & 1n) === 1n;
}

function check(what: string, value: number, mask: number): number {
  if (!Number.isInteger(value) || value < 0 || value > mask) {
    throw new RangeError(`Cannot encode ${what} as it must be 0 to ${mask}: received ${value}`);
  }
  return value;
}

/**
 * Decodes CAP.
 *
 * @param v The 64-bit property value.
 * @returns Every field; reserved bits are ignored.
 * @example Usage
 * ```ts
 * import { decodeCap } from "@nvmf/proto/properties";
 * import assert from "node:assert/strict";
 * const cap = decodeCap(0x000008200f0003ffn);
 * assert.equal(cap.to, 15);
 * assert.equal(cap.css, 0x41); // NVM command set + I/O command sets
 * ```
 */
export function decodeCap(v: bigint): Cap {
  return {
    mqes: capField(v, CapBits.MQES_SHIFT, CapBits.MQES_MASK),
    cqr: capFlag(v, CapBits.CQR_SHIFT),
    ams: capField(v, CapBits.AMS_SHIFT, CapBits.AMS_MASK),
    to: capField(v, CapBits.TO_SHIFT, CapBits.TO_MASK),
    dstrd: capField(v, CapBits.DSTRD_SHIFT, CapBits.DSTRD_MASK),
    nssrs: capFlag(v, CapBits.NSSRS_SHIFT),
    css: capField(v, CapBits.CSS_SHIFT, CapBits.CSS_MASK),
    bps: capFlag(v, CapBits.BPS_SHIFT),
    cps: capField(v, CapBits.CPS_SHIFT, CapBits.CPS_MASK),
    mpsmin: capField(v, CapBits.MPSMIN_SHIFT, CapBits.MPSMIN_MASK),
    mpsmax: capField(v, CapBits.MPSMAX_SHIFT, CapBits.MPSMAX_MASK),
    pmrs: capFlag(v, CapBits.PMRS_SHIFT),
    cmbs: capFlag(v, CapBits.CMBS_SHIFT),
    nsss: capFlag(v, CapBits.NSSS_SHIFT),
    crms: capField(v, CapBits.CRMS_SHIFT, CapBits.CRMS_MASK),
  };
}

/**
 * Encodes CAP; absent fields are 0 or false.
 *
 * @param c The fields to set.
 * @returns The 64-bit property value.
 * @throws {RangeError} If a field does not fit.
 * @example Usage
 * ```ts
 * import { encodeCap } from "@nvmf/proto/properties";
 * import { CapCss } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const v = encodeCap({ mqes: 1023, to: 15, css: CapCss.NVM | CapCss.IO_COMMAND_SETS });
 * assert.equal(v, 0x000008200f0003ffn);
 * ```
 */
export function encodeCap(c: Partial<Cap>): bigint {
  const put = (what: string, value: number | undefined, shift: number, mask: number) =>
    BigInt(check(`CAP.${what}`, value ?? 0, mask)) << BigInt(shift);
  const flag = (value: boolean | undefined, shift: number) => value ? 1n << BigInt(shift) : 0n;
  return put("MQES", c.mqes, CapBits.MQES_SHIFT, CapBits.MQES_MASK) |
    flag(c.cqr, CapBits.CQR_SHIFT) |
    put("AMS", c.ams, CapBits.AMS_SHIFT, CapBits.AMS_MASK) |
    put("TO", c.to, CapBits.TO_SHIFT, CapBits.TO_MASK) |
    put("DSTRD", c.dstrd, CapBits.DSTRD_SHIFT, CapBits.DSTRD_MASK) |
    flag(c.nssrs, CapBits.NSSRS_SHIFT) |
    put("CSS", c.css, CapBits.CSS_SHIFT, CapBits.CSS_MASK) |
    flag(c.bps, CapBits.BPS_SHIFT) |
    put("CPS", c.cps, CapBits.CPS_SHIFT, CapBits.CPS_MASK) |
    put("MPSMIN", c.mpsmin, CapBits.MPSMIN_SHIFT, CapBits.MPSMIN_MASK) |
    put("MPSMAX", c.mpsmax, CapBits.MPSMAX_SHIFT, CapBits.MPSMAX_MASK) |
    flag(c.pmrs, CapBits.PMRS_SHIFT) |
    flag(c.cmbs, CapBits.CMBS_SHIFT) |
    flag(c.nsss, CapBits.NSSS_SHIFT) |
    put("CRMS", c.crms, CapBits.CRMS_SHIFT, CapBits.CRMS_MASK);
}

/**
 * CAP.TO in milliseconds: how long a host waits for CSTS.RDY to follow CC.EN (Base 3.1.3.1).
 *
 * @param cap Decoded CAP, or its raw value.
 * @returns TO * 500.
 * @example Usage
 * ```ts
 * import { capTimeoutMs } from "@nvmf/proto/properties";
 * import assert from "node:assert/strict";
 * assert.equal(capTimeoutMs(0x0f000000n), 7500);
 * ```
 */
export function capTimeoutMs(cap: Cap | bigint): number {
  const to = typeof cap === "bigint" ? capField(cap, CapBits.TO_SHIFT, CapBits.TO_MASK) : cap.to;
  return to * CAP_TO_UNIT_MS;
}

/**
 * Decodes VS.
 *
 * @param v The 32-bit property value.
 * @returns Major, minor and tertiary version.
 * @example Usage
 * ```ts
 * import { decodeVs } from "@nvmf/proto/properties";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeVs(0x00010300), { major: 1, minor: 3, tertiary: 0 });
 * ```
 */
export function decodeVs(v: number): Vs {
  return {
    major: (v >>> VsBits.MJR_SHIFT) & VsBits.MJR_MASK,
    minor: (v >>> VsBits.MNR_SHIFT) & VsBits.MNR_MASK,
    tertiary: v & VsBits.TER_MASK,
  };
}

/**
 * Encodes VS; absent fields are 0.
 *
 * @param vs The version.
 * @returns The 32-bit property value.
 * @throws {RangeError} If a field does not fit.
 * @example Usage
 * ```ts
 * import { encodeVs } from "@nvmf/proto/properties";
 * import { NvmeVersion } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * assert.equal(encodeVs({ major: 2, minor: 0 }), NvmeVersion.V2_0);
 * ```
 */
export function encodeVs(vs: Partial<Vs>): number {
  return ((check("VS.MJR", vs.major ?? 0, VsBits.MJR_MASK) << VsBits.MJR_SHIFT) |
    (check("VS.MNR", vs.minor ?? 0, VsBits.MNR_MASK) << VsBits.MNR_SHIFT) |
    check("VS.TER", vs.tertiary ?? 0, VsBits.TER_MASK)) >>> 0;
}

/**
 * Decodes CC.
 *
 * @param v The 32-bit property value.
 * @returns Every field; reserved bits are ignored.
 * @example Usage
 * ```ts
 * import { decodeCc } from "@nvmf/proto/properties";
 * import assert from "node:assert/strict";
 * // what the Linux host writes to enable the controller
 * assert.deepEqual(decodeCc(0x00460061), {
 *   en: true, css: 6, mps: 0, ams: 0, shn: 0, iosqes: 6, iocqes: 4, crime: false,
 * });
 * ```
 */
export function decodeCc(v: number): Cc {
  return {
    en: (v & CcBits.EN) !== 0,
    css: (v >>> CcBits.CSS_SHIFT) & CcBits.CSS_MASK,
    mps: (v >>> CcBits.MPS_SHIFT) & CcBits.MPS_MASK,
    ams: (v >>> CcBits.AMS_SHIFT) & CcBits.AMS_MASK,
    shn: (v >>> CcBits.SHN_SHIFT) & CcBits.SHN_MASK,
    iosqes: (v >>> CcBits.IOSQES_SHIFT) & CcBits.IOSQES_MASK,
    iocqes: (v >>> CcBits.IOCQES_SHIFT) & CcBits.IOCQES_MASK,
    crime: ((v >>> CcBits.CRIME_SHIFT) & 1) !== 0,
  };
}

/**
 * Encodes CC; absent fields are 0 or false.
 *
 * @param cc The fields to set.
 * @returns The 32-bit property value.
 * @throws {RangeError} If a field does not fit.
 * @example Usage
 * ```ts
 * import { encodeCc } from "@nvmf/proto/properties";
 * import { ShutdownNotification } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const v = encodeCc({ en: true, css: 6, iosqes: 6, iocqes: 4, shn: ShutdownNotification.NORMAL });
 * assert.equal(v, 0x00464061);
 * ```
 */
export function encodeCc(cc: Partial<Cc>): number {
  return ((cc.en ? CcBits.EN : 0) |
    (check("CC.CSS", cc.css ?? 0, CcBits.CSS_MASK) << CcBits.CSS_SHIFT) |
    (check("CC.MPS", cc.mps ?? 0, CcBits.MPS_MASK) << CcBits.MPS_SHIFT) |
    (check("CC.AMS", cc.ams ?? 0, CcBits.AMS_MASK) << CcBits.AMS_SHIFT) |
    (check("CC.SHN", cc.shn ?? 0, CcBits.SHN_MASK) << CcBits.SHN_SHIFT) |
    (check("CC.IOSQES", cc.iosqes ?? 0, CcBits.IOSQES_MASK) << CcBits.IOSQES_SHIFT) |
    (check("CC.IOCQES", cc.iocqes ?? 0, CcBits.IOCQES_MASK) << CcBits.IOCQES_SHIFT) |
    (cc.crime ? 1 << CcBits.CRIME_SHIFT : 0)) >>> 0;
}

/**
 * Decodes CSTS.
 *
 * @param v The 32-bit property value.
 * @returns Every field; reserved bits are ignored.
 * @example Usage
 * ```ts
 * import { decodeCsts } from "@nvmf/proto/properties";
 * import { ShutdownStatus } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const csts = decodeCsts(0x00000009);
 * assert.equal(csts.rdy, true);
 * assert.equal(csts.shst, ShutdownStatus.COMPLETE);
 * ```
 */
export function decodeCsts(v: number): Csts {
  return {
    rdy: (v & CstsBits.RDY) !== 0,
    cfs: (v & CstsBits.CFS) !== 0,
    shst: (v >>> CstsBits.SHST_SHIFT) & CstsBits.SHST_MASK,
    nssro: (v & CstsBits.NSSRO) !== 0,
    pp: (v & CstsBits.PP) !== 0,
    st: (v & CstsBits.ST) !== 0,
  };
}

/**
 * Encodes CSTS; absent fields are 0 or false.
 *
 * @param csts The fields to set.
 * @returns The 32-bit property value.
 * @throws {RangeError} If SHST does not fit.
 * @example Usage
 * ```ts
 * import { encodeCsts } from "@nvmf/proto/properties";
 * import assert from "node:assert/strict";
 * assert.equal(encodeCsts({ rdy: true }), 1);
 * ```
 */
export function encodeCsts(csts: Partial<Csts>): number {
  return ((csts.rdy ? CstsBits.RDY : 0) |
    (csts.cfs ? CstsBits.CFS : 0) |
    (check("CSTS.SHST", csts.shst ?? 0, CstsBits.SHST_MASK) << CstsBits.SHST_SHIFT) |
    (csts.nssro ? CstsBits.NSSRO : 0) |
    (csts.pp ? CstsBits.PP : 0) |
    (csts.st ? CstsBits.ST : 0)) >>> 0;
}

/**
 * The size of the property at `offset`, as Property Get/Set must name it (Fabrics 3.4): 8 bytes
 * for CAP, ASQ and ACQ, 4 bytes for VS, INTMS, INTMC, CC, CSTS, NSSR and AQA.
 *
 * @param offset Property offset (`Property`).
 * @returns 4 or 8, or undefined for an offset that is not the start of a defined property.
 * @example Usage
 * ```ts
 * import { propertySize } from "@nvmf/proto/properties";
 * import { Property } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * assert.equal(propertySize(Property.CAP), 8);
 * assert.equal(propertySize(Property.CC), 4);
 * assert.equal(propertySize(0x04), undefined); // the upper half of CAP
 * ```
 */
export function propertySize(offset: number): 4 | 8 | undefined {
  switch (offset) {
    case Property.CAP:
    case Property.ASQ:
    case Property.ACQ:
      return 8;
    case Property.VS:
    case Property.INTMS:
    case Property.INTMC:
    case Property.CC:
    case Property.CSTS:
    case Property.NSSR:
    case Property.AQA:
      return 4;
    default:
      return undefined;
  }
}

/**
 * The ATTRIB size value of Property Get/Set for a property size in bytes (Fabrics 3.4).
 *
 * @param size 4 or 8.
 * @returns `PropertySize.FOUR_BYTES` or `PropertySize.EIGHT_BYTES`.
 * @throws {RangeError} For any other size.
 * @example Usage
 * ```ts
 * import { propertyAttribSize } from "@nvmf/proto/properties";
 * import assert from "node:assert/strict";
 * assert.equal(propertyAttribSize(8), 1);
 * ```
 */
export function propertyAttribSize(size: number): number {
  if (size === 4) return PropertySize.FOUR_BYTES;
  if (size === 8) return PropertySize.EIGHT_BYTES;
  throw new RangeError(`Cannot encode property size as it must be 4 or 8: received ${size}`);
}

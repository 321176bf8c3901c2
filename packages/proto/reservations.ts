/**
 * Reservations (NVM Express Base 2.0 8.19, and the Reservation Register, Acquire, Release and
 * Report commands of clause 7): the CDW10 fields of the four commands, the data they carry
 * (keys), the Reservation Status data structure Report returns (standard, 8-byte host
 * identifiers, and extended, 16-byte ones), and the 64-byte Reservation Notification log page
 * (80h).
 *
 * Keys are 64-bit and travel as bigints. Decoders copy what they keep; encoders zero the
 * reserved bytes, so `encode(decode(bytes))` reproduces any structure whose reserved bytes are
 * zero.
 *
 * @example Usage
 * ```ts
 * import {
 *   decodeReservationStatus,
 *   encodeReservationRegisterData,
 *   encodeReservationStatus,
 *   RESERVATION_REGISTER_DATA_SIZE,
 * } from "@nvmf/proto/reservations";
 * import { ReservationType } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * assert.equal(encodeReservationRegisterData({ nrkey: 0xabn }).length, RESERVATION_REGISTER_DATA_SIZE);
 * const bytes = encodeReservationStatus({
 *   generation: 3,
 *   rtype: ReservationType.WRITE_EXCLUSIVE,
 *   registrants: [{ cntlid: 0xffff, holder: true, hostid: new Uint8Array(16).fill(7), rkey: 0xabn }],
 * }, true);
 * assert.equal(decodeReservationStatus(bytes, true).registrants[0].rkey, 0xabn);
 * ```
 *
 * @module
 */

import { dataView, target, ubig, uint } from "./_bytes.ts";
import { ReservationBits } from "./constants.ts";
import { ProtocolFieldError } from "./errors.ts";

/** Bytes of Reservation Register data: CRKEY, NRKEY. */
export const RESERVATION_REGISTER_DATA_SIZE = 16;
/** Bytes of Reservation Acquire data: CRKEY, PRKEY. */
export const RESERVATION_ACQUIRE_DATA_SIZE = 16;
/** Bytes of Reservation Release data: CRKEY. */
export const RESERVATION_RELEASE_DATA_SIZE = 8;
/** Bytes of the Reservation Status header (standard data structure). */
export const RESERVATION_STATUS_HEADER_SIZE = 24;
/** Bytes of the Reservation Status header of the extended data structure. */
export const RESERVATION_STATUS_EXTENDED_HEADER_SIZE = 64;
/** Bytes of a Registered Controller data structure (8-byte host identifier). */
export const REGISTERED_CONTROLLER_SIZE = 24;
/** Bytes of a Registered Controller Extended data structure (16-byte host identifier). */
export const REGISTERED_CONTROLLER_EXTENDED_SIZE = 64;
/** Bytes of the Reservation Notification log page. */
export const RESERVATION_NOTIFICATION_LOG_SIZE = 64;

/** Offsets in the Reservation Status header. */
export const ReservationStatusOffset = {
  GEN: 0,
  RTYPE: 4,
  REGCTL: 5,
  PTPLS: 9,
} as const;

/** Offsets in a Registered Controller data structure, standard and extended. */
export const RegisteredControllerOffset = {
  CNTLID: 0,
  RCSTS: 2,
  /** Standard: HOSTID (8 bytes) then RKEY. */
  HOSTID: 8,
  RKEY: 16,
  /** Extended: RKEY then HOSTID (16 bytes). */
  EXTENDED_RKEY: 8,
  EXTENDED_HOSTID: 16,
} as const;

/** Offsets in the Reservation Notification log page. */
export const ReservationNotificationOffset = {
  /** Log Page Count, u64. */
  COUNT: 0,
  /** Reservation Notification Log Page Type. */
  TYPE: 8,
  /** Number of Available Log Pages. */
  AVAILABLE: 9,
  NSID: 12,
} as const;

/** The fields of a reservation command's CDW10. */
export interface ReservationCdw10 {
  /** RREGA, RACQA or RRELA (`ReservationRegisterAction` and the like). */
  action: number;
  /** Ignore Existing Key. */
  iekey?: boolean;
  /** RTYPE, Acquire and Release (`ReservationType`). */
  rtype?: number;
  /** CPTPL, Register (`ReservationCptpl`). */
  cptpl?: number;
}

/**
 * Encodes CDW10 of Reservation Register, Acquire or Release.
 *
 * @param fields Action, IEKEY, RTYPE, CPTPL.
 * @returns CDW10, unsigned.
 * @throws {RangeError} When a field does not fit.
 * @example Usage
 * ```ts
 * import { reservationCdw10 } from "@nvmf/proto/reservations";
 * import assert from "node:assert/strict";
 * assert.equal(reservationCdw10({ action: 1, rtype: 1 }), 0x101);
 * ```
 */
export function reservationCdw10(fields: ReservationCdw10): number {
  const action = uint(fields.action, ReservationBits.ACTION_MASK, "reservation action");
  const rtype = uint(fields.rtype, ReservationBits.RTYPE_MASK, "RTYPE");
  const cptpl = uint(fields.cptpl, ReservationBits.CPTPL_MASK, "CPTPL");
  return (action | (fields.iekey ? ReservationBits.IEKEY : 0) |
    (rtype << ReservationBits.RTYPE_SHIFT) | (cptpl << ReservationBits.CPTPL_SHIFT)) >>> 0;
}

/**
 * Decodes CDW10 of Reservation Register, Acquire or Release (every field, whichever command).
 *
 * @param cdw10 CDW10.
 * @returns The fields.
 * @example Usage
 * ```ts
 * import { decodeReservationCdw10 } from "@nvmf/proto/reservations";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeReservationCdw10(0xc0000008), { action: 0, iekey: true, rtype: 0, cptpl: 3 });
 * ```
 */
export function decodeReservationCdw10(cdw10: number): Required<ReservationCdw10> {
  return {
    action: cdw10 & ReservationBits.ACTION_MASK,
    iekey: (cdw10 & ReservationBits.IEKEY) !== 0,
    rtype: (cdw10 >>> ReservationBits.RTYPE_SHIFT) & ReservationBits.RTYPE_MASK,
    cptpl: (cdw10 >>> ReservationBits.CPTPL_SHIFT) & ReservationBits.CPTPL_MASK,
  };
}

function need(bytes: Uint8Array, size: number, what: string, field: string, at: number): void {
  if (bytes.length < size) {
    throw new ProtocolFieldError(
      `Reject ${what}: need ${size} bytes, received ${bytes.length}`,
      field,
      at,
    );
  }
}

/** Reservation Register data. */
export interface ReservationRegisterData {
  /** Current Reservation Key (unregister, replace). */
  crkey?: bigint;
  /** New Reservation Key (register, replace). */
  nrkey?: bigint;
}

/**
 * Encodes Reservation Register data (16 bytes).
 *
 * @param data CRKEY and NRKEY (default 0).
 * @param into Where to write; a new array when omitted.
 * @returns The bytes.
 * @throws {RangeError} When a key does not fit in 64 bits.
 */
export function encodeReservationRegisterData(
  data: ReservationRegisterData,
  into?: Uint8Array,
): Uint8Array {
  const [bytes, v] = target(into, RESERVATION_REGISTER_DATA_SIZE, "Reservation Register data");
  v.setBigUint64(0, ubig(data.crkey, 64, "CRKEY"), true);
  v.setBigUint64(8, ubig(data.nrkey, 64, "NRKEY"), true);
  return bytes;
}

/**
 * Decodes Reservation Register data.
 *
 * @param bytes At least 16 bytes.
 * @returns CRKEY and NRKEY.
 * @throws {ProtocolFieldError} When too short.
 */
export function decodeReservationRegisterData(
  bytes: Uint8Array,
): Required<ReservationRegisterData> {
  need(bytes, RESERVATION_REGISTER_DATA_SIZE, "Reservation Register data", "NRKEY", 8);
  const v = dataView(bytes);
  return { crkey: v.getBigUint64(0, true), nrkey: v.getBigUint64(8, true) };
}

/** Reservation Acquire data. */
export interface ReservationAcquireData {
  /** Current Reservation Key. */
  crkey?: bigint;
  /** Preempt Reservation Key (preempt, preempt and abort). */
  prkey?: bigint;
}

/**
 * Encodes Reservation Acquire data (16 bytes).
 *
 * @param data CRKEY and PRKEY (default 0).
 * @param into Where to write; a new array when omitted.
 * @returns The bytes.
 * @throws {RangeError} When a key does not fit in 64 bits.
 */
export function encodeReservationAcquireData(
  data: ReservationAcquireData,
  into?: Uint8Array,
): Uint8Array {
  const [bytes, v] = target(into, RESERVATION_ACQUIRE_DATA_SIZE, "Reservation Acquire data");
  v.setBigUint64(0, ubig(data.crkey, 64, "CRKEY"), true);
  v.setBigUint64(8, ubig(data.prkey, 64, "PRKEY"), true);
  return bytes;
}

/**
 * Decodes Reservation Acquire data.
 *
 * @param bytes At least 16 bytes.
 * @returns CRKEY and PRKEY.
 * @throws {ProtocolFieldError} When too short.
 */
export function decodeReservationAcquireData(bytes: Uint8Array): Required<ReservationAcquireData> {
  need(bytes, RESERVATION_ACQUIRE_DATA_SIZE, "Reservation Acquire data", "PRKEY", 8);
  const v = dataView(bytes);
  return { crkey: v.getBigUint64(0, true), prkey: v.getBigUint64(8, true) };
}

/**
 * Encodes Reservation Release data (8 bytes).
 *
 * @param crkey Current Reservation Key.
 * @param into Where to write; a new array when omitted.
 * @returns The bytes.
 * @throws {RangeError} When the key does not fit in 64 bits.
 */
export function encodeReservationReleaseData(crkey: bigint, into?: Uint8Array): Uint8Array {
  const [bytes, v] = target(into, RESERVATION_RELEASE_DATA_SIZE, "Reservation Release data");
  v.setBigUint64(0, ubig(crkey, 64, "CRKEY"), true);
  return bytes;
}

/**
 * Decodes Reservation Release data.
 *
 * @param bytes At least 8 bytes.
 * @returns CRKEY.
 * @throws {ProtocolFieldError} When too short.
 */
export function decodeReservationReleaseData(bytes: Uint8Array): bigint {
  need(bytes, RESERVATION_RELEASE_DATA_SIZE, "Reservation Release data", "CRKEY", 0);
  return dataView(bytes).getBigUint64(0, true);
}

/** A Registered Controller (Extended) data structure of a Reservation Report. */
export interface RegisteredController {
  /** CNTLID; FFFFh for a host with a dynamic controller model (what Linux and we report). */
  cntlid: number;
  /** RCSTS bit 0: the host holds the reservation. */
  holder: boolean;
  /** Host identifier: 16 bytes (extended) or 8 bytes (standard). */
  hostid: Uint8Array;
  /** Reservation key. */
  rkey: bigint;
}

/** The Reservation Status data structure a Reservation Report returns. */
export interface ReservationStatus {
  /** GEN: the generation, bumped by Register, Preempt and Clear. */
  generation: number;
  /** RTYPE of the reservation; 0 when none is held. */
  rtype: number;
  /** REGCTL: registered controllers (hosts) in all, listed or not. Default the list's length. */
  regctl?: number;
  /** PTPLS: Persist Through Power Loss State. */
  ptpls?: boolean;
  /** The registrants that fit in the data returned. */
  registrants: RegisteredController[];
}

/**
 * The bytes a Reservation Status with `registrants` entries takes.
 *
 * @param registrants How many entries.
 * @param extended True for the extended data structure.
 * @returns The size.
 */
export function reservationStatusSize(registrants: number, extended: boolean): number {
  return extended
    ? RESERVATION_STATUS_EXTENDED_HEADER_SIZE + registrants * REGISTERED_CONTROLLER_EXTENDED_SIZE
    : RESERVATION_STATUS_HEADER_SIZE + registrants * REGISTERED_CONTROLLER_SIZE;
}

/**
 * Encodes a Reservation Status data structure, every registrant listed.
 *
 * @param status Header and registrants.
 * @param extended True for the extended data structure (16-byte host identifiers).
 * @returns The bytes.
 * @throws {RangeError} When a field does not fit or a host identifier has the wrong size.
 */
export function encodeReservationStatus(status: ReservationStatus, extended: boolean): Uint8Array {
  const n = status.registrants.length;
  const [bytes, v] = target(undefined, reservationStatusSize(n, extended), "Reservation Status");
  v.setUint32(ReservationStatusOffset.GEN, uint(status.generation, 0xffffffff, "GEN"), true);
  v.setUint8(ReservationStatusOffset.RTYPE, uint(status.rtype, 0xff, "RTYPE"));
  v.setUint16(ReservationStatusOffset.REGCTL, uint(status.regctl ?? n, 0xffff, "REGCTL"), true);
  v.setUint8(ReservationStatusOffset.PTPLS, status.ptpls ? 1 : 0);
  const size = extended ? REGISTERED_CONTROLLER_EXTENDED_SIZE : REGISTERED_CONTROLLER_SIZE;
  let at = extended ? RESERVATION_STATUS_EXTENDED_HEADER_SIZE : RESERVATION_STATUS_HEADER_SIZE;
  const idSize = extended ? 16 : 8;
  for (const r of status.registrants) {
    if (!(r.hostid instanceof Uint8Array) || r.hostid.length !== idSize) {
      throw new RangeError(
        `Cannot encode a registrant's host identifier: expected ${idSize} bytes`,
      );
    }
    v.setUint16(at + RegisteredControllerOffset.CNTLID, uint(r.cntlid, 0xffff, "CNTLID"), true);
    v.setUint8(at + RegisteredControllerOffset.RCSTS, r.holder ? 1 : 0);
    const rkey = ubig(r.rkey, 64, "RKEY");
    if (extended) {
      v.setBigUint64(at + RegisteredControllerOffset.EXTENDED_RKEY, rkey, true);
      bytes.set(r.hostid, at + RegisteredControllerOffset.EXTENDED_HOSTID);
    } else {
      bytes.set(r.hostid, at + RegisteredControllerOffset.HOSTID);
      v.setBigUint64(at + RegisteredControllerOffset.RKEY, rkey, true);
    }
    at += size;
  }
  return bytes;
}

/**
 * Decodes a Reservation Status data structure: the header and the registrants that fit in the
 * bytes given (at most REGCTL).
 *
 * @param bytes The data a Reservation Report returned.
 * @param extended True for the extended data structure.
 * @returns Header and registrants.
 * @throws {ProtocolFieldError} When shorter than the header.
 */
export function decodeReservationStatus(bytes: Uint8Array, extended: boolean): ReservationStatus {
  const header = extended
    ? RESERVATION_STATUS_EXTENDED_HEADER_SIZE
    : RESERVATION_STATUS_HEADER_SIZE;
  need(bytes, header, "Reservation Status", "PTPLS", ReservationStatusOffset.PTPLS);
  const v = dataView(bytes);
  const regctl = v.getUint16(ReservationStatusOffset.REGCTL, true);
  const size = extended ? REGISTERED_CONTROLLER_EXTENDED_SIZE : REGISTERED_CONTROLLER_SIZE;
  const listed = Math.min(regctl, Math.floor((bytes.length - header) / size));
  const registrants: RegisteredController[] = [];
  for (let i = 0, at = header; i < listed; i++, at += size) {
    registrants.push({
      cntlid: v.getUint16(at + RegisteredControllerOffset.CNTLID, true),
      holder: (v.getUint8(at + RegisteredControllerOffset.RCSTS) & 1) !== 0,
      hostid: extended
        ? bytes.slice(
          at + RegisteredControllerOffset.EXTENDED_HOSTID,
          at + RegisteredControllerOffset.EXTENDED_HOSTID + 16,
        )
        : bytes.slice(at + RegisteredControllerOffset.HOSTID, at + RegisteredControllerOffset.RKEY),
      rkey: v.getBigUint64(
        at +
          (extended ? RegisteredControllerOffset.EXTENDED_RKEY : RegisteredControllerOffset.RKEY),
        true,
      ),
    });
  }
  return {
    generation: v.getUint32(ReservationStatusOffset.GEN, true),
    rtype: v.getUint8(ReservationStatusOffset.RTYPE),
    regctl,
    ptpls: (v.getUint8(ReservationStatusOffset.PTPLS) & 1) !== 0,
    registrants,
  };
}

/** A Reservation Notification log page (80h). */
export interface ReservationNotification {
  /** Log Page Count: increases by one per notification; 0 for an empty page. */
  count: bigint;
  /** Its type (`ReservationNotificationType`); 0 for an empty page. */
  type: number;
  /** Number of Available Log Pages: more notifications waiting after this one (up to 255). */
  available: number;
  /** The namespace. */
  nsid: number;
}

/**
 * Encodes a Reservation Notification log page (64 bytes).
 *
 * @param page Count, type, available pages, NSID.
 * @param into Where to write; a new array when omitted.
 * @returns The bytes.
 * @throws {RangeError} When a field does not fit.
 */
export function encodeReservationNotification(
  page: ReservationNotification,
  into?: Uint8Array,
): Uint8Array {
  const [bytes, v] = target(into, RESERVATION_NOTIFICATION_LOG_SIZE, "Reservation Notification");
  const o = ReservationNotificationOffset;
  v.setBigUint64(o.COUNT, ubig(page.count, 64, "Log Page Count"), true);
  v.setUint8(o.TYPE, uint(page.type, 0xff, "Reservation Notification Log Page Type"));
  v.setUint8(o.AVAILABLE, uint(page.available, 0xff, "Number of Available Log Pages"));
  v.setUint32(o.NSID, uint(page.nsid, 0xffffffff, "NSID"), true);
  return bytes;
}

/**
 * Decodes a Reservation Notification log page.
 *
 * @param bytes The page (its first 16 bytes hold the fields).
 * @returns Its fields.
 * @throws {ProtocolFieldError} When shorter than 16 bytes.
 */
export function decodeReservationNotification(bytes: Uint8Array): ReservationNotification {
  const o = ReservationNotificationOffset;
  need(bytes, o.NSID + 4, "Reservation Notification", "NSID", o.NSID);
  const v = dataView(bytes);
  return {
    count: v.getBigUint64(o.COUNT, true),
    type: v.getUint8(o.TYPE),
    available: v.getUint8(o.AVAILABLE),
    nsid: v.getUint32(o.NSID, true),
  };
}

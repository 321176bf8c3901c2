/**
 * Fabrics commands (NVMe over Fabrics 1.1, section 3; NVM Express Base 2.0, 6): Property Get and
 * Set, Connect and its 1024-byte data, Disconnect, Authentication Send and Receive, and the
 * command specific DW0/DW1 of their responses.
 *
 * Encoders fill a 64-byte SQE: opcode 0x7f, PSDT 01b (SGL, the only form Fabrics uses; Linux and
 * FreeBSD send it on every command), CID, FCTYPE and the command's fields, every other byte 0.
 * They leave DPTR (bytes 39:24) alone: in a new SQE it is zero, in an SQE passed as `into` it
 * keeps what the caller or transport put there (see `setSqeSgl` in sqe.ts).
 *
 * Decoders take the raw SQE, check OPC and FCTYPE, and throw {@linkcode ProtocolFieldError}
 * naming the field and its offset when a field holds a value they cannot accept.
 *
 * @example Usage
 * ```ts
 * import { decodeConnect, encodeConnect } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * const sqe = encodeConnect({ cid: 0, qid: 0, sqsize: 31, kato: 5000 });
 * assert.deepEqual(decodeConnect(sqe), {
 *   cid: 0, recfmt: 0, qid: 0, sqsize: 31, cattr: 0, kato: 5000,
 * });
 * ```
 *
 * @module
 */

import { checkUint, dataView, hex, utf8Decoder, utf8Encoder } from "./_bytes.ts";
import {
  CONNECT_DATA_SIZE,
  CONNECT_IATTR_DATA,
  ConnectAuthReq,
  ConnectResponseBits,
  FABRICS_OPCODE,
  FabricsType,
  NQN_FIELD_SIZE,
  PROPERTY_ATTRIB_SIZE_MASK,
  PropertySize,
  Psdt,
  SGL_DESCRIPTOR_SIZE,
  SQE_SIZE,
  SqeFlagsBits,
} from "./constants.ts";
import type { Cqe } from "./cqe.ts";
import { CQE_DW0, CQE_DW1 } from "./cqe.ts";
import { ProtocolFieldError } from "./errors.ts";
import { propertyAttribSize, propertySize } from "./properties.ts";
import { SQE_CID, SQE_DPTR, SQE_FLAGS, SQE_OPCODE } from "./sqe.ts";

// Offsets below were checked against Linux include/linux/nvme.h (struct nvmf_common_command,
// nvmf_connect_command, nvmf_connect_data, nvmf_property_set_command,
// nvmf_property_get_command, nvmf_auth_send_command, nvmf_auth_receive_command) and FreeBSD
// sys/dev/nvmf/nvmf_proto.h (SPDK's spdk_nvmf_fabric_*_cmd, each with a static size assert):
//   common:   opcode 0, resv1 1, command_id 2, fctype 4, resv2[19] 5, dptr 24
//   connect:  recfmt 40 (le16), qid 42 (le16), sqsize 44 (le16), cattr 46, resv3 47,
//             kato 48 (le32), resv4[12] 52
//   property: resv2[35] 5, attrib 40, resv3[3] 41, offset 44 (le32), value 48 (le64, set only)
//   auth:     resv3 40, spsp0 41, spsp1 42, secp 43, tl/al 44 (le32), resv4[16] 48
//   connect data: hostid[16] 0, cntlid 16 (le16), resv4[238] 18, subsysnqn[256] 256,
//             hostnqn[256] 512, resv5[256] 768
// The Linux 6.12 DH-HMAC-CHAP captures in fixtures/auth (Auth Send: @41 01, @42 01, @43 e9)
// confirm the auth layout: SECP is byte 43, after SPSP0 and SPSP1.

/** Offset of FCTYPE, the Fabrics command type, in a Fabrics SQE. */
export const FABRICS_FCTYPE = 4;

/** Offset of ATTRIB in Property Get/Set: the size in bits 2:0 (`PropertySize`). */
export const PROP_ATTRIB = 40;
/** Offset of OFST, the property offset (u32), in Property Get/Set. */
export const PROP_OFST = 44;
/** Offset of VALUE (u64) in Property Set. */
export const PROP_VALUE = 48;

/** Offset of RECFMT (u16) in Connect. */
export const CONNECT_RECFMT = 40;
/** Offset of QID (u16) in Connect. */
export const CONNECT_QID = 42;
/** Offset of SQSIZE (u16, 0's based) in Connect. */
export const CONNECT_SQSIZE = 44;
/** Offset of CATTR (u8) in Connect. */
export const CONNECT_CATTR = 46;
/** Offset of KATO (u32, milliseconds) in Connect. */
export const CONNECT_KATO = 48;

/** Offset of HOSTID (16 bytes) in the Connect data. */
export const CONNECT_DATA_HOSTID = 0;
/** Offset of CNTLID (u16) in the Connect data. */
export const CONNECT_DATA_CNTLID = 16;
/** Offset of SUBNQN (256 bytes, NUL terminated) in the Connect data. */
export const CONNECT_DATA_SUBNQN = 256;
/** Offset of HOSTNQN (256 bytes, NUL terminated) in the Connect data. */
export const CONNECT_DATA_HOSTNQN = 512;
/** Offset of the reserved tail (256 bytes) of the Connect data. */
export const CONNECT_DATA_RSVD = 768;
/** Size of HOSTID in the Connect data. */
export const CONNECT_DATA_HOSTID_SIZE = 16;

/** Offset of RECFMT (u16) in Disconnect. */
export const DISCONNECT_RECFMT = 40;

/** Offset of SPSP0 (u8) in Authentication Send/Receive (Linux `spsp0`, CDW10 bits 15:8). */
export const AUTH_SPSP0 = 41;
/** Offset of SPSP1 (u8) in Authentication Send/Receive (Linux `spsp1`, CDW10 bits 23:16). */
export const AUTH_SPSP1 = 42;
/** Offset of SECP (u8) in Authentication Send/Receive (Linux `secp`, CDW10 bits 31:24). */
export const AUTH_SECP = 43;
/** Offset of TL, the transfer length (u32), in Authentication Send. */
export const AUTH_TL = 44;
/** Offset of AL, the allocation length (u32), in Authentication Receive. */
export const AUTH_AL = 44;

/** Fields of Property Get. */
export interface PropertyGet {
  /** CID. */
  cid: number;
  /** Property size in bytes, from ATTRIB. */
  size: 4 | 8;
  /** Property offset (`Property`). */
  offset: number;
}

/** Fields of Property Set. */
export interface PropertySet extends PropertyGet {
  /** The value, all 64 bits of the VALUE field. */
  value: bigint;
}

/** Fields of Connect (Fabrics 3.3, Figure 19). */
export interface Connect {
  /** CID. */
  cid: number;
  /** RECFMT, 0. */
  recfmt: number;
  /** QID: 0 for the admin queue. */
  qid: number;
  /** SQSIZE, 0's based: the queue holds `sqsize + 1` entries. */
  sqsize: number;
  /** CATTR (`ConnectAttributes`). */
  cattr: number;
  /** KATO, keep alive timeout in milliseconds; 0 disables it. */
  kato: number;
}

/** Fields of Disconnect. */
export interface Disconnect {
  /** CID. */
  cid: number;
  /** RECFMT, 0. */
  recfmt: number;
}

/** Fields shared by Authentication Send and Receive. */
export interface AuthCommon {
  /** CID. */
  cid: number;
  /** SECP, the security protocol: 0xe9 for NVMe in-band authentication. */
  secp: number;
  /** SPSP0, security protocol specific. */
  spsp0: number;
  /** SPSP1, security protocol specific. */
  spsp1: number;
}

/** Fields of Authentication Send. */
export interface AuthSend extends AuthCommon {
  /** TL, bytes of the message the host sends. */
  tl: number;
}

/** Fields of Authentication Receive. */
export interface AuthReceive extends AuthCommon {
  /** AL, bytes the host can take. */
  al: number;
}

/** The 1024-byte data of Connect (Fabrics 3.3, Figure 20). */
export interface ConnectData {
  /** HOSTID, 16 bytes (a UUID). */
  hostid: Uint8Array;
  /** CNTLID: 0xffff for the dynamic model, else the controller wanted (I/O queues). */
  cntlid: number;
  /** SUBNQN. */
  subnqn: string;
  /** HOSTNQN. */
  hostnqn: string;
}

/** The DW0 of a successful Connect response (Fabrics 3.3, Figure 21). */
export interface ConnectResponse {
  /** CNTLID, DW0 bits 15:0. */
  cntlid: number;
  /** AUTHREQ, DW0 bits 31:16 shifted down: bit 1 ATR, bit 2 ASCR. */
  authreq: number;
  /** ATR: authentication transaction required before other commands. */
  atr: boolean;
  /** ASCR: authentication and secure channel required. */
  ascr: boolean;
}

/** The DW0 of a Connect response with status CONNECT_INVALID_PARAMETERS (Fabrics 3.3). */
export interface ConnectInvalidParameter {
  /** IATTR bit 0: the offending field is in the Connect data, not in the SQE. */
  inData: boolean;
  /** IPO: byte offset of the offending field in the SQE or the Connect data. */
  offset: number;
}

/** The SQE an encoder writes: `into`, checked, or a new one. */
function sqeOut(into: Uint8Array | undefined): Uint8Array {
  const out = into ?? new Uint8Array(SQE_SIZE);
  if (out.length < SQE_SIZE) {
    throw new RangeError(`Cannot encode SQE as it needs ${SQE_SIZE} bytes: received ${out.length}`);
  }
  return out;
}

/** Starts a Fabrics SQE: zeroes all but DPTR, writes OPC, PSDT, CID and FCTYPE. */
function beginFabrics(out: Uint8Array, fctype: number, cid: number): DataView {
  checkUint("CID", cid, 0xffff);
  out.fill(0, 0, SQE_DPTR);
  out.fill(0, SQE_DPTR + SGL_DESCRIPTOR_SIZE, SQE_SIZE);
  const v = dataView(out);
  v.setUint8(SQE_OPCODE, FABRICS_OPCODE);
  v.setUint8(SQE_FLAGS, Psdt.SGL_MPTR_CONTIGUOUS << SqeFlagsBits.PSDT_SHIFT);
  v.setUint16(SQE_CID, cid, true);
  v.setUint8(FABRICS_FCTYPE, fctype);
  return v;
}

/** Checks length, OPC and FCTYPE of a received Fabrics SQE. */
function openFabrics(sqe: Uint8Array, fctype: number, what: string): DataView {
  if (sqe.length < SQE_SIZE) {
    throw new RangeError(
      `Cannot decode ${what} as an SQE needs ${SQE_SIZE} bytes: received ${sqe.length}`,
    );
  }
  const v = dataView(sqe);
  const opcode = v.getUint8(SQE_OPCODE);
  if (opcode !== FABRICS_OPCODE) {
    throw new ProtocolFieldError(
      `Cannot decode ${what} as OPC is not the Fabrics opcode: received ${hex(opcode)}`,
      "OPC",
      SQE_OPCODE,
    );
  }
  const type = v.getUint8(FABRICS_FCTYPE);
  if (type !== fctype) {
    throw new ProtocolFieldError(
      `Cannot decode ${what} as FCTYPE is ${hex(type)}: expected ${hex(fctype)}`,
      "FCTYPE",
      FABRICS_FCTYPE,
    );
  }
  return v;
}

/**
 * FCTYPE of a Fabrics SQE (byte 4), to dispatch on before decoding.
 *
 * @param sqe The raw SQE, at least 64 bytes.
 * @returns FCTYPE (`FabricsType`).
 * @throws {RangeError} If `sqe` is shorter than 64 bytes.
 * @example Usage
 * ```ts
 * import { encodePropertyGet, fabricsType } from "@nvmf/proto/fabrics";
 * import { FabricsType, Property } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const sqe = encodePropertyGet({ cid: 1, offset: Property.CAP });
 * assert.equal(fabricsType(sqe), FabricsType.PROPERTY_GET);
 * ```
 */
export function fabricsType(sqe: Uint8Array): number {
  if (sqe.length < SQE_SIZE) {
    throw new RangeError(
      `Cannot read FCTYPE as an SQE needs ${SQE_SIZE} bytes: received ${sqe.length}`,
    );
  }
  return sqe[FABRICS_FCTYPE];
}

function attribSize(size: number | undefined, offset: number): number {
  const s = size ?? propertySize(offset);
  if (s === undefined) {
    throw new RangeError(
      `Cannot encode property access as offset ${hex(offset)} names no property: pass size`,
    );
  }
  return propertyAttribSize(s);
}

function readAttrib(v: DataView, what: string): 4 | 8 {
  const attrib = v.getUint8(PROP_ATTRIB) & PROPERTY_ATTRIB_SIZE_MASK;
  if (attrib === PropertySize.FOUR_BYTES) return 4;
  if (attrib === PropertySize.EIGHT_BYTES) return 8;
  throw new ProtocolFieldError(
    `Cannot decode ${what} as the ATTRIB size is reserved: received ${attrib}`,
    "ATTRIB",
    PROP_ATTRIB,
  );
}

/**
 * Encodes Property Get (Fabrics 3.4.1).
 *
 * @param cmd CID, property offset, and size in bytes (from {@linkcode propertySize} unless
 * given).
 * @param into Destination SQE, at least 64 bytes; DPTR is left as it is. A new one unless given.
 * @returns The SQE (`into` or the new one).
 * @throws {RangeError} If a field is out of range or the size unknown.
 * @example Usage
 * ```ts
 * import { encodePropertyGet } from "@nvmf/proto/fabrics";
 * import { Property } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const sqe = encodePropertyGet({ cid: 1, offset: Property.CAP });
 * assert.equal(sqe[40], 1); // ATTRIB: 8 bytes
 * ```
 */
export function encodePropertyGet(
  cmd: { cid: number; offset: number; size?: 4 | 8 },
  into?: Uint8Array,
): Uint8Array {
  checkUint("OFST", cmd.offset, 0xffffffff);
  const attrib = attribSize(cmd.size, cmd.offset);
  const out = sqeOut(into);
  const v = beginFabrics(out, FabricsType.PROPERTY_GET, cmd.cid);
  v.setUint8(PROP_ATTRIB, attrib);
  v.setUint32(PROP_OFST, cmd.offset, true);
  return out;
}

/**
 * Decodes Property Get.
 *
 * @param sqe The raw SQE.
 * @returns CID, size and offset.
 * @throws {RangeError} If `sqe` is shorter than 64 bytes.
 * @throws {ProtocolFieldError} For another command or a reserved ATTRIB size.
 * @example Usage
 * ```ts
 * import { decodePropertyGet, encodePropertyGet } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * const sqe = encodePropertyGet({ cid: 0x3001, offset: 0x1c });
 * assert.deepEqual(decodePropertyGet(sqe), { cid: 0x3001, size: 4, offset: 0x1c });
 * ```
 */
export function decodePropertyGet(sqe: Uint8Array): PropertyGet {
  const v = openFabrics(sqe, FabricsType.PROPERTY_GET, "Property Get");
  return {
    cid: v.getUint16(SQE_CID, true),
    size: readAttrib(v, "Property Get"),
    offset: v.getUint32(PROP_OFST, true),
  };
}

/**
 * Encodes Property Set (Fabrics 3.4.2).
 *
 * @param cmd CID, property offset, value, and size in bytes (from {@linkcode propertySize}
 * unless given); a 4-byte property takes a value below 2^32.
 * @param into Destination SQE, at least 64 bytes; DPTR is left as it is. A new one unless given.
 * @returns The SQE (`into` or the new one).
 * @throws {RangeError} If a field is out of range or the size unknown.
 * @example Usage
 * ```ts
 * import { encodePropertySet } from "@nvmf/proto/fabrics";
 * import { Property } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const sqe = encodePropertySet({ cid: 0x10, offset: Property.CC, value: 0x460061n });
 * assert.equal(sqe[48], 0x61);
 * ```
 */
export function encodePropertySet(
  cmd: { cid: number; offset: number; value: bigint; size?: 4 | 8 },
  into?: Uint8Array,
): Uint8Array {
  checkUint("OFST", cmd.offset, 0xffffffff);
  const attrib = attribSize(cmd.size, cmd.offset);
  const bits = attrib === PropertySize.EIGHT_BYTES ? 64 : 32;
  if (cmd.value < 0n || BigInt.asUintN(bits, cmd.value) !== cmd.value) {
    throw new RangeError(
      `Cannot encode Property Set as VALUE must fit ${bits} bits: received ${cmd.value}`,
    );
  }
  const out = sqeOut(into);
  const v = beginFabrics(out, FabricsType.PROPERTY_SET, cmd.cid);
  v.setUint8(PROP_ATTRIB, attrib);
  v.setUint32(PROP_OFST, cmd.offset, true);
  v.setBigUint64(PROP_VALUE, cmd.value, true);
  return out;
}

/**
 * Decodes Property Set.
 *
 * @param sqe The raw SQE.
 * @returns CID, size, offset and the whole 64-bit VALUE field.
 * @throws {RangeError} If `sqe` is shorter than 64 bytes.
 * @throws {ProtocolFieldError} For another command or a reserved ATTRIB size.
 * @example Usage
 * ```ts
 * import { decodePropertySet, encodePropertySet } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * const sqe = encodePropertySet({ cid: 2, offset: 0x14, value: 1n });
 * assert.deepEqual(decodePropertySet(sqe), { cid: 2, size: 4, offset: 0x14, value: 1n });
 * ```
 */
export function decodePropertySet(sqe: Uint8Array): PropertySet {
  const v = openFabrics(sqe, FabricsType.PROPERTY_SET, "Property Set");
  return {
    cid: v.getUint16(SQE_CID, true),
    size: readAttrib(v, "Property Set"),
    offset: v.getUint32(PROP_OFST, true),
    value: v.getBigUint64(PROP_VALUE, true),
  };
}

/**
 * Encodes Connect (Fabrics 3.3). Its 1024-byte data goes in-capsule or by the transport; see
 * {@linkcode encodeConnectData}.
 *
 * @param cmd CID, QID, SQSIZE (0's based), KATO in ms, and RECFMT and CATTR (0 unless given).
 * @param into Destination SQE, at least 64 bytes; DPTR is left as it is. A new one unless given.
 * @returns The SQE (`into` or the new one).
 * @throws {RangeError} If a field is out of range.
 * @example Usage
 * ```ts
 * import { encodeConnect } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * const sqe = encodeConnect({ cid: 0, qid: 1, sqsize: 127, kato: 0 });
 * assert.equal(sqe[42], 1);
 * assert.equal(sqe[44], 127);
 * ```
 */
export function encodeConnect(
  cmd: { cid: number; recfmt?: number; qid: number; sqsize: number; cattr?: number; kato: number },
  into?: Uint8Array,
): Uint8Array {
  const recfmt = cmd.recfmt ?? 0;
  const cattr = cmd.cattr ?? 0;
  checkUint("RECFMT", recfmt, 0xffff);
  checkUint("QID", cmd.qid, 0xffff);
  checkUint("SQSIZE", cmd.sqsize, 0xffff);
  checkUint("CATTR", cattr, 0xff);
  checkUint("KATO", cmd.kato, 0xffffffff);
  const out = sqeOut(into);
  const v = beginFabrics(out, FabricsType.CONNECT, cmd.cid);
  v.setUint16(CONNECT_RECFMT, recfmt, true);
  v.setUint16(CONNECT_QID, cmd.qid, true);
  v.setUint16(CONNECT_SQSIZE, cmd.sqsize, true);
  v.setUint8(CONNECT_CATTR, cattr);
  v.setUint32(CONNECT_KATO, cmd.kato, true);
  return out;
}

/**
 * Decodes Connect. Values are not judged here (RECFMT, SQSIZE limits...): that is the
 * controller's job, which reports them with {@linkcode connectInvalidParameterDw0}.
 *
 * @param sqe The raw SQE.
 * @returns The fields.
 * @throws {RangeError} If `sqe` is shorter than 64 bytes.
 * @throws {ProtocolFieldError} For another command.
 * @example Usage
 * ```ts
 * import { decodeConnect, encodeConnect } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * const c = decodeConnect(encodeConnect({ cid: 3, qid: 2, sqsize: 31, cattr: 4, kato: 0 }));
 * assert.equal(c.cattr, 4);
 * ```
 */
export function decodeConnect(sqe: Uint8Array): Connect {
  const v = openFabrics(sqe, FabricsType.CONNECT, "Connect");
  return {
    cid: v.getUint16(SQE_CID, true),
    recfmt: v.getUint16(CONNECT_RECFMT, true),
    qid: v.getUint16(CONNECT_QID, true),
    sqsize: v.getUint16(CONNECT_SQSIZE, true),
    cattr: v.getUint8(CONNECT_CATTR),
    kato: v.getUint32(CONNECT_KATO, true),
  };
}

/**
 * Encodes Disconnect (Fabrics 3.5): ends the association of the I/O queue it is sent on.
 *
 * @param cmd CID, and RECFMT (0 unless given).
 * @param into Destination SQE, at least 64 bytes; DPTR is left as it is. A new one unless given.
 * @returns The SQE (`into` or the new one).
 * @throws {RangeError} If a field is out of range.
 * @example Usage
 * ```ts
 * import { encodeDisconnect } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * assert.equal(encodeDisconnect({ cid: 4 })[4], 0x08);
 * ```
 */
export function encodeDisconnect(
  cmd: { cid: number; recfmt?: number },
  into?: Uint8Array,
): Uint8Array {
  const recfmt = cmd.recfmt ?? 0;
  checkUint("RECFMT", recfmt, 0xffff);
  const out = sqeOut(into);
  const v = beginFabrics(out, FabricsType.DISCONNECT, cmd.cid);
  v.setUint16(DISCONNECT_RECFMT, recfmt, true);
  return out;
}

/**
 * Decodes Disconnect.
 *
 * @param sqe The raw SQE.
 * @returns CID and RECFMT.
 * @throws {RangeError} If `sqe` is shorter than 64 bytes.
 * @throws {ProtocolFieldError} For another command.
 * @example Usage
 * ```ts
 * import { decodeDisconnect, encodeDisconnect } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeDisconnect(encodeDisconnect({ cid: 4 })), { cid: 4, recfmt: 0 });
 * ```
 */
export function decodeDisconnect(sqe: Uint8Array): Disconnect {
  const v = openFabrics(sqe, FabricsType.DISCONNECT, "Disconnect");
  return { cid: v.getUint16(SQE_CID, true), recfmt: v.getUint16(DISCONNECT_RECFMT, true) };
}

function writeAuth(v: DataView, cmd: AuthCommon, length: number): void {
  v.setUint8(AUTH_SECP, cmd.secp);
  v.setUint8(AUTH_SPSP0, cmd.spsp0);
  v.setUint8(AUTH_SPSP1, cmd.spsp1);
  v.setUint32(AUTH_TL, length, true);
}

function checkAuth(cmd: AuthCommon, lengthName: string, length: number): void {
  checkUint("SECP", cmd.secp, 0xff);
  checkUint("SPSP0", cmd.spsp0, 0xff);
  checkUint("SPSP1", cmd.spsp1, 0xff);
  checkUint(lengthName, length, 0xffffffff);
}

/**
 * Encodes Authentication Send (Base 6.3): carries one authentication message, TL bytes.
 *
 * @param cmd CID, SECP, SPSP0, SPSP1 and TL.
 * @param into Destination SQE, at least 64 bytes; DPTR is left as it is. A new one unless given.
 * @returns The SQE (`into` or the new one).
 * @throws {RangeError} If a field is out of range.
 * @example Usage
 * ```ts
 * import { encodeAuthSend } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * const sqe = encodeAuthSend({ cid: 1, secp: 0xe9, spsp0: 1, spsp1: 1, tl: 72 });
 * assert.deepEqual([...sqe.subarray(40, 48)], [0, 1, 1, 0xe9, 72, 0, 0, 0]);
 * ```
 */
export function encodeAuthSend(cmd: AuthSend, into?: Uint8Array): Uint8Array {
  checkAuth(cmd, "TL", cmd.tl);
  const out = sqeOut(into);
  const v = beginFabrics(out, FabricsType.AUTHENTICATION_SEND, cmd.cid);
  writeAuth(v, cmd, cmd.tl);
  return out;
}

/**
 * Decodes Authentication Send.
 *
 * @param sqe The raw SQE.
 * @returns CID, SECP, SPSP0, SPSP1 and TL.
 * @throws {RangeError} If `sqe` is shorter than 64 bytes.
 * @throws {ProtocolFieldError} For another command.
 * @example Usage
 * ```ts
 * import { decodeAuthSend, encodeAuthSend } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * const cmd = { cid: 1, secp: 0xe9, spsp0: 1, spsp1: 1, tl: 16 };
 * assert.deepEqual(decodeAuthSend(encodeAuthSend(cmd)), cmd);
 * ```
 */
export function decodeAuthSend(sqe: Uint8Array): AuthSend {
  const v = openFabrics(sqe, FabricsType.AUTHENTICATION_SEND, "Authentication Send");
  return {
    cid: v.getUint16(SQE_CID, true),
    secp: v.getUint8(AUTH_SECP),
    spsp0: v.getUint8(AUTH_SPSP0),
    spsp1: v.getUint8(AUTH_SPSP1),
    tl: v.getUint32(AUTH_TL, true),
  };
}

/**
 * Encodes Authentication Receive (Base 6.2): asks for the controller's next authentication
 * message, up to AL bytes.
 *
 * @param cmd CID, SECP, SPSP0, SPSP1 and AL.
 * @param into Destination SQE, at least 64 bytes; DPTR is left as it is. A new one unless given.
 * @returns The SQE (`into` or the new one).
 * @throws {RangeError} If a field is out of range.
 * @example Usage
 * ```ts
 * import { encodeAuthReceive } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * const sqe = encodeAuthReceive({ cid: 2, secp: 0xe9, spsp0: 1, spsp1: 1, al: 4096 });
 * assert.equal(sqe[4], 0x06);
 * ```
 */
export function encodeAuthReceive(cmd: AuthReceive, into?: Uint8Array): Uint8Array {
  checkAuth(cmd, "AL", cmd.al);
  const out = sqeOut(into);
  const v = beginFabrics(out, FabricsType.AUTHENTICATION_RECEIVE, cmd.cid);
  writeAuth(v, cmd, cmd.al);
  return out;
}

/**
 * Decodes Authentication Receive.
 *
 * @param sqe The raw SQE.
 * @returns CID, SECP, SPSP0, SPSP1 and AL.
 * @throws {RangeError} If `sqe` is shorter than 64 bytes.
 * @throws {ProtocolFieldError} For another command.
 * @example Usage
 * ```ts
 * import { decodeAuthReceive, encodeAuthReceive } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * const cmd = { cid: 2, secp: 0xe9, spsp0: 1, spsp1: 1, al: 4096 };
 * assert.deepEqual(decodeAuthReceive(encodeAuthReceive(cmd)), cmd);
 * ```
 */
export function decodeAuthReceive(sqe: Uint8Array): AuthReceive {
  const v = openFabrics(sqe, FabricsType.AUTHENTICATION_RECEIVE, "Authentication Receive");
  return {
    cid: v.getUint16(SQE_CID, true),
    secp: v.getUint8(AUTH_SECP),
    spsp0: v.getUint8(AUTH_SPSP0),
    spsp1: v.getUint8(AUTH_SPSP1),
    al: v.getUint32(AUTH_AL, true),
  };
}

// ---------------------------------------------------------------------------------------------
// Connect data

function writeNqn(out: Uint8Array, at: number, value: string, field: string): void {
  if (value.includes("\0")) {
    throw new RangeError(`Cannot encode ${field} as it contains a NUL character`);
  }
  // Leave room for the terminating NUL (Base 4.5).
  const { read, written } = utf8Encoder.encodeInto(
    value,
    out.subarray(at, at + NQN_FIELD_SIZE - 1),
  );
  if (read !== value.length) {
    throw new RangeError(
      `Cannot encode ${field} as it must fit ${
        NQN_FIELD_SIZE - 1
      } bytes of UTF-8 with its NUL: received ${value.length} characters`,
    );
  }
  out.fill(0, at + written, at + NQN_FIELD_SIZE);
}

function readNqn(bytes: Uint8Array, at: number, field: string): string {
  const raw = bytes.subarray(at, at + NQN_FIELD_SIZE);
  const end = raw.indexOf(0);
  if (end < 0) {
    throw new ProtocolFieldError(
      `Cannot decode ${field} as it has no NUL within ${NQN_FIELD_SIZE} bytes`,
      field,
      at,
    );
  }
  try {
    return utf8Decoder.decode(raw.subarray(0, end));
  } catch {
    throw new ProtocolFieldError(`Cannot decode ${field} as it is not valid UTF-8`, field, at);
  }
}

/**
 * Encodes the 1024-byte Connect data: HOSTID, CNTLID, SUBNQN and HOSTNQN, each NQN UTF-8 and
 * NUL padded in its 256-byte field, reserved bytes 0.
 *
 * @param d The fields.
 * @param into Destination, at least 1024 bytes; a new 1024-byte array unless given.
 * @returns `into`, or the new array.
 * @throws {RangeError} If HOSTID is not 16 bytes, CNTLID out of range, an NQN too long for its
 * field or holding a NUL, or `into` too short.
 * @example Usage
 * ```ts
 * import { encodeConnectData } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * const data = encodeConnectData({
 *   hostid: new Uint8Array(16), cntlid: 0xffff,
 *   subnqn: "nqn.2026-01.test:kernel-target", hostnqn: "nqn.2026-01.test:host",
 * });
 * assert.equal(data.length, 1024);
 * assert.equal(data[256], "n".charCodeAt(0));
 * ```
 */
export function encodeConnectData(d: ConnectData, into?: Uint8Array): Uint8Array {
  if (d.hostid.length !== CONNECT_DATA_HOSTID_SIZE) {
    throw new RangeError(
      `Cannot encode HOSTID as it must be ${CONNECT_DATA_HOSTID_SIZE} bytes: received ${d.hostid.length}`,
    );
  }
  checkUint("CNTLID", d.cntlid, 0xffff);
  const out = into ?? new Uint8Array(CONNECT_DATA_SIZE);
  if (out.length < CONNECT_DATA_SIZE) {
    throw new RangeError(
      `Cannot encode Connect data as it needs ${CONNECT_DATA_SIZE} bytes: received ${out.length}`,
    );
  }
  out.fill(0, 0, CONNECT_DATA_SIZE);
  writeNqn(out, CONNECT_DATA_SUBNQN, d.subnqn, "SUBNQN");
  writeNqn(out, CONNECT_DATA_HOSTNQN, d.hostnqn, "HOSTNQN");
  out.set(d.hostid, CONNECT_DATA_HOSTID);
  dataView(out).setUint16(CONNECT_DATA_CNTLID, d.cntlid, true);
  return out;
}

/** Fields of the Connect data in order, for naming the first one a short buffer cuts. */
const CONNECT_DATA_FIELDS: readonly [string, number, number][] = [
  ["HOSTID", CONNECT_DATA_HOSTID, CONNECT_DATA_HOSTID_SIZE],
  ["CNTLID", CONNECT_DATA_CNTLID, 2],
  ["SUBNQN", CONNECT_DATA_SUBNQN, NQN_FIELD_SIZE],
  ["HOSTNQN", CONNECT_DATA_HOSTNQN, NQN_FIELD_SIZE],
  ["RSVD", CONNECT_DATA_RSVD, CONNECT_DATA_SIZE - CONNECT_DATA_RSVD],
];

/**
 * Decodes the 1024-byte Connect data. HOSTID is copied, so the result outlives `bytes`.
 *
 * @param bytes The Connect data; only the first 1024 bytes are read.
 * @returns HOSTID, CNTLID, SUBNQN and HOSTNQN.
 * @throws {ProtocolFieldError} If `bytes` is shorter than 1024 bytes (naming the first field
 * cut short), or an NQN has no NUL within its 256 bytes or is not UTF-8.
 * @example Usage
 * ```ts
 * import { decodeConnectData, encodeConnectData } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * const d = {
 *   hostid: new Uint8Array(16).fill(7), cntlid: 1,
 *   subnqn: "nqn.2026-01.test:kernel-target", hostnqn: "nqn.2026-01.test:host",
 * };
 * assert.deepEqual(decodeConnectData(encodeConnectData(d)), d);
 * ```
 */
export function decodeConnectData(bytes: Uint8Array): ConnectData {
  if (bytes.length < CONNECT_DATA_SIZE) {
    const [field, offset] = CONNECT_DATA_FIELDS.find(([, at, size]) => bytes.length < at + size)!;
    throw new ProtocolFieldError(
      `Cannot decode Connect data as it needs ${CONNECT_DATA_SIZE} bytes: received ${bytes.length}`,
      field,
      offset,
    );
  }
  return {
    hostid: bytes.slice(CONNECT_DATA_HOSTID, CONNECT_DATA_HOSTID + CONNECT_DATA_HOSTID_SIZE),
    cntlid: dataView(bytes).getUint16(CONNECT_DATA_CNTLID, true),
    subnqn: readNqn(bytes, CONNECT_DATA_SUBNQN, "SUBNQN"),
    hostnqn: readNqn(bytes, CONNECT_DATA_HOSTNQN, "HOSTNQN"),
  };
}

// ---------------------------------------------------------------------------------------------
// Responses

function dwords(cqe: Uint8Array | Cqe): [number, number] {
  if (cqe instanceof Uint8Array) {
    if (cqe.length < CQE_DW1 + 4) {
      throw new RangeError(
        `Cannot read DW0 and DW1 as a CQE needs 16 bytes: received ${cqe.length}`,
      );
    }
    const v = dataView(cqe);
    return [v.getUint32(CQE_DW0, true), v.getUint32(CQE_DW1, true)];
  }
  return [cqe.dw0, cqe.dw1];
}

/**
 * Decodes DW0 of a successful Connect response: CNTLID and AUTHREQ (Fabrics 3.3; Linux
 * `nvmf_connect_admin_queue` reads CNTLID from bits 15:0 and tests ATR and ASCR on DW0).
 *
 * @param cqe The CQE, raw or decoded.
 * @returns CNTLID, AUTHREQ (bits 31:16 shifted down) and its ATR and ASCR bits.
 * @throws {RangeError} If raw bytes are shorter than 16.
 * @example Usage
 * ```ts
 * import { decodeConnectResponse } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * // a Linux target asking for DH-HMAC-CHAP: DW0 0x00020001
 * const r = decodeConnectResponse({ dw0: 0x00020001, dw1: 0, sqhd: 1, sqid: 0, cid: 0, status: 0 });
 * assert.deepEqual(r, { cntlid: 1, authreq: 0x0002, atr: true, ascr: false });
 * ```
 */
export function decodeConnectResponse(cqe: Uint8Array | Cqe): ConnectResponse {
  const [dw0] = dwords(cqe);
  return {
    cntlid: dw0 & ConnectResponseBits.CNTLID_MASK,
    authreq: (dw0 >>> ConnectResponseBits.AUTHREQ_SHIFT) & ConnectResponseBits.AUTHREQ_MASK,
    atr: (dw0 & ConnectAuthReq.ATR) !== 0,
    ascr: (dw0 & ConnectAuthReq.ASCR) !== 0,
  };
}

/**
 * DW0 of a successful Connect response.
 *
 * @param cntlid The controller's CNTLID.
 * @param authreq AUTHREQ as the 16-bit field (DW0 bits 31:16 shifted down), 0 unless given;
 * `ConnectAuthReq.ATR >>> 16` asks for authentication.
 * @returns DW0.
 * @throws {RangeError} If CNTLID or AUTHREQ does not fit 16 bits.
 * @example Usage
 * ```ts
 * import { connectResponseDw0 } from "@nvmf/proto/fabrics";
 * import { ConnectAuthReq } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * assert.equal(connectResponseDw0(1), 1);
 * assert.equal(connectResponseDw0(1, ConnectAuthReq.ATR >>> 16), 0x00020001);
 * ```
 */
export function connectResponseDw0(cntlid: number, authreq = 0): number {
  checkUint("CNTLID", cntlid, ConnectResponseBits.CNTLID_MASK);
  checkUint("AUTHREQ", authreq, ConnectResponseBits.AUTHREQ_MASK);
  return ((authreq << ConnectResponseBits.AUTHREQ_SHIFT) | cntlid) >>> 0;
}

/**
 * DW0 of a Connect response with status CONNECT_INVALID_PARAMETERS: IATTR and IPO (Fabrics 3.3;
 * Linux drivers/nvme/target/nvmet.h `IPO_IATTR_CONNECT_DATA(x)` is `1 << 16 | offsetof(data, x)`,
 * `IPO_IATTR_CONNECT_SQE(x)` is `offsetof(command, x)`).
 *
 * @param inData True when the offending field is in the Connect data, false in the SQE.
 * @param offset Byte offset of the field, e.g. {@linkcode CONNECT_DATA_SUBNQN}.
 * @returns DW0.
 * @throws {RangeError} If the offset does not fit 16 bits.
 * @example Usage
 * ```ts
 * import { CONNECT_DATA_SUBNQN, connectInvalidParameterDw0 } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * assert.equal(connectInvalidParameterDw0(true, CONNECT_DATA_SUBNQN), 0x00010100);
 * ```
 */
export function connectInvalidParameterDw0(inData: boolean, offset: number): number {
  checkUint("IPO", offset, ConnectResponseBits.IPO_MASK);
  return ((inData ? CONNECT_IATTR_DATA : 0) | offset) >>> 0;
}

/**
 * Decodes DW0 of a Connect response with status CONNECT_INVALID_PARAMETERS.
 *
 * @param cqe The CQE, raw or decoded.
 * @returns Whether the field is in the Connect data, and its offset.
 * @throws {RangeError} If raw bytes are shorter than 16.
 * @example Usage
 * ```ts
 * import { decodeConnectInvalidParameter } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * const cqe = { dw0: 0x00010010, dw1: 0, sqhd: 0, sqid: 0, cid: 0, status: 0x8304 };
 * assert.deepEqual(decodeConnectInvalidParameter(cqe), { inData: true, offset: 16 });
 * ```
 */
export function decodeConnectInvalidParameter(cqe: Uint8Array | Cqe): ConnectInvalidParameter {
  const [dw0] = dwords(cqe);
  return {
    inData: (dw0 & CONNECT_IATTR_DATA) !== 0,
    offset: dw0 & ConnectResponseBits.IPO_MASK,
  };
}

/**
 * The value a Property Get response carries: DW0 | DW1 << 32 (Fabrics 3.4.1; DW1 is 0 for a
 * 4-byte property).
 *
 * @param cqe The CQE, raw or decoded.
 * @returns The 64-bit value.
 * @throws {RangeError} If raw bytes are shorter than 16.
 * @example Usage
 * ```ts
 * import { propertyGetValue } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * const cqe = { dw0: 0x0f0003ff, dw1: 0x820, sqhd: 2, sqid: 0, cid: 1, status: 0 };
 * assert.equal(propertyGetValue(cqe), 0x000008200f0003ffn);
 * ```
 */
export function propertyGetValue(cqe: Uint8Array | Cqe): bigint {
  const [dw0, dw1] = dwords(cqe);
  return BigInt(dw0) | (BigInt(dw1) << 32n);
}

/**
 * DW0 and DW1 of a Property Get response carrying `value`.
 *
 * @param value The property value, 0 to 2^64 - 1.
 * @returns `[dw0, dw1]`.
 * @throws {RangeError} If the value does not fit 64 bits.
 * @example Usage
 * ```ts
 * import { propertyGetResponseDw } from "@nvmf/proto/fabrics";
 * import assert from "node:assert/strict";
 * assert.deepEqual(propertyGetResponseDw(0x000008200f0003ffn), [0x0f0003ff, 0x820]);
 * ```
 */
export function propertyGetResponseDw(value: bigint): [number, number] {
  if (value < 0n || BigInt.asUintN(64, value) !== value) {
    throw new RangeError(`Cannot encode property value as it must fit 64 bits: received ${value}`);
  }
  return [Number(value & 0xffffffffn), Number(value >> 32n)];
}

/**
 * NVMe/TCP PDUs (NVMe/TCP Transport Specification 1.0, "TCP", section 3.6): field offsets, the
 * layout rules (PDO, PLEN, digests, padding), a whole-PDU encoder and decoder, allocation-free
 * header writers for the send path and the stateless header check transports run on every
 * received PDU (after FreeBSD's `nvmf_tcp_validate_pdu_header`).
 *
 * A PDU is a common header (CH, 8 bytes), a PDU specific header (PSH), the header digest HDGST
 * when negotiated, padding up to the receiver's PDU data alignment, the data and the data digest
 * DDGST. Digests are CRC32C, little endian. A PDU without data has PDO 0, no padding and no
 * DDGST. The encoder reproduces what Linux nvme-tcp/nvmet-tcp send byte for byte; the tests
 * check that on captured traffic.
 *
 * Decoded records hold views (`subarray`) of the bytes given to {@linkcode decodePdu}, not
 * copies: they stay valid only as long as the caller leaves those bytes alone.
 *
 * @example Usage
 * ```ts
 * import { decodePdu, encodePdu } from "@nvmf/proto/tcp-pdu";
 * import { PduType } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const r2t = { type: PduType.R2T, cccid: 3, ttag: 1, r2to: 0, r2tl: 65536 } as const;
 * const bytes = encodePdu(r2t, { hdgst: true, ddgst: false, pda: 0 });
 * assert.equal(bytes.length, 28); // 24-byte header + header digest
 * assert.deepEqual(decodePdu(bytes), r2t);
 * ```
 *
 * @module
 */

import {
  CQE_SIZE,
  Fes,
  IcDigest,
  PDU_COMMON_HEADER_SIZE,
  PDU_DIGEST_SIZE,
  PduFlags,
  PduHeaderLength,
  PduType,
  SQE_SIZE,
  TCP_MAXH2CDATA_ALIGN,
  TCP_MAXH2CDATA_MIN,
  TCP_PDA_MAX,
  TCP_PDA_UNIT,
  TCP_PFV_1_0,
  TCP_TERM_REQ_MAX_DATA,
} from "./constants.ts";
import { dataView, hex } from "./_bytes.ts";
import { crc32c, crc32cRange } from "./crc32c.ts";
import { ProtocolFieldError } from "./errors.ts";
import { SQE_CID } from "./sqe.ts";

// ---------------------------------------------------------------------------------------------
// Offsets (each also the FEI of its field, TCP 3.6.2.4)

/** Offset of PDU-TYPE in the common header. */
export const CH_TYPE = 0;
/** Offset of FLAGS in the common header. */
export const CH_FLAGS = 1;
/** Offset of HLEN, the header length without digest, in the common header. */
export const CH_HLEN = 2;
/** Offset of PDO, the offset of the data from the start of the PDU, in the common header. */
export const CH_PDO = 3;
/** Offset of PLEN (u32), the whole PDU length, in the common header. */
export const CH_PLEN = 4;
/** Size of the common header. */
export const CH_SIZE: number = PDU_COMMON_HEADER_SIZE;

/** Offset of PFV (u16) in ICReq. */
export const ICREQ_PFV = 8;
/** Offset of HPDA, the host's PDU data alignment (0's based, dwords), in ICReq. */
export const ICREQ_HPDA = 10;
/** Offset of DGST, the requested digests ({@linkcode IcDigest}), in ICReq. */
export const ICREQ_DGST = 11;
/** Offset of MAXR2T (u32, 0's based), outstanding R2Ts per command, in ICReq. */
export const ICREQ_MAXR2T = 12;

/** Offset of PFV (u16) in ICResp. */
export const ICRESP_PFV = 8;
/** Offset of CPDA, the controller's PDU data alignment (0's based, dwords), in ICResp. */
export const ICRESP_CPDA = 10;
/** Offset of DGST, the enabled digests ({@linkcode IcDigest}), in ICResp. */
export const ICRESP_DGST = 11;
/** Offset of MAXH2CDATA (u32), the most data one H2CData PDU may carry, in ICResp. */
export const ICRESP_MAXH2CDATA = 12;

/** Offset of FES (u16), the fatal error status, in H2CTermReq and C2HTermReq. */
export const TERMREQ_FES = 8;
/** Offset of FEI (u32), the fatal error information, in H2CTermReq and C2HTermReq. */
export const TERMREQ_FEI = 10;

/** Offset of the 64-byte SQE in CapsuleCmd. */
export const CAPSULE_CMD_SQE = 8;
/** Offset of the 16-byte CQE in CapsuleResp. */
export const CAPSULE_RESP_CQE = 8;

/** Offset of CCCID (u16), the CID of the command, in H2CData and C2HData. */
export const DATA_CCCID = 8;
/** Offset of TTAG (u16), the transfer tag of the R2T answered, in H2CData (reserved in C2H). */
export const DATA_TTAG = 10;
/** Offset of DATAO (u32), the offset of this data in the command's data, in H2CData/C2HData. */
export const DATA_DATAO = 12;
/** Offset of DATAL (u32), the length of the data in this PDU, in H2CData and C2HData. */
export const DATA_DATAL = 16;

/** Offset of CCCID (u16), the CID of the command, in R2T. */
export const R2T_CCCID = 8;
/** Offset of TTAG (u16), the transfer tag the host echoes in its H2CData, in R2T. */
export const R2T_TTAG = 10;
/** Offset of R2TO (u32), the offset of the data asked for, in R2T. */
export const R2T_R2TO = 12;
/** Offset of R2TL (u32), the length of the data asked for, in R2T. */
export const R2T_R2TL = 16;

const HDGSTF = PduFlags.HDGSTF;
const DDGSTF = PduFlags.DDGSTF;
const LAST_PDU = PduFlags.LAST_PDU;
const SUCCESS = PduFlags.SUCCESS;
const DGST_BITS = IcDigest.HDGST_ENABLE | IcDigest.DDGST_ENABLE;

// ---------------------------------------------------------------------------------------------
// Records

/** The common header of every PDU (TCP 3.6.1). */
export interface CommonHeader {
  /** PDU-TYPE, a {@linkcode PduType} value. */
  pduType: number;
  /** FLAGS, {@linkcode PduFlags} bits. */
  flags: number;
  /** HLEN: CH and PSH length, digest excluded. */
  hlen: number;
  /** PDO: offset of the data from the start of the PDU, 0 when there is none. */
  pdo: number;
  /** PLEN: the whole PDU length, digests and padding included. */
  plen: number;
}

/** ICReq, the host's first PDU (TCP 3.6.2.2). */
export interface IcReq {
  /** PDU type. */
  type: typeof PduType.IC_REQ;
  /** PFV, the PDU format version ({@linkcode TCP_PFV_1_0}). */
  pfv: number;
  /** HPDA: the data alignment the host wants in C2H PDUs, (HPDA + 1) * 4 bytes. */
  hpda: number;
  /** DGST HDGST_ENABLE: the host asks for header digests. */
  hdgst: boolean;
  /** DGST DDGST_ENABLE: the host asks for data digests. */
  ddgst: boolean;
  /** MAXR2T as on the wire: 0's based, so 0 means one outstanding R2T per command. */
  maxr2t: number;
}

/** ICResp, the controller's answer to ICReq (TCP 3.6.2.3). */
export interface IcResp {
  /** PDU type. */
  type: typeof PduType.IC_RESP;
  /** PFV, the PDU format version ({@linkcode TCP_PFV_1_0}). */
  pfv: number;
  /** CPDA: the data alignment the controller wants in H2C PDUs, (CPDA + 1) * 4 bytes. */
  cpda: number;
  /** DGST HDGST_ENABLE: header digests are on for the connection. */
  hdgst: boolean;
  /** DGST DDGST_ENABLE: data digests are on for the connection. */
  ddgst: boolean;
  /** MAXH2CDATA: the most data bytes one H2CData PDU may carry (at least 4096). */
  maxh2cdata: number;
}

/** H2CTermReq or C2HTermReq: the sender closes the connection after it (TCP 3.6.2.4). */
export interface TermReq {
  /** PDU type: H2C_TERM_REQ from a host, C2H_TERM_REQ from a controller. */
  type: typeof PduType.H2C_TERM_REQ | typeof PduType.C2H_TERM_REQ;
  /** FES, a {@linkcode Fes} value. */
  fes: number;
  /** FEI: for FES 0x01 and 0x06 the byte offset of the offending field, else reserved. */
  fei: number;
  /** The start of the offending PDU's header, at most 152 bytes. */
  data: Uint8Array;
}

/** CapsuleCmd: a command capsule, SQE plus optional in-capsule data (TCP 3.6.2.5). */
export interface CapsuleCmd {
  /** PDU type. */
  type: typeof PduType.CAPSULE_CMD;
  /** The 64-byte submission queue entry. */
  sqe: Uint8Array;
  /** In-capsule data; undefined when the PDU carries none. */
  data?: Uint8Array;
}

/** CapsuleResp: a response capsule, one CQE (TCP 3.6.2.6). */
export interface CapsuleResp {
  /** PDU type. */
  type: typeof PduType.CAPSULE_RESP;
  /** The 16-byte completion queue entry. */
  cqe: Uint8Array;
}

/** The header fields of H2CData and C2HData, what {@linkcode writeDataHeader} needs. */
export interface DataHeader {
  /** PDU type: H2C_DATA (host to controller, answers an R2T) or C2H_DATA. */
  type: typeof PduType.H2C_DATA | typeof PduType.C2H_DATA;
  /** CCCID: the CID of the command the data belongs to. */
  cccid: number;
  /** TTAG: the R2T's transfer tag in H2CData; reserved (0) in C2HData. */
  ttag: number;
  /** DATAO: offset of this data within the command's data. */
  datao: number;
  /** DATAL: length of the data in this PDU. */
  datal: number;
  /** FLAGS LAST_PDU: the last data PDU of the command (of the R2T, for H2CData). */
  last: boolean;
  /** FLAGS SUCCESS (C2HData only): the command succeeded and no CapsuleResp follows. */
  success: boolean;
}

/** H2CData or C2HData: command data (TCP 3.6.2.7, 3.6.2.8). */
export interface DataPdu extends DataHeader {
  /** The data, DATAL bytes. */
  data: Uint8Array;
}

/** R2T: the controller asks the host for data of a command (TCP 3.6.2.9). */
export interface R2t {
  /** PDU type. */
  type: typeof PduType.R2T;
  /** CCCID: the CID of the command. */
  cccid: number;
  /** TTAG: a tag the host echoes in the H2CData PDUs that answer. */
  ttag: number;
  /** R2TO: offset of the data asked for within the command's data. */
  r2to: number;
  /** R2TL: length of the data asked for. */
  r2tl: number;
}

/** Any NVMe/TCP PDU; `type` (a {@linkcode PduType} value) tells which. */
export type Pdu = IcReq | IcResp | TermReq | CapsuleCmd | CapsuleResp | DataPdu | R2t;

/** What the sender negotiated for a connection, the layout of every PDU it sends. */
export interface PduOptions {
  /** Header digests are enabled. */
  hdgst: boolean;
  /** Data digests are enabled. */
  ddgst: boolean;
  /** The receiver's PDU data alignment, 0's based in dwords (HPDA for C2H, CPDA for H2C). */
  pda: number;
}

/** Options of {@linkcode decodePdu}. */
export interface DecodeOptions {
  /** Whether header digests were negotiated; FLAGS HDGSTF must agree. Default: trust FLAGS. */
  hdgst?: boolean;
  /** Whether data digests were negotiated; FLAGS DDGSTF must agree. Default: trust FLAGS. */
  ddgst?: boolean;
  /** Check the digests present (default true). */
  verifyDigests?: boolean;
}

/** What a receiver accepts, for {@linkcode checkPduHeader}; one reused record per queue pair. */
export interface PduLimits {
  /** Which side receives: a controller gets H2C PDUs (even types), a host C2H (odd types). */
  role: "host" | "controller";
  /** Header digests were negotiated. */
  hdgst: boolean;
  /** Data digests were negotiated. */
  ddgst: boolean;
  /** The receiver's own PDU data alignment, 0's based in dwords (0 for 4-byte alignment). */
  rxpda: number;
  /**
   * Most data bytes one PDU may carry, to bound the receive buffer: for a controller the larger
   * of its in-capsule data size and MAXH2CDATA, for a host its C2H limit. Per-type limits (ICD
   * vs MAXH2CDATA) and DATAO/DATAL against the command are the transport's to check after.
   */
  maxDataLength: number;
  /** Set by {@linkcode checkPduHeader}: the FEI of the error, 0 when none. */
  fei: number;
}

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * A received PDU is malformed: the receiver sends a TermReq with {@linkcode PduError.fes} and
 * {@linkcode PduError.fei} and closes the connection (TCP 3.6.2.4).
 *
 * @example Usage
 * ```ts
 * import { decodePdu, PduError } from "@nvmf/proto/tcp-pdu";
 * import assert from "node:assert/strict";
 * const bad = Uint8Array.of(0x42, 0, 24, 0, 24, 0, 0, 0);
 * assert.throws(() => decodePdu(bad), (e) => e instanceof PduError && e.field === "type");
 * assert.throws(() => decodePdu(bad), SyntaxError);
 * ```
 */
export class PduError extends ProtocolFieldError {
  /** FES to send in the TermReq, a {@linkcode Fes} value. */
  readonly fes: number;
  /** FEI to send in the TermReq: the offset of the offending field (same as `offset`). */
  readonly fei: number;

  /**
   * Creates the error.
   *
   * @param message Sentence case, action first, detail after a colon.
   * @param fes The FES a receiver reports.
   * @param field Name of the offending field, e.g. `"plen"`.
   * @param offset Its byte offset in the PDU, also the FEI.
   */
  constructor(message: string, fes: number, field: string, offset: number) {
    super(message, field, offset);
    this.name = "PduError";
    this.fes = fes;
    this.fei = offset;
  }
}

/**
 * A PDU arrived intact except for its data digest: not fatal to the connection, the command
 * it belongs to fails (TCP 3.6.4: the controller completes it with Transient Transport Error,
 * the host fails it). The decoded PDU is kept in {@linkcode DataDigestError.pdu}.
 *
 * @example Usage
 * ```ts
 * import { DataDigestError, decodePdu, encodePdu } from "@nvmf/proto/tcp-pdu";
 * import { PduType } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const pdu = {
 *   type: PduType.C2H_DATA, cccid: 5, ttag: 0, datao: 0, datal: 4,
 *   last: true, success: false, data: Uint8Array.of(1, 2, 3, 4),
 * } as const;
 * const bytes = encodePdu(pdu, { hdgst: false, ddgst: true, pda: 0 });
 * bytes[25] ^= 1; // corrupt the data
 * assert.throws(() => decodePdu(bytes), (e) => e instanceof DataDigestError && e.cid === 5);
 * ```
 */
export class DataDigestError extends ProtocolFieldError {
  /** CID of the command whose data was damaged. */
  readonly cid: number;
  /** DDGST as received. */
  readonly received: number;
  /** CRC32C computed over the data received. */
  readonly computed: number;
  /** The decoded PDU, data included as received. */
  readonly pdu: CapsuleCmd | DataPdu;

  /**
   * Creates the error; `field` is `"ddgst"`.
   *
   * @param message Sentence case, action first, detail after a colon.
   * @param offset Offset of DDGST in the PDU.
   * @param pdu The decoded PDU.
   * @param cid CID of the command.
   * @param received DDGST as received.
   * @param computed CRC32C of the data.
   */
  constructor(
    message: string,
    offset: number,
    pdu: CapsuleCmd | DataPdu,
    cid: number,
    received: number,
    computed: number,
  ) {
    super(message, "ddgst", offset);
    this.name = "DataDigestError";
    this.pdu = pdu;
    this.cid = cid;
    this.received = received;
    this.computed = computed;
  }
}

// ---------------------------------------------------------------------------------------------
// Names

/**
 * Returns the spec name of a PDU type, e.g. `"CapsuleCmd"`, or `"type 0x0a"` for unknown ones.
 *
 * @param type A PDU-TYPE value.
 * @returns The name.
 * @example Usage
 * ```ts
 * import { pduTypeName } from "@nvmf/proto/tcp-pdu";
 * import assert from "node:assert/strict";
 * assert.equal(pduTypeName(0x07), "C2HData");
 * assert.equal(pduTypeName(0x0a), "type 0x0a");
 * ```
 */
export function pduTypeName(type: number): string {
  switch (type) {
    case PduType.IC_REQ:
      return "ICReq";
    case PduType.IC_RESP:
      return "ICResp";
    case PduType.H2C_TERM_REQ:
      return "H2CTermReq";
    case PduType.C2H_TERM_REQ:
      return "C2HTermReq";
    case PduType.CAPSULE_CMD:
      return "CapsuleCmd";
    case PduType.CAPSULE_RESP:
      return "CapsuleResp";
    case PduType.H2C_DATA:
      return "H2CData";
    case PduType.C2H_DATA:
      return "C2HData";
    case PduType.R2T:
      return "R2T";
  }
  return `type ${hex(type, 2)}`;
}

/**
 * Describes a Fatal Error Status value (TCP 3.6.2.4, Figure 21).
 *
 * @param fes A FES value.
 * @returns A short sentence-case description.
 * @example Usage
 * ```ts
 * import { fesName } from "@nvmf/proto/tcp-pdu";
 * import assert from "node:assert/strict";
 * assert.equal(fesName(0x03), "Header digest error");
 * ```
 */
export function fesName(fes: number): string {
  switch (fes) {
    case Fes.INVALID_PDU_HEADER_FIELD:
      return "Invalid PDU header field";
    case Fes.PDU_SEQUENCE_ERROR:
      return "PDU sequence error";
    case Fes.HEADER_DIGEST_ERROR:
      return "Header digest error";
    case Fes.DATA_TRANSFER_OUT_OF_RANGE:
      return "Data transfer out of range";
    case Fes.DATA_TRANSFER_LIMIT_EXCEEDED:
      return "Data transfer limit exceeded";
    case Fes.UNSUPPORTED_PARAMETER:
      return "Unsupported parameter";
  }
  return `Reserved FES ${hex(fes, 2)}`;
}

/**
 * Formats a received TermReq for a log line or an error message.
 *
 * @param t The TermReq.
 * @returns E.g. `C2HTermReq: Invalid PDU header field (FES 0x01), FEI 4, 24 bytes of PDU header`.
 * @example Usage
 * ```ts
 * import { formatTermReq } from "@nvmf/proto/tcp-pdu";
 * import { PduType } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const t = { type: PduType.C2H_TERM_REQ, fes: 1, fei: 4, data: new Uint8Array(24) } as const;
 * assert.equal(
 *   formatTermReq(t),
 *   "C2HTermReq: Invalid PDU header field (FES 0x01), FEI 4, 24 bytes of PDU header",
 * );
 * ```
 */
export function formatTermReq(t: TermReq): string {
  return `${pduTypeName(t.type)}: ${fesName(t.fes)} (FES ${hex(t.fes, 2)}), FEI ${t.fei}, ` +
    `${t.data.length} bytes of PDU header`;
}

// ---------------------------------------------------------------------------------------------
// Layout

/**
 * Returns HLEN, the fixed header length (CH + PSH) of a PDU type, or 0 for an unknown type.
 *
 * @param type A PDU-TYPE value.
 * @returns HLEN in bytes.
 * @example Usage
 * ```ts
 * import { expectedHlen } from "@nvmf/proto/tcp-pdu";
 * import { PduType } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * assert.equal(expectedHlen(PduType.CAPSULE_CMD), 72);
 * assert.equal(expectedHlen(0x08), 0);
 * ```
 */
export function expectedHlen(type: number): number {
  switch (type) {
    case PduType.IC_REQ:
      return PduHeaderLength.IC_REQ;
    case PduType.IC_RESP:
      return PduHeaderLength.IC_RESP;
    case PduType.H2C_TERM_REQ:
    case PduType.C2H_TERM_REQ:
      return PduHeaderLength.TERM_REQ;
    case PduType.CAPSULE_CMD:
      return PduHeaderLength.CAPSULE_CMD;
    case PduType.CAPSULE_RESP:
      return PduHeaderLength.CAPSULE_RESP;
    case PduType.H2C_DATA:
      return PduHeaderLength.H2C_DATA;
    case PduType.C2H_DATA:
      return PduHeaderLength.C2H_DATA;
    case PduType.R2T:
      return PduHeaderLength.R2T;
  }
  return 0;
}

/**
 * Returns PDO, where the data of a PDU starts: after the header and its digest, rounded up to
 * the receiver's alignment (PDA + 1) * 4 (TCP 3.6.2.1; FreeBSD `roundup(plen, txpda)`). Linux
 * only negotiates PDA 0, where no padding is ever needed. Only for PDUs that carry data: a PDU
 * without data has PDO 0.
 *
 * @param hlen HLEN of the PDU type.
 * @param hdgst Header digests are enabled.
 * @param pda The receiver's HPDA or CPDA, 0 to 31.
 * @returns PDO in bytes.
 * @throws {RangeError} If `pda` is not an integer from 0 to 31.
 * @example Usage
 * ```ts
 * import { pduDataOffset } from "@nvmf/proto/tcp-pdu";
 * import assert from "node:assert/strict";
 * assert.equal(pduDataOffset(72, true, 0), 76);
 * assert.equal(pduDataOffset(72, true, 3), 80); // 16-byte alignment
 * assert.equal(pduDataOffset(24, false, 31), 128);
 * ```
 */
export function pduDataOffset(hlen: number, hdgst: boolean, pda: number): number {
  if (!Number.isInteger(pda) || pda < 0 || pda > TCP_PDA_MAX) {
    throw new RangeError(`Cannot lay out PDU data: PDA ${pda} is not an integer from 0 to 31`);
  }
  const align = (pda + 1) * TCP_PDA_UNIT;
  const end = hlen + (hdgst ? PDU_DIGEST_SIZE : 0);
  return Math.ceil(end / align) * align;
}

/**
 * Returns PLEN of a PDU that may carry data and digests (CapsuleCmd, CapsuleResp, H2CData,
 * C2HData, R2T): header, header digest, then, when there is data, padding, data and data
 * digest. ICReq/ICResp are always 128 bytes; a TermReq is 24 bytes plus its data.
 *
 * @param hlen HLEN of the PDU type.
 * @param dataLength Bytes of data, 0 for none.
 * @param opts The digests and alignment in force.
 * @returns PLEN in bytes.
 * @example Usage
 * ```ts
 * import { pduLength } from "@nvmf/proto/tcp-pdu";
 * import assert from "node:assert/strict";
 * const opts = { hdgst: true, ddgst: true, pda: 0 };
 * assert.equal(pduLength(24, 4096, opts), 24 + 4 + 4096 + 4);
 * assert.equal(pduLength(72, 0, opts), 76); // no data, no data digest
 * ```
 */
export function pduLength(hlen: number, dataLength: number, opts: PduOptions): number {
  if (dataLength === 0) return hlen + (opts.hdgst ? PDU_DIGEST_SIZE : 0);
  return pduDataOffset(hlen, opts.hdgst, opts.pda) + dataLength +
    (opts.ddgst ? PDU_DIGEST_SIZE : 0);
}

/**
 * Returns how many data bytes a PDU with a valid header carries, digest and padding excluded:
 * what the receiver reads at PDO (TermReq: right after the header).
 *
 * @param ch A common header that passed {@linkcode checkPduHeader}.
 * @returns The data length in bytes.
 * @example Usage
 * ```ts
 * import { pduDataLength } from "@nvmf/proto/tcp-pdu";
 * import assert from "node:assert/strict";
 * assert.equal(pduDataLength({ pduType: 0x07, flags: 0x07, hlen: 24, pdo: 28, plen: 4128 }), 4096);
 * ```
 */
export function pduDataLength(ch: CommonHeader): number {
  switch (ch.pduType) {
    case PduType.H2C_TERM_REQ:
    case PduType.C2H_TERM_REQ:
      return ch.plen - ch.hlen;
    case PduType.CAPSULE_CMD:
    case PduType.H2C_DATA:
    case PduType.C2H_DATA: {
      if (ch.pdo === 0) return 0;
      return ch.plen - ch.pdo - ((ch.flags & DDGSTF) !== 0 ? PDU_DIGEST_SIZE : 0);
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Common header

/**
 * Reads the common header at `at` into `out` (no allocation).
 *
 * @param view The received bytes.
 * @param at Offset of the PDU in `view`.
 * @param out The record to fill, reused across PDUs.
 * @example Usage
 * ```ts
 * import { type CommonHeader, readCommonHeader } from "@nvmf/proto/tcp-pdu";
 * import assert from "node:assert/strict";
 * const ch: CommonHeader = { pduType: 0, flags: 0, hlen: 0, pdo: 0, plen: 0 };
 * readCommonHeader(new DataView(Uint8Array.of(5, 1, 24, 0, 28, 0, 0, 0).buffer), 0, ch);
 * assert.deepEqual(ch, { pduType: 5, flags: 1, hlen: 24, pdo: 0, plen: 28 });
 * ```
 */
export function readCommonHeader(view: DataView, at: number, out: CommonHeader): void {
  out.pduType = view.getUint8(at + CH_TYPE);
  out.flags = view.getUint8(at + CH_FLAGS);
  out.hlen = view.getUint8(at + CH_HLEN);
  out.pdo = view.getUint8(at + CH_PDO);
  out.plen = view.getUint32(at + CH_PLEN, true);
}

/**
 * Writes a common header at `at`.
 *
 * @param view The buffer to write.
 * @param at Offset of the PDU in `view`.
 * @param ch The field values.
 * @example Usage
 * ```ts
 * import { writeCommonHeader } from "@nvmf/proto/tcp-pdu";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(8);
 * writeCommonHeader(new DataView(b.buffer), 0, { pduType: 5, flags: 0, hlen: 24, pdo: 0, plen: 24 });
 * assert.deepEqual([...b], [5, 0, 24, 0, 24, 0, 0, 0]);
 * ```
 */
export function writeCommonHeader(view: DataView, at: number, ch: CommonHeader): void {
  setHeader(view, at, ch.pduType, ch.flags, ch.hlen, ch.pdo, ch.plen);
}

function setHeader(
  view: DataView,
  at: number,
  type: number,
  flags: number,
  hlen: number,
  pdo: number,
  plen: number,
): void {
  view.setUint8(at + CH_TYPE, type);
  view.setUint8(at + CH_FLAGS, flags);
  view.setUint8(at + CH_HLEN, hlen);
  view.setUint8(at + CH_PDO, pdo);
  view.setUint32(at + CH_PLEN, plen, true);
}

// ---------------------------------------------------------------------------------------------
// Header validation

const ROLE_ANY = 0;
const ROLE_HOST = 1;
const ROLE_CONTROLLER = 2;
const UNKNOWN = -1;

/** FEI and reason of the last failed {@linkcode validate}; strings are literals, no allocation. */
let failFei = 0;
let failReason = "";

function fail(fei: number, reason: string): number {
  failFei = fei;
  failReason = reason;
  return Fes.INVALID_PDU_HEADER_FIELD;
}

function validFlags(type: number): number {
  switch (type) {
    case PduType.CAPSULE_CMD:
      return HDGSTF | DDGSTF;
    case PduType.CAPSULE_RESP:
    case PduType.R2T:
      return HDGSTF;
    case PduType.H2C_DATA:
      return HDGSTF | DDGSTF | LAST_PDU;
    case PduType.C2H_DATA:
      return HDGSTF | DDGSTF | LAST_PDU | SUCCESS;
  }
  return 0;
}

function carriesData(type: number): boolean {
  return type === PduType.CAPSULE_CMD || type === PduType.H2C_DATA ||
    type === PduType.C2H_DATA;
}

/**
 * Checks a common header field by field, lowest offset first (TCP 3.6.2.4, as FreeBSD's
 * `nvmf_tcp_validate_pdu_header`). Returns 0 or an FES with `failFei`/`failReason` set.
 * `hdgst`/`ddgst` are 1, 0 or UNKNOWN (trust FLAGS); `align` is in bytes.
 */
function validate(
  type: number,
  flags: number,
  hlen: number,
  pdo: number,
  plen: number,
  role: number,
  allowIc: boolean,
  hdgst: number,
  ddgst: number,
  align: number,
  maxData: number,
): number {
  // PDU-TYPE
  const wantHlen = expectedHlen(type);
  if (wantHlen === 0) return fail(CH_TYPE, "unknown PDU type");
  if (role !== ROLE_ANY && ((type & 1) === 0) !== (role === ROLE_CONTROLLER)) {
    return fail(
      CH_TYPE,
      role === ROLE_CONTROLLER
        ? "a controller receives only host-to-controller PDUs"
        : "a host receives only controller-to-host PDUs",
    );
  }
  if (!allowIc && (type === PduType.IC_REQ || type === PduType.IC_RESP)) {
    return fail(CH_TYPE, "ICReq and ICResp are valid only before the connection is set up");
  }

  // FLAGS
  const valid = validFlags(type);
  if ((flags & ~valid) !== 0) return fail(CH_FLAGS, "a flag is set that this PDU type lacks");
  const fullHlen = hlen + ((flags & HDGSTF) !== 0 ? PDU_DIGEST_SIZE : 0);
  const hasData = plen > fullHlen;
  if (hdgst !== UNKNOWN && ((flags & HDGSTF) !== 0) !== (hdgst === 1 && (valid & HDGSTF) !== 0)) {
    return fail(CH_FLAGS, "HDGSTF does not match the negotiated header digest");
  }
  if (
    ddgst !== UNKNOWN &&
    ((flags & DDGSTF) !== 0) !== (ddgst === 1 && (valid & DDGSTF) !== 0 && hasData)
  ) {
    return fail(CH_FLAGS, "DDGSTF does not match the negotiated data digest");
  }
  if ((flags & DDGSTF) !== 0 && !hasData) {
    return fail(CH_FLAGS, "DDGSTF is set on a PDU without data");
  }
  // TCP 3.6.2.8: SUCCESS only on the last C2HData PDU.
  if ((flags & (LAST_PDU | SUCCESS)) === SUCCESS) {
    return fail(CH_FLAGS, "SUCCESS is set without LAST_PDU");
  }

  // HLEN
  if (hlen !== wantHlen) return fail(CH_HLEN, "not the header length of this PDU type");

  // PDO
  if (!carriesData(type)) {
    if (pdo !== 0) return fail(CH_PDO, "this PDU type has no data offset");
  } else if (pdo !== 0 || hasData) {
    if (pdo < fullHlen) return fail(CH_PDO, "it points inside the header");
    if (pdo > plen) return fail(CH_PDO, "it points beyond PLEN");
    if (pdo % align !== 0) return fail(CH_PDO, "not a multiple of the PDU data alignment");
  }

  // PLEN
  if (plen < fullHlen) return fail(CH_PLEN, "shorter than the header");
  let dataLength = 0;
  switch (type) {
    case PduType.IC_REQ:
    case PduType.IC_RESP:
      if (plen !== hlen) return fail(CH_PLEN, "ICReq and ICResp are exactly 128 bytes");
      break;
    case PduType.H2C_TERM_REQ:
    case PduType.C2H_TERM_REQ:
      // TCP 3.6.2.4: the data is at most 152 bytes of the offending header.
      if (plen - hlen > TCP_TERM_REQ_MAX_DATA) {
        return fail(CH_PLEN, "a TermReq carries at most 152 bytes of data");
      }
      break;
    case PduType.CAPSULE_RESP:
    case PduType.R2T:
      if (hasData) return fail(CH_PLEN, "this PDU type carries no data");
      break;
    default:
      if (hasData) {
        dataLength = plen - pdo;
        if ((flags & DDGSTF) !== 0) {
          if (dataLength <= PDU_DIGEST_SIZE) return fail(CH_PLEN, "too short for its data digest");
          dataLength -= PDU_DIGEST_SIZE;
        }
      }
  }
  if (dataLength > maxData) {
    failFei = CH_PLEN;
    failReason = "the data exceeds the negotiated limit";
    return Fes.DATA_TRANSFER_LIMIT_EXCEEDED;
  }
  return 0;
}

/**
 * Validates the common header of a received PDU before the rest is read, as FreeBSD's
 * `nvmf_tcp_validate_pdu_header`: PDU-TYPE (direction, known, not ICReq/ICResp once set up),
 * FLAGS (defined for the type, digest flags matching the negotiated digests, SUCCESS only with
 * LAST_PDU), HLEN, PDO (after the header, within PLEN, aligned to `rxpda`) and PLEN (header,
 * digests and data consistent, data within `maxDataLength`), in that order so that the lowest
 * incorrect field is reported first. Allocates nothing.
 *
 * On an error the caller sends a TermReq with the returned FES and `limits.fei` and closes the
 * connection, except for a received TermReq, which is never answered: the caller just closes
 * (TCP 3.6.2.4; FreeBSD returns ECONNRESET there).
 *
 * @param ch The received common header.
 * @param limits What this receiver accepts; `fei` is set on return.
 * @returns 0 when the header is acceptable, else the FES ({@linkcode Fes}) to report.
 * @example Usage
 * ```ts
 * import { CH_PLEN, checkPduHeader, type PduLimits } from "@nvmf/proto/tcp-pdu";
 * import assert from "node:assert/strict";
 * const limits: PduLimits = {
 *   role: "host", hdgst: false, ddgst: false, rxpda: 0, maxDataLength: 131072, fei: 0,
 * };
 * // A CapsuleResp whose PLEN is smaller than its header.
 * assert.equal(checkPduHeader({ pduType: 5, flags: 0, hlen: 24, pdo: 0, plen: 8 }, limits), 0x01);
 * assert.equal(limits.fei, CH_PLEN);
 * assert.equal(checkPduHeader({ pduType: 5, flags: 0, hlen: 24, pdo: 0, plen: 24 }, limits), 0);
 * ```
 */
export function checkPduHeader(ch: CommonHeader, limits: PduLimits): number {
  const fes = validate(
    ch.pduType,
    ch.flags,
    ch.hlen,
    ch.pdo,
    ch.plen,
    limits.role === "controller" ? ROLE_CONTROLLER : ROLE_HOST,
    false,
    limits.hdgst ? 1 : 0,
    limits.ddgst ? 1 : 0,
    (limits.rxpda + 1) * TCP_PDA_UNIT,
    limits.maxDataLength,
  );
  limits.fei = fes === 0 ? 0 : failFei;
  return fes;
}

// ---------------------------------------------------------------------------------------------
// Decoding

const FIELD_NAMES = ["type", "flags", "hlen", "pdo", "plen"];

function tri(v: boolean | undefined): number {
  return v === undefined ? UNKNOWN : v ? 1 : 0;
}

function headerError(
  fes: number,
  type: number,
  flags: number,
  hlen: number,
  pdo: number,
  plen: number,
): PduError {
  const name = pduTypeName(type);
  let what: string;
  switch (failFei) {
    case CH_TYPE:
      what = `Reject PDU ${name}`;
      break;
    case CH_FLAGS:
      what = `Reject FLAGS ${hex(flags, 2)} of ${name}`;
      break;
    case CH_HLEN:
      what = `Reject HLEN ${hlen} of ${name}`;
      break;
    case CH_PDO:
      what = `Reject PDO ${pdo} of ${name}`;
      break;
    default:
      what = `Reject PLEN ${plen} of ${name}`;
  }
  const detail = failFei === CH_HLEN ? `${failReason} (${expectedHlen(type)})` : failReason;
  return new PduError(`${what}: ${detail}`, fes, FIELD_NAMES[failFei], failFei);
}

/**
 * Decodes one whole PDU, checking every header field (as {@linkcode checkPduHeader} without a
 * direction, plus the PSH fields: PFV, HPDA/CPDA, DGST, MAXH2CDATA, DATAL) and the digests.
 * Bytes after PLEN are ignored. SQE, CQE and data are views into `bytes`, not copies.
 *
 * @param bytes The PDU, starting at its common header.
 * @param opts Negotiated digests to enforce, and whether to verify digests (default true).
 * @returns The typed PDU record.
 * @throws {PduError} If a field is invalid or the PDU is truncated (FES and field named).
 * @throws {DataDigestError} If only the data digest is wrong; the PDU is in the error.
 * @example Usage
 * ```ts
 * import { decodePdu } from "@nvmf/proto/tcp-pdu";
 * import assert from "node:assert/strict";
 * const icresp = new Uint8Array(128);
 * icresp.set([1, 0, 128, 0, 128, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0x40, 0]);
 * assert.deepEqual(decodePdu(icresp), {
 *   type: 1, pfv: 0, cpda: 0, hdgst: true, ddgst: true, maxh2cdata: 0x400000,
 * });
 * ```
 */
export function decodePdu(bytes: Uint8Array, opts: DecodeOptions = {}): Pdu {
  if (bytes.length < CH_SIZE) {
    throw new PduError(
      `Cannot decode PDU: ${bytes.length} bytes is shorter than the 8-byte common header`,
      Fes.INVALID_PDU_HEADER_FIELD,
      "plen",
      CH_PLEN,
    );
  }
  const view = dataView(bytes);
  const type = bytes[CH_TYPE];
  const flags = bytes[CH_FLAGS];
  const hlen = bytes[CH_HLEN];
  const pdo = bytes[CH_PDO];
  const plen = view.getUint32(CH_PLEN, true);
  const fes = validate(
    type,
    flags,
    hlen,
    pdo,
    plen,
    ROLE_ANY,
    true,
    tri(opts.hdgst),
    tri(opts.ddgst),
    TCP_PDA_UNIT,
    Infinity,
  );
  if (fes !== 0) throw headerError(fes, type, flags, hlen, pdo, plen);
  const name = pduTypeName(type);
  if (bytes.length < plen) {
    throw new PduError(
      `Cannot decode ${name}: PLEN ${plen} is more than the ${bytes.length} bytes given`,
      Fes.INVALID_PDU_HEADER_FIELD,
      "plen",
      CH_PLEN,
    );
  }
  const verify = opts.verifyDigests ?? true;
  if (verify && (flags & HDGSTF) !== 0) {
    const received = view.getUint32(hlen, true);
    const computed = crc32cRange(bytes, 0, hlen);
    if (received !== computed) {
      throw new PduError(
        `Reject header digest ${hex(received, 8)} of ${name}: ` +
          `the header's CRC32C is ${hex(computed, 8)}`,
        Fes.HEADER_DIGEST_ERROR,
        "hdgst",
        hlen,
      );
    }
  }
  const dataLength = pduDataLength({ pduType: type, flags, hlen, pdo, plen });
  const data = bytes.subarray(pdo, pdo + dataLength);

  let pdu: Pdu;
  let cid = 0;
  switch (type) {
    case PduType.IC_REQ:
    case PduType.IC_RESP: {
      const req = type === PduType.IC_REQ;
      const pfv = view.getUint16(ICREQ_PFV, true);
      if (pfv !== TCP_PFV_1_0) {
        throw new PduError(
          `Reject PFV ${pfv} of ${name}: only 0 (NVMe/TCP 1.0) is supported`,
          Fes.UNSUPPORTED_PARAMETER,
          "pfv",
          ICREQ_PFV,
        );
      }
      const pda = bytes[ICREQ_HPDA];
      if (pda > TCP_PDA_MAX) {
        throw new PduError(
          `Reject ${req ? "HPDA" : "CPDA"} ${pda} of ${name}: the maximum is 31`,
          Fes.INVALID_PDU_HEADER_FIELD,
          req ? "hpda" : "cpda",
          ICREQ_HPDA,
        );
      }
      const dgst = bytes[ICREQ_DGST];
      if ((dgst & ~DGST_BITS) !== 0) {
        throw new PduError(
          `Reject DGST ${hex(dgst, 2)} of ${name}: reserved bits are set`,
          Fes.INVALID_PDU_HEADER_FIELD,
          "dgst",
          ICREQ_DGST,
        );
      }
      const hdgst = (dgst & IcDigest.HDGST_ENABLE) !== 0;
      const ddgst = (dgst & IcDigest.DDGST_ENABLE) !== 0;
      const u32 = view.getUint32(ICREQ_MAXR2T, true);
      if (req) {
        pdu = { type: PduType.IC_REQ, pfv, hpda: pda, hdgst, ddgst, maxr2t: u32 };
      } else {
        // TCP 3.6.2.3: MAXH2CDATA is at least 4096 and a multiple of 4 (FreeBSD: FEI 12).
        if (u32 < TCP_MAXH2CDATA_MIN || u32 % TCP_MAXH2CDATA_ALIGN !== 0) {
          throw new PduError(
            `Reject MAXH2CDATA ${u32} of ICResp: it must be a multiple of 4 from 4096`,
            Fes.INVALID_PDU_HEADER_FIELD,
            "maxh2cdata",
            ICRESP_MAXH2CDATA,
          );
        }
        pdu = { type: PduType.IC_RESP, pfv, cpda: pda, hdgst, ddgst, maxh2cdata: u32 };
      }
      return pdu;
    }
    case PduType.H2C_TERM_REQ:
    case PduType.C2H_TERM_REQ:
      return {
        type: type as TermReq["type"],
        fes: view.getUint16(TERMREQ_FES, true),
        fei: view.getUint32(TERMREQ_FEI, true),
        data: bytes.subarray(hlen, plen),
      };
    case PduType.CAPSULE_CMD: {
      const sqe = bytes.subarray(CAPSULE_CMD_SQE, CAPSULE_CMD_SQE + SQE_SIZE);
      cid = view.getUint16(CAPSULE_CMD_SQE + SQE_CID, true);
      pdu = dataLength === 0
        ? { type: PduType.CAPSULE_CMD, sqe }
        : { type: PduType.CAPSULE_CMD, sqe, data };
      break;
    }
    case PduType.CAPSULE_RESP:
      return {
        type: PduType.CAPSULE_RESP,
        cqe: bytes.subarray(CAPSULE_RESP_CQE, CAPSULE_RESP_CQE + CQE_SIZE),
      };
    case PduType.H2C_DATA:
    case PduType.C2H_DATA: {
      const datal = view.getUint32(DATA_DATAL, true);
      if (datal !== dataLength) {
        throw new PduError(
          `Reject DATAL ${datal} of ${name}: the PDU carries ${dataLength} data bytes`,
          Fes.INVALID_PDU_HEADER_FIELD,
          "datal",
          DATA_DATAL,
        );
      }
      cid = view.getUint16(DATA_CCCID, true);
      pdu = {
        type: type as DataHeader["type"],
        cccid: cid,
        ttag: view.getUint16(DATA_TTAG, true),
        datao: view.getUint32(DATA_DATAO, true),
        datal,
        last: (flags & LAST_PDU) !== 0,
        success: (flags & SUCCESS) !== 0,
        data,
      };
      break;
    }
    default: // R2T, the last type validate() lets through
      return {
        type: PduType.R2T,
        cccid: view.getUint16(R2T_CCCID, true),
        ttag: view.getUint16(R2T_TTAG, true),
        r2to: view.getUint32(R2T_R2TO, true),
        r2tl: view.getUint32(R2T_R2TL, true),
      };
  }
  if (verify && (flags & DDGSTF) !== 0) {
    const received = view.getUint32(plen - PDU_DIGEST_SIZE, true);
    const computed = crc32cRange(bytes, pdo, pdo + dataLength);
    if (received !== computed) {
      throw new DataDigestError(
        `Reject data digest ${hex(received, 8)} of ${name} for CID ${cid}: ` +
          `the data's CRC32C is ${hex(computed, 8)}`,
        plen - PDU_DIGEST_SIZE,
        pdu,
        cid,
        received,
        computed,
      );
    }
  }
  return pdu;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Byte view of the last buffer written, reused while callers keep writing the same buffer. */
let bytesBuffer: ArrayBufferLike | undefined;
let bytesView: Uint8Array = new Uint8Array(0);

function bytesOf(view: DataView): Uint8Array {
  const buffer = view.buffer;
  // A resizable buffer may have changed size since the view was made.
  if (buffer !== bytesBuffer || bytesView.length < view.byteOffset + view.byteLength) {
    bytesView = new Uint8Array(buffer, 0, buffer.byteLength);
    bytesBuffer = buffer;
  }
  return bytesView;
}

function checkRoom(view: DataView, at: number, length: number, what: string): void {
  if (at < 0 || at + length > view.byteLength) {
    throw new RangeError(
      `Cannot write ${what} at ${at}: ${length} bytes do not fit in ${view.byteLength}`,
    );
  }
}

/** Writes the header digest of the header at `at` and zeroes the padding up to `headerEnd`. */
function finishHeader(
  view: DataView,
  at: number,
  hlen: number,
  hdgst: boolean,
  headerEnd: number,
): void {
  const bytes = bytesOf(view);
  const base = view.byteOffset + at;
  let end = hlen;
  if (hdgst) {
    view.setUint32(at + hlen, crc32cRange(bytes, base, base + hlen), true);
    end += PDU_DIGEST_SIZE;
  }
  if (headerEnd > end) bytes.fill(0, base + end, base + headerEnd);
}

/**
 * Writes the header of a CapsuleCmd (CH, SQE, header digest, padding) for a command with
 * `dataLength` bytes of in-capsule data; the caller sends the data after it and, with data
 * digests on and data present, `crc32c(data)` as 4 little-endian bytes after the data.
 * Allocates nothing.
 *
 * @param view The send buffer.
 * @param at Where the PDU starts in `view`.
 * @param sqe The 64-byte SQE.
 * @param dataLength In-capsule data bytes that follow, 0 for none.
 * @param opts Digests and the controller's CPDA.
 * @returns Bytes written: PDO when there is data, else the whole PDU.
 * @throws {RangeError} If the SQE is not 64 bytes or the header does not fit.
 * @example Usage
 * ```ts
 * import { writeCapsuleCmdHeader } from "@nvmf/proto/tcp-pdu";
 * import assert from "node:assert/strict";
 * const buf = new Uint8Array(128);
 * const n = writeCapsuleCmdHeader(new DataView(buf.buffer), 0, new Uint8Array(64), 512, {
 *   hdgst: true, ddgst: true, pda: 0,
 * });
 * assert.equal(n, 76);
 * assert.deepEqual([...buf.subarray(0, 4)], [0x04, 0x03, 72, 76]);
 * ```
 */
export function writeCapsuleCmdHeader(
  view: DataView,
  at: number,
  sqe: Uint8Array,
  dataLength: number,
  opts: PduOptions,
): number {
  if (sqe.length !== SQE_SIZE) {
    throw new RangeError(`Cannot write CapsuleCmd: the SQE is ${sqe.length} bytes, not 64`);
  }
  const hlen = PduHeaderLength.CAPSULE_CMD;
  const pdo = dataLength === 0 ? 0 : pduDataOffset(hlen, opts.hdgst, opts.pda);
  const headerEnd = dataLength === 0 ? hlen + (opts.hdgst ? PDU_DIGEST_SIZE : 0) : pdo;
  checkRoom(view, at, headerEnd, "CapsuleCmd");
  const flags = (opts.hdgst ? HDGSTF : 0) | (opts.ddgst && dataLength !== 0 ? DDGSTF : 0);
  setHeader(view, at, PduType.CAPSULE_CMD, flags, hlen, pdo, pduLength(hlen, dataLength, opts));
  bytesOf(view).set(sqe, view.byteOffset + at + CAPSULE_CMD_SQE);
  finishHeader(view, at, hlen, opts.hdgst, headerEnd);
  return headerEnd;
}

/**
 * Writes a whole CapsuleResp (CH, CQE, header digest). Allocates nothing.
 *
 * @param view The send buffer.
 * @param at Where the PDU starts in `view`.
 * @param cqe The 16-byte CQE.
 * @param opts Digests in force (`ddgst` and `pda` do not apply).
 * @returns Bytes written, PLEN.
 * @throws {RangeError} If the CQE is not 16 bytes or the PDU does not fit.
 * @example Usage
 * ```ts
 * import { writeCapsuleResp } from "@nvmf/proto/tcp-pdu";
 * import assert from "node:assert/strict";
 * const buf = new Uint8Array(28);
 * const n = writeCapsuleResp(new DataView(buf.buffer), 0, new Uint8Array(16), {
 *   hdgst: false, ddgst: false, pda: 0,
 * });
 * assert.equal(n, 24);
 * assert.deepEqual([...buf.subarray(0, 8)], [0x05, 0, 24, 0, 24, 0, 0, 0]);
 * ```
 */
export function writeCapsuleResp(
  view: DataView,
  at: number,
  cqe: Uint8Array,
  opts: PduOptions,
): number {
  if (cqe.length !== CQE_SIZE) {
    throw new RangeError(`Cannot write CapsuleResp: the CQE is ${cqe.length} bytes, not 16`);
  }
  const hlen = PduHeaderLength.CAPSULE_RESP;
  const plen = hlen + (opts.hdgst ? PDU_DIGEST_SIZE : 0);
  checkRoom(view, at, plen, "CapsuleResp");
  setHeader(view, at, PduType.CAPSULE_RESP, opts.hdgst ? HDGSTF : 0, hlen, 0, plen);
  bytesOf(view).set(cqe, view.byteOffset + at + CAPSULE_RESP_CQE);
  finishHeader(view, at, hlen, opts.hdgst, plen);
  return plen;
}

/**
 * Writes the header of an H2CData or C2HData PDU (CH, PSH, header digest, padding) for
 * `h.datal` bytes of data; the caller sends the data after it and, with data digests on,
 * `crc32c(data)` as 4 little-endian bytes. Allocates nothing.
 *
 * @param view The send buffer.
 * @param at Where the PDU starts in `view`.
 * @param h The header fields; a {@linkcode DataPdu} will do.
 * @param opts Digests and the receiver's PDA.
 * @returns Bytes written: PDO (or the whole PDU if DATAL is 0).
 * @throws {RangeError} If SUCCESS is asked for in H2CData or the header does not fit.
 * @example Usage
 * ```ts
 * import { writeDataHeader } from "@nvmf/proto/tcp-pdu";
 * import { PduType } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const buf = new Uint8Array(32);
 * const h = {
 *   type: PduType.C2H_DATA, cccid: 1, ttag: 0, datao: 0, datal: 4096, last: true, success: false,
 * } as const;
 * assert.equal(writeDataHeader(new DataView(buf.buffer), 0, h, { hdgst: true, ddgst: true, pda: 0 }), 28);
 * assert.deepEqual([...buf.subarray(0, 8)], [0x07, 0x07, 24, 28, 0x20, 0x10, 0, 0]);
 * ```
 */
export function writeDataHeader(
  view: DataView,
  at: number,
  h: DataHeader,
  opts: PduOptions,
): number {
  if (h.success && h.type !== PduType.C2H_DATA) {
    throw new RangeError("Cannot write H2CData with SUCCESS: the flag exists only in C2HData");
  }
  const hlen = PduHeaderLength.H2C_DATA;
  const n = h.datal;
  const pdo = n === 0 ? 0 : pduDataOffset(hlen, opts.hdgst, opts.pda);
  const headerEnd = n === 0 ? hlen + (opts.hdgst ? PDU_DIGEST_SIZE : 0) : pdo;
  checkRoom(view, at, headerEnd, pduTypeName(h.type));
  const flags = (opts.hdgst ? HDGSTF : 0) | (opts.ddgst && n !== 0 ? DDGSTF : 0) |
    (h.last ? LAST_PDU : 0) | (h.success ? SUCCESS : 0);
  setHeader(view, at, h.type, flags, hlen, pdo, pduLength(hlen, n, opts));
  view.setUint16(at + DATA_CCCID, h.cccid, true);
  view.setUint16(at + DATA_TTAG, h.ttag, true);
  view.setUint32(at + DATA_DATAO, h.datao, true);
  view.setUint32(at + DATA_DATAL, n, true);
  view.setUint32(at + DATA_DATAL + 4, 0, true); // reserved
  finishHeader(view, at, hlen, opts.hdgst, headerEnd);
  return headerEnd;
}

/**
 * Writes a whole R2T PDU (CH, PSH, header digest). Allocates nothing.
 *
 * @param view The send buffer.
 * @param at Where the PDU starts in `view`.
 * @param r The R2T fields.
 * @param opts Digests in force (`ddgst` and `pda` do not apply).
 * @returns Bytes written, PLEN.
 * @throws {RangeError} If the PDU does not fit.
 * @example Usage
 * ```ts
 * import { writeR2t } from "@nvmf/proto/tcp-pdu";
 * import { PduType } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const buf = new Uint8Array(24);
 * const r = { type: PduType.R2T, cccid: 2, ttag: 7, r2to: 0, r2tl: 65536 } as const;
 * assert.equal(writeR2t(new DataView(buf.buffer), 0, r, { hdgst: false, ddgst: false, pda: 0 }), 24);
 * assert.equal(buf[10], 7);
 * ```
 */
export function writeR2t(view: DataView, at: number, r: R2t, opts: PduOptions): number {
  const hlen = PduHeaderLength.R2T;
  const plen = hlen + (opts.hdgst ? PDU_DIGEST_SIZE : 0);
  checkRoom(view, at, plen, "R2T");
  setHeader(view, at, PduType.R2T, opts.hdgst ? HDGSTF : 0, hlen, 0, plen);
  view.setUint16(at + R2T_CCCID, r.cccid, true);
  view.setUint16(at + R2T_TTAG, r.ttag, true);
  view.setUint32(at + R2T_R2TO, r.r2to, true);
  view.setUint32(at + R2T_R2TL, r.r2tl, true);
  view.setUint32(at + R2T_R2TL + 4, 0, true); // reserved
  finishHeader(view, at, hlen, opts.hdgst, plen);
  return plen;
}

function checkUint(value: number, max: number, field: string, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`Cannot encode ${name}: ${field} ${value} is out of range 0-${max}`);
  }
}

/** PLEN of `pdu` once encoded with `opts`; checks what the writers do not. */
function encodedLength(pdu: Pdu, opts: PduOptions): number {
  const name = pduTypeName(pdu.type);
  switch (pdu.type) {
    case PduType.IC_REQ:
    case PduType.IC_RESP:
      checkUint(pdu.pfv, 0xffff, "PFV", name);
      checkUint(
        pdu.type === PduType.IC_REQ ? pdu.hpda : pdu.cpda,
        TCP_PDA_MAX,
        pdu.type === PduType.IC_REQ ? "HPDA" : "CPDA",
        name,
      );
      checkUint(
        pdu.type === PduType.IC_REQ ? pdu.maxr2t : pdu.maxh2cdata,
        0xffffffff,
        pdu.type === PduType.IC_REQ ? "MAXR2T" : "MAXH2CDATA",
        name,
      );
      return PduHeaderLength.IC_REQ;
    case PduType.H2C_TERM_REQ:
    case PduType.C2H_TERM_REQ:
      checkUint(pdu.fes, 0xffff, "FES", name);
      checkUint(pdu.fei, 0xffffffff, "FEI", name);
      checkUint(pdu.data.length, TCP_TERM_REQ_MAX_DATA, "data length", name);
      return PduHeaderLength.TERM_REQ + pdu.data.length;
    case PduType.CAPSULE_CMD:
      return pduLength(PduHeaderLength.CAPSULE_CMD, pdu.data?.length ?? 0, opts);
    case PduType.CAPSULE_RESP:
      return pduLength(PduHeaderLength.CAPSULE_RESP, 0, opts);
    case PduType.H2C_DATA:
    case PduType.C2H_DATA:
      if (pdu.datal !== pdu.data.length) {
        throw new RangeError(
          `Cannot encode ${name}: DATAL ${pdu.datal} is not the ${pdu.data.length} data bytes`,
        );
      }
      checkUint(pdu.cccid, 0xffff, "CCCID", name);
      checkUint(pdu.ttag, 0xffff, "TTAG", name);
      checkUint(pdu.datao, 0xffffffff, "DATAO", name);
      return pduLength(PduHeaderLength.H2C_DATA, pdu.data.length, opts);
    case PduType.R2T:
      checkUint(pdu.cccid, 0xffff, "CCCID", name);
      checkUint(pdu.ttag, 0xffff, "TTAG", name);
      checkUint(pdu.r2to, 0xffffffff, "R2TO", name);
      checkUint(pdu.r2tl, 0xffffffff, "R2TL", name);
      return pduLength(PduHeaderLength.R2T, 0, opts);
  }
  throw new RangeError(`Cannot encode PDU: unknown type ${(pdu as { type: unknown }).type}`);
}

/**
 * Encodes a whole PDU: header, header digest, padding, data and data digest, as Linux sends it
 * (flags HDGSTF/DDGSTF from `opts`, DDGSTF only when there is data, PDO 0 without data).
 * ICReq, ICResp and TermReq never carry digests, whatever `opts` says.
 *
 * @param pdu The PDU record.
 * @param opts Digests and the receiver's PDA in force.
 * @param into Buffer to write into; a new one of PLEN bytes by default.
 * @param at Offset in `into`.
 * @returns The PDU bytes (a view of `into` when given).
 * @throws {RangeError} If a field is out of range or `into` is too small.
 * @example Usage
 * ```ts
 * import { encodePdu } from "@nvmf/proto/tcp-pdu";
 * import { PduType } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const icreq = {
 *   type: PduType.IC_REQ, pfv: 0, hpda: 0, hdgst: true, ddgst: true, maxr2t: 0,
 * } as const;
 * const bytes = encodePdu(icreq, { hdgst: false, ddgst: false, pda: 0 });
 * assert.equal(bytes.length, 128);
 * assert.deepEqual([...bytes.subarray(0, 12)], [0, 0, 128, 0, 128, 0, 0, 0, 0, 0, 0, 3]);
 * ```
 */
export function encodePdu(
  pdu: Pdu,
  opts: PduOptions,
  into?: Uint8Array,
  at = 0,
): Uint8Array {
  const plen = encodedLength(pdu, opts);
  let out: Uint8Array;
  if (into === undefined) {
    out = new Uint8Array(plen);
    at = 0;
  } else {
    if (!Number.isInteger(at) || at < 0 || at + plen > into.length) {
      throw new RangeError(
        `Cannot encode ${pduTypeName(pdu.type)} at ${at}: ${plen} bytes do not fit in ` +
          `${into.length}`,
      );
    }
    out = into;
  }
  const view = dataView(out);
  switch (pdu.type) {
    case PduType.IC_REQ:
    case PduType.IC_RESP: {
      const req = pdu.type === PduType.IC_REQ;
      setHeader(view, at, pdu.type, 0, plen, 0, plen);
      view.setUint16(at + ICREQ_PFV, pdu.pfv, true);
      view.setUint8(at + ICREQ_HPDA, req ? pdu.hpda : pdu.cpda);
      view.setUint8(
        at + ICREQ_DGST,
        (pdu.hdgst ? IcDigest.HDGST_ENABLE : 0) | (pdu.ddgst ? IcDigest.DDGST_ENABLE : 0),
      );
      view.setUint32(at + ICREQ_MAXR2T, req ? pdu.maxr2t : pdu.maxh2cdata, true);
      out.fill(0, at + ICREQ_MAXR2T + 4, at + plen); // reserved
      break;
    }
    case PduType.H2C_TERM_REQ:
    case PduType.C2H_TERM_REQ: {
      const hlen = PduHeaderLength.TERM_REQ;
      setHeader(view, at, pdu.type, 0, hlen, 0, plen);
      view.setUint16(at + TERMREQ_FES, pdu.fes, true);
      view.setUint32(at + TERMREQ_FEI, pdu.fei, true);
      out.fill(0, at + TERMREQ_FEI + 4, at + hlen); // reserved
      out.set(pdu.data, at + hlen);
      break;
    }
    case PduType.CAPSULE_CMD: {
      const data = pdu.data;
      const n = data?.length ?? 0;
      const pdo = writeCapsuleCmdHeader(view, at, pdu.sqe, n, opts);
      if (data !== undefined && n !== 0) appendData(out, view, at + pdo, data, opts.ddgst);
      break;
    }
    case PduType.CAPSULE_RESP:
      writeCapsuleResp(view, at, pdu.cqe, opts);
      break;
    case PduType.H2C_DATA:
    case PduType.C2H_DATA: {
      const pdo = writeDataHeader(view, at, pdu, opts);
      if (pdu.data.length !== 0) appendData(out, view, at + pdo, pdu.data, opts.ddgst);
      break;
    }
    case PduType.R2T:
      writeR2t(view, at, pdu, opts);
      break;
  }
  return into === undefined ? out : out.subarray(at, at + plen);
}

function appendData(
  out: Uint8Array,
  view: DataView,
  at: number,
  data: Uint8Array,
  ddgst: boolean,
): void {
  out.set(data, at);
  if (ddgst) view.setUint32(at + data.length, crc32c(data), true);
}

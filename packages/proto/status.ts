/**
 * The 16-bit status field of a completion queue entry (NVM Express Base 2.0, 4.6.1): decode,
 * encode, name and format it, and {@linkcode NvmeStatusError}, the error that rejects a command.
 *
 * Layout of the field as it sits in CQE bytes 15:14: bit 0 phase tag, bits 8:1 SC, bits 11:9 SCT,
 * bits 13:12 CRD, bit 14 M (more), bit 15 DNR. Names come from the tables in constants.ts.
 *
 * @example Usage
 * ```ts
 * import { decodeStatus, formatStatus, statusOf } from "@nvmf/proto/status";
 * import { GenericStatus, StatusCodeType } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const field = statusOf(StatusCodeType.GENERIC, GenericStatus.NAMESPACE_NOT_READY, true);
 * assert.equal(decodeStatus(field).sc, 0x82);
 * assert.equal(formatStatus(field), "NAMESPACE_NOT_READY (sct 0, sc 0x82, dnr)");
 * ```
 *
 * @module
 */

import { hex } from "./_bytes.ts";
import {
  AdminOpcode,
  CommandSpecificStatus,
  CqeStatusBits,
  FABRICS_OPCODE,
  FabricsStatus,
  FabricsType,
  GenericStatus,
  MediaStatus,
  nameOf,
  NvmCommandStatus,
  NvmOpcode,
  PathStatus,
  StatusCodeRange,
  StatusCodeType,
} from "./constants.ts";

/** The fields of a CQE status, phase tag excluded (Base 4.6.1, Figure 95). */
export interface NvmeStatus {
  /** Status Code Type, 0 to 7. */
  sct: number;
  /** Status Code, 0 to 255, meaning given by `sct`. */
  sc: number;
  /** Command Retry Delay, 0 to 3: which CRDT of Identify Controller to wait before a retry. */
  crd: number;
  /** More: the Error Information log page has more about this completion. */
  more: boolean;
  /** Do Not Retry: the same command would fail again. */
  dnr: boolean;
}

/** What the command was, for names that depend on it (SCT 1 values 0x80 to 0xBF). */
export interface StatusContext {
  /** Opcode of the completed command; 0x7f means a Fabrics command. */
  opcode?: number;
  /** True for a Fabrics command (Connect, Property Get...); overrides the opcode test. */
  fabrics?: boolean;
  /** True when the command ran on an admin queue, false for an I/O queue. */
  admin?: boolean;
}

/** Name returned for a status code the spec reserves. */
const RESERVED = "RESERVED";
/** Name returned for a vendor specific status code. */
const VENDOR_SPECIFIC = "VENDOR_SPECIFIC";

function checkRange(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`Cannot encode status as ${what} must be 0 to ${max}: received ${value}`);
  }
}

/**
 * Splits a 16-bit CQE status field into its parts; the phase tag (bit 0) is ignored.
 *
 * @param field16 The status field, CQE bytes 15:14, as an unsigned 16-bit number.
 * @returns SCT, SC, CRD, M and DNR.
 * @example Usage
 * ```ts
 * import { decodeStatus } from "@nvmf/proto/status";
 * import assert from "node:assert/strict";
 * // SCT 1, SC 0x82 (CONNECT_INVALID_PARAMETERS), DNR, phase 1
 * assert.deepEqual(decodeStatus(0x8000 | 1 << 9 | 0x82 << 1 | 1), {
 *   sct: 1, sc: 0x82, crd: 0, more: false, dnr: true,
 * });
 * ```
 */
export function decodeStatus(field16: number): NvmeStatus {
  return {
    sct: (field16 >>> CqeStatusBits.SCT_SHIFT) & CqeStatusBits.SCT_MASK,
    sc: (field16 >>> CqeStatusBits.SC_SHIFT) & CqeStatusBits.SC_MASK,
    crd: (field16 >>> CqeStatusBits.CRD_SHIFT) & CqeStatusBits.CRD_MASK,
    more: (field16 & CqeStatusBits.MORE) !== 0,
    dnr: (field16 & CqeStatusBits.DNR) !== 0,
  };
}

/**
 * Builds the 16-bit CQE status field, phase tag 0; absent CRD, M and DNR are 0.
 *
 * @param s SCT and SC, optionally CRD, M and DNR.
 * @returns The status field, to be OR'ed with the phase tag by a transport that uses one.
 * @throws {RangeError} If SCT, SC or CRD is out of range.
 * @example Usage
 * ```ts
 * import { encodeStatus } from "@nvmf/proto/status";
 * import assert from "node:assert/strict";
 * assert.equal(encodeStatus({ sct: 0, sc: 0x02, dnr: true }), 0x8004);
 * ```
 */
export function encodeStatus(s: Partial<NvmeStatus> & { sct: number; sc: number }): number {
  const crd = s.crd ?? 0;
  checkRange("SCT", s.sct, CqeStatusBits.SCT_MASK);
  checkRange("SC", s.sc, CqeStatusBits.SC_MASK);
  checkRange("CRD", crd, CqeStatusBits.CRD_MASK);
  return (s.sct << CqeStatusBits.SCT_SHIFT) | (s.sc << CqeStatusBits.SC_SHIFT) |
    (crd << CqeStatusBits.CRD_SHIFT) | (s.more ? CqeStatusBits.MORE : 0) |
    (s.dnr ? CqeStatusBits.DNR : 0);
}

/**
 * The 16-bit status field for SCT, SC and DNR, the common case of {@linkcode encodeStatus}.
 *
 * @param sct Status Code Type.
 * @param sc Status Code.
 * @param dnr Do Not Retry; false unless given.
 * @returns The status field with phase tag 0.
 * @throws {RangeError} If SCT or SC is out of range.
 * @example Usage
 * ```ts
 * import { statusOf } from "@nvmf/proto/status";
 * import { FabricsStatus, StatusCodeType } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const s = statusOf(StatusCodeType.COMMAND_SPECIFIC, FabricsStatus.CONNECT_INVALID_HOST, true);
 * assert.equal(s, 0x8308);
 * ```
 */
export function statusOf(sct: number, sc: number, dnr = false): number {
  return encodeStatus({ sct, sc, dnr });
}

/**
 * Whether a status field says success: SCT 0 and SC 0, whatever the phase, CRD, M and DNR.
 *
 * @param field16 The status field, CQE bytes 15:14.
 * @returns True for success.
 * @example Usage
 * ```ts
 * import { statusSuccess } from "@nvmf/proto/status";
 * import assert from "node:assert/strict";
 * assert.equal(statusSuccess(0x0001), true); // phase tag only
 * assert.equal(statusSuccess(0x0004), false); // INVALID_FIELD_IN_COMMAND
 * ```
 */
export function statusSuccess(field16: number): boolean {
  return ((field16 >>> CqeStatusBits.SC_SHIFT) &
    ((CqeStatusBits.SCT_MASK << (CqeStatusBits.SCT_SHIFT - CqeStatusBits.SC_SHIFT)) |
      CqeStatusBits.SC_MASK)) === 0;
}

function isFabrics(context: StatusContext | undefined): boolean {
  if (context === undefined) return false;
  return context.fabrics ?? context.opcode === FABRICS_OPCODE;
}

/**
 * The name of a status code from the tables in constants.ts.
 *
 * SCT 1 values 0x80 to 0xBF depend on the command: Fabrics names (`FabricsStatus`) for a Fabrics
 * command (opcode 0x7f or `fabrics: true`), NVM command set names (`NvmCommandStatus`) for other
 * commands. Without any context the NVM name is tried first, then the Fabrics one. Codes the
 * spec reserves give `"RESERVED"`; SC 0xC0 to 0xFF and SCT 7 give `"VENDOR_SPECIFIC"`.
 *
 * @param sct Status Code Type.
 * @param sc Status Code.
 * @param context The command, when known.
 * @returns The name, e.g. `"INVALID_FIELD_IN_COMMAND"`.
 * @example Usage
 * ```ts
 * import { statusName } from "@nvmf/proto/status";
 * import assert from "node:assert/strict";
 * assert.equal(statusName(0, 0x02), "INVALID_FIELD_IN_COMMAND");
 * assert.equal(statusName(1, 0x82, { opcode: 0x7f }), "CONNECT_INVALID_PARAMETERS");
 * assert.equal(statusName(1, 0x82, { opcode: 0x01 }), "ATTEMPTED_WRITE_TO_READ_ONLY_RANGE");
 * assert.equal(statusName(2, 0xc5), "VENDOR_SPECIFIC");
 * assert.equal(statusName(5, 0x00), "RESERVED");
 * ```
 */
export function statusName(sct: number, sc: number, context?: StatusContext): string {
  if (sct === StatusCodeType.VENDOR_SPECIFIC) return VENDOR_SPECIFIC;
  let name: string | undefined;
  switch (sct) {
    case StatusCodeType.GENERIC:
      name = nameOf(GenericStatus, sc);
      break;
    case StatusCodeType.COMMAND_SPECIFIC:
      if (sc < StatusCodeRange.COMMAND_SET_SPECIFIC) {
        name = nameOf(CommandSpecificStatus, sc);
      } else if (sc < StatusCodeRange.VENDOR_SPECIFIC) {
        if (isFabrics(context)) name = nameOf(FabricsStatus, sc);
        else if (context !== undefined) name = nameOf(NvmCommandStatus, sc);
        else name = nameOf(NvmCommandStatus, sc) ?? nameOf(FabricsStatus, sc);
      }
      break;
    case StatusCodeType.MEDIA_AND_DATA_INTEGRITY:
      name = nameOf(MediaStatus, sc);
      break;
    case StatusCodeType.PATH_RELATED:
      name = nameOf(PathStatus, sc);
      break;
    default:
      return RESERVED;
  }
  if (name !== undefined) return name;
  return sc >= StatusCodeRange.VENDOR_SPECIFIC ? VENDOR_SPECIFIC : RESERVED;
}

/**
 * Formats a status for messages and logs: the name, then SCT and SC, then `dnr`, `more` and
 * `crd N` when set, e.g. `NAMESPACE_NOT_READY (sct 0, sc 0x82, dnr)`.
 *
 * @param s A decoded status, or the raw 16-bit field.
 * @param context The command, when known (see {@linkcode statusName}).
 * @returns The text.
 * @example Usage
 * ```ts
 * import { formatStatus } from "@nvmf/proto/status";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   formatStatus({ sct: 0, sc: 0x82, crd: 1, more: true, dnr: true }),
 *   "NAMESPACE_NOT_READY (sct 0, sc 0x82, dnr, more, crd 1)",
 * );
 * assert.equal(formatStatus(0x0000), "SUCCESS (sct 0, sc 0x00)");
 * ```
 */
export function formatStatus(s: NvmeStatus | number, context?: StatusContext): string {
  const st = typeof s === "number" ? decodeStatus(s) : s;
  let text = `${statusName(st.sct, st.sc, context)} (sct ${st.sct}, sc ${hex(st.sc)}`;
  if (st.dnr) text += ", dnr";
  if (st.more) text += ", more";
  if (st.crd !== 0) text += `, crd ${st.crd}`;
  return text + ")";
}

/** Options of {@linkcode NvmeStatusError}. */
export interface NvmeStatusErrorOptions {
  /** CID of the failed command. */
  cid?: number;
  /** DW0 of the completion (e.g. the IPO of a Connect with invalid parameters). */
  dw0?: number;
  /** Opcode of the failed command; names the command in the message. */
  opcode?: number;
  /** True for an admin command, false for an I/O command; picks the opcode table. */
  admin?: boolean;
  /** FCTYPE of a Fabrics command; names it in the message. */
  fctype?: number;
  /** Replaces the generated message. */
  message?: string;
}

function commandName(opcode: number, admin?: boolean, fctype?: number): string {
  if (opcode === FABRICS_OPCODE) {
    if (fctype === undefined) return "FABRICS";
    return nameOf(FabricsType, fctype) ?? `FABRICS fctype ${hex(fctype)}`;
  }
  if (admin === true) return nameOf(AdminOpcode, opcode) ?? `admin opcode ${hex(opcode)}`;
  if (admin === false) return nameOf(NvmOpcode, opcode) ?? `I/O opcode ${hex(opcode)}`;
  return `opcode ${hex(opcode)}`;
}

/**
 * A command completed with an error status. The host rejects the command's promise with it;
 * the controller can throw it from a command handler to complete the command with its status.
 *
 * @example Usage
 * ```ts
 * import { NvmeStatusError } from "@nvmf/proto/status";
 * import assert from "node:assert/strict";
 * const e = new NvmeStatusError(0x8304, { cid: 7, opcode: 0x7f, fctype: 0x01 });
 * assert.equal(e.sct, 1);
 * assert.equal(e.sc, 0x82);
 * assert.equal(e.dnr, true);
 * assert.equal(e.cid, 7);
 * assert.equal(e.message, "CONNECT failed: CONNECT_INVALID_PARAMETERS (sct 1, sc 0x82, dnr)");
 * ```
 */
export class NvmeStatusError extends Error {
  /** The decoded status. */
  readonly status: NvmeStatus;
  /** Status Code Type. */
  readonly sct: number;
  /** Status Code. */
  readonly sc: number;
  /** Do Not Retry. */
  readonly dnr: boolean;
  /** CID of the failed command, when known. */
  readonly cid?: number;
  /** DW0 of the completion, when known. */
  readonly dw0?: number;
  /** Opcode of the failed command, when known. */
  readonly opcode?: number;

  /**
   * Creates the error; its message is {@linkcode formatStatus}'s text, after the command name
   * when an opcode is given.
   *
   * @param status A decoded status or the raw 16-bit field (phase tag ignored).
   * @param options CID, DW0, the command, or a message of your own.
   */
  constructor(status: NvmeStatus | number, options: NvmeStatusErrorOptions = {}) {
    const st = typeof status === "number" ? decodeStatus(status) : { ...status };
    const { opcode, admin, fctype } = options;
    let message = options.message;
    if (message === undefined) {
      const text = formatStatus(st, opcode === undefined ? undefined : { opcode, admin });
      message = opcode === undefined
        ? text
        : `${commandName(opcode, admin, fctype)} failed: ${text}`;
    }
    super(message);
    this.name = "NvmeStatusError";
    this.status = st;
    this.sct = st.sct;
    this.sc = st.sc;
    this.dnr = st.dnr;
    if (options.cid !== undefined) this.cid = options.cid;
    if (options.dw0 !== undefined) this.dw0 = options.dw0;
    if (opcode !== undefined) this.opcode = opcode;
  }
}

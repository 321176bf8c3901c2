/**
 * Get Log Page (NVM Express Base 2.0 5.16): the command's fields, and the log pages of an I/O
 * controller with the state behind them (Error Information, SMART / Health, Firmware Slot,
 * Changed Namespace List, Commands Supported and Effects). The discovery log is the target's.
 * Private to the package.
 *
 * @module
 */

import {
  AdminOpcode,
  CommandEffects,
  CommandSetIdentifier,
  CqeStatusBits,
  encodeChangedNsList,
  encodeCommandEffectsLog,
  encodeErrorInformationLog,
  encodeFirmwareSlotLog,
  encodeSmartLog,
  ERROR_LOCATION_NONE,
  type ErrorInformationEntry,
  GenericStatus,
  GetLogPageBits,
  LogPageId,
  LogPageSize,
  NSID_BROADCAST,
  NvmOpcode,
  SMART_DATA_UNIT_BYTES,
  SQE_CDW10,
  SQE_CDW11,
  SQE_CDW12,
  SQE_CDW13,
  SQE_CDW14,
  SQE_DPTR,
  SQE_NSID,
  SQE_OPCODE,
  StatusCodeType,
} from "@nvmf/proto";
import { cidOf, u32, u64 } from "./_bytes.ts";
import { ERROR_LOG_ENTRIES } from "./_limits.ts";
import { RESERVATION_OPCODES } from "./reservation.ts";
import { INVALID_FIELD, INVALID_LOG_PAGE, INVALID_NS } from "./_status.ts";
import type { Namespace, Subsystem } from "./subsystem.ts";

/** Admin opcodes an I/O controller supports, for the Commands Supported and Effects log. */
const ADMIN_SUPPORTED: readonly number[] = [
  AdminOpcode.GET_LOG_PAGE,
  AdminOpcode.IDENTIFY,
  AdminOpcode.ABORT,
  AdminOpcode.SET_FEATURES,
  AdminOpcode.GET_FEATURES,
  AdminOpcode.ASYNC_EVENT_REQUEST,
  AdminOpcode.KEEP_ALIVE,
];

let effectsPage: Uint8Array | undefined;
function commandEffects(): Uint8Array {
  if (effectsPage === undefined) {
    const acs: number[] = [];
    const iocs: number[] = [];
    for (const op of ADMIN_SUPPORTED) acs[op] = CommandEffects.CSUPP;
    for (const op of [NvmOpcode.READ, NvmOpcode.FLUSH, NvmOpcode.COMPARE, NvmOpcode.VERIFY]) {
      iocs[op] = CommandEffects.CSUPP;
    }
    for (const op of RESERVATION_OPCODES) iocs[op] = CommandEffects.CSUPP;
    for (const op of [NvmOpcode.WRITE, NvmOpcode.WRITE_ZEROES, NvmOpcode.DATASET_MANAGEMENT]) {
      iocs[op] = CommandEffects.CSUPP | CommandEffects.LBCC;
    }
    effectsPage = encodeCommandEffectsLog({ acs, iocs });
  }
  return effectsPage;
}

/** Where a status points in the SQE, for the Error Information log. */
function errorLocation(status: number): number {
  const sc = (status >>> CqeStatusBits.SC_SHIFT) & CqeStatusBits.SC_MASK;
  const sct = (status >>> CqeStatusBits.SCT_SHIFT) & CqeStatusBits.SCT_MASK;
  if (sct !== StatusCodeType.GENERIC) return ERROR_LOCATION_NONE;
  switch (sc) {
    case GenericStatus.INVALID_COMMAND_OPCODE:
      return SQE_OPCODE;
    case GenericStatus.INVALID_NAMESPACE_OR_FORMAT:
    case GenericStatus.NAMESPACE_IS_WRITE_PROTECTED:
      return SQE_NSID;
    case GenericStatus.DATA_SGL_LENGTH_INVALID:
      return SQE_DPTR;
    case GenericStatus.LBA_OUT_OF_RANGE:
      return SQE_CDW10;
    default:
      return ERROR_LOCATION_NONE;
  }
}

/** The fields of a Get Log Page command. */
export interface GetLogPageCommand {
  /** Log page identifier. */
  lid: number;
  /** Retain Asynchronous Event. */
  rae: boolean;
  /** Bytes asked for: (NUMD + 1) * 4. */
  length: number;
  /** Log page offset in bytes. */
  lpo: number;
  /** CDW14: CSI and OT. */
  cdw14: number;
}

/**
 * Reads the fields of a Get Log Page command.
 *
 * @param sqe The command.
 * @returns Its fields.
 */
export function decodeGetLogPage(sqe: Uint8Array): GetLogPageCommand {
  const cdw10 = u32(sqe, SQE_CDW10);
  const cdw11 = u32(sqe, SQE_CDW11);
  const numd = (cdw11 & GetLogPageBits.NUMDU_MASK) * 0x10000 +
    (cdw10 >>> GetLogPageBits.NUMDL_SHIFT) + 1;
  return {
    lid: cdw10 & GetLogPageBits.LID_MASK,
    rae: (cdw10 & GetLogPageBits.RAE) !== 0,
    length: numd * 4,
    lpo: u32(sqe, SQE_CDW12) + u32(sqe, SQE_CDW13) * 0x100000000,
    cdw14: u32(sqe, SQE_CDW14),
  };
}

/**
 * The part of a log page a Get Log Page command reads: `length` bytes from `lpo`, zero past
 * the end of the page.
 *
 * @param page The whole page.
 * @param lpo Log page offset.
 * @param length Bytes asked for.
 * @returns The data, or INVALID_FIELD when the offset is past the end (Base 5.16).
 */
export function logPageWindow(page: Uint8Array, lpo: number, length: number): Uint8Array | number {
  if (lpo >= page.length) return INVALID_FIELD;
  if (lpo === 0 && length === page.length) return page;
  const data = new Uint8Array(length);
  data.set(page.subarray(lpo, Math.min(page.length, lpo + length)));
  return data;
}

/** The log pages of an I/O controller and the state behind them. */
export class LogPages {
  readonly #trtype: number;
  readonly #created = Date.now();
  readonly #errors: Partial<ErrorInformationEntry>[] = [];
  #errorCount = 0n;
  #changedNs: number[] = [];
  #changedNsOverflow = false;

  /**
   * Makes the logs of a new controller.
   *
   * @param trtype The transport type, for Error Information entries.
   */
  constructor(trtype: number) {
    this.#trtype = trtype;
  }

  /**
   * Records a failed command in the Error Information log.
   *
   * @param qid The queue it came on.
   * @param sqe The command.
   * @param status Its status.
   * @returns The status with MORE set (an entry exists).
   */
  recordError(qid: number, sqe: Uint8Array, status: number): number {
    this.#errorCount++;
    const opcode = sqe[SQE_OPCODE];
    const rw = qid !== 0 && (opcode === NvmOpcode.READ || opcode === NvmOpcode.WRITE);
    this.#errors.unshift({
      errorCount: this.#errorCount,
      sqid: qid,
      cid: cidOf(sqe),
      status,
      parameterErrorLocation: errorLocation(status),
      lba: rw ? BigInt(u64(sqe, SQE_CDW10)) : 0n,
      nsid: u32(sqe, SQE_NSID),
      trtype: this.#trtype,
    });
    if (this.#errors.length > ERROR_LOG_ENTRIES) this.#errors.length = ERROR_LOG_ENTRIES;
    return status | CqeStatusBits.MORE;
  }

  /**
   * Adds a namespace to the Changed Namespace List (which overflows past 1024 entries).
   *
   * @param nsid The namespace added or removed.
   */
  namespaceChanged(nsid: number): void {
    if (this.#changedNsOverflow || this.#changedNs.includes(nsid)) return;
    if (this.#changedNs.length === LogPageSize.CHANGED_NAMESPACE_LIST / 4) {
      this.#changedNs = [];
      this.#changedNsOverflow = true;
    } else {
      this.#changedNs.push(nsid);
    }
  }

  /**
   * The whole log page a Get Log Page asks for; reading the Changed Namespace List clears it.
   *
   * @param command The command's fields.
   * @param sqe The command (for the NSID).
   * @param sub The controller's subsystem.
   * @returns The page, or a CQE status.
   */
  read(command: GetLogPageCommand, sqe: Uint8Array, sub: Subsystem): Uint8Array | number {
    switch (command.lid) {
      case LogPageId.ERROR_INFORMATION: {
        // ELPE + 1 entries, the unused ones zero (Base 5.16.1.2).
        const page = new Uint8Array(ERROR_LOG_ENTRIES * LogPageSize.ERROR_INFORMATION_ENTRY);
        encodeErrorInformationLog(this.#errors, page);
        return page;
      }
      case LogPageId.SMART_HEALTH: {
        const nsid = u32(sqe, SQE_NSID);
        if (nsid === 0 || nsid === NSID_BROADCAST) return this.#smartLog(sub.namespaces);
        const ns = sub.namespace(nsid);
        return ns === undefined ? INVALID_NS : this.#smartLog([ns]);
      }
      case LogPageId.FIRMWARE_SLOT:
        return encodeFirmwareSlotLog({ afi: 1, frs: [sub.firmware] });
      case LogPageId.CHANGED_NAMESPACE_LIST: {
        const page = encodeChangedNsList({
          overflow: this.#changedNsOverflow,
          nsids: this.#changedNs.sort((a, b) => a - b),
        });
        this.#changedNs = [];
        this.#changedNsOverflow = false;
        return page;
      }
      case LogPageId.COMMANDS_SUPPORTED_AND_EFFECTS:
        if ((command.cdw14 >>> GetLogPageBits.CSI_SHIFT) !== CommandSetIdentifier.NVM) {
          return INVALID_LOG_PAGE;
        }
        return commandEffects();
      default:
        return INVALID_LOG_PAGE;
    }
  }

  #smartLog(namespaces: readonly Namespace[]): Uint8Array {
    let readCommands = 0;
    let writeCommands = 0;
    let bytesRead = 0;
    let bytesWritten = 0;
    for (const ns of namespaces) {
      readCommands += ns.stats.readCommands;
      writeCommands += ns.stats.writeCommands;
      bytesRead += ns.stats.bytesRead;
      bytesWritten += ns.stats.bytesWritten;
    }
    const units = (bytes: number) => BigInt(Math.ceil(bytes / SMART_DATA_UNIT_BYTES));
    return encodeSmartLog({
      compositeTemperature: 0,
      availableSpare: 100,
      availableSpareThreshold: 10,
      dataUnitsRead: units(bytesRead),
      dataUnitsWritten: units(bytesWritten),
      hostReadCommands: BigInt(readCommands),
      hostWriteCommands: BigInt(writeCommands),
      powerCycles: 1n,
      powerOnHours: BigInt(Math.floor((Date.now() - this.#created) / 3_600_000)),
      numErrLogEntries: this.#errorCount,
    });
  }
}

/**
 * Log pages of the Get Log Page command (NVM Express Base Specification 2.0, 5.16): Error
 * Information, SMART / Health Information, Firmware Slot Information, Changed Namespace List and
 * Commands Supported and Effects, plus the Get Log Page and Identify command fields.
 *
 * Decoders copy what they keep and read only the bytes given; encoders write every named field and
 * zero the rest, so `encode(decode(bytes))` reproduces any page whose reserved bytes are zero (all
 * that Linux nvmet sends). 16-byte counters are bigints. The Discovery log page lives in
 * `discovery.ts`.
 *
 * @example Usage
 * ```ts
 * import { decodeGetLogPage, decodeSmartLog, encodeGetLogPage, encodeSmartLog } from "@nvmf/proto/log-pages";
 * import { LogPageId, NSID_BROADCAST } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * const sqe = encodeGetLogPage({ cid: 25, nsid: NSID_BROADCAST, lid: LogPageId.SMART_HEALTH, numd: 128 });
 * assert.equal(decodeGetLogPage(sqe).length, 512);
 * const page = encodeSmartLog({ powerCycles: 3n, temperatureSensors: [300] });
 * assert.equal(decodeSmartLog(page).powerCycles, 3n);
 * ```
 *
 * @module
 */

import { dataView, putU128, SPACE, target, u128, ubig, uint } from "./_bytes.ts";
import {
  AdminOpcode,
  CHANGED_NS_LIST_OVERFLOW,
  GetLogPageBits,
  IdentifyBits,
  LogPageSize,
  NSID_BROADCAST,
  SQE_SIZE,
} from "./constants.ts";
import { ProtocolFieldError } from "./errors.ts";
import {
  encodeSqe,
  SQE_CDW10,
  SQE_CDW11,
  SQE_CDW12,
  SQE_CDW13,
  SQE_CDW14,
  SQE_CID,
  SQE_NSID,
  SQE_OPCODE,
} from "./sqe.ts";

type Layout<K extends string> = readonly (readonly [name: K, offset: number, size: number])[];

function offsetsOf<K extends string>(layout: Layout<K>): Readonly<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const [name, at] of layout) out[name] = at;
  return Object.freeze(out as Record<K, number>);
}

/** Checks that `bytes` holds `size` bytes, naming the first field cut off when it does not. */
function need<K extends string>(
  bytes: Uint8Array,
  size: number,
  layout: Layout<K>,
  what: string,
): DataView {
  if (bytes.length < size) {
    const cut = layout.find(([, at, n]) => at + n > bytes.length) ?? layout[layout.length - 1];
    throw new ProtocolFieldError(
      `Reject ${what}: need ${size} bytes, received ${bytes.length}`,
      cut[0],
      cut[1],
    );
  }
  return dataView(bytes);
}

// ---------------------------------------------------------------------------------------------
// Error Information (Base 5.16.1.2, Figure 206)

/** One Error Information log entry (64 bytes). */
export interface ErrorInformationEntry {
  /** Error Count: a unique, increasing identifier of the error; 0 for an empty entry. */
  errorCount: bigint;
  /** Submission Queue ID of the failed command. */
  sqid: number;
  /** Command ID of the failed command; FFFFh when not tied to a command. */
  cid: number;
  /** Status Info: phase tag in bit 0, the status field (as in the CQE) in bits 15:1. */
  status: number;
  /** Parameter Error Location: byte in bits 7:0, bit in bits 10:8; FFFFh when not applicable. */
  parameterErrorLocation: number;
  /** LBA of the first logical block in error. */
  lba: bigint;
  /** Namespace of the error. */
  nsid: number;
  /** Vendor Specific Information Available: log page ID of more information, 0 for none. */
  vs: number;
  /** Transport Type of the failed command. */
  trtype: number;
  /** Command Set Indicator of the failed command. */
  csi: number;
  /** Command Specific Information. */
  commandSpecific: bigint;
  /** Transport Type Specific Information. */
  trtypeSpecific: number;
  /** Log Page Version (byte 63). */
  logPageVersion: number;
}

const ERROR_LAYOUT: Layout<keyof ErrorInformationEntry> = [
  ["errorCount", 0, 8],
  ["sqid", 8, 2],
  ["cid", 10, 2],
  ["status", 12, 2],
  ["parameterErrorLocation", 14, 2],
  ["lba", 16, 8],
  ["nsid", 24, 4],
  ["vs", 28, 1],
  ["trtype", 29, 1],
  ["csi", 30, 1],
  ["commandSpecific", 32, 8],
  ["trtypeSpecific", 40, 2],
  ["logPageVersion", 63, 1],
];

/** Byte offsets of the Error Information log entry fields. */
export const ErrorInformationEntryOffset: Readonly<Record<keyof ErrorInformationEntry, number>> =
  offsetsOf(ERROR_LAYOUT);

const ERROR_ENTRY_SIZE = LogPageSize.ERROR_INFORMATION_ENTRY;

/**
 * Decodes one 64-byte Error Information log entry.
 *
 * @param bytes The entry, at least 64 bytes.
 * @returns The fields.
 * @throws {ProtocolFieldError} When `bytes` is shorter than 64 bytes.
 * @example Usage
 * ```ts
 * import { decodeErrorInformationEntry } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(64);
 * b[0] = 1; // Error Count
 * b[10] = 9; // CID
 * const e = decodeErrorInformationEntry(b);
 * assert.equal(e.errorCount, 1n);
 * assert.equal(e.cid, 9);
 * ```
 */
export function decodeErrorInformationEntry(bytes: Uint8Array): ErrorInformationEntry {
  const view = need(bytes, ERROR_ENTRY_SIZE, ERROR_LAYOUT, "Error Information entry");
  return readErrorEntry(view, 0);
}

/**
 * Encodes one 64-byte Error Information log entry.
 *
 * @param e The fields; absent ones are zero.
 * @param into Where to write, at least 64 bytes; a new array when absent.
 * @returns The 64 bytes written: `into` itself when it is exactly 64 bytes long, else a view of
 * its start.
 * @throws {RangeError} When `into` is too short or a value does not fit its field.
 * @throws {TypeError} When a value has the wrong type.
 * @example Usage
 * ```ts
 * import { encodeErrorInformationEntry } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * const b = encodeErrorInformationEntry({ errorCount: 2n, sqid: 1, parameterErrorLocation: 0xffff });
 * assert.equal(b[0], 2);
 * assert.equal(b[8], 1);
 * assert.equal(b[14], 0xff);
 * ```
 */
export function encodeErrorInformationEntry(
  e: Partial<ErrorInformationEntry>,
  into?: Uint8Array,
): Uint8Array {
  const [bytes, view] = target(into, ERROR_ENTRY_SIZE, "Error Information entry");
  writeErrorEntry(view, 0, e, "Error Information entry");
  return bytes;
}

/**
 * Decodes an Error Information log page: every whole 64-byte entry in `bytes`, empty ones (Error
 * Count 0) included; a trailing partial entry is ignored.
 *
 * @param bytes The log page as read.
 * @returns The entries, in page order (the controller puts the newest first).
 * @example Usage
 * ```ts
 * import { decodeErrorInformationLog } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * const page = new Uint8Array(130);
 * page[64] = 7;
 * const list = decodeErrorInformationLog(page);
 * assert.equal(list.length, 2);
 * assert.equal(list[1].errorCount, 7n);
 * ```
 */
export function decodeErrorInformationLog(bytes: Uint8Array): ErrorInformationEntry[] {
  const view = dataView(bytes);
  const list: ErrorInformationEntry[] = [];
  for (let at = 0; at + ERROR_ENTRY_SIZE <= bytes.length; at += ERROR_ENTRY_SIZE) {
    list.push(readErrorEntry(view, at));
  }
  return list;
}

/**
 * Encodes an Error Information log page: the entries back to back, 64 bytes each.
 *
 * @param entries The entries, newest first.
 * @param into Where to write, at least `entries.length * 64` bytes; a new array when absent.
 * @returns The bytes written: `into` itself when it has exactly that length, else a view of its
 * start.
 * @throws {RangeError} When `into` is too short or a value does not fit its field.
 * @throws {TypeError} When a value has the wrong type.
 * @example Usage
 * ```ts
 * import { encodeErrorInformationLog } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * const page = encodeErrorInformationLog([{ errorCount: 2n }, { errorCount: 1n }]);
 * assert.equal(page.length, 128);
 * assert.equal(page[64], 1);
 * ```
 */
export function encodeErrorInformationLog(
  entries: readonly Partial<ErrorInformationEntry>[],
  into?: Uint8Array,
): Uint8Array {
  const [bytes, view] = target(into, entries.length * ERROR_ENTRY_SIZE, "Error Information log");
  for (let i = 0; i < entries.length; i++) {
    writeErrorEntry(view, i * ERROR_ENTRY_SIZE, entries[i], `Error Information entry ${i}`);
  }
  return bytes;
}

function readErrorEntry(view: DataView, at: number): ErrorInformationEntry {
  const o = ErrorInformationEntryOffset;
  return {
    errorCount: view.getBigUint64(at + o.errorCount, true),
    sqid: view.getUint16(at + o.sqid, true),
    cid: view.getUint16(at + o.cid, true),
    status: view.getUint16(at + o.status, true),
    parameterErrorLocation: view.getUint16(at + o.parameterErrorLocation, true),
    lba: view.getBigUint64(at + o.lba, true),
    nsid: view.getUint32(at + o.nsid, true),
    vs: view.getUint8(at + o.vs),
    trtype: view.getUint8(at + o.trtype),
    csi: view.getUint8(at + o.csi),
    commandSpecific: view.getBigUint64(at + o.commandSpecific, true),
    trtypeSpecific: view.getUint16(at + o.trtypeSpecific, true),
    logPageVersion: view.getUint8(at + o.logPageVersion),
  };
}

function writeErrorEntry(
  view: DataView,
  at: number,
  e: Partial<ErrorInformationEntry>,
  what: string,
): void {
  const o = ErrorInformationEntryOffset;
  const l = (name: string) => `${what} ${name}`;
  view.setBigUint64(at + o.errorCount, ubig(e.errorCount, 64, l("errorCount")), true);
  view.setUint16(at + o.sqid, uint(e.sqid, 0xffff, l("sqid")), true);
  view.setUint16(at + o.cid, uint(e.cid, 0xffff, l("cid")), true);
  view.setUint16(at + o.status, uint(e.status, 0xffff, l("status")), true);
  view.setUint16(
    at + o.parameterErrorLocation,
    uint(e.parameterErrorLocation, 0xffff, l("parameterErrorLocation")),
    true,
  );
  view.setBigUint64(at + o.lba, ubig(e.lba, 64, l("lba")), true);
  view.setUint32(at + o.nsid, uint(e.nsid, 0xffffffff, l("nsid")), true);
  view.setUint8(at + o.vs, uint(e.vs, 0xff, l("vs")));
  view.setUint8(at + o.trtype, uint(e.trtype, 0xff, l("trtype")));
  view.setUint8(at + o.csi, uint(e.csi, 0xff, l("csi")));
  view.setBigUint64(
    at + o.commandSpecific,
    ubig(e.commandSpecific, 64, l("commandSpecific")),
    true,
  );
  view.setUint16(at + o.trtypeSpecific, uint(e.trtypeSpecific, 0xffff, l("trtypeSpecific")), true);
  view.setUint8(at + o.logPageVersion, uint(e.logPageVersion, 0xff, l("logPageVersion")));
}

// ---------------------------------------------------------------------------------------------
// SMART / Health Information (Base 5.16.1.3, Figure 207)

/** Number of temperature sensor fields in the SMART / Health log. */
export const SMART_TEMPERATURE_SENSORS = 8;

/** The SMART / Health Information log page (512 bytes). Temperatures are in kelvin. */
export interface SmartLog {
  /** Critical Warning bits. */
  criticalWarning: number;
  /** Composite Temperature. */
  compositeTemperature: number;
  /** Available Spare, percent. */
  availableSpare: number;
  /** Available Spare Threshold, percent. */
  availableSpareThreshold: number;
  /** Percentage Used. */
  percentageUsed: number;
  /** Endurance Group Critical Warning Summary bits. */
  enduranceGroupCriticalWarningSummary: number;
  /** Data Units Read, thousands of 512-byte units. */
  dataUnitsRead: bigint;
  /** Data Units Written, thousands of 512-byte units. */
  dataUnitsWritten: bigint;
  /** Host Read Commands. */
  hostReadCommands: bigint;
  /** Host Write Commands. */
  hostWriteCommands: bigint;
  /** Controller Busy Time, minutes. */
  controllerBusyTime: bigint;
  /** Power Cycles. */
  powerCycles: bigint;
  /** Power On Hours. */
  powerOnHours: bigint;
  /** Unsafe Shutdowns. */
  unsafeShutdowns: bigint;
  /** Media and Data Integrity Errors. */
  mediaErrors: bigint;
  /** Number of Error Information Log Entries over the controller's life. */
  numErrLogEntries: bigint;
  /** Warning Composite Temperature Time, minutes. */
  warningTempTime: number;
  /** Critical Composite Temperature Time, minutes. */
  criticalCompTime: number;
  /** Temperature Sensors 1 to 8; 0 when a sensor is not implemented. */
  temperatureSensors: number[];
  /** Thermal Management Temperature 1 Transition Count. */
  thermalMgmtTemp1TransitionCount: number;
  /** Thermal Management Temperature 2 Transition Count. */
  thermalMgmtTemp2TransitionCount: number;
  /** Total Time For Thermal Management Temperature 1, seconds. */
  thermalMgmtTemp1TotalTime: number;
  /** Total Time For Thermal Management Temperature 2, seconds. */
  thermalMgmtTemp2TotalTime: number;
}

const SMART_LAYOUT: Layout<keyof SmartLog> = [
  ["criticalWarning", 0, 1],
  ["compositeTemperature", 1, 2],
  ["availableSpare", 3, 1],
  ["availableSpareThreshold", 4, 1],
  ["percentageUsed", 5, 1],
  ["enduranceGroupCriticalWarningSummary", 6, 1],
  ["dataUnitsRead", 32, 16],
  ["dataUnitsWritten", 48, 16],
  ["hostReadCommands", 64, 16],
  ["hostWriteCommands", 80, 16],
  ["controllerBusyTime", 96, 16],
  ["powerCycles", 112, 16],
  ["powerOnHours", 128, 16],
  ["unsafeShutdowns", 144, 16],
  ["mediaErrors", 160, 16],
  ["numErrLogEntries", 176, 16],
  ["warningTempTime", 192, 4],
  ["criticalCompTime", 196, 4],
  ["temperatureSensors", 200, 2 * SMART_TEMPERATURE_SENSORS],
  ["thermalMgmtTemp1TransitionCount", 216, 4],
  ["thermalMgmtTemp2TransitionCount", 220, 4],
  ["thermalMgmtTemp1TotalTime", 224, 4],
  ["thermalMgmtTemp2TotalTime", 228, 4],
];

/** Byte offsets of the SMART / Health log fields; `temperatureSensors` is where sensor 1 is. */
export const SmartLogOffset: Readonly<Record<keyof SmartLog, number>> = offsetsOf(SMART_LAYOUT);

const SMART_COUNTERS = [
  "dataUnitsRead",
  "dataUnitsWritten",
  "hostReadCommands",
  "hostWriteCommands",
  "controllerBusyTime",
  "powerCycles",
  "powerOnHours",
  "unsafeShutdowns",
  "mediaErrors",
  "numErrLogEntries",
] as const;
const SMART_U8 = [
  "criticalWarning",
  "availableSpare",
  "availableSpareThreshold",
  "percentageUsed",
  "enduranceGroupCriticalWarningSummary",
] as const;
const SMART_U32 = [
  "warningTempTime",
  "criticalCompTime",
  "thermalMgmtTemp1TransitionCount",
  "thermalMgmtTemp2TransitionCount",
  "thermalMgmtTemp1TotalTime",
  "thermalMgmtTemp2TotalTime",
] as const;

/**
 * Decodes the SMART / Health Information log page.
 *
 * @param bytes The page, at least 512 bytes.
 * @returns The fields.
 * @throws {ProtocolFieldError} When `bytes` is shorter than 512 bytes.
 * @example Usage
 * ```ts
 * import { decodeSmartLog } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(512);
 * b[3] = 100; // Available Spare
 * b[64] = 3; // Host Read Commands
 * const s = decodeSmartLog(b);
 * assert.equal(s.availableSpare, 100);
 * assert.equal(s.hostReadCommands, 3n);
 * ```
 */
export function decodeSmartLog(bytes: Uint8Array): SmartLog {
  const view = need(bytes, LogPageSize.SMART_HEALTH, SMART_LAYOUT, "SMART / Health log");
  const o = SmartLogOffset;
  const out: Record<string, unknown> = {};
  for (const name of SMART_U8) out[name] = view.getUint8(o[name]);
  out.compositeTemperature = view.getUint16(o.compositeTemperature, true);
  for (const name of SMART_COUNTERS) out[name] = u128(view, o[name]);
  for (const name of SMART_U32) out[name] = view.getUint32(o[name], true);
  const sensors: number[] = [];
  for (let i = 0; i < SMART_TEMPERATURE_SENSORS; i++) {
    sensors.push(view.getUint16(o.temperatureSensors + 2 * i, true));
  }
  out.temperatureSensors = sensors;
  return out as unknown as SmartLog;
}

/**
 * Encodes the SMART / Health Information log page.
 *
 * @param s The fields; absent ones are zero, as are sensors past the end of `temperatureSensors`.
 * @param into Where to write, at least 512 bytes; a new array when absent.
 * @returns The 512 bytes written: `into` itself when it is exactly 512 bytes long, else a view of
 * its start.
 * @throws {RangeError} When `into` is too short, a value does not fit its field, or there are more
 * than 8 sensors.
 * @throws {TypeError} When a value has the wrong type.
 * @example Usage
 * ```ts
 * import { encodeSmartLog } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * const b = encodeSmartLog({ compositeTemperature: 310, powerOnHours: 1n });
 * assert.equal(b[1] | (b[2] << 8), 310);
 * assert.equal(b[128], 1);
 * ```
 */
export function encodeSmartLog(s: Partial<SmartLog>, into?: Uint8Array): Uint8Array {
  const [bytes, view] = target(into, LogPageSize.SMART_HEALTH, "SMART / Health log");
  const o = SmartLogOffset;
  const l = (name: string) => `SMART / Health log ${name}`;
  for (const name of SMART_U8) view.setUint8(o[name], uint(s[name], 0xff, l(name)));
  view.setUint16(
    o.compositeTemperature,
    uint(s.compositeTemperature, 0xffff, l("compositeTemperature")),
    true,
  );
  for (const name of SMART_COUNTERS) putU128(view, o[name], ubig(s[name], 128, l(name)));
  for (const name of SMART_U32) view.setUint32(o[name], uint(s[name], 0xffffffff, l(name)), true);
  const sensors = s.temperatureSensors ?? [];
  if (!Array.isArray(sensors) || sensors.length > SMART_TEMPERATURE_SENSORS) {
    throw new RangeError(
      `Cannot encode ${
        l("temperatureSensors")
      }: expected up to ${SMART_TEMPERATURE_SENSORS} values`,
    );
  }
  for (let i = 0; i < sensors.length; i++) {
    view.setUint16(
      o.temperatureSensors + 2 * i,
      uint(sensors[i], 0xffff, l(`temperatureSensors[${i}]`)),
      true,
    );
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Firmware Slot Information (Base 5.16.1.4, Figure 208)

/** Number of firmware slots, FRS1 to FRS7. */
export const FIRMWARE_SLOTS = 7;
/** Size of one firmware revision string. */
export const FIRMWARE_REVISION_SIZE = 8;

/** The Firmware Slot Information log page (512 bytes). */
export interface FirmwareSlotLog {
  /** AFI: active firmware info, the running slot in bits 2:0, the next in bits 6:4. */
  afi: number;
  /**
   * FRS1 to FRS7: the revision in each slot, trailing spaces trimmed; `""` for a slot that is
   * empty or not supported (all zero on the wire).
   */
  frs: string[];
}

const FW_LAYOUT: Layout<"afi" | "frs"> = [
  ["afi", 0, 1],
  ["frs", 8, FIRMWARE_REVISION_SIZE * FIRMWARE_SLOTS],
];

/** Byte offsets of the Firmware Slot log fields; `frs` is where FRS1 starts. */
export const FirmwareSlotLogOffset: Readonly<Record<keyof FirmwareSlotLog, number>> = offsetsOf(
  FW_LAYOUT,
);

/**
 * Decodes the Firmware Slot Information log page.
 *
 * @param bytes The page, at least 512 bytes.
 * @returns AFI and the seven revisions.
 * @throws {ProtocolFieldError} When `bytes` is shorter than 512 bytes.
 * @example Usage
 * ```ts
 * import { decodeFirmwareSlotLog, encodeFirmwareSlotLog } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * const log = decodeFirmwareSlotLog(encodeFirmwareSlotLog({ afi: 1, frs: ["1.0"] }));
 * assert.deepEqual(log, { afi: 1, frs: ["1.0", "", "", "", "", "", ""] });
 * ```
 */
export function decodeFirmwareSlotLog(bytes: Uint8Array): FirmwareSlotLog {
  need(bytes, LogPageSize.FIRMWARE_SLOT, FW_LAYOUT, "Firmware Slot log");
  const frs: string[] = [];
  for (let i = 0; i < FIRMWARE_SLOTS; i++) {
    const at = FirmwareSlotLogOffset.frs + i * FIRMWARE_REVISION_SIZE;
    const field = bytes.subarray(at, at + FIRMWARE_REVISION_SIZE);
    let end = FIRMWARE_REVISION_SIZE;
    if (field.every((b) => b === 0)) end = 0;
    while (end > 0 && field[end - 1] === SPACE) end--;
    frs.push(String.fromCharCode(...field.subarray(0, end)));
  }
  return { afi: bytes[FirmwareSlotLogOffset.afi], frs };
}

/**
 * Encodes the Firmware Slot Information log page.
 *
 * @param log AFI and up to seven revisions; an empty or absent revision is written as zeros, any
 * other padded with spaces to 8 bytes.
 * @param into Where to write, at least 512 bytes; a new array when absent.
 * @returns The 512 bytes written: `into` itself when it is exactly 512 bytes long, else a view of
 * its start.
 * @throws {RangeError} When `into` is too short, AFI is out of range, there are more than seven
 * revisions, or one is longer than 8 single-byte characters.
 * @throws {TypeError} When a value has the wrong type.
 * @example Usage
 * ```ts
 * import { encodeFirmwareSlotLog } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * const b = encodeFirmwareSlotLog({ afi: 1, frs: ["6.1"] });
 * assert.equal(new TextDecoder().decode(b.subarray(8, 16)), "6.1     ");
 * ```
 */
export function encodeFirmwareSlotLog(
  log: Partial<FirmwareSlotLog>,
  into?: Uint8Array,
): Uint8Array {
  const [bytes] = target(into, LogPageSize.FIRMWARE_SLOT, "Firmware Slot log");
  bytes[FirmwareSlotLogOffset.afi] = uint(log.afi, 0xff, "Firmware Slot log afi");
  const frs = log.frs ?? [];
  if (!Array.isArray(frs) || frs.length > FIRMWARE_SLOTS) {
    throw new RangeError(
      `Cannot encode Firmware Slot log frs: expected up to ${FIRMWARE_SLOTS} revisions`,
    );
  }
  for (let i = 0; i < frs.length; i++) {
    const value = frs[i];
    const label = `Firmware Slot log FRS${i + 1}`;
    if (typeof value !== "string") {
      throw new TypeError(`Cannot encode ${label}: expected a string, received ${typeof value}`);
    }
    if (value.length > FIRMWARE_REVISION_SIZE) {
      throw new RangeError(
        `Cannot encode ${label}: ${value.length} characters exceed ${FIRMWARE_REVISION_SIZE}`,
      );
    }
    if (value.length === 0) continue;
    const at = FirmwareSlotLogOffset.frs + i * FIRMWARE_REVISION_SIZE;
    for (let j = 0; j < value.length; j++) {
      const code = value.charCodeAt(j);
      if (code > 0xff) {
        throw new RangeError(`Cannot encode ${label}: character ${j} is not a single byte`);
      }
      bytes[at + j] = code;
    }
    bytes.fill(SPACE, at + value.length, at + FIRMWARE_REVISION_SIZE);
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Changed Namespace List (Base 5.16.1.5, Figure 209)

/** Most NSIDs a Changed Namespace List holds. */
export const CHANGED_NS_LIST_MAX_ENTRIES: number = LogPageSize.CHANGED_NAMESPACE_LIST / 4;

/** The Changed Namespace List log page. */
export interface ChangedNsList {
  /** True when more than 1024 namespaces changed: the page holds FFFFFFFFh alone. */
  overflow: boolean;
  /** The changed NSIDs, up to 1024; empty when `overflow`. */
  nsids: number[];
}

/**
 * Decodes a Changed Namespace List: NSIDs up to the first 0 or the end.
 *
 * @param bytes The page (4096 bytes, or fewer), a multiple of 4 bytes.
 * @returns The changed NSIDs, or `overflow` when the first entry is FFFFFFFFh.
 * @throws {ProtocolFieldError} When the length is not a multiple of 4.
 * @example Usage
 * ```ts
 * import { decodeChangedNsList } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeChangedNsList(Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0)), {
 *   overflow: false,
 *   nsids: [3],
 * });
 * assert.equal(decodeChangedNsList(new Uint8Array(4).fill(0xff)).overflow, true);
 * ```
 */
export function decodeChangedNsList(bytes: Uint8Array): ChangedNsList {
  if (bytes.length % 4 !== 0) {
    throw new ProtocolFieldError(
      `Reject Changed Namespace List: ${bytes.length} bytes is not a whole number of NSIDs`,
      "nsids",
      bytes.length - (bytes.length % 4),
    );
  }
  const view = dataView(bytes);
  if (bytes.length >= 4 && view.getUint32(0, true) === CHANGED_NS_LIST_OVERFLOW) {
    return { overflow: true, nsids: [] };
  }
  const nsids: number[] = [];
  const end = Math.min(bytes.length, LogPageSize.CHANGED_NAMESPACE_LIST);
  for (let at = 0; at < end; at += 4) {
    const nsid = view.getUint32(at, true);
    if (nsid === 0) break;
    nsids.push(nsid);
  }
  return { overflow: false, nsids };
}

/**
 * Encodes a Changed Namespace List into 4096 bytes.
 *
 * @param list `overflow` to report more than 1024 changes (then `nsids` must be empty), else up to
 * 1024 NSIDs, each 1 to FFFFFFFEh.
 * @param into Where to write, at least 4096 bytes; a new array when absent.
 * @returns The 4096 bytes written: `into` itself when it is exactly 4096 bytes long, else a view
 * of its start.
 * @throws {RangeError} When there are too many NSIDs, one is out of range, NSIDs come with
 * `overflow`, or `into` is too short.
 * @example Usage
 * ```ts
 * import { encodeChangedNsList } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * assert.deepEqual(encodeChangedNsList({ overflow: true, nsids: [] }).subarray(0, 5), Uint8Array.of(255, 255, 255, 255, 0));
 * assert.equal(encodeChangedNsList({ overflow: false, nsids: [1, 2] })[4], 2);
 * ```
 */
export function encodeChangedNsList(
  list: Partial<ChangedNsList>,
  into?: Uint8Array,
): Uint8Array {
  const nsids = list.nsids ?? [];
  if (nsids.length > CHANGED_NS_LIST_MAX_ENTRIES) {
    throw new RangeError(
      `Cannot encode Changed Namespace List: ${nsids.length} NSIDs exceed ${CHANGED_NS_LIST_MAX_ENTRIES}; set overflow instead`,
    );
  }
  if (list.overflow === true && nsids.length > 0) {
    throw new RangeError("Cannot encode Changed Namespace List: overflow carries no NSIDs");
  }
  const [bytes, view] = target(into, LogPageSize.CHANGED_NAMESPACE_LIST, "Changed Namespace List");
  if (list.overflow === true) {
    view.setUint32(0, CHANGED_NS_LIST_OVERFLOW, true);
    return bytes;
  }
  for (let i = 0; i < nsids.length; i++) {
    const nsid = nsids[i];
    if (!Number.isInteger(nsid) || nsid < 1 || nsid >= NSID_BROADCAST) {
      throw new RangeError(
        `Cannot encode Changed Namespace List: NSID ${i} must be 1 to ${
          NSID_BROADCAST - 1
        }, received ${nsid}`,
      );
    }
    view.setUint32(i * 4, nsid, true);
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Commands Supported and Effects (Base 5.16.1.6, Figure 210)

/** Entries in each half of the Commands Supported and Effects log: one per opcode. */
export const COMMAND_EFFECTS_ENTRIES = 256;

/**
 * The Commands Supported and Effects log page: one 32-bit entry per opcode, bits of
 * `CommandEffects`.
 */
export interface CommandEffectsLog {
  /** ACS0 to ACS255: admin commands, indexed by opcode. */
  acs: number[];
  /** IOCS0 to IOCS255: I/O commands, indexed by opcode. */
  iocs: number[];
}

const EFFECTS_LAYOUT: Layout<keyof CommandEffectsLog> = [
  ["acs", 0, 4 * COMMAND_EFFECTS_ENTRIES],
  ["iocs", 1024, 4 * COMMAND_EFFECTS_ENTRIES],
];

/** Byte offsets of the two halves of the Commands Supported and Effects log. */
export const CommandEffectsLogOffset: Readonly<Record<keyof CommandEffectsLog, number>> = offsetsOf(
  EFFECTS_LAYOUT,
);

/**
 * Decodes the Commands Supported and Effects log page.
 *
 * @param bytes The page, at least 4096 bytes.
 * @returns 256 admin and 256 I/O entries.
 * @throws {ProtocolFieldError} When `bytes` is shorter than 4096 bytes.
 * @example Usage
 * ```ts
 * import { decodeCommandEffectsLog } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(4096);
 * b[6 * 4] = 1; // ACS6 (Identify): CSUPP
 * assert.equal(decodeCommandEffectsLog(b).acs[6], 1);
 * ```
 */
export function decodeCommandEffectsLog(bytes: Uint8Array): CommandEffectsLog {
  const view = need(
    bytes,
    LogPageSize.COMMANDS_SUPPORTED_AND_EFFECTS,
    EFFECTS_LAYOUT,
    "Commands Supported and Effects log",
  );
  const acs: number[] = [];
  const iocs: number[] = [];
  for (let i = 0; i < COMMAND_EFFECTS_ENTRIES; i++) {
    acs.push(view.getUint32(CommandEffectsLogOffset.acs + 4 * i, true));
    iocs.push(view.getUint32(CommandEffectsLogOffset.iocs + 4 * i, true));
  }
  return { acs, iocs };
}

/**
 * Encodes the Commands Supported and Effects log page.
 *
 * @param log Up to 256 entries in each half, indexed by opcode; missing entries are zero.
 * @param into Where to write, at least 4096 bytes; a new array when absent.
 * @returns The 4096 bytes written: `into` itself when it is exactly 4096 bytes long, else a view
 * of its start.
 * @throws {RangeError} When `into` is too short, a half has more than 256 entries, or an entry
 * is not a 32-bit value.
 * @example Usage
 * ```ts
 * import { encodeCommandEffectsLog } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * const iocs: number[] = [];
 * iocs[0x02] = 1; // Read: CSUPP
 * const b = encodeCommandEffectsLog({ iocs });
 * assert.equal(b[1024 + 2 * 4], 1);
 * ```
 */
export function encodeCommandEffectsLog(
  log: Partial<CommandEffectsLog>,
  into?: Uint8Array,
): Uint8Array {
  const [bytes, view] = target(
    into,
    LogPageSize.COMMANDS_SUPPORTED_AND_EFFECTS,
    "Commands Supported and Effects log",
  );
  for (const half of ["acs", "iocs"] as const) {
    const entries = log[half] ?? [];
    if (!Array.isArray(entries) || entries.length > COMMAND_EFFECTS_ENTRIES) {
      throw new RangeError(
        `Cannot encode Commands Supported and Effects log ${half}: expected up to ${COMMAND_EFFECTS_ENTRIES} entries`,
      );
    }
    for (let i = 0; i < entries.length; i++) {
      if (entries[i] === undefined) continue; // a hole in a sparse array
      const value = uint(
        entries[i],
        0xffffffff,
        `Commands Supported and Effects log ${half}[${i}]`,
      );
      view.setUint32(CommandEffectsLogOffset[half] + 4 * i, value, true);
    }
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Get Log Page command (Base 5.16, Figures 197 to 201)

/** The fields of a Get Log Page command. */
export interface GetLogPageCommand {
  /** Command identifier. */
  cid: number;
  /** Namespace; 0 or FFFFFFFFh for controller-wide pages. Default 0. */
  nsid?: number;
  /** LID: log page identifier, one of `LogPageId`. */
  lid: number;
  /** LSP: log specific parameter, 7 bits. Default 0. */
  lsp?: number;
  /** RAE: retain asynchronous event. Default false. */
  rae?: boolean;
  /** Number of dwords to return, 1 to 2^32 (the SQE carries it 0's based, as NUMDL and NUMDU). */
  numd: number;
  /** LPO: log page offset in bytes (an index when `ot`). Default 0. */
  lpo?: bigint;
  /** LSI: log specific identifier, CDW11 bits 31:16. Default 0. */
  lsi?: number;
  /** CSI: command set identifier, CDW14 bits 31:24. Default 0. */
  csi?: number;
  /** OT: offset type, LPO is an index. Default false. */
  ot?: boolean;
  /** UUID index, CDW14 bits 6:0. Default 0. */
  uuidIndex?: number;
}

/** A decoded Get Log Page command: every field, and the transfer length in bytes. */
export interface GetLogPageFields extends Required<GetLogPageCommand> {
  /** Bytes to transfer: `numd * 4`. */
  length: number;
}

const NUMD_MAX = 2 ** 32;

/**
 * Encodes a Get Log Page command into a 64-byte SQE (DPTR and PSDT are left for the transport).
 *
 * @param cmd The fields.
 * @param into Where to write, at least 64 bytes; a new array when absent.
 * @returns `into`, or the new array.
 * @throws {RangeError} When a field does not fit, or `into` is too short.
 * @example Usage
 * ```ts
 * import { encodeGetLogPage } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * const sqe = encodeGetLogPage({ cid: 13, lid: 0x70, rae: true, numd: 256 });
 * const cdw10 = new DataView(sqe.buffer).getUint32(40, true);
 * assert.equal(cdw10, 0x00ff8070); // NUMDL 255, RAE, LID 70h
 * ```
 */
export function encodeGetLogPage(cmd: GetLogPageCommand, into?: Uint8Array): Uint8Array {
  const b = GetLogPageBits;
  const numd = cmd.numd;
  if (!Number.isInteger(numd) || numd < 1 || numd > NUMD_MAX) {
    throw new RangeError(
      `Cannot encode Get Log Page NUMD: expected 1 to ${NUMD_MAX} dwords, received ${numd}`,
    );
  }
  const lid = uint(cmd.lid, b.LID_MASK, "Get Log Page LID");
  const lsp = uint(cmd.lsp, b.LSP_MASK, "Get Log Page LSP");
  const lsi = uint(cmd.lsi, 0xffff, "Get Log Page LSI");
  const csi = uint(cmd.csi, 0xff, "Get Log Page CSI");
  const uuidIndex = uint(cmd.uuidIndex, b.UUID_INDEX_MASK, "Get Log Page UUID index");
  const lpo = ubig(cmd.lpo, 64, "Get Log Page LPO");
  const numd0 = numd - 1; // NUMD is 0's based
  const numdl = numd0 & 0xffff;
  const numdu = Math.floor(numd0 / 0x10000);
  return encodeSqe({
    opcode: AdminOpcode.GET_LOG_PAGE,
    cid: cmd.cid,
    nsid: cmd.nsid ?? 0,
    cdw10: (lid | (lsp << b.LSP_SHIFT) | (cmd.rae === true ? b.RAE : 0) |
      (numdl << b.NUMDL_SHIFT)) >>> 0,
    cdw11: (numdu | (lsi << b.LSI_SHIFT)) >>> 0,
    cdw12: Number(BigInt.asUintN(32, lpo)),
    cdw13: Number(lpo >> 32n),
    cdw14: (uuidIndex | (cmd.ot === true ? b.OT : 0) | (csi << b.CSI_SHIFT)) >>> 0,
  }, into);
}

/**
 * Decodes the fields of a Get Log Page SQE.
 *
 * @param sqe The 64-byte SQE.
 * @returns Every field, NUMD as a count of dwords, and `length` in bytes.
 * @throws {RangeError} When `sqe` is shorter than 64 bytes.
 * @throws {ProtocolFieldError} When the opcode is not Get Log Page.
 * @example Usage
 * ```ts
 * import { decodeGetLogPage, encodeGetLogPage } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * const f = decodeGetLogPage(encodeGetLogPage({ cid: 1, lid: 2, numd: 128, lpo: 4096n }));
 * assert.equal(f.length, 512);
 * assert.equal(f.lpo, 4096n);
 * ```
 */
export function decodeGetLogPage(sqe: Uint8Array): GetLogPageFields {
  const view = sqeView(sqe, AdminOpcode.GET_LOG_PAGE, "Get Log Page");
  const b = GetLogPageBits;
  const cdw10 = view.getUint32(SQE_CDW10, true);
  const cdw11 = view.getUint32(SQE_CDW11, true);
  const cdw14 = view.getUint32(SQE_CDW14, true);
  const numd = (cdw11 & b.NUMDU_MASK) * 0x10000 + (cdw10 >>> b.NUMDL_SHIFT) + 1;
  return {
    cid: view.getUint16(SQE_CID, true),
    nsid: view.getUint32(SQE_NSID, true),
    lid: cdw10 & b.LID_MASK,
    lsp: (cdw10 >>> b.LSP_SHIFT) & b.LSP_MASK,
    rae: (cdw10 & b.RAE) !== 0,
    numd,
    lpo: (BigInt(view.getUint32(SQE_CDW13, true)) << 32n) | BigInt(view.getUint32(SQE_CDW12, true)),
    lsi: cdw11 >>> b.LSI_SHIFT,
    csi: cdw14 >>> b.CSI_SHIFT,
    ot: (cdw14 & b.OT) !== 0,
    uuidIndex: cdw14 & b.UUID_INDEX_MASK,
    length: numd * 4,
  };
}

// ---------------------------------------------------------------------------------------------
// Identify command (Base 5.17, Figures 271 and 272)

/** The fields of an Identify command. */
export interface IdentifyCommand {
  /** Command identifier. */
  cid: number;
  /** CNS: controller or namespace structure, one of `IdentifyCns`. */
  cns: number;
  /** Namespace (for CNS 00h, 03h) or the NSID to list after (CNS 02h). Default 0. */
  nsid?: number;
  /** CNTID: controller identifier, CDW10 bits 31:16. Default 0. */
  cntid?: number;
  /** CNSSID: CNS specific identifier (NVM Set, Endurance Group, Domain), CDW11 bits 15:0. Default 0. */
  cnssid?: number;
  /** CSI: command set identifier, CDW11 bits 31:24. Default 0. */
  csi?: number;
  /** UUID index, CDW14 bits 6:0. Default 0. */
  uuidIndex?: number;
}

/**
 * Encodes an Identify command into a 64-byte SQE (DPTR and PSDT are left for the transport).
 *
 * @param cmd The fields.
 * @param into Where to write, at least 64 bytes; a new array when absent.
 * @returns `into`, or the new array.
 * @throws {RangeError} When a field does not fit, or `into` is too short.
 * @example Usage
 * ```ts
 * import { encodeIdentify } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * const sqe = encodeIdentify({ cid: 12, cns: 3, nsid: 1 });
 * assert.equal(sqe[0], 0x06);
 * assert.equal(sqe[40], 3);
 * ```
 */
export function encodeIdentify(cmd: IdentifyCommand, into?: Uint8Array): Uint8Array {
  const b = IdentifyBits;
  const cns = uint(cmd.cns, b.CNS_MASK, "Identify CNS");
  const cntid = uint(cmd.cntid, 0xffff, "Identify CNTID");
  const cnssid = uint(cmd.cnssid, b.CNSSID_MASK, "Identify CNSSID");
  const csi = uint(cmd.csi, 0xff, "Identify CSI");
  const uuidIndex = uint(cmd.uuidIndex, b.UUID_INDEX_MASK, "Identify UUID index");
  return encodeSqe({
    opcode: AdminOpcode.IDENTIFY,
    cid: cmd.cid,
    nsid: cmd.nsid ?? 0,
    cdw10: (cns | (cntid << b.CNTID_SHIFT)) >>> 0,
    cdw11: (cnssid | (csi << b.CSI_SHIFT)) >>> 0,
    cdw14: uuidIndex,
  }, into);
}

/**
 * Decodes the fields of an Identify SQE.
 *
 * @param sqe The 64-byte SQE.
 * @returns Every field.
 * @throws {RangeError} When `sqe` is shorter than 64 bytes.
 * @throws {ProtocolFieldError} When the opcode is not Identify.
 * @example Usage
 * ```ts
 * import { decodeIdentify, encodeIdentify } from "@nvmf/proto/log-pages";
 * import assert from "node:assert/strict";
 * const f = decodeIdentify(encodeIdentify({ cid: 1, cns: 1 }));
 * assert.deepEqual(f, { cid: 1, cns: 1, nsid: 0, cntid: 0, cnssid: 0, csi: 0, uuidIndex: 0 });
 * ```
 */
export function decodeIdentify(sqe: Uint8Array): Required<IdentifyCommand> {
  const view = sqeView(sqe, AdminOpcode.IDENTIFY, "Identify");
  const b = IdentifyBits;
  const cdw10 = view.getUint32(SQE_CDW10, true);
  const cdw11 = view.getUint32(SQE_CDW11, true);
  return {
    cid: view.getUint16(SQE_CID, true),
    cns: cdw10 & b.CNS_MASK,
    nsid: view.getUint32(SQE_NSID, true),
    cntid: cdw10 >>> b.CNTID_SHIFT,
    cnssid: cdw11 & b.CNSSID_MASK,
    csi: cdw11 >>> b.CSI_SHIFT,
    uuidIndex: view.getUint32(SQE_CDW14, true) & b.UUID_INDEX_MASK,
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function sqeView(sqe: Uint8Array, opcode: number, what: string): DataView {
  if (!(sqe instanceof Uint8Array) || sqe.length < SQE_SIZE) {
    throw new RangeError(
      `Cannot decode ${what} command: need ${SQE_SIZE} bytes, received ${
        sqe instanceof Uint8Array ? sqe.length : typeof sqe
      }`,
    );
  }
  if (sqe[SQE_OPCODE] !== opcode) {
    throw new ProtocolFieldError(
      `Reject OPC: ${what} is ${opcode}, received ${sqe[SQE_OPCODE]}`,
      "OPC",
      SQE_OPCODE,
    );
  }
  return dataView(sqe);
}

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AdminOpcode,
  CommandEffects,
  IdentifyCns,
  LogPageId,
  NSID_BROADCAST,
  NvmOpcode,
  TransportType,
} from "./constants.ts";
import { ProtocolFieldError } from "./errors.ts";
import {
  type CommandEffectsLog,
  decodeChangedNsList,
  decodeCommandEffectsLog,
  decodeErrorInformationEntry,
  decodeErrorInformationLog,
  decodeFirmwareSlotLog,
  decodeGetLogPage,
  decodeIdentify,
  decodeSmartLog,
  encodeChangedNsList,
  encodeCommandEffectsLog,
  encodeErrorInformationEntry,
  encodeErrorInformationLog,
  encodeFirmwareSlotLog,
  encodeGetLogPage,
  encodeIdentify,
  encodeSmartLog,
  type ErrorInformationEntry,
  ErrorInformationEntryOffset,
  type SmartLog,
  SmartLogOffset,
} from "./log_pages.ts";
import { collectCommands, type CollectedCommand, loadStream, streamFile } from "./_fixtures.ts";

// ---------------------------------------------------------------------------------------------
// The captured NVMe/TCP streams (shared/fixtures/README.md), paired by _fixtures.ts.

function capture(conn: number): CollectedCommand[] {
  const h2c = loadStream(streamFile("plain", conn, "host-to-controller"));
  const c2h = loadStream(streamFile("plain", conn, "controller-to-host"));
  return collectCommands(h2c, c2h);
}

/** Get Log Page commands of an admin queue capture, decoded, with their C2HData as `data`. */
function logReads(conn: number, lid: number) {
  return capture(conn)
    .filter((c) => c.opcode === AdminOpcode.GET_LOG_PAGE)
    .map((c) => ({ ...c, data: c.c2hData, f: decodeGetLogPage(c.sqe) }))
    .filter((c) => c.f.lid === lid);
}

/** The bytes of a command the encoders write: OPC, CID, NSID and CDW10 to CDW15. */
function commandFields(sqe: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  out.set(sqe.subarray(0, 1), 0);
  out.set(sqe.subarray(2, 8), 2);
  out.set(sqe.subarray(40, 64), 40);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Captured Linux 6.1 traffic

test("decodeSmartLog() reads nvmet's SMART log (get-log --log-id=2) and re-encodes it", () => {
  const reads = logReads(1, LogPageId.SMART_HEALTH);
  assert.equal(reads.length, 2);
  const expectedReads = [3n, 6n]; // host read commands so far: the kernel's, then nvme-cli's
  for (const [i, r] of reads.entries()) {
    assert.equal(r.f.nsid, NSID_BROADCAST);
    assert.equal(r.f.numd, 128);
    assert.equal(r.f.length, 512);
    assert.ok(r.data !== undefined);
    assert.equal(r.data.length, r.f.length);
    const s = decodeSmartLog(r.data);
    assert.equal(s.dataUnitsRead, 1n);
    assert.equal(s.hostReadCommands, expectedReads[i]);
    assert.equal(s.dataUnitsWritten, 0n);
    assert.equal(s.hostWriteCommands, 0n);
    assert.equal(s.numErrLogEntries, 0n);
    assert.equal(s.criticalWarning, 0);
    assert.equal(s.compositeTemperature, 0); // nvmet reports none
    assert.deepEqual(s.temperatureSensors, [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(encodeSmartLog(s), r.data);
  }
});

test("decodeCommandEffectsLog() reads nvmet's Commands Supported and Effects log", () => {
  const reads = logReads(1, LogPageId.COMMANDS_SUPPORTED_AND_EFFECTS);
  assert.equal(reads.length, 1);
  const bytes = reads[0].data;
  assert.ok(bytes !== undefined);
  assert.equal(bytes.length, 4096);
  const log = decodeCommandEffectsLog(bytes);
  // nvmet_execute_get_log_cmd_effects_ns(): CSUPP on these opcodes only.
  const acs = [
    AdminOpcode.GET_LOG_PAGE,
    AdminOpcode.IDENTIFY,
    AdminOpcode.ABORT,
    AdminOpcode.SET_FEATURES,
    AdminOpcode.GET_FEATURES,
    AdminOpcode.ASYNC_EVENT_REQUEST,
    AdminOpcode.KEEP_ALIVE,
  ];
  const iocs = [
    NvmOpcode.FLUSH,
    NvmOpcode.WRITE,
    NvmOpcode.READ,
    NvmOpcode.WRITE_ZEROES,
    NvmOpcode.DATASET_MANAGEMENT,
  ];
  for (let op = 0; op < 256; op++) {
    assert.equal(log.acs[op], acs.includes(op as never) ? CommandEffects.CSUPP : 0, `ACS${op}`);
    assert.equal(log.iocs[op], iocs.includes(op as never) ? CommandEffects.CSUPP : 0, `IOCS${op}`);
  }
  assert.deepEqual(encodeCommandEffectsLog(log), bytes);
});

test("decodeGetLogPage() reads the commands nvme-cli and the kernel sent", () => {
  const disc = logReads(0, LogPageId.DISCOVERY);
  assert.deepEqual(
    disc.map((r) => [r.f.rae, r.f.numd, r.f.length, r.f.lpo, r.data?.length]),
    [[true, 256, 1024, 0n, 1024], [false, 768, 3072, 0n, 3072]],
  );
  const ana = logReads(1, LogPageId.ASYMMETRIC_NAMESPACE_ACCESS);
  assert.equal(ana.length, 2);
  for (const r of ana) {
    assert.equal(r.f.length, 8208); // NUMDL 803h: a header and descriptors for 128 groups
    assert.equal(r.data?.length, 8208);
    assert.equal(r.f.nsid, NSID_BROADCAST);
  }
  for (const conn of [0, 1]) {
    for (const c of capture(conn).filter((c) => c.opcode === AdminOpcode.GET_LOG_PAGE)) {
      const f = decodeGetLogPage(c.sqe);
      assert.equal(f.cid, c.cid);
      assert.deepEqual(commandFields(encodeGetLogPage(f)), commandFields(c.sqe));
    }
  }
});

test("decodeIdentify() reads the Identify commands of the captures", () => {
  const ids = capture(1).filter((c) => c.opcode === AdminOpcode.IDENTIFY).map((c) =>
    decodeIdentify(c.sqe)
  );
  assert.deepEqual(
    ids.map((f) => [f.cid, f.cns, f.nsid]),
    [
      [22, IdentifyCns.CONTROLLER, 0],
      [10, IdentifyCns.CS_CONTROLLER, 0],
      [11, IdentifyCns.ACTIVE_NAMESPACE_LIST, 0],
      [12, IdentifyCns.NAMESPACE_DESCRIPTOR_LIST, 1],
      [13, IdentifyCns.NAMESPACE, 1],
      [4106, IdentifyCns.NAMESPACE, 1],
      [4108, IdentifyCns.CONTROLLER, 0],
      [4109, IdentifyCns.NAMESPACE, 1],
      [4121, IdentifyCns.NAMESPACE, 1],
      [8214, IdentifyCns.NAMESPACE_DESCRIPTOR_LIST, 1],
    ],
  );
  for (const conn of [0, 1]) {
    for (const c of capture(conn).filter((c) => c.opcode === AdminOpcode.IDENTIFY)) {
      assert.deepEqual(commandFields(encodeIdentify(decodeIdentify(c.sqe))), commandFields(c.sqe));
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Get Log Page and Identify commands, hand-built

const cdw = (sqe: Uint8Array, n: number) =>
  new DataView(sqe.buffer, sqe.byteOffset).getUint32(n * 4, true);

test("encodeGetLogPage() splits the 0's based NUMD into NUMDL and NUMDU", () => {
  for (
    const [numd, numdl, numdu] of [
      [1, 0, 0],
      [128, 127, 0],
      [0x10000, 0xffff, 0],
      [0x10001, 0, 1],
      [2 ** 32, 0xffff, 0xffff],
    ]
  ) {
    const sqe = encodeGetLogPage({ cid: 1, lid: 2, numd });
    assert.equal(cdw(sqe, 10) >>> 16, numdl, `NUMDL of ${numd}`);
    assert.equal(cdw(sqe, 11) & 0xffff, numdu, `NUMDU of ${numd}`);
    const f = decodeGetLogPage(sqe);
    assert.equal(f.numd, numd);
    assert.equal(f.length, numd * 4);
  }
  assert.throws(() => encodeGetLogPage({ cid: 1, lid: 2, numd: 0 }), RangeError);
  assert.throws(() => encodeGetLogPage({ cid: 1, lid: 2, numd: 2 ** 32 + 1 }), RangeError);
  assert.throws(() => encodeGetLogPage({ cid: 1, lid: 2, numd: 1.5 }), RangeError);
});

test("encodeGetLogPage() places every field of CDW10 to CDW14", () => {
  const sqe = encodeGetLogPage({
    cid: 0xbeef,
    nsid: 7,
    lid: 0x0d,
    lsp: 0x7f,
    rae: true,
    numd: 3,
    lpo: 0x1234_5678_9abc_def0n,
    lsi: 0xcafe,
    csi: 2,
    ot: true,
    uuidIndex: 0x7f,
  });
  assert.equal(sqe[0], AdminOpcode.GET_LOG_PAGE);
  assert.equal(sqe[2] | (sqe[3] << 8), 0xbeef);
  assert.equal(cdw(sqe, 1), 7);
  assert.equal(cdw(sqe, 10), 0x0002ff0d);
  assert.equal(cdw(sqe, 11), 0xcafe0000);
  assert.equal(cdw(sqe, 12), 0x9abcdef0);
  assert.equal(cdw(sqe, 13), 0x12345678);
  assert.equal(cdw(sqe, 14), 0x0280007f);
  assert.equal(cdw(sqe, 15), 0);
  assert.deepEqual(decodeGetLogPage(sqe), {
    cid: 0xbeef,
    nsid: 7,
    lid: 0x0d,
    lsp: 0x7f,
    rae: true,
    numd: 3,
    lpo: 0x1234_5678_9abc_def0n,
    lsi: 0xcafe,
    csi: 2,
    ot: true,
    uuidIndex: 0x7f,
    length: 12,
  });
  assert.throws(() => encodeGetLogPage({ cid: 1, lid: 2, numd: 1, lsp: 0x80 }), RangeError);
  assert.throws(() => encodeGetLogPage({ cid: 1, lid: 0x100, numd: 1 }), RangeError);
  assert.throws(() => encodeGetLogPage({ cid: 1, lid: 2, numd: 1, lpo: 1n << 64n }), RangeError);
  assert.throws(() => encodeGetLogPage({ cid: 0x10000, lid: 2, numd: 1 }), RangeError);
  assert.throws(
    () => encodeGetLogPage({ cid: 1, lid: 2, numd: 1 }, new Uint8Array(63)),
    RangeError,
  );
});

test("encodeIdentify() places CNS, CNTID, CNSSID, CSI and the UUID index", () => {
  const sqe = encodeIdentify({
    cid: 9,
    cns: 0x13,
    nsid: 0,
    cntid: 0xfffe,
    cnssid: 0x1234,
    csi: 2,
    uuidIndex: 5,
  });
  assert.equal(sqe[0], AdminOpcode.IDENTIFY);
  assert.equal(cdw(sqe, 10), 0xfffe0013);
  assert.equal(cdw(sqe, 11), 0x02001234);
  assert.equal(cdw(sqe, 14), 5);
  assert.deepEqual(decodeIdentify(sqe), {
    cid: 9,
    cns: 0x13,
    nsid: 0,
    cntid: 0xfffe,
    cnssid: 0x1234,
    csi: 2,
    uuidIndex: 5,
  });
  const into = new Uint8Array(64).fill(0xaa);
  assert.equal(encodeIdentify({ cid: 1, cns: 1 }, into), into);
  assert.equal(into[63], 0);
  assert.throws(() => encodeIdentify({ cid: 1, cns: 0x100 }), RangeError);
  assert.throws(() => encodeIdentify({ cid: 1, cns: 1, uuidIndex: 0x80 }), RangeError);
});

test("decodeGetLogPage() and decodeIdentify() check the opcode and the length", () => {
  assert.throws(
    () => decodeGetLogPage(encodeIdentify({ cid: 1, cns: 1 })),
    (e: unknown) => e instanceof ProtocolFieldError && e.field === "OPC" && e.offset === 0,
  );
  assert.throws(
    () => decodeIdentify(encodeGetLogPage({ cid: 1, lid: 1, numd: 1 })),
    (e: unknown) => e instanceof ProtocolFieldError && e.field === "OPC",
  );
  assert.throws(() => decodeGetLogPage(new Uint8Array(63)), RangeError);
  assert.throws(() => decodeIdentify(new Uint8Array(0)), RangeError);
});

// ---------------------------------------------------------------------------------------------
// Error Information

const fullError: ErrorInformationEntry = {
  errorCount: 0x0102_0304_0506_0708n,
  sqid: 0x0a09,
  cid: 0x0c0b,
  status: 0x0e0d | 1,
  parameterErrorLocation: 0x0110,
  lba: 0x1817_1615_1413_1211n,
  nsid: 0x1c1b1a19,
  vs: 0x1d,
  trtype: TransportType.TCP,
  csi: 0x1e,
  commandSpecific: 0x2827_2625_2423_2221n,
  trtypeSpecific: 0x2a29,
  logPageVersion: 1,
};

test("encodeErrorInformationEntry() puts each field at its Base offset", () => {
  const bytes = encodeErrorInformationEntry(fullError);
  const expected = new Uint8Array(64);
  expected.set([8, 7, 6, 5, 4, 3, 2, 1, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x10, 0x01], 0);
  expected.set([
    0x11,
    0x12,
    0x13,
    0x14,
    0x15,
    0x16,
    0x17,
    0x18,
    0x19,
    0x1a,
    0x1b,
    0x1c,
    0x1d,
    3,
    0x1e,
  ], 16);
  expected.set([0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a], 32);
  expected[63] = 1;
  assert.deepEqual(bytes, expected);
  assert.deepEqual(decodeErrorInformationEntry(bytes), fullError);
  assert.equal(ErrorInformationEntryOffset.trtypeSpecific, 40);
});

test("decodeErrorInformationLog() decodes every whole entry", () => {
  const page = encodeErrorInformationLog([fullError, { errorCount: 1n, cid: 0xffff }, {}]);
  assert.equal(page.length, 192);
  const list = decodeErrorInformationLog(page);
  assert.equal(list.length, 3);
  assert.deepEqual(list[0], fullError);
  assert.equal(list[1].cid, 0xffff);
  assert.equal(list[2].errorCount, 0n);
  assert.equal(decodeErrorInformationLog(page.subarray(0, 191)).length, 2);
  assert.deepEqual(decodeErrorInformationLog(new Uint8Array(10)), []);
  assert.throws(
    () => decodeErrorInformationEntry(new Uint8Array(20)),
    (e: unknown) => e instanceof ProtocolFieldError && e.field === "lba" && e.offset === 16,
  );
  assert.throws(() => encodeErrorInformationEntry({ sqid: 0x10000 }), RangeError);
  assert.throws(() => encodeErrorInformationEntry({ lba: -1n }), RangeError);
  assert.throws(() => encodeErrorInformationLog([{}, {}], new Uint8Array(100)), RangeError);
});

// ---------------------------------------------------------------------------------------------
// SMART / Health

test("encodeSmartLog() and decode keep every field apart, 128-bit counters included", () => {
  const s: SmartLog = {
    criticalWarning: 0x1f,
    compositeTemperature: 0x0135,
    availableSpare: 100,
    availableSpareThreshold: 10,
    percentageUsed: 255,
    enduranceGroupCriticalWarningSummary: 0x0d,
    dataUnitsRead: (1n << 127n) | 1n,
    dataUnitsWritten: 2n,
    hostReadCommands: 3n,
    hostWriteCommands: 4n,
    controllerBusyTime: 5n,
    powerCycles: 6n,
    powerOnHours: 1n << 64n,
    unsafeShutdowns: 8n,
    mediaErrors: 9n,
    numErrLogEntries: 10n,
    warningTempTime: 11,
    criticalCompTime: 12,
    temperatureSensors: [301, 302, 303, 304, 305, 306, 307, 0xffff],
    thermalMgmtTemp1TransitionCount: 13,
    thermalMgmtTemp2TransitionCount: 14,
    thermalMgmtTemp1TotalTime: 15,
    thermalMgmtTemp2TotalTime: 0xffffffff,
  };
  const bytes = encodeSmartLog(s);
  assert.equal(bytes.length, 512);
  assert.deepEqual(decodeSmartLog(bytes), s);
  const view = new DataView(bytes.buffer);
  assert.equal(bytes[0], 0x1f);
  assert.equal(view.getUint16(1, true), 0x0135);
  assert.equal(bytes[6], 0x0d);
  assert.equal(bytes[32], 1);
  assert.equal(bytes[47], 0x80); // bit 127 of Data Units Read
  assert.equal(view.getBigUint64(128, true), 0n);
  assert.equal(view.getBigUint64(136, true), 1n); // Power On Hours bit 64
  assert.equal(view.getUint32(192, true), 11);
  assert.equal(view.getUint16(200, true), 301);
  assert.equal(view.getUint16(214, true), 0xffff);
  assert.equal(view.getUint32(SmartLogOffset.thermalMgmtTemp2TotalTime, true), 0xffffffff);
  assert.ok(bytes.subarray(7, 32).every((b) => b === 0));
  assert.ok(bytes.subarray(232).every((b) => b === 0));
});

test("SmartLogOffset pins struct nvme_smart_log", () => {
  // Offsets of Linux include/linux/nvme.h, Base 2.0 Figure 207.
  assert.deepEqual({ ...SmartLogOffset }, {
    criticalWarning: 0,
    compositeTemperature: 1,
    availableSpare: 3,
    availableSpareThreshold: 4,
    percentageUsed: 5,
    enduranceGroupCriticalWarningSummary: 6,
    dataUnitsRead: 32,
    dataUnitsWritten: 48,
    hostReadCommands: 64,
    hostWriteCommands: 80,
    controllerBusyTime: 96,
    powerCycles: 112,
    powerOnHours: 128,
    unsafeShutdowns: 144,
    mediaErrors: 160,
    numErrLogEntries: 176,
    warningTempTime: 192,
    criticalCompTime: 196,
    temperatureSensors: 200,
    thermalMgmtTemp1TransitionCount: 216,
    thermalMgmtTemp2TransitionCount: 220,
    thermalMgmtTemp1TotalTime: 224,
    thermalMgmtTemp2TotalTime: 228,
  });
});

test("decodeSmartLog() and encodeSmartLog() reject bad sizes and values", () => {
  assert.throws(
    () => decodeSmartLog(new Uint8Array(100)),
    (e: unknown) =>
      e instanceof ProtocolFieldError && e.field === "controllerBusyTime" && e.offset === 96 &&
      e.message === "Reject SMART / Health log: need 512 bytes, received 100",
  );
  assert.throws(() => encodeSmartLog({ temperatureSensors: new Array(9).fill(300) }), RangeError);
  assert.throws(() => encodeSmartLog({ powerCycles: 1n << 128n }), RangeError);
  assert.throws(() => encodeSmartLog({ powerCycles: 1 as unknown as bigint }), TypeError);
  assert.throws(() => encodeSmartLog({ availableSpare: 256 }), RangeError);
  assert.throws(() => encodeSmartLog({}, new Uint8Array(511)), RangeError);
  assert.deepEqual(encodeSmartLog({}), new Uint8Array(512));
});

// ---------------------------------------------------------------------------------------------
// Firmware Slot

test("decodeFirmwareSlotLog() reads the all-zero page nvmet sends as empty slots", () => {
  const log = decodeFirmwareSlotLog(new Uint8Array(512));
  assert.deepEqual(log, { afi: 0, frs: ["", "", "", "", "", "", ""] });
  assert.deepEqual(encodeFirmwareSlotLog(log), new Uint8Array(512));
});

test("encodeFirmwareSlotLog() pads revisions with spaces and round trips", () => {
  const log = { afi: 0x21, frs: ["6.1.0-56", "", "1.0"] };
  const bytes = encodeFirmwareSlotLog(log);
  assert.equal(bytes[0], 0x21);
  assert.ok(bytes.subarray(1, 8).every((b) => b === 0));
  assert.equal(String.fromCharCode(...bytes.subarray(8, 16)), "6.1.0-56");
  assert.ok(bytes.subarray(16, 24).every((b) => b === 0));
  assert.equal(String.fromCharCode(...bytes.subarray(24, 32)), "1.0     ");
  assert.deepEqual(decodeFirmwareSlotLog(bytes), {
    afi: 0x21,
    frs: ["6.1.0-56", "", "1.0", "", "", "", ""],
  });
  assert.throws(() => encodeFirmwareSlotLog({ frs: ["123456789"] }), RangeError);
  assert.throws(() => encodeFirmwareSlotLog({ frs: new Array(8).fill("") }), RangeError);
  assert.throws(() => encodeFirmwareSlotLog({ afi: 256 }), RangeError);
  assert.throws(
    () => decodeFirmwareSlotLog(new Uint8Array(60)),
    (e: unknown) => e instanceof ProtocolFieldError && e.field === "frs" && e.offset === 8,
  );
});

// ---------------------------------------------------------------------------------------------
// Changed Namespace List

test("decodeChangedNsList() reads NSIDs up to 0, or the overflow marker", () => {
  const bytes = encodeChangedNsList({ overflow: false, nsids: [1, 5, 0xfffffffe] });
  assert.equal(bytes.length, 4096);
  assert.deepEqual(decodeChangedNsList(bytes), { overflow: false, nsids: [1, 5, 0xfffffffe] });
  assert.deepEqual(decodeChangedNsList(new Uint8Array(4096)), { overflow: false, nsids: [] });
  const overflow = encodeChangedNsList({ overflow: true });
  assert.deepEqual(overflow.subarray(0, 8), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0));
  assert.deepEqual(decodeChangedNsList(overflow), { overflow: true, nsids: [] });
  const full = Array.from({ length: 1024 }, (_, i) => i + 1);
  assert.deepEqual(decodeChangedNsList(encodeChangedNsList({ nsids: full })).nsids, full);
  assert.throws(
    () => decodeChangedNsList(new Uint8Array(7)),
    (e: unknown) => e instanceof ProtocolFieldError && e.offset === 4,
  );
});

test("encodeChangedNsList() rejects lists it cannot represent", () => {
  assert.throws(
    () => encodeChangedNsList({ nsids: Array.from({ length: 1025 }, (_, i) => i + 1) }),
    RangeError,
  );
  assert.throws(() => encodeChangedNsList({ overflow: true, nsids: [1] }), RangeError);
  assert.throws(() => encodeChangedNsList({ nsids: [0] }), RangeError);
  assert.throws(() => encodeChangedNsList({ nsids: [0xffffffff] }), RangeError);
});

// ---------------------------------------------------------------------------------------------
// Commands Supported and Effects

test("encodeCommandEffectsLog() writes sparse entries and rejects bad ones", () => {
  const log: CommandEffectsLog = { acs: [], iocs: [] };
  log.acs[AdminOpcode.FORMAT_NVM] = CommandEffects.CSUPP | CommandEffects.LBCC | CommandEffects.NCC;
  log.iocs[0xff] = 0xffffffff;
  const bytes = encodeCommandEffectsLog(log);
  const view = new DataView(bytes.buffer);
  assert.equal(view.getUint32(0x80 * 4, true), 0x7);
  assert.equal(view.getUint32(1024 + 0xff * 4, true), 0xffffffff);
  const decoded = decodeCommandEffectsLog(bytes);
  assert.equal(decoded.acs.length, 256);
  assert.equal(decoded.acs[0x80], 7);
  assert.equal(decoded.acs[0x7f], 0);
  assert.equal(decoded.iocs[0xff], 0xffffffff);
  assert.throws(() => encodeCommandEffectsLog({ acs: new Array(257).fill(0) }), RangeError);
  assert.throws(() => encodeCommandEffectsLog({ iocs: [-1] }), RangeError);
  assert.throws(
    () => decodeCommandEffectsLog(new Uint8Array(2000)),
    (e: unknown) => e instanceof ProtocolFieldError && e.field === "iocs" && e.offset === 1024,
  );
});

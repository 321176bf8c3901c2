import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AdminOpcode,
  AsyncEventNotice,
  AsyncEventType,
  CcBits,
  CommandEffects,
  CommandSpecificStatus,
  ControllerType,
  CqeStatusBits,
  decodeCap,
  decodeChangedNsList,
  decodeCommandEffectsLog,
  decodeCqe,
  decodeCsts,
  decodeErrorInformationEntry,
  decodeFirmwareSlotLog,
  decodeIdentifyController,
  decodeIdentifyNamespace,
  decodeNsIdDescriptors,
  decodeNsIdList,
  decodeSmartLog,
  decodeStatus,
  encodeGetLogPage,
  encodeIdentify,
  encodePropertyGet,
  encodeSqe,
  FABRICS_OPCODE,
  FabricsStatus,
  FabricsType,
  FeatureId,
  FeatureSelect,
  GenericStatus,
  IdentifyCns,
  LogPageId,
  MediaStatus,
  NsIdType,
  NvmeVersion,
  NvmOpcode,
  Oncs,
  PROP_ATTRIB,
  Property,
  PropertySize,
  SglSupport,
  ShutdownStatus,
  StatusCodeType,
} from "@nvmf/proto";
import { RamBackend } from "./backend.ts";
import {
  CC_ENABLE,
  connectController,
  connectQueue,
  HOSTID,
  type HostQueue,
  startTarget,
  SUBNQN,
  type TestTarget,
} from "./_testing.ts";

type Status = { sct: number; sc: number };
const ok: Status = { sct: 0, sc: 0 };
const generic = (sc: number): Status => ({ sct: StatusCodeType.GENERIC, sc });
const specific = (sc: number): Status => ({ sct: StatusCodeType.COMMAND_SPECIFIC, sc });
const st = (cqe: { status: number }): Status => {
  const s = decodeStatus(cqe.status);
  return { sct: s.sct, sc: s.sc };
};

async function session(t: TestTarget, qsize = 32): Promise<{ admin: HostQueue; io: HostQueue }> {
  const { admin, cntlid } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const { queue: io, cqe } = await connectQueue(t.transport, "t", {
    subnqn: SUBNQN,
    qid: 1,
    cntlid,
    qsize,
  });
  assert.equal(cqe.status, 0);
  return { admin, io };
}

async function end(t: TestTarget, ...queues: HostQueue[]): Promise<void> {
  for (const q of queues) await q.close();
  await t.target.close();
  assert.deepEqual(t.errors, []);
}

function read(admin: HostQueue, sqe: Uint8Array, length: number) {
  const data = new Uint8Array(length);
  return admin.raw(sqe, data, "controller-to-host").then((cqe) => ({ cqe: decodeCqe(cqe), data }));
}

function identify(admin: HostQueue, cns: number, nsid = 0, csi = 0) {
  return read(admin, encodeIdentify({ cid: admin.nextCid(), cns, nsid, csi }), 4096);
}

function logPage(
  admin: HostQueue,
  lid: number,
  length: number,
  more: Partial<{ nsid: number; rae: boolean; lpo: bigint; csi: number }> = {},
) {
  return read(
    admin,
    encodeGetLogPage({ cid: admin.nextCid(), lid, numd: length / 4, ...more }),
    length,
  );
}

// ---------------------------------------------------------------------------------------------
// Properties and the CC/CSTS state machine

test("CAP reports MQES, CQR, TO, CSS and 4 KiB pages; VS is 1.3", async () => {
  const t = await startTarget({}, { associationParams: { maxIoQsize: 64 } });
  const { queue } = await connectQueue(t.transport, "t", { subnqn: SUBNQN });
  const cap = decodeCap((await queue.propertyGet(Property.CAP)).value);
  assert.equal(cap.mqes, 63);
  assert.equal(cap.cqr, true);
  assert.equal(cap.to, 15);
  assert.equal(cap.css, 0x41); // NVM and "I/O command sets", as Linux's nvmet
  assert.equal(cap.mpsmin, 0);
  assert.equal(cap.mpsmax, 0);
  assert.equal((await queue.propertyGet(Property.VS)).value, BigInt(NvmeVersion.V1_3));
  await end(t, queue);
});

test("CC.EN makes CSTS.RDY; commands before that fail with COMMAND_SEQUENCE_ERROR", async () => {
  const t = await startTarget();
  const { queue } = await connectQueue(t.transport, "t", { subnqn: SUBNQN });
  assert.equal((await queue.propertyGet(Property.CSTS)).value, 0n);
  assert.deepEqual(
    st(await queue.command({ opcode: AdminOpcode.KEEP_ALIVE })),
    generic(GenericStatus.COMMAND_SEQUENCE_ERROR),
  );
  assert.deepEqual(st(await queue.propertySet(Property.CC, CC_ENABLE & ~CcBits.EN)), ok);
  assert.equal((await queue.propertyGet(Property.CC)).value, BigInt(CC_ENABLE & ~CcBits.EN));
  await queue.propertySet(Property.CC, CC_ENABLE);
  const csts = decodeCsts(Number((await queue.propertyGet(Property.CSTS)).value));
  assert.equal(csts.rdy, true);
  assert.equal(csts.cfs, false);
  const { cqe } = await identify(queue, IdentifyCns.CONTROLLER);
  assert.deepEqual(st(cqe), ok);
  await end(t, queue);
});

test("an enable with bad IOSQES, MPS or CSS sets CSTS.CFS and stays not ready", async () => {
  for (
    const cc of [
      CC_ENABLE & ~(0xf << CcBits.IOSQES_SHIFT),
      CC_ENABLE | (1 << CcBits.MPS_SHIFT),
      (CC_ENABLE & ~(7 << CcBits.CSS_SHIFT)) | (1 << CcBits.CSS_SHIFT),
    ]
  ) {
    const t = await startTarget();
    const { queue } = await connectQueue(t.transport, "t", { subnqn: SUBNQN });
    await queue.propertySet(Property.CC, cc);
    const csts = decodeCsts(Number((await queue.propertyGet(Property.CSTS)).value));
    assert.equal(csts.cfs, true, `CC ${cc.toString(16)}`);
    assert.equal(csts.rdy, false);
    await end(t, queue);
  }
});

test("CSS 000b (NVM only) enables the controller as well", async () => {
  const t = await startTarget();
  const { queue } = await connectQueue(t.transport, "t", { subnqn: SUBNQN });
  await queue.propertySet(Property.CC, CC_ENABLE & ~(7 << CcBits.CSS_SHIFT));
  assert.equal((await queue.propertyGet(Property.CSTS)).value & 1n, 1n);
  await end(t, queue);
});

test("a shutdown notification reports SHST complete and closes I/O queues; clearing SHN clears it", async () => {
  const t = await startTarget();
  const { admin, io } = await session(t);
  await admin.propertySet(Property.CC, CC_ENABLE | (1 << CcBits.SHN_SHIFT));
  assert.equal(await io.qp.closed, undefined);
  const csts = decodeCsts(Number((await admin.propertyGet(Property.CSTS)).value));
  assert.equal(csts.shst, ShutdownStatus.COMPLETE);
  assert.equal(csts.rdy, false);
  await admin.propertySet(Property.CC, 0);
  assert.equal(decodeCsts(Number((await admin.propertyGet(Property.CSTS)).value)).shst, 0);
  await end(t, admin);
});

test("a reset (CC.EN 1 to 0) closes I/O queues and allows enabling again", async () => {
  const t = await startTarget();
  const { admin, io } = await session(t);
  await admin.propertySet(Property.CC, CC_ENABLE & ~CcBits.EN);
  assert.equal(await io.qp.closed, undefined);
  assert.equal((await admin.propertyGet(Property.CSTS)).value, 0n);
  await admin.propertySet(Property.CC, CC_ENABLE);
  assert.equal((await admin.propertyGet(Property.CSTS)).value, 1n);
  await end(t, admin);
});

test("Property Get and Set refuse wrong sizes and offsets with INVALID_FIELD", async () => {
  const t = await startTarget();
  const { queue } = await connectQueue(t.transport, "t", { subnqn: SUBNQN });
  const capAs4 = encodePropertyGet({ cid: queue.nextCid(), offset: Property.CAP, size: 4 });
  assert.deepEqual(
    st(decodeCqe(await queue.raw(capAs4))),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  const ccAs8 = encodePropertyGet({ cid: queue.nextCid(), offset: Property.CC, size: 8 });
  assert.deepEqual(
    st(decodeCqe(await queue.raw(ccAs8))),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  const asq = encodePropertyGet({ cid: queue.nextCid(), offset: Property.ASQ });
  assert.deepEqual(
    st(decodeCqe(await queue.raw(asq))),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  const bad = encodePropertyGet({ cid: queue.nextCid(), offset: Property.CSTS });
  bad[PROP_ATTRIB] = 5;
  assert.deepEqual(
    st(decodeCqe(await queue.raw(bad))),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  assert.deepEqual(
    st(await queue.propertySet(Property.CSTS, 1)),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  void PropertySize;
  await end(t, queue);
});

test("Fabrics commands out of place: Connect again, Disconnect on the admin queue, unknown types", async () => {
  const t = await startTarget();
  const { admin, io } = await session(t);
  const fabrics = (q: HostQueue, fctype: number) => {
    const sqe = encodeSqe({ opcode: FABRICS_OPCODE, cid: q.nextCid(), psdt: 1 });
    sqe[4] = fctype;
    return q.raw(sqe).then(decodeCqe);
  };
  assert.deepEqual(
    st(await fabrics(admin, FabricsType.CONNECT)),
    generic(GenericStatus.COMMAND_SEQUENCE_ERROR),
  );
  assert.deepEqual(
    st(await fabrics(admin, FabricsType.DISCONNECT)),
    specific(FabricsStatus.INVALID_QUEUE_TYPE),
  );
  assert.deepEqual(st(await fabrics(admin, 0x33)), generic(GenericStatus.INVALID_COMMAND_OPCODE));
  assert.deepEqual(
    st(await fabrics(io, FabricsType.PROPERTY_GET)),
    generic(GenericStatus.INVALID_COMMAND_OPCODE),
  );
  assert.deepEqual(
    st(await fabrics(io, FabricsType.CONNECT)),
    generic(GenericStatus.COMMAND_SEQUENCE_ERROR),
  );
  // Disconnect on an I/O queue completes, then the queue goes.
  assert.deepEqual(st(await fabrics(io, FabricsType.DISCONNECT)), ok);
  assert.equal(await io.qp.closed, undefined);
  await end(t, admin);
});

// ---------------------------------------------------------------------------------------------
// Identify

test("Identify Controller reports what Linux's nvmet 6.1 does where it matters to the host", async () => {
  const t = await startTarget();
  const sub = t.target.addSubsystem({
    nqn: "nqn.2026-01.dev.nvmf:identify",
    serial: "SN123",
    model: "nvmf test",
    firmware: "1.2.3",
    namespaces: [{ backend: new RamBackend({ size: 1 << 20 }) }],
  });
  const { admin, cntlid } = await connectController(t.transport, "t", { subnqn: sub.nqn });
  const { cqe, data } = await identify(admin, IdentifyCns.CONTROLLER);
  assert.deepEqual(st(cqe), ok);
  const id = decodeIdentifyController(data);
  assert.equal(id.sn, "SN123");
  assert.equal(id.mn, "nvmf test");
  assert.equal(id.fr, "1.2.3");
  assert.equal(id.cntlid, cntlid);
  assert.equal(id.subnqn, sub.nqn);
  assert.equal(id.ver, NvmeVersion.V1_3);
  assert.equal(id.cntrltype, ControllerType.IO);
  // Values of the Linux 6.1 capture (proto identify_test.ts, conn1).
  assert.equal(id.rab, 6);
  assert.equal(id.ctratt, 0x41);
  assert.equal(id.acl, 3);
  assert.equal(id.aerl, 3);
  assert.equal(id.frmw, 3);
  assert.equal(id.lpa, 7);
  assert.equal(id.kas, 10);
  assert.equal(id.sqes, 0x66);
  assert.equal(id.cqes, 0x44);
  assert.equal(id.vwc, 1);
  assert.equal(id.nn, 1024);
  assert.equal(id.mnan, 1024);
  assert.equal(id.sgls, SglSupport.SUPPORTED_NO_ALIGNMENT | SglSupport.ADDRESS_AS_OFFSET);
  assert.equal(id.ioccsz, (64 + 16384) / 16);
  assert.equal(id.iorcsz, 1);
  assert.equal(id.icdoff, 0);
  assert.equal(id.msdbd, 1);
  assert.equal(id.fcatt, 0);
  assert.deepEqual([id.psd[0].mp, id.psd[0].enlat, id.psd[0].exlat], [0x9c4, 0x10, 0x4]);
  // Ours: namespace and ANA change notices, ANA (as Linux), MDTS 1 MiB, the optional NVM
  // commands we serve.
  assert.equal(id.oaes, 0x900);
  assert.equal(id.cmic, 0xb);
  assert.equal(id.mdts, 8);
  assert.equal(id.maxcmd, 128);
  assert.equal(id.elpe, 63);
  assert.equal(
    id.oncs,
    Oncs.COMPARE | Oncs.DATASET_MANAGEMENT | Oncs.WRITE_ZEROES | Oncs.VERIFY | Oncs.RESERVATIONS,
  );
  assert.ok(id.wctemp > 0 && id.cctemp > 0);
  await end(t, admin);
});

test("Identify Namespace reports size, LBA format, identifiers and write protection", async () => {
  const t = await startTarget({}, {}, [512, 4096]);
  t.subsystem.addNamespace({
    nsid: 5,
    backend: new RamBackend({ size: 1 << 21, blockSize: 4096 }),
    readOnly: true,
    nguid: "0123456789abcdef0123456789abcdef",
    eui64: "0011223344556677",
  });
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const ns1 = decodeIdentifyNamespace((await identify(admin, IdentifyCns.NAMESPACE, 1)).data);
  assert.equal(ns1.nsze, 2048n);
  assert.equal(ns1.ncap, 2048n);
  assert.equal(ns1.nuse, 2048n);
  assert.equal(ns1.nlbaf, 0);
  assert.equal(ns1.flbas, 0);
  assert.deepEqual(ns1.lbaf[0], { ms: 0, lbads: 9, rp: 0 });
  assert.equal(ns1.nmic, 1);
  assert.equal(ns1.nsattr, 0);
  const ns2 = decodeIdentifyNamespace((await identify(admin, IdentifyCns.NAMESPACE, 2)).data);
  assert.equal(ns2.nsze, 256n);
  assert.equal(ns2.lbaf[0].lbads, 12);
  const ns5 = decodeIdentifyNamespace((await identify(admin, IdentifyCns.NAMESPACE, 5)).data);
  assert.equal(ns5.nsattr, 1);
  assert.equal(ns5.nguid[0], 0x01);
  assert.equal(ns5.eui64[7], 0x77);
  // An inactive NSID gets zeroes; 0, broadcast and NSIDs above NN are invalid.
  const inactive = await identify(admin, IdentifyCns.NAMESPACE, 3);
  assert.deepEqual(st(inactive.cqe), ok);
  assert.deepEqual(inactive.data, new Uint8Array(4096));
  for (const nsid of [0, 0xffffffff, 1025]) {
    const bad = await identify(admin, IdentifyCns.NAMESPACE, nsid);
    assert.deepEqual(
      st(bad.cqe),
      generic(GenericStatus.INVALID_NAMESPACE_OR_FORMAT),
      `nsid ${nsid}`,
    );
  }
  await end(t, admin);
});

test("Identify lists active namespaces above an NSID and their identification descriptors", async () => {
  const t = await startTarget({}, {}, [512, 512, 512]);
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  assert.deepEqual(
    decodeNsIdList((await identify(admin, IdentifyCns.ACTIVE_NAMESPACE_LIST, 0)).data),
    [1, 2, 3],
  );
  assert.deepEqual(
    decodeNsIdList((await identify(admin, IdentifyCns.ACTIVE_NAMESPACE_LIST, 1)).data),
    [2, 3],
  );
  assert.deepEqual(
    decodeNsIdList((await identify(admin, IdentifyCns.CS_ACTIVE_NAMESPACE_LIST, 2)).data),
    [3],
  );
  const bad = await identify(admin, IdentifyCns.ACTIVE_NAMESPACE_LIST, 0xfffffffe);
  assert.deepEqual(st(bad.cqe), generic(GenericStatus.INVALID_NAMESPACE_OR_FORMAT));
  const descs = decodeNsIdDescriptors(
    (await identify(admin, IdentifyCns.NAMESPACE_DESCRIPTOR_LIST, 2)).data,
  );
  assert.deepEqual(descs.map((d) => d.nidt), [NsIdType.UUID, NsIdType.CSI]);
  assert.deepEqual(descs[0].nid, t.subsystem.namespace(2)!.uuid);
  assert.deepEqual(descs[1].nid, Uint8Array.of(0));
  const missing = await identify(admin, IdentifyCns.NAMESPACE_DESCRIPTOR_LIST, 9);
  assert.deepEqual(st(missing.cqe), generic(GenericStatus.INVALID_NAMESPACE_OR_FORMAT));
  await end(t, admin);
});

test("Identify CNS 05h and 06h for the NVM command set return zeroes; others are invalid", async () => {
  const t = await startTarget();
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const csNs = await identify(admin, IdentifyCns.CS_NAMESPACE, 1, 0);
  assert.deepEqual(st(csNs.cqe), ok);
  assert.deepEqual(csNs.data, new Uint8Array(4096));
  assert.deepEqual(st((await identify(admin, IdentifyCns.CS_CONTROLLER, 0, 0)).cqe), ok);
  assert.deepEqual(
    st((await identify(admin, IdentifyCns.CS_CONTROLLER, 0, 2)).cqe),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  assert.deepEqual(
    st((await identify(admin, IdentifyCns.CS_NAMESPACE, 7, 0)).cqe),
    generic(GenericStatus.INVALID_NAMESPACE_OR_FORMAT),
  );
  assert.deepEqual(
    st((await identify(admin, IdentifyCns.CONTROLLER_LIST)).cqe),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  // A buffer that is not 4096 bytes.
  const short = await read(admin, encodeIdentify({ cid: admin.nextCid(), cns: 1 }), 512);
  assert.deepEqual(st(short.cqe), generic(GenericStatus.DATA_SGL_LENGTH_INVALID));
  await end(t, admin);
});

// ---------------------------------------------------------------------------------------------
// Log pages

test("Get Log Page: error information records failed commands, newest first", async () => {
  const t = await startTarget();
  const { admin, io } = await session(t);
  const empty = await logPage(admin, LogPageId.ERROR_INFORMATION, 4096);
  assert.deepEqual(st(empty.cqe), ok);
  assert.deepEqual(empty.data, new Uint8Array(4096));
  const bad = await io.command(
    { opcode: NvmOpcode.READ, nsid: 1, cdw10: 4096, cdw12: 0 },
    new Uint8Array(512),
    "controller-to-host",
  );
  assert.deepEqual(st(bad), generic(GenericStatus.LBA_OUT_OF_RANGE));
  assert.ok((bad.status & CqeStatusBits.MORE) !== 0);
  const op = await admin.command({ opcode: 0x7e });
  assert.deepEqual(st(op), generic(GenericStatus.INVALID_COMMAND_OPCODE));
  const { cqe, data } = await logPage(admin, LogPageId.ERROR_INFORMATION, 128);
  assert.deepEqual(st(cqe), ok);
  const newest = decodeErrorInformationEntry(data.subarray(0, 64));
  const older = decodeErrorInformationEntry(data.subarray(64, 128));
  assert.equal(newest.errorCount, 2n);
  assert.equal(newest.sqid, 0);
  assert.equal(newest.cid, op.cid);
  assert.equal(newest.parameterErrorLocation, 0);
  assert.equal(older.errorCount, 1n);
  assert.equal(older.sqid, 1);
  assert.equal(older.lba, 4096n);
  assert.equal(older.nsid, 1);
  assert.equal(older.parameterErrorLocation, 40);
  await end(t, admin, io);
});

test("Get Log Page: SMART / health counts I/O per namespace and for all", async () => {
  const t = await startTarget({}, {}, [512, 512]);
  const { admin, io } = await session(t);
  await io.command(
    { opcode: NvmOpcode.WRITE, nsid: 1, cdw12: 7 },
    new Uint8Array(4096),
    "host-to-controller",
  );
  await io.command(
    { opcode: NvmOpcode.READ, nsid: 2, cdw12: 0 },
    new Uint8Array(512),
    "controller-to-host",
  );
  const all = decodeSmartLog(
    (await logPage(admin, LogPageId.SMART_HEALTH, 512, { nsid: 0xffffffff })).data,
  );
  assert.equal(all.hostWriteCommands, 1n);
  assert.equal(all.hostReadCommands, 1n);
  assert.equal(all.dataUnitsWritten, 1n);
  assert.equal(all.availableSpare, 100);
  const one = decodeSmartLog((await logPage(admin, LogPageId.SMART_HEALTH, 512, { nsid: 2 })).data);
  assert.equal(one.hostWriteCommands, 0n);
  assert.equal(one.hostReadCommands, 1n);
  const none = await logPage(admin, LogPageId.SMART_HEALTH, 512, { nsid: 9 });
  assert.deepEqual(st(none.cqe), generic(GenericStatus.INVALID_NAMESPACE_OR_FORMAT));
  await end(t, admin, io);
});

test("Get Log Page: firmware slot, commands supported and effects, unknown pages", async () => {
  const t = await startTarget();
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const fw = decodeFirmwareSlotLog((await logPage(admin, LogPageId.FIRMWARE_SLOT, 512)).data);
  assert.equal(fw.afi, 1);
  assert.equal(fw.frs[0], "0.1.0");
  const effects = decodeCommandEffectsLog(
    (await logPage(admin, LogPageId.COMMANDS_SUPPORTED_AND_EFFECTS, 4096)).data,
  );
  for (
    const op of [
      AdminOpcode.IDENTIFY,
      AdminOpcode.GET_LOG_PAGE,
      AdminOpcode.KEEP_ALIVE,
      AdminOpcode.ABORT,
    ]
  ) {
    assert.equal(effects.acs[op], CommandEffects.CSUPP);
  }
  assert.equal(effects.acs[AdminOpcode.FORMAT_NVM], 0);
  assert.equal(effects.iocs[NvmOpcode.READ], CommandEffects.CSUPP);
  assert.equal(effects.iocs[NvmOpcode.WRITE], CommandEffects.CSUPP | CommandEffects.LBCC);
  const zns = await logPage(admin, LogPageId.COMMANDS_SUPPORTED_AND_EFFECTS, 4096, { csi: 2 });
  assert.deepEqual(st(zns.cqe), specific(CommandSpecificStatus.INVALID_LOG_PAGE));
  // The ANA log page is served (ana_test.ts checks its contents).
  const ana = await logPage(admin, LogPageId.ASYMMETRIC_NAMESPACE_ACCESS, 4096);
  assert.deepEqual(st(ana.cqe), ok);
  const disc = await logPage(admin, LogPageId.DISCOVERY, 1024);
  assert.deepEqual(st(disc.cqe), specific(CommandSpecificStatus.INVALID_LOG_PAGE));
  await end(t, admin);
});

test("Get Log Page honours LPO and NUMD, refuses unaligned or past-the-end offsets", async () => {
  const t = await startTarget();
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const whole = (await logPage(admin, LogPageId.COMMANDS_SUPPORTED_AND_EFFECTS, 4096)).data;
  const part = await logPage(admin, LogPageId.COMMANDS_SUPPORTED_AND_EFFECTS, 16, { lpo: 24n });
  assert.deepEqual(part.data, whole.subarray(24, 40));
  const tail = await logPage(admin, LogPageId.FIRMWARE_SLOT, 64, { lpo: 480n });
  assert.deepEqual(st(tail.cqe), ok);
  assert.deepEqual(tail.data.subarray(32), new Uint8Array(32));
  const odd = await logPage(admin, LogPageId.FIRMWARE_SLOT, 16, { lpo: 2n });
  assert.deepEqual(st(odd.cqe), generic(GenericStatus.INVALID_FIELD_IN_COMMAND));
  const past = await logPage(admin, LogPageId.FIRMWARE_SLOT, 16, { lpo: 512n });
  assert.deepEqual(st(past.cqe), generic(GenericStatus.INVALID_FIELD_IN_COMMAND));
  await end(t, admin);
});

// ---------------------------------------------------------------------------------------------
// Features

function setFeature(admin: HostQueue, fid: number, cdw11: number, extra = 0) {
  return admin.command({ opcode: AdminOpcode.SET_FEATURES, cdw10: (fid | extra) >>> 0, cdw11 });
}

function getFeature(admin: HostQueue, fid: number, sel = 0, cdw11 = 0) {
  return admin.command({ opcode: AdminOpcode.GET_FEATURES, cdw10: fid | (sel << 8), cdw11 });
}

test("Set and Get Features: number of queues, async events, keep alive, write cache", async () => {
  const t = await startTarget({ maxQueues: 4 });
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN, kato: 5000 });
  assert.equal((await getFeature(admin, FeatureId.NUMBER_OF_QUEUES)).dw0, 0x00030003);
  assert.equal((await setFeature(admin, FeatureId.NUMBER_OF_QUEUES, 0x00070007)).dw0, 0x00030003);
  assert.equal((await setFeature(admin, FeatureId.NUMBER_OF_QUEUES, 0x00000001)).dw0, 0x00010001);
  assert.equal((await getFeature(admin, FeatureId.NUMBER_OF_QUEUES)).dw0, 0x00010001);
  assert.deepEqual(
    st(await setFeature(admin, FeatureId.NUMBER_OF_QUEUES, 0xffff)),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  // Namespace and ANA change notices on by default (as Linux's NVMET_AEN_CFG_OPTIONAL).
  assert.equal((await getFeature(admin, FeatureId.ASYNC_EVENT_CONFIGURATION)).dw0, 0x900);
  assert.deepEqual(
    st(await setFeature(admin, FeatureId.ASYNC_EVENT_CONFIGURATION, 0x300)),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  assert.deepEqual(st(await setFeature(admin, FeatureId.ASYNC_EVENT_CONFIGURATION, 0)), ok);
  assert.equal((await getFeature(admin, FeatureId.ASYNC_EVENT_CONFIGURATION)).dw0, 0);
  assert.equal((await getFeature(admin, FeatureId.KEEP_ALIVE_TIMER)).dw0, 5000);
  assert.deepEqual(st(await setFeature(admin, FeatureId.KEEP_ALIVE_TIMER, 0)), ok);
  assert.equal((await getFeature(admin, FeatureId.KEEP_ALIVE_TIMER)).dw0, 0);
  assert.equal((await getFeature(admin, FeatureId.VOLATILE_WRITE_CACHE)).dw0, 1);
  assert.deepEqual(st(await setFeature(admin, FeatureId.VOLATILE_WRITE_CACHE, 0)), ok);
  assert.equal((await getFeature(admin, FeatureId.VOLATILE_WRITE_CACHE)).dw0, 0);
  assert.equal(
    (await getFeature(admin, FeatureId.VOLATILE_WRITE_CACHE, FeatureSelect.DEFAULT)).dw0,
    1,
  );
  await end(t, admin);
});

test("Set and Get Features: arbitration, power management, temperature, error recovery", async () => {
  const t = await startTarget();
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  assert.deepEqual(st(await setFeature(admin, FeatureId.ARBITRATION, 0x03020107)), ok);
  assert.equal((await getFeature(admin, FeatureId.ARBITRATION)).dw0, 0x03020107);
  assert.deepEqual(
    st(await setFeature(admin, FeatureId.POWER_MANAGEMENT, 1)),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  assert.deepEqual(st(await setFeature(admin, FeatureId.POWER_MANAGEMENT, 0)), ok);
  assert.equal((await getFeature(admin, FeatureId.POWER_MANAGEMENT)).dw0, 0);
  assert.equal((await getFeature(admin, FeatureId.TEMPERATURE_THRESHOLD)).dw0 & 0xffff, 0x157);
  assert.equal(
    (await getFeature(admin, FeatureId.TEMPERATURE_THRESHOLD, 0, 1 << 20)).dw0 & 0xffff,
    0,
  );
  assert.deepEqual(st(await setFeature(admin, FeatureId.TEMPERATURE_THRESHOLD, 0x150)), ok);
  assert.equal((await getFeature(admin, FeatureId.TEMPERATURE_THRESHOLD)).dw0 & 0xffff, 0x150);
  assert.deepEqual(st(await setFeature(admin, FeatureId.ERROR_RECOVERY, 30)), ok);
  assert.equal((await getFeature(admin, FeatureId.ERROR_RECOVERY)).dw0, 30);
  assert.deepEqual(
    st(await setFeature(admin, FeatureId.ERROR_RECOVERY, 1 << 16)),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  await end(t, admin);
});

test("Features: interrupt coalescing is refused on fabrics, SV is not saveable, SEL 3 gives capabilities", async () => {
  const t = await startTarget();
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  assert.deepEqual(
    st(await setFeature(admin, FeatureId.INTERRUPT_COALESCING, 0)),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  assert.deepEqual(
    st(await getFeature(admin, FeatureId.INTERRUPT_COALESCING)),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  assert.deepEqual(
    st(await setFeature(admin, FeatureId.ARBITRATION, 0, 0x80000000)),
    specific(CommandSpecificStatus.FEATURE_IDENTIFIER_NOT_SAVEABLE),
  );
  assert.equal(
    (await getFeature(admin, FeatureId.ARBITRATION, FeatureSelect.SUPPORTED_CAPABILITIES)).dw0,
    4,
  );
  assert.deepEqual(
    st(await getFeature(admin, 0x7d, FeatureSelect.SUPPORTED_CAPABILITIES)),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  await end(t, admin);
});

test("Get Features Host Identifier returns the Connect HOSTID; setting it is out of sequence", async () => {
  const t = await startTarget();
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const hostid = new Uint8Array(16);
  const cqe = await admin.command(
    { opcode: AdminOpcode.GET_FEATURES, cdw10: FeatureId.HOST_IDENTIFIER, cdw11: 1 },
    hostid,
    "controller-to-host",
  );
  assert.deepEqual(st(cqe), ok);
  assert.deepEqual(hostid, HOSTID);
  const short = await admin.command(
    { opcode: AdminOpcode.GET_FEATURES, cdw10: FeatureId.HOST_IDENTIFIER, cdw11: 0 },
    new Uint8Array(16),
    "controller-to-host",
  );
  assert.deepEqual(st(short), generic(GenericStatus.INVALID_FIELD_IN_COMMAND));
  assert.deepEqual(
    st(await setFeature(admin, FeatureId.HOST_IDENTIFIER, 1)),
    generic(GenericStatus.COMMAND_SEQUENCE_ERROR),
  );
  await end(t, admin);
});

// ---------------------------------------------------------------------------------------------
// Asynchronous events, keep alive, abort

function aer(admin: HostQueue) {
  return admin.command({ opcode: AdminOpcode.ASYNC_EVENT_REQUEST });
}

test("adding and removing namespaces completes AERs and fills the Changed Namespace List", async () => {
  const t = await startTarget();
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const first = aer(admin);
  await new Promise((r) => setTimeout(r, 0));
  t.subsystem.addNamespace({ nsid: 4, backend: new RamBackend({ size: 1 << 20 }) });
  const event = await first;
  assert.deepEqual(st(event), ok);
  assert.equal(event.dw0 & 0x7, AsyncEventType.NOTICE);
  assert.equal((event.dw0 >> 8) & 0xff, AsyncEventNotice.NAMESPACE_ATTRIBUTE_CHANGED);
  assert.equal((event.dw0 >> 16) & 0xff, LogPageId.CHANGED_NAMESPACE_LIST);
  // Masked until the log is read: a second change fills the list but raises nothing yet.
  t.subsystem.removeNamespace(1);
  const second = aer(admin);
  const list = decodeChangedNsList(
    (await logPage(admin, LogPageId.CHANGED_NAMESPACE_LIST, 4096)).data,
  );
  assert.deepEqual(list, { overflow: false, nsids: [1, 4] });
  assert.deepEqual(
    decodeChangedNsList((await logPage(admin, LogPageId.CHANGED_NAMESPACE_LIST, 4096)).data).nsids,
    [],
  );
  t.subsystem.addNamespace({ nsid: 1, backend: new RamBackend({ size: 1 << 20 }) });
  assert.equal(((await second).dw0 >> 16) & 0xff, LogPageId.CHANGED_NAMESPACE_LIST);
  await end(t, admin);
});

test("an event raised with no AER outstanding is delivered by the next AER", async () => {
  const t = await startTarget();
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  t.subsystem.removeNamespace(1);
  const event = await aer(admin);
  assert.equal((event.dw0 >> 8) & 0xff, AsyncEventNotice.NAMESPACE_ATTRIBUTE_CHANGED);
  await end(t, admin);
});

test("AERs beyond AERL + 1 get ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED; Abort aborts a pending one", async () => {
  const t = await startTarget();
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const pending = [701, 702, 703, 704].map((cid) =>
    admin.raw(encodeSqe({ opcode: AdminOpcode.ASYNC_EVENT_REQUEST, cid, psdt: 1 })).then(decodeCqe)
  );
  const fifth = await aer(admin);
  assert.deepEqual(st(fifth), specific(CommandSpecificStatus.ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED));
  const abort = await admin.command({ opcode: AdminOpcode.ABORT, cdw10: (701 << 16) | 0 });
  assert.deepEqual(st(abort), ok);
  assert.equal(abort.dw0 & 1, 0); // aborted
  assert.deepEqual(st(await pending[0]), generic(GenericStatus.COMMAND_ABORT_REQUESTED));
  const notFound = await admin.command({ opcode: AdminOpcode.ABORT, cdw10: (999 << 16) | 1 });
  assert.deepEqual(st(notFound), ok);
  assert.equal(notFound.dw0 & 1, 1); // not aborted
  // A slot is free again.
  const again = aer(admin);
  t.subsystem.removeNamespace(1);
  assert.equal(((await pending[1]).dw0 >> 8) & 0xff, AsyncEventNotice.NAMESPACE_ATTRIBUTE_CHANGED);
  await end(t, admin);
  for (const p of [...pending.slice(2), again]) await p.catch(() => {});
});

test("Keep Alive succeeds with a KATO and is invalid without one", async () => {
  const t = await startTarget();
  const a = await connectController(t.transport, "t", { subnqn: SUBNQN, kato: 10_000 });
  assert.deepEqual(st(await a.admin.command({ opcode: AdminOpcode.KEEP_ALIVE })), ok);
  const b = await connectController(t.transport, "t", { subnqn: SUBNQN, kato: 0 });
  assert.deepEqual(
    st(await b.admin.command({ opcode: AdminOpcode.KEEP_ALIVE })),
    generic(GenericStatus.KEEP_ALIVE_TIMEOUT_INVALID),
  );
  await end(t, a.admin, b.admin);
});

test("the controller is torn down when keep-alives stop", async () => {
  const t = await startTarget();
  const reason = new Promise<string>((resolve) =>
    t.target.on("controller-destroyed", (e) => resolve(e.reason))
  );
  const { admin, io } = await (async () => {
    const { admin, cntlid } = await connectController(t.transport, "t", {
      subnqn: SUBNQN,
      kato: 30,
    });
    const { queue } = await connectQueue(t.transport, "t", { subnqn: SUBNQN, qid: 1, cntlid });
    return { admin, io: queue };
  })();
  assert.equal(await admin.qp.closed, undefined);
  assert.equal(await io.qp.closed, undefined);
  assert.match(await reason, /keep alive timeout \(30 ms\) expired/);
  await t.target.close();
});

// ---------------------------------------------------------------------------------------------
// NVM commands

function rw(
  io: HostQueue,
  opcode: number,
  slba: number,
  blocks: number,
  data: Uint8Array | undefined,
  nsid = 1,
  flags = 0,
) {
  const direction = opcode === NvmOpcode.READ
    ? "controller-to-host" as const
    : "host-to-controller" as const;
  return io.command(
    { opcode, nsid, cdw10: slba, cdw12: ((blocks - 1) | flags) >>> 0 },
    data,
    data === undefined ? undefined : direction,
  );
}

test("Write then Read returns the data, FUA included, at any block size", async () => {
  const t = await startTarget({}, {}, [512, 4096]);
  const { admin, io } = await session(t);
  const data = Uint8Array.from({ length: 8192 }, (_, i) => i * 7);
  assert.deepEqual(st(await rw(io, NvmOpcode.WRITE, 3, 16, data, 1, 1 << 30)), ok);
  const back = new Uint8Array(8192);
  assert.deepEqual(st(await rw(io, NvmOpcode.READ, 3, 16, back)), ok);
  assert.deepEqual(back, data);
  assert.deepEqual(st(await rw(io, NvmOpcode.WRITE, 255, 1, data.subarray(0, 4096), 2)), ok);
  const back4k = new Uint8Array(4096);
  assert.deepEqual(st(await rw(io, NvmOpcode.READ, 255, 1, back4k, 2)), ok);
  assert.deepEqual(back4k, data.subarray(0, 4096));
  // Across RAM pages (256 KiB) the data is copied rather than mapped.
  const big = Uint8Array.from({ length: 65536 }, (_, i) => i ^ 0x5a);
  assert.deepEqual(st(await rw(io, NvmOpcode.WRITE, 480, 128, big)), ok);
  const bigBack = new Uint8Array(65536);
  assert.deepEqual(st(await rw(io, NvmOpcode.READ, 480, 128, bigBack)), ok);
  assert.deepEqual(bigBack, big);
  await end(t, admin, io);
});

test("I/O errors: LBA out of range, MDTS exceeded, SGL length, invalid namespace, invalid opcode", async () => {
  const t = await startTarget({ maxTransferSize: 8192 });
  const { admin, io } = await session(t);
  assert.deepEqual(
    st(await rw(io, NvmOpcode.READ, 2047, 2, new Uint8Array(1024))),
    generic(GenericStatus.LBA_OUT_OF_RANGE),
  );
  assert.deepEqual(
    st(await rw(io, NvmOpcode.WRITE, 2048, 1, new Uint8Array(512))),
    generic(GenericStatus.LBA_OUT_OF_RANGE),
  );
  assert.deepEqual(
    st(
      await io.command(
        { opcode: NvmOpcode.READ, nsid: 1, cdw11: 1, cdw12: 0 },
        new Uint8Array(512),
        "controller-to-host",
      ),
    ),
    generic(GenericStatus.LBA_OUT_OF_RANGE),
  );
  assert.deepEqual(
    st(await rw(io, NvmOpcode.READ, 0, 17, new Uint8Array(17 * 512))),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  assert.deepEqual(
    st(await rw(io, NvmOpcode.READ, 0, 2, new Uint8Array(512))),
    generic(GenericStatus.DATA_SGL_LENGTH_INVALID),
  );
  assert.deepEqual(
    st(await rw(io, NvmOpcode.READ, 0, 1, new Uint8Array(512), 2)),
    generic(GenericStatus.INVALID_NAMESPACE_OR_FORMAT),
  );
  assert.deepEqual(
    // Reservation Report is supported (issue #13): without the NUMD dwords of data, SGL length.
    st(await io.command({ opcode: NvmOpcode.RESERVATION_REPORT, nsid: 1 })),
    generic(GenericStatus.DATA_SGL_LENGTH_INVALID),
  );
  assert.deepEqual(
    st(await io.command({ opcode: NvmOpcode.WRITE_UNCORRECTABLE, nsid: 1 })),
    generic(GenericStatus.INVALID_COMMAND_OPCODE),
  );
  assert.deepEqual(
    st(await io.command({ opcode: NvmOpcode.FLUSH, nsid: 1, fuse: 1 })),
    generic(GenericStatus.INVALID_FIELD_IN_COMMAND),
  );
  await end(t, admin, io);
});

test("a read-only namespace refuses writes but serves reads and flushes", async () => {
  const t = await startTarget();
  t.subsystem.addNamespace({ nsid: 2, backend: new RamBackend({ size: 1 << 20 }), readOnly: true });
  const { admin, io } = await session(t);
  assert.deepEqual(
    st(await rw(io, NvmOpcode.WRITE, 0, 1, new Uint8Array(512), 2)),
    generic(GenericStatus.NAMESPACE_IS_WRITE_PROTECTED),
  );
  assert.deepEqual(
    st(await rw(io, NvmOpcode.WRITE_ZEROES, 0, 1, undefined, 2)),
    generic(GenericStatus.NAMESPACE_IS_WRITE_PROTECTED),
  );
  assert.deepEqual(st(await rw(io, NvmOpcode.READ, 0, 1, new Uint8Array(512), 2)), ok);
  assert.deepEqual(st(await io.command({ opcode: NvmOpcode.FLUSH, nsid: 2 })), ok);
  await end(t, admin, io);
});

test("Flush, also of every namespace at once with the broadcast NSID", async () => {
  const t = await startTarget();
  const { admin, io } = await session(t);
  assert.deepEqual(st(await io.command({ opcode: NvmOpcode.FLUSH, nsid: 1 })), ok);
  assert.deepEqual(st(await io.command({ opcode: NvmOpcode.FLUSH, nsid: 0xffffffff })), ok);
  assert.deepEqual(
    st(await io.command({ opcode: NvmOpcode.FLUSH, nsid: 3 })),
    generic(GenericStatus.INVALID_NAMESPACE_OR_FORMAT),
  );
  await end(t, admin, io);
});

test("Write Zeroes and Dataset Management deallocate make blocks read as zeroes", async () => {
  const t = await startTarget();
  const { admin, io } = await session(t);
  const ones = new Uint8Array(4096).fill(1);
  await rw(io, NvmOpcode.WRITE, 0, 8, ones);
  await rw(io, NvmOpcode.WRITE, 100, 8, ones);
  assert.deepEqual(st(await rw(io, NvmOpcode.WRITE_ZEROES, 2, 2, undefined)), ok);
  const back = new Uint8Array(4096);
  await rw(io, NvmOpcode.READ, 0, 8, back);
  assert.deepEqual([back[1023], back[1024], back[2047], back[2048]], [1, 0, 0, 1]);
  assert.deepEqual(
    st(await rw(io, NvmOpcode.WRITE_ZEROES, 2047, 2, undefined)),
    generic(GenericStatus.LBA_OUT_OF_RANGE),
  );
  // Two ranges: 4 blocks at 100, 0 blocks at 0 (nothing).
  const ranges = new Uint8Array(32);
  const v = new DataView(ranges.buffer);
  v.setUint32(4, 4, true);
  v.setUint32(8, 100, true);
  const dsm = await io.command(
    { opcode: NvmOpcode.DATASET_MANAGEMENT, nsid: 1, cdw10: 1, cdw11: 1 << 2 },
    ranges,
    "host-to-controller",
  );
  assert.deepEqual(st(dsm), ok);
  await rw(io, NvmOpcode.READ, 100, 8, back);
  assert.deepEqual([back[0], back[2047], back[2048]], [0, 0, 1]);
  v.setUint32(8, 2046, true);
  const outside = await io.command(
    { opcode: NvmOpcode.DATASET_MANAGEMENT, nsid: 1, cdw10: 0, cdw11: 1 << 2 },
    ranges.subarray(0, 16),
    "host-to-controller",
  );
  assert.deepEqual(st(outside), generic(GenericStatus.LBA_OUT_OF_RANGE));
  const hint = await io.command(
    { opcode: NvmOpcode.DATASET_MANAGEMENT, nsid: 1, cdw10: 0, cdw11: 1 },
    ranges.subarray(0, 16),
    "host-to-controller",
  );
  assert.deepEqual(st(hint), ok);
  await end(t, admin, io);
});

test("Compare succeeds on equal data and fails with COMPARE_FAILURE otherwise; Verify checks range", async () => {
  const t = await startTarget();
  const { admin, io } = await session(t);
  const data = new Uint8Array(1024).fill(9);
  await rw(io, NvmOpcode.WRITE, 10, 2, data);
  assert.deepEqual(st(await rw(io, NvmOpcode.COMPARE, 10, 2, data)), ok);
  const other = data.slice();
  other[1000] = 8;
  assert.deepEqual(st(await rw(io, NvmOpcode.COMPARE, 10, 2, other)), {
    sct: StatusCodeType.MEDIA_AND_DATA_INTEGRITY,
    sc: MediaStatus.COMPARE_FAILURE,
  });
  assert.deepEqual(st(await rw(io, NvmOpcode.VERIFY, 0, 2048, undefined)), ok);
  assert.deepEqual(
    st(await rw(io, NvmOpcode.VERIFY, 1, 2048, undefined)),
    generic(GenericStatus.LBA_OUT_OF_RANGE),
  );
  await end(t, admin, io);
});

test("many commands at once on one I/O queue all complete, at most QSIZE at a time", async () => {
  const t = await startTarget();
  const { admin, io } = await session(t, 8);
  const writes = [];
  for (let i = 0; i < 64; i++) {
    writes.push(rw(io, NvmOpcode.WRITE, i * 8, 8, new Uint8Array(4096).fill(i)));
    if (writes.length % 7 === 0) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  const back = new Uint8Array(4096);
  await rw(io, NvmOpcode.READ, 63 * 8, 8, back);
  assert.equal(back[0], 63);
  await end(t, admin, io);
});

test("with SQ flow control disabled a Read completes through the transport (success sent)", async () => {
  const t = await startTarget();
  const { admin, cntlid } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const { queue: io } = await connectQueue(t.transport, "t", {
    subnqn: SUBNQN,
    qid: 1,
    cntlid,
    cattr: 4,
    sqFlowControl: false,
  });
  await rw(io, NvmOpcode.WRITE, 0, 1, new Uint8Array(512).fill(4));
  const back = new Uint8Array(512);
  const cqe = await rw(io, NvmOpcode.READ, 0, 1, back);
  assert.deepEqual(st(cqe), ok);
  assert.equal(back[0], 4);
  await end(t, admin, io);
});

test("commands on a queue whose controller is not ready fail with COMMAND_SEQUENCE_ERROR", async () => {
  const t = await startTarget();
  const { admin, io } = await session(t);
  await admin.propertySet(Property.CC, CC_ENABLE | (2 << CcBits.SHN_SHIFT));
  await io.qp.closed;
  const cqe = await admin.command({ opcode: AdminOpcode.KEEP_ALIVE });
  assert.deepEqual(st(cqe), generic(GenericStatus.COMMAND_SEQUENCE_ERROR));
  await end(t, admin);
});

test("a sparse 4 TiB RAM namespace: write and read its last blocks (SLBA above 2^32)", async () => {
  const t = await startTarget();
  const huge = new RamBackend({ size: 4n << 40n, blockSize: 512 });
  t.subsystem.addNamespace({ nsid: 2, backend: huge });
  const { admin, io } = await session(t);
  const last = 2 ** 33 - 8; // 4 TiB / 512 - 8
  const data = Uint8Array.from({ length: 4096 }, (_, i) => 255 - (i & 0xff));
  const write = await io.command(
    { opcode: NvmOpcode.WRITE, nsid: 2, cdw10: last % 2 ** 32, cdw11: 1, cdw12: 7 },
    data,
    "host-to-controller",
  );
  assert.deepEqual(st(write), ok);
  const back = new Uint8Array(4096);
  const readCqe = await io.command(
    { opcode: NvmOpcode.READ, nsid: 2, cdw10: last % 2 ** 32, cdw11: 1, cdw12: 7 },
    back,
    "controller-to-host",
  );
  assert.deepEqual(st(readCqe), ok);
  assert.deepEqual(back, data);
  const beyond = await io.command(
    { opcode: NvmOpcode.READ, nsid: 2, cdw10: last % 2 ** 32 + 1, cdw11: 1, cdw12: 7 },
    back,
    "controller-to-host",
  );
  assert.deepEqual(st(beyond), generic(GenericStatus.LBA_OUT_OF_RANGE));
  const id = decodeIdentifyNamespace((await identify(admin, IdentifyCns.NAMESPACE, 2)).data);
  assert.equal(id.nsze, 1n << 33n);
  assert.equal(huge.allocatedBytes, 256 * 1024); // one page for all of that
  await end(t, admin, io);
});

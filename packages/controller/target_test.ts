import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AddressFamily,
  AdminOpcode,
  AsyncEventNotice,
  CommandSpecificStatus,
  ControllerType,
  decodeCqe,
  decodeDiscoveryLog,
  decodeIdentifyController,
  decodeStatus,
  DISCOVERY_NQN,
  encodeGetLogPage,
  encodeIdentify,
  FeatureId,
  GenericStatus,
  IdentifyCns,
  LogPageId,
  NvmOpcode,
  StatusCodeType,
  SubsystemType,
  TransportType,
} from "@nvmf/proto";
import { getTransport } from "@nvmf/transport";
import "@nvmf/transport-tcp";
import { type NamespaceBackend, RamBackend } from "./backend.ts";
import { Target } from "./target.ts";
import {
  connectController,
  connectQueue,
  HOSTNQN,
  type HostQueue,
  startTarget,
  SUBNQN,
} from "./_testing.ts";

async function discoveryLog(admin: HostQueue) {
  const head = new Uint8Array(1024);
  await admin.raw(
    encodeGetLogPage({ cid: admin.nextCid(), lid: LogPageId.DISCOVERY, numd: 256 }),
    head,
    "controller-to-host",
  );
  const numrec = Number(decodeDiscoveryLog(head).header.numrec);
  const whole = new Uint8Array(1024 * (numrec + 1));
  const cqe = decodeCqe(
    await admin.raw(
      encodeGetLogPage({ cid: admin.nextCid(), lid: LogPageId.DISCOVERY, numd: whole.length / 4 }),
      whole,
      "controller-to-host",
    ),
  );
  assert.equal(cqe.status, 0);
  return decodeDiscoveryLog(whole);
}

test("the discovery controller identifies itself as Linux's does", async () => {
  const t = await startTarget({ model: "nvmf-test" });
  const { admin, cntlid } = await connectController(t.transport, "t", { subnqn: DISCOVERY_NQN });
  const data = new Uint8Array(4096);
  await admin.raw(
    encodeIdentify({ cid: admin.nextCid(), cns: IdentifyCns.CONTROLLER }),
    data,
    "controller-to-host",
  );
  const id = decodeIdentifyController(data);
  assert.equal(id.cntrltype, ControllerType.DISCOVERY);
  assert.equal(id.subnqn, DISCOVERY_NQN);
  assert.equal(id.cntlid, cntlid);
  assert.equal(id.mn, "nvmf-test");
  assert.equal(id.lpa, 4);
  assert.equal(id.oaes, 0x80000000);
  assert.equal(id.mdts, 0);
  assert.equal(id.kas, 0);
  assert.equal(id.maxcmd, 128); // Linux says 1024; at least the host's default queue size, or it warns
  assert.equal(id.ioccsz, 0);
  // A discovery controller whose host asked for no KATO gets Linux's 120 s.
  const kato = await admin.command({
    opcode: AdminOpcode.GET_FEATURES,
    cdw10: FeatureId.KEEP_ALIVE_TIMER,
  });
  assert.equal(kato.dw0, 120_000);
  assert.equal((await admin.command({ opcode: AdminOpcode.KEEP_ALIVE })).status, 0);
  const ns = new Uint8Array(4096);
  const bad = decodeCqe(
    await admin.raw(
      encodeIdentify({ cid: admin.nextCid(), cns: 0, nsid: 1 }),
      ns,
      "controller-to-host",
    ),
  );
  assert.equal(decodeStatus(bad.status).sc, GenericStatus.INVALID_FIELD_IN_COMMAND);
  const abort = await admin.command({ opcode: AdminOpcode.ABORT });
  assert.equal(decodeStatus(abort.status).sc, GenericStatus.INVALID_COMMAND_OPCODE);
  const smart = decodeCqe(
    await admin.raw(
      encodeGetLogPage({ cid: admin.nextCid(), lid: 2, numd: 128 }),
      new Uint8Array(512),
      "controller-to-host",
    ),
  );
  assert.deepEqual(decodeStatus(smart.status).sc, CommandSpecificStatus.INVALID_LOG_PAGE);
  await admin.close();
  await t.target.close();
});

test("the discovery log lists every (port, subsystem) pair the host may use", async () => {
  const t = await startTarget();
  t.target.addSubsystem({
    nqn: "nqn.2026-01.dev.nvmf:private",
    allowedHosts: ["nqn.2026-01.dev.nvmf:other"],
  });
  t.target.addSubsystem({ nqn: "nqn.2026-01.dev.nvmf:mine", allowedHosts: [HOSTNQN] });
  const second = await t.target.listen(t.transport, { traddr: "second" }, { subsystems: [SUBNQN] });
  const { admin } = await connectController(t.transport, "t", { subnqn: DISCOVERY_NQN });
  const log = await discoveryLog(admin);
  assert.equal(log.header.genctr, t.target.genctr);
  assert.deepEqual(
    log.entries.map((e) => [e.portid, e.subtype, e.subnqn, e.traddr]),
    [
      [1, SubsystemType.CURRENT_DISCOVERY, DISCOVERY_NQN, "t"],
      [1, SubsystemType.NVME, SUBNQN, "t"],
      [1, SubsystemType.NVME, "nqn.2026-01.dev.nvmf:mine", "t"],
      [second.portid, SubsystemType.NVME, SUBNQN, "second"],
    ],
  );
  const e = log.entries[1];
  assert.equal(e.trtype, TransportType.INTRA_HOST);
  assert.equal(e.adrfam, AddressFamily.INTRA_HOST);
  assert.equal(e.treq, 4); // not specified, SQ flow control disable supported
  assert.equal(e.cntlid, 0xffff);
  assert.equal(e.asqsz, 32);
  await admin.close();
  await t.target.close();
});

test("the discovery generation counter changes with the configuration and an AEN tells the host", async () => {
  const t = await startTarget();
  const { admin } = await connectController(t.transport, "t", { subnqn: DISCOVERY_NQN });
  const g0 = (await discoveryLog(admin)).header.genctr;
  // Enable discovery log change notices, as Linux's host does.
  const aec = await admin.command({
    opcode: AdminOpcode.SET_FEATURES,
    cdw10: FeatureId.ASYNC_EVENT_CONFIGURATION,
    cdw11: 0x80000000,
  });
  assert.equal(aec.status, 0);
  const bad = await admin.command({
    opcode: AdminOpcode.SET_FEATURES,
    cdw10: FeatureId.ASYNC_EVENT_CONFIGURATION,
    cdw11: 0x100,
  });
  assert.equal(decodeStatus(bad.status).sc, GenericStatus.INVALID_FIELD_IN_COMMAND);
  const event = admin.command({ opcode: AdminOpcode.ASYNC_EVENT_REQUEST });
  const sub = t.target.addSubsystem({ nqn: "nqn.2026-01.dev.nvmf:new" });
  const dw0 = (await event).dw0;
  assert.equal((dw0 >> 8) & 0xff, AsyncEventNotice.DISCOVERY_LOG_PAGE_CHANGE);
  assert.equal((dw0 >> 16) & 0xff, LogPageId.DISCOVERY);
  const g1 = (await discoveryLog(admin)).header.genctr;
  assert.ok(g1 > g0);
  sub.allowAnyHost = false;
  const g2 = (await discoveryLog(admin)).header.genctr;
  assert.ok(g2 > g1);
  assert.ok(!(await discoveryLog(admin)).entries.some((e) => e.subnqn === sub.nqn));
  await t.target.removeSubsystem(sub.nqn);
  assert.ok((await discoveryLog(admin)).header.genctr > g2);
  await admin.close();
  await t.target.close();
});

test("closing a port tears down its controllers and stops accepting", async () => {
  const t = await startTarget();
  const reason = new Promise<string>((resolve) =>
    t.target.on("controller-destroyed", (e) => resolve(e.reason))
  );
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const g = t.target.genctr;
  await t.port.close();
  assert.equal(await reason, "port closed");
  assert.equal(await admin.qp.closed, undefined);
  assert.ok(t.target.genctr > g);
  assert.deepEqual(t.target.ports, []);
  await assert.rejects(connectQueue(t.transport, "t", { subnqn: SUBNQN }), /nothing listens/);
  await t.target.close();
});

test("removing a subsystem tears down its controllers; the target refuses duplicates", async () => {
  const t = await startTarget();
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  assert.throws(() => t.target.addSubsystem({ nqn: SUBNQN }), /taken/);
  assert.throws(() => t.target.addSubsystem({ nqn: DISCOVERY_NQN }), /discovery NQN/);
  const removed = await t.target.removeSubsystem(SUBNQN);
  assert.equal(removed, t.subsystem);
  assert.equal(await admin.qp.closed, undefined);
  assert.equal(await t.target.removeSubsystem(SUBNQN), undefined);
  const { cqe } = await connectQueue(t.transport, "t", { subnqn: SUBNQN });
  assert.notEqual(cqe.status, 0);
  await t.target.close();
});

test("target.close() closes ports, controllers and backends, and refuses further use", async () => {
  const closed: number[] = [];
  const bytes = new Uint8Array(1 << 16);
  const backend: NamespaceBackend = {
    size: BigInt(bytes.length),
    blockSize: 512,
    read: (offset, into) => {
      into.set(bytes.subarray(offset, offset + into.length));
      return Promise.resolve();
    },
    write: (offset, data) => {
      bytes.set(data, offset);
      return Promise.resolve();
    },
    flush: () => Promise.resolve(),
    writeZeroes: (offset, length) => {
      bytes.fill(0, offset, offset + length);
      return Promise.resolve();
    },
    deallocate: () => Promise.resolve(),
    close: () => {
      closed.push(1);
      return Promise.resolve();
    },
  };
  const t = await startTarget();
  t.subsystem.addNamespace({ nsid: 2, backend });
  const { admin, cntlid } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const { queue } = await connectQueue(t.transport, "t", { subnqn: SUBNQN, qid: 1, cntlid });
  const write = await queue.command(
    { opcode: NvmOpcode.WRITE, nsid: 2, cdw10: 1, cdw12: 0 },
    new Uint8Array(512).fill(6),
    "host-to-controller",
  );
  assert.equal(write.status, 0);
  assert.equal(bytes[512], 6);
  const events: string[] = [];
  t.target.on("controller-destroyed", (e) => events.push(e.reason));
  await t.target.close();
  await t.target.close();
  assert.deepEqual(events, ["port closed"]);
  assert.deepEqual(closed, [1]);
  assert.equal(await admin.qp.closed, undefined);
  assert.equal(await queue.qp.closed, undefined);
  assert.throws(() => t.target.addSubsystem({ nqn: "nqn.2026-01.dev.nvmf:late" }), TypeError);
  await assert.rejects(t.target.listen(t.transport, { traddr: "late" }), TypeError);
});

test("listen takes a port ID and refuses a taken one; options are checked", async () => {
  const t = await startTarget();
  const p = await t.target.listen(t.transport, { traddr: "seven" }, { portid: 7 });
  assert.equal(p.portid, 7);
  await assert.rejects(t.target.listen(t.transport, { traddr: "x" }, { portid: 7 }), /taken/);
  assert.deepEqual(t.target.ports.map((port) => port.portid), [1, 7]);
  assert.throws(() => new Target({ maxTransferSize: 5000 }), RangeError);
  assert.throws(() => new Target({ maxQueues: 0 }), RangeError);
  assert.throws(() => getTransport("carrier-pigeon"), RangeError);
  await t.target.close();
});

test("a host reaches a RAM namespace over NVMe/TCP on 127.0.0.1", async () => {
  const target = new Target();
  target.addSubsystem({
    nqn: SUBNQN,
    namespaces: [{ backend: new RamBackend({ size: 1n << 30n, blockSize: 4096 }) }],
  });
  const port = await target.listen("tcp", { traddr: "127.0.0.1", trsvcid: "0" });
  assert.notEqual(port.address.trsvcid, "0");
  const tcp = getTransport("tcp");
  const { admin, cntlid } = await connectController(tcp, port.address, { subnqn: SUBNQN });
  const { queue, cqe } = await connectQueue(tcp, port.address, {
    subnqn: SUBNQN,
    qid: 1,
    cntlid,
    qsize: 128,
  });
  assert.equal(cqe.status, 0);
  const data = Uint8Array.from({ length: 65536 }, (_, i) => i & 0xff);
  const w = await queue.command(
    { opcode: NvmOpcode.WRITE, nsid: 1, cdw10: 5, cdw12: 15 },
    data,
    "host-to-controller",
  );
  assert.equal(w.status, 0);
  const back = new Uint8Array(65536);
  const r = await queue.command(
    { opcode: NvmOpcode.READ, nsid: 1, cdw10: 5, cdw12: 15 },
    back,
    "controller-to-host",
  );
  assert.equal(r.status, 0);
  assert.deepEqual(back, data);
  const { admin: disc } = await connectController(tcp, port.address, { subnqn: DISCOVERY_NQN });
  const log = await discoveryLog(disc);
  assert.deepEqual(log.entries.map((e) => [e.trtype, e.adrfam, e.traddr, e.trsvcid]), [
    [TransportType.TCP, AddressFamily.IPV4, "127.0.0.1", port.address.trsvcid],
    [TransportType.TCP, AddressFamily.IPV4, "127.0.0.1", port.address.trsvcid],
  ]);
  await disc.close();
  await queue.close();
  await admin.close();
  await target.close();
  void StatusCodeType;
});

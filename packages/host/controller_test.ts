import { test } from "node:test";
import assert from "node:assert/strict";
import { type NamespaceBackend, RamBackend, Target } from "@nvmf/controller";
import {
  AdminOpcode,
  AsyncEventNotice,
  AsyncEventType,
  decodeCc,
  decodeDiscoveryLogEntry,
  DISCOVERY_NQN,
  encodeSqe,
  FABRICS_OPCODE,
  FabricsType,
  FeatureId,
  GenericStatus,
  IdentifyCns,
  LogPageId,
  NvmeStatusError,
  NvmOpcode,
  Property,
  setCqeStatus,
  SGL_IDENTIFIER,
  ShutdownNotification,
  SQE_CDW10,
  SQE_DPTR,
  StatusCodeType,
  statusOf,
  SubsystemType,
} from "@nvmf/proto";
import { QueuePairClosedError, TransportError } from "@nvmf/transport";
import { SGL_ID_IN_CAPSULE, SGL_ID_TRANSPORT } from "@nvmf/transport/implement";
import {
  type LoopbackCapsuleEvent,
  type LoopbackHooks,
  LoopbackTransport,
} from "@nvmf/transport-loopback";
import {
  CommandTimeoutError,
  connect,
  connectEntry,
  type ConnectOptions,
  ControllerError,
  ControllerLostError,
  discover,
  type HostController,
  type HostEvent,
} from "./mod.ts";

// The host against our controller (@nvmf/controller) over a loopback transport of its own per
// test, whose hooks observe, drop, delay or rewrite capsules.

let serial = 0;

interface Setup {
  transport: LoopbackTransport;
  target: Target;
  subsystem: ReturnType<Target["addSubsystem"]>;
  nqn: string;
  traddr: string;
  ctrl: HostController;
  /** Every capsule that crossed, in order. */
  seen: LoopbackCapsuleEvent[];
  close(): Promise<void>;
}

async function setup(
  options: {
    size?: number;
    blockSize?: number;
    backend?: NamespaceBackend;
    connect?: Partial<ConnectOptions>;
    hooks?: LoopbackHooks;
    target?: ConstructorParameters<typeof Target>[0];
    listen?: Parameters<Target["listen"]>[2];
  } = {},
): Promise<Setup> {
  const seen: LoopbackCapsuleEvent[] = [];
  const transport = new LoopbackTransport({
    hooks: { observe: (e) => seen.push(snapshot(e)), ...options.hooks },
  });
  const target = new Target(options.target);
  const nqn = `nqn.2026-01.test.host:s${serial++}`;
  const traddr = `host-test-${serial}`;
  const subsystem = target.addSubsystem({
    nqn,
    namespaces: [{
      backend: options.backend ??
        new RamBackend({ size: options.size ?? 4 << 20, blockSize: options.blockSize ?? 512 }),
    }],
    allowAnyHost: true,
  });
  const port = await target.listen(transport, { traddr }, options.listen);
  let ctrl: HostController;
  try {
    ctrl = await connect({
      transport,
      address: { traddr },
      subnqn: nqn,
      persistHostIdentity: false,
      ...options.connect,
    });
  } catch (e) {
    await port.close();
    await target.close();
    throw e;
  }
  return {
    transport,
    target,
    subsystem,
    nqn,
    traddr,
    ctrl,
    seen,
    async close() {
      await ctrl.close().catch(() => {});
      await port.close();
      await target.close();
    },
  };
}

/** A copy of a capsule event: the host reuses its SQE buffers, so keep the bytes as they were. */
function snapshot(e: LoopbackCapsuleEvent): LoopbackCapsuleEvent {
  const capsule = e.capsule.kind === "command"
    ? { ...e.capsule, sqe: e.capsule.sqe.slice() }
    : { kind: "response" as const, cqe: e.capsule.cqe.slice() };
  return { ...e, capsule };
}

function commands(seen: LoopbackCapsuleEvent[], qid?: number) {
  return seen.filter((e) =>
    e.direction === "host-to-controller" && e.capsule.kind === "command" &&
    (qid === undefined || e.qid === qid)
  ).map((e) => (e.capsule as { sqe: Uint8Array }).sqe);
}

function opcodeNames(sqes: Uint8Array[]): string[] {
  return sqes.map((sqe) => {
    if (sqe[0] === FABRICS_OPCODE) {
      return ["PROPERTY_SET", "CONNECT", "?", "?", "PROPERTY_GET"][sqe[4]] ?? `fabrics ${sqe[4]}`;
    }
    return Object.entries(AdminOpcode).find(([, v]) => v === sqe[0])?.[0] ?? `op ${sqe[0]}`;
  });
}

function pattern(length: number, seed: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (i * 13 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

function until(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = () => (check() ? resolve() : setTimeout(poll, 1));
    poll();
  });
}

// ---------------------------------------------------------------------------------------------

test("connect() sets the association up as Linux does, in order", async () => {
  const s = await setup({ connect: { ioQueues: 2, kato: 0 } });
  try {
    assert.equal(s.ctrl.state, "live");
    assert.equal(s.ctrl.cdata.subnqn, s.nqn);
    assert.equal(s.ctrl.ioQueueCount, 2);
    const admin = opcodeNames(commands(s.seen, 0));
    const cc = admin.indexOf("PROPERTY_SET");
    assert.deepEqual(admin.slice(0, cc + 1), [
      "CONNECT",
      "PROPERTY_GET",
      "PROPERTY_GET",
      "PROPERTY_SET",
    ]);
    const rest = admin.slice(cc + 1);
    assert.equal(rest[0], "PROPERTY_GET"); // CSTS until RDY
    assert.ok(rest.includes("IDENTIFY"));
    assert.ok(rest.indexOf("SET_FEATURES") > rest.indexOf("IDENTIFY"));
    // CC as written: EN, IOSQES 6, IOCQES 4.
    const ccSqe = commands(s.seen, 0).find((q) =>
      q[0] === FABRICS_OPCODE && q[4] === FabricsType.PROPERTY_SET
    )!;
    const value = decodeCc(new DataView(ccSqe.buffer, ccSqe.byteOffset).getUint32(48, true));
    assert.deepEqual([value.en, value.iosqes, value.iocqes, value.shn], [true, 6, 4, 0]);
    // Each I/O queue has its own connection whose first command is Connect.
    for (const qid of [1, 2]) {
      assert.deepEqual(opcodeNames(commands(s.seen, qid)).slice(0, 1), ["CONNECT"]);
    }
  } finally {
    await s.close();
  }
});

test("namespace I/O: write, read, compare, flush, write zeroes, deallocate, verify", async () => {
  const s = await setup();
  try {
    const ns = await s.ctrl.namespace(1);
    assert.equal(ns.blockSize, 512);
    assert.equal(ns.blocks, (4 << 20) / 512);
    const data = pattern(8 * 512, 1);
    await ns.write(10, data);
    assert.deepEqual(await ns.read(10, 8), data);
    const into = new Uint8Array(1024);
    assert.equal(await ns.read(12n, into), into);
    assert.deepEqual(into, data.subarray(1024, 2048));
    assert.equal(await ns.compare(10, data), true);
    assert.equal(await ns.compare(10, pattern(8 * 512, 2)), false);
    await ns.flush();
    await ns.writeZeroes(11, 2);
    const z = await ns.read(10, 4);
    assert.deepEqual(z.subarray(512, 1536), new Uint8Array(1024));
    assert.deepEqual(z.subarray(0, 512), data.subarray(0, 512));
    await ns.deallocate([{ lba: 100, blocks: 8 }, { lba: 200, blocks: 1 }]);
    await ns.verify(0, 64);
    await assert.rejects(ns.read(ns.blocks - 1, 2), RangeError);
    await assert.rejects(ns.write(0, new Uint8Array(100)), /whole number/);
    const names = commands(s.seen, 1).map((q) => q[0]);
    for (
      const op of [
        NvmOpcode.WRITE,
        NvmOpcode.READ,
        NvmOpcode.COMPARE,
        NvmOpcode.FLUSH,
        NvmOpcode.WRITE_ZEROES,
        NvmOpcode.DATASET_MANAGEMENT,
        NvmOpcode.VERIFY,
      ]
    ) {
      assert.ok(names.includes(op), `opcode ${op} sent`);
    }
  } finally {
    await s.close();
  }
});

test("transfers larger than MDTS are split, and data goes in the capsule only when it fits", async () => {
  const s = await setup({ size: 8 << 20 });
  try {
    const ns = await s.ctrl.namespace(1);
    const mdts = s.ctrl.maxTransferSize;
    assert.ok(Number.isFinite(mdts), "the controller reports an MDTS");
    const icd = (s.ctrl.cdata.ioccsz * 16) - 64;
    const size = mdts * 2 + 4096;
    const data = pattern(size, 3);
    s.seen.length = 0;
    await ns.write(0, data);
    const writes = commands(s.seen, 1).filter((q) => q[0] === NvmOpcode.WRITE);
    assert.equal(writes.length, 3);
    assert.deepEqual(await ns.read(0, size / 512), data);
    const reads = commands(s.seen, 1).filter((q) => q[0] === NvmOpcode.READ);
    assert.equal(reads.length, 3);
    assert.ok(reads.every((q) => q[SQE_DPTR + SGL_IDENTIFIER] === SGL_ID_TRANSPORT));
    // A write that fits IOCCSZ goes in the capsule; a larger one is fetched by the controller.
    s.seen.length = 0;
    await ns.write(0, pattern(512, 4));
    await ns.write(0, pattern(Math.ceil((icd + 1) / 512) * 512, 5));
    const ids = commands(s.seen, 1).map((q) => q[SQE_DPTR + SGL_IDENTIFIER]);
    assert.deepEqual(ids, [icd >= 512 ? SGL_ID_IN_CAPSULE : SGL_ID_TRANSPORT, SGL_ID_TRANSPORT]);
  } finally {
    await s.close();
  }
});

test("I/O respects the queue depth and spreads over the I/O queues", async () => {
  const s = await setup({ connect: { ioQueues: 3, queueSize: 4, kato: 0 } });
  try {
    assert.equal(s.ctrl.ioQueueSize, 4);
    const inflight = new Map<number, number>();
    let worst = 0;
    s.transport.hooks.observe = (e) => {
      if (e.qid === 0) return;
      const n = (inflight.get(e.qid) ?? 0) + (e.capsule.kind === "command" ? 1 : -1);
      inflight.set(e.qid, n);
      worst = Math.max(worst, n);
      s.seen.push(snapshot(e));
    };
    const ns = await s.ctrl.namespace(1);
    const writes = [];
    for (let i = 0; i < 60; i++) writes.push(ns.write(i * 4, pattern(2048, i)));
    await Promise.all(writes);
    assert.ok(worst <= 3, `at most qsize - 1 = 3 in flight per queue, saw ${worst}`);
    const perQueue = [1, 2, 3].map((qid) =>
      commands(s.seen, qid).filter((q) => q[0] === NvmOpcode.WRITE).length
    );
    assert.equal(perQueue.reduce((a, b) => a + b), 60);
    assert.ok(perQueue.every((n) => n > 0), `every queue used: ${perQueue}`);
    for (let i = 0; i < 60; i += 7) assert.deepEqual(await ns.read(i * 4, 4), pattern(2048, i));
  } finally {
    await s.close();
  }
});

test("a status error carries the decoded NVMe status", async () => {
  const s = await setup();
  try {
    await assert.rejects(
      s.ctrl.ioCommand(encodeSqe({ opcode: 0x7e, nsid: 1 })),
      (e) =>
        e instanceof NvmeStatusError && e.sct === StatusCodeType.GENERIC &&
        e.sc === GenericStatus.INVALID_COMMAND_OPCODE && /INVALID_COMMAND_OPCODE/.test(e.message),
    );
    await assert.rejects(s.ctrl.namespace(77), /not active|INVALID/);
  } finally {
    await s.close();
  }
});

test("I/O failing without DNR is retried; with DNR it fails at once", async () => {
  const s = await setup();
  try {
    const ns = await s.ctrl.namespace(1);
    let rewrite = 0;
    let dnr = false;
    s.transport.hooks.corrupt = (e) => {
      if (e.capsule.kind !== "response" || e.qid !== 1 || rewrite === 0) return;
      rewrite--;
      setCqeStatus(
        e.capsule.cqe,
        statusOf(StatusCodeType.GENERIC, GenericStatus.NAMESPACE_NOT_READY, dnr),
      );
    };
    s.seen.length = 0;
    rewrite = 2;
    await ns.read(0, 1);
    assert.equal(commands(s.seen, 1).filter((q) => q[0] === NvmOpcode.READ).length, 3);
    s.seen.length = 0;
    rewrite = 1;
    dnr = true;
    await assert.rejects(
      ns.read(0, 1),
      (e) => e instanceof NvmeStatusError && e.dnr && e.sc === GenericStatus.NAMESPACE_NOT_READY,
    );
    assert.equal(commands(s.seen, 1).filter((q) => q[0] === NvmOpcode.READ).length, 1);
  } finally {
    await s.close();
  }
});

test("admin commands: identify lists, log pages, features, properties, abort", async () => {
  const s = await setup({ connect: { kato: 0 } });
  try {
    const c = s.ctrl;
    assert.deepEqual(await c.activeNamespaces(), [1]);
    const ns = await c.identifyNamespace(1);
    assert.equal(ns.nsze, BigInt((4 << 20) / 512));
    const descriptors = await c.namespaceDescriptors(1);
    assert.ok(descriptors.length >= 1);
    const raw = await c.identifyRaw(IdentifyCns.CONTROLLER);
    assert.deepEqual(raw, c.cdataBytes);
    const smart = await c.getLogPage(LogPageId.SMART_HEALTH, { length: 512 });
    assert.equal(smart.length, 512);
    const part = await c.getLogPage(LogPageId.SMART_HEALTH, { length: 64, offset: 448 });
    assert.deepEqual(part, smart.subarray(448));
    await assert.rejects(c.getLogPage(LogPageId.SMART_HEALTH, { length: 6 }), RangeError);
    const queues = await c.getFeatures(FeatureId.NUMBER_OF_QUEUES);
    assert.ok((queues & 0xffff) >= 0);
    assert.equal(
      await c.readProperty(Property.VS),
      BigInt((c.vs.major << 16) | (c.vs.minor << 8) | c.vs.tertiary),
    );
    await assert.rejects(c.readProperty(0x04), RangeError);
    assert.equal(await c.abort(1, 99), false);
    assert.equal(await c.getFeatures(FeatureId.KEEP_ALIVE_TIMER), 0);
  } finally {
    await s.close();
  }
});

test("keep-alive is sent while the association is idle", async () => {
  const s = await setup({ connect: { kato: 200 } });
  try {
    await until(() =>
      commands(s.seen, 0).filter((q) => q[0] === AdminOpcode.KEEP_ALIVE).length >= 2
    );
    assert.equal(s.ctrl.state, "live");
  } finally {
    await s.close();
  }
});

test("a command that outlives its timeout is aborted and fails with CommandTimeoutError", async () => {
  let stall: (() => void) | undefined;
  const ram = new RamBackend({ size: 1 << 20, blockSize: 512 });
  const backend: NamespaceBackend = {
    size: ram.size,
    blockSize: 512,
    read: async (offset, into) => {
      await new Promise<void>((resolve) => stall = resolve);
      return ram.read(offset, into);
    },
    write: (o, d, opts) => ram.write(o, d, opts),
    flush: () => ram.flush(),
    writeZeroes: (o, l) => ram.writeZeroes(o, l),
    deallocate: (o, l) => ram.deallocate(o, l),
  };
  const s = await setup({ backend, connect: { commandTimeout: 20, kato: 0 } });
  try {
    const ns = await s.ctrl.namespace(1);
    await assert.rejects(
      ns.read(0, 1),
      (e) => e instanceof CommandTimeoutError && e.qid === 1 && e.opcode === NvmOpcode.READ,
    );
    await until(() => commands(s.seen, 0).some((q) => q[0] === AdminOpcode.ABORT));
    const abort = commands(s.seen, 0).find((q) => q[0] === AdminOpcode.ABORT)!;
    const read = commands(s.seen, 1).find((q) => q[0] === NvmOpcode.READ)!;
    const cdw10 = new DataView(abort.buffer, abort.byteOffset).getUint32(SQE_CDW10, true);
    assert.equal(cdw10 & 0xffff, 1, "SQID");
    assert.equal(cdw10 >>> 16, read[2] | (read[3] << 8), "CID");
    stall?.();
    await ns.write(0, new Uint8Array(512)); // the queue still works
  } finally {
    stall?.();
    await s.close();
  }
});

test("reconnects after the connection drops and retries the I/O in flight", async () => {
  const s = await setup({ connect: { reconnectDelay: 5, ctrlLossTimeout: 5000, kato: 0 } });
  try {
    const ns = await s.ctrl.namespace(1);
    const events: HostEvent[] = [];
    s.ctrl.on("disconnected", (e) => {
      events.push(e);
      s.transport.hooks.dropAtCapsule = undefined;
    });
    s.ctrl.on("reconnected", (e) => events.push(e));
    const data = pattern(4096, 9);
    let during: Promise<Uint8Array> | undefined;
    s.ctrl.on("disconnected", () => during = ns.read(64, 8)); // waits for the reconnect
    s.transport.hooks.dropAtCapsule = 3; // the I/O queue's next command is lost
    await ns.write(64, data);
    assert.deepEqual(events.map((e) => e.type), ["disconnected", "reconnected"]);
    assert.ok(during !== undefined);
    assert.equal((await during).length, 4096);
    assert.equal(s.ctrl.state, "live");
    assert.deepEqual(await ns.read(64, 8), data);
    // Connect went out again on the admin queue.
    assert.ok(
      commands(s.seen, 0).filter((q) => q[0] === FABRICS_OPCODE && q[4] === FabricsType.CONNECT)
        .length >= 2,
    );
  } finally {
    await s.close();
  }
});

test("in-flight commands that may not be retried fail with the transport error", async () => {
  const s = await setup({
    connect: { reconnectDelay: 5, ctrlLossTimeout: 5000, maxRetries: 0, kato: 0 },
  });
  try {
    const ns = await s.ctrl.namespace(1);
    s.ctrl.on("disconnected", () => s.transport.hooks.dropAtCapsule = undefined);
    const reconnected = new Promise((resolve) => s.ctrl.on("reconnected", resolve));
    s.transport.hooks.dropAtCapsule = 3;
    await assert.rejects(ns.write(0, new Uint8Array(512)), TransportError);
    await reconnected;
    await ns.write(0, new Uint8Array(512));
  } finally {
    await s.close();
  }
});

test("the controller is given up after the controller-loss timeout", async () => {
  const s = await setup({ connect: { reconnectDelay: 5, ctrlLossTimeout: 30, kato: 0 } });
  const ns = await s.ctrl.namespace(1);
  const lost = new Promise<HostEvent>((resolve) => s.ctrl.on("lost", resolve));
  s.transport.hooks.dropAtCapsule = 1; // every connection, old and new, breaks at once
  const write = ns.write(0, new Uint8Array(512));
  await assert.rejects(write, ControllerLostError);
  assert.equal((await lost).type, "lost");
  assert.equal(s.ctrl.state, "lost");
  await assert.rejects(ns.read(0, 1), ControllerLostError);
  s.transport.hooks.dropAtCapsule = undefined;
  await s.close();
});

test("close() shuts the controller down (CC.SHN) and disconnects", async () => {
  const s = await setup({ connect: { ioQueues: 2 } });
  const ns = await s.ctrl.namespace(1);
  const events = s.ctrl.events();
  s.seen.length = 0;
  await s.ctrl.close();
  assert.equal(s.ctrl.state, "closed");
  const sets = commands(s.seen, 0).filter((q) =>
    q[0] === FABRICS_OPCODE && q[4] === FabricsType.PROPERTY_SET
  );
  assert.equal(sets.length, 1);
  const cc = decodeCc(new DataView(sets[0].buffer, sets[0].byteOffset).getUint32(48, true));
  assert.equal(cc.shn, ShutdownNotification.NORMAL);
  await assert.rejects(ns.read(0, 1), QueuePairClosedError);
  const all = [];
  for await (const e of events) all.push(e.type);
  assert.deepEqual(all, ["closed"]);
  await s.close();
});

test("an asynchronous event is delivered when a namespace is added", async () => {
  const s = await setup({ connect: { kato: 0 } });
  try {
    const got = new Promise<HostEvent>((resolve) => s.ctrl.on("aen", resolve));
    s.subsystem.addNamespace({ backend: new RamBackend({ size: 1 << 20, blockSize: 4096 }) });
    const e = await got;
    assert.ok(e.type === "aen");
    assert.equal(e.event.eventType, AsyncEventType.NOTICE);
    assert.equal(e.event.eventInfo, AsyncEventNotice.NAMESPACE_ATTRIBUTE_CHANGED);
    assert.deepEqual(e.event.changedNamespaces, [2]);
    assert.equal((await s.ctrl.namespace(2)).blockSize, 4096);
  } finally {
    await s.close();
  }
});

test("discover() reads the whole log page and starts over when GENCTR moves", async () => {
  const s = await setup({ connect: { kato: 0 } });
  try {
    let logReads = 0;
    let added = false;
    const observe = s.transport.hooks.observe!;
    s.transport.hooks.observe = (e) => {
      observe(e);
      if (e.capsule.kind !== "command" || e.capsule.sqe[0] !== AdminOpcode.GET_LOG_PAGE) return;
      if (e.capsule.sqe[40] !== LogPageId.DISCOVERY) return;
      logReads++;
      if (logReads === 2 && !added) {
        added = true; // between reading the entries and re-reading the header
        s.target.addSubsystem({
          nqn: `${s.nqn}-late`,
          namespaces: [{ backend: new RamBackend({ size: 1 << 20, blockSize: 512 }) }],
          allowAnyHost: true,
        });
      }
    };
    const entries = await discover({
      transport: s.transport,
      address: { traddr: s.traddr },
      persistHostIdentity: false,
    });
    assert.ok(logReads >= 5, `the log was read again (${logReads} reads)`);
    const nqns = entries.filter((e) => e.subtype === SubsystemType.NVME).map((e) => e.subnqn);
    assert.ok(nqns.includes(s.nqn));
    assert.ok(nqns.includes(`${s.nqn}-late`));
  } finally {
    await s.close();
  }
});

test("without SQ flow control the host is limited by queue depth alone", async () => {
  const s = await setup({ connect: { sqFlowControl: false, queueSize: 4, kato: 0 } });
  try {
    const connect = s.seen.find((e) => e.qid === 1 && e.capsule.kind === "command")!;
    const cattr = (connect.capsule as { sqe: Uint8Array }).sqe[46];
    assert.equal(cattr & 0x04, 0x04, "Connect asks to disable SQ flow control (CATTR bit 2)");
    const ns = await s.ctrl.namespace(1);
    // Many more commands than entries: the host must not wait for an SQHD that never moves.
    const writes = [];
    for (let i = 0; i < 20; i++) writes.push(ns.write(i * 16, pattern(8192, i)));
    await Promise.all(writes);
    for (let i = 0; i < 20; i += 5) assert.deepEqual(await ns.read(i * 16, 16), pattern(8192, i));
  } finally {
    await s.close();
  }
});

test("associationState() gives what a handoff needs", async () => {
  const s = await setup({ connect: { ioQueues: 2, asyncEvents: false, kato: 0 } });
  try {
    const st = s.ctrl.associationState();
    assert.equal(st.admin.qid, 0);
    assert.deepEqual(st.io.map((q) => q.qid), [1, 2]);
    assert.equal(st.cdata.length, 4096);
    const dle = decodeDiscoveryLogEntry(st.discoveryEntry);
    assert.equal(dle.subnqn, s.nqn);
    assert.equal(dle.traddr, s.traddr);
    assert.equal(dle.trtype, s.transport.trtype);
    assert.equal(st.io[0].state().sqhd, st.io[0].state().sqtail);
  } finally {
    await s.close();
  }
});

test("connect() names the cause of a failure", async () => {
  const transport = new LoopbackTransport();
  await assert.rejects(
    connect({
      transport,
      address: { traddr: "nobody" },
      subnqn: "nqn.2026-01.test:x",
      persistHostIdentity: false,
    }),
    (e) => e instanceof TransportError && e.code === "connect",
  );
  const s = await setup();
  try {
    await assert.rejects(
      connect({
        transport: s.transport,
        address: { traddr: s.traddr },
        subnqn: "nqn.2026-01.test:missing",
        persistHostIdentity: false,
      }),
      (e) =>
        e instanceof NvmeStatusError && /CONNECT/.test(e.message) &&
        /SUBNQN|INVALID/.test(e.message),
    );
  } finally {
    await s.close();
  }
});

test("the static controller model: CNTLID FFFEh or a chosen one, kept for the I/O queues", async () => {
  const s = await setup({
    listen: { associationParams: { dynamicControllerModel: false } },
    connect: { cntlid: 0xfffe, ioQueues: 2, kato: 0 },
  });
  try {
    assert.equal(s.ctrl.cdata.fcatt & 1, 1);
    const ids = commands(s.seen).filter((q) =>
      q[0] === FABRICS_OPCODE && q[4] === FabricsType.CONNECT
    );
    assert.equal(ids.length, 3);
    const chosen = await connect({
      transport: s.transport,
      address: { traddr: s.traddr },
      subnqn: s.nqn,
      cntlid: 7,
      kato: 0,
      persistHostIdentity: false,
    });
    assert.equal(chosen.cntlid, 7);
    await (await chosen.namespace(1)).write(0, new Uint8Array(512));
    await chosen.close();
  } finally {
    await s.close();
  }
  const dynamic = await setup({ connect: { kato: 0 } });
  try {
    await assert.rejects(
      connect({
        transport: dynamic.transport,
        address: { traddr: dynamic.traddr },
        subnqn: dynamic.nqn,
        cntlid: 7,
        persistHostIdentity: false,
      }),
      (e) =>
        e instanceof NvmeStatusError && /CNTLID at byte 16 of the Connect data/.test(e.message),
    );
  } finally {
    await dynamic.close();
  }
});

test("connect() fails with ControllerError when CSTS.RDY does not follow CC.EN within CAP.TO", async () => {
  const cids = new Map<number, "cap" | "csts">();
  const hooks: LoopbackHooks = {
    corrupt: (e) => {
      if (e.qid !== 0) return;
      if (e.capsule.kind === "command") {
        const sqe = e.capsule.sqe;
        if (sqe[0] !== FABRICS_OPCODE || sqe[4] !== FabricsType.PROPERTY_GET) return;
        const offset = sqe[44];
        if (offset === Property.CAP) cids.set(sqe[2], "cap");
        else if (offset === Property.CSTS) cids.set(sqe[2], "csts");
        return;
      }
      const cqe = e.capsule.cqe;
      const kind = cids.get(cqe[12]);
      cids.delete(cqe[12]);
      if (kind === "cap") cqe[3] = 0; // CAP.TO 0: wait at most 500 ms
      if (kind === "csts") cqe.fill(0, 0, 4); // never ready
    },
  };
  await assert.rejects(
    setup({ hooks, connect: { kato: 0 } }),
    (e) => e instanceof ControllerError && e.code === "not-ready" && /CSTS\.RDY/.test(e.message),
  );
});

test("a failed keep-alive makes the host reconnect", async () => {
  const s = await setup({ connect: { kato: 200, reconnectDelay: 5 } });
  try {
    let fail = true;
    const kaCids = new Set<number>();
    s.transport.hooks.corrupt = (e) => {
      if (e.qid !== 0) return;
      if (e.capsule.kind === "command") {
        if (e.capsule.sqe[0] === AdminOpcode.KEEP_ALIVE) kaCids.add(e.capsule.sqe[2]);
      } else if (fail && kaCids.has(e.capsule.cqe[12])) {
        fail = false;
        setCqeStatus(
          e.capsule.cqe,
          statusOf(StatusCodeType.GENERIC, GenericStatus.KEEP_ALIVE_TIMER_EXPIRED, true),
        );
      }
    };
    const events: string[] = [];
    const reconnected = new Promise<void>((resolve) =>
      s.ctrl.on("reconnected", () => {
        events.push("reconnected");
        resolve();
      })
    );
    s.ctrl.on("disconnected", (e) => events.push(`disconnected: ${e.error.message}`));
    await reconnected;
    assert.match(
      events[0],
      /^disconnected: Cannot keep the association alive: KEEP_ALIVE failed: KEEP_ALIVE_TIMER_EXPIRED/,
    );
    assert.equal(s.ctrl.state, "live");
  } finally {
    await s.close();
  }
});

test("a discovery controller association, and connectEntry() to one of its entries", async () => {
  const s = await setup({ connect: { kato: 0 } });
  try {
    const d = await connect({
      transport: s.transport,
      address: { traddr: s.traddr },
      subnqn: DISCOVERY_NQN,
      persistHostIdentity: false,
    });
    assert.equal(d.discovery, true);
    assert.equal(d.ioQueueCount, 0);
    assert.equal(d.kato, 0);
    const log = await d.getDiscoveryLog();
    await d.close();
    assert.equal(log.header.numrec, BigInt(log.entries.length));
    const entry = log.entries.find((e) => e.subnqn === s.nqn)!;
    assert.equal(entry.traddr, s.traddr);
    const ctrl = await connectEntry(entry, {
      transport: s.transport,
      persistHostIdentity: false,
      kato: 0,
    });
    assert.equal(ctrl.cdata.subnqn, s.nqn);
    await ctrl.close();
  } finally {
    await s.close();
  }
});

test("an admin-only association has no I/O queues; Set Features and properties work", async () => {
  const s = await setup({ connect: { ioQueues: 0, kato: 0 } });
  try {
    assert.equal(s.ctrl.ioQueueCount, 0);
    const ns = await s.ctrl.namespace(1);
    await assert.rejects(ns.read(0, 1), /no I\/O queues/);
    await s.ctrl.setFeatures(FeatureId.KEEP_ALIVE_TIMER, 30000);
    assert.equal(await s.ctrl.getFeatures(FeatureId.KEEP_ALIVE_TIMER), 30000);
    const cc = await s.ctrl.readProperty(Property.CC);
    await s.ctrl.writeProperty(Property.CC, cc);
    assert.equal(decodeCc(Number(await s.ctrl.readProperty(Property.CC))).en, true);
  } finally {
    await s.close();
  }
});

test("events() yields asynchronous events until the controller closes", async () => {
  const s = await setup({ connect: { kato: 0 } });
  const seen: string[] = [];
  const reader = (async () => {
    for await (const e of s.ctrl.events()) {
      seen.push(e.type);
      if (e.type === "aen") await s.ctrl.close();
    }
  })();
  s.subsystem.addNamespace({ backend: new RamBackend({ size: 1 << 20, blockSize: 512 }) });
  await reader;
  assert.deepEqual(seen, ["aen", "closed"]);
  await s.close();
});

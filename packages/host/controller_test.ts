import { test } from "node:test";
import assert from "node:assert/strict";
import { type NamespaceBackend, RamBackend } from "@nvmf/controller";
import {
  AdminOpcode,
  AsyncEventNotice,
  AsyncEventType,
  decodeCc,
  FABRICS_OPCODE,
  FabricsType,
  FeatureId,
  GenericStatus,
  IdentifyCns,
  LogPageId,
  NvmOpcode,
  Property,
  setCqeStatus,
  ShutdownNotification,
  SQE_CDW10,
  StatusCodeType,
  statusOf,
} from "@nvmf/proto";
import { QueuePairClosedError, TransportError } from "@nvmf/transport";
import { commands, pattern, setup, until } from "./_fixtures.ts";
import { CommandTimeoutError, ControllerLostError, type HostEvent } from "./mod.ts";

// HostController once live: admin commands, keep-alive, timeouts, reconnects, loss, shutdown,
// asynchronous events.

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
  // A stuck command escalates to a reset and reconnect: keep the reconnect prompt.
  const s = await setup({ backend, connect: { commandTimeout: 20, kato: 0, reconnectDelay: 5 } });
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

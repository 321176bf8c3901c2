// Our host against two NVMe/TCP ports of our own target (127.0.0.1): I/O continues through ANA
// flips and a killed path with no error surfaced, and the data reads back as written.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Port, RamBackend, Target } from "@nvmf/controller";
import "@nvmf/transport-tcp";
import { connectMultipath, type MultipathNamespace, type MultipathSubsystem } from "./mod.ts";

const NQN = "nqn.2026-01.test.host:multipath";
const BLOCKS_PER_WORKER = 64;

async function setup() {
  const target = new Target();
  target.addSubsystem({
    nqn: NQN,
    namespaces: [{ backend: new RamBackend({ size: 8 << 20, blockSize: 512 }) }],
  });
  const a = await target.listen("tcp", { traddr: "127.0.0.1", trsvcid: "0" });
  const b = await target.listen("tcp", { traddr: "127.0.0.1", trsvcid: "0" });
  const sub = await connectMultipath({
    transport: "tcp",
    paths: [a.address, b.address],
    subnqn: NQN,
    reconnectDelay: 100,
    kato: 1000,
  });
  return { target, a, b, sub };
}

/** Until `cond` holds (bounded). */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Writers that each own a range of blocks, write a fresh pattern and read it back, until
 * `stop()`; every error and every mismatch is counted.
 */
function workload(ns: MultipathNamespace, workers: number) {
  let running = true;
  const result = { ios: 0, errors: [] as unknown[], mismatches: 0 };
  const one = async (w: number) => {
    let round = 0;
    while (running) {
      round++;
      const blocks = 1 + ((round * 7 + w) % 16);
      const lba = w * BLOCKS_PER_WORKER + ((round * 13) % (BLOCKS_PER_WORKER - blocks));
      const data = new Uint8Array(blocks * ns.blockSize);
      for (let i = 0; i < data.length; i++) data[i] = (w * 31 + round * 7 + i) & 0xff;
      try {
        await ns.write(lba, data);
        const back = await ns.read(lba, blocks);
        if (!back.every((b, i) => b === data[i])) result.mismatches++;
        result.ios += 2;
      } catch (e) {
        result.errors.push(e);
      }
    }
  };
  const all = Promise.all(Array.from({ length: workers }, (_, w) => one(w)));
  return {
    result,
    async stop() {
      running = false;
      await all;
      return result;
    },
  };
}

async function closeAll(sub: MultipathSubsystem, target: Target): Promise<void> {
  await sub.close();
  await target.close();
}

test("I/O continues through ANA flips, one port at a time, with no error surfaced", async () => {
  const { target, a, b, sub } = await setup();
  try {
    const ns = await sub.namespace(1);
    assert.equal(ns.anagrpid, 1);
    assert.deepEqual(sub.describe().map((p) => p.anaState), ["optimized", "optimized"]);
    const cntlids = sub.describe().map((p) => p.cntlid);
    assert.notEqual(cntlids[0], cntlids[1]);
    const load = workload(ns, 4);
    const set = (port: Port, state: "optimized" | "inaccessible" | "change") =>
      target.setAnaState({ nqn: NQN, address: port.address, state });
    const steps: [Port, "optimized" | "inaccessible" | "change", number][] = [
      [a, "inaccessible", 0],
      [a, "optimized", 0],
      [b, "inaccessible", 1],
      [b, "change", 1],
      [b, "optimized", 1],
      [a, "change", 0],
      [a, "inaccessible", 0],
      [a, "optimized", 0],
    ];
    for (const [port, state, index] of steps) {
      await new Promise((r) => setTimeout(r, 120));
      const before = load.result.ios;
      set(port, state);
      // The host hears of it (ANA change event, then the log page).
      await until(() => sub.paths[index].anaState(1) === state, `path ${index} ${state}`);
      await until(() => load.result.ios > before + 8, "I/O after the flip");
    }
    // Every path inaccessible but one changing: I/O waits for it (ANATT), then goes on.
    set(a, "inaccessible");
    set(b, "change");
    await new Promise((r) => setTimeout(r, 150));
    const stalled = load.result.ios;
    set(b, "optimized");
    await until(() => load.result.ios > stalled + 8, "I/O after the change ended");
    const r = await load.stop();
    assert.deepEqual(r.errors, []);
    assert.equal(r.mismatches, 0);
    assert.ok(r.ios > 100, `${r.ios} I/Os`);
  } finally {
    await closeAll(sub, target);
  }
});

test("I/O continues through a killed path and uses it again once it is back", async () => {
  const { target, a, sub } = await setup();
  try {
    const ns = await sub.namespace(1);
    const load = workload(ns, 4);
    await until(() => load.result.ios > 40, "I/O on both paths");
    const address = a.address;
    await a.close(); // the path's connections go, in the middle of I/O
    await until(() => sub.paths[0].state !== "live", "path a down");
    const before = load.result.ios;
    await until(() => load.result.ios > before + 40, "I/O on path b alone");
    // Port a comes back at the same address: the path reconnects and is used again.
    await target.listen("tcp", address);
    await until(() => sub.paths[0].live && sub.paths[0].anaState(1) === "optimized", "path a back");
    const r = await load.stop();
    assert.deepEqual(r.errors, []);
    assert.equal(r.mismatches, 0);
    // Data written through either path reads back through the other.
    const data = new Uint8Array(512 * 8).fill(0x5a);
    await ns.write(1000, data);
    for (let i = 0; i < 4; i++) assert.deepEqual(await ns.read(1000, 8), data);
  } finally {
    await closeAll(sub, target);
  }
});

test("connectMultipath() refuses paths of another subsystem and keeps paths that fail", async () => {
  const target = new Target();
  target.addSubsystem({ nqn: NQN, namespaces: [{ backend: new RamBackend({ size: 1 << 20 }) }] });
  target.addSubsystem({
    nqn: `${NQN}-other`,
    namespaces: [{ backend: new RamBackend({ size: 1 << 20 }) }],
  });
  const a = await target.listen("tcp", { traddr: "127.0.0.1", trsvcid: "0" }, {
    subsystems: [NQN],
  });
  const b = await target.listen("tcp", { traddr: "127.0.0.1", trsvcid: "0" }, {
    subsystems: [`${NQN}-other`],
  });
  try {
    // b does not serve NQN: that path fails, a carries on.
    const sub = await connectMultipath({
      transport: "tcp",
      paths: [a.address, b.address],
      subnqn: NQN,
      ctrlLossTimeout: 0,
    });
    assert.equal(sub.paths[1].controller, undefined);
    assert.match(String(sub.paths[1].error?.message), /INVALID_PARAMETERS|not served/i);
    assert.deepEqual(sub.describe().map((p) => p.state), ["live", "unconnected"]);
    const ns = await sub.namespace(1);
    await ns.write(0, new Uint8Array(512).fill(1));
    await sub.close();
    await assert.rejects(
      connectMultipath({ transport: "tcp", paths: [b.address], subnqn: NQN, ctrlLossTimeout: 0 }),
      /through any of its 1 paths/,
    );
  } finally {
    await target.close();
  }
});

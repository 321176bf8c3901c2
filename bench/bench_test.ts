import { test } from "node:test";
import assert from "node:assert/strict";
import {
  formatTable,
  judge,
  Offsets,
  percentile,
  Recorder,
  type Row,
  workloadName,
} from "./_workload.ts";
import { selfTimes } from "./profile.ts";
import { benchTransport, DISK_SIZE, setUpTransport } from "./transport.ts";
import { cqeCid, cqeStatus, encodeCqe, encodeSqe, NvmOpcode, sqeCid } from "@nvmf/proto";
import { Association, commandCapsule, responseCapsule } from "@nvmf/transport";
import { tcp } from "@nvmf/transport-tcp";
import { LoopbackTransport } from "@nvmf/transport-loopback";

test("percentile() takes the nearest rank and 0 of nothing", () => {
  const s = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(percentile(s, 0.5), 5);
  assert.equal(percentile(s, 0.99), 10);
  assert.equal(percentile(s, 0), 1);
  assert.equal(percentile(new Float64Array(0), 0.5), 0);
});

test("Recorder counts only completions inside its window", () => {
  const rec = new Recorder({ warmup: 1000, seconds: 1 }, 4);
  const start = rec.start;
  assert.equal(rec.complete(start - 1, 5, 100), true); // warm-up: not counted
  assert.equal(rec.complete(start, 0.010, 100), true);
  assert.equal(rec.complete(start + 10, 0.020, 100), true);
  assert.equal(rec.complete(start + 20, -1, 100), true); // counted, no latency
  assert.equal(rec.complete(rec.end, 0.030, 100), false); // over
  const m = rec.result();
  assert.equal(m.ops, 3);
  assert.equal(m.bytes, 300);
  assert.equal(m.seconds, 1);
  assert.equal(m.opsPerSec, 3);
  assert.equal(Math.round(m.p50Us), 10);
  assert.equal(Math.round(m.p99Us), 20);
});

test("Offsets are block-aligned, in range, and sequential ones wrap", () => {
  const w = { pattern: "randread", blockSize: 4096, qd: 1, queues: 1, digests: false } as const;
  const random = new Offsets(w, 64 * 4096, 3);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const at = random.next();
    assert.equal(at % 4096, 0);
    assert.ok(at >= 0 && at < 64 * 4096);
    seen.add(at);
  }
  assert.ok(seen.size > 32);
  const seq = new Offsets({ ...w, pattern: "seqwrite" }, 3 * 4096, 0);
  assert.deepEqual([seq.next(), seq.next(), seq.next(), seq.next()], [0, 4096, 8192, 0]);
  assert.throws(() => new Offsets(w, 100, 0), RangeError);
});

test("workloadName() names pattern, size, depth, queues and digests", () => {
  assert.equal(
    workloadName({ pattern: "seqread", blockSize: 131072, qd: 16, queues: 1, digests: true }),
    "seqread 128k qd16 q1 digests",
  );
});

test("judge() sets the ratio to the reference and whether the target is met", () => {
  const row: Row = { id: "a", layer: "e2e", label: "a", value: 60, unit: "IOPS" };
  judge(row, { id: "raw", value: 100 }, { of: "ratio", op: ">=", bound: 0.5 });
  assert.equal(row.ratio, 0.6);
  assert.equal(row.ratioTo, "raw");
  assert.equal(row.met, true);
  const lat: Row = { id: "l", layer: "e2e", label: "l", value: 20, unit: "us p50" };
  judge(lat, { id: "raw p50", value: 10 }, { of: "ratio", op: "<=", bound: 1.5 });
  assert.equal(lat.met, false);
  const abs: Row = { id: "m", layer: "memory", label: "m", value: 150, unit: "MiB" };
  judge(abs, undefined, { of: "value", op: "<=", bound: 200 });
  assert.equal(abs.ratio, undefined);
  assert.equal(abs.met, true);
});

test("formatTable() prints one aligned line per row with the target and verdict", () => {
  const row = judge(
    { id: "x", layer: "transport", label: "tcp randread", value: 123456.7, unit: "IOPS" },
    { id: "raw.rr", value: 1e6 },
    { of: "ratio", op: ">=", bound: 0.5 },
  );
  const lines = formatTable([row]).split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[2], /\| tcp randread \| 123,457 \| IOPS \|/);
  assert.match(lines[2], /0\.12 \| raw\.rr \| >= 50% +\| NO +\|/);
  assert.equal(new Set(lines.map((l) => l.length)).size, 1);
});

test("selfTimes() sums self time per function and per file", () => {
  const profile = {
    nodes: [
      { id: 1, callFrame: { functionName: "(root)", url: "", lineNumber: -1 } },
      { id: 2, callFrame: { functionName: "f", url: "file:///x/packages/a/b.ts", lineNumber: 9 } },
      { id: 3, callFrame: { functionName: "(idle)", url: "", lineNumber: -1 } },
    ],
    samples: [2, 2, 3, 2],
    timeDeltas: [10, 20, 30, 40],
  };
  const { entries, total, busy } = selfTimes(profile);
  assert.equal(total, 100);
  assert.equal(busy, 70);
  assert.deepEqual(entries[0], { key: "f packages/a/b.ts:10", us: 70 });
  assert.deepEqual(selfTimes(profile, true).entries[0], { key: "packages/a/b.ts", us: 70 });
});

test("benchTransport() verifies and runs a loopback case", async () => {
  const m = await benchTransport(
    {
      transport: "loopback",
      pattern: "randwrite",
      blockSize: 4096,
      qd: 4,
      queues: 2,
      digests: false,
    },
    { warmup: 0, seconds: 0.1 },
  );
  assert.ok(m.ops > 0);
  assert.equal(m.bytes, m.ops * 4096);
  assert.ok(DISK_SIZE >= 4096);
});

// ---------------------------------------------------------------------------------------------
// Hot-path behaviour the benchmarks rely on (the optimisations of docs/PERFORMANCE.md): pooled
// in-capsule data buffers, and queue pairs that push capsules to a consumer.

test("in-capsule writes at depth over NVMe/TCP land intact while their buffers are reused", async () => {
  const c = {
    transport: "tcp",
    pattern: "randwrite",
    blockSize: 4096,
    qd: 8,
    queues: 1,
    digests: true,
  } as const;
  const setup = await setUpTransport(c);
  try {
    const qp = setup.hosts[0];
    const bs = 4096;
    const rounds = 6;
    const at = (i: number) => DISK_SIZE - (i + 1) * bs * 3; // spread out, away from verifyPath
    const pattern = (i: number) => new Uint8Array(bs).map((_, k) => (i * 131 + k * 7) & 0xff);
    const done = new Map<number, () => void>();
    const pump = (async () => {
      for (;;) {
        const r = await qp.receive().catch(() => undefined);
        if (r === undefined || r.kind !== "response") return;
        assert.equal(cqeStatus(r.cqe) >>> 1, 0);
        done.get(cqeCid(r.cqe))?.();
      }
    })();
    const io = (cid: number, opcode: number, offset: number, data: Uint8Array) =>
      new Promise<void>((resolve) => {
        done.set(cid, resolve);
        const dir = opcode === NvmOpcode.WRITE ? "host-to-controller" : "controller-to-host";
        const sqe = encodeSqe({ opcode, cid, nsid: 1, cdw10: offset });
        qp.transmit(commandCapsule(sqe, data, dir));
      });
    // 8 writes in flight, 6 rounds: the controller's pooled buffers serve several commands each.
    for (let r = 0; r < rounds; r++) {
      await Promise.all(
        Array.from({ length: c.qd }, (_, q) => {
          const i = r * c.qd + q;
          return io(q, NvmOpcode.WRITE, at(i), pattern(i));
        }),
      );
    }
    for (let i = 0; i < rounds * c.qd; i++) {
      const back = new Uint8Array(bs);
      await io(0, NvmOpcode.READ, at(i), back);
      assert.deepEqual(back, pattern(i), `write ${i} came back different`);
    }
    await setup.close();
    await pump;
  } catch (e) {
    await setup.close();
    throw e;
  }
});

test("a controller cannot read a command's in-capsule data once its response is sent", async () => {
  const controllerNa = new Association(tcp, true, { ioInCapsuleData: 8192 });
  const hostNa = new Association(tcp, false);
  hostNa.update({ ioccsz: (64 + 8192) / 16, mdts: 0 });
  const listener = await tcp.listen(controllerNa, { traddr: "127.0.0.1", trsvcid: "0" });
  const [host, ctrl] = await Promise.all([
    tcp.connect(hostNa, { address: listener.address, admin: false, qid: 1, qsize: 32 }),
    listener.accept(),
  ]);
  try {
    ctrl.setConnected({ qid: 1, qsize: 32, sqFlowControl: true });
    const data = new Uint8Array(4096).fill(9);
    const sqe = encodeSqe({ opcode: NvmOpcode.WRITE, cid: 3, nsid: 1 });
    await host.transmit(commandCapsule(sqe, data, "host-to-controller"));
    const cmd = await ctrl.receive();
    assert.equal(cmd.kind, "command");
    if (cmd.kind !== "command") return;
    const into = new Uint8Array(4096);
    await ctrl.receiveControllerData(cmd, 0, into);
    assert.deepEqual(into, data);
    await ctrl.transmit(responseCapsule(encodeCqe({ cid: 3, sqid: 1 })));
    await assert.rejects(ctrl.receiveControllerData(cmd, 0, into), /response was sent/);
    const r = await host.receive();
    assert.equal(r.kind === "response" && cqeCid(r.cqe), 3);
  } finally {
    await host.close();
    await ctrl.close();
    await listener.close();
  }
});

test("consume() hands capsules over in order, never re-entrantly, then reports the end", async () => {
  const t = new LoopbackTransport();
  const controllerNa = new Association(t, true);
  const hostNa = new Association(t, false);
  const listener = await t.listen(controllerNa, { traddr: "bench-consume" });
  const [host, ctrl] = await Promise.all([
    t.connect(hostNa, { address: listener.address, admin: false, qid: 1, qsize: 32 }),
    listener.accept(),
  ]);
  ctrl.setConnected({ qid: 1, qsize: 32, sqFlowControl: true });
  // The controller answers every command at once: the loopback delivers the response inside
  // the host's transmit, which the host's consumer makes for the next command.
  ctrl.consume!((c) => {
    if (c.kind === "command") {
      ctrl.transmit(responseCapsule(encodeCqe({ cid: sqeCid(c.sqe), sqid: 1 }))).catch(() => {});
    }
  }, () => {});
  const seen: number[] = [];
  let depth = 0;
  let maxDepth = 0;
  const send = (cid: number) =>
    host.transmit(commandCapsule(encodeSqe({ opcode: NvmOpcode.FLUSH, cid, nsid: 1 })));
  let ended: Error | undefined;
  const end = new Promise<void>((resolve) => {
    host.consume!((c) => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      if (c.kind === "response") {
        const cid = cqeCid(c.cqe);
        seen.push(cid);
        if (cid < 9) send(cid + 1);
      }
      depth--;
    }, (e) => {
      ended = e;
      resolve();
    });
  });
  await send(0);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(maxDepth, 1);
  await assert.rejects(host.receive(), TypeError);
  await ctrl.close();
  await end;
  assert.ok(ended instanceof Error);
  await host.close();
  await listener.close();
});

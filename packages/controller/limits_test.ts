// What an unauthenticated stranger can hold: connection deadlines, connection and controller
// limits, the deadline of a write's data after R2T, and thousands of idle sockets. Raw TCP
// peers (./_raw_tcp.ts) play the stranger; a real @nvmf/host over TCP is the host that must
// not notice.
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect } from "@nvmf/host";
import "@nvmf/transport-tcp";
import {
  cqeStatus,
  decodeStatus,
  encodeSqe,
  FabricsStatus,
  GenericStatus,
  NvmOpcode,
  PduType,
  Property,
  StatusCodeType,
  transportSgl,
} from "@nvmf/proto";
import { RamBackend } from "./backend.ts";
import { Target, type TargetOptions } from "./target.ts";
import { RawTcp } from "./_raw_tcp.ts";
import { connectController, connectQueue } from "./_testing.ts";
import { getTransport } from "@nvmf/transport";

const NQN = "nqn.2026-01.dev.nvmf:limits";
const HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:0b0c0d0e-0f10-1112-1314-151617181920";
const HOSTID = Uint8Array.from({ length: 16 }, (_, i) => i + 11);

async function tcpTarget(options: TargetOptions): Promise<{ target: Target; port: number }> {
  const target = new Target(options);
  target.addSubsystem({
    nqn: NQN,
    namespaces: [{ backend: new RamBackend({ size: 16 << 20, blockSize: 512 }) }],
  });
  const p = await target.listen("tcp", { traddr: "127.0.0.1", trsvcid: "0" });
  return { target, port: Number(p.address.trsvcid) };
}

function hostConnect(port: number, ioQueues = 1) {
  return connect({
    transport: "tcp",
    address: { traddr: "127.0.0.1", trsvcid: String(port) },
    subnqn: NQN,
    hostnqn: HOSTNQN,
    hostid: HOSTID,
    ioQueues,
  });
}

/** Milliseconds until `raw` is closed by the target, or Infinity after `limit` ms. */
async function closedWithin(raw: RawTcp, limit: number): Promise<number> {
  const t0 = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([
    raw.closed.then(() => performance.now() - t0),
    new Promise<number>((resolve) => timer = setTimeout(() => resolve(Infinity), limit)),
  ]);
  clearTimeout(timer);
  return r;
}

test("a connection without ICReq, and one without Connect, is closed at the deadline", async () => {
  const { target, port } = await tcpTarget({ connectTimeout: 300 });
  const silent = await RawTcp.connect(port);
  const noConnect = await RawTcp.connect(port);
  await noConnect.icReq();
  const [a, b] = await Promise.all([closedWithin(silent, 3000), closedWithin(noConnect, 3000)]);
  assert.ok(a >= 250 && a < 1500, `silent socket closed after ${a} ms`);
  assert.ok(b >= 250 && b < 1500, `socket without Connect closed after ${b} ms`);
  assert.equal(target.connections.held, 0);
  await target.close();
});

test("over the connection limits new connections are closed at once; connected hosts go on", async () => {
  const { target, port } = await tcpTarget({ maxConnections: 4, maxConnectionsPerAddress: 3 });
  const ctrl = await hostConnect(port); // admin + 1 I/O queue: 2 connections
  const ns = await ctrl.namespace(1);
  const idle = await RawTcp.connect(port); // 3rd from 127.0.0.1: the per-address limit
  const refused = await RawTcp.connect(port);
  const ms = await closedWithin(refused, 2000);
  assert.ok(ms < 500, `a connection over the per-address limit lasted ${ms} ms`);
  assert.equal(target.connections.held as number, 3);
  assert.equal(target.connections.refused, 1);
  // The host does not notice.
  const data = Uint8Array.from({ length: 8192 }, (_, i) => i & 0xff);
  await ns.write(8, data);
  assert.deepEqual(await ns.read(8, 16), data);
  // Freed slots are taken again.
  idle.close();
  await idle.closed;
  for (let i = 0; i < 50 && target.connections.held !== 2; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const again = await RawTcp.connect(port);
  await again.icReq();
  again.close();
  await ctrl.close();
  await target.close();
});

test("controllers per subsystem: one too many gets CONNECT_CONTROLLER_BUSY", async () => {
  const { target, port } = await tcpTarget({ maxControllersPerSubsystem: 1 });
  const ctrl = await hostConnect(port, 1);
  await assert.rejects(hostConnect(port, 1), (e: Error) => /busy|Controller Busy/i.test(e.message));
  const raw = await RawTcp.connect(port);
  await raw.icReq();
  const cqe = await raw.connect({ qid: 0, subnqn: NQN, hostnqn: HOSTNQN, hostid: HOSTID });
  const s = decodeStatus(cqeStatus(cqe));
  assert.deepEqual([s.sct, s.sc, s.dnr], [
    StatusCodeType.COMMAND_SPECIFIC,
    FabricsStatus.CONNECT_CONTROLLER_BUSY,
    true,
  ]);
  raw.close();
  const ns = await ctrl.namespace(1);
  assert.equal((await ns.read(0, 1)).length, 512);
  await ctrl.close();
  await target.close();
});

test("a write whose data never comes after R2T fails with Transient Transport Error", async () => {
  const { target, port } = await tcpTarget({ dataTimeout: 300 });
  const address = { traddr: "127.0.0.1", trsvcid: String(port) };
  const options = { subnqn: NQN, hostnqn: HOSTNQN, hostid: HOSTID };
  const { admin, cntlid } = await connectController(getTransport("tcp"), address, options);
  const raw = await RawTcp.connect(port);
  await raw.icReq();
  const connected = await raw.connect({ qid: 1, cntlid, ...options });
  assert.equal(cqeStatus(connected), 0);
  const sqe = encodeSqe({
    opcode: NvmOpcode.WRITE,
    psdt: 1,
    cid: 7,
    nsid: 1,
    dptr: transportSgl(65536),
    cdw12: 127,
  });
  const t0 = performance.now();
  raw.command(sqe);
  const r2t = await raw.pdu();
  assert.equal(r2t?.[0], PduType.R2T);
  const resp = await raw.pdu(); // no H2CData is ever sent
  const ms = performance.now() - t0;
  assert.equal(resp?.[0], PduType.CAPSULE_RESP);
  const cqe = resp!.subarray(8, 24);
  assert.equal(cqe[12] | (cqe[13] << 8), 7);
  const s = decodeStatus(cqeStatus(cqe));
  assert.deepEqual([s.sct, s.sc], [
    StatusCodeType.GENERIC,
    GenericStatus.TRANSIENT_TRANSPORT_ERROR,
  ]);
  assert.ok(ms >= 250 && ms < 3000, `ended after ${ms} ms`);
  assert.equal(await raw.pdu(), undefined, "the queue pair is closed after it");
  // The controller goes on: its admin queue answers, and the I/O queue can be connected again.
  assert.equal((await admin.propertyGet(Property.CSTS)).cqe.status, 0);
  const io = await connectQueue(getTransport("tcp"), address, { ...options, qid: 1, cntlid });
  assert.equal(io.cqe.status, 0);
  await io.queue.close();
  await admin.close();
  await target.close();
});

/**
 * Idle sockets against one target while a real host connects and does I/O. The count is
 * NVMF_IDLE_SOCKETS (default 1000; `deno task idle` runs 10,000). A child process holds the
 * idle ends, so this process's descriptors are the target's. The bound is on what this test's
 * isolate holds (V8 heap used plus ArrayBuffers: the target's state and receive buffers): under
 * `deno test --parallel` the process's RSS also carries whatever other test files run beside it
 * (the soak's hosts, for one), so RSS is printed, not judged, here; `deno task idle` runs this
 * file alone, where the RSS it prints is the target's.
 */
const IDLE = Number(process.env.NVMF_IDLE_SOCKETS ?? 1000);
// The bound: 48 MiB plus 24 KiB per idle socket (measured: about 20 KiB, most of it the 16 KiB
// a connection's receive buffer starts with, allocated at accept).
const MEMORY_BOUND = (48 << 20) + IDLE * 24 * 1024;

/** What this isolate holds: V8 heap in use plus external memory (ArrayBuffers). */
function isolateMemory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

function spawnIdle(port: number, count: number): Promise<{ child: ChildProcess; ready: number }> {
  const script = fileURLToPath(new URL("./_idle_sockets.ts", import.meta.url));
  // deno-lint-ignore no-explicit-any
  const isDeno = typeof (globalThis as any).Deno !== "undefined";
  const args = isDeno
    ? ["run", "-A", script, `${port}`, `${count}`]
    : [script, `${port}`, `${count}`];
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (b: Uint8Array) => {
      out += new TextDecoder().decode(b);
      const m = /ready (\d+)/.exec(out);
      if (m) resolve({ child, ready: Number(m[1]) });
    });
    child.once("exit", (code) => reject(new Error(`idle socket child exited with ${code}`)));
  });
}

test(`${IDLE} idle sockets neither stop a real host nor push memory past the bound`, async () => {
  const { target, port } = await tcpTarget({ connectTimeout: 600_000 });
  const before = process.memoryUsage().rss;
  const beforeHeld = isolateMemory();
  const opened = performance.now();
  const { child, ready } = await spawnIdle(port, IDLE);
  try {
    assert.equal(ready, IDLE);
    // Connections over the listen backlog wait in the kernel until their ACK is sent again.
    const deadline = performance.now() + 120_000;
    while (target.connections.held < IDLE && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(target.connections.held, IDLE);
    const openMs = performance.now() - opened;
    const t0 = performance.now();
    const ctrl = await hostConnect(port, 2);
    const ns = await ctrl.namespace(1);
    const data = Uint8Array.from({ length: 65536 }, (_, i) => (i * 7) & 0xff);
    for (let lba = 0; lba < 1024; lba += 128) await ns.write(lba, data);
    for (let lba = 0; lba < 1024; lba += 128) assert.deepEqual(await ns.read(lba, 128), data);
    const ioMs = performance.now() - t0;
    const grown = process.memoryUsage().rss - before;
    const held = isolateMemory() - beforeHeld;
    const mib = (n: number) => (n / 2 ** 20).toFixed(1);
    console.log(
      `${IDLE} idle sockets (opened and accepted in ${openMs.toFixed(0)} ms): host connected ` +
        `and did 16 I/Os of 64 KiB in ${ioMs.toFixed(0)} ms; heap and buffers grew ${
          mib(held)
        } MiB (bound ${mib(MEMORY_BOUND)} MiB), process RSS ${mib(grown)} MiB`,
    );
    assert.ok(held < MEMORY_BOUND, `heap and buffers grew ${held} bytes`);
    await ctrl.close();
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.stdin!.end();
    await exited;
    await target.close();
  }
});

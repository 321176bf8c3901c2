/**
 * Our transports measured without `@nvmf/host` and `@nvmf/controller`: a minimal host loop
 * that keeps `qd` commands in flight on each queue pair, and a minimal RAM-disk server in the
 * style of `@nvmf/transport/testing`'s `serveDisk` — but pipelined: it takes every command as it
 * arrives instead of serving one at a time. CDW10 is the byte offset, the SGL the length.
 *
 * Neither side allocates per command beyond what the transport does: the host reuses one SQE,
 * data buffer and capsule per slot (CID), the server one CQE per CID (the next command with a
 * CID only comes after the host consumed the previous completion). What is measured is then the
 * transport: PDU framing, batching, the socket adapter, the receive loop and the queue pair.
 *
 * Server modes: `eager` transmits a READ's completion right after queueing its data (one
 * batched write per turn carries both); `await` waits for `sendControllerData` to settle first,
 * as a straightforward controller would.
 *
 * Run alone: `deno run -A bench/transport.ts`.
 *
 * @module
 */

import {
  cqeCid,
  cqeStatus,
  encodeCqe,
  encodeSqe,
  GenericStatus,
  NvmOpcode,
  setSqeCdw,
  sqeCdw,
  sqeCid,
  sqeOpcode,
} from "@nvmf/proto";
import {
  Association,
  type Capsule,
  type CommandCapsule,
  commandCapsule,
  DEFAULT_ASSOCIATION_PARAMS,
  type QueuePair,
  type ResponseCapsule,
  responseCapsule,
  type Transport,
} from "@nvmf/transport";
import { tcp } from "@nvmf/transport-tcp";
import { LoopbackTransport } from "@nvmf/transport-loopback";
import {
  isWrite,
  type Measurement,
  Offsets,
  Recorder,
  type Timing,
  type Workload,
  workloadName,
} from "./_workload.ts";

/** Size of the RAM disk the bench server serves. */
export const DISK_SIZE: number = 64 * 1024 * 1024;
/** In-capsule data the bench controller offers on I/O queues (Linux nvmet-tcp's default). */
export const IO_ICD: number = 16384;

/** A transport case. */
export interface TransportCase extends Workload {
  /** `tcp` on 127.0.0.1, or `loopback` (no sockets). */
  transport: "tcp" | "loopback";
  /** Server mode, see the module doc (default `eager`). */
  serve?: "eager" | "await";
  /** SQ flow control (default true); false lets a READ complete with the C2H SUCCESS flag. */
  sqFlowControl?: boolean;
}

let sharedDisk: Uint8Array | undefined;

/**
 * The process's RAM disk, made (and touched) on first use.
 *
 * @returns {@linkcode DISK_SIZE} bytes.
 * @example Usage
 * ```ts ignore
 * serveQueue(controllerQueuePair, ramDisk());
 * ```
 */
export function ramDisk(): Uint8Array {
  if (sharedDisk === undefined) {
    sharedDisk = new Uint8Array(DISK_SIZE);
    for (let i = 0; i < DISK_SIZE; i += 512) sharedDisk[i] = i >>> 9;
  }
  return sharedDisk;
}

function noop(): void {}

/**
 * Serves NVM READ, WRITE and FLUSH on a controller queue pair until it ends.
 *
 * @param qp A connected controller queue pair.
 * @param disk The bytes CDW10 addresses.
 * @param mode `eager` or `await`, see the module doc.
 * @returns Settles when the queue pair is done.
 * @example Usage
 * ```ts ignore
 * const ctrl = await listener.accept();
 * ctrl.setConnected({ qid: 1, qsize: 128, sqFlowControl: true });
 * serveQueue(ctrl, ramDisk());
 * ```
 */
export async function serveQueue(
  qp: QueuePair,
  disk: Uint8Array,
  mode: "eager" | "await" = "eager",
): Promise<void> {
  const cqes: ResponseCapsule[] = [];
  const cqeFor = (cid: number): ResponseCapsule =>
    cqes[cid] ??= responseCapsule(encodeCqe({ cid, sqid: qp.qid ?? 0 }));
  if (qp.consume !== undefined) {
    // Capsules straight from the transport, as @nvmf/controller takes them.
    return new Promise<void>((resolve) => {
      qp.consume!((c) => {
        if (c.kind !== "command") return;
        if (mode === "eager") serveEager(qp, c, disk, cqeFor);
        else serveAwait(qp, c, disk, cqeFor).catch(noop);
      }, () => resolve());
    });
  }
  for (;;) {
    let c;
    try {
      c = await qp.receive();
    } catch {
      return;
    }
    if (c.kind !== "command") continue;
    if (mode === "eager") serveEager(qp, c, disk, cqeFor);
    else serveAwait(qp, c, disk, cqeFor).catch(noop);
  }
}

function failCommand(qp: QueuePair, cid: number, sc: number): void {
  qp.transmit(responseCapsule(encodeCqe({ cid, sqid: qp.qid ?? 0, status: sc << 1 }))).catch(
    noop,
  );
}

function serveEager(
  qp: QueuePair,
  cmd: CommandCapsule,
  disk: Uint8Array,
  cqeFor: (cid: number) => ResponseCapsule,
): void {
  const cid = sqeCid(cmd.sqe);
  const sc = qp.validateCommandCapsule(cmd);
  if (sc !== GenericStatus.SUCCESS) return failCommand(qp, cid, sc);
  const offset = sqeCdw(cmd.sqe, 10);
  const length = qp.capsuleDataLength(cmd);
  if (offset + length > disk.length) return failCommand(qp, cid, GenericStatus.LBA_OUT_OF_RANGE);
  switch (sqeOpcode(cmd.sqe)) {
    case NvmOpcode.READ:
      qp.sendControllerData(cmd, 0, disk.subarray(offset, offset + length), true).catch(noop);
      // NVMe/TCP: with SQ flow control off the last C2HData carries SUCCESS and replaces the CQE.
      if (qp.sqFlowControl) qp.transmit(cqeFor(cid)).catch(noop);
      return;
    case NvmOpcode.WRITE:
      finishWrite(qp, cmd, disk.subarray(offset, offset + length), cqeFor(cid)).catch(noop);
      return;
    case NvmOpcode.FLUSH:
      qp.transmit(cqeFor(cid)).catch(noop);
      return;
  }
  failCommand(qp, cid, GenericStatus.INVALID_COMMAND_OPCODE);
}

async function finishWrite(
  qp: QueuePair,
  cmd: CommandCapsule,
  into: Uint8Array,
  cqe: ResponseCapsule,
): Promise<void> {
  await qp.receiveControllerData(cmd, 0, into);
  await qp.transmit(cqe);
}

async function serveAwait(
  qp: QueuePair,
  cmd: CommandCapsule,
  disk: Uint8Array,
  cqeFor: (cid: number) => ResponseCapsule,
): Promise<void> {
  const cid = sqeCid(cmd.sqe);
  const sc = qp.validateCommandCapsule(cmd);
  if (sc !== GenericStatus.SUCCESS) return failCommand(qp, cid, sc);
  const offset = sqeCdw(cmd.sqe, 10);
  const length = qp.capsuleDataLength(cmd);
  if (offset + length > disk.length) return failCommand(qp, cid, GenericStatus.LBA_OUT_OF_RANGE);
  const opcode = sqeOpcode(cmd.sqe);
  if (opcode === NvmOpcode.READ) {
    const outcome = await qp.sendControllerData(
      cmd,
      0,
      disk.subarray(offset, offset + length),
      true,
    );
    if (outcome === "success-sent") return;
  } else if (opcode === NvmOpcode.WRITE) {
    await qp.receiveControllerData(cmd, 0, disk.subarray(offset, offset + length));
  } else if (opcode !== NvmOpcode.FLUSH) {
    return failCommand(qp, cid, GenericStatus.INVALID_COMMAND_OPCODE);
  }
  await qp.transmit(cqeFor(cid));
}

/**
 * Runs the host loop on each queue pair: `w.qd` commands in flight on each, CIDs 0 to qd-1,
 * until the window of `timing` ends; then lets the commands in flight finish.
 *
 * @param qps Host queue pairs, one per queue.
 * @param w The workload (`queues` is taken from `qps.length`).
 * @param timing Warm-up and measured seconds.
 * @param diskSize Bytes the server addresses.
 * @returns The figures of the window.
 * @throws {Error} When a command fails or a queue pair ends early.
 * @example Usage
 * ```ts ignore
 * const w = { pattern: "randread", blockSize: 4096, qd: 32, queues: 1, digests: false } as const;
 * const m = await runHostQueues([hostQueuePair], w, { warmup: 0.5, seconds: 2 });
 * ```
 */
export async function runHostQueues(
  qps: readonly QueuePair[],
  w: Workload,
  timing: Timing,
  diskSize: number = DISK_SIZE,
): Promise<Measurement> {
  const rec = new Recorder(timing);
  await Promise.all(
    qps.map((qp, i) => hostQueue(qp, w, rec, new Offsets(w, diskSize, 7919 * (i + 1)))),
  );
  return rec.result();
}

async function hostQueue(qp: QueuePair, w: Workload, rec: Recorder, at: Offsets): Promise<void> {
  const qd = w.qd;
  const write = isWrite(w.pattern);
  const bs = w.blockSize;
  const capsules: CommandCapsule[] = [];
  const submitted = new Float64Array(qd);
  for (let cid = 0; cid < qd; cid++) {
    const sqe = encodeSqe({ opcode: write ? NvmOpcode.WRITE : NvmOpcode.READ, cid, nsid: 1 });
    const data = new Uint8Array(bs).fill(cid);
    capsules.push(
      commandCapsule(sqe, data, write ? "host-to-controller" : "controller-to-host"),
    );
  }
  let failure: Error | undefined;
  const fail = (e: Error) => failure ??= e;
  // performance.now() is an op call in Deno (~0.15 us): at depth, read the clock for one
  // completion in SAMPLE and time only the commands issued at those moments.
  const sampleEvery = qd >= 8 ? 8 : 1;
  const timed = new Uint8Array(qd);
  let count = 0;
  const issue = (cid: number, now: number, time: boolean) => {
    const c = capsules[cid];
    setSqeCdw(c.sqe, 10, at.next());
    submitted[cid] = now;
    timed[cid] = time ? 1 : 0;
    qp.transmit(c).catch(fail);
  };
  let inflight = qd;
  let now = performance.now();
  // Completions are taken as they arrive (through `consume` when the queue pair has it, as
  // @nvmf/host does) and the commands that replace them are issued together in a microtask:
  // one per burst of completions, and never inside the transmit that completed them (the
  // loopback transport completes a READ synchronously).
  let next: number[] = [];
  let spare: number[] = [];
  let issuing = false;
  const issueNext = () => {
    issuing = false;
    const batch = next;
    next = spare;
    spare = batch;
    for (let i = 0; i < batch.length; i++) {
      const sample = ++count % sampleEvery === 0;
      issue(batch[i], now, sample);
    }
    batch.length = 0;
  };
  let done!: (e?: Error) => void;
  const over = new Promise<void>((resolve, reject) => done = (e) => e ? reject(e) : resolve());
  const completed = (c: Capsule): void => {
    if (failure !== undefined) return done(failure);
    if (c.kind !== "response") return;
    const cid = cqeCid(c.cqe);
    if (cqeStatus(c.cqe) >>> 1 !== 0) {
      return done(
        new Error(`Command ${cid} failed: status 0x${cqeStatus(c.cqe).toString(16)}`),
      );
    }
    inflight--;
    if (timed[cid] === 1 || count % sampleEvery === 0) now = performance.now();
    if (rec.complete(now, timed[cid] === 1 ? now - submitted[cid] : -1, bs)) {
      inflight++;
      next.push(cid);
      if (!issuing) {
        issuing = true;
        queueMicrotask(issueNext);
      }
    }
    if (inflight === 0) done();
  };
  for (let cid = 0; cid < qd; cid++) issue(cid, now, true);
  if (qp.consume !== undefined) {
    qp.consume(completed, (e) => done(e));
  } else {
    (async () => {
      while (inflight > 0) completed(await qp.receive());
    })().catch(done);
  }
  await over;
}

/** A connected set of host queue pairs and their servers. */
export interface TransportSetup {
  /** Host queue pairs, qid 1 to n. */
  hosts: QueuePair[];
  /** Tears everything down. */
  close(): Promise<void>;
}

let loopbackCount = 0;

/**
 * Connects `n` I/O queue pairs over `which` to a bench server in this process.
 *
 * @param c The case (transport, digests, queue depth, flow control, server mode).
 * @returns The host queue pairs and a close function.
 * @example Usage
 * ```ts
 * import { setUpTransport, verifyPath } from "./transport.ts";
 * const c = { transport: "loopback", pattern: "randread", blockSize: 4096, qd: 1, queues: 1, digests: false } as const;
 * const setup = await setUpTransport(c);
 * await verifyPath(setup.hosts[0], 4096);
 * await setup.close();
 * ```
 */
export async function setUpTransport(c: TransportCase): Promise<TransportSetup> {
  const t: Transport = c.transport === "tcp" ? tcp : new LoopbackTransport();
  const qsize = Math.max(128, c.qd + 1);
  const controllerNa = new Association(t, true, {
    maxIoQsize: qsize,
    ioInCapsuleData: IO_ICD,
  });
  const hostNa = new Association(t, false, {
    sqFlowControl: c.sqFlowControl ?? true,
    tcp: { ...DEFAULT_ASSOCIATION_PARAMS.tcp, headerDigests: c.digests, dataDigests: c.digests },
  });
  // What a host learns from Identify Controller: IOCCSZ covers the SQE and the in-capsule data.
  hostNa.update({ ioccsz: (64 + IO_ICD) / 16, mdts: 0 });
  const address = c.transport === "tcp"
    ? { traddr: "127.0.0.1", trsvcid: "0" }
    : { traddr: `bench-${++loopbackCount}` };
  const listener = await t.listen(controllerNa, address);
  const disk = ramDisk();
  const hosts: QueuePair[] = [];
  const served: Promise<void>[] = [];
  for (let qid = 1; qid <= c.queues; qid++) {
    const [host, ctrl] = await Promise.all([
      t.connect(hostNa, { address: listener.address, admin: false, qid, qsize }),
      listener.accept(),
    ]);
    ctrl.setConnected({ qid, qsize, sqFlowControl: c.sqFlowControl ?? true });
    hosts.push(host);
    served.push(serveQueue(ctrl, disk, c.serve ?? "eager"));
  }
  return {
    hosts,
    close: async () => {
      await Promise.all(hosts.map((h) => h.close()));
      await Promise.all(served);
      await listener.close();
    },
  };
}

/**
 * Writes a pattern through the first queue pair and reads it back, so a broken path fails
 * before it is timed.
 *
 * @param qp A host queue pair with nothing in flight.
 * @param bs Bytes.
 * @returns Settles once the data came back intact.
 * @throws {Error} When the data does not come back.
 * @example Usage
 * ```ts ignore
 * await verifyPath(setup.hosts[0], 4096);
 * ```
 */
export async function verifyPath(qp: QueuePair, bs: number): Promise<void> {
  const cid = 0xfff0;
  const offset = DISK_SIZE - 2 * bs;
  const out = new Uint8Array(bs);
  for (let i = 0; i < bs; i++) out[i] = (i * 31 + 7) & 0xff;
  const back = new Uint8Array(bs);
  for (const [opcode, data] of [[NvmOpcode.WRITE, out], [NvmOpcode.READ, back]] as const) {
    const sqe = encodeSqe({ opcode, cid, nsid: 1, cdw10: offset });
    const dir = opcode === NvmOpcode.WRITE ? "host-to-controller" : "controller-to-host";
    await qp.transmit(commandCapsule(sqe, data, dir));
    const r = await qp.receive();
    if (r.kind !== "response" || cqeCid(r.cqe) !== cid || cqeStatus(r.cqe) >>> 1 !== 0) {
      throw new Error(`Cannot verify the data path: command ${opcode} failed`);
    }
  }
  for (let i = 0; i < bs; i++) {
    if (back[i] !== out[i]) throw new Error(`Cannot verify the data path: byte ${i} differs`);
  }
}

/**
 * Sets up, verifies and runs one transport case.
 *
 * @param c The case.
 * @param timing Warm-up and measured seconds.
 * @param span Bytes of the disk the offsets cover (from 0): the whole 64 MiB by default; a
 *   small span keeps the data the server copies in the CPU caches.
 * @returns The figures.
 * @example Usage
 * ```ts
 * import { benchTransport } from "./transport.ts";
 * import assert from "node:assert/strict";
 * const c = { transport: "loopback", pattern: "randread", blockSize: 4096, qd: 4, queues: 1, digests: false } as const;
 * const m = await benchTransport(c, { warmup: 0, seconds: 0.05 });
 * assert.ok(m.ops > 0);
 * ```
 */
export async function benchTransport(
  c: TransportCase,
  timing: Timing,
  span: number = DISK_SIZE,
): Promise<Measurement> {
  const setup = await setUpTransport(c);
  try {
    await verifyPath(setup.hosts[0], c.blockSize);
    return await runHostQueues(setup.hosts, c, timing, span);
  } finally {
    await setup.close();
  }
}

/**
 * A short name for a transport case.
 *
 * @param c The case.
 * @returns E.g. `tcp randread 4k qd32 q1 serve=await`.
 * @example Usage
 * ```ts
 * import { transportCaseName } from "./transport.ts";
 * import assert from "node:assert/strict";
 * const c = { transport: "tcp", pattern: "randread", blockSize: 4096, qd: 1, queues: 1, digests: false } as const;
 * assert.equal(transportCaseName(c), "tcp randread 4k qd1 q1");
 * ```
 */
export function transportCaseName(c: TransportCase): string {
  const extra = [
    c.serve === "await" ? "serve=await" : "",
    c.sqFlowControl === false ? "sqflow off" : "",
  ].filter((s) => s !== "").join(" ");
  return `${c.transport} ${workloadName(c)}${extra ? ` ${extra}` : ""}`;
}

if (import.meta.main) {
  const timing = { warmup: 0.5, seconds: 2 };
  const cases: TransportCase[] = [
    { transport: "tcp", pattern: "randread", blockSize: 4096, qd: 32, queues: 1, digests: false },
    { transport: "tcp", pattern: "randread", blockSize: 4096, qd: 1, queues: 1, digests: false },
    {
      transport: "loopback",
      pattern: "randread",
      blockSize: 4096,
      qd: 32,
      queues: 1,
      digests: false,
    },
  ];
  for (const c of cases) {
    const m = await benchTransport(c, timing);
    console.log(
      `${transportCaseName(c)}: ${Math.round(m.opsPerSec)} IOPS ${m.gbPerSec.toFixed(2)} GB/s p50 ${
        m.p50Us.toFixed(1)
      } us p99 ${m.p99Us.toFixed(1)} us`,
    );
  }
}

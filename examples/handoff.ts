/**
 * Queue pairs and associations handed to new owners with `@nvmf/handoff`, as FreeBSD's ctld and
 * nvmecontrol hand them to the kernel: `deno task handoff [flags]`.
 *
 * ```
 * (no flags)        an acceptor and a worker process on 127.0.0.1, and a host
 * --same-process    the worker in this process instead of a child process
 * --out FILE        write the packed host handoff nvlist of a live loopback association to FILE
 * --help            this text
 * ```
 *
 * The controller side: an accept loop listens on 127.0.0.1, answers each connection's ICReq and
 * reads its Connect command and data, and hands the queue pair — the record packed as FreeBSD's
 * libnv packs it, and the socket — to a worker that owns the subsystem and serves the I/O. The
 * worker's `Target` answers the Connect, as FreeBSD's kernel target answers what ctld handed it.
 * The worker is a child process: Node's, Bun's and Deno's `node:child_process` pass a
 * `node:net` socket beside a message (`child.send(message, socket)`), so the accept loop takes
 * its connections with `node:net` on every runtime. `--same-process` keeps the worker in this
 * process (the record and connection go over no wire then).
 *
 * The host side: a host connects through the acceptor (admin and two I/O queues), writes, hands
 * its association off — the record and the connections — and a new owner in this process takes
 * it over and keeps reading and writing through the same connections: no new ICReq, no new
 * Connect, the SQ heads and tails go on.
 *
 * `--out FILE` does the host side over the loopback transport and writes the packed host
 * handoff nvlist (trtype 254) to FILE before the new owner carries on.
 *
 * @module
 */

import { fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as net from "node:net";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Buffer } from "node:buffer";
import { RamBackend, Target } from "@nvmf/controller";
import {
  adoptControllerQpair,
  adoptHost,
  controllerHandoffFromNvList,
  controllerHandoffToNvList,
  handoffControllerQpair,
  handoffHost,
  type HostHandoff,
  hostHandoffFromNvList,
  hostHandoffToNvList,
  packNvList,
  releaseSocket,
  unpackNvList,
} from "@nvmf/handoff";
import { connect, type HostController } from "@nvmf/host";
import { CONNECT_DATA_SIZE, decodeConnect } from "@nvmf/proto";
import { Association, type QueuePair } from "@nvmf/transport";
import { tcp } from "@nvmf/transport-tcp";
import { LoopbackTransport } from "@nvmf/transport-loopback";

export type { HostHandoff, QpairHandoff, ReconnectParams } from "@nvmf/handoff";

/** The subsystem the demo serves. */
export const DEMO_NQN = "nqn.2026-01.dev.nvmf:handoff";
const NAMESPACE_SIZE = 16n << 20n;

/** Where the worker runs. */
export type WorkerMode = "process" | "same-process";

/** What {@linkcode runHandoffDemo} did. */
export interface HandoffDemoResult {
  /** Where the worker ran. */
  worker: WorkerMode;
  /** The worker's process ID. */
  workerPid: number;
  /** Queue pairs the acceptor handed to the worker. */
  handedToWorker: number;
  /** Bytes of the host's packed handoff nvlist. */
  hostNvlistBytes: number;
  /** SQ head and tail of each queue when the host handed off (admin first). */
  queues: { sqhd: number; sqtail: number }[];
  /** Whether everything read back matched what was written, before and after the handoff. */
  matched: boolean;
}

/** The messages between the acceptor and a worker process. */
type ToWorker =
  | { type: "qpair"; nvlist: string }
  | { type: "stop" };
type FromWorker =
  | { type: "ready"; pid: number }
  | { type: "adopted"; qid: number }
  | { type: "error"; message: string };

/** A worker: a target that serves handed-over queue pairs. */
interface Worker {
  pid: number;
  /** Hands a queue pair over: the packed controller handoff nvlist, and its connection. */
  hand(qp: QueuePair, connect: Uint8Array, data: Uint8Array): Promise<void>;
  stop(): Promise<void>;
}

function newTarget(): Target {
  const target = new Target();
  target.addSubsystem({
    nqn: DEMO_NQN,
    namespaces: [{ backend: new RamBackend({ size: NAMESPACE_SIZE, blockSize: 512 }) }],
    allowAnyHost: true,
  });
  return target;
}

/** The worker in this process: the record and the detached connection go straight over. */
async function sameProcessWorker(address: { traddr: string; trsvcid: string }): Promise<Worker> {
  const target = newTarget();
  await target.listen(tcp, address, { accept: false });
  return {
    pid: process.pid,
    async hand(qp, connect, data) {
      const { record, connection } = await handoffControllerQpair(qp, connect, data);
      // Through the nvlist bytes, as across processes.
      const bytes = packNvList(controllerHandoffToNvList(record));
      await adoptControllerQpair(
        controllerHandoffFromNvList(unpackNvList(bytes)),
        connection,
        target,
      );
    },
    stop: () => target.close(),
  };
}

/** The worker in a child process: the nvlist goes as a message, the socket beside it. */
async function childWorker(
  address: { traddr: string; trsvcid: string },
  print: (line: string) => void,
): Promise<Worker> {
  const child = fork(fileURLToPath(import.meta.url), [
    "--worker",
    address.traddr,
    address.trsvcid,
  ]);
  const waiting: ((m: FromWorker) => void)[] = [];
  child.on("message", (m: FromWorker) => {
    if (m.type === "error") print(`worker: ${m.message}`);
    else waiting.shift()?.(m);
  });
  const next = () => new Promise<FromWorker>((resolve) => waiting.push(resolve));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = await Promise.race([next(), exited.then(() => undefined)]);
  if (ready?.type !== "ready") throw new Error("Cannot start the worker process: it exited");
  return {
    pid: ready.pid,
    async hand(qp, connect, data) {
      const { record, connection } = await handoffControllerQpair(qp, connect, data);
      const socket = await releaseSocket(connection);
      const nvlist = Buffer.from(packNvList(controllerHandoffToNvList(record))).toString("base64");
      const adopted = next();
      await new Promise<void>((resolve, reject) =>
        child.send(
          { type: "qpair", nvlist } satisfies ToWorker,
          socket,
          (e) => e ? reject(e) : resolve(),
        )
      );
      await adopted;
    },
    async stop() {
      child.send({ type: "stop" } satisfies ToWorker);
      await exited;
    },
  };
}

/** The worker process's main: serve what the acceptor hands over until told to stop. */
async function workerMain(traddr: string, trsvcid: string): Promise<void> {
  const send = (m: FromWorker) => process.send!(m);
  const target = newTarget();
  target.on("error", (e) => send({ type: "error", message: e.message }));
  await target.listen(tcp, { traddr, trsvcid }, { accept: false });
  process.on("message", async (m: ToWorker, socket?: net.Socket) => {
    if (m.type === "stop") {
      await target.close();
      process.disconnect?.();
      process.exit(0);
    }
    if (m.type !== "qpair" || socket === undefined) return;
    try {
      const record = controllerHandoffFromNvList(unpackNvList(Buffer.from(m.nvlist, "base64")));
      await adoptControllerQpair(record, socket, target);
      send({ type: "adopted", qid: decodeConnect(record.cmd).qid });
    } catch (e) {
      send({ type: "error", message: (e as Error).message });
      send({ type: "adopted", qid: -1 });
    }
  });
  send({ type: "ready", pid: process.pid });
}

/**
 * The accept loop: ICReq/ICResp on each connection, then its Connect command and data; then
 * the worker takes the queue pair. Connections come from a `node:net` server so that their
 * sockets can be passed to another process on every runtime.
 */
async function acceptor(
  print: (line: string) => void,
): Promise<{
  address: { traddr: string; trsvcid: string };
  serve(worker: Worker): void;
  handed(): number;
  close(): Promise<void>;
}> {
  const association = new Association(tcp, true);
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  let worker: Worker | undefined;
  let handed = 0;
  const pending = new Set<Promise<void>>();
  server.on("connection", (socket: net.Socket) => {
    const work = (async () => {
      let qp: QueuePair | undefined;
      try {
        qp = await tcp.acceptSocket(association, socket);
        const cmd = await qp.receive();
        if (cmd.kind !== "command" || qp.capsuleDataLength(cmd) !== CONNECT_DATA_SIZE) {
          throw new Error("the first capsule is not a Connect with its 1024 bytes of data");
        }
        const data = new Uint8Array(CONNECT_DATA_SIZE);
        await qp.receiveControllerData(cmd, 0, data);
        await worker!.hand(qp, cmd.sqe, data);
        handed++;
      } catch (e) {
        print(`acceptor: ${(e as Error).message}`);
        if (qp !== undefined) await qp.close();
        else socket.destroy();
      }
    })();
    pending.add(work);
    work.finally(() => pending.delete(work));
  });
  return {
    address: { traddr: "127.0.0.1", trsvcid: String(port) },
    serve: (w) => worker = w,
    handed: () => handed,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(pending);
    },
  };
}

function pattern(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed + (i >> 9)) & 0xff);
}

async function writeAndCheck(ctrl: HostController, lba: number, seed: number): Promise<boolean> {
  const ns = await ctrl.namespace(1);
  const data = pattern(32 * 1024, seed);
  await ns.write(lba, data);
  const back = await ns.read(lba, data.length / ns.blockSize);
  return back.every((b, i) => b === data[i]);
}

/**
 * Runs the demo: the acceptor and its worker on 127.0.0.1, a host that writes, hands its
 * association off, and carries on through the new owner.
 *
 * @param options Where the worker runs (a child process unless `"same-process"`), where lines
 * go.
 * @returns What happened.
 * @example Usage
 * ```ts
 * import { runHandoffDemo } from "./handoff.ts";
 * import assert from "node:assert/strict";
 * const result = await runHandoffDemo({ worker: "same-process", print: () => {} });
 * assert.equal(result.matched, true);
 * assert.equal(result.handedToWorker, 3);
 * ```
 */
export async function runHandoffDemo(
  options: { worker?: WorkerMode; print?: (line: string) => void } = {},
): Promise<HandoffDemoResult> {
  const print = options.print ?? console.log;
  const mode = options.worker ?? "process";
  const accept = await acceptor(print);
  const worker = mode === "process"
    ? await childWorker(accept.address, print)
    : await sameProcessWorker(accept.address);
  accept.serve(worker);
  print(
    `acceptor: 127.0.0.1:${accept.address.trsvcid}; worker: ${
      mode === "process" ? `process ${worker.pid}` : "this process"
    }, subsystem ${DEMO_NQN}`,
  );
  let ctrl: HostController | undefined;
  try {
    const first = await connect({
      transport: tcp,
      address: accept.address,
      subnqn: DEMO_NQN,
      ioQueues: 2,
      asyncEvents: false, // an outstanding AER could not be handed off
    });
    ctrl = first;
    print(`host: connected, controller ${first.cntlid}, ${first.ioQueueCount} I/O queues`);
    let matched = await writeAndCheck(first, 0, 1);
    print(`host: wrote and read back 32 KiB: ${matched ? "identical" : "DIFFERENT"}`);

    const { record, connections } = await handoffHost(first);
    const bytes = packNvList(hostHandoffToNvList(record));
    const queues = [record.admin, ...record.io].map((q) => ({ sqhd: q.sqhd, sqtail: q.sqtail! }));
    print(
      `host: handed off: ${bytes.length}-byte nvlist, ${connections.length} connections, ` +
        `SQ head/tail ${queues.map((q) => `${q.sqhd}/${q.sqtail}`).join(", ")}`,
    );
    ctrl = await adoptHost(hostHandoffFromNvList(unpackNvList(bytes)), connections, {
      hostid: first.hostid,
    });
    print(`new owner: took controller ${ctrl.cntlid} over, no ICReq, no Connect`);
    const old = await (await ctrl.namespace(1)).read(0, 64);
    const written = pattern(32 * 1024, 1);
    const again = old.every((b, i) => b === written[i]);
    const more = await writeAndCheck(ctrl, 1024, 2);
    matched = matched && again && more;
    print(
      `new owner: read the old data back and wrote more: ${matched ? "identical" : "DIFFERENT"}`,
    );
    return {
      worker: mode,
      workerPid: worker.pid,
      handedToWorker: accept.handed(),
      hostNvlistBytes: bytes.length,
      queues,
      matched,
    };
  } finally {
    await ctrl?.close();
    await accept.close();
    await worker.stop();
    print("done: host shut down, acceptor and worker stopped");
  }
}

/**
 * Connects a host over the loopback transport, hands the live association off, writes the
 * packed host handoff nvlist to `file`, and lets a new owner carry on (a read) before closing.
 *
 * @param file Where the nvlist goes.
 * @param print Where lines go.
 * @returns The record written.
 * @example Usage
 * ```ts
 * import { writeHostHandoff } from "./handoff.ts";
 * import { hostHandoffFromNvList, unpackNvList } from "@nvmf/handoff";
 * import { readFileSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import assert from "node:assert/strict";
 * const file = join(tmpdir(), `handoff-doc-${Date.now()}.nvlist`);
 * const record = await writeHostHandoff(file, () => {});
 * assert.deepEqual(hostHandoffFromNvList(unpackNvList(new Uint8Array(readFileSync(file)))), record);
 * rmSync(file);
 * ```
 */
export async function writeHostHandoff(
  file: string,
  print: (line: string) => void = console.log,
): Promise<HostHandoff> {
  const loopback = new LoopbackTransport();
  const target = newTarget();
  const traddr = "handoff-out";
  await target.listen(loopback, { traddr });
  try {
    const first = await connect({
      transport: loopback,
      address: { traddr },
      subnqn: DEMO_NQN,
      asyncEvents: false,
    });
    await (await first.namespace(1)).write(0, pattern(4096, 3));
    const { record, connections } = await handoffHost(first);
    const bytes = packNvList(hostHandoffToNvList(record));
    writeFileSync(file, bytes);
    print(
      `wrote the ${bytes.length}-byte host handoff nvlist (trtype ${record.trtype}) to ${file}`,
    );
    const ctrl = await adoptHost(record, connections, { hostid: first.hostid });
    const back = await (await ctrl.namespace(1)).read(0, 8);
    print(`new owner: read ${back.length} bytes through the handed-off association`);
    await ctrl.close();
    return record;
  } finally {
    await target.close();
  }
}

const HELP = `Usage: deno task handoff [--same-process | --out FILE]

  (no flags)        an acceptor and a worker process on 127.0.0.1, and a host
  --same-process    the worker in this process instead of a child process
  --out FILE        write the packed host handoff nvlist of a live loopback association to FILE
  --help            this text`;

/**
 * The command line: see the module documentation.
 *
 * @param args The arguments after the script.
 * @returns The exit status.
 * @example Usage
 * ```ts
 * import { main } from "./handoff.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await main(["--bogus"]), 2);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  if (args[0] === "--worker" && args.length === 3) {
    await workerMain(args[1], args[2]);
    return -1; // keeps running until told to stop
  }
  if (args[0] === "--help") {
    console.log(HELP);
    return 0;
  }
  if (args[0] === "--out" && args.length === 2) {
    await writeHostHandoff(args[1]);
    return 0;
  }
  if (args.length > 1 || (args.length === 1 && args[0] !== "--same-process")) {
    console.error(`Cannot run with ${args.join(" ")}: see --help`);
    return 2;
  }
  const result = await runHandoffDemo({
    worker: args[0] === "--same-process" ? "same-process" : "process",
  });
  return result.matched ? 0 : 1;
}

if (import.meta.main) {
  const status = await main(process.argv.slice(2));
  if (status >= 0) process.exitCode = status;
}

/**
 * End-to-end cases: a host against a controller serving a RAM namespace, through any
 * {@linkcode Stack} — a `serve`/`connect` pair. {@linkcode loadNvmfStack} wires in ours
 * (`@nvmf/controller`'s `Target` and `RamBackend`, `@nvmf/host`'s `connect`) when those
 * packages export them; it is loaded dynamically and typed structurally here, so the bench
 * keeps compiling while those packages change, and reports why when it cannot load them.
 *
 * @module
 */

import type { Measurement, Pattern, Timing, Workload } from "./_workload.ts";
import { type PerfResult, runPerf, type RwMode } from "@nvmf/cli/perf";

/** A block device as the workload loop drives it (what a host's namespace offers). */
export interface BlockDevice {
  /** Logical block size. */
  readonly blockSize: number;
  /** Capacity in blocks. */
  readonly blocks: number;
  /** Reads `into.length` bytes at `lba` into `into`. */
  read(lba: number, into: Uint8Array): Promise<unknown>;
  /** Writes `data` at `lba`. */
  write(lba: number, data: Uint8Array): Promise<unknown>;
}

/** What a served target gives back. */
export interface Served {
  /** Where hosts connect (transport address). */
  address: { traddr: string; trsvcid?: string };
  /** The subsystem NQN. */
  subnqn: string;
  /** Stops the target. */
  close(): Promise<void>;
}

/** A connected host. */
export interface Connected {
  /** The namespace to run workloads on. */
  device: BlockDevice;
  /** Disconnects. */
  close(): Promise<void>;
}

/** Options of one end-to-end case. */
export interface StackOptions {
  /** `tcp` or `loopback`. */
  transport: "tcp" | "loopback";
  /** NVMe/TCP header and data digests. */
  digests: boolean;
  /** I/O queues the host asks for. */
  queues: number;
  /** Entries per I/O queue. */
  queueSize: number;
  /** Bytes of the RAM namespace. */
  size: number;
}

/** The plug for host+controller implementations: how to serve and how to connect. */
export interface Stack {
  /** A name for the table. */
  name: string;
  /** Starts a target with one RAM namespace. */
  serve(options: StackOptions): Promise<Served>;
  /** Connects a host to it. */
  connect(served: Served, options: StackOptions): Promise<Connected>;
}

// Structural views of the packages, as far as the bench uses them.
interface TargetLike {
  addSubsystem(o: unknown): unknown;
  listen(
    t: string,
    a: { traddr: string; trsvcid?: string },
    o?: unknown,
  ): Promise<{ address: { traddr: string; trsvcid?: string } }>;
  close(): Promise<void>;
}
interface NamespaceLike {
  blockSize: number;
  blocks: number;
  read(lba: number, into: Uint8Array): Promise<Uint8Array>;
  write(lba: number, data: Uint8Array): Promise<void>;
}
interface HostControllerLike {
  namespace(nsid: number): Promise<NamespaceLike>;
  close(): Promise<void>;
}

let traddrCount = 0;

/**
 * Our host and controller, when `@nvmf/host` exports `connect` and `@nvmf/controller` exports
 * `Target` and `RamBackend`.
 *
 * @returns The stack, or the reason it cannot be loaded.
 * @example Usage
 * ```ts ignore
 * const stack = await loadNvmfStack();
 * if (typeof stack !== "string") {
 *   const o = { transport: "tcp", digests: false, queues: 1, queueSize: 128, size: 1 << 26 } as const;
 *   const served = await stack.serve(o);
 *   const host = await stack.connect(served, o);
 * }
 * ```
 */
export async function loadNvmfStack(): Promise<Stack | string> {
  let host: Record<string, unknown>;
  let controller: Record<string, unknown>;
  try {
    // Registers the transports by name.
    await import("@nvmf/transport-tcp");
    await import("@nvmf/transport-loopback");
    host = await import("@nvmf/host");
    controller = await import("@nvmf/controller");
  } catch (e) {
    return `cannot import @nvmf/host or @nvmf/controller: ${(e as Error).message}`;
  }
  const connect = host.connect as ((o: unknown) => Promise<HostControllerLike>) | undefined;
  const Target = controller.Target as (new (o?: unknown) => TargetLike) | undefined;
  const RamBackend = controller.RamBackend as (new (o: unknown) => unknown) | undefined;
  if (typeof connect !== "function") return "@nvmf/host does not export connect() yet";
  if (typeof Target !== "function") return "@nvmf/controller does not export Target yet";
  if (typeof RamBackend !== "function") return "@nvmf/controller does not export RamBackend yet";
  return {
    name: "nvmf",
    async serve(o: StackOptions): Promise<Served> {
      const target = new Target({ maxTransferSize: 1 << 20 });
      const subnqn = "nqn.2026-01.dev.nvmf:bench";
      target.addSubsystem({
        nqn: subnqn,
        namespaces: [{ backend: new RamBackend({ size: BigInt(o.size), blockSize: 512 }) }],
        allowAnyHost: true,
      });
      const address = o.transport === "tcp"
        ? { traddr: "127.0.0.1", trsvcid: "0" }
        : { traddr: `bench-e2e-${++traddrCount}` };
      const port = await target.listen(o.transport, address);
      return { address: port.address, subnqn, close: () => target.close() };
    },
    async connect(served: Served, o: StackOptions): Promise<Connected> {
      const ctrl = await connect({
        transport: o.transport,
        address: served.address,
        subnqn: served.subnqn,
        ioQueues: o.queues,
        queueSize: o.queueSize,
        headerDigests: o.digests,
        dataDigests: o.digests,
      });
      const ns = await ctrl.namespace(1);
      return { device: ns, close: () => ctrl.close() };
    },
  };
}

/** fio's `rw` for each bench pattern. */
const RW: Record<Pattern, RwMode> = {
  randread: "randread",
  randwrite: "randwrite",
  seqread: "read",
  seqwrite: "write",
};

/**
 * The `nvmf perf` options that run `w` as {@linkcode runBlockWorkload} does: to reproduce a row
 * by hand, `deno task nvmf perf` with these flags runs the same code (see docs/PERFORMANCE.md).
 *
 * @param w The workload.
 * @param timing Warm-up (`--ramp-time`) and measured seconds (`--runtime`).
 * @param span Bytes of the device addressed (`--size`).
 * @returns The command line flags after `perf`, connection flags left out.
 * @example Usage
 * ```ts
 * import { perfFlags } from "./e2e.ts";
 * import assert from "node:assert/strict";
 * const w = { pattern: "seqread", blockSize: 131072, qd: 16, queues: 1, digests: false } as const;
 * assert.deepEqual(perfFlags(w, { warmup: 0.5, seconds: 1.5 }, 1 << 26).slice(0, 4), ["--rw", "read", "--bs", "131072"]);
 * ```
 */
export function perfFlags(w: Workload, timing: Timing, span: number): string[] {
  return [
    "--rw",
    RW[w.pattern],
    "--bs",
    String(w.blockSize),
    "--iodepth",
    String(w.qd * w.queues),
    "--num-queues",
    String(w.queues),
    "--size",
    String(span),
    "--runtime",
    String(timing.seconds),
    "--ramp-time",
    String(timing.warmup),
    "--time-based",
    ...(w.digests ? ["-g", "-G"] : []),
  ];
}

/**
 * Runs a workload on a block device with `nvmf perf`'s engine ({@linkcode runPerf} of
 * packages/cli/perf.ts): `w.qd * w.queues` I/Os in flight (the host spreads them over its queues),
 * the warm-up as fio's ramp time, then `timing.seconds` counted.
 *
 * @param device The device.
 * @param w The workload.
 * @param timing Warm-up and measured seconds.
 * @param span Bytes of the device the workload addresses (from 0).
 * @returns The figures of the window.
 * @example Usage
 * ```ts ignore
 * const w = { pattern: "randread", blockSize: 4096, qd: 32, queues: 1, digests: false } as const;
 * const m = await runBlockWorkload(host.device, w, { warmup: 0.5, seconds: 2 }, 1 << 26);
 * ```
 */
export async function runBlockWorkload(
  device: BlockDevice,
  w: Workload,
  timing: Timing,
  span: number,
): Promise<Measurement> {
  const r = await runPerf(device, {
    rw: RW[w.pattern],
    bs: w.blockSize,
    iodepth: w.qd * w.queues,
    regionBytes: span,
    runtimeSec: timing.seconds,
    rampTimeSec: timing.warmup,
  });
  return measurementOf(r);
}

/**
 * The bench's figures of an `nvmf perf` result: both directions added, the latency of the one
 * that moved data.
 *
 * @param r The result.
 * @returns The measurement.
 * @example Usage
 * ```ts ignore
 * const m = measurementOf(JSON.parse(perfJsonOutput));
 * ```
 */
export function measurementOf(r: PerfResult): Measurement {
  const ops = r.read.ios + r.write.ios;
  const bytes = r.read.bytes + r.write.bytes;
  const lat = r.read.ios >= r.write.ios ? r.read.latencyUs : r.write.latencyUs;
  return {
    ops,
    bytes,
    seconds: r.runtimeSec,
    opsPerSec: r.runtimeSec > 0 ? ops / r.runtimeSec : 0,
    gbPerSec: r.runtimeSec > 0 ? bytes / r.runtimeSec / 1e9 : 0,
    p50Us: lat.p50,
    p99Us: lat.p99,
    cpuUsPerOp: r.cpuUsPerIo,
  };
}

/**
 * Writes the first `span` bytes of the device once, so reads find allocated data (a sparse
 * RAM namespace answers unwritten blocks with zeroes, which is cheaper than a copy).
 *
 * @param device The device.
 * @param span Bytes.
 * @returns Settles once written.
 * @example Usage
 * ```ts ignore
 * await fillDevice(host.device, 1 << 26);
 * ```
 */
export async function fillDevice(device: BlockDevice, span: number): Promise<void> {
  const chunk = 128 * 1024;
  const data = new Uint8Array(chunk).fill(0xa5);
  const inflight: Promise<unknown>[] = [];
  for (let at = 0; at < span; at += chunk) {
    inflight.push(
      device.write(at / device.blockSize, data.subarray(0, Math.min(chunk, span - at))),
    );
    if (inflight.length >= 16) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
}

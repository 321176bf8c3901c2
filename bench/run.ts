/**
 * The nvmf benchmark driver (issues 8 and 16), on 127.0.0.1. The headline first:
 *
 * 0. **two-process** (`two_process.ts`): what users run — the target daemon as one process,
 *    `nvmf perf` as another — against the raw ceiling between two processes, measured in the same
 *    run, with the targets of issue 16; then **two-process-bun**, the same table with the daemon,
 *    the tool and both raw ends on Bun (`bun run` of the same files).
 *
 * Then the code's own ceiling, host and target in one process:
 *
 * 1. **raw**: the runtime's ceiling (`raw.ts`): a 128 KiB pump and a 72-byte / 4 KiB+
 *    request/response loop at QD 1 and 32, over our `ByteStream` adapter and plain Deno sockets;
 * 2. **transport**: our transports with a bench host loop and a bench RAM-disk server
 *    (`transport.ts`): NVMe/TCP with digests off and on, the loopback transport;
 * 3. **e2e**: `@nvmf/host` against `@nvmf/controller` with a RAM namespace (`e2e.ts`), the same
 *    workloads, when both packages are there;
 * 4. **memory**: RSS of a target in its own process serving 64 connections at QD 32.
 *
 * Prints a table (value, unit, latency, ratio to the raw figure the issue names, target, met)
 * and, with `--json FILE`, writes the same rows as JSON.
 *
 * Usage: `deno run -A bench/run.ts [--json FILE] [--seconds S] [--warmup S] [--rss-seconds S]
 * [--rss-namespace MIB]
 * [--only two-process,two-process-bun,raw,transport,e2e,memory]`
 *
 * @module
 */

import {
  formatTable,
  judge,
  type Measurement,
  type Row,
  type Target,
  type Timing,
  type Workload,
  workloadName,
} from "./_workload.ts";
import { denoAvailable, rawPump, rawRequestResponse } from "./raw.ts";
import { benchTransport, runHostQueues, type TransportCase } from "./transport.ts";
import {
  fillDevice,
  loadNvmfStack,
  perfFlags,
  runBlockWorkload,
  type Stack,
  type StackOptions,
} from "./e2e.ts";
import { runTwoProcess } from "./two_process.ts";
import { Association, type QueuePair } from "@nvmf/transport";
import { tcp } from "@nvmf/transport-tcp";

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  json?: string;
  timing: Timing;
  rssSeconds: number;
  /** Bytes of the RAM namespace (or disk) the memory cases' target serves. */
  rssNamespace: number;
  only: Set<string>;
}

function parseArgs(args: string[]): Options {
  const o: Options = {
    timing: { warmup: 0.5, seconds: 1.5 },
    rssSeconds: 20,
    rssNamespace: 16 * 1024 * 1024,
    only: new Set(["two-process", "two-process-bun", "raw", "transport", "e2e", "memory"]),
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new RangeError(`Cannot parse ${a}: it needs a value`);
      return v;
    };
    const seconds = (v: string) => {
      const n = Number(v);
      if (!(n > 0) || n > 600) throw new RangeError(`Cannot use ${a} ${v}: give 0 to 600 seconds`);
      return n;
    };
    if (a === "--json") o.json = value();
    else if (a === "--seconds") o.timing.seconds = seconds(value());
    else if (a === "--warmup") o.timing.warmup = seconds(value());
    else if (a === "--rss-seconds") o.rssSeconds = seconds(value());
    else if (a === "--rss-namespace") {
      const mib = Number(value());
      if (!Number.isInteger(mib) || mib < 1 || mib > 65536) {
        throw new RangeError(`Cannot use --rss-namespace ${mib}: give 1 to 65536 MiB`);
      }
      o.rssNamespace = mib * 1024 * 1024;
    } else if (a === "--only") o.only = new Set(value().split(","));
    else throw new RangeError(`Cannot parse ${a}: unknown option`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// The workloads and targets of issue 8

interface Spec {
  /** Id part, e.g. `randread.4k.qd32.q1`. */
  key: string;
  w: Omit<Workload, "digests">;
  /** seq: GB/s; rand: IOPS; lat: p50 latency. */
  kind: "seq" | "rand" | "lat";
  /** The raw figure the issue compares with. */
  ref: "pump" | "rr32" | "rr1";
  target?: Target;
}

const SPECS: Spec[] = [
  {
    key: "seqread.128k.qd16.q1",
    w: { pattern: "seqread", blockSize: 128 * 1024, qd: 16, queues: 1 },
    kind: "seq",
    ref: "pump",
    target: { of: "ratio", op: ">=", bound: 0.85 },
  },
  {
    key: "seqwrite.128k.qd16.q1",
    w: { pattern: "seqwrite", blockSize: 128 * 1024, qd: 16, queues: 1 },
    kind: "seq",
    ref: "pump",
    target: { of: "ratio", op: ">=", bound: 0.75 },
  },
  {
    key: "randread.4k.qd32.q1",
    w: { pattern: "randread", blockSize: 4096, qd: 32, queues: 1 },
    kind: "rand",
    ref: "rr32",
    target: { of: "ratio", op: ">=", bound: 0.5 },
  },
  {
    key: "randwrite.4k.qd32.q1",
    w: { pattern: "randwrite", blockSize: 4096, qd: 32, queues: 1 },
    kind: "rand",
    ref: "rr32",
  },
  {
    key: "randread.4k.qd32.q2",
    w: { pattern: "randread", blockSize: 4096, qd: 32, queues: 2 },
    kind: "rand",
    ref: "rr32",
  },
  {
    key: "randwrite.4k.qd32.q2",
    w: { pattern: "randwrite", blockSize: 4096, qd: 32, queues: 2 },
    kind: "rand",
    ref: "rr32",
  },
  {
    key: "randread.4k.qd1.q1",
    w: { pattern: "randread", blockSize: 4096, qd: 1, queues: 1 },
    kind: "lat",
    ref: "rr1",
    target: { of: "ratio", op: "<=", bound: 1.5 },
  },
];
/** The workloads repeated with digests on (the two-queue ones are left out for time). */
const DIGEST_SPECS = SPECS.filter((s) => s.w.queues === 1);
const DIGEST_TARGET: Target = { of: "ratio", op: ">=", bound: 0.75 };
const LOOPBACK_TARGET: Target = { of: "value", op: ">=", bound: 1_000_000 };
const RSS_TARGET: Target = { of: "value", op: "<=", bound: 200 };
/** "Flat": RSS grows by at most this many MiB over the second half of the run. */
const RSS_GROWTH_TARGET: Target = { of: "value", op: "<=", bound: 10 };
const RSS_CONNECTIONS = 64;
const RSS_QD = 32;

/** The raw references by kind. */
interface Refs {
  pump?: { id: string; value: number };
  rr32?: { id: string; value: number };
  rr1?: { id: string; value: number };
}

function workloadRow(
  layer: "transport" | "e2e",
  id: string,
  label: string,
  spec: Spec,
  m: Measurement,
  detail: Record<string, unknown>,
): Row {
  const value = spec.kind === "seq" ? m.gbPerSec : spec.kind === "rand" ? m.opsPerSec : m.p50Us;
  const unit = spec.kind === "seq" ? "GB/s" : spec.kind === "rand" ? "IOPS" : "us p50";
  return {
    id,
    layer,
    label,
    value,
    unit,
    p50Us: m.p50Us,
    p99Us: m.p99Us,
    detail: {
      ...detail,
      iops: m.opsPerSec,
      gbPerSec: m.gbPerSec,
      ops: m.ops,
      seconds: m.seconds,
      cpuUsPerOp: m.cpuUsPerOp,
    },
  };
}

function failedRow(id: string, layer: Row["layer"], label: string, e: unknown): Row {
  return {
    id,
    layer,
    label: `${label} (failed)`,
    value: 0,
    unit: "",
    met: false,
    detail: { error: (e as Error)?.message ?? String(e) },
  };
}

function progress(row: Row): void {
  const v = row.value >= 1000 ? Math.round(row.value) : row.value.toFixed(2);
  console.error(`  ${row.label}: ${v} ${row.unit}`);
}

// ---------------------------------------------------------------------------------------------
// Layers

async function runRaw(o: Options, rows: Row[]): Promise<Refs> {
  const refs: Refs = {};
  const adapters = denoAvailable ? ["stream", "deno"] as const : ["stream"] as const;
  for (const adapter of adapters) {
    const name = adapter === "stream" ? "ByteStream" : "Deno.Conn";
    const pump = await rawPump(adapter, o.timing);
    const pumpRow: Row = {
      id: `raw.pump.${adapter}`,
      layer: "raw",
      label: `raw pump 128k, ${name}`,
      value: pump.gbPerSec,
      unit: "GB/s",
      detail: { bytes: pump.bytes, seconds: pump.seconds },
    };
    rows.push(pumpRow);
    progress(pumpRow);
    if (refs.pump === undefined || pumpRow.value > refs.pump.value) {
      refs.pump = { id: pumpRow.id, value: pumpRow.value };
    }
    for (const qd of [1, 32]) {
      const r = await rawRequestResponse(adapter, qd, o.timing);
      const row: Row = {
        id: `raw.rr.qd${qd}.${adapter}`,
        layer: "raw",
        label: `raw req/resp 72B/4144B qd${qd}, ${name}`,
        value: r.opsPerSec,
        unit: "ops/s",
        p50Us: r.p50Us,
        p99Us: r.p99Us,
        detail: { ops: r.ops, seconds: r.seconds },
      };
      rows.push(row);
      progress(row);
      if (qd === 32 && (refs.rr32 === undefined || row.value > refs.rr32.value)) {
        refs.rr32 = { id: row.id, value: row.value };
      }
      if (qd === 1 && (refs.rr1 === undefined || r.p50Us < refs.rr1.value)) {
        refs.rr1 = { id: `${row.id} p50`, value: r.p50Us };
      }
    }
  }
  return refs;
}

/** Runs the spec set through `measure`, adding rows with ratios and targets. */
async function runSpecs(
  layer: "transport" | "e2e",
  prefix: string,
  labelPrefix: string,
  refs: Refs,
  rows: Row[],
  measure: (w: Workload) => Promise<Measurement>,
  detail: Record<string, unknown>,
  digests: boolean,
  specs: Spec[],
  perf?: (w: Workload) => string[],
): Promise<void> {
  for (const spec of specs) {
    const w: Workload = { ...spec.w, digests };
    const id = `${prefix}${digests ? ".digests" : ""}.${spec.key}`;
    const label = `${labelPrefix} ${workloadName(w)}`;
    let row: Row;
    try {
      const more = perf === undefined ? detail : { ...detail, perfFlags: perf(w).join(" ") };
      row = workloadRow(layer, id, label, spec, await measure(w), more);
      if (digests) {
        const plain = rows.find((r) => r.id === `${prefix}.${spec.key}`);
        if (plain !== undefined && plain.value > 0) {
          // Throughput: digests/plain, at least 75%. Latency: digests/plain p50, no target.
          judge(row, plain, spec.kind === "lat" ? undefined : DIGEST_TARGET);
        }
      } else {
        judge(row, refs[spec.ref], spec.target);
      }
    } catch (e) {
      row = failedRow(id, layer, label, e);
    }
    rows.push(row);
    progress(row);
  }
}

async function runTransport(o: Options, refs: Refs, rows: Row[]): Promise<void> {
  for (const digests of [false, true]) {
    await runSpecs(
      "transport",
      "transport.tcp",
      "transport tcp",
      refs,
      rows,
      (w) => benchTransport({ transport: "tcp", ...w }, o.timing),
      { transport: "tcp", server: "bench (eager)" },
      digests,
      digests ? DIGEST_SPECS : SPECS,
    );
  }
  // How much a controller that awaits sendControllerData before its CQE loses.
  const extra: [string, TransportCase, "rand" | "lat"][] = [
    ["transport.tcp.await.randread.4k.qd32.q1", {
      transport: "tcp",
      pattern: "randread",
      blockSize: 4096,
      qd: 32,
      queues: 1,
      digests: false,
      serve: "await",
    }, "rand"],
    ["transport.tcp.sqflowoff.randread.4k.qd32.q1", {
      transport: "tcp",
      pattern: "randread",
      blockSize: 4096,
      qd: 32,
      queues: 1,
      digests: false,
      sqFlowControl: false,
    }, "rand"],
  ];
  for (const [id, c, kind] of extra) {
    const label = `transport tcp ${workloadName(c)} ${
      c.serve === "await" ? "serve=await" : "sqflow off (C2H SUCCESS)"
    }`;
    try {
      const m = await benchTransport(c, o.timing);
      const spec = { key: "", w: c, kind, ref: "rr32" as const };
      const row = judge(
        workloadRow("transport", id, label, spec, m, { transport: "tcp" }),
        refs.rr32,
      );
      rows.push(row);
      progress(row);
    } catch (e) {
      rows.push(failedRow(id, "transport", label, e));
    }
  }
  const lbId = "transport.loopback.randread.4k.qd32.q1";
  const lbW: Workload = { pattern: "randread", blockSize: 4096, qd: 32, queues: 1, digests: false };
  const lbLabel = `transport loopback ${workloadName(lbW)}`;
  try {
    const m = await benchTransport({ transport: "loopback", ...lbW }, o.timing);
    const row = judge(
      workloadRow("transport", lbId, lbLabel, { key: "", w: lbW, kind: "rand", ref: "rr32" }, m, {
        transport: "loopback",
      }),
      undefined,
      LOOPBACK_TARGET,
    );
    rows.push(row);
    progress(row);
  } catch (e) {
    rows.push(failedRow(lbId, "transport", lbLabel, e));
  }
}

// ---------------------------------------------------------------------------------------------
// End to end: host + controller.
//
// THE PLUG: any Stack (a serve/connect pair, see e2e.ts) runs here. loadNvmfStack() gives ours
// once @nvmf/host exports connect() and @nvmf/controller exports Target and RamBackend.

/** Bytes of the RAM namespace the e2e and memory cases address. */
const E2E_SPAN = 64 * 1024 * 1024;

async function withStack<T>(
  stack: Stack,
  options: StackOptions,
  body: (device: Parameters<typeof runBlockWorkload>[0]) => Promise<T>,
): Promise<T> {
  const served = await stack.serve(options);
  try {
    const host = await stack.connect(served, options);
    try {
      await fillDevice(host.device, E2E_SPAN);
      return await body(host.device);
    } finally {
      await host.close();
    }
  } finally {
    await served.close();
  }
}

/** How to run an e2e row by hand with `nvmf perf` (its flags follow in `detail.perfFlags`). */
function perfCommand(transport: "tcp" | "loopback"): string {
  return transport === "tcp"
    ? "deno task target --ram 64M & deno task nvmf perf -a 127.0.0.1 -n nqn.2026-01.dev.nvmf:target"
    : "(loopback: in-process only; bench/case.ts nvmf-loopback runs the same code)";
}

async function runE2e(o: Options, refs: Refs, rows: Row[], stack: Stack): Promise<void> {
  const base = { size: E2E_SPAN, queueSize: 128 };
  const groups: {
    transport: "tcp" | "loopback";
    digests: boolean;
    queues: number;
    specs: Spec[];
  }[] = [
    { transport: "tcp", digests: false, queues: 1, specs: SPECS.filter((s) => s.w.queues === 1) },
    { transport: "tcp", digests: false, queues: 2, specs: SPECS.filter((s) => s.w.queues === 2) },
    { transport: "tcp", digests: true, queues: 1, specs: DIGEST_SPECS },
  ];
  for (const g of groups) {
    const options: StackOptions = {
      ...base,
      transport: g.transport,
      digests: g.digests,
      queues: g.queues,
    };
    try {
      await withStack(stack, options, (device) =>
        runSpecs(
          "e2e",
          `e2e.${stack.name}.tcp`,
          `e2e ${stack.name} tcp`,
          refs,
          rows,
          (w) => runBlockWorkload(device, w, o.timing, E2E_SPAN),
          { transport: g.transport, stack: stack.name, perf: perfCommand(g.transport) },
          g.digests,
          g.specs,
          (w) => perfFlags(w, o.timing, E2E_SPAN),
        ));
    } catch (e) {
      rows.push(
        failedRow(
          `e2e.${stack.name}.${g.transport}.setup`,
          "e2e",
          `e2e ${stack.name} ${g.transport} set-up`,
          e,
        ),
      );
    }
  }
  const lbW: Workload = { pattern: "randread", blockSize: 4096, qd: 32, queues: 1, digests: false };
  const id = `e2e.${stack.name}.loopback.randread.4k.qd32.q1`;
  const label = `e2e ${stack.name} loopback ${workloadName(lbW)}`;
  try {
    const m = await withStack(
      stack,
      { ...base, transport: "loopback", digests: false, queues: 1 },
      (device) => runBlockWorkload(device, lbW, o.timing, E2E_SPAN),
    );
    const spec: Spec = { key: "", w: lbW, kind: "rand", ref: "rr32" };
    const row = judge(
      workloadRow("e2e", id, label, spec, m, { transport: "loopback" }),
      undefined,
      LOOPBACK_TARGET,
    );
    rows.push(row);
    progress(row);
  } catch (e) {
    rows.push(failedRow(id, "e2e", label, e));
  }
}

// ---------------------------------------------------------------------------------------------
// Memory: the target in a child process, 64 connections at QD 32, RSS sampled.

interface Child {
  ready: { address: { traddr: string; trsvcid?: string }; subnqn?: string };
  samples: { t: number; rss: number; heap: number }[];
  stop(): Promise<void>;
}

async function spawnTarget(stack: "transport" | "nvmf", size: number): Promise<Child> {
  const script = new URL("./serve_child.ts", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script.pathname, "--stack", stack, "--size", String(size)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const samples: { t: number; rss: number; heap: number }[] = [];
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TransformStream<string, string>(
      {
        buffer: "",
        transform(chunk, c) {
          const parts = (this.buffer + chunk).split("\n");
          this.buffer = parts.pop() ?? "";
          for (const p of parts) if (p.trim() !== "") c.enqueue(p);
        },
      } as Transformer<string, string> & { buffer: string },
    ),
  );
  const reader = lines.getReader();
  const first = await reader.read();
  const msg = first.done ? { error: "the target exited" } : JSON.parse(first.value);
  if (msg.ready === undefined) {
    child.stdin.close();
    await child.status;
    throw new Error(`Cannot start the ${stack} target: ${msg.error}`);
  }
  const reading = (async () => {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      const m = JSON.parse(r.value);
      if (typeof m.rss === "number") {
        samples.push({ t: performance.now(), rss: m.rss, heap: m.heap });
      }
    }
  })();
  return {
    ready: msg.ready,
    samples,
    stop: async () => {
      await child.stdin.close();
      await reading;
      await child.status;
    },
  };
}

async function runMemory(o: Options, rows: Row[], stack: Stack | undefined): Promise<void> {
  const w: Workload = {
    pattern: "randread",
    blockSize: 4096,
    qd: RSS_QD,
    queues: RSS_CONNECTIONS,
    digests: false,
  };
  const timing: Timing = { warmup: 1, seconds: o.rssSeconds };
  const kinds: ("transport" | "nvmf")[] = stack === undefined
    ? ["transport"]
    : ["transport", "nvmf"];
  for (const kind of kinds) {
    const id = `memory.${kind}.rss`;
    const span = o.rssNamespace;
    const label = `memory: ${
      kind === "transport" ? "bench server" : "nvmf Target"
    } rss, ${RSS_CONNECTIONS} conns qd${RSS_QD} randread 4k, ${span / 1048576} MiB namespace`;
    let child: Child | undefined;
    try {
      child = await spawnTarget(kind, span);
      let m: Measurement;
      let close: () => Promise<void>;
      if (kind === "transport") {
        const na = new Association(tcp, false, {});
        na.update({ ioccsz: (64 + 16384) / 16, mdts: 0 });
        const qps: QueuePair[] = [];
        for (let qid = 1; qid <= RSS_CONNECTIONS; qid++) {
          qps.push(
            await tcp.connect(na, { address: child.ready.address, admin: false, qid, qsize: 128 }),
          );
        }
        close = async () => {
          await Promise.all(qps.map((q) => q.close()));
        };
        m = await runHostQueues(qps, w, timing, span);
      } else {
        const served = {
          address: child.ready.address,
          subnqn: child.ready.subnqn!,
          close: () => Promise.resolve(),
        };
        const host = await stack!.connect(served, {
          transport: "tcp",
          digests: false,
          queues: RSS_CONNECTIONS,
          queueSize: 128,
          size: span,
        });
        close = host.close;
        await fillDevice(host.device, span);
        m = await runBlockWorkload(
          host.device,
          { ...w, queues: RSS_CONNECTIONS },
          timing,
          span,
        );
      }
      await close();
      const end = performance.now();
      const start = end - (timing.warmup + timing.seconds) * 1000;
      const inRun = child.samples.filter((s) => s.t >= start && s.t <= end);
      const mib = (b: number) => b / 1024 / 1024;
      const max = Math.max(...inRun.map((s) => s.rss));
      const half = inRun.filter((s) => s.t >= start + (end - start) / 2);
      const growth = half.length >= 2 ? mib(half[half.length - 1].rss - half[0].rss) : 0;
      const detail = {
        iops: m.opsPerSec,
        seconds: timing.seconds,
        namespaceBytes: span,
        rssSamplesMiB: inRun.map((s) => Number(mib(s.rss).toFixed(1))),
        heapSamplesMiB: inRun.map((s) => Number(mib(s.heap).toFixed(1))),
      };
      const maxRow = judge(
        {
          id: `${id}.max`,
          layer: "memory",
          label: `${label}: max`,
          value: mib(max),
          unit: "MiB",
          detail,
        },
        undefined,
        RSS_TARGET,
      );
      const growthRow = judge(
        {
          id: `${id}.growth`,
          layer: "memory",
          label: `${label}: growth, 2nd half of ${timing.warmup + timing.seconds}s`,
          value: growth,
          unit: "MiB",
        },
        undefined,
        RSS_GROWTH_TARGET,
      );
      rows.push(maxRow, growthRow);
      progress(maxRow);
      progress(growthRow);
    } catch (e) {
      rows.push(failedRow(id, "memory", label, e));
    } finally {
      await child?.stop();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Main

function runtimeInfo(): Record<string, unknown> {
  let cpu = "";
  try {
    cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1] ?? "";
  } catch {
    // not Linux
  }
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpus: navigator.hardwareConcurrency,
    cpu,
  };
}

if (import.meta.main) {
  const o = parseArgs(Deno.args);
  const t0 = performance.now();
  const rows: Row[] = [];
  let refs: Refs = {};
  console.error("nvmf bench: raw ceiling, transports, host+controller, memory (127.0.0.1)");
  if (o.only.has("two-process")) {
    console.error("two processes: the target daemon and nvmf perf, against raw sockets");
    await runTwoProcess(
      { warmup: o.timing.warmup, seconds: Math.max(2, o.timing.seconds) },
      rows,
      progress,
    );
  }
  if (o.only.has("two-process-bun")) {
    console.error("two processes on Bun: the same daemon and nvmf perf (bun run), raw node:net");
    await runTwoProcess(
      { warmup: o.timing.warmup, seconds: Math.max(2, o.timing.seconds) },
      rows,
      progress,
      "bun",
    );
  }
  if (o.only.has("raw")) refs = await runRaw(o, rows);
  if (o.only.has("transport")) await runTransport(o, refs, rows);
  const stack = o.only.has("e2e") || o.only.has("memory") ? await loadNvmfStack() : "not asked for";
  if (o.only.has("e2e")) {
    if (typeof stack === "string") {
      rows.push({
        id: "e2e.skipped",
        layer: "e2e",
        label: `e2e skipped: ${stack}`,
        value: 0,
        unit: "",
      });
      console.error(`  e2e skipped: ${stack}`);
    } else {
      await runE2e(o, refs, rows, stack);
    }
  }
  if (o.only.has("memory")) await runMemory(o, rows, typeof stack === "string" ? undefined : stack);
  const seconds = (performance.now() - t0) / 1000;
  console.log(formatTable(rows));
  console.log(`\n${rows.length} rows in ${seconds.toFixed(0)} s; ${JSON.stringify(runtimeInfo())}`);
  if (o.json !== undefined) {
    const report = {
      schema: "nvmf-bench/1",
      date: new Date().toISOString(),
      command: `deno run -A bench/run.ts ${Deno.args.join(" ")}`.trim(),
      runtime: runtimeInfo(),
      timing: { ...o.timing, rssSeconds: o.rssSeconds, rssNamespace: o.rssNamespace },
      seconds,
      rows,
    };
    await Deno.writeTextFile(o.json, JSON.stringify(report, null, 2) + "\n");
    console.error(`wrote ${o.json}`);
  }
}

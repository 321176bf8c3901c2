/**
 * The headline of `deno task bench` (issue 16): what users run, host and target as two
 * processes on 127.0.0.1, against the runtime's raw ceiling between two processes, all in one
 * run.
 *
 * - **raw**: `raw_peer.ts` in a child process; this process is the other end: a 128 KiB-write
 *   pump (child writes, this reads), 72-byte requests answered by 4,144-byte replies at QD 1
 *   and 32.
 * - **ours**: the published daemon (`packages/cli/target.ts --ram 1G`) as one process, and each
 *   workload one `nvmf perf ... -o json` process (`packages/cli/mod.ts`), the rows built from its
 *   JSON. First (after a sequential read of the region warms the daemon up, allocating nothing)
 *   a 128 KiB sequential write over a fresh namespace region, then the same again
 *   (first write against rewrite), the sequential and random rows, the digest rows, a 4 KiB
 *   rewrite of the region and the 4 KiB random reads again (reads whatever size the data was
 *   written in). Then the first write once more, over a daemon started with `--prefault`.
 * - **memory**: a fresh daemon with a 16 MiB RAM namespace, one `nvmf perf` with 64 I/O queues
 *   (connections) at QD 32 each, the daemon's RSS (`/proc/PID/status`) sampled every 100 ms.
 *
 * With `--runtime bun` the daemon, the tool and both raw ends run on Bun (`bun run` of the same
 * files; rows `2p.bun.*`), the raw ends over `node:net` as our transport is there.
 *
 * Run alone: `deno run -A bench/two_process.ts [--seconds S] [--runtime deno,bun]` (or
 * `bench/run.ts --only two-process,two-process-bun`).
 *
 * @module
 */

import { judge, type Row, type Target, type Timing } from "./_workload.ts";
import type { PumpResult, RequestResponseResult } from "./raw.ts";

const ROOT = new URL("../", import.meta.url);
const TARGET_SCRIPT = new URL("packages/cli/target.ts", ROOT).pathname;
const TOOL_SCRIPT = new URL("packages/cli/mod.ts", ROOT).pathname;
const PEER_SCRIPT = new URL("./raw_peer.ts", import.meta.url).pathname;
const SUBNQN = "nqn.2026-01.dev.nvmf:target";
const HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:6e766d66-6265-4e63-8832-70726f633031";
/** Bytes of the namespace the throughput rows use (of a 1 GiB RAM namespace). */
const REGION = 256 * 1024 * 1024;
const RSS_NAMESPACE = "16M";
const RSS_QUEUES = 64;
const RSS_QD = 32;
/** A workload or raw driver process that runs longer than this is killed (a hang, not a row). */
const CHILD_TIMEOUT_MS = 120_000;

/** The targets of issue 16. */
export const TWO_PROCESS_TARGETS: Record<string, Target> = {
  randread: { of: "ratio", op: ">=", bound: 0.7 },
  qd1: { of: "ratio", op: "<=", bound: 1.15 },
  seqread: { of: "ratio", op: ">=", bound: 0.85 },
  seqwrite: { of: "ratio", op: ">=", bound: 0.8 },
  digests: { of: "ratio", op: ">=", bound: 0.75 },
  firstWrite: { of: "ratio", op: ">=", bound: 0.9 },
  readAfter128k: { of: "ratio", op: ">=", bound: 0.9 },
  rss: { of: "value", op: "<=", bound: 150 },
};

/** The runtime the daemon, the tool and both raw ends run on. */
export type Runtime = "deno" | "bun";

/** The pinned Bun of `deno task test:bun`, when `bun` is not on the PATH. */
const BUN_NPM = "bun@1.4.5";
let bunPath: string | undefined;

/** The executable and leading arguments that run `script` on `runtime`. */
async function runner(runtime: Runtime): Promise<string[]> {
  if (runtime === "deno") return [Deno.execPath(), "run", "-A"];
  if (bunPath === undefined) {
    const exec = async (cmd: string, args: string[]) => {
      try {
        const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
        return o.success ? new TextDecoder().decode(o.stdout).trim() : undefined;
      } catch {
        return undefined;
      }
    };
    const print = ["-e", "console.log(process.execPath)"];
    bunPath = await exec("bun", print) ?? await exec("npx", ["--yes", BUN_NPM, ...print]);
    if (bunPath === undefined) throw new Error(`Cannot find Bun: neither bun nor npx ${BUN_NPM}`);
  }
  return [bunPath, "run"];
}

interface Child {
  pid: number;
  /** The first stdout line `ready` accepted, mapped. */
  ready: string;
  stop(signal?: Deno.Signal): Promise<void>;
}

/** Spawns `deno run -A script args`, waits for a stdout line `ready` accepts, drains the rest. */
async function spawn(
  runtime: Runtime,
  script: string,
  args: string[],
  ready: (line: string) => boolean,
): Promise<Child> {
  const [exe, ...pre] = await runner(runtime);
  const child = new Deno.Command(exe, {
    args: [...pre, script, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let line: string | undefined;
  const timeout = setTimeout(() => child.kill("SIGKILL"), 30_000);
  while (line === undefined) {
    const r = await reader.read();
    if (r.done) break;
    buffer += r.value;
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    line = lines.find(ready);
  }
  clearTimeout(timeout);
  const draining = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  if (line === undefined) {
    await child.status;
    throw new Error(`Cannot start ${script}: it exited before it was ready`);
  }
  return {
    pid: child.pid,
    ready: line,
    stop: async (signal) => {
      try {
        await child.stdin.close();
      } catch { /* closed */ }
      if (signal !== undefined) {
        try {
          child.kill(signal);
        } catch { /* gone */ }
      }
      await draining;
      await child.status;
    },
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

async function startTarget(
  runtime: Runtime,
  ram: string,
  extra: string[] = [],
): Promise<{ child: Child; port: number }> {
  for (let attempt = 0;; attempt++) {
    const port = freePort();
    try {
      const child = await spawn(
        runtime,
        TARGET_SCRIPT,
        ["--ram", ram, "--listen", `127.0.0.1:${port}`, ...extra],
        (l) => l.includes("listening on tcp"),
      );
      return { child, port };
    } catch (e) {
      if (attempt >= 2) throw e;
    }
  }
}

/** What `nvmf perf -o json` prints (the fields used here). */
interface PerfJson {
  runtimeSec: number;
  read: PerfDir;
  write: PerfDir;
  cpuUsPerIo: number;
}
interface PerfDir {
  ios: number;
  iops: number;
  bandwidthBytesPerSec: number;
  latencyUs: { p50: number; p99: number };
}

/** Runs `nvmf perf` as its own process against the target on `port`. */
async function perf(
  runtime: Runtime,
  port: number,
  flags: string[],
): Promise<{ json: PerfJson; flags: string }> {
  const [exe, ...pre] = await runner(runtime);
  const args = [
    ...pre,
    TOOL_SCRIPT,
    "perf",
    ...["-t", "tcp", "-a", "127.0.0.1", "-s", String(port), "-n", SUBNQN, "-q", HOSTNQN],
    ...flags,
    "-o",
    "json",
  ];
  const out = await new Deno.Command(exe, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CHILD_TIMEOUT_MS),
  }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
    throw new Error(`nvmf perf ${flags.join(" ")} failed: ${err}`);
  }
  return { json: JSON.parse(new TextDecoder().decode(out.stdout)), flags: flags.join(" ") };
}

function timed(t: Timing): string[] {
  return ["--runtime", String(t.seconds), "--ramp-time", String(t.warmup), "--time-based"];
}

/** The raw ceiling's references, by name. */
export interface TwoProcessRefs {
  pump?: { id: string; value: number };
  rr32?: { id: string; value: number };
  rr1?: { id: string; value: number };
}

async function rawPeer(runtime: Runtime, args: string[]): Promise<{ child: Child; port: number }> {
  const child = await spawn(runtime, PEER_SCRIPT, ["serve", ...args], (l) => l.startsWith("{"));
  return { child, port: JSON.parse(child.ready).port };
}

/** Runs the driving end of a raw case as its own process against the peer on `port`. */
async function rawDrive<T>(
  runtime: Runtime,
  args: string[],
  port: number,
  timing: Timing,
): Promise<T> {
  const [exe, ...pre] = await runner(runtime);
  const out = await new Deno.Command(exe, {
    args: [
      ...pre,
      PEER_SCRIPT,
      "drive",
      ...args,
      String(port),
      String(timing.warmup),
      String(timing.seconds),
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CHILD_TIMEOUT_MS),
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success || !text.startsWith("{")) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
    throw new Error(`raw_peer drive ${args.join(" ")} failed: ${err}`);
  }
  return JSON.parse(text) as T;
}

/**
 * Measures the two-process raw ceiling and our stack as two processes, pushing rows.
 *
 * @param timing Warm-up and measured seconds per row.
 * @param rows Where the rows go.
 * @param progress Called with each row as it is measured.
 */
export async function runTwoProcess(
  timing: Timing,
  rows: Row[],
  progress: (row: Row) => void,
  runtime: Runtime = "deno",
): Promise<void> {
  // Row ids and labels: "2p.*" for Deno (as before), "2p.bun.*" for Bun.
  const rid = (id: string) => runtime === "deno" ? id : id.replace(/^2p\./, "2p.bun.");
  const rlabel = (label: string) => runtime === "deno" ? label : label.replace(/^2p /, "2p bun ");
  const push = (row: Row) => {
    row.id = rid(row.id);
    row.label = rlabel(row.label);
    if (row.ratioTo !== undefined) row.ratioTo = rid(row.ratioTo);
    if (runtime !== "deno") row.detail = { ...row.detail, runtime };
    rows.push(row);
    progress(row);
  };
  const failed = (id: string, label: string, e: unknown) =>
    push({
      id,
      layer: "two-process",
      label: `${label} (failed)`,
      value: 0,
      unit: "",
      met: false,
      detail: { error: (e as Error)?.message ?? String(e) },
    });
  const refs: TwoProcessRefs = {};

  // Raw: two child processes, the far end serving and the near one driving.
  try {
    const peer = await rawPeer(runtime, ["pump"]);
    try {
      const p = await rawDrive<PumpResult>(runtime, ["pump"], peer.port, timing);
      const row: Row = {
        id: "2p.raw.pump",
        layer: "two-process",
        label: "2p raw pump 128k (one child writes, one reads)",
        value: p.gbPerSec,
        unit: "GB/s",
        detail: { bytes: p.bytes, seconds: p.seconds },
      };
      refs.pump = { id: row.id, value: row.value };
      push(row);
    } finally {
      await peer.child.stop();
    }
  } catch (e) {
    failed("2p.raw.pump", "2p raw pump 128k", e);
  }
  for (const qd of [1, 32]) {
    const id = `2p.raw.rr.qd${qd}`;
    const label = `2p raw req/resp 72B/4144B qd${qd}`;
    try {
      const peer = await rawPeer(runtime, ["rr", String(qd)]);
      try {
        const r = await rawDrive<RequestResponseResult>(
          runtime,
          ["rr", String(qd)],
          peer.port,
          timing,
        );
        const row: Row = {
          id,
          layer: "two-process",
          label,
          value: r.opsPerSec,
          unit: "ops/s",
          p50Us: r.p50Us,
          p99Us: r.p99Us,
          detail: { ops: r.ops, seconds: r.seconds },
        };
        if (qd === 32) refs.rr32 = { id, value: r.opsPerSec };
        else refs.rr1 = { id: `${id} p50`, value: r.p50Us };
        push(row);
      } finally {
        await peer.child.stop();
      }
    } catch (e) {
      failed(id, label, e);
    }
  }

  // Ours: the daemon and `nvmf perf`, one process each.
  const region = ["--size", String(REGION)];
  const seq = (rw: string) => ["--rw", rw, "--bs", "128k", "--iodepth", "16", ...region];
  const rand = (
    qd: number,
  ) => ["--rw", "randread", "--bs", "4k", "--iodepth", String(qd), ...region];
  // Before a first pass: one sequential read of the region. The daemon's first I/O after it
  // starts is slow whatever it is (a read pass ran at 0.49 GB/s, then 1.17; the first spends
  // ~450 ms more system time, not page faults of ours), and reading unwritten blocks allocates
  // nothing, so the write after it still finds fresh memory.
  const warmUp = (port: number) => perf(runtime, port, seq("read"));
  const byRow = new Map<string, Row>();
  const ours = (
    id: string,
    label: string,
    p: { json: PerfJson; flags: string },
    kind: "seq" | "rand" | "lat",
    dir: "read" | "write",
  ): Row => {
    const d = p.json[dir];
    const row: Row = {
      id,
      layer: "two-process",
      label,
      value: kind === "seq"
        ? d.bandwidthBytesPerSec / 1e9
        : kind === "rand"
        ? d.iops
        : d.latencyUs.p50,
      unit: kind === "seq" ? "GB/s" : kind === "rand" ? "IOPS" : "us p50",
      p50Us: d.latencyUs.p50,
      p99Us: d.latencyUs.p99,
      detail: {
        perf: `nvmf perf ${p.flags}`,
        iops: d.iops,
        gbPerSec: d.bandwidthBytesPerSec / 1e9,
        seconds: p.json.runtimeSec,
        cpuUsPerIo: p.json.cpuUsPerIo,
      },
    };
    byRow.set(id, row);
    return row;
  };
  const step = async (
    id: string,
    label: string,
    run: () => Promise<Row>,
  ): Promise<void> => {
    try {
      push(await run());
    } catch (e) {
      failed(id, label, e);
    }
  };
  const ref = (id: string) => {
    const r = byRow.get(id);
    return r === undefined ? undefined : { id, value: r.value };
  };

  let target: { child: Child; port: number } | undefined;
  try {
    target = await startTarget(runtime, "1G");
    const port = target.port;
    await warmUp(port);
    await step(
      "2p.write.first",
      "2p seqwrite 128k qd16, first pass over fresh RAM",
      async () =>
        ours(
          "2p.write.first",
          "2p seqwrite 128k qd16, first pass over fresh RAM",
          await perf(runtime, port, seq("write")),
          "seq",
          "write",
        ),
    );
    await step("2p.write.rewrite", "2p seqwrite 128k qd16, rewrite", async () =>
      ours(
        "2p.write.rewrite",
        "2p seqwrite 128k qd16, rewrite",
        await perf(runtime, port, seq("write")),
        "seq",
        "write",
      ));
    const first = byRow.get("2p.write.first");
    if (first !== undefined) judge(first, ref("2p.write.rewrite"));
    const cases: [string, string, string[], "seq" | "rand" | "lat", "read" | "write", string][] = [
      ["2p.seqread", "2p seqread 128k qd16", seq("read"), "seq", "read", "pump"],
      ["2p.seqwrite", "2p seqwrite 128k qd16", seq("write"), "seq", "write", "pump"],
      ["2p.randread.qd32", "2p randread 4k qd32", rand(32), "rand", "read", "rr32"],
      ["2p.randread.qd1", "2p randread 4k qd1", rand(1), "lat", "read", "rr1"],
      [
        "2p.digests.seqread",
        "2p seqread 128k qd16 -g -G",
        [...seq("read"), "-g", "-G"],
        "seq",
        "read",
        "2p.seqread",
      ],
      [
        "2p.digests.randread.qd32",
        "2p randread 4k qd32 -g -G",
        [...rand(32), "-g", "-G"],
        "rand",
        "read",
        "2p.randread.qd32",
      ],
    ];
    for (const [id, label, flags, kind, dir, to] of cases) {
      await step(id, label, async () => {
        const row = ours(
          id,
          label,
          await perf(runtime, port, [...flags, ...timed(timing)]),
          kind,
          dir,
        );
        if (to === "pump" || to === "rr32" || to === "rr1") {
          const target = id === "2p.seqread"
            ? TWO_PROCESS_TARGETS.seqread
            : id === "2p.seqwrite"
            ? TWO_PROCESS_TARGETS.seqwrite
            : id === "2p.randread.qd32"
            ? TWO_PROCESS_TARGETS.randread
            : TWO_PROCESS_TARGETS.qd1;
          return judge(row, refs[to], target);
        }
        return judge(row, ref(to), TWO_PROCESS_TARGETS.digests);
      });
    }
    // The region again in 4 KiB writes, then the same 4 KiB random reads.
    await step("2p.randread.qd32.after4k", "2p randread 4k qd32, data written in 4k", async () => {
      await perf(runtime, port, ["--rw", "write", "--bs", "4k", "--iodepth", "32", ...region]);
      const row = ours(
        "2p.randread.qd32.after4k",
        "2p randread 4k qd32, data written in 4k",
        await perf(runtime, port, [...rand(32), ...timed(timing)]),
        "rand",
        "read",
      );
      return row;
    });
    // Reads of data written in 128 KiB against the same reads of data written in 4 KiB.
    const after128 = byRow.get("2p.randread.qd32");
    const after4 = byRow.get("2p.randread.qd32.after4k");
    if (after128 !== undefined && after4 !== undefined) {
      push(judge(
        {
          id: "2p.randread.qd32.written128k",
          layer: "two-process",
          label: "2p randread 4k qd32: data written in 128k / in 4k",
          value: after128.value,
          unit: "IOPS",
        },
        ref("2p.randread.qd32.after4k"),
        TWO_PROCESS_TARGETS.readAfter128k,
      ));
    }
  } catch (e) {
    failed("2p.target", "2p target daemon", e);
  } finally {
    await target?.child.stop("SIGTERM");
  }

  // The first write again, over a namespace the daemon prefaulted (--prefault).
  let prefaulted: { child: Child; port: number } | undefined;
  const pfLabel = "2p seqwrite 128k qd16, first pass over --prefault RAM";
  try {
    prefaulted = await startTarget(runtime, `${REGION}`, ["--prefault"]);
    const port = prefaulted.port;
    await warmUp(port);
    await step("2p.write.first.prefault", pfLabel, async () =>
      judge(
        ours(
          "2p.write.first.prefault",
          pfLabel,
          await perf(runtime, port, seq("write")),
          "seq",
          "write",
        ),
        ref("2p.write.rewrite"),
        TWO_PROCESS_TARGETS.firstWrite,
      ));
  } catch (e) {
    failed("2p.write.first.prefault", pfLabel, e);
  } finally {
    await prefaulted?.child.stop("SIGTERM");
  }

  // Memory: a fresh daemon, 64 connections at QD 32.
  let small: { child: Child; port: number } | undefined;
  const rssLabel =
    `2p target RSS, ${RSS_QUEUES} connections qd${RSS_QD} randread 4k, ${RSS_NAMESPACE} namespace`;
  try {
    small = await startTarget(runtime, RSS_NAMESPACE);
    const pid = small.child.pid;
    await perf(runtime, small.port, ["--rw", "write", "--bs", "128k", "--iodepth", "16"]);
    const samples: number[] = [];
    const sample = () => {
      try {
        const status = Deno.readTextFileSync(`/proc/${pid}/status`);
        const kb = Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1]);
        if (kb > 0) samples.push(kb / 1024);
      } catch { /* not Linux, or gone */ }
    };
    const timer = setInterval(sample, 100);
    let p;
    try {
      p = await perf(runtime, small.port, [
        ...["--rw", "randread", "--bs", "4k"],
        ...["--num-queues", String(RSS_QUEUES), "--iodepth", String(RSS_QUEUES * RSS_QD)],
        ...timed({ warmup: 1, seconds: Math.max(3, timing.seconds * 2) }),
      ]);
    } finally {
      clearInterval(timer);
    }
    if (samples.length === 0) throw new Error("Cannot read the target's RSS (/proc)");
    push(judge(
      {
        id: "2p.memory.rss",
        layer: "two-process",
        label: rssLabel,
        value: Math.max(...samples),
        unit: "MiB",
        detail: {
          perf: `nvmf perf ${p.flags}`,
          iops: p.json.read.iops,
          rssSamplesMiB: samples.map((s) => Number(s.toFixed(1))),
        },
      },
      undefined,
      TWO_PROCESS_TARGETS.rss,
    ));
  } catch (e) {
    failed("2p.memory.rss", rssLabel, e);
  } finally {
    await small?.child.stop("SIGTERM");
  }
}

if (import.meta.main) {
  const { formatTable } = await import("./_workload.ts");
  const i = Deno.args.indexOf("--seconds");
  const seconds = i >= 0 ? Number(Deno.args[i + 1]) : 2;
  const r = Deno.args.indexOf("--runtime");
  const runtimes = (r >= 0 ? Deno.args[r + 1] : "deno").split(",") as Runtime[];
  for (const rt of runtimes) {
    if (rt !== "deno" && rt !== "bun") {
      console.error(`--runtime ${rt}: expected deno, bun or deno,bun`);
      Deno.exit(2);
    }
  }
  const rows: Row[] = [];
  for (const runtime of runtimes) {
    await runTwoProcess(
      { warmup: 0.5, seconds },
      rows,
      (r) => console.error(`  ${r.label}: ${r.value}`),
      runtime,
    );
  }
  console.log(formatTable(rows));
}

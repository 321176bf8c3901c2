/**
 * What every benchmark layer shares: workload descriptions, a latency recorder, the result
 * record, offsets (random and sequential) and the targets of issue 8. Runtime-neutral: no
 * `Deno.*`, so the pieces run under Bun as well.
 *
 * @module
 */

import process from "node:process";

/** The access pattern of a block workload. */
export type Pattern = "randread" | "randwrite" | "seqread" | "seqwrite";

/** A block workload: pattern, block size, queue depth per queue, queues, digests. */
export interface Workload {
  /** Access pattern. */
  pattern: Pattern;
  /** Bytes per command. */
  blockSize: number;
  /** Commands kept in flight on each queue. */
  qd: number;
  /** I/O queues (connections), each with `qd` commands in flight. */
  queues: number;
  /** NVMe/TCP header and data digests on. */
  digests: boolean;
}

/** How long a timed case runs. */
export interface Timing {
  /** Seconds of warm-up, not counted. */
  warmup: number;
  /** Seconds measured. */
  seconds: number;
}

/** What one timed case measured. */
export interface Measurement {
  /** Operations completed inside the measured window. */
  ops: number;
  /** Payload bytes moved inside the window. */
  bytes: number;
  /** Length of the window in seconds. */
  seconds: number;
  /** Operations per second. */
  opsPerSec: number;
  /** Payload throughput in GB/s (10^9 bytes). */
  gbPerSec: number;
  /** Median latency in microseconds (0 when not recorded). */
  p50Us: number;
  /** 99th percentile latency in microseconds (0 when not recorded). */
  p99Us: number;
  /**
   * Process CPU time (user + system, all threads) per operation inside the window, in
   * microseconds; 0 when unknown. Steadier than the rates on a shared machine: other load
   * slows the run down but does not add to it.
   */
  cpuUsPerOp: number;
}

/**
 * The short name of a workload.
 *
 * @param w The workload.
 * @returns E.g. `randread 4k qd32 q1`.
 * @example Usage
 * ```ts
 * import { workloadName } from "./_workload.ts";
 * import assert from "node:assert/strict";
 * const w = { pattern: "randread", blockSize: 4096, qd: 32, queues: 1, digests: false } as const;
 * assert.equal(workloadName(w), "randread 4k qd32 q1");
 * ```
 */
export function workloadName(w: Workload): string {
  const bs = w.blockSize % 1024 === 0 ? `${w.blockSize / 1024}k` : `${w.blockSize}`;
  return `${w.pattern} ${bs} qd${w.qd} q${w.queues}${w.digests ? " digests" : ""}`;
}

/**
 * Latencies and counts of one measured window. Call {@linkcode Recorder.complete} for every
 * operation; only those completing between `start` and `end` count.
 *
 * @example Usage
 * ```ts
 * import { Recorder } from "./_workload.ts";
 * import assert from "node:assert/strict";
 * const rec = new Recorder({ warmup: 0, seconds: 60 });
 * rec.complete(rec.start + 1, 0.02, 4096);
 * assert.equal(rec.result().ops, 1);
 * ```
 */
export class Recorder {
  /** Start of the measured window (performance.now() ms). */
  readonly start: number;
  /** End of the measured window. */
  readonly end: number;
  #samples: Float64Array;
  #n = 0;
  #ops = 0;
  #bytes = 0;
  #cpuStart = -1;
  #cpuEnd = -1;
  #last = 0;

  /**
   * Opens a window `timing.warmup` seconds from now, `timing.seconds` long.
   *
   * @param timing Warm-up and measured seconds.
   * @param capacity Latency samples kept (later ones overwrite round-robin).
   */
  constructor(timing: Timing, capacity = 1 << 20) {
    this.start = performance.now() + timing.warmup * 1000;
    this.end = this.start + timing.seconds * 1000;
    this.#samples = new Float64Array(capacity);
  }

  /**
   * Records one completed operation.
   *
   * @param now performance.now() at completion.
   * @param latencyMs Its latency in ms; negative to not record one.
   * @param bytes Payload bytes it moved.
   * @returns False once the window has ended: issue no more operations.
   */
  complete(now: number, latencyMs: number, bytes: number): boolean {
    if (now < this.start) return true;
    // A window that a stalled process (a loaded machine) slept through still records its
    // first operation, so a measurement is never empty; the rate uses the time it took.
    if (now >= this.end && this.#ops > 0) {
      if (this.#cpuEnd < 0) this.#cpuEnd = cpuMicros();
      return false;
    }
    if (this.#cpuStart < 0) this.#cpuStart = cpuMicros();
    if (now > this.#last) this.#last = now;
    this.#ops++;
    this.#bytes += bytes;
    if (latencyMs >= 0) this.#samples[this.#n++ % this.#samples.length] = latencyMs;
    return true;
  }

  /**
   * Whether the window has ended.
   *
   * @param now performance.now().
   * @returns True once it has.
   */
  over(now: number): boolean {
    return now >= this.end;
  }

  /**
   * The figures of the window.
   *
   * @returns Counts, rates and latency percentiles.
   */
  result(): Measurement {
    const seconds = (Math.max(this.end, this.#last) - this.start) / 1000;
    const kept = Math.min(this.#n, this.#samples.length);
    const sorted = this.#samples.slice(0, kept).sort();
    return {
      ops: this.#ops,
      bytes: this.#bytes,
      seconds,
      opsPerSec: this.#ops / seconds,
      gbPerSec: this.#bytes / seconds / 1e9,
      p50Us: percentile(sorted, 0.5) * 1000,
      p99Us: percentile(sorted, 0.99) * 1000,
      cpuUsPerOp: this.#cpuStart >= 0 && this.#cpuEnd >= 0 && this.#ops > 0
        ? (this.#cpuEnd - this.#cpuStart) / this.#ops
        : 0,
    };
  }
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * The `q` quantile of sorted samples (nearest rank).
 *
 * @param sorted Ascending samples.
 * @param q 0 to 1.
 * @returns The sample, or 0 when there are none.
 * @example Usage
 * ```ts
 * import { percentile } from "./_workload.ts";
 * import assert from "node:assert/strict";
 * assert.equal(percentile([1, 2, 3, 4], 0.5), 2);
 * ```
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/**
 * Byte offsets of a workload on a disk: random block-aligned, or sequential wrapping around.
 *
 * @example Usage
 * ```ts
 * import { Offsets } from "./_workload.ts";
 * import assert from "node:assert/strict";
 * const w = { pattern: "seqread", blockSize: 512, qd: 1, queues: 1, digests: false } as const;
 * const at = new Offsets(w, 1024, 0);
 * assert.deepEqual([at.next(), at.next(), at.next()], [0, 512, 0]);
 * ```
 */
export class Offsets {
  readonly #blocks: number;
  readonly #blockSize: number;
  readonly #random: boolean;
  #next = 0;
  #x: number;

  /**
   * Starts a stream of offsets.
   *
   * @param w The workload.
   * @param diskSize Bytes addressable.
   * @param seed PRNG seed (also the starting block of a sequential stream).
   * @throws {RangeError} When the disk holds no block.
   */
  constructor(w: Workload, diskSize: number, seed: number) {
    this.#blockSize = w.blockSize;
    this.#blocks = Math.floor(diskSize / w.blockSize);
    if (this.#blocks < 1) {
      throw new RangeError(`Cannot run ${workloadName(w)}: the disk is too small`);
    }
    this.#random = w.pattern === "randread" || w.pattern === "randwrite";
    this.#x = (seed * 2654435761 + 1) >>> 0 || 1;
    this.#next = seed % this.#blocks;
  }

  /**
   * The next offset.
   *
   * @returns A byte offset, a multiple of the block size.
   */
  next(): number {
    if (this.#random) {
      // xorshift32
      let x = this.#x;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.#x = x >>> 0;
      return (this.#x % this.#blocks) * this.#blockSize;
    }
    const at = this.#next;
    this.#next = at + 1 === this.#blocks ? 0 : at + 1;
    return at * this.#blockSize;
  }
}

/**
 * Whether a pattern moves data host to controller.
 *
 * @param p The pattern.
 * @returns True for the writes.
 * @example Usage
 * ```ts
 * import { isWrite } from "./_workload.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isWrite("seqwrite"), true);
 * ```
 */
export function isWrite(p: Pattern): boolean {
  return p === "randwrite" || p === "seqwrite";
}

// ---------------------------------------------------------------------------------------------
// Results, ratios and the targets of issue 8

/** A comparison with a target. */
export interface Target {
  /** What is compared: the ratio, or the value itself. */
  of: "ratio" | "value";
  /** `>=` (at least) or `<=` (at most). */
  op: ">=" | "<=";
  /** The bound. */
  bound: number;
}

/** One row of the table and of the JSON. */
export interface Row {
  /** Stable identifier, e.g. `transport.tcp.randread.4k.qd32.q1`. */
  id: string;
  /** `raw`, `transport` (our transport, bench host loop and server) or `e2e` (host+controller). */
  layer: "two-process" | "raw" | "transport" | "e2e" | "memory";
  /** What was measured, for people. */
  label: string;
  /** The headline figure. */
  value: number;
  /** Its unit: `GB/s`, `IOPS`, `ops/s`, `us` or `MiB`. */
  unit: string;
  /** p50 latency, microseconds, where recorded. */
  p50Us?: number;
  /** p99 latency, microseconds, where recorded. */
  p99Us?: number;
  /** The raw figure this row is compared to, by row id. */
  ratioTo?: string;
  /** value / reference (or reference / value for latency: lower is better, see `target`). */
  ratio?: number;
  /** The issue's target, when it defines one. */
  target?: Target;
  /** Whether the target is met. */
  met?: boolean;
  /** Free-form details: workload, runtime notes, skipped reasons. */
  detail?: Record<string, unknown>;
}

/**
 * Sets `ratio` and `met` of `row` against `reference` (and its target).
 *
 * @param row The row; `value` set.
 * @param reference The figure it is compared to, by id (undefined: only an absolute target
 *   applies); for a latency row, the reference's latency.
 * @param target The target, if the issue defines one.
 * @returns The row.
 * @example Usage
 * ```ts
 * import { judge } from "./_workload.ts";
 * import assert from "node:assert/strict";
 * const row = { id: "x", layer: "e2e", label: "x", value: 600, unit: "IOPS" } as const;
 * const judged = judge({ ...row }, { id: "raw", value: 1000 }, { of: "ratio", op: ">=", bound: 0.5 });
 * assert.equal(judged.met, true);
 * ```
 */
export function judge(
  row: Row,
  reference: { id: string; value: number } | undefined,
  target?: Target,
): Row {
  if (reference !== undefined) {
    row.ratioTo = reference.id;
    row.ratio = reference.value === 0 ? 0 : row.value / reference.value;
  }
  if (target !== undefined) {
    row.target = target;
    const x = target.of === "ratio" ? row.ratio : row.value;
    if (x !== undefined && Number.isFinite(x)) {
      row.met = target.op === ">=" ? x >= target.bound : x <= target.bound;
    }
  }
  return row;
}

function fmt(n: number): string {
  if (n === 0) return "0";
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString("en-US");
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function fmtTarget(t: Target): string {
  const bound = t.of === "ratio"
    ? (t.bound >= 1 ? `${t.bound}x` : `${t.bound * 100}%`)
    : fmt(t.bound);
  return `${t.op} ${bound}`;
}

/**
 * Renders rows as a Markdown table: case, value, unit, p50, p99, ratio, target, met.
 *
 * @param rows The rows.
 * @returns The table text.
 * @example Usage
 * ```ts
 * import { formatTable } from "./_workload.ts";
 * import assert from "node:assert/strict";
 * const text = formatTable([{ id: "x", layer: "raw", label: "pump", value: 2.5, unit: "GB/s" }]);
 * assert.equal(text.split("\n").length, 3);
 * ```
 */
export function formatTable(rows: readonly Row[]): string {
  const head = ["case", "value", "unit", "p50 us", "p99 us", "ratio", "to", "target", "met"];
  const body = rows.map((r) => [
    r.label,
    fmt(r.value),
    r.unit,
    r.p50Us === undefined ? "" : fmt(r.p50Us),
    r.p99Us === undefined ? "" : fmt(r.p99Us),
    r.ratio === undefined ? "" : r.ratio.toFixed(2),
    r.ratioTo ?? "",
    r.target === undefined ? "" : fmtTarget(r.target),
    r.met === undefined ? "" : r.met ? "yes" : "NO",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const right = new Set([1, 3, 4, 5]);
  const line = (cells: string[]) =>
    `| ${
      cells.map((c, i) => right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])).join(" | ")
    } |`;
  const rule = `|${
    widths.map((w, i) => right.has(i) ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2)).join("|")
  }|`;
  return [line(head), rule, ...body.map(line)].join("\n");
}

/**
 * The perf engine of `nvmf perf`: an fio-like workload on any block device (a `Namespace` of
 * `@nvmf/host`, or anything with `blockSize`, `read` and `write`). `iodepth` I/Os stay in flight,
 * latencies go into a log-linear histogram, and `verify` writes a checkable pattern and checks
 * every read. The benchmark suite (bench/e2e.ts) measures with exactly this code, so a row of
 * `deno task bench` and `nvmf perf -o json` with the same workload report the same figures.
 *
 * @example Usage
 * ```ts
 * import { runPerf } from "@nvmf/cli/perf";
 * import { connect } from "@nvmf/host";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 *
 * const subnqn = "nqn.2026-01.example:perf";
 * const target = new Target();
 * target.addSubsystem({
 *   nqn: subnqn,
 *   namespaces: [{ backend: new RamBackend({ size: 1n << 20n, blockSize: 512 }) }],
 *   allowAnyHost: true,
 * });
 * await target.listen("loopback", { traddr: "perf-doc" });
 * const ctrl = await connect({
 *   transport: "loopback",
 *   address: { traddr: "perf-doc" },
 *   subnqn,
 *   hostnqn: "nqn.2014-08.org.nvmexpress:uuid:00010203-0405-0607-0809-0a0b0c0d0e0f",
 * });
 * const ns = await ctrl.namespace(1);
 * const r = await runPerf(ns, { rw: "randrw", bs: 4096, iodepth: 8, regionBytes: 1 << 20, verify: true });
 * assert.equal(r.read.ios + r.write.ios, 256);
 * assert.equal(r.verify?.error, null);
 * await ctrl.close();
 * await target.close();
 * ```
 *
 * @module
 */

import process from "node:process";

/** Latencies in a log-linear histogram: 1/16 µs buckets below 8 µs, then 64 per power of two. */
class Histogram {
  readonly counts = new Float64Array(128 + 26 * 64);
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;

  record(us: number): void {
    this.count++;
    this.sum += us;
    if (us < this.min) this.min = us;
    if (us > this.max) this.max = us;
    const v = Math.floor(us * 16);
    let index: number;
    if (v < 128) {
      index = v;
    } else {
      const e = 31 - Math.clz32(v) - 6; // v >> e is 64..127
      index = 128 + (e - 1) * 64 + ((v >>> e) - 64);
      if (index >= this.counts.length) index = this.counts.length - 1;
    }
    this.counts[index]++;
  }

  /** The middle of bucket `index`, in µs. */
  #value(index: number): number {
    if (index < 128) return (index + 0.5) / 16;
    const e = Math.floor((index - 128) / 64) + 1;
    const m = ((index - 128) % 64) + 64;
    return ((m << e) + (1 << e) / 2) / 16;
  }

  percentile(p: number): number {
    if (this.count === 0) return 0;
    const want = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= want) return Math.min(Math.max(this.#value(i), this.min), this.max);
    }
    return this.max;
  }
}

/** Every {@linkcode RwMode}, as `nvmf perf --rw` accepts them. */
export const RW_MODES: readonly RwMode[] = [
  "read",
  "write",
  "randread",
  "randwrite",
  "randrw",
];
/** An fio `rw` mode: sequential `read`/`write`, `randread`, `randwrite`, or mixed `randrw`. */
export type RwMode = "read" | "write" | "randread" | "randwrite" | "randrw";

/** A block device as `nvmf perf` drives it: what `@nvmf/host`'s `Namespace` offers. */
export interface PerfDevice {
  /** Logical block size in bytes. */
  readonly blockSize: number;
  /** Reads `into.length` bytes at `lba` into `into`. */
  read(lba: number, into: Uint8Array): Promise<unknown>;
  /** Writes `data` at `lba`. */
  write(lba: number, data: Uint8Array): Promise<unknown>;
}

/** A workload of {@linkcode runPerf}, in fio's terms. */
export interface PerfOptions {
  /** Access pattern. */
  rw: RwMode;
  /** Bytes per I/O: a multiple of the block size. */
  bs: number;
  /** I/Os in flight (over all queues). */
  iodepth: number;
  /** Bytes of the device used, from block 0. */
  regionBytes: number;
  /** Seconds measured (after the ramp); without it the run ends after `limitBytes`. */
  runtimeSec?: number;
  /** Bytes to issue before the run ends (default: the region once, when no runtime). */
  limitBytes?: number;
  /** Seconds run first and not counted, as fio's `ramp_time` (default 0). */
  rampTimeSec?: number;
  /** Percentage of reads in `randrw` (default 50). */
  rwmixread?: number;
  /** Write a checkable pattern (the whole region first, for reads) and check every read. */
  verify?: boolean;
  /** Called about once a second with the I/Os so far. */
  progress?: (p: PerfProgress) => void;
}

/** What {@linkcode PerfOptions.progress} gets. */
export interface PerfProgress {
  /** Reads completed so far (ramp included). */
  readIos: number;
  /** Writes completed so far. */
  writeIos: number;
  /** Bytes moved so far. */
  bytes: number;
  /** Seconds since the start. */
  elapsedSec: number;
}

/** The figures of one direction (fio's read and write sections). */
export interface PerfDirection {
  /** I/Os counted. */
  ios: number;
  /** Bytes counted. */
  bytes: number;
  /** I/Os per second. */
  iops: number;
  /** Bytes per second. */
  bandwidthBytesPerSec: number;
  /** Completion latency of the timed I/Os, µs (see {@linkcode PerfResult.latencySampleEvery}). */
  latencyUs: {
    min: number;
    mean: number;
    p50: number;
    p90: number;
    p99: number;
    p99_9: number;
    max: number;
  };
}

/** What {@linkcode runPerf} measured. */
export interface PerfResult {
  /** The workload's pattern. */
  rw: RwMode;
  /** Bytes per I/O. */
  bs: number;
  /** I/Os in flight. */
  iodepth: number;
  /** Bytes of the region used. */
  regionBytes: number;
  /** Seconds the figures cover (the runtime, or the whole run when limited by size). */
  runtimeSec: number;
  /** Seconds run before counting. */
  rampTimeSec: number;
  /**
   * One I/O in this many is timed (its latency recorded): 1 below iodepth 8, else 8. The
   * clock (`performance.now()`, an op call in Deno) is read only for those, which keeps the
   * measurement from slowing what it measures; rates count every I/O.
   */
  latencySampleEvery: number;
  /** Reads. */
  read: PerfDirection;
  /** Writes. */
  write: PerfDirection;
  /** Process CPU time (user + system, all threads) per counted I/O, µs: 0 when unknown. */
  cpuUsPerIo: number;
  /** The verify outcome, when verifying. */
  verify?: { checked: number; error: string | null };
}

/**
 * Fills `buf` with the verify pattern of one I/O unit, as `nvmf perf --verify` writes it: the
 * unit's index and generation (little-endian u32s), then xorshift noise seeded by both, so a block
 * read back says which write it came from and a torn one does not match.
 *
 * @param buf The unit's bytes (a multiple of 4 long).
 * @param unit Its index (e.g. the LBA).
 * @param gen Its generation (how many times it was written).
 * @example Usage
 * ```ts
 * import { fillPattern } from "@nvmf/cli/perf";
 * import assert from "node:assert/strict";
 * const b = new Uint8Array(512);
 * fillPattern(b, 7, 2);
 * assert.deepEqual([...b.subarray(0, 8)], [7, 0, 0, 0, 2, 0, 0, 0]);
 * ```
 */
export function fillPattern(buf: Uint8Array, unit: number, gen: number): void {
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
  let x = ((unit + 1) * 2654435761 ^ (gen * 40503 + 0x9e3779b9)) >>> 0 || 1;
  words[0] = unit >>> 0;
  words[1] = gen >>> 0;
  for (let i = 2; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const wa = new Uint32Array(a.buffer, a.byteOffset, a.byteLength >>> 2);
  const wb = new Uint32Array(b.buffer, b.byteOffset, b.byteLength >>> 2);
  for (let i = 0; i < wa.length; i++) if (wa[i] !== wb[i]) return false;
  return true;
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Runs an fio-like workload on a device: `iodepth` I/Os in flight, each worker issuing its next
 * I/O when the last completes; random offsets from one xorshift stream, sequential ones from
 * one cursor. With a runtime, completions are counted in the window that starts after the ramp
 * and lasts the runtime, and the rates are per second of that window; without, the run issues
 * `limitBytes` and the rates cover the whole run. This is `nvmf perf`'s engine, and the
 * benchmark suite's host+controller cases run it too.
 *
 * @param device The block device (a `Namespace`).
 * @param o The workload.
 * @returns The figures, per direction.
 * @throws {RangeError} When the block size or region does not fit the device.
 * @example Usage
 * ```ts
 * import { runPerf } from "@nvmf/cli/perf";
 * import assert from "node:assert/strict";
 * const disk = new Uint8Array(1 << 20);
 * const device = {
 *   blockSize: 512,
 *   read: (lba: number, into: Uint8Array) => Promise.resolve(into.set(disk.subarray(lba * 512, lba * 512 + into.length))),
 *   write: (lba: number, data: Uint8Array) => Promise.resolve(disk.set(data, lba * 512)),
 * };
 * const r = await runPerf(device, { rw: "randrw", bs: 4096, iodepth: 4, regionBytes: 1 << 20, verify: true });
 * assert.equal(r.read.ios + r.write.ios, 256);
 * assert.equal(r.verify?.error, null);
 * ```
 */
export async function runPerf(device: PerfDevice, o: PerfOptions): Promise<PerfResult> {
  const { rw, bs, iodepth } = o;
  if (!Number.isInteger(bs) || bs <= 0 || bs % device.blockSize !== 0) {
    throw new RangeError(
      `Cannot use a block size of ${bs}: it must be a multiple of the ${device.blockSize}-byte block`,
    );
  }
  const units = Math.floor(o.regionBytes / bs);
  if (units < 1) {
    throw new RangeError(
      `Cannot run: the region of ${o.regionBytes} bytes holds no ${bs}-byte I/O`,
    );
  }
  const blocksPerIo = bs / device.blockSize;
  const runtimeMs = o.runtimeSec === undefined ? Infinity : o.runtimeSec * 1000;
  const rampMs = (o.rampTimeSec ?? 0) * 1000;
  const limitBytes = o.limitBytes ?? (o.runtimeSec === undefined ? units * bs : Infinity);
  const verify = o.verify ?? false;
  const rwmixread = o.rwmixread ?? 50;
  const gen = verify ? new Uint32Array(units) : undefined;
  // Two I/Os on one unit at once would race; only verify needs them apart.
  const busy = verify ? new Uint8Array(units) : undefined;
  const reads = rw === "read" || rw === "randread";
  const random = rw.startsWith("rand");
  const sampleEvery = iodepth >= 8 ? 8 : 1;

  if (verify && reads && gen !== undefined) {
    // A read-only workload checks what it wrote first.
    const buf = new Uint8Array(Math.min(units, 256) * bs);
    for (let u = 0; u < units; u += 256) {
      const n = Math.min(256, units - u);
      for (let i = 0; i < n; i++) fillPattern(buf.subarray(i * bs, (i + 1) * bs), u + i, 1);
      await device.write(u * blocksPerIo, buf.subarray(0, n * bs));
      gen.fill(1, u, u + n);
    }
  }

  const stats = {
    read: { ios: 0, bytes: 0, lat: new Histogram() },
    write: { ios: 0, bytes: 0, lat: new Histogram() },
  };
  let issuedBytes = 0;
  let cursor = 0;
  let seed = 0x12345678;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  let checked = 0;
  let verifyError: string | undefined;
  let stop = false;
  const done = { read: 0, write: 0, bytes: 0 };
  const start = performance.now();
  const windowStart = start + rampMs;
  const windowEnd = windowStart + runtimeMs;
  let now = start;
  let ticks = 0;
  let cpuStart = -1;
  let cpuEnd = -1;
  let reportDue: (now: number) => void = () => {};

  const nextUnit = (): number => {
    if (!random) {
      for (let tries = 0; tries < units; tries++) {
        const u = cursor;
        cursor = cursor + 1 === units ? 0 : cursor + 1;
        if (busy === undefined || busy[u] === 0) return u;
      }
      return -1;
    }
    let u = Math.floor(rand() * units);
    if (busy === undefined) return u;
    for (let tries = 0; tries < units && busy[u] !== 0; tries++) u = u + 1 === units ? 0 : u + 1;
    return busy[u] === 0 ? u : -1;
  };

  const worker = async (index: number) => {
    const buf = new Uint8Array(bs).fill((index & 0xff) | 1);
    const expected = verify ? new Uint8Array(bs) : undefined;
    while (!stop) {
      if (issuedBytes >= limitBytes) {
        stop = true;
        break;
      }
      const u = nextUnit();
      if (u < 0) {
        await new Promise((r) => setTimeout(r, 0));
        continue;
      }
      const isRead = rw === "randrw" ? rand() * 100 < rwmixread : reads;
      if (busy !== undefined) busy[u] = 1;
      issuedBytes += bs;
      const lba = u * blocksPerIo;
      const timed = ++ticks % sampleEvery === 0;
      const t0 = timed ? performance.now() : 0;
      try {
        if (isRead) {
          await device.read(lba, buf);
        } else {
          if (gen !== undefined) fillPattern(buf, u, gen[u] + 1);
          await device.write(lba, buf);
          if (gen !== undefined) gen[u]++;
        }
      } finally {
        if (busy !== undefined) busy[u] = 0;
      }
      if (timed) {
        now = performance.now();
        reportDue(now);
      }
      if (isRead) done.read++;
      else done.write++;
      done.bytes += bs;
      if (now >= windowStart) {
        if (now >= windowEnd) {
          if (cpuEnd < 0) cpuEnd = cpuMicros();
          stop = true;
          break;
        }
        if (cpuStart < 0) cpuStart = cpuMicros();
        const s = isRead ? stats.read : stats.write;
        if (timed) s.lat.record((now - t0) * 1000);
        s.ios++;
        s.bytes += bs;
      }
      if (isRead && gen !== undefined && expected !== undefined && gen[u] > 0) {
        fillPattern(expected, u, gen[u]);
        checked++;
        if (!sameBytes(buf, expected)) {
          const at = buf.findIndex((b, i) => b !== expected[i]);
          verifyError = `Cannot verify LBA ${
            lba + Math.floor(at / device.blockSize)
          }: byte ${at} of the ${bs}-byte I/O at LBA ${lba} differs`;
          stop = true;
        }
      }
    }
  };

  // Progress about once a second: from the I/O loop (a device that completes in microtasks, as
  // the loopback transport does, never lets a timer run) and from a timer (one that stalls).
  let progress: ReturnType<typeof setInterval> | undefined;
  let nextReport = start + 1000;
  const report = (at: number) => {
    nextReport = at + 1000;
    o.progress?.({
      readIos: done.read,
      writeIos: done.write,
      bytes: done.bytes,
      elapsedSec: (at - start) / 1000,
    });
  };
  if (o.progress !== undefined) {
    progress = setInterval(() => {
      const at = performance.now();
      if (at >= nextReport - 50) report(at);
    }, 250);
  }
  reportDue = o.progress === undefined ? () => {} : (at) => {
    if (at >= nextReport) report(at);
  };
  try {
    await Promise.all(Array.from({ length: iodepth }, (_, i) => worker(i)));
  } finally {
    if (progress !== undefined) clearInterval(progress);
  }
  const finish = performance.now();
  if (cpuEnd < 0) cpuEnd = cpuMicros();
  const seconds = runtimeMs === Infinity
    ? (finish - windowStart) / 1000
    : Math.min(runtimeMs, finish - windowStart) / 1000;
  const summary = (s: typeof stats.read): PerfDirection => ({
    ios: s.ios,
    bytes: s.bytes,
    iops: seconds > 0 ? s.ios / seconds : 0,
    bandwidthBytesPerSec: seconds > 0 ? s.bytes / seconds : 0,
    latencyUs: {
      min: s.lat.count ? s.lat.min : 0,
      mean: s.lat.count ? s.lat.sum / s.lat.count : 0,
      p50: s.lat.percentile(50),
      p90: s.lat.percentile(90),
      p99: s.lat.percentile(99),
      p99_9: s.lat.percentile(99.9),
      max: s.lat.max,
    },
  });
  const ios = stats.read.ios + stats.write.ios;
  return {
    rw,
    bs,
    iodepth,
    regionBytes: units * bs,
    runtimeSec: seconds,
    rampTimeSec: rampMs / 1000,
    latencySampleEvery: sampleEvery,
    read: summary(stats.read),
    write: summary(stats.write),
    cpuUsPerIo: cpuStart >= 0 && ios > 0 ? (cpuEnd - cpuStart) / ios : 0,
    ...(verify ? { verify: { checked, error: verifyError ?? null } } : {}),
  };
}

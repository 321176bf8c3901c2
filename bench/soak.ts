/**
 * The soak: our target daemon (`packages/cli/target.ts`, a subprocess) serves one file
 * namespace; this process runs N hosts — N associations of `@nvmf/host` over TCP, in one
 * process — each with 2 I/O queues and 32 I/Os in flight, a mixed random read/write workload
 * with verification (`@nvmf/cli/perf`, `verify: true`) on a region of its own. It reports per
 * host IOPS, miscompares, errors, and the daemon's RSS (from /proc) every second, and judges:
 * zero miscompares, zero errors, RSS flat in the second half (it grows by less than 8 MiB +
 * 5 % there), every host's IOPS within 2x of the mean.
 *
 * `deno task soak` runs 64 hosts for 600 s (`--hosts N --seconds S` to change);
 * bench/soak_test.ts runs 8 hosts for 20 s.
 *
 * @module
 */

import { connect, type HostController } from "@nvmf/host";
import "@nvmf/transport-tcp";
import { type PerfResult, runPerf } from "@nvmf/cli/perf";
import { startDaemon } from "./_daemon.ts";

const NQN = "nqn.2026-01.dev.nvmf:soak";
const BLOCK = 4096;

/** What {@linkcode runSoak} is asked. */
export interface SoakOptions {
  /** Hosts (associations). */
  hosts: number;
  /** Seconds of load. */
  seconds: number;
  /** I/O queues per host. Default 2. */
  ioQueues?: number;
  /** I/Os in flight per host. Default 32. */
  iodepth?: number;
  /** Bytes of the namespace each host uses. Default 4 MiB. */
  regionBytes?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What {@linkcode runSoak} measured. */
export interface SoakResult {
  /** Hosts run. */
  hosts: number;
  /** Seconds of load. */
  seconds: number;
  /** IOPS (reads + writes) of each host. */
  hostIops: number[];
  /** Mean of {@linkcode SoakResult.hostIops}. */
  meanIops: number;
  /** Lowest and highest host IOPS over the mean. */
  minOverMean: number;
  /** Highest host IOPS over the mean. */
  maxOverMean: number;
  /** Reads checked against their pattern, over all hosts. */
  verified: number;
  /** Miscompares. */
  miscompares: number;
  /** Errors (commands that failed, hosts that broke), with the first few messages. */
  errors: number;
  /** The first few error and miscompare messages. */
  problems: string[];
  /** The daemon's RSS once a second, bytes. */
  rss: number[];
  /** RSS at the start and end of the second half, and its largest rise there, bytes. */
  secondHalf: { first: number; last: number; max: number; min: number };
  /** The daemon's exit status after SIGTERM. */
  exitCode: number;
}

function rssOf(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs the soak.
 *
 * @param o Hosts, duration, shape.
 * @returns What was measured.
 */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const ioQueues = o.ioQueues ?? 2;
  const iodepth = o.iodepth ?? 32;
  const regionBytes = o.regionBytes ?? 4 << 20;
  const log = o.log ?? (() => {});
  const dir = await Deno.makeTempDir({ prefix: "nvmf-soak-" });
  const file = `${dir}/ns.img`;
  await Deno.writeFile(file, new Uint8Array(0));
  await Deno.truncate(file, o.hosts * regionBytes);
  const { child, port } = await startDaemon(file, NQN, BLOCK);
  const rss: number[] = [];
  const controllers: HostController[] = [];
  const problems: string[] = [];
  let errors = 0;
  let sampler: ReturnType<typeof setInterval> | undefined;
  try {
    for (let h = 0; h < o.hosts; h++) {
      controllers.push(
        await connect({
          transport: "tcp",
          address: { traddr: "127.0.0.1", trsvcid: String(port) },
          subnqn: NQN,
          hostnqn: `nqn.2014-08.org.nvmexpress:uuid:50a50a50-0000-4000-8000-${
            h.toString(16).padStart(12, "0")
          }`,
          ioQueues,
          queueSize: iodepth,
        }),
      );
    }
    sampler = setInterval(() => rss.push(rssOf(child.pid)), 1000);
    let last = 0;
    const results = await Promise.all(controllers.map(async (ctrl, h) => {
      const ns = await ctrl.namespace(1);
      const base = (h * regionBytes) / BLOCK;
      const device = {
        blockSize: ns.blockSize,
        read: (lba: number, into: Uint8Array) => ns.read(base + lba, into),
        write: (lba: number, data: Uint8Array) => ns.write(base + lba, data),
      };
      try {
        return await runPerf(device, {
          rw: "randrw",
          bs: BLOCK,
          iodepth,
          regionBytes,
          runtimeSec: o.seconds,
          verify: true,
          progress: h === 0
            ? (p) => {
              if (p.elapsedSec - last >= 10) {
                last = p.elapsedSec;
                log(
                  `${p.elapsedSec.toFixed(0)} s: host 0 at ${
                    ((p.readIos + p.writeIos) / p.elapsedSec).toFixed(0)
                  } IOPS; target RSS ${(rss.at(-1)! / 2 ** 20).toFixed(1)} MiB`,
                );
              }
            }
            : undefined,
        });
      } catch (e) {
        errors++;
        if (problems.length < 20) problems.push(`host ${h}: ${(e as Error).message}`);
        return undefined;
      }
    }));
    clearInterval(sampler);
    sampler = undefined;
    const done = results.filter((r): r is PerfResult => r !== undefined);
    const hostIops = done.map((r) => r.read.iops + r.write.iops);
    const meanIops = hostIops.reduce((a, b) => a + b, 0) / Math.max(hostIops.length, 1);
    let miscompares = 0;
    let verified = 0;
    for (const [h, r] of results.entries()) {
      if (r?.verify === undefined) continue;
      verified += r.verify.checked;
      if (r.verify.error !== null) {
        miscompares++;
        if (problems.length < 20) problems.push(`host ${h}: ${r.verify.error}`);
      }
    }
    const half = rss.slice(Math.floor(rss.length / 2));
    for (const ctrl of controllers) await ctrl.close().catch(() => {});
    controllers.length = 0;
    child.kill("SIGTERM");
    const status = await child.status;
    return {
      hosts: o.hosts,
      seconds: o.seconds,
      hostIops,
      meanIops,
      minOverMean: Math.min(...hostIops) / meanIops,
      maxOverMean: Math.max(...hostIops) / meanIops,
      verified,
      miscompares,
      errors,
      problems,
      rss,
      secondHalf: {
        first: half[0] ?? 0,
        last: half.at(-1) ?? 0,
        max: Math.max(...half),
        min: Math.min(...half),
      },
      exitCode: status.code,
    };
  } finally {
    if (sampler !== undefined) clearInterval(sampler);
    for (const ctrl of controllers) await ctrl.close().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch {
      // exited already
    }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Whether a soak passed: no miscompare, no error, RSS flat in the second half (a rise under
 * `rssRise`, by default 8 MiB + 5 %), every host within 2x of the mean IOPS.
 *
 * @param r The result.
 * @param rssRise The RSS rise over the second half allowed, in bytes; a short run passes a
 *   larger one (over ten seconds one garbage collector cycle moves RSS by tens of MiB).
 * @returns The failures, empty when it passed.
 */
export function soakFailures(r: SoakResult, rssRise?: number): string[] {
  const f: string[] = [];
  if (r.miscompares > 0) f.push(`${r.miscompares} miscompares`);
  if (r.errors > 0) f.push(`${r.errors} errors`);
  const rise = r.secondHalf.last - r.secondHalf.first;
  if (rise > (rssRise ?? (8 << 20) + r.secondHalf.first * 0.05)) {
    f.push(`RSS rose ${(rise / 2 ** 20).toFixed(1)} MiB in the second half`);
  }
  if (r.minOverMean < 0.5 || r.maxOverMean > 2) {
    f.push(`host IOPS from ${r.minOverMean.toFixed(2)} to ${r.maxOverMean.toFixed(2)} of the mean`);
  }
  if (r.exitCode !== 0) f.push(`the daemon exited with ${r.exitCode} after SIGTERM`);
  return f;
}

if (import.meta.main) {
  const arg = (name: string, fallback: number) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
  };
  const r = await runSoak({
    hosts: arg("--hosts", 64),
    seconds: arg("--seconds", 600),
    log: (line) => console.log(line),
  });
  const failures = soakFailures(r);
  const mib = (n: number) => Number((n / 2 ** 20).toFixed(1));
  console.log(JSON.stringify(
    {
      hosts: r.hosts,
      seconds: r.seconds,
      totalIops: Math.round(r.hostIops.reduce((a, b) => a + b, 0)),
      meanIops: Math.round(r.meanIops),
      minOverMean: Number(r.minOverMean.toFixed(3)),
      maxOverMean: Number(r.maxOverMean.toFixed(3)),
      verified: r.verified,
      miscompares: r.miscompares,
      errors: r.errors,
      problems: r.problems,
      rssMiB: { start: mib(r.rss[0] ?? 0), end: mib(r.rss.at(-1) ?? 0) },
      secondHalfMiB: {
        first: mib(r.secondHalf.first),
        last: mib(r.secondHalf.last),
        min: mib(r.secondHalf.min),
        max: mib(r.secondHalf.max),
      },
      exitCode: r.exitCode,
      failures,
    },
    null,
    2,
  ));
  Deno.exit(failures.length === 0 ? 0 : 1);
}

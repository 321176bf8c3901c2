/**
 * The kill test: our target daemon (`packages/cli/target.ts`, a subprocess) serves a file
 * namespace; our host (this process, `@nvmf/host` over TCP) writes random blocks, each
 * carrying its LBA and a generation followed by noise derived from both (as `nvmf perf
 * --verify` makes them, per block); at a random moment the daemon gets SIGKILL. It is started
 * again on the same file, every block is read back and judged:
 *
 * - lost: a block whose last acknowledged write is not there (an older generation, or zeroes);
 * - torn: a block that is neither all zero nor one whole pattern of its LBA (two writes mixed
 *   inside a block, or a foreign LBA);
 * - a block may hold the generation of a write that was in flight at the kill (never
 *   acknowledged): that is allowed, and from then on it is the block's generation.
 *
 * The last cycle ends with SIGTERM instead, which must exit 0 within the daemon's bound.
 * `deno task killtest` runs 100 cycles (`--cycles N` to change); bench/killtest_test.ts runs 5.
 *
 * @module
 */

import { connect, type HostController, type Namespace } from "@nvmf/host";
import "@nvmf/transport-tcp";
import { fillPattern } from "@nvmf/cli/perf";
import { startDaemon } from "./_daemon.ts";

const NQN = "nqn.2026-01.dev.nvmf:killtest";
const HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:1d2c3b4a-5968-4776-8594-a3b2c1d0e0f1";
const BLOCK = 4096;

/** What {@linkcode runKillTest} is asked. */
export interface KillTestOptions {
  /** Kill cycles (the last one a SIGTERM). */
  cycles: number;
  /** Blocks of the file (4 KiB each). Default 4096 (16 MiB). */
  blocks?: number;
  /** Writes in flight. Default 32. */
  iodepth?: number;
  /** Longest time of writing before the kill, ms (the kill comes at a random moment up to it). Default 800. */
  maxRunMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What {@linkcode runKillTest} found. */
export interface KillTestResult {
  /** Cycles run. */
  cycles: number;
  /** Writes acknowledged in all. */
  acknowledged: number;
  /** Writes in flight at a kill (never acknowledged). */
  unacknowledged: number;
  /** Of those, blocks found holding the unacknowledged generation after the restart. */
  unacknowledgedLanded: number;
  /** Blocks read back and judged, over all cycles. */
  blocksChecked: number;
  /** Blocks whose acknowledged write was missing. */
  lost: number;
  /** Blocks torn or foreign. */
  torn: number;
  /** The first few problems, for a person. */
  problems: string[];
  /** Exit status of the daemon after the final SIGTERM, and how long it took, ms. */
  sigterm: { code: number; ms: number };
}

async function hostOf(port: number): Promise<HostController> {
  return await connect({
    transport: "tcp",
    address: { traddr: "127.0.0.1", trsvcid: String(port) },
    subnqn: NQN,
    hostnqn: HOSTNQN,
    ioQueues: 2,
    queueSize: 64,
    // A kill ends the association: in-flight writes fail (unacknowledged), none is retried.
    ctrlLossTimeout: 0,
    maxRetries: 0,
  });
}

/**
 * Runs the kill test.
 *
 * @param o Cycles and sizes.
 * @returns What was found.
 */
export async function runKillTest(o: KillTestOptions): Promise<KillTestResult> {
  const blocks = o.blocks ?? 4096;
  const iodepth = o.iodepth ?? 32;
  const maxRunMs = o.maxRunMs ?? 800;
  const log = o.log ?? (() => {});
  const dir = await Deno.makeTempDir({ prefix: "nvmf-killtest-" });
  const file = `${dir}/ns.img`;
  await Deno.writeFile(file, new Uint8Array(blocks * BLOCK));
  const acked = new Uint32Array(blocks); // generation last acknowledged (0: never written)
  const inflight = new Uint32Array(blocks); // generation written, not acknowledged, 0: none
  const busy = new Uint8Array(blocks);
  let nextGen = 1;
  const result: KillTestResult = {
    cycles: 0,
    acknowledged: 0,
    unacknowledged: 0,
    unacknowledgedLanded: 0,
    blocksChecked: 0,
    lost: 0,
    torn: 0,
    problems: [],
    sigterm: { code: -1, ms: 0 },
  };
  const problem = (text: string) => {
    if (result.problems.length < 20) result.problems.push(text);
  };
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };

  const check = async (ns: Namespace) => {
    const expected = new Uint8Array(BLOCK);
    for (let lba = 0; lba < blocks; lba += 64) {
      const n = Math.min(64, blocks - lba);
      const data = await ns.read(lba, n);
      for (let i = 0; i < n; i++) {
        const b = lba + i;
        const got = data.subarray(i * BLOCK, (i + 1) * BLOCK);
        const v = new DataView(got.buffer, got.byteOffset, BLOCK);
        const gen = v.getUint32(4, true);
        result.blocksChecked++;
        if (got.every((x) => x === 0)) {
          if (acked[b] !== 0) {
            result.lost++;
            problem(`block ${b}: zeroes, generation ${acked[b]} was acknowledged`);
          }
          continue;
        }
        fillPattern(expected, b, gen);
        if (v.getUint32(0, true) !== b || !got.every((x, j) => x === expected[j])) {
          result.torn++;
          problem(
            `block ${b}: not one whole pattern (header LBA ${v.getUint32(0, true)}, gen ${gen})`,
          );
          continue;
        }
        if (gen === acked[b]) continue;
        if (gen !== 0 && gen === inflight[b]) {
          result.unacknowledgedLanded++;
          acked[b] = gen;
          continue;
        }
        result.lost++;
        problem(`block ${b}: generation ${gen}, ${acked[b]} was acknowledged`);
      }
    }
    inflight.fill(0);
  };

  try {
    for (let cycle = 1; cycle <= o.cycles; cycle++) {
      const last = cycle === o.cycles;
      const daemon = await startDaemon(file, NQN, BLOCK);
      const ctrl = await hostOf(daemon.port);
      const ns = await ctrl.namespace(1);
      await check(ns);
      let stop = false;
      let acks = 0;
      const worker = async () => {
        const buf = new Uint8Array(4 * BLOCK);
        while (!stop) {
          const n = 1 + Math.floor(rand() * 4);
          const lba = Math.floor(rand() * (blocks - n));
          let free = true;
          for (let i = 0; i < n; i++) if (busy[lba + i]) free = false;
          if (!free) {
            await Promise.resolve();
            continue;
          }
          const gen = nextGen++;
          for (let i = 0; i < n; i++) {
            busy[lba + i] = 1;
            inflight[lba + i] = gen;
            fillPattern(buf.subarray(i * BLOCK, (i + 1) * BLOCK), lba + i, gen);
          }
          try {
            await ns.write(lba, buf.subarray(0, n * BLOCK));
          } catch {
            // Not acknowledged: it stays in flight, and this worker stops.
            result.unacknowledged++;
            for (let i = 0; i < n; i++) busy[lba + i] = 0;
            return;
          }
          for (let i = 0; i < n; i++) {
            busy[lba + i] = 0;
            inflight[lba + i] = 0;
            acked[lba + i] = gen;
          }
          acks++;
        }
      };
      const workers = Array.from({ length: iodepth }, worker);
      await new Promise((r) => setTimeout(r, 50 + rand() * maxRunMs));
      const t0 = performance.now();
      daemon.child.kill(last ? "SIGTERM" : "SIGKILL");
      const status = await daemon.child.status;
      const ms = performance.now() - t0;
      stop = true;
      await Promise.all(workers);
      await ctrl.close().catch(() => {});
      result.acknowledged += acks;
      result.cycles++;
      if (last) result.sigterm = { code: status.code, ms };
      log(
        `cycle ${cycle}: ${acks} writes acknowledged, ${
          last ? `SIGTERM: exit ${status.code} in ${ms.toFixed(0)} ms` : "SIGKILL"
        }; lost ${result.lost}, torn ${result.torn} so far`,
      );
    }
    // A last start on the file: everything acknowledged must be there.
    const daemon = await startDaemon(file, NQN, BLOCK);
    const ctrl = await hostOf(daemon.port);
    await check(await ctrl.namespace(1));
    await ctrl.close();
    daemon.child.kill("SIGTERM");
    await daemon.child.status;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return result;
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--cycles");
  const cycles = i >= 0 ? Number(Deno.args[i + 1]) : 100;
  const t0 = performance.now();
  const r = await runKillTest({ cycles, log: (line) => console.log(line) });
  console.log(JSON.stringify({ ...r, seconds: (performance.now() - t0) / 1000 }, null, 2));
  Deno.exit(r.lost === 0 && r.torn === 0 && r.sigterm.code === 0 ? 0 : 1);
}

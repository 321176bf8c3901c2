/**
 * Runs one transport case alone, for profiling:
 *
 * ```sh
 * deno run -A --cpu-prof --cpu-prof-dir=/tmp/prof bench/case.ts tcp randread 4096 32
 * deno run -A bench/profile.ts /tmp/prof/*.cpuprofile 30
 * ```
 *
 * Usage: `deno run -A bench/case.ts tcp|loopback|nvmf-tcp|nvmf-loopback PATTERN BLOCK_SIZE QD
 * [QUEUES] [digests] [await] [sqflow-off] [--seconds S] [--span BYTES]` — `nvmf-*` runs
 * `@nvmf/host` against `@nvmf/controller` (see `e2e.ts`), the others the transport alone (see
 * `transport.ts`). `--span` limits the offsets to the first BYTES of the 64 MiB disk (a hot,
 * cache-resident working set when small). Prints IOPS, GB/s, p50/p99 latency and the process
 * CPU time per operation (user + system), the steadier figure on a shared machine.
 *
 * @module
 */

import { type Measurement, type Pattern, workloadName } from "./_workload.ts";
import { fillDevice, loadNvmfStack, perfFlags, runBlockWorkload } from "./e2e.ts";
import { benchTransport, type TransportCase, transportCaseName } from "./transport.ts";

function option(name: string): number | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : undefined;
}
const seconds = option("--seconds") ?? 3;
const optionAt = ["--seconds", "--span"].map((o) => Deno.args.indexOf(o)).filter((i) => i >= 0);
const args = Deno.args.filter((_, i) => !optionAt.some((at) => i === at || i === at + 1));
const [transport = "tcp", pattern = "randread", bs = "4096", qd = "32", queues = "1"] = args;
const c: TransportCase = {
  transport: transport.endsWith("loopback") ? "loopback" : "tcp",
  pattern: pattern as Pattern,
  blockSize: Number(bs),
  qd: Number(qd),
  queues: Number(queues) || 1,
  digests: args.includes("digests"),
  serve: args.includes("await") ? "await" : "eager",
  sqFlowControl: !args.includes("sqflow-off"),
};
const timing = { warmup: 0.3, seconds };
let m: Measurement;
let name: string;
let perf = "";
if (transport.startsWith("nvmf-")) {
  const stack = await loadNvmfStack();
  if (typeof stack === "string") throw new Error(`Cannot run ${transport}: ${stack}`);
  const o = {
    transport: c.transport,
    digests: c.digests,
    queues: c.queues,
    queueSize: 128,
    size: 64 * 1024 * 1024,
  };
  const served = await stack.serve(o);
  const host = await stack.connect(served, o);
  await fillDevice(host.device, o.size);
  m = await runBlockWorkload(host.device, c, timing, option("--span") ?? o.size);
  await host.close();
  await served.close();
  name = `${transport} ${workloadName(c)}`;
  perf = perfFlags(c, timing, option("--span") ?? o.size).join(" ");
} else {
  m = await benchTransport(c, timing, option("--span"));
  name = transportCaseName(c);
}
// The same workload by hand: `deno task nvmf perf` with these flags runs the same engine.
if (perf !== "") console.log(`same as: nvmf perf ${perf}`);
console.log(
  `${name}: ${Math.round(m.opsPerSec)} IOPS ${m.gbPerSec.toFixed(2)} GB/s ` +
    `p50 ${m.p50Us.toFixed(1)} us p99 ${m.p99Us.toFixed(1)} us cpu ${
      m.cpuUsPerOp.toFixed(2)
    } us/op`,
);

/**
 * Runs one transport case alone, for profiling:
 *
 * ```sh
 * deno run -A --cpu-prof --cpu-prof-dir=/tmp/prof bench/case.ts tcp randread 4096 32
 * deno run -A bench/profile.ts /tmp/prof/*.cpuprofile 30
 * ```
 *
 * Usage: `deno run -A bench/case.ts tcp|loopback|nvmf-tcp|nvmf-loopback PATTERN BLOCK_SIZE QD
 * [QUEUES] [digests] [await] [sqflow-off] [--seconds S]` — `nvmf-*` runs `@nvmf/host` against
 * `@nvmf/controller` (see `e2e.ts`), the others the transport alone (see `transport.ts`).
 *
 * @module
 */

import { type Measurement, type Pattern, workloadName } from "./_workload.ts";
import { fillDevice, loadNvmfStack, runBlockWorkload } from "./e2e.ts";
import { benchTransport, type TransportCase, transportCaseName } from "./transport.ts";

const at = Deno.args.indexOf("--seconds");
const seconds = at >= 0 ? Number(Deno.args[at + 1]) : 3;
const args = Deno.args.filter((_, i) => at < 0 || (i !== at && i !== at + 1));
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
  m = await runBlockWorkload(host.device, c, timing, o.size);
  await host.close();
  await served.close();
  name = `${transport} ${workloadName(c)}`;
} else {
  m = await benchTransport(c, timing);
  name = transportCaseName(c);
}
console.log(
  `${name}: ${Math.round(m.opsPerSec)} IOPS ${m.gbPerSec.toFixed(2)} GB/s ` +
    `p50 ${m.p50Us.toFixed(1)} us p99 ${m.p99Us.toFixed(1)} us`,
);

/**
 * A target in its own process, so that its memory can be measured alone: the bench server of
 * `transport.ts` (`--stack transport`) or our `Target` with a RAM namespace (`--stack nvmf`),
 * on 127.0.0.1. Prints one JSON line `{"ready": {...}}` with where to connect, then
 * `{"rss": BYTES, "heap": BYTES, "heapTotal": BYTES, "external": BYTES}` (`Deno.memoryUsage()`)
 * every 250 ms; exits when its standard input closes.
 *
 * Usage: `deno run -A bench/serve_child.ts --stack transport|nvmf [--size BYTES]` (the RAM
 * namespace, or the bench server's disk; default 64 MiB)
 *
 * @module
 */

import { Association } from "@nvmf/transport";
import { tcp } from "@nvmf/transport-tcp";
import { loadNvmfStack } from "./e2e.ts";
import { DISK_SIZE, IO_ICD, serveQueue } from "./transport.ts";

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

const stack = arg("--stack", "transport");
const size = Number(arg("--size", String(DISK_SIZE)));
let close: () => Promise<void>;
let ready: Record<string, unknown>;

if (stack === "transport") {
  const na = new Association(tcp, true, { maxIoQsize: 1024, ioInCapsuleData: IO_ICD });
  const listener = await tcp.listen(na, { traddr: "127.0.0.1", trsvcid: "0" });
  // A disk of its own, of the size asked for, every page touched (as the nvmf target's RAM
  // namespace is once the host has written it).
  const disk = new Uint8Array(size);
  for (let i = 0; i < size; i += 512) disk[i] = i >>> 9;
  let qid = 0;
  const loop = (async () => {
    for (;;) {
      let qp;
      try {
        qp = await listener.accept();
      } catch {
        return;
      }
      qp.setConnected({ qid: ++qid, qsize: 1024, sqFlowControl: true });
      serveQueue(qp, disk);
    }
  })();
  ready = { address: listener.address };
  close = async () => {
    await listener.close();
    await loop;
  };
} else {
  const nvmf = await loadNvmfStack();
  if (typeof nvmf === "string") {
    console.log(JSON.stringify({ error: nvmf }));
    Deno.exit(1);
  }
  const served = await nvmf.serve({
    transport: "tcp",
    digests: false,
    queues: 1,
    queueSize: 128,
    size,
  });
  ready = { address: served.address, subnqn: served.subnqn };
  close = served.close;
}

console.log(JSON.stringify({ ready }));
const timer = setInterval(() => {
  const m = Deno.memoryUsage();
  console.log(
    JSON.stringify({
      rss: m.rss,
      heap: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
    }),
  );
}, 250);
// Exit when the parent closes our standard input.
const sink = new Uint8Array(64);
while ((await Deno.stdin.read(sink)) !== null) { /* ignore */ }
clearInterval(timer);
await close();
Deno.exit(0);

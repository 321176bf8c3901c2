/**
 * Private test helper, run as a child process: opens COUNT idle TCP connections to
 * 127.0.0.1:PORT (they send nothing), prints `ready N` once all are connected, and holds them
 * until its standard input closes. A child of its own, so that the target's process spends
 * its descriptors on its own ends only.
 *
 * @example Usage
 * ```ts ignore
 * // deno run -A packages/controller/_idle_sockets.ts 4420 10000
 * ```
 *
 * @module
 */

import * as net from "node:net";
import process from "node:process";

const [port, count] = process.argv.slice(2).map(Number);
const sockets: net.Socket[] = [];
function open(): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.on("error", () => {});
    s.once("connect", () => resolve());
    s.once("close", () => resolve());
    sockets.push(s);
  });
}
for (let i = 0; i < count; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, count - i) }, open));
}
process.stdout.write(`ready ${sockets.length}\n`);
process.stdin.on("data", () => {});
process.stdin.on("end", () => {
  for (const s of sockets) s.destroy();
  process.exit(0);
});
process.stdin.resume();

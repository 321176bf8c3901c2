/**
 * The raw ceiling between two processes (`two_process.ts`), on any runtime: the socket layer is
 * `dial`/`listen` of `@nvmf/transport-tcp/stream` (Deno's own sockets on Deno, `node:net` on Bun
 * and Node), so `deno run -A` and `bun run` of this file measure each runtime's own ceiling.
 *
 * - `serve rr QD` / `serve pump`: listens on 127.0.0.1, prints one JSON line `{"port": N}`, then
 *   serves every connection it accepts — `rr` answers 72-byte requests with 4,144-byte replies
 *   (`serveRequests` of `raw.ts`), `pump` writes 128 KiB chunks back to back (`pumpWrite`) —
 *   until its standard input closes.
 * - `drive rr QD PORT WARMUP SECONDS` / `drive pump PORT WARMUP SECONDS`: the other end against a
 *   server on PORT (`driveRequests`, `pumpRead`); prints the result as one JSON line and exits.
 *
 * @module
 */

import process from "node:process";
import { dial, listen } from "@nvmf/transport-tcp/stream";
import { driveRequests, fromStream, pumpRead, pumpWrite, serveRequests } from "./raw.ts";

const args = process.argv.slice(2);
const [role = "serve", mode = "rr"] = args;
const rest = mode === "rr" ? args.slice(3) : args.slice(2);
const qd = mode === "rr" ? Number(args[2] ?? 32) : 0;

if (role === "drive") {
  const [port, warmup, seconds] = rest.map(Number);
  const conn = fromStream(await dial("127.0.0.1", port));
  const timing = { warmup, seconds };
  const result = mode === "pump"
    ? await pumpRead(conn, timing)
    : await driveRequests(conn, qd, timing);
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
} else {
  const listener = await listen("127.0.0.1", 0);
  process.stdout.write(JSON.stringify({ port: listener.local.port }) + "\n");
  (async () => {
    for (;;) {
      const c = fromStream(await listener.accept());
      if (mode === "pump") pumpWrite(c).finally(() => c.close());
      else serveRequests(c, qd).finally(() => c.close());
    }
  })().catch(() => {});
  process.stdin.resume();
  process.stdin.on("end", () => {
    listener.close();
    process.exit(0);
  });
}

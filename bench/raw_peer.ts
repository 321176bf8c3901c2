/**
 * The far end of the two-process raw ceiling (`two_process.ts`): listens on 127.0.0.1, prints
 * one JSON line `{"port": N}`, then serves every connection it accepts — `rr QD` answers 72-byte
 * requests with 4,144-byte replies (`serveRequests` of `raw.ts`), `pump` writes 128 KiB chunks
 * back to back (`pumpWrite`) — until its standard input closes.
 *
 * Usage: `deno run -A bench/raw_peer.ts rr 32 | pump`
 *
 * @module
 */

import { fromDeno, pumpWrite, serveRequests } from "./raw.ts";

const [mode = "rr", qdArg = "32"] = Deno.args;
const qd = Number(qdArg);
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" });
console.log(JSON.stringify({ port: listener.addr.port }));
(async () => {
  for await (const conn of listener) {
    const c = fromDeno(conn);
    if (mode === "pump") pumpWrite(c).finally(() => c.close());
    else serveRequests(c, qd).finally(() => c.close());
  }
})().catch(() => {});
const sink = new Uint8Array(64);
while ((await Deno.stdin.read(sink)) !== null) { /* ignore */ }
listener.close();
Deno.exit(0);

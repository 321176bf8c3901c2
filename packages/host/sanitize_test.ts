// Deno's op and resource sanitizers over a whole host/controller lifetime: connect (keep-alive
// and AER armed), I/O on two queues, orderly shutdown — over loopback and over NVMe/TCP. No
// timer, socket or pending op may be left. Under Bun this file defines nothing.
import assert from "node:assert/strict";
import { RamBackend, Target } from "@nvmf/controller";
import "@nvmf/transport-loopback";
import "@nvmf/transport-tcp";
import { connect } from "./mod.ts";

// deno-lint-ignore no-explicit-any
const deno = (globalThis as any).Deno;

for (const transport of ["loopback", "tcp"]) {
  deno?.test({
    name: `host and controller over ${transport}: a whole lifetime leaves nothing behind`,
    sanitizeOps: true,
    sanitizeResources: true,
    sanitizeExit: true,
    async fn() {
      const target = new Target();
      target.addSubsystem({
        nqn: "nqn.2026-01.test:sanitize",
        namespaces: [{ backend: new RamBackend({ size: 8n << 20n }) }],
      });
      const address = transport === "tcp"
        ? { traddr: "127.0.0.1", trsvcid: "0" }
        : { traddr: "sanitize" };
      const port = await target.listen(transport, address);
      const ctrl = await connect({
        transport,
        address: port.address,
        subnqn: "nqn.2026-01.test:sanitize",
        ioQueues: 2,
        kato: 2000,
      });
      const ns = await ctrl.namespace(1);
      const data = new Uint8Array(64 * 1024).fill(0x5a);
      await Promise.all([ns.write(0, data), ns.write(256, data)]);
      assert.deepEqual(await ns.read(256, 128), data);
      await ctrl.close();
      await target.close();
    },
  });
}

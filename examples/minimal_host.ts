/**
 * A minimal NVMe over Fabrics host: connect, identify, write a block, read it back, disconnect.
 *
 * ```sh
 * deno task target &                 # or examples/minimal_target.ts, or a Linux nvmet target
 * deno run -A examples/minimal_host.ts 127.0.0.1 4420 nqn.2026-01.dev.nvmf:target
 * ```
 *
 * `connect()` does what `nvme connect` does: it opens the admin queue (a TCP connection and the
 * Fabrics Connect command), reads CAP, enables the controller, identifies it and sets up the
 * I/O queues. A `Namespace` then reads and writes by LBA in whole blocks. The host names
 * itself with a host NQN; a real host keeps the same one across runs (nvme-cli reads
 * `/etc/nvme/hostnqn`), this example makes one up. Its test runs it against a target in the
 * same process over the loopback transport, which is how to test code that uses `@nvmf/host`.
 *
 * @module
 */

import process from "node:process";
import { connect, type ConnectOptions } from "@nvmf/host";
import { generateHostId, hostNqnFromId } from "@nvmf/proto";
import "@nvmf/transport-tcp";

/**
 * Connects to a subsystem, identifies the controller and namespace 1, writes one block at LBA 0,
 * reads it back and disconnects.
 *
 * @param where The transport, address and subsystem NQN.
 * @param print Where each line goes.
 * @returns Whether the block read back equals the block written.
 * @example Usage
 * ```ts
 * import { runHost } from "./minimal_host.ts";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 * const target = new Target();
 * target.addSubsystem({
 *   nqn: "nqn.2026-01.example:doc",
 *   namespaces: [{ backend: new RamBackend({ size: 1n << 20n }) }],
 *   allowAnyHost: true,
 * });
 * await target.listen("loopback", { traddr: "minimal-host-doc" });
 * const where = { transport: "loopback", address: { traddr: "minimal-host-doc" } };
 * assert.equal(await runHost({ ...where, subnqn: "nqn.2026-01.example:doc" }, () => {}), true);
 * await target.close();
 * ```
 */
export async function runHost(
  where: Pick<ConnectOptions, "transport" | "address" | "subnqn">,
  print: (line: string) => void = console.log,
): Promise<boolean> {
  const ctrl = await connect({ ...where, hostnqn: hostNqnFromId(generateHostId()) });
  try {
    const id = ctrl.cdata; // Identify Controller, read during connect()
    print(`controller ${ctrl.cntlid}: model "${id.mn}", serial "${id.sn}", firmware "${id.fr}"`);
    const ns = await ctrl.namespace(1); // Identify Namespace 1
    print(`namespace 1: ${ns.blocks} blocks of ${ns.blockSize} bytes`);

    const block = new Uint8Array(ns.blockSize);
    for (let i = 0; i < block.length; i++) block[i] = i & 0xff;
    await ns.write(0, block); // LBA 0, one block
    const back = await ns.read(0, 1); // LBA 0, one block
    const same = back.every((b, i) => b === block[i]);
    print(`wrote LBA 0 and read it back: ${same ? "same" : "DIFFERENT"}`);
    return same;
  } finally {
    await ctrl.close(); // shuts the controller down (CC.SHN), then disconnects
  }
}

if (import.meta.main) {
  const [traddr, trsvcid, subnqn] = process.argv.slice(2);
  if (subnqn === undefined) {
    console.error("Usage: deno run -A examples/minimal_host.ts ADDR PORT SUBNQN");
    process.exit(2);
  }
  const ok = await runHost({ transport: "tcp", address: { traddr, trsvcid }, subnqn });
  process.exitCode = ok ? 0 : 1;
}

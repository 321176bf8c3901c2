/**
 * A minimal NVMe/TCP target: one subsystem with one RAM namespace, listening on 127.0.0.1.
 *
 * ```sh
 * deno run -A examples/minimal_target.ts 4420     # then, from Linux:
 * sudo nvme connect -t tcp -a 127.0.0.1 -s 4420 -n nqn.2026-01.dev.nvmf.example:minimal
 * ```
 *
 * Three steps make a target: a `Target` (it owns subsystems, ports and controllers), a subsystem
 * (an NQN plus namespaces, each a backend: RAM here, a file or block device with `FileBackend`),
 * and a port (a transport listening on an address; importing `@nvmf/transport-tcp` registers the
 * `"tcp"` transport). Every port also serves a discovery controller. Hosts that connect get a
 * controller each; closing the target shuts them down. The daemon with every option is
 * `@nvmf/cli/target` (`deno task target`).
 *
 * @module
 */

import process from "node:process";
import { RamBackend, Target } from "@nvmf/controller";
import "@nvmf/transport-tcp";

/** The subsystem this example serves. */
export const SUBNQN = "nqn.2026-01.dev.nvmf.example:minimal";

/** A running {@linkcode startTarget}. */
export interface MinimalTarget {
  /** The TCP port listened on (the one picked when asked for port 0). */
  port: number;
  /** Shuts the controllers down, closes the port. */
  close(): Promise<void>;
}

/**
 * Serves a 64 MiB RAM namespace on 127.0.0.1:`port` and prints how to connect.
 *
 * @param port The TCP port; 0 picks a free one.
 * @param print Where the connect line goes.
 * @returns The running target.
 * @example Usage
 * ```ts
 * import { startTarget } from "./minimal_target.ts";
 * import assert from "node:assert/strict";
 * const t = await startTarget(0, () => {});
 * assert.ok(t.port > 0);
 * await t.close();
 * ```
 */
export async function startTarget(
  port: number,
  print: (line: string) => void = console.log,
): Promise<MinimalTarget> {
  const target = new Target();
  target.addSubsystem({
    nqn: SUBNQN,
    namespaces: [{ backend: new RamBackend({ size: 64n << 20n, blockSize: 512 }) }],
    allowAnyHost: true, // no host NQN list: anyone who can reach the port may connect
  });
  const listening = await target.listen("tcp", { traddr: "127.0.0.1", trsvcid: String(port) });
  const actual = Number(listening.address.trsvcid);
  print(`nvme connect -t tcp -a 127.0.0.1 -s ${actual} -n ${SUBNQN}`);
  return { port: actual, close: () => target.close() };
}

if (import.meta.main) {
  const stop = new Promise((resolve) => process.once("SIGINT", resolve)); // Ctrl-C
  const target = await startTarget(Number(process.argv[2] ?? "4420"));
  await stop;
  await target.close();
  console.log("stopped");
}

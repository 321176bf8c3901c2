/**
 * The shortest path to "it works": our NVMe over Fabrics host and our controller in one
 * process, talking over the in-memory loopback transport — no network, no kernel, no root.
 *
 * ```sh
 * deno task demo            # deno run -A examples/loopback.ts
 * ```
 *
 * It creates a subsystem with a 16 MiB RAM namespace, connects a host to it (Connect, CAP, CC.EN,
 * Identify, I/O queues), identifies the controller and the namespace, writes 64 KiB, reads them
 * back and compares, and prints each step. Copy {@linkcode runDemo} into a test of your own:
 * it is the pattern for testing code that uses `@nvmf/host` without a real target.
 *
 * @module
 */

import process from "node:process";
import { RamBackend, Target } from "@nvmf/controller";
import { connect } from "@nvmf/host";
import "@nvmf/transport-loopback";

/** What {@linkcode runDemo} found. */
export interface DemoResult {
  /** The model number the controller reported. */
  model: string;
  /** Block size of namespace 1. */
  blockSize: number;
  /** Its capacity in blocks. */
  blocks: number;
  /** Bytes written and read back. */
  bytes: number;
  /** Whether the data read back equals the data written (and the controller's Compare agreed). */
  matched: boolean;
}

/**
 * Runs the demo: target, host, identify, write, read back, compare.
 *
 * @param print Where each line goes (console.log unless given).
 * @param traddr The loopback address to use.
 * @returns What happened.
 * @example Usage
 * ```ts
 * import { runDemo } from "./loopback.ts";
 * import assert from "node:assert/strict";
 * const result = await runDemo(() => {}, "demo-doc");
 * assert.equal(result.matched, true);
 * ```
 */
export async function runDemo(
  print: (line: string) => void = console.log,
  traddr = "demo",
): Promise<DemoResult> {
  const subnqn = "nqn.2026-01.io.nvmf.demo:ram0";

  // The controller side: one subsystem, one 16 MiB namespace of 512-byte blocks in RAM.
  const target = new Target();
  target.addSubsystem({
    nqn: subnqn,
    namespaces: [{ backend: new RamBackend({ size: 16n << 20n, blockSize: 512 }) }],
    allowAnyHost: true,
  });
  const port = await target.listen("loopback", { traddr });
  print(`controller: subsystem ${subnqn}, 16 MiB RAM namespace, on loopback "${traddr}"`);

  try {
    // The host side: Connect, CAP/VS, CC.EN, Identify Controller, I/O queues, keep-alive.
    const ctrl = await connect({
      transport: "loopback",
      address: { traddr },
      subnqn,
      ioQueues: 2,
    });
    try {
      const id = ctrl.cdata;
      print(
        `host: connected as ${ctrl.hostnqn}\n` +
          `      controller ${ctrl.cntlid}, NVMe ${ctrl.vs.major}.${ctrl.vs.minor}, ` +
          `${ctrl.ioQueueCount} I/O queues of ${ctrl.ioQueueSize} entries`,
      );
      print(
        `identify controller: model "${id.mn}", serial "${id.sn}", firmware "${id.fr}", ` +
          `largest transfer ${ctrl.maxTransferSize / 1024} KiB`,
      );
      const nsids = await ctrl.activeNamespaces();
      const ns = await ctrl.namespace(nsids[0]);
      print(
        `identify namespace ${ns.nsid}: ${ns.blocks} blocks of ${ns.blockSize} bytes ` +
          `(${ns.size / 2 ** 20} MiB)`,
      );

      const data = new Uint8Array(64 * 1024);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
      const lba = 2048;
      await ns.write(lba, data);
      print(`write: ${data.length} bytes at LBA ${lba}`);
      const back = await ns.read(lba, data.length / ns.blockSize);
      const same = back.length === data.length && back.every((b, i) => b === data[i]);
      print(`read back: ${back.length} bytes, ${same ? "identical" : "DIFFERENT"}`);
      const compared = await ns.compare(lba, data);
      print(`compare (controller side): ${compared ? "match" : "MISCOMPARE"}`);
      await ns.flush();
      print("flush: done");
      return {
        model: id.mn,
        blockSize: ns.blockSize,
        blocks: ns.blocks,
        bytes: data.length,
        matched: same && compared,
      };
    } finally {
      await ctrl.close(); // CC.SHN, CSTS.SHST, then the queue pairs close
      print("host: shut down and disconnected");
    }
  } finally {
    await port.close();
    await target.close();
  }
}

if (import.meta.main) {
  const result = await runDemo();
  console.log(result.matched ? "it works" : "it does NOT work");
  process.exitCode = result.matched ? 0 : 1;
}

/**
 * `@nvmf/cli`: the command line tools of nvmf, each a thin layer over the public API of the
 * other packages, in the way nvme-cli and nvmetcli sit beside Linux's NVMe drivers.
 *
 * - `nvmf` (this module): an NVMe over Fabrics host on the command line, in nvme-cli's style:
 *   discover, list, list-subsys, id-ctrl, id-ns, get-log, get-feature, read, write, flush,
 *   compare, resv-register/acquire/release/report, gen-dhchap-key, check-dhchap-key, and perf
 *   (fio's workload names). {@linkcode main} runs it.
 * - `@nvmf/cli/target`: the target daemon, a controller serving RAM, file or block device
 *   namespaces over NVMe/TCP, configured by flags, our JSON, nvmetcli's JSON or SPDK's
 *   save_config; `--rpc` serves SPDK-compatible JSON-RPC (`@nvmf/cli/rpc-server`,
 *   `@nvmf/cli/rpc-methods`, `@nvmf/cli/rpc-keyring`; `@nvmf/cli/rpc` is the client behind
 *   `deno task rpc`), `--metrics` Prometheus text (`@nvmf/cli/metrics`), `--log-format json`
 *   JSON log lines (`@nvmf/cli/log`).
 * - `@nvmf/cli/perf`: the perf engine of `nvmf perf`, which the benchmark suite measures with.
 * - `@nvmf/cli/dump`: prints each NVMe/TCP PDU of a captured byte stream.
 *
 * The daemon and `nvmf` use the CPU's CRC32 instruction for NVMe/TCP digests when the native
 * `@node-rs/crc32` loads (permissions granted, e.g. `-A`), else the portable TypeScript one.
 *
 * ```sh
 * deno install -g -A -n nvmf jsr:@nvmf/cli
 * deno install -g -A -n nvmf-target jsr:@nvmf/cli/target
 * nvmf-target --ram 1G --listen 127.0.0.1:4420 &
 * nvmf discover -t tcp -a 127.0.0.1
 * nvmf perf -t tcp -a 127.0.0.1 -n nqn.2026-01.dev.nvmf:target --rw randread --runtime 10
 * ```
 *
 * From a checkout, `deno task nvmf help` and `deno task target --help` run the same tools.
 * `nvmf` exits with 0 on success, 1 when the operation failed (the message names the cause:
 * connection refused, a TermReq and its FES, an NVMe status), 2 for a usage error.
 *
 * @example Usage
 * ```ts
 * import { main } from "@nvmf/cli";
 * import assert from "node:assert/strict";
 *
 * let out = "";
 * const io = { stdout: (text: string) => out += text, stderr: (text: string) => out += text };
 * assert.equal(await main(["help", "perf"], io), 0);
 * assert.match(out, /--rw/);
 * assert.equal(await main(["no-such-command"], io), 2);
 * ```
 *
 * @module
 */

import process from "node:process";
import { main } from "./nvmf.ts";
import { useFastCrc32c } from "./fast_crc32c.ts";

export { type CliIo, describeError, main, parseSize } from "./nvmf.ts";

if (import.meta.main) {
  // The CPU's CRC32 instruction for digests when the native addon loads (fast_crc32c.ts).
  await useFastCrc32c();
  process.exitCode = await main(process.argv.slice(2));
}

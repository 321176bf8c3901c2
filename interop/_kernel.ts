/**
 * Boots and stops the real Linux kernel NVMe/TCP target and host from `../shared/interop`
 * (qemu, software emulation) for the interop suites. Only 127.0.0.1 is ever used.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { createServer } from "node:net";

/** Where the shared interop scripts live, beside this repository. */
export const INTEROP_DIR: string = new URL("../../shared/interop/", import.meta.url).pathname;

/** The subsystem NQN the kernel target serves by default. */
export const KERNEL_TARGET_NQN = "nqn.2026-01.test:kernel-target";

/** Runs a command, collecting its output; rejects on a non-zero exit. */
export function run(
  command: string,
  args: string[],
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Uint8Array) => stdout += new TextDecoder().decode(d));
    child.stderr.on("data", (d: Uint8Array) => stderr += new TextDecoder().decode(d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 600_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A running kernel target. */
export interface KernelTarget {
  /** Its port on 127.0.0.1. */
  port: number;
  /** Stops the guest. */
  stop(): Promise<void>;
}

/**
 * Boots the Linux kernel target (nvmet-tcp, a 256 MiB null_blk namespace, 512-byte LBAs).
 *
 * @param extraArgs More `run-target.sh` flags, e.g. `["--allow-host", nqn]`.
 */
export async function startKernelTarget(extraArgs: string[] = []): Promise<KernelTarget> {
  const port = await freePort();
  const r = await run(`${INTEROP_DIR}run-target.sh`, ["--port", String(port), ...extraArgs], {
    timeoutMs: 120_000,
  });
  const pid = r.stdout.trim();
  if (r.code !== 0 || !/^\d+$/.test(pid)) {
    throw new Error(`Cannot boot the kernel target (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  }
  return {
    port,
    stop: async () => {
      await run(`${INTEROP_DIR}stop.sh`, [pid], { timeoutMs: 30_000 });
    },
  };
}

/**
 * Boots and stops the real Linux kernel NVMe/TCP target and host from `../shared/interop`
 * (qemu, software emulation) for the interop suites. Only 127.0.0.1 is ever used.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Where the shared interop scripts live, beside this repository. */
export const INTEROP_DIR: string = new URL("../../shared/interop/", import.meta.url).pathname;

/** The subsystem NQN the kernel target serves by default. */
export const KERNEL_TARGET_NQN = "nqn.2026-01.test:kernel-target";

/** What a command printed and how it ended. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Whether a failed interop run died because its guest kernel crashed before the job ran: under
 * qemu's software emulation Linux 6.12 sometimes oopses while it boots (seen: `int3` in
 * `sched_clock_cpu` at 2 s, "Kernel panic - not syncing"), which says nothing about our code.
 */
export function guestCrashedBooting(r: RunResult): boolean {
  if (r.code === 0) return false;
  const dir = /run dir: (\S+)/.exec(r.stdout + r.stderr)?.[1];
  if (dir === undefined) return false;
  try {
    const console = readFileSync(`${dir}/console.txt`, "utf8");
    let results = "";
    try {
      results = readFileSync(`${dir}/results.log`, "utf8");
    } catch { /* none */ }
    return /Kernel panic - not syncing/.test(console) && results.trim() === "";
  } catch {
    return false;
  }
}

/**
 * Runs a command, collecting its output (the exit code is the caller's to judge). A `run-*.sh`
 * whose guest kernel crashed while booting is run again, at most twice, with a note on stderr.
 */
export async function run(
  command: string,
  args: string[],
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<RunResult> {
  for (let attempt = 1;; attempt++) {
    const r = await runOnce(command, args, options);
    if (attempt >= 3 || !guestCrashedBooting(r)) return r;
    console.error(`interop: the guest kernel crashed while booting (attempt ${attempt}); again`);
  }
}

function runOnce(
  command: string,
  args: string[],
  options: { timeoutMs?: number; env?: Record<string, string> },
): Promise<RunResult> {
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

/** A daemon started with `deno task target`-style flags. */
export interface OurTarget {
  /** Its port on 127.0.0.1. */
  port: number;
  /** Everything it printed so far. */
  output(): string;
  /** Resolves once its output matches `re` (or rejects after `timeoutMs`). */
  waitFor(re: RegExp, timeoutMs: number): Promise<void>;
  /** SIGTERM, then wait for it to exit; returns its exit code. */
  stop(): Promise<number>;
}

/** The repository root. */
export const REPO_DIR: string = new URL("../", import.meta.url).pathname;

/**
 * Starts `packages/cli/target.ts` (our NVMe/TCP target daemon) on a free port of 127.0.0.1.
 *
 * @param args More flags, e.g. `["--nqn", nqn, "--ram", "512M"]`.
 */
export async function startOurTarget(args: string[]): Promise<OurTarget> {
  const port = await freePort();
  // Deno.Command rather than node:child_process: the latter reports a child that exited on
  // its own after SIGTERM as killed by the signal.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${REPO_DIR}packages/cli/target.ts`,
      "--listen",
      `127.0.0.1:${port}`,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const waiters: (() => void)[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      for (const w of waiters.splice(0)) w();
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const target: OurTarget = {
    port,
    output: () => text,
    waitFor: async (re, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(text)) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`Timed out waiting for ${re} in the target's output:\n${text}`);
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          timer = setTimeout(resolve, Math.min(left, 1000));
        });
        clearTimeout(timer);
      }
    },
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        child.status,
        new Promise<Deno.CommandStatus>((resolve) => {
          timer = setTimeout(() => {
            try {
              child.kill("SIGKILL");
            } catch {
              // already gone
            }
            resolve(child.status);
          }, 10_000);
        }),
      ]);
      clearTimeout(timer);
      await pumps;
      return status.code;
    },
  };
  try {
    await target.waitFor(/listening on tcp/, 30_000);
  } catch (e) {
    await target.stop();
    throw e;
  }
  return target;
}

/** The result of one kernel host run. */
export interface HostRun {
  /** The workload's exit status (100 connect failed, 124 timeout, ...; see the README). */
  code: number;
  /** The results channel. */
  stdout: string;
  /** Harness messages and the guest's nvme log lines. */
  stderr: string;
}

/**
 * Boots the Linux kernel host (nvme-tcp + nvme-cli) against 127.0.0.1:`port` and runs a
 * workload from `../shared/interop/workloads`.
 */
export function runKernelHost(
  port: number,
  nqn: string,
  workload: string,
  extra: string[] = [],
): Promise<HostRun> {
  return run(
    `${INTEROP_DIR}run-host.sh`,
    [
      "--port",
      String(port),
      "--nqn",
      nqn,
      "--workload",
      workload.startsWith("/") ? workload : `${INTEROP_DIR}workloads/${workload}`,
      ...extra,
    ],
    { timeoutMs: 650_000 },
  );
}

/** The guest's nvme kernel log lines that report a problem. */
export function nvmeErrors(stderr: string): string[] {
  return stderr.split("\n").filter((l) =>
    /\] nvme/.test(l) && /error|fail|timeout|reset|reconnect|abort|invalid/i.test(l)
  );
}

/**
 * The target daemon (`packages/cli/target.ts`) as a child process on a file namespace, for the
 * long runs that judge it from outside (the kill test, the soak): started on a free port of
 * 127.0.0.1, its port read from its "listening on" line, its output drained so that it never
 * blocks on a full pipe.
 *
 * @module
 */

const TARGET = new URL("../packages/cli/target.ts", import.meta.url).pathname;

/** A running daemon. */
export interface Daemon {
  /** The process. */
  child: Deno.ChildProcess;
  /** Its TCP port on 127.0.0.1. */
  port: number;
}

/**
 * Starts the daemon serving `file` as the one namespace of `nqn`.
 *
 * @param file The namespace's file.
 * @param nqn The subsystem NQN.
 * @param blockSize The LBA size.
 * @returns The process and its port.
 * @throws {Error} When it exits before listening.
 */
export async function startDaemon(file: string, nqn: string, blockSize: number): Promise<Daemon> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      TARGET,
      "--file",
      file,
      "--block-size",
      String(blockSize),
      "--nqn",
      nqn,
      "--listen",
      "127.0.0.1:0",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`The target exited before listening:\n${text}`);
    text += value;
    const m = /listening on tcp 127\.0\.0\.1:(\d+)/.exec(text);
    if (m) {
      void (async () => {
        try {
          while (!(await reader.read()).done) { /* drain */ }
        } catch { /* ended */ }
      })();
      return { child, port: Number(m[1]) };
    }
  }
}

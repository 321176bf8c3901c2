/**
 * Our target daemon driven over its JSON-RPC Unix socket as SPDK's `scripts/rpc.py` drives
 * SPDK's: `packages/cli/target.ts --rpc PATH` with nothing else configured, and one call per
 * connection, sent as `json.dumps(request, indent=2)`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { connect } from "node:net";
import { REPO_DIR } from "./_kernel.ts";

let nextId = 0;

/**
 * One call as SPDK's rpc.py makes it: a new connection, the request pretty-printed, the
 * response read until it parses.
 *
 * @param socket The socket path.
 * @param method The method.
 * @param params Its params (omitted when empty, as rpc.py).
 * @returns The response.
 */
export function rpcPy(
  socket: string,
  method: string,
  params?: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    let text = "";
    conn.on("connect", () => {
      const req: Record<string, unknown> = { jsonrpc: "2.0", method, id: ++nextId };
      if (params !== undefined && Object.keys(params).length > 0) req.params = params;
      conn.write(JSON.stringify(req, null, 2));
    });
    conn.on("data", (chunk) => {
      text += chunk.toString();
      try {
        const response = JSON.parse(text);
        conn.end();
        resolve(response);
      } catch {
        // partial
      }
    });
    conn.on("error", reject);
  });
}

/**
 * A call that must succeed.
 *
 * @param socket The socket path.
 * @param method The method.
 * @param params Its params.
 * @returns The result.
 */
export async function rpcOk(
  socket: string,
  method: string,
  params?: Record<string, unknown>,
): Promise<unknown> {
  const r = await rpcPy(socket, method, params);
  assert.equal(r.error, undefined, `${method}: ${JSON.stringify(r.error)}`);
  return r.result;
}

/** Our daemon serving JSON-RPC. */
export interface RpcDaemon {
  /** Its socket. */
  socket: string;
  /** What it printed on stdout so far. */
  stdout(): string;
  /** What it printed on stderr (its error lines) so far. */
  stderr(): string;
  /** SIGTERM, wait for it (SIGKILL after 10 s); returns its exit code. */
  stop(): Promise<number>;
}

/**
 * Starts `packages/cli/target.ts --rpc PATH` (no listener, no subsystem) and waits until it
 * serves JSON-RPC.
 *
 * @returns The daemon.
 */
export async function startRpcDaemon(): Promise<RpcDaemon> {
  const dir = await Deno.makeTempDir();
  const socket = `${dir}/rpc.sock`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO_DIR}packages/cli/target.ts`, "--rpc", socket],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const text = { out: "", err: "" };
  const pump = async (s: ReadableStream<Uint8Array>, k: "out" | "err") => {
    const d = new TextDecoder();
    for await (const c of s) text[k] += d.decode(c, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout, "out"), pump(child.stderr, "err")]);
  const daemon: RpcDaemon = {
    socket,
    stdout: () => text.out,
    stderr: () => text.err,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // gone
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, 10_000);
      const status = await child.status;
      clearTimeout(timer);
      await pumps;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      return status.code;
    },
  };
  const deadline = Date.now() + 30_000;
  while (!/JSON-RPC on/.test(text.out)) {
    if (Date.now() > deadline) {
      await daemon.stop();
      throw new Error(`The daemon did not serve JSON-RPC:\n${text.out}\n${text.err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return daemon;
}

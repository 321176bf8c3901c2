/**
 * `deno task rpc METHOD [--param value ...]`: a JSON-RPC client of the target daemon's
 * `--rpc` socket (or of SPDK's), printing the JSON result.
 *
 * ```
 * deno task rpc [-s PATH] METHOD [--name value ...]
 *   -s, --socket PATH   the socket (default /var/tmp/spdk.sock, as SPDK's rpc.py)
 *   --name value        a parameter; a value that parses as JSON is that (8192, true,
 *                       {"a":1}), any other is a string; a dotted name nests:
 *                       --listen_address.traddr 127.0.0.1
 * ```
 *
 * Exits 0 with the result on stdout, 1 with the JSON-RPC error on stderr, 2 for a usage error.
 *
 * @example Usage
 * ```ts
 * import { parseRpcArgs } from "@nvmf/cli/rpc";
 * import assert from "node:assert/strict";
 * const call = parseRpcArgs(["nvmf_subsystem_remove_ns", "--nqn", "nqn.a", "--nsid", "1"]);
 * assert.deepEqual(call.params, { nqn: "nqn.a", nsid: 1 });
 * ```
 *
 * @module
 */

import process from "node:process";
import { connect } from "node:net";
import { JsonSplitter } from "./rpc_server.ts";

/** The socket `deno task rpc` uses when `-s` is not given: SPDK's default. */
export const DEFAULT_RPC_SOCKET = "/var/tmp/spdk.sock";

/** A parsed command line. */
export interface RpcCall {
  /** Socket path. */
  socket: string;
  /** Method. */
  method: string;
  /** Params, or undefined when none were given. */
  params: Record<string, unknown> | undefined;
}

/**
 * Parses the client's command line.
 *
 * @param argv Arguments after the script name.
 * @returns The call.
 * @throws {TypeError} When the command line is malformed.
 */
export function parseRpcArgs(argv: string[]): RpcCall {
  let socket = DEFAULT_RPC_SOCKET;
  let method: string | undefined;
  let params: Record<string, unknown> | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-s" || arg === "--socket") {
      if (i + 1 >= argv.length) throw new TypeError(`${arg}: needs a path`);
      socket = argv[++i];
    } else if (arg.startsWith("--")) {
      const name = arg.slice(2);
      if (name === "" || i + 1 >= argv.length) throw new TypeError(`${arg}: needs a value`);
      const text = argv[++i];
      let value: unknown = text;
      try {
        value = JSON.parse(text);
      } catch {
        // a plain string
      }
      params ??= {};
      const path = name.split(".");
      let at: Record<string, unknown> = params;
      for (const key of path.slice(0, -1)) {
        if (typeof at[key] !== "object" || at[key] === null) at[key] = {};
        at = at[key] as Record<string, unknown>;
      }
      at[path[path.length - 1]] = value;
    } else if (method === undefined) {
      method = arg;
    } else {
      throw new TypeError(`${arg}: unexpected; parameters are --name value`);
    }
  }
  if (method === undefined) throw new TypeError("missing METHOD");
  return { socket, method, params };
}

/**
 * Sends one request and waits for its response.
 *
 * @param socket The socket path.
 * @param method The method.
 * @param params Its params.
 * @returns The response object.
 */
export function rpcCall(
  socket: string,
  method: string,
  params?: unknown,
): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    const chunks: Uint8Array[] = [];
    let length = 0;
    const splitter = new JsonSplitter();
    conn.on("connect", () => {
      const request: Record<string, unknown> = { jsonrpc: "2.0", method, id: 1 };
      if (params !== undefined) request.params = params;
      conn.write(JSON.stringify(request));
    });
    conn.on("data", (chunk: Uint8Array) => {
      chunks.push(chunk);
      const from = length;
      length += chunk.length;
      const all = new Uint8Array(length);
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.length;
      }
      const end = splitter.scan(all, from, length);
      if (end < 0) return;
      conn.end();
      try {
        resolve(JSON.parse(new TextDecoder().decode(all.subarray(0, end))));
      } catch (e) {
        reject(e);
      }
    });
    conn.on("error", reject);
    conn.on("close", () => reject(new Error("Connection closed before a response")));
  });
}

async function main(argv: string[]): Promise<number> {
  let call: RpcCall;
  try {
    call = parseRpcArgs(argv);
  } catch (e) {
    console.error(`rpc: ${(e as Error).message}`);
    console.error("Usage: deno task rpc [-s PATH] METHOD [--name value ...]");
    return 2;
  }
  try {
    const response = await rpcCall(call.socket, call.method, call.params);
    if (response.error !== undefined) {
      console.error(JSON.stringify(response.error, null, 2));
      return 1;
    }
    console.log(JSON.stringify(response.result, null, 2));
    return 0;
  } catch (e) {
    console.error(`rpc: cannot call ${call.method} on ${call.socket}: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) {
  process.exit(await main(process.argv.slice(2)));
}

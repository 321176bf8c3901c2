/**
 * A JSON-RPC 2.0 server on a Unix domain socket with the wire format of SPDK's
 * (`lib/jsonrpc/jsonrpc_server.c`, `jsonrpc_server_tcp.c`), so that SPDK's `scripts/rpc.py -s
 * PATH` talks to it unchanged:
 *
 * - A request is one JSON value written with no delimiter after it (rpc.py indents it and
 *   joins several with newlines); several may come on one connection, in one write or split
 *   across many. Each is answered, in order, with one JSON object and a newline.
 * - A batch (an array of requests) is answered with one array holding a response per request
 *   that has an `id`, as JSON-RPC 2.0 says (SPDK answers a batch with Invalid Request).
 * - A request without `id` is a notification: no answer unless it fails (then `"id": null`, as
 *   SPDK does).
 * - Errors: -32700 parse error (malformed JSON, invalid UTF-8, or a request over
 *   {@linkcode RPC_REQUEST_MAX} bytes, SPDK's `SPDK_JSONRPC_RECV_BUF_SIZE`; the connection is
 *   then closed, as SPDK does, for a stream has no point to resynchronise at), -32600 invalid
 *   request, -32601 method not found, -32602 invalid params, -32603 internal error. A failed
 *   request changes nothing.
 *
 * Requests run one at a time over all connections, so that each sees the configuration the
 * previous one left. At most {@linkcode RPC_CONNECTIONS_MAX} connections at once (SPDK's 64).
 *
 * @example Usage
 * ```ts ignore
 * const server = await serveRpc("/tmp/nvmf.sock", { spdk_get_version: () => ({ version: "x" }) });
 * await server.close();
 * ```
 *
 * @module
 */

import { createServer, type Server, type Socket } from "node:net";
import { rm } from "node:fs/promises";

/** Largest request, bytes: SPDK's `SPDK_JSONRPC_RECV_BUF_SIZE` (32 KiB). */
export const RPC_REQUEST_MAX = 32 * 1024;
/** Connections served at once: SPDK's `SPDK_JSONRPC_MAX_CONNS`. */
export const RPC_CONNECTIONS_MAX = 64;
/** Largest `id` string or number, characters: SPDK's `SPDK_JSONRPC_ID_MAX_LEN`. */
export const RPC_ID_MAX = 128;

/** JSON-RPC 2.0 error codes. */
export const RpcErrorCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
} as const;

/** An error a method answers with: a JSON-RPC error code and a message. */
export class RpcError extends Error {
  /** The JSON-RPC error code. */
  readonly code: number;

  /**
   * Makes the error.
   *
   * @param code A JSON-RPC error code ({@linkcode RpcErrorCode}).
   * @param message What went wrong, for the caller.
   */
  constructor(code: number, message: string) {
    super(message);
    this.name = "RpcError";
    this.code = code;
  }
}

/** A method: gets the request's params (undefined when absent), returns the result. */
export type RpcMethod = (params: unknown) => unknown;

/** JSON-RPC methods by name. */
export type RpcMethods = Readonly<Record<string, RpcMethod>>;

/** A request's `id`: a string, a number, or null. */
export type RpcId = string | number | null;

/** A JSON-RPC 2.0 response. */
export interface RpcResponse {
  /** Always `"2.0"`. */
  jsonrpc: "2.0";
  /** The request's id (null when it could not be read). */
  id: RpcId;
  /** The result, on success. */
  result?: unknown;
  /** The error, on failure. */
  error?: { code: number; message: string };
}

function errorResponse(id: RpcId, code: number, message: string): RpcResponse {
  return { jsonrpc: "2.0", id, error: { code, message } };
}

/**
 * Finds where the JSON values of a byte stream end, a byte at a time, keeping its state across
 * calls so that a value split over many writes is scanned once.
 */
export class JsonSplitter {
  #depth = 0;
  #inString = false;
  #escape = false;
  #started = false;
  #scalar = false;

  /** Forgets the value in progress (after one was taken). */
  reset(): void {
    this.#depth = 0;
    this.#inString = false;
    this.#escape = false;
    this.#started = false;
    this.#scalar = false;
  }

  /** True when nothing but whitespace was scanned since the last value. */
  get idle(): boolean {
    return !this.#started;
  }

  /**
   * Scans bytes from `from` up to `to`.
   *
   * @param bytes The buffer.
   * @param from Where to continue.
   * @param to End of the data.
   * @returns The offset just past the end of a complete value, or -1 when none ends before `to`.
   */
  scan(bytes: Uint8Array, from: number, to: number): number {
    for (let i = from; i < to; i++) {
      const c = bytes[i];
      if (!this.#started) {
        if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
        this.#started = true;
        if (c === 0x7b || c === 0x5b) this.#depth = 1; // { [
        else if (c === 0x22) this.#inString = true; // a top-level string
        else this.#scalar = true;
        continue;
      }
      if (this.#scalar) {
        // A number, true, false or null ends at whitespace or a structural character.
        if (
          c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x7b || c === 0x5b ||
          c === 0x7d || c === 0x5d || c === 0x2c || c === 0x22
        ) return i;
        continue;
      }
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (c === 0x5c) this.#escape = true;
        else if (c === 0x22) {
          this.#inString = false;
          if (this.#depth === 0) return i + 1;
        }
        continue;
      }
      if (c === 0x22) this.#inString = true;
      else if (c === 0x7b || c === 0x5b) this.#depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (--this.#depth === 0) return i + 1;
      }
    }
    return -1;
  }
}

/**
 * Answers the requests of one connection: bytes in ({@linkcode RpcConnection.receive}),
 * response text out (the `send` callback), and whether to close.
 */
export class RpcConnection {
  readonly #dispatch: (request: unknown) => Promise<unknown>;
  readonly #send: (text: string) => void;
  readonly #buffer = new Uint8Array(RPC_REQUEST_MAX);
  readonly #splitter = new JsonSplitter();
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });
  #start = 0;
  #end = 0;
  #scanned = 0;
  #closed = false;

  /**
   * Makes the connection's state.
   *
   * @param dispatch Runs one parsed request (object or anything else).
   * @param send Writes response text.
   */
  constructor(dispatch: (request: unknown) => Promise<unknown>, send: (text: string) => void) {
    this.#dispatch = dispatch;
    this.#send = send;
  }

  /** True once a parse error ended the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Takes bytes from the socket and answers every request they complete, in order.
   *
   * @param chunk Bytes received.
   * @returns False when the connection must be closed (after a parse error was answered).
   */
  async receive(chunk: Uint8Array): Promise<boolean> {
    let at = 0;
    while (at < chunk.length && !this.#closed) {
      if (this.#start > 0 && this.#end === this.#buffer.length) this.#compact();
      const n = Math.min(chunk.length - at, this.#buffer.length - this.#end);
      if (n === 0) {
        this.#parseError(`request is too long: over ${RPC_REQUEST_MAX} bytes`);
        break;
      }
      this.#buffer.set(chunk.subarray(at, at + n), this.#end);
      this.#end += n;
      at += n;
      await this.#drain();
    }
    return !this.#closed;
  }

  #compact(): void {
    this.#buffer.copyWithin(0, this.#start, this.#end);
    this.#end -= this.#start;
    this.#scanned -= this.#start;
    this.#start = 0;
  }

  async #drain(): Promise<void> {
    while (!this.#closed) {
      const end = this.#splitter.scan(this.#buffer, this.#scanned, this.#end);
      if (end < 0) {
        this.#scanned = this.#end;
        if (this.#splitter.idle) this.#start = this.#scanned = this.#end = 0;
        return;
      }
      const bytes = this.#buffer.subarray(this.#start, end);
      this.#start = this.#scanned = end;
      this.#splitter.reset();
      let value: unknown;
      try {
        value = JSON.parse(this.#decoder.decode(bytes));
      } catch (e) {
        this.#parseError((e as Error).message.split("\n")[0]);
        return;
      }
      const response = await this.#dispatch(value);
      if (response !== undefined) this.#send(JSON.stringify(response) + "\n");
    }
  }

  #parseError(why: string): void {
    this.#send(
      JSON.stringify(errorResponse(null, RpcErrorCode.PARSE_ERROR, `Parse error: ${why}`)) + "\n",
    );
    this.#closed = true;
  }
}

/**
 * Runs one parsed JSON-RPC request against methods.
 *
 * @param methods The methods.
 * @param request The parsed JSON.
 * @returns The response, or undefined for a notification that succeeded.
 */
export async function handleRequest(
  methods: RpcMethods,
  request: unknown,
): Promise<RpcResponse | undefined> {
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    return errorResponse(null, RpcErrorCode.INVALID_REQUEST, "Invalid request: not an object");
  }
  const r = request as Record<string, unknown>;
  let id: RpcId = null;
  const hasId = "id" in r;
  if (hasId) {
    const v = r.id;
    if (
      v === null ||
      ((typeof v === "string" || typeof v === "number") && String(v).length <= RPC_ID_MAX)
    ) {
      id = v;
    } else {
      return errorResponse(null, RpcErrorCode.INVALID_REQUEST, "Invalid request: bad id");
    }
  }
  const unknown = Object.keys(r).find((k) => !["jsonrpc", "method", "params", "id"].includes(k));
  if (r.jsonrpc !== "2.0") {
    return errorResponse(
      id,
      RpcErrorCode.INVALID_REQUEST,
      'Invalid request: jsonrpc must be "2.0"',
    );
  }
  if (typeof r.method !== "string") {
    return errorResponse(
      id,
      RpcErrorCode.INVALID_REQUEST,
      "Invalid request: method must be a string",
    );
  }
  if (unknown !== undefined) {
    return errorResponse(
      id,
      RpcErrorCode.INVALID_REQUEST,
      `Invalid request: unknown member ${unknown}`,
    );
  }
  if ("params" in r && (typeof r.params !== "object" || r.params === null)) {
    return errorResponse(
      id,
      RpcErrorCode.INVALID_REQUEST,
      "Invalid request: params must be an object or array",
    );
  }
  const method = Object.hasOwn(methods, r.method) ? methods[r.method] : undefined;
  if (method === undefined) {
    return errorResponse(id, RpcErrorCode.METHOD_NOT_FOUND, `Method not found: ${r.method}`);
  }
  let result: unknown;
  try {
    result = await method(r.params);
  } catch (e) {
    if (e instanceof RpcError) return errorResponse(id, e.code, e.message);
    return errorResponse(id, RpcErrorCode.INTERNAL_ERROR, (e as Error)?.message ?? String(e));
  }
  if (!hasId) return undefined;
  return { jsonrpc: "2.0", id, result: result === undefined ? true : result };
}

/**
 * Runs one parsed JSON value, a request or a batch.
 *
 * @param methods The methods.
 * @param value The parsed JSON.
 * @returns What to send back (a response, an array of them), or undefined.
 */
export async function handleValue(methods: RpcMethods, value: unknown): Promise<unknown> {
  if (!Array.isArray(value)) return await handleRequest(methods, value);
  if (value.length === 0) {
    return errorResponse(null, RpcErrorCode.INVALID_REQUEST, "Invalid request: empty batch");
  }
  const out: RpcResponse[] = [];
  for (const request of value) {
    const response = await handleRequest(methods, request);
    if (response !== undefined) out.push(response);
  }
  return out.length === 0 ? undefined : out;
}

/** A running RPC server. */
export interface RpcServer {
  /** The socket path. */
  readonly path: string;
  /** Stops listening, ends every connection and removes the socket file. */
  close(): Promise<void>;
}

/**
 * Serves JSON-RPC on a Unix domain socket; a stale socket file at `path` is replaced.
 *
 * @param path The socket path.
 * @param methods The methods.
 * @returns The server, listening.
 */
export async function serveRpc(path: string, methods: RpcMethods): Promise<RpcServer> {
  let queue: Promise<unknown> = Promise.resolve();
  // One request at a time over every connection.
  const serialized = (value: unknown) => {
    const run = queue.then(() => handleValue(methods, value));
    queue = run.catch(() => {});
    return run;
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    if (sockets.size >= RPC_CONNECTIONS_MAX) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    const conn = new RpcConnection(serialized, (text) => {
      if (!socket.destroyed) socket.write(text);
    });
    let chain: Promise<unknown> = Promise.resolve();
    socket.on("data", (chunk: Uint8Array) => {
      socket.pause();
      chain = chain.then(() => conn.receive(chunk)).then((open) => {
        if (!open) socket.end();
        else socket.resume();
      }, () => socket.destroy());
    });
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    path,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      await rm(path, { force: true });
    },
  };
}

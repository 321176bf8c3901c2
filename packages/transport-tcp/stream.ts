/**
 * `@nvmf/transport-tcp/stream`: the small byte-stream adapter NVMe/TCP runs on: Deno's TCP sockets (`Deno.connect`,
 * `Deno.listen`) when running on Deno, Node's `node:net` elsewhere (Bun, Node). The queue pair
 * reads into buffers it owns — on Deno straight from the socket into the caller's data buffer —
 * and writes batches of chunks.
 *
 * @module
 */

import * as net from "node:net";
import process from "node:process";

/** A connected byte stream. */
export interface ByteStream {
  /**
   * Reads at most `into.length` bytes into `into`.
   *
   * @returns The number of bytes read; 0 at end of stream.
   */
  read(into: Uint8Array): Promise<number>;
  /**
   * Writes the chunks in order; settles once the system has taken them, rejects once the
   * connection failed or closed. Calls must not overlap (the next after the last settled), as the
   * NVMe/TCP queue pair writes: on Bun a batch goes out chunk by chunk.
   */
  writev(chunks: readonly Uint8Array[]): Promise<void>;
  /** Closes the stream; pending reads end. Idempotent. */
  close(): void;
  /** The peer's address, e.g. `127.0.0.1:4420`. */
  readonly remote: string;
  /** Our address. */
  readonly local: { hostname: string; port: number };
  /**
   * Gives the socket up so that another process can own the connection (`@nvmf/handoff`; Node's,
   * Bun's and Deno's `child.send(message, socket)`): stops reading, ends a pending `read()` with
   * 0, and returns the `node:net` socket, paused and without data listeners. Returns undefined
   * and changes nothing when received bytes are buffered (they would be lost) or the stream has
   * ended. Afterwards the stream reads nothing, refuses writes and `close()` leaves the socket
   * alone. Only streams over `node:net` sockets have it (see {@linkcode streamFromSocket}).
   */
  release?(): net.Socket | undefined;
}

/** A listening socket. */
export interface ByteListener {
  /** The next connection; rejects once closed. */
  accept(): Promise<ByteStream>;
  /** Stops listening. */
  close(): void;
  /** The bound address (the port is the real one when 0 was asked for). */
  readonly local: { hostname: string; port: number };
}

// Batches up to this size are copied into one buffer and written at once; larger ones go out
// chunk by chunk (copying them would cost more than the system calls saved). The NVMe/TCP queue
// pair gathers a batch in one buffer itself, so this is the exception, not the rule.
const COALESCE_LIMIT = 64 * 1024;

// deno-lint-ignore no-explicit-any
const deno: any = (globalThis as any).Deno;
const onDeno = typeof deno?.connect === "function" && typeof deno?.listen === "function";

/**
 * Opens a TCP connection with Nagle's algorithm off.
 *
 * @param hostname Host name or IP address.
 * @param port TCP port.
 * @returns The connected stream.
 * @example Usage
 * ```ts ignore
 * import { dial } from "@nvmf/transport-tcp/stream";
 * const s = await dial("127.0.0.1", 4420);
 * s.close();
 * ```
 */
export async function dial(hostname: string, port: number): Promise<ByteStream> {
  if (onDeno) {
    const conn = await deno.connect({ hostname, port, transport: "tcp" });
    conn.setNoDelay(true);
    return new DenoStream(conn);
  }
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: hostname, port });
    const fail = (e: Error) => reject(e);
    s.once("error", fail);
    s.once("connect", () => {
      s.off("error", fail);
      resolve(s);
    });
  });
  socket.setNoDelay(true);
  return new NodeStream(socket);
}

/**
 * Listens for TCP connections.
 *
 * @param hostname Address to bind.
 * @param port Port to bind; 0 lets the system choose.
 * @returns The listener.
 * @example Usage
 * ```ts
 * import { dial, listen } from "@nvmf/transport-tcp/stream";
 * import assert from "node:assert/strict";
 * const l = await listen("127.0.0.1", 0);
 * const [a, b] = await Promise.all([l.accept(), dial("127.0.0.1", l.local.port)]);
 * await b.writev([new Uint8Array([1, 2, 3])]);
 * const got = new Uint8Array(3);
 * let n = 0;
 * while (n < 3) n += await a.read(got.subarray(n));
 * assert.deepEqual([...got], [1, 2, 3]);
 * a.close();
 * b.close();
 * l.close();
 * ```
 */
export async function listen(hostname: string, port: number): Promise<ByteListener> {
  if (onDeno) {
    const l = deno.listen({ hostname, port, transport: "tcp" });
    return new DenoListener(l);
  }
  const server = net.createServer({ noDelay: true, pauseOnConnect: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return new NodeListener(server);
}

class DenoStream implements ByteStream {
  // deno-lint-ignore no-explicit-any
  readonly #conn: any;
  #closed = false;
  #batch: Uint8Array | undefined;
  readonly remote: string;
  readonly local: { hostname: string; port: number };

  // deno-lint-ignore no-explicit-any
  constructor(conn: any) {
    this.#conn = conn;
    this.remote = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
    this.local = { hostname: conn.localAddr.hostname, port: conn.localAddr.port };
  }

  async read(into: Uint8Array): Promise<number> {
    if (this.#closed) return 0;
    try {
      return (await this.#conn.read(into)) ?? 0;
    } catch (e) {
      if (this.#closed) return 0;
      throw e;
    }
  }

  async writev(chunks: readonly Uint8Array[]): Promise<void> {
    if (chunks.length === 1) return await this.#write(chunks[0]);
    let total = 0;
    for (const c of chunks) total += c.length;
    if (total > COALESCE_LIMIT) {
      for (const c of chunks) await this.#write(c);
      return;
    }
    // One system call for the batch: copy into a reused buffer.
    const batch = this.#batch ??= new Uint8Array(COALESCE_LIMIT);
    let at = 0;
    for (const c of chunks) {
      batch.set(c, at);
      at += c.length;
    }
    await this.#write(batch.subarray(0, total));
  }

  async #write(data: Uint8Array): Promise<void> {
    let at = 0;
    while (at < data.length) at += await this.#conn.write(data.subarray(at));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer
    }
  }
}

class DenoListener implements ByteListener {
  // deno-lint-ignore no-explicit-any
  readonly #listener: any;
  readonly local: { hostname: string; port: number };

  // deno-lint-ignore no-explicit-any
  constructor(listener: any) {
    this.#listener = listener;
    this.local = { hostname: listener.addr.hostname, port: listener.addr.port };
  }

  async accept(): Promise<ByteStream> {
    const conn = await this.#listener.accept();
    conn.setNoDelay(true);
    return new DenoStream(conn);
  }

  close(): void {
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
  }
}

const HIGH_WATER = 1 << 20;

/**
 * Bun's `node:net` has no vectored write: a corked batch is concatenated on uncork, and every
 * write made while the socket's own buffer is not empty is concatenated onto it again, so a batch
 * of large chunks (sixteen 128 KiB H2CData payloads) was copied over and over (measured: `concat`
 * half of the host's CPU time, sequential writes at a quarter of Deno's rate). There the stream
 * writes chunk by chunk, runs of small chunks copied into one buffer, and waits for `drain`
 * whenever the socket says its buffer is full. Node's own cork/writev is vectored and stays.
 */
const SEQUENTIAL_WRITES = typeof (process.versions as Record<string, string | undefined>).bun ===
  "string";

/**
 * Wraps a connected `node:net` socket, e.g. one another process passed over `child_process`
 * IPC after {@linkcode ByteStream.release}, as a stream with Nagle's algorithm off. Works on
 * Deno too (its `node:net`), where {@linkcode dial} and {@linkcode listen} use Deno's own
 * sockets, which cannot be passed.
 *
 * @param socket The connected socket; the stream reads from it from now on.
 * @returns The stream; it has `release()`.
 * @example Usage
 * ```ts
 * import * as net from "node:net";
 * import { streamFromSocket } from "@nvmf/transport-tcp/stream";
 * import assert from "node:assert/strict";
 * const server = net.createServer((s) => s.end(Uint8Array.of(7)));
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const { port } = server.address() as net.AddressInfo;
 * const socket = net.connect(port, "127.0.0.1");
 * await new Promise((resolve) => socket.once("connect", resolve));
 * const stream = streamFromSocket(socket);
 * const got = new Uint8Array(1);
 * assert.equal(await stream.read(got), 1);
 * assert.equal(got[0], 7);
 * stream.close();
 * server.close();
 * ```
 */
export function streamFromSocket(socket: net.Socket): ByteStream {
  socket.setNoDelay(true);
  return new NodeStream(socket);
}

class NodeStream implements ByteStream {
  readonly #socket: net.Socket;
  readonly #chunks: Uint8Array[] = [];
  #head = 0; // bytes of #chunks[0] already consumed
  #buffered = 0;
  #ended = false;
  #released = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  #paused = false;
  readonly remote: string;
  readonly local: { hostname: string; port: number };
  readonly #onData = (chunk: Uint8Array): void => {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#buffered > HIGH_WATER && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
    this.#signal();
  };
  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#signal();
  };
  readonly #onError = (e: Error): void => {
    this.#error ??= e;
    this.#signal();
  };

  constructor(socket: net.Socket) {
    this.#socket = socket;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.local = { hostname: socket.localAddress ?? "", port: socket.localPort ?? 0 };
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
    socket.on("error", this.#onError);
    socket.resume();
  }

  release(): net.Socket | undefined {
    if (this.#released || this.#ended || this.#error !== undefined || this.#buffered > 0) {
      return undefined;
    }
    const socket = this.#socket;
    socket.pause();
    socket.off("data", this.#onData);
    socket.off("end", this.#onEnd);
    socket.off("close", this.#onEnd);
    socket.off("error", this.#onError);
    // Until the new owner listens, an error must not go unhandled.
    socket.on("error", () => {});
    this.#released = true;
    this.#ended = true;
    this.#signal();
    return socket;
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async read(into: Uint8Array): Promise<number> {
    while (this.#buffered === 0) {
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return 0;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    let n = 0;
    while (n < into.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0];
      const take = Math.min(into.length - n, chunk.length - this.#head);
      into.set(chunk.subarray(this.#head, this.#head + take), n);
      n += take;
      this.#head += take;
      if (this.#head === chunk.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    this.#buffered -= n;
    if (this.#paused && this.#buffered < HIGH_WATER / 2) {
      this.#paused = false;
      this.#socket.resume();
    }
    return n;
  }

  writev(chunks: readonly Uint8Array[]): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#released) {
      return Promise.reject(new Error("Cannot write: the socket was released to another owner"));
    }
    if (SEQUENTIAL_WRITES) return this.#writeSequential(chunks);
    return new Promise((resolve, reject) => {
      const socket = this.#socket;
      socket.cork();
      for (let i = 0; i < chunks.length - 1; i++) socket.write(chunks[i]);
      socket.write(chunks[chunks.length - 1], (e) => e ? reject(e) : resolve());
      socket.uncork();
    });
  }

  /** Chunk by chunk (see {@linkcode SEQUENTIAL_WRITES}); settles when the last was taken. */
  async #writeSequential(chunks: readonly Uint8Array[]): Promise<void> {
    const socket = this.#socket;
    let i = 0;
    while (i < chunks.length) {
      let j = i;
      let total = 0;
      while (j < chunks.length && total + chunks[j].length <= COALESCE_LIMIT) {
        total += chunks[j++].length;
      }
      let data: Uint8Array;
      if (j - i <= 1) {
        data = chunks[i];
        i++;
      } else {
        // A new buffer each time: the socket may keep it until it is written.
        data = new Uint8Array(total);
        for (let at = 0; i < j; i++) {
          data.set(chunks[i], at);
          at += chunks[i].length;
        }
      }
      // A socket already closed takes the write and says nothing (no drain, no close event).
      if (socket.destroyed || socket.writableEnded) throw this.#closedError();
      if (i === chunks.length) {
        await new Promise<void>((resolve, reject) =>
          socket.write(data, (e) => e ? reject(e) : resolve())
        );
        return;
      }
      if (!socket.write(data)) await this.#drained();
    }
  }

  #closedError(): Error {
    return this.#error ?? new Error("Cannot write: the connection closed");
  }

  /** Settles on `drain`, or rejects once the socket failed or closed. */
  #drained(): Promise<void> {
    const socket = this.#socket;
    return new Promise<void>((resolve, reject) => {
      if (socket.destroyed) return reject(this.#closedError());
      const done = () => {
        socket.off("drain", onDrain);
        socket.off("close", onClose);
        socket.off("error", onClose);
      };
      const onDrain = () => {
        done();
        resolve();
      };
      const onClose = () => {
        done();
        reject(this.#closedError());
      };
      socket.on("drain", onDrain);
      socket.on("close", onClose);
      socket.on("error", onClose);
    });
  }

  close(): void {
    if (this.#released) return;
    this.#socket.destroy();
    this.#ended = true;
    this.#signal();
  }
}

class NodeListener implements ByteListener {
  readonly #server: net.Server;
  readonly #pending: net.Socket[] = [];
  #waiters: { resolve(s: ByteStream): void; reject(e: Error): void }[] = [];
  #closed = false;
  readonly local: { hostname: string; port: number };

  constructor(server: net.Server) {
    this.#server = server;
    const addr = server.address() as net.AddressInfo;
    this.local = { hostname: addr.address, port: addr.port };
    server.on("connection", (socket: net.Socket) => {
      socket.setNoDelay(true);
      const w = this.#waiters.shift();
      if (w) w.resolve(new NodeStream(socket));
      else this.#pending.push(socket);
    });
  }

  accept(): Promise<ByteStream> {
    const s = this.#pending.shift();
    if (s !== undefined) return Promise.resolve(new NodeStream(s));
    if (this.#closed) return Promise.reject(new Error("Cannot accept: the listener is closed"));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    for (const s of this.#pending.splice(0)) s.destroy();
    const e = new Error("Cannot accept: the listener is closed");
    for (const w of this.#waiters.splice(0)) w.reject(e);
  }
}

/**
 * The NVMe/TCP transport object: `connect` for hosts, `listen` for controllers. Importing the
 * package registers {@linkcode tcp} under the name `"tcp"` and TRTYPE 3.
 *
 * @module
 */

import { TransportType } from "@nvmf/proto";
import {
  type Association,
  type ConnectParams,
  type Listener,
  type QueuePair,
  QueuePairClosedError,
  type Transport,
  type TransportAddress,
  TransportError,
} from "@nvmf/transport";
import { controllerHandshake, hostHandshake } from "./handshake.ts";
import { TcpQueuePair } from "./queue_pair.ts";
import { PduReader } from "./reader.ts";
import { type ByteListener, type ByteStream, dial, listen } from "./stream.ts";

/** Receive buffer per connection: room for many small PDUs per read. */
const RX_BUFFER = 64 * 1024;
/** How long connection set-up (TCP connect, ICReq/ICResp) may take. */
const SETUP_TIMEOUT_MS = 10_000;

/** Where a controller that fails a connection's set-up reports it, if anyone listens. */
export interface TcpListenOptions {
  /** Called with the error when an incoming connection fails ICReq/ICResp. */
  onSetupError?: (error: Error, remote: string) => void;
}

function parsePort(address: TransportAddress, fallback: number): number {
  const text = address.trsvcid ?? String(fallback);
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new RangeError(`Cannot use trsvcid "${text}": it must be a TCP port, 0 to 65535`);
  }
  return port;
}

/** Runs `work` with a time limit; on time-out closes `stream` so `work` ends too. */
async function withTimeout<T>(
  work: Promise<T>,
  stream: ByteStream,
  what: string,
  signal?: AbortSignal,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      stream.close();
      reject(new TransportError(`Timed out after ${SETUP_TIMEOUT_MS} ms: ${what}`, "timeout"));
    }, SETUP_TIMEOUT_MS);
    onAbort = () => {
      stream.close();
      reject(new TransportError(`Aborted: ${what}`, "connect", { cause: signal?.reason }));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
    work.catch(() => {});
  }
}

class TcpListener implements Listener {
  readonly address: TransportAddress;
  readonly #sockets: ByteListener;
  readonly #association: Association;
  readonly #options: TcpListenOptions;
  readonly #ready: QueuePair[] = [];
  #waiters: { resolve(qp: QueuePair): void; reject(e: Error): void }[] = [];
  #closed = false;
  readonly #handshaking = new Set<ByteStream>();
  readonly #loop: Promise<void>;

  constructor(sockets: ByteListener, association: Association, options: TcpListenOptions) {
    this.#sockets = sockets;
    this.#association = association;
    this.#options = options;
    this.address = { traddr: sockets.local.hostname, trsvcid: String(sockets.local.port) };
    this.#loop = this.#acceptLoop();
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#closed) {
      let stream: ByteStream;
      try {
        stream = await this.#sockets.accept();
      } catch (e) {
        if (this.#closed) return;
        this.#options.onSetupError?.(e as Error, "");
        continue;
      }
      this.#setUp(stream);
    }
  }

  async #setUp(stream: ByteStream): Promise<void> {
    this.#handshaking.add(stream);
    const reader = new PduReader(stream, RX_BUFFER);
    try {
      const tcp = await withTimeout(
        controllerHandshake(stream, reader, this.#association),
        stream,
        `ICReq from ${stream.remote}`,
      );
      if (this.#closed) {
        stream.close();
        return;
      }
      const qp = new TcpQueuePair(this.#association, stream, reader, tcp, {
        controller: true,
        admin: false,
        qsize: 0,
        sqFlowControl: true,
      });
      const w = this.#waiters.shift();
      if (w) w.resolve(qp);
      else this.#ready.push(qp);
    } catch (e) {
      stream.close();
      this.#options.onSetupError?.(e as Error, stream.remote);
    } finally {
      this.#handshaking.delete(stream);
    }
  }

  accept(): Promise<QueuePair> {
    const qp = this.#ready.shift();
    if (qp !== undefined) return Promise.resolve(qp);
    if (this.#closed) {
      return Promise.reject(new QueuePairClosedError("Cannot accept: the listener is closed"));
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sockets.close();
    for (const s of this.#handshaking) s.close();
    const error = new QueuePairClosedError("Cannot accept: the listener is closed");
    for (const w of this.#waiters.splice(0)) w.reject(error);
    for (const qp of this.#ready.splice(0)) await qp.close();
    await this.#loop;
  }
}

/**
 * The NVMe/TCP transport (TRTYPE 3).
 *
 * @example Usage
 * ```ts
 * import { Association } from "@nvmf/transport";
 * import { tcp } from "@nvmf/transport-tcp";
 * import assert from "node:assert/strict";
 * const listener = await tcp.listen(new Association(tcp, true), { traddr: "127.0.0.1", trsvcid: "0" });
 * const host = await tcp.connect(new Association(tcp, false), {
 *   address: listener.address, admin: true, qid: 0, qsize: 32,
 * });
 * const controller = await listener.accept();
 * assert.equal(controller.state().transport.maxh2cdata, 131072);
 * await host.close();
 * assert.equal(await controller.closed, undefined);
 * await listener.close();
 * ```
 */
export class TcpTransport implements Transport {
  /** TRTYPE 3. */
  readonly trtype: number = TransportType.TCP;
  /** `"tcp"`. */
  readonly name: string = "tcp";
  readonly #listenOptions: TcpListenOptions;

  /**
   * Makes a TCP transport.
   *
   * @param options What listeners report set-up failures to.
   */
  constructor(options: TcpListenOptions = {}) {
    this.#listenOptions = options;
  }

  /**
   * Connects a queue pair: TCP connect, then ICReq/ICResp.
   *
   * @param association The host association (its `tcp` parameters are what ICReq asks for).
   * @param params Address (`traddr` host, `trsvcid` port, default 4420), queue ID and size.
   * @returns The host queue pair.
   * @throws {TransportError} Code `"connect"` (refused, unreachable), `"timeout"`,
   *   `"negotiation"` or `"termreq"`.
   */
  async connect(association: Association, params: ConnectParams): Promise<QueuePair> {
    if (association.controller) throw new TypeError("Cannot connect with a controller association");
    if (!Number.isInteger(params.qsize) || params.qsize < 2 || params.qsize > 65536) {
      throw new RangeError(`Cannot connect with qsize ${params.qsize}: it must be 2 to 65536`);
    }
    const port = parsePort(params.address, 4420);
    const where = `${params.address.traddr}:${port}`;
    let stream: ByteStream;
    try {
      stream = await dial(params.address.traddr, port);
    } catch (e) {
      throw new TransportError(
        `Cannot connect to ${where}: ${(e as Error).message}`,
        "connect",
        { cause: e },
      );
    }
    const reader = new PduReader(stream, RX_BUFFER);
    const tcp = await withTimeout(
      hostHandshake(stream, reader, association),
      stream,
      `ICResp from ${where}`,
      params.signal,
    );
    return new TcpQueuePair(association, stream, reader, tcp, {
      controller: false,
      admin: params.admin,
      qid: params.qid,
      qsize: params.qsize,
      sqFlowControl: association.params.sqFlowControl,
    });
  }

  /**
   * Listens on `address` (`traddr` an IP address to bind, `trsvcid` a port, 0 for any).
   *
   * @param association The controller association for accepted queue pairs.
   * @param address Where to listen.
   * @returns The listener; its `address` has the real port.
   */
  async listen(association: Association, address: TransportAddress): Promise<Listener> {
    if (!association.controller) throw new TypeError("Cannot listen with a host association");
    const port = parsePort(address, 4420);
    let sockets: ByteListener;
    try {
      sockets = await listen(address.traddr, port);
    } catch (e) {
      throw new TransportError(
        `Cannot listen on ${address.traddr}:${port}: ${(e as Error).message}`,
        "connect",
        { cause: e },
      );
    }
    return new TcpListener(sockets, association, this.#listenOptions);
  }
}

/** The instance registered as `"tcp"` when this package is imported. */
export const tcp: TcpTransport = new TcpTransport();

/**
 * The NVMe/TCP transport object: `connect` for hosts, `listen` for controllers. Importing the
 * package registers {@linkcode tcp} under the name `"tcp"` and TRTYPE 3.
 *
 * @module
 */

import * as net from "node:net";
import { TransportType } from "@nvmf/proto";
import {
  type Association,
  type ConnectParams,
  type HandoffCarrier,
  type HandoffParams,
  type Listener,
  type ListenerOptions,
  type QueuePair,
  QueuePairClosedError,
  type QueuePairResume,
  type QueuePairState,
  type Transport,
  type TransportAddress,
  TransportError,
} from "@nvmf/transport";
import { TcpCarrier, tcpHandoffParams, tcpNegotiatedOf } from "./handoff.ts";
import { controllerHandshake, hostHandshake } from "./handshake.ts";
import { TcpQueuePair } from "./queue_pair.ts";
import { PduReader } from "./reader.ts";
import { type ByteListener, type ByteStream, dial, listen, streamFromSocket } from "./stream.ts";

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
  ms = SETUP_TIMEOUT_MS,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      stream.close();
      reject(new TransportError(`Timed out after ${ms} ms: ${what}`, "timeout"));
    }, ms);
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

function noop(): void {}

class TcpListener implements Listener {
  readonly address: TransportAddress;
  readonly #sockets: ByteListener;
  readonly #association: Association;
  readonly #options: TcpListenOptions;
  readonly #limits: ListenerOptions;
  readonly #ready: QueuePair[] = [];
  #waiters: { resolve(qp: QueuePair): void; reject(e: Error): void }[] = [];
  #closed = false;
  readonly #handshaking = new Set<ByteStream>();
  readonly #loop: Promise<void>;

  constructor(
    sockets: ByteListener,
    association: Association,
    options: TcpListenOptions,
    limits: ListenerOptions,
  ) {
    this.#sockets = sockets;
    this.#association = association;
    this.#options = options;
    this.#limits = limits;
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
      // Refused before anything is allocated for it: one accept and one close.
      const release = this.#limits.admit === undefined ? noop : this.#limits.admit(stream.remote);
      if (release === undefined) stream.close();
      else this.#setUp(stream, release);
    }
  }

  async #setUp(stream: ByteStream, release: () => void): Promise<void> {
    this.#handshaking.add(stream);
    const reader = new PduReader(stream, RX_BUFFER);
    let qp: QueuePair | undefined;
    try {
      const tcp = await withTimeout(
        controllerHandshake(stream, reader, this.#association),
        stream,
        `ICReq from ${stream.remote}`,
        undefined,
        this.#limits.setupTimeout,
      );
      if (this.#closed) {
        stream.close();
        release();
        return;
      }
      qp = new TcpQueuePair(this.#association, stream, reader, tcp, {
        controller: true,
        admin: false,
        qsize: 0,
        sqFlowControl: true,
      });
      qp.closed.then(release, release);
      const w = this.#waiters.shift();
      if (w) w.resolve(qp);
      else this.#ready.push(qp);
    } catch (e) {
      stream.close();
      if (qp === undefined) release();
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
   * @param options Admission of incoming connections, ICReq deadline (default 10 s).
   * @returns The listener; its `address` has the real port.
   */
  async listen(
    association: Association,
    address: TransportAddress,
    options: ListenerOptions = {},
  ): Promise<Listener> {
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
    return new TcpListener(sockets, association, this.#listenOptions, options);
  }

  /**
   * Controller: sets up a queue pair on a TCP connection the caller accepted itself — ICReq and
   * ICResp, as a listener's `accept()` does — as FreeBSD's ctld accepts sockets and hands each
   * to `nvmf_accept()`. The queue pair's first capsule will be the host's Connect. A socket
   * accepted with `node:net` (`net.createServer({ pauseOnConnect: true })`) can later be passed
   * to another process: detach the queue pair and `release()` the carrier.
   *
   * @param association The controller association (its `tcp` parameters are what ICResp offers).
   * @param socket A connected `node:net` socket.
   * @returns The controller queue pair.
   * @throws {TransportError} Code `"timeout"`, `"negotiation"`, `"protocol"` or `"connection"`
   * when set-up fails; the socket is closed then.
   * @example Usage
   * ```ts
   * import * as net from "node:net";
   * import { Association } from "@nvmf/transport";
   * import { tcp } from "@nvmf/transport-tcp";
   * import assert from "node:assert/strict";
   * const server = net.createServer({ pauseOnConnect: true });
   * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
   * const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
   * const trsvcid = String((server.address() as net.AddressInfo).port);
   * const [host, ctrl] = await Promise.all([
   *   tcp.connect(new Association(tcp, false), {
   *     address: { traddr: "127.0.0.1", trsvcid }, admin: true, qid: 0, qsize: 32,
   *   }),
   *   accepted.then((socket) => tcp.acceptSocket(new Association(tcp, true), socket)),
   * ]);
   * assert.equal(ctrl.controller, true);
   * await host.close();
   * assert.equal(await ctrl.closed, undefined);
   * await new Promise((resolve) => server.close(resolve));
   * ```
   */
  async acceptSocket(association: Association, socket: net.Socket): Promise<QueuePair> {
    if (!association.controller) throw new TypeError("Cannot accept with a host association");
    const stream = streamFromSocket(socket);
    const reader = new PduReader(stream, RX_BUFFER);
    try {
      const negotiated = await withTimeout(
        controllerHandshake(stream, reader, association),
        stream,
        `ICReq from ${stream.remote}`,
      );
      return new TcpQueuePair(association, stream, reader, negotiated, {
        controller: true,
        admin: false,
        qsize: 0,
        sqFlowControl: true,
      });
    } catch (e) {
      stream.close();
      throw e;
    }
  }

  /**
   * Continues a handed-over NVMe/TCP connection at `resume`: no ICReq, no Connect. The
   * negotiated values come from `resume.params` (a record's TCP fields, as the kernel's
   * `tcp_allocate_qpair()` reads them) or else from the carrier of a queue pair detached in this
   * process. Any `TcpTransport` adopts any NVMe/TCP carrier.
   *
   * @param association The new owner's association; its role is the queue pair's.
   * @param carrier A detached queue pair's, or {@linkcode TcpTransport.carrierFrom}'s.
   * @param resume Queue identity, SQ state, and the record's TCP fields.
   * @returns The queue pair.
   * @throws {TypeError} When the carrier is not an NVMe/TCP one, was adopted already, or came
   * from another process without `resume.params`.
   * @throws {RangeError} When a TCP field cannot be used.
   * @example Usage
   * ```ts
   * import { Association, commandCapsule } from "@nvmf/transport";
   * import { tcp } from "@nvmf/transport-tcp";
   * import { encodeSqe } from "@nvmf/proto";
   * import assert from "node:assert/strict";
   * const listener = await tcp.listen(new Association(tcp, true), { traddr: "127.0.0.1", trsvcid: "0" });
   * const old = await tcp.connect(new Association(tcp, false), {
   *   address: listener.address, admin: true, qid: 0, qsize: 32,
   * });
   * const ctrl = await listener.accept();
   * const handoff = await old.detach();
   * const params = tcp.handoffParams(handoff.state, 0);
   * assert.equal(params.rxpda, 4); // (PDA 0 + 1) * 4 bytes
   * const host = tcp.adopt(new Association(tcp, false), handoff, { ...handoff.state, params });
   * await host.transmit(commandCapsule(encodeSqe({ opcode: 0, cid: 1 })));
   * assert.equal((await ctrl.receive()).kind, "command");
   * await host.close();
   * await ctrl.closed;
   * await listener.close();
   * ```
   */
  adopt(association: Association, carrier: HandoffCarrier, resume: QueuePairResume): QueuePair {
    if (!(carrier instanceof TcpCarrier)) {
      throw new TypeError("Cannot adopt the connection: it is not an NVMe/TCP one");
    }
    let negotiated = carrier.negotiated;
    if (resume.params !== undefined) negotiated = tcpNegotiatedOf(resume.params);
    if (negotiated === undefined) {
      throw new TypeError(
        "Cannot adopt a connection from another process without the record's TCP fields (resume.params)",
      );
    }
    carrier.take();
    return new TcpQueuePair(association, carrier.stream, carrier.reader, negotiated, {
      controller: association.controller,
      admin: resume.admin,
      qid: resume.qid,
      qsize: resume.qsize,
      sqFlowControl: resume.sqFlowControl,
      sqhd: resume.sqhd,
      sqtail: resume.sqtail,
      after: carrier.released,
    });
  }

  /**
   * The TCP fields of a qpair handoff record (FreeBSD's `tcp_kernel_handoff_params()`): `fd`,
   * `rxpda` and `txpda` in bytes ((PDA + 1) * 4), `headerDigests`, `dataDigests`, `maxr2t` 0's
   * based, `maxh2cdata`, and `maxIcd` (0 on the controller side, as `tcp_accept()` leaves it).
   *
   * @param state A queue pair's state.
   * @param connection The index of its connection among those handed over: the record's `fd`.
   * @returns The named values.
   * @example Usage
   * ```ts
   * import { tcp } from "@nvmf/transport-tcp";
   * import assert from "node:assert/strict";
   * const params = tcp.handoffParams({
   *   controller: true, admin: false, qid: 1, qsize: 128, sqhd: 0, sqtail: 0, sqFlowControl: true,
   *   transport: { rxpda: 0, txpda: 0, headerDigests: false, dataDigests: false, maxr2t: 1,
   *     maxh2cdata: 131072, maxIcd: 16384 },
   * }, 0);
   * assert.deepEqual([params.rxpda, params.maxr2t, params.maxIcd], [4, 0, 0]);
   * ```
   */
  handoffParams(state: QueuePairState, connection: number): HandoffParams {
    return tcpHandoffParams(state, connection);
  }

  /**
   * A carrier for a socket another process passed (what a carrier's `release()` gave up there,
   * received with `process.on("message", (message, socket) => ...)`); adopt it with the
   * record's TCP fields in `resume.params`.
   *
   * @param passed A `node:net` socket.
   * @returns The carrier.
   * @throws {TypeError} When `passed` is not a `node:net` socket.
   */
  carrierFrom(passed: unknown): HandoffCarrier {
    if (!(passed instanceof net.Socket)) {
      throw new TypeError("Cannot take the connection up: it is not a node:net socket");
    }
    const stream = streamFromSocket(passed);
    return new TcpCarrier(this, stream, new PduReader(stream, RX_BUFFER));
  }
}

/**
 * The instance registered as `"tcp"` when this package is imported.
 *
 * @example Usage
 * ```ts
 * import { getTransport } from "@nvmf/transport";
 * import { tcp } from "@nvmf/transport-tcp";
 * import assert from "node:assert/strict";
 * assert.equal(getTransport("tcp"), tcp);
 * assert.equal(getTransport(3), tcp);
 * ```
 */
export const tcp: TcpTransport = new TcpTransport();

/**
 * Queue pairs: one submission/completion queue pair of an association, carried by one
 * transport connection (NVMe over Fabrics 1.1, 2.1).
 *
 * {@linkcode QueuePair} is the contract host and controller code is written against.
 * {@linkcode BaseQueuePair} is its transport-independent half, which every transport extends
 * (as FreeBSD splits `nvmf_transport.c` from `nvmf_tcp.c`): it keeps the receive queue, the
 * close and error signal, and the SQ head/tail accounting that a handoff records. Transports
 * import it from `@nvmf/transport/implement`.
 *
 * SQ accounting follows FreeBSD's libnvmf: a host advances SQTAIL for every command it
 * transmits and, with SQ flow control, takes SQHD from every CQE it receives; a controller
 * advances SQHD for every response it transmits and writes it into the CQE (FFFFh when flow
 * control is disabled, as Linux's and FreeBSD's controllers do).
 *
 * @module
 */

import { cqeSqhd, setCqeSqhd, SQHD_FLOW_CONTROL_DISABLED } from "@nvmf/proto";
import type { Association } from "./association.ts";
import type { Capsule, CommandCapsule } from "./capsule.ts";
import { QueuePairClosedError, TransportError } from "./errors.ts";
import type { QueuePairHandoff } from "./handoff.ts";
import type { TransportAddress } from "./transport.ts";

/**
 * What `sendControllerData` did, as the kernel's `nvmf_send_controller_data` reports it:
 * - `"sent"`: the data went out; the caller sends a CQE.
 * - `"success-sent"`: the data went out with an implicit successful completion (the NVMe/TCP
 *   SUCCESS flag, only when SQ flow control is disabled); the caller must not send a CQE.
 * - `"more"`: the data went out and more is to come (`last` was false).
 */
export type SendOutcome = "sent" | "success-sent" | "more";

/** What a handoff records of a queue pair (FreeBSD's qpair nvlist, transport-independent part). */
export interface QueuePairState {
  /** Controller side? */
  controller: boolean;
  /** The admin queue? */
  admin: boolean;
  /** Queue ID, once connected (always known on the host side). */
  qid: number | undefined;
  /** Queue size in entries (Connect SQSIZE + 1). */
  qsize: number;
  /** Submission queue head. */
  sqhd: number;
  /** Submission queue tail (host side). */
  sqtail: number;
  /** Whether SQ flow control is in force. */
  sqFlowControl: boolean;
  /** The transport's negotiated values, e.g. for TCP rxpda, txpda, digests, maxr2t, maxh2cdata. */
  transport: Readonly<Record<string, number | boolean>>;
}

/** A queue pair: transmit and receive capsules, move a controller's data, close. */
export interface QueuePair {
  /** The association this queue pair belongs to. */
  readonly association: Association;
  /** True on the controller side. */
  readonly controller: boolean;
  /** True for the admin queue. On a controller it is known once Connect names the queue. */
  readonly admin: boolean;
  /** Queue ID; undefined on a controller until {@linkcode QueuePair.setConnected}. */
  readonly qid: number | undefined;
  /** Queue size in entries. */
  readonly qsize: number;
  /** Whether SQ flow control is in force on this queue. */
  readonly sqFlowControl: boolean;
  /** Current SQ head. */
  readonly sqhd: number;
  /** Current SQ tail (host side). */
  readonly sqtail: number;
  /** Most in-capsule data a command on this queue pair may carry, in bytes. */
  readonly maxInCapsuleData: number;
  /**
   * Settles when the queue pair is done: with undefined after an orderly close (either side),
   * with the {@linkcode TransportError} that ended it otherwise. It never rejects.
   */
  readonly closed: Promise<TransportError | undefined>;
  /** True once the queue pair is closed or failed (when `closed` has settled or is about to). */
  readonly done: boolean;
  /**
   * Optional: this end's address of the connection — on a controller, the address the host
   * reached, which a listener bound to a wildcard (`0.0.0.0`, `::`) cannot tell (Linux's
   * `nvmet_tcp_disc_port_addr` reads it to fill the discovery log). NVMe/TCP: the socket's
   * local IP and port; loopback: the listener's name. Undefined when the transport cannot say.
   */
  readonly localAddress?: TransportAddress;

  /**
   * Sends a capsule: a command (host) or a response (controller). A host's command data is
   * sent in-capsule when it fits, else on the controller's request; buffers are not copied.
   */
  transmit(capsule: Capsule): Promise<void>;
  /** The next capsule received, in arrival order. Rejects once the queue pair is done. */
  receive(): Promise<Capsule>;
  /**
   * Optional: hands every capsule received from now on (and those already waiting) straight
   * to `consumer`, in arrival order, instead of through {@linkcode QueuePair.receive} — a
   * receive loop without a promise per capsule. `onEnd` gets the error `receive()` would have
   * rejected with, once, after the queue pair is done. `receive()` rejects from then on.
   */
  consume?(consumer: (capsule: Capsule) => void, onEnd: (error: Error) => void): void;

  /** Controller: how much data the command carries or asks for (its SGL length). */
  capsuleDataLength(command: CommandCapsule): number;
  /**
   * Controller: checks the transport fields of a received command (its SGL) and returns a
   * generic status code (SCT 0): 0 when it is fine, e.g. SGL_DESCRIPTOR_TYPE_INVALID otherwise.
   */
  validateCommandCapsule(command: CommandCapsule): number;
  /**
   * Controller: fills `into` with the command's data from `offset` (in-capsule data, or
   * fetched from the host). May be called several times to split a transfer.
   */
  receiveControllerData(command: CommandCapsule, offset: number, into: Uint8Array): Promise<void>;
  /**
   * Controller: sends `data` to the host at `offset` of the command's buffer; `last` marks the
   * final piece. See {@linkcode SendOutcome}.
   */
  sendControllerData(
    command: CommandCapsule,
    offset: number,
    data: Uint8Array,
    last: boolean,
  ): Promise<SendOutcome>;

  /** Controller: records what the accepted Connect established (queue ID, size, flow control). */
  setConnected(connect: ConnectedQueue): void;
  /** The negotiated state, for a handoff. */
  state(): QueuePairState;
  /**
   * Hands the connection to a new owner (FreeBSD's libnvmf handing a queue pair to the kernel):
   * nothing may be in flight (host: no command awaiting its response; controller: no data
   * transfer); queued output is written first; then this queue pair is done — `closed` settles
   * with undefined, waiting receivers reject — but the connection stays up, and what the peer
   * sends meanwhile waits for the owner that {@linkcode Transport.adopt}s the returned carrier.
   *
   * @returns The state to continue from and the carrier of the connection.
   * @throws {Error} When commands or transfers are in flight, or the queue pair is done.
   * @throws {TypeError} When the transport cannot hand queue pairs off.
   */
  detach(): Promise<QueuePairHandoff>;
  /** Closes the queue pair in an orderly way; pending operations reject. Idempotent. */
  close(): Promise<void>;
}

/** What a controller learns from an accepted Connect command. */
export interface ConnectedQueue {
  /** Queue ID: 0 for the admin queue. */
  qid: number;
  /** Queue size in entries (SQSIZE + 1). */
  qsize: number;
  /** False when the host disabled SQ flow control (CATTR bit 2) and the controller agreed. */
  sqFlowControl: boolean;
}

/** How a {@linkcode BaseQueuePair} starts. */
export interface BaseQueuePairInit {
  /** Controller side? */
  controller: boolean;
  /** Admin queue? (A controller learns it at Connect; pass false until then.) */
  admin: boolean;
  /** Queue ID (host side; or a handed-off controller queue). */
  qid?: number;
  /** Queue size in entries; 0 on a controller until Connect. */
  qsize: number;
  /** Whether SQ flow control is in force. */
  sqFlowControl: boolean;
  /** Starting SQ head, when continuing a handed-off queue pair. */
  sqhd?: number;
  /** Starting SQ tail, when continuing a handed-off queue pair. */
  sqtail?: number;
}

interface Waiter {
  resolve(capsule: Capsule): void;
  reject(error: Error): void;
}

/**
 * The transport-independent half of a queue pair. A transport extends it, calls
 * {@linkcode BaseQueuePair._deliver} for every capsule it receives and
 * {@linkcode BaseQueuePair._fail} when its connection breaks, and implements the abstract
 * members.
 *
 * @example Usage
 * ```ts
 * import { Association, type Capsule, getTransport } from "@nvmf/transport";
 * import { BaseQueuePair } from "@nvmf/transport/implement";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 * // A queue pair that receives whatever it transmits.
 * class Echo extends BaseQueuePair {
 *   protected _transmit(c: Capsule) { this._deliver(c); return Promise.resolve(); }
 *   protected _close() { return Promise.resolve(); }
 *   protected _transportState() { return {}; }
 *   capsuleDataLength() { return 0; }
 *   validateCommandCapsule() { return 0; }
 *   receiveControllerData() { return Promise.resolve(); }
 *   sendControllerData() { return Promise.resolve("sent" as const); }
 * }
 * const na = new Association(getTransport("loopback"), false);
 * const qp = new Echo(na, { controller: false, admin: true, qid: 0, qsize: 32, sqFlowControl: true });
 * const sqe = new Uint8Array(64);
 * await qp.transmit({ kind: "command", sqe, data: undefined, direction: undefined });
 * assert.equal(qp.sqtail, 1);
 * assert.equal((await qp.receive()).kind, "command");
 * await qp.close();
 * assert.equal(await qp.closed, undefined);
 * ```
 */
export abstract class BaseQueuePair implements QueuePair {
  /** The association this queue pair belongs to. */
  readonly association: Association;
  /** True on the controller side. */
  readonly controller: boolean;
  /** Settles when the queue pair is done; see {@linkcode QueuePair.closed}. */
  readonly closed: Promise<TransportError | undefined>;
  #admin: boolean;
  #qid: number | undefined;
  #qsize: number;
  #sqFlowControl: boolean;
  #sqhd: number;
  #sqtail: number;
  #rx: (Capsule | undefined)[] = [];
  #rxHead = 0;
  #waiters: Waiter[] = [];
  #consumer: ((capsule: Capsule) => void) | undefined;
  #delivering = false;
  #onEnd: ((error: Error) => void) | undefined;
  #done = false;
  #error: TransportError | undefined;
  #closedByPeer = false;
  #settle!: (value: TransportError | undefined) => void;

  /**
   * Starts the generic half.
   *
   * @param association The association.
   * @param init Role, queue identity and SQ state.
   */
  constructor(association: Association, init: BaseQueuePairInit) {
    this.association = association;
    this.controller = init.controller;
    this.#admin = init.admin;
    this.#qid = init.qid;
    this.#qsize = init.qsize;
    this.#sqFlowControl = init.sqFlowControl;
    this.#sqhd = init.sqhd ?? 0;
    this.#sqtail = init.sqtail ?? 0;
    this.closed = new Promise((resolve) => this.#settle = resolve);
  }

  /** True for the admin queue. */
  get admin(): boolean {
    return this.#admin;
  }
  /** Queue ID, when known. */
  get qid(): number | undefined {
    return this.#qid;
  }
  /** Queue size in entries. */
  get qsize(): number {
    return this.#qsize;
  }
  /** Whether SQ flow control is in force. */
  get sqFlowControl(): boolean {
    return this.#sqFlowControl;
  }
  /** Current SQ head. */
  get sqhd(): number {
    return this.#sqhd;
  }
  /** Current SQ tail (host side). */
  get sqtail(): number {
    return this.#sqtail;
  }
  /** The error that ended the queue pair, if it failed. */
  get error(): TransportError | undefined {
    return this.#error;
  }
  /** True once closed or failed. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Most in-capsule data per command. A controller that has not seen Connect yet accepts the
   * larger of the admin and I/O sizes (the Connect data itself is 1 KiB).
   */
  get maxInCapsuleData(): number {
    const na = this.association;
    if (this.controller && this.#qid === undefined) {
      return Math.max(na.maxInCapsuleData(true), na.maxInCapsuleData(false));
    }
    return na.maxInCapsuleData(this.#admin);
  }

  /**
   * Sends a capsule. See {@linkcode QueuePair.transmit}.
   *
   * @param capsule A command (host) or a response (controller).
   * @returns Settles when the transport has taken the capsule.
   */
  transmit(capsule: Capsule): Promise<void> {
    if (this.#done) return Promise.reject(this.#doneError("transmit"));
    if (this.controller) {
      if (capsule.kind !== "response") {
        return Promise.reject(new TypeError("Cannot transmit a command from a controller"));
      }
      if (this.#sqFlowControl) {
        this.#sqhd = (this.#sqhd + 1) % this.#qsize;
        setCqeSqhd(capsule.cqe, this.#sqhd);
      } else {
        // As Linux's nvmet and FreeBSD's nvmft: SQHD FFFFh says SQ flow control is disabled.
        setCqeSqhd(capsule.cqe, SQHD_FLOW_CONTROL_DISABLED);
      }
    } else {
      if (capsule.kind !== "command") {
        return Promise.reject(new TypeError("Cannot transmit a response from a host"));
      }
      this.#sqtail = (this.#sqtail + 1) % this.#qsize;
    }
    return this._transmit(capsule);
  }

  /**
   * The next capsule received. See {@linkcode QueuePair.receive}.
   *
   * @returns The capsule.
   */
  receive(): Promise<Capsule> {
    if (this.#consumer !== undefined) {
      return Promise.reject(new TypeError("Cannot receive: capsules go to the consumer"));
    }
    if (this.#rxHead < this.#rx.length) {
      const capsule = this.#rx[this.#rxHead]!;
      this.#rx[this.#rxHead++] = undefined;
      if (this.#rxHead === this.#rx.length) {
        this.#rx.length = 0;
        this.#rxHead = 0;
      }
      return Promise.resolve(capsule);
    }
    if (this.#done) return Promise.reject(this.#doneError("receive"));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /**
   * Hands received capsules straight to `consumer`. See {@linkcode QueuePair.consume}.
   *
   * @param consumer Called synchronously with each capsule as the transport receives it, never
   *   re-entrantly (a capsule that arrives during the call is handed over after it); it must
   *   not throw (a throw ends the queue pair with a `TransportError`).
   * @param onEnd Called once, in a microtask after the queue pair is done, with the error a
   *   pending `receive()` would have rejected with.
   * @throws {TypeError} When a consumer is set already.
   */
  consume(consumer: (capsule: Capsule) => void, onEnd: (error: Error) => void): void {
    if (this.#consumer !== undefined) {
      throw new TypeError("Cannot consume: the queue pair has a consumer already");
    }
    this.#consumer = consumer;
    this.#onEnd = onEnd;
    const waiting = this.#rx;
    const head = this.#rxHead;
    this.#rx = [];
    this.#rxHead = 0;
    for (let i = head; i < waiting.length; i++) this.#handOver(consumer, waiting[i]!);
    if (this.#done) {
      this.#onEnd = undefined;
      const error = this.#doneError("receive");
      queueMicrotask(() => onEnd(error));
    }
  }

  /**
   * Calls the consumer, never re-entrantly: a capsule that arrives while it runs (a transport
   * that delivers synchronously, as the loopback does, when the consumer's own transmit is
   * answered at once) waits in `#rx` and is handed over when the call returns.
   */
  #handOver(consumer: (capsule: Capsule) => void, capsule: Capsule): void {
    if (this.#delivering) {
      this.#rx.push(capsule);
      return;
    }
    this.#delivering = true;
    try {
      this.#call(consumer, capsule);
      const rx = this.#rx;
      while (this.#rxHead < rx.length && !this.#done) {
        const next = rx[this.#rxHead]!;
        rx[this.#rxHead++] = undefined;
        this.#call(consumer, next);
      }
      rx.length = 0;
      this.#rxHead = 0;
    } finally {
      this.#delivering = false;
    }
  }

  #call(consumer: (capsule: Capsule) => void, capsule: Capsule): void {
    try {
      consumer(capsule);
    } catch (e) {
      this._fail(
        new TransportError(
          `Cannot deliver a capsule: its consumer threw: ${(e as Error)?.message ?? e}`,
          "connection",
          { cause: e },
        ),
      );
    }
  }

  /**
   * Records what an accepted Connect established. Controller side only.
   *
   * @param connect Queue ID, size and flow control.
   */
  setConnected(connect: ConnectedQueue): void {
    if (!this.controller) throw new TypeError("Cannot set the Connect state of a host queue pair");
    this.#qid = connect.qid;
    this.#admin = connect.qid === 0;
    this.#qsize = connect.qsize;
    this.#sqFlowControl = connect.sqFlowControl;
  }

  /**
   * The negotiated state, for a handoff.
   *
   * @returns A snapshot.
   */
  state(): QueuePairState {
    return {
      controller: this.controller,
      admin: this.#admin,
      qid: this.#qid,
      qsize: this.#qsize,
      sqhd: this.#sqhd,
      sqtail: this.#sqtail,
      sqFlowControl: this.#sqFlowControl,
      transport: this._transportState(),
    };
  }

  /**
   * Hands the connection to a new owner. See {@linkcode QueuePair.detach}; the transport does
   * the work in {@linkcode BaseQueuePair._detach}.
   *
   * @returns The state and the carrier.
   */
  async detach(): Promise<QueuePairHandoff> {
    if (this.#done) throw this.#doneError("detach");
    return await this._detach();
  }

  /**
   * Closes in an orderly way. Idempotent.
   *
   * @returns Settles when the transport connection is released.
   */
  async close(): Promise<void> {
    if (this.#done) return;
    this.#finish(undefined, new QueuePairClosedError("Cannot receive: the queue pair was closed"));
    await this._close();
  }

  /**
   * Transport hook: a capsule arrived. Handles the host's SQHD accounting and wakes a waiting
   * receiver. Capsules that arrive after the end are dropped.
   *
   * @param capsule The received capsule.
   */
  protected _deliver(capsule: Capsule): void {
    if (this.#done) return;
    if (!this.controller && capsule.kind === "response" && this.#sqFlowControl) {
      this.#sqhd = cqeSqhd(capsule.cqe);
    }
    const consumer = this.#consumer;
    if (consumer !== undefined) {
      this.#handOver(consumer, capsule);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(capsule);
    else this.#rx.push(capsule);
  }

  /**
   * Transport hook: the connection failed. Pending receivers reject with `error`, `closed`
   * settles with it, and the transport's `_close` runs. Only the first failure counts.
   *
   * @param error What ended the queue pair.
   */
  protected _fail(error: TransportError): void {
    if (this.#done) return;
    this.#finish(error, error);
    this._close().catch(() => {});
  }

  /**
   * Transport hook: the peer closed the connection in an orderly way.
   */
  protected _peerClosed(): void {
    if (this.#done) return;
    this.#closedByPeer = true;
    this.#finish(
      undefined,
      new QueuePairClosedError("Cannot receive: the peer closed the queue pair"),
    );
    this._close().catch(() => {});
  }

  /**
   * Transport: detaches the connection (see {@linkcode QueuePair.detach}) — checks that nothing
   * is in flight, flushes, calls {@linkcode BaseQueuePair._handedOff} and returns the carrier.
   * Called only while the queue pair is not done. The default refuses: a transport that hands
   * queue pairs off overrides it.
   *
   * @returns The state and the carrier.
   */
  protected _detach(): Promise<QueuePairHandoff> {
    return Promise.reject(
      new TypeError(
        `Cannot detach the queue pair: transport ${this.association.transport.name} does not hand queue pairs off`,
      ),
    );
  }

  /**
   * Transport hook: the queue pair was handed to a new owner (see `@nvmf/handoff`). It is done
   * here — `closed` settles with undefined and waiting receivers reject — but the connection
   * stays open for the new owner: `_close` is not called.
   */
  protected _handedOff(): void {
    if (this.#done) return;
    this.#finish(
      undefined,
      new QueuePairClosedError("Cannot receive: the queue pair was handed to another owner"),
    );
  }

  /** Transport: sends a capsule whose accounting is done. */
  protected abstract _transmit(capsule: Capsule): Promise<void>;
  /** Transport: releases the connection. Called once, after the queue pair is marked done. */
  protected abstract _close(): Promise<void>;
  /** Transport: its negotiated values for {@linkcode QueuePairState.transport}. */
  protected abstract _transportState(): Record<string, number | boolean>;

  /** See {@linkcode QueuePair.capsuleDataLength}. */
  abstract capsuleDataLength(command: CommandCapsule): number;
  /** See {@linkcode QueuePair.validateCommandCapsule}. */
  abstract validateCommandCapsule(command: CommandCapsule): number;
  /** See {@linkcode QueuePair.receiveControllerData}. */
  abstract receiveControllerData(
    command: CommandCapsule,
    offset: number,
    into: Uint8Array,
  ): Promise<void>;
  /** See {@linkcode QueuePair.sendControllerData}. */
  abstract sendControllerData(
    command: CommandCapsule,
    offset: number,
    data: Uint8Array,
    last: boolean,
  ): Promise<SendOutcome>;

  /**
   * The error an operation gets once the queue pair is done.
   *
   * @param what The operation, for the message.
   * @returns The failure, or a closed error.
   */
  protected _doneError(what: string): Error {
    return this.#doneError(what);
  }

  #doneError(what: string): Error {
    if (this.#error !== undefined) return this.#error;
    return new QueuePairClosedError(
      this.#closedByPeer
        ? `Cannot ${what}: the peer closed the queue pair`
        : `Cannot ${what}: the queue pair is closed`,
    );
  }

  #finish(error: TransportError | undefined, waiterError: Error): void {
    this.#done = true;
    this.#error = error;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(waiterError);
    const onEnd = this.#onEnd;
    this.#onEnd = undefined;
    if (onEnd !== undefined) queueMicrotask(() => onEnd(waiterError));
    this.#settle(error);
  }
}

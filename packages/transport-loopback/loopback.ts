/**
 * The loopback transport: both ends of every queue pair live in this process, and capsules and
 * data move between them with the semantics and limits of NVMe/TCP — in-capsule data only up
 * to the negotiated size, larger host-to-controller data fetched on demand in MAXH2CDATA-sized
 * chunks (as R2T/H2CData would), controller-to-host data in as many pieces as the controller
 * sends, and the implicit-success completion when SQ flow control is disabled.
 *
 * The normal path uses no timers and copies no capsule: the SQE, CQE and data buffers are
 * handed over; data is copied once, from the host's buffer to the controller's or back, as a
 * network would.
 *
 * @module
 */

import {
  CQE_CID,
  CQE_SIZE,
  CQE_SQID,
  Fes,
  GenericStatus,
  sqeCid,
  TransportType,
} from "@nvmf/proto";
import {
  type Association,
  type Capsule,
  type CommandCapsule,
  type ConnectParams,
  type HandoffCarrier,
  type HandoffParams,
  type Listener,
  type QueuePair,
  QueuePairClosedError,
  type QueuePairHandoff,
  type QueuePairResume,
  type QueuePairState,
  type SendOutcome,
  type Transport,
  type TransportAddress,
  TransportError,
} from "@nvmf/transport";
import {
  BaseQueuePair,
  checkTransfer,
  commandSglLength,
  isInCapsuleCommand,
  prepareCommandSgl,
  validateCommandSgl,
} from "@nvmf/transport/implement";

/** What a loopback hook sees of one capsule crossing a connection. */
export interface LoopbackCapsuleEvent {
  /** Which way it goes. */
  direction: "host-to-controller" | "controller-to-host";
  /** The capsule (the same object the receiver will get, unless a hook replaces it). */
  capsule: Capsule;
  /** 1-based count of capsules on this connection, both directions together. */
  index: number;
  /** The connection's queue ID as the host named it. */
  qid: number;
  /** The listener address of the connection. */
  traddr: string;
}

/** Test hooks of a {@linkcode LoopbackTransport}: fault injection and observation. */
export interface LoopbackHooks {
  /** Called for every capsule that crosses any connection, before it is delivered. */
  observe?: (event: LoopbackCapsuleEvent) => void;
  /** Delivers every capsule this many milliseconds late (a timer per capsule; 0 = none). */
  delayMs?: number;
  /**
   * Drops a connection when its Nth capsule (1-based, both directions counted) would cross:
   * that capsule is lost and both ends fail with a `TransportError` (code `"connection"`).
   */
  dropAtCapsule?: number;
  /**
   * May corrupt a capsule: change its bytes in place, or return a replacement capsule to
   * deliver instead.
   */
  corrupt?: (event: LoopbackCapsuleEvent) => Capsule | void;
}

/** Options of a {@linkcode LoopbackTransport}. */
export interface LoopbackOptions {
  /** Test hooks; change them at any time through {@linkcode LoopbackTransport.hooks}. */
  hooks?: LoopbackHooks;
}

/** A host command in flight, as the controller end sees it. */
class LoopbackCommand implements CommandCapsule {
  readonly kind = "command" as const;
  readonly sqe: Uint8Array;
  readonly data: undefined = undefined;
  readonly direction: undefined = undefined;
  /** The host's capsule: its data buffer and direction. */
  readonly host: CommandCapsule;
  /** Bytes that came in the capsule (0 when the data is fetched on request). */
  readonly icdLength: number;
  /** The host end this command came from. */
  readonly from: LoopbackQueuePair;
  /** Bytes sent to the host so far, in order, as NVMe/TCP's C2HData must be. */
  c2h = 0;
  /** Bytes fetched from the host so far, in order, as NVMe/TCP's R2Ts must be. */
  h2c = 0;

  constructor(host: CommandCapsule, icdLength: number, from: LoopbackQueuePair) {
    this.sqe = host.sqe;
    this.host = host;
    this.icdLength = icdLength;
    this.from = from;
  }
}

// Friend of LoopbackHandoff, set in its static block.
let takeEnd: (
  h: LoopbackHandoff,
  transport: LoopbackTransport,
  controller: boolean,
) => LoopbackQueuePair;

/**
 * A loopback connection taken from its queue pair by `detach()`: the queue state to continue
 * from, and the connection itself, which capsules from the peer wait in until
 * {@linkcode LoopbackTransport.adopt} gives it a new owner.
 */
class LoopbackHandoff implements QueuePairHandoff {
  readonly state: QueuePairState;
  readonly #end: LoopbackQueuePair;
  #spent = false;

  get transport(): LoopbackTransport {
    return this.#end.transport;
  }

  constructor(end: LoopbackQueuePair, state: QueuePairState) {
    this.#end = end;
    this.state = state;
  }

  discard(): Promise<void> {
    if (!this.#spent) {
      this.#spent = true;
      this.#end.discardDetached();
    }
    return Promise.resolve();
  }

  static {
    takeEnd = (h, transport, controller) => {
      if (h.#spent) {
        throw new TypeError("Cannot adopt the connection: it was adopted or discarded already");
      }
      if (h.#end.transport !== transport) {
        throw new TypeError("Cannot adopt the connection: it belongs to another loopback fabric");
      }
      if (h.#end.controller !== controller) {
        throw new TypeError("Cannot adopt the connection: the association has the other role");
      }
      h.#spent = true;
      return h.#end;
    };
  }
}

/** One end of a loopback connection. */
class LoopbackQueuePair extends BaseQueuePair {
  peer!: LoopbackQueuePair;
  readonly #transport: LoopbackTransport;
  readonly #link: Link;
  /** Host end: commands sent and not completed, by CID. */
  readonly #inflight = new Map<number, LoopbackCommand>();
  /** Once detached: capsules for the next owner, and how the link went down meanwhile. */
  #parked: Capsule[] | undefined;
  #downWhileDetached: { error: TransportError | undefined } | undefined;

  constructor(
    transport: LoopbackTransport,
    association: Association,
    link: Link,
    controller: boolean,
    params?: ConnectParams,
    resume?: QueuePairResume,
  ) {
    super(association, {
      controller,
      admin: resume?.admin ?? params?.admin ?? false,
      qid: resume?.qid ?? params?.qid,
      qsize: resume?.qsize ?? params?.qsize ?? 0,
      sqFlowControl: resume?.sqFlowControl ??
        (controller ? true : association.params.sqFlowControl),
      sqhd: resume?.sqhd,
      sqtail: resume?.sqtail,
    });
    this.#transport = transport;
    this.#link = link;
  }

  /** The fabric this end belongs to. */
  get transport(): LoopbackTransport {
    return this.#transport;
  }

  /** The listener's name, on both ends. See `QueuePair.localAddress`. */
  get localAddress(): TransportAddress {
    return { traddr: this.#link.traddr };
  }

  /** Ends this end for a new owner, synchronously; see `QueuePair.detach()`. */
  detachNow(): LoopbackHandoff {
    if (this.done) throw this._doneError("detach");
    if (this.#inflight.size > 0) {
      throw new Error(
        `Cannot detach the queue pair: ${this.#inflight.size} commands are in flight`,
      );
    }
    const state = this.state();
    this.#parked = [];
    this._handedOff();
    return new LoopbackHandoff(this, state);
  }

  protected _detach(): Promise<QueuePairHandoff> {
    try {
      return Promise.resolve(this.detachNow());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** A detached end nobody adopts: the connection closes, the peer sees an orderly close. */
  discardDetached(): void {
    this.#parked = undefined;
    this.#downWhileDetached = undefined;
    this.#link.close(this);
  }

  /** Continues the connection of a detached end: takes its place on the link. */
  static takeOver(
    old: LoopbackQueuePair,
    association: Association,
    resume: QueuePairResume,
  ): LoopbackQueuePair {
    const link = old.#link;
    const qp = new LoopbackQueuePair(
      old.#transport,
      association,
      link,
      old.controller,
      undefined,
      resume,
    );
    qp.peer = old.peer;
    old.peer.peer = qp;
    if (link.host === old) link.host = qp;
    else link.controller = qp;
    const down = old.#downWhileDetached;
    for (const capsule of old.#parked ?? []) qp._receiveFromPeer(capsule);
    old.#parked = undefined;
    if (down !== undefined) qp._linkDown(down.error);
    return qp;
  }

  protected _transmit(capsule: Capsule): Promise<void> {
    if (capsule.kind === "command") {
      const cid = sqeCid(capsule.sqe);
      if (this.#inflight.has(cid)) {
        return Promise.reject(
          new RangeError(`Cannot transmit command ${cid}: a command with that CID is in flight`),
        );
      }
      const length = capsule.data?.length ?? 0;
      const inCapsule = prepareCommandSgl(
        capsule.sqe,
        length,
        capsule.direction,
        this.maxInCapsuleData,
      );
      const command = new LoopbackCommand(capsule, inCapsule ? length : 0, this);
      this.#inflight.set(cid, command);
      this.#cross(command);
    } else {
      this.#cross(capsule);
    }
    return Promise.resolve();
  }

  /** Hands a capsule to the peer, through the hooks. */
  #cross(capsule: Capsule): void {
    const link = this.#link;
    const hooks = this.#transport.hooks;
    link.count++;
    if (hooks.observe || hooks.corrupt || hooks.dropAtCapsule || hooks.delayMs) {
      const event: LoopbackCapsuleEvent = {
        direction: this.controller ? "controller-to-host" : "host-to-controller",
        capsule,
        index: link.count,
        qid: link.qid,
        traddr: link.traddr,
      };
      if (hooks.dropAtCapsule !== undefined && link.count >= hooks.dropAtCapsule) {
        link.drop(`Dropped the connection at capsule ${link.count} (loopback dropAtCapsule hook)`);
        return;
      }
      capsule = hooks.corrupt?.(event) ?? capsule;
      event.capsule = capsule;
      hooks.observe?.(event);
      if (hooks.delayMs) {
        const timer = setTimeout(() => {
          link.timers.delete(timer);
          this.peer._receiveFromPeer(capsule);
        }, hooks.delayMs);
        link.timers.add(timer);
        return;
      }
    }
    this.peer._receiveFromPeer(capsule);
  }

  /** Called by the peer end with a capsule for this end. */
  _receiveFromPeer(capsule: Capsule): void {
    if (this.#parked !== undefined) {
      this.#parked.push(capsule); // detached: the next owner's
      return;
    }
    if (capsule.kind === "response" && !this.controller) {
      if (capsule.cqe.length !== CQE_SIZE) return;
      const cqe = capsule.cqe;
      const cid = cqe[CQE_CID] | (cqe[CQE_CID + 1] << 8);
      const command = this.#inflight.get(cid);
      if (command !== undefined) {
        this.#inflight.delete(cid);
        const host = command.host;
        const moved = host.direction === "controller-to-host"
          ? command.c2h
          : command.icdLength > 0
          ? command.icdLength
          : command.h2c;
        capsule = checkTransfer(host, moved, capsule);
      }
    }
    this._deliver(capsule);
  }

  /** Ends the connection as a protocol violation, as an NVMe/TCP TermReq would. */
  _dropLink(reason: string): void {
    this.#link.drop(reason, "protocol", Fes.INVALID_PDU_HEADER_FIELD);
  }

  /** Called by the link when the connection is dropped or the peer closes. */
  _linkDown(error: TransportError | undefined): void {
    if (this.#parked !== undefined) {
      this.#downWhileDetached ??= { error };
      return;
    }
    this.#inflight.clear();
    if (error === undefined) this._peerClosed();
    else this._fail(error);
  }

  protected _close(): Promise<void> {
    this.#inflight.clear();
    this.#link.close(this);
    return Promise.resolve();
  }

  protected _transportState(): Record<string, number | boolean> {
    return {
      maxIcd: this.maxInCapsuleData,
      maxh2cdata: this.#chunkSize(),
    };
  }

  /** H2C data moves in chunks of the controller's MAXH2CDATA, as over NVMe/TCP. */
  #chunkSize(): number {
    const controllerEnd = this.controller ? this : this.peer;
    return controllerEnd.association.params.tcp.maxh2cdata;
  }

  #command(command: CommandCapsule, what: string): LoopbackCommand {
    if (!this.controller) {
      throw new TypeError(`Cannot ${what} on a host queue pair`);
    }
    if (!(command instanceof LoopbackCommand) || command.from !== this.peer) {
      throw new TypeError(`Cannot ${what}: the command was not received on this queue pair`);
    }
    if (this.done) throw this._doneError(what);
    return command;
  }

  capsuleDataLength(command: CommandCapsule): number {
    return commandSglLength(this.#command(command, "read the data length").sqe);
  }

  validateCommandCapsule(command: CommandCapsule): number {
    const cmd = this.#command(command, "validate a command");
    const status = validateCommandSgl(cmd.sqe, cmd.icdLength);
    if (status !== GenericStatus.SUCCESS) return status;
    if (cmd.icdLength > this.maxInCapsuleData) return GenericStatus.DATA_SGL_LENGTH_INVALID;
    return status;
  }

  receiveControllerData(command: CommandCapsule, offset: number, into: Uint8Array): Promise<void> {
    let cmd: LoopbackCommand;
    try {
      cmd = this.#command(command, "receive controller data");
      checkRange(cmd, offset, into.length, "host-to-controller");
    } catch (e) {
      return Promise.reject(e);
    }
    const source = cmd.host.data!;
    if (isInCapsuleCommand(cmd.sqe)) {
      into.set(source.subarray(offset, offset + into.length));
      return Promise.resolve();
    }
    if (offset !== cmd.h2c) {
      // As NVMe/TCP's host refuses an R2T out of order (PDU sequence error).
      const reason = `Cannot fetch data at offset ${offset} for command ${
        sqeCid(cmd.sqe)
      }: ${cmd.h2c} was next`;
      cmd.from._dropLink(reason);
      return Promise.reject(new TransportError(reason, "protocol"));
    }
    cmd.h2c = offset + into.length;
    // Fetched on request: one R2T's worth at a time.
    const chunk = this.#chunkSize();
    for (let done = 0; done < into.length; done += chunk) {
      const n = Math.min(chunk, into.length - done);
      into.set(source.subarray(offset + done, offset + done + n), done);
    }
    return Promise.resolve();
  }

  sendControllerData(
    command: CommandCapsule,
    offset: number,
    data: Uint8Array,
    last: boolean,
  ): Promise<SendOutcome> {
    let cmd: LoopbackCommand;
    try {
      cmd = this.#command(command, "send controller data");
      checkRange(cmd, offset, data.length, "controller-to-host");
    } catch (e) {
      return Promise.reject(e);
    }
    if (offset !== cmd.c2h) {
      // As NVMe/TCP's host refuses C2HData out of order or overlapping (PDU sequence error).
      const reason = `Cannot take C2H data at offset ${offset} for command ${
        sqeCid(cmd.sqe)
      }: ${cmd.c2h} was next`;
      cmd.from._dropLink(reason);
      return Promise.reject(new TransportError(reason, "protocol"));
    }
    cmd.c2h = offset + data.length;
    cmd.host.data!.set(data, offset);
    if (!last) return Promise.resolve("more");
    if (this.sqFlowControl) return Promise.resolve("sent");
    // NVMe/TCP SUCCESS flag: the host completes the command without a CQE from us.
    const cqe = new Uint8Array(CQE_SIZE);
    const view = new DataView(cqe.buffer);
    view.setUint16(CQE_CID, sqeCid(cmd.sqe), true);
    view.setUint16(CQE_SQID, this.qid ?? 0, true);
    this.#cross({ kind: "response", cqe });
    return Promise.resolve("success-sent");
  }
}

function checkRange(
  cmd: LoopbackCommand,
  offset: number,
  length: number,
  direction: "host-to-controller" | "controller-to-host",
): void {
  const total = commandSglLength(cmd.sqe);
  if (!Number.isInteger(offset) || offset < 0 || offset + length > total) {
    throw new RangeError(
      `Cannot move ${length} bytes at offset ${offset}: the command's SGL covers ${total}`,
    );
  }
  const host = cmd.host;
  if (host.data === undefined || host.direction !== direction) {
    // Over NVMe/TCP the host answers such an R2T or C2HData with a TermReq: the connection ends.
    const reason = `Cannot move data ${direction} for command ${sqeCid(cmd.sqe)}: ` +
      `the host's command carries ${host.direction ?? "no data"}`;
    cmd.from._dropLink(reason);
    throw new TransportError(reason, "protocol", { fes: Fes.INVALID_PDU_HEADER_FIELD });
  }
  if (offset + length > host.data.length) {
    throw new RangeError(
      `Cannot move ${length} bytes at offset ${offset}: the host buffer is ${host.data.length}`,
    );
  }
}

/** The connection between a host end and a controller end. */
class Link {
  count = 0;
  readonly timers = new Set<ReturnType<typeof setTimeout>>();
  readonly qid: number;
  readonly traddr: string;
  host!: LoopbackQueuePair;
  controller!: LoopbackQueuePair;
  #down = false;

  constructor(qid: number, traddr: string) {
    this.qid = qid;
    this.traddr = traddr;
  }

  #teardown(): void {
    this.#down = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  drop(reason: string, code: "connection" | "protocol" = "connection", fes?: number): void {
    if (this.#down) return;
    this.#teardown();
    this.host._linkDown(new TransportError(reason, code, { fes }));
    this.controller._linkDown(new TransportError(reason, code, { fes }));
  }

  close(by: LoopbackQueuePair): void {
    if (this.#down) return;
    this.#teardown();
    (by === this.host ? this.controller : this.host)._linkDown(undefined);
  }
}

class LoopbackListener implements Listener {
  readonly address: TransportAddress;
  readonly association: Association;
  readonly #onClose: (listener: LoopbackListener) => void;
  #pending: LoopbackQueuePair[] = [];
  #waiters: { resolve(qp: LoopbackQueuePair): void; reject(e: Error): void }[] = [];
  #closed = false;

  constructor(
    association: Association,
    address: TransportAddress,
    onClose: (listener: LoopbackListener) => void,
  ) {
    this.#onClose = onClose;
    this.association = association;
    this.address = address;
  }

  offer(qp: LoopbackQueuePair): void {
    const w = this.#waiters.shift();
    if (w) w.resolve(qp);
    else this.#pending.push(qp);
  }

  accept(): Promise<LoopbackQueuePair> {
    const qp = this.#pending.shift();
    if (qp !== undefined) return Promise.resolve(qp);
    if (this.#closed) {
      return Promise.reject(new QueuePairClosedError("Cannot accept: the listener is closed"));
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose(this);
    const error = new QueuePairClosedError("Cannot accept: the listener is closed");
    for (const w of this.#waiters.splice(0)) w.reject(error);
    // Connections nobody accepted go down with the listener.
    for (const qp of this.#pending.splice(0)) await qp.close();
  }
}

/**
 * The in-memory transport. Each instance is its own little fabric: its listeners are found by
 * `traddr` (any string), and its hooks apply to all its connections. Importing this module
 * registers a default instance as `"loopback"` (TRTYPE 254, intra-host); tests that want hooks
 * make their own instance and hand it to host and controller code.
 *
 * @example Usage
 * ```ts
 * import { Association } from "@nvmf/transport";
 * import { LoopbackTransport } from "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 * const seen: string[] = [];
 * const loop = new LoopbackTransport({ hooks: { observe: (e) => seen.push(e.direction) } });
 * const listener = await loop.listen(new Association(loop, true), { traddr: "t" });
 * const host = await loop.connect(new Association(loop, false), {
 *   address: { traddr: "t" }, admin: true, qid: 0, qsize: 32,
 * });
 * const ctrl = await listener.accept();
 * await host.transmit({ kind: "command", sqe: new Uint8Array(64), data: undefined, direction: undefined });
 * assert.equal((await ctrl.receive()).kind, "command");
 * assert.deepEqual(seen, ["host-to-controller"]);
 * await host.close();
 * await listener.close();
 * ```
 */
export class LoopbackTransport implements Transport {
  /** TRTYPE 254, the intra-host transport. */
  readonly trtype: number = TransportType.INTRA_HOST;
  /** `"loopback"`. */
  readonly name: string = "loopback";
  /** Test hooks; see {@linkcode LoopbackHooks}. */
  hooks: LoopbackHooks;
  readonly #listeners = new Map<string, LoopbackListener>();

  /**
   * Makes a loopback fabric.
   *
   * @param options Hooks.
   */
  constructor(options: LoopbackOptions = {}) {
    this.hooks = options.hooks ?? {};
  }

  /**
   * Listens at `address.traddr`.
   *
   * @param association The controller-side association for accepted queue pairs.
   * @param address Any name; `trsvcid` is ignored.
   * @returns The listener.
   * @throws {TransportError} When something already listens there (code `"connect"`).
   */
  listen(association: Association, address: TransportAddress): Promise<Listener> {
    if (!association.controller) {
      return Promise.reject(new TypeError("Cannot listen with a host association"));
    }
    if (this.#listeners.has(address.traddr)) {
      return Promise.reject(
        new TransportError(
          `Cannot listen at loopback address "${address.traddr}": it is in use`,
          "connect",
        ),
      );
    }
    const listener = new LoopbackListener(association, { ...address }, (l) => {
      if (this.#listeners.get(l.address.traddr) === l) this.#listeners.delete(l.address.traddr);
    });
    this.#listeners.set(address.traddr, listener);
    return Promise.resolve(listener);
  }

  /**
   * Connects a queue pair to the listener at `params.address.traddr`.
   *
   * @param association The host-side association.
   * @param params Address, queue identity and size.
   * @returns The host end; the controller end is handed to the listener's `accept`.
   * @throws {TransportError} When nothing listens there (code `"connect"`).
   */
  connect(association: Association, params: ConnectParams): Promise<QueuePair> {
    if (association.controller) {
      return Promise.reject(new TypeError("Cannot connect with a controller association"));
    }
    if (params.signal?.aborted) {
      return Promise.reject(
        new TransportError("Cannot connect: aborted", "connect", { cause: params.signal.reason }),
      );
    }
    const listener = this.#listeners.get(params.address.traddr);
    if (listener === undefined) {
      return Promise.reject(
        new TransportError(
          `Cannot connect to loopback address "${params.address.traddr}": nothing listens there`,
          "connect",
        ),
      );
    }
    if (!Number.isInteger(params.qsize) || params.qsize < 2 || params.qsize > 65536) {
      return Promise.reject(
        new RangeError(`Cannot connect with qsize ${params.qsize}: it must be 2 to 65536`),
      );
    }
    const link = new Link(params.qid, params.address.traddr);
    const host = new LoopbackQueuePair(this, association, link, false, params);
    const controller = new LoopbackQueuePair(this, listener.association, link, true);
    host.peer = controller;
    controller.peer = host;
    link.host = host;
    link.controller = controller;
    listener.offer(controller);
    return Promise.resolve(host);
  }

  /**
   * Continues a detached connection of this fabric as a new queue pair of `association`, at
   * `resume` (e.g. from a handoff record); capsules that arrived meanwhile are received first.
   * The loopback records nothing of its own: `resume.params` is ignored.
   *
   * @param association The new owner's association (same role as the detached end).
   * @param carrier What a queue pair of this fabric's `detach()` returned.
   * @param resume Queue identity and SQ state to continue from.
   * @returns The queue pair.
   * @throws {TypeError} When `carrier` is not a loopback one, comes from another fabric, was
   * adopted or discarded already, or the association has the other role.
   * @example Usage
   * ```ts
   * import { Association } from "@nvmf/transport";
   * import { LoopbackTransport } from "@nvmf/transport-loopback";
   * import assert from "node:assert/strict";
   * const loop = new LoopbackTransport();
   * const listener = await loop.listen(new Association(loop, true), { traddr: "d" });
   * const old = await loop.connect(new Association(loop, false), {
   *   address: { traddr: "d" }, admin: true, qid: 0, qsize: 32,
   * });
   * const ctrl = await listener.accept();
   * const handoff = await old.detach();
   * assert.equal(await old.closed, undefined);
   * const host = loop.adopt(old.association, handoff, handoff.state);
   * await host.transmit({ kind: "command", sqe: new Uint8Array(64), data: undefined, direction: undefined });
   * assert.equal((await ctrl.receive()).kind, "command");
   * await host.close();
   * await listener.close();
   * ```
   */
  adopt(association: Association, carrier: HandoffCarrier, resume: QueuePairResume): QueuePair {
    if (!(carrier instanceof LoopbackHandoff)) {
      throw new TypeError("Cannot adopt the connection: it is not a loopback one");
    }
    const old = takeEnd(carrier, this, association.controller);
    return LoopbackQueuePair.takeOver(old, association, resume);
  }

  /**
   * The loopback's values of a handoff record: none (its records carry only the generic qpair
   * fields, trtype 254).
   *
   * @returns An empty record.
   */
  handoffParams(): HandoffParams {
    return {};
  }
}

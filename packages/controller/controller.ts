/**
 * One controller: the state of an association between a host and a subsystem (or the
 * discovery service), and the commands it serves on its admin and I/O queue pairs.
 *
 * What it implements (NVM Express Base 2.0, NVMe over Fabrics 1.1, NVM Command Set 1.0, with
 * the choices of Linux's nvmet where the host notices them):
 * - Properties: CAP, VS, CC and CSTS as a state machine (enable, reset, shutdown with
 *   SHST, CFS for a bad configuration); commands other than Fabrics ones on a controller that
 *   is not ready fail with COMMAND_SEQUENCE_ERROR.
 * - Admin: Identify (CNS 00h, 01h, 02h, 03h, 05h, 06h, 07h), Get Log Page (error, SMART /
 *   health, firmware slot, changed namespace list, commands supported and effects, ANA with
 *   RGO, discovery),
 *   Set and Get Features, Asynchronous Event Request, Keep Alive, Abort.
 * - NVM: Read, Write, Flush, Write Zeroes, Dataset Management, Compare, Verify; Reservation
 *   Register, Acquire, Release and Report, and the access rules of a reservation
 *   (`reservation.ts`, `_resv_commands.ts`, `_resv_log.ts`); path statuses (SCT 3) where the
 *   namespace's ANA group is inaccessible, lost or changing on the port.
 * - A command whose CID is in flight on its queue gets Command ID Conflict; a status a
 *   transport fails a transfer with (NVMe/TCP data digest: Transient Transport Error) is the
 *   command's.
 * - Keep Alive: traffic based (CTRATT.TBKAS, as Linux): any command restarts the timer; when a
 *   KATO passes without one the controller is torn down.
 *
 * Commands on a queue run concurrently, at most the queue size at a time. The I/O path
 * allocates the response CQE and, unless the backend lends its memory, the data buffer.
 *
 * @module
 */

import {
  ABORT_NOT_ABORTED,
  AbortBits,
  AdminOpcode,
  ANA_LSP_RGO,
  AnaState,
  AsyncEventBits,
  AsyncEventConfig,
  AsyncEventIoCommandSpecific,
  AsyncEventNotice,
  AsyncEventType,
  CapCss,
  CcBits,
  CcCss,
  CQE_SIZE,
  CQE_SIZE_LOG2,
  CstsBits,
  DISCOVERY_NQN,
  encodeCap,
  encodeStatus,
  FABRICS_OPCODE,
  FabricsType,
  fabricsType,
  FEATURE_HOST_ID_EXHID,
  FeatureBits,
  FeatureId,
  GenericStatus,
  GetLogPageBits,
  IDENTIFY_DATA_SIZE,
  LogPageId,
  MEMORY_PAGE_SHIFT_MIN,
  NSID_BROADCAST,
  NvmeStatusError,
  NvmOpcode,
  PROP_ATTRIB,
  PROP_OFST,
  PROP_VALUE,
  Property,
  PROPERTY_ATTRIB_SIZE_MASK,
  propertyGetResponseDw,
  PropertySize,
  Psdt,
  RwControl,
  ShutdownStatus,
  SQE_CDW10,
  SQE_CDW11,
  SQE_CDW12,
  SQE_FLAGS,
  SQE_NSID,
  SQE_OPCODE,
  SQE_SIZE_LOG2,
  SqeFlagsBits,
} from "@nvmf/proto";
import type {
  Association,
  Capsule,
  CommandCapsule,
  QueuePair,
  TransportAddress,
} from "@nvmf/transport";
import { anaLogPage } from "./_ana_log.ts";
import { AUTH_REQUIRED, type ControllerAuth, QueueAuth } from "./_auth.ts";
import { cidOf, u32 } from "./_bytes.ts";
import { anaStatus } from "./ana.ts";
import { DataTimeoutError } from "./_data_deadline.ts";
import { FEATURE_SEQUENCE, Features } from "./_features.ts";
import { decodeGetLogPage, LogPages, logPageWindow } from "./_log_pages.ts";
import {
  AEC_DISCOVERY_SUPPORTED,
  AER_MAX,
  CAP_TIMEOUT,
  DISCOVERY_VERSION,
  EVENT_QUEUE_MAX,
} from "./_limits.ts";
import { nvmCommand, type NvmContext } from "./_nvm.ts";
import { IoKind } from "./metrics.ts";
import {
  flushAllAllowed,
  RESERVATION_CONFLICT,
  type ReservationContext,
  reservationGate,
} from "./_resv_commands.ts";
import { ControllerReservations } from "./_resv_log.ts";
import {
  ABORT_REQUESTED,
  AER_LIMIT,
  CID_CONFLICT,
  genericStatus,
  INTERNAL_ERROR,
  INVALID_FIELD,
  INVALID_LOG_PAGE,
  INVALID_OPCODE,
  INVALID_QUEUE_TYPE,
  KATO_INVALID,
  NO_RESPONSE,
  NOT_SAVEABLE,
  SEQUENCE_ERROR,
  SGL_LENGTH_INVALID,
  SUCCESS,
  TRANSIENT_TRANSPORT_ERROR,
  WRITE_FAULT,
} from "./_status.ts";
import { type ControllerIdentity, identifyController, identifyData } from "./identify.ts";
import type { Subsystem } from "./subsystem.ts";

export type { ControllerIdentity } from "./identify.ts";

/** What a controller tells the target that made it. */
export interface ControllerHooks {
  /** The whole Discovery log page for a discovery controller's host. */
  discoveryLog(controller: Controller): Uint8Array;
  /** The controller was torn down (called once). */
  destroyed(controller: Controller, reason: string): void;
  /** Something failed that the target may want to log. */
  error(error: unknown, message: string): void;
}

/** Everything a controller is made from, decided by the Connect command that created it. */
export interface ControllerInit {
  /** Controller ID. */
  cntlid: number;
  /** The subsystem; undefined for a discovery controller. */
  subsystem: Subsystem | undefined;
  /** Host NQN from the Connect data. */
  hostnqn: string;
  /** Host identifier from the Connect data. */
  hostid: Uint8Array;
  /** Keep alive timeout in milliseconds; 0 for none. */
  kato: number;
  /** The port it was connected through. */
  portid: number;
  /** The port's association: queue size limits, in-capsule size, controller model. */
  association: Association;
  /** I/O queues a host may create. */
  maxQueues: number;
  /** Largest data transfer of one command, bytes (a power of two, at least 4096). */
  maxTransferSize: number;
  /** Time a host without KATO has to send a command's data, ms (default 30000). */
  dataTimeout?: number;
  /** Identity of a discovery controller (I/O controllers report their subsystem's). */
  identity: ControllerIdentity;
  /** Hooks into the target. */
  hooks: ControllerHooks;
  /** DH-HMAC-CHAP for every queue, when the host has a key configured. */
  auth?: ControllerAuth;
}

/** How an I/O queue Connect fares against a controller's state. */
export type IoQueueCheck = "ok" | "not-ready" | "invalid-qid" | "exists";

interface QueueState {
  readonly qp: QueuePair;
  readonly qid: number;
  inflight: number;
  wake: (() => void) | undefined;
  /** Commands that arrived while `inflight` was at the queue size (consumer mode). */
  backlog: CommandCapsule[] | undefined;
  /** No more commands are taken (consumer mode). */
  ended: boolean;
  /** The last promise `transmit` returned, and the same settling without rejecting. */
  sent: Promise<void> | undefined;
  settled: Promise<void> | undefined;
  /** The queue's authentication, when the host must authenticate. */
  auth?: QueueAuth;
  /** CIDs of the commands in flight, one bit each (Command ID Conflict, as FreeBSD's nvmft). */
  readonly cids: Uint8Array;
}

/**
 * CQEs are cut from slabs of this size: one ArrayBuffer per 256 completions rather than one
 * each (an ArrayBuffer costs ~0.3 us in V8, more than filling the CQE). A transport may keep
 * the CQE (the loopback hands it to the host), so slices are never reused.
 */
const CQE_SLAB_SIZE = 4096;
let cqeSlab = new Uint8Array(CQE_SLAB_SIZE);
let cqeSlabUsed = 0;

/** Bytes of a queue's in-flight CID bitmap: one bit for each of the 65536 CIDs. */
const CID_BITMAP_SIZE = 0x10000 / 8;

const RESOLVED: Promise<void> = Promise.resolve();
/** The event mask bit of reservation notices: an AEC bit no event uses (bit 30). */
const RESERVATION_EVENT_MASK = 1 << 30;
/** Time a controller being torn down gives its commands in progress, ms. */
const DRAIN_MS = 2000;
/** Default time a host without KATO has to send a command's data, ms. */
const DATA_TIMEOUT = 30_000;
function ignore(): void {}

/** A fresh, zeroed 16-byte CQE. */
function newCqe(): Uint8Array {
  if (cqeSlabUsed === CQE_SLAB_SIZE) {
    cqeSlab = new Uint8Array(CQE_SLAB_SIZE);
    cqeSlabUsed = 0;
  }
  const cqe = cqeSlab.subarray(cqeSlabUsed, cqeSlabUsed + CQE_SIZE);
  cqeSlabUsed += CQE_SIZE;
  return cqe;
}

interface Pending {
  resolve(): void;
}

/**
 * A controller of the target, made by the target when an admin queue Connect succeeds.
 *
 * @example Usage (through the target; a controller is never made by hand)
 * ```ts ignore
 * const ctrl = new Controller({ cntlid: 1, subsystem, hostnqn, hostid, kato: 0, ... });
 * ctrl.attachAdmin(adminQueuePair);
 * ```
 */
export class Controller {
  /** Controller ID. */
  readonly cntlid: number;
  /** The subsystem; undefined for a discovery controller. */
  readonly subsystem: Subsystem | undefined;
  /** Host NQN. */
  readonly hostnqn: string;
  /** Host identifier (16 bytes). */
  readonly hostid: Uint8Array;
  /** The port it came through. */
  readonly portid: number;
  readonly #init: ControllerInit;
  readonly #cap: bigint;
  readonly #mdts: number;
  #admin: QueueState | undefined;
  readonly #io: (QueueState | undefined)[] = [];
  #cc = 0;
  #csts = 0;
  #kato: number;
  #katoTimer: ReturnType<typeof setTimeout> | undefined;
  #traffic = false;
  #destroyed = false;
  #destroying: Promise<void> | undefined;
  #pending = 0;
  #drained: Pending | undefined;
  readonly #features: Features;
  readonly #nvm: NvmContext;
  // Asynchronous events
  readonly #aerCids: number[] = [];
  readonly #events: number[] = [];
  #masked = 0; // AsyncEventConfig bits of events reported and not yet cleared by their log
  readonly #logs: LogPages;
  #idCtrl: Uint8Array | undefined;
  // Reservations (I/O controllers only)
  readonly #resv: ControllerReservations | undefined;
  readonly #resvCtx: ReservationContext | undefined;
  /** The ANA states of this controller's port, by group (live; all optimized by default). */
  readonly #ana: Uint8Array | undefined;

  /**
   * Makes a controller; the target does, when an admin Connect succeeds.
   *
   * @param init What the Connect established, limits and hooks.
   */
  constructor(init: ControllerInit) {
    this.#init = init;
    this.cntlid = init.cntlid;
    this.subsystem = init.subsystem;
    this.hostnqn = init.hostnqn;
    this.hostid = init.hostid;
    this.portid = init.portid;
    this.#kato = init.kato;
    this.#mdts = Math.log2(init.maxTransferSize) - MEMORY_PAGE_SHIFT_MIN;
    const params = init.association.params;
    this.#cap = encodeCap({
      mqes: params.maxIoQsize - 1,
      cqr: true,
      to: CAP_TIMEOUT,
      css: CapCss.NVM | CapCss.IO_COMMAND_SETS,
      mpsmin: 0,
      mpsmax: 0,
    });
    this.#logs = new LogPages(init.association.transport.trtype);
    this.#ana = init.subsystem?.ana.states(init.portid);
    // deno-lint-ignore no-this-alias
    const self = this;
    this.#features = new Features({
      discovery: init.subsystem === undefined,
      maxQueues: init.maxQueues,
      get ioQueues() {
        return self.ioQueues;
      },
      get kato() {
        return self.#kato;
      },
      setKato(ms) {
        self.#kato = ms;
        self.#armKeepAlive();
      },
    });
    const features = this.#features;
    this.#nvm = {
      maxTransferSize: init.maxTransferSize,
      get writeCache() {
        return features.wce;
      },
      get dataTimeout() {
        return self.#kato || (init.dataTimeout ?? DATA_TIMEOUT);
      },
      error: (error, message) => init.hooks.error(error, message),
      release: (qp, sqe) => {
        const q = this.#io[qp.qid ?? 0];
        if (q !== undefined && q.qp === qp) this.#release(q, cidOf(sqe));
      },
    };
    if (init.subsystem !== undefined) {
      this.#resv = new ControllerReservations(init.subsystem, init.hostid, () =>
        this.#raise(
          0,
          AsyncEventType.IO_COMMAND_SPECIFIC_STATUS,
          AsyncEventIoCommandSpecific.RESERVATION_LOG_PAGE_AVAILABLE,
          LogPageId.RESERVATION_NOTIFICATION,
          RESERVATION_EVENT_MASK,
        ));
      this.#resvCtx = {
        host: this.#resv.host,
        subsystem: init.subsystem,
        maxTransferSize: init.maxTransferSize,
      };
    }
  }

  /** True for a discovery controller. */
  get discovery(): boolean {
    return this.subsystem === undefined;
  }

  /** The subsystem NQN, or the discovery NQN. */
  get subnqn(): string {
    return this.subsystem?.nqn ?? DISCOVERY_NQN;
  }

  /** True once torn down. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** The address the host reached, from the admin queue pair (when the transport tells it). */
  get localAddress(): TransportAddress | undefined {
    return this.#admin?.qp.localAddress;
  }

  /** Keep alive timeout in milliseconds (0: none). */
  get kato(): number {
    return this.#kato;
  }

  /** The controller's CC property. */
  get cc(): number {
    return this.#cc;
  }

  /** The controller's CSTS property. */
  get csts(): number {
    return this.#csts;
  }

  /** I/O queue IDs connected now. */
  get ioQueues(): number[] {
    const ids: number[] = [];
    for (let qid = 1; qid < this.#io.length; qid++) if (this.#io[qid]) ids.push(qid);
    return ids;
  }

  /**
   * Starts serving the admin queue pair and the keep alive timer. The target sends the
   * Connect response right after: nothing else arrives on the queue before it.
   *
   * @param qp The admin queue pair.
   */
  attachAdmin(qp: QueuePair): void {
    const q: QueueState = {
      qp,
      qid: 0,
      inflight: 0,
      wake: undefined,
      backlog: undefined,
      ended: false,
      sent: undefined,
      settled: undefined,
      cids: new Uint8Array(CID_BITMAP_SIZE),
    };
    this.#admin = q;
    this.#requireAuth(q);
    this.#armKeepAlive();
    this.#serve(q);
  }

  /**
   * Whether an I/O queue with this ID may be connected now.
   *
   * @param qid The queue ID from Connect.
   * @returns `"ok"`, or what is wrong.
   */
  checkIoQueue(qid: number): IoQueueCheck {
    if (this.#destroyed || this.discovery) return "invalid-qid";
    if (!this.#ready()) return "not-ready";
    const limit = this.#features.numQueues || this.#init.maxQueues;
    if (qid < 1 || qid > limit) return "invalid-qid";
    if (this.#io[qid] !== undefined) return "exists";
    return "ok";
  }

  /**
   * Starts serving an I/O queue pair; the target sends the Connect response right after.
   *
   * @param qp The queue pair.
   * @param qid Its queue ID (checked with {@linkcode Controller.checkIoQueue}).
   */
  attachIo(qp: QueuePair, qid: number): void {
    const q: QueueState = {
      qp,
      qid,
      inflight: 0,
      wake: undefined,
      backlog: undefined,
      ended: false,
      sent: undefined,
      settled: undefined,
      cids: new Uint8Array(CID_BITMAP_SIZE),
    };
    this.#io[qid] = q;
    this.#requireAuth(q);
    this.#serve(q);
  }

  /** Whether its host must authenticate every queue (the Connect response's AUTHREQ.ATR). */
  get authRequired(): boolean {
    return this.#init.auth !== undefined;
  }

  #requireAuth(q: QueueState): void {
    if (this.#init.auth === undefined) return;
    q.auth = new QueueAuth(this.#init.auth, q.qid, this.#kato, (reason) => {
      if (q.qid === 0) return void this.destroy(reason);
      this.#init.hooks.error(
        new Error(reason),
        `Ending queue ${q.qid} of controller ${this.cntlid}`,
      );
      this.#queueEnded(q);
    });
  }

  /**
   * Records a namespace change: the Changed Namespace List and, when enabled, an event.
   *
   * @param nsid The namespace added or removed.
   */
  namespaceChanged(nsid: number): void {
    if (this.#destroyed || this.discovery) return;
    this.#logs.namespaceChanged(nsid);
    this.#raise(
      AsyncEventConfig.NAMESPACE_ATTRIBUTE_NOTICES,
      AsyncEventType.NOTICE,
      AsyncEventNotice.NAMESPACE_ATTRIBUTE_CHANGED,
      LogPageId.CHANGED_NAMESPACE_LIST,
    );
  }

  /** Tells the controller that an ANA state of its port changed (an event when enabled). */
  anaChanged(): void {
    if (this.#destroyed || this.discovery) return;
    this.#raise(
      AsyncEventConfig.ANA_CHANGE_NOTICES,
      AsyncEventType.NOTICE,
      AsyncEventNotice.ANA_CHANGE,
      LogPageId.ASYMMETRIC_NAMESPACE_ACCESS,
    );
  }

  /** Tells a discovery controller that the discovery log changed (an event when enabled). */
  discoveryChanged(): void {
    if (this.#destroyed || !this.discovery) return;
    this.#raise(
      AEC_DISCOVERY_SUPPORTED,
      AsyncEventType.NOTICE,
      AsyncEventNotice.DISCOVERY_LOG_PAGE_CHANGE,
      LogPageId.DISCOVERY,
    );
  }

  /**
   * Tears the controller down: stops the keep alive timer, closes every queue pair and waits
   * for commands in progress. Idempotent.
   *
   * @param reason Why, for the target's event.
   * @returns Settles when all is released.
   */
  destroy(reason: string): Promise<void> {
    this.#destroying ??= this.#teardown(reason);
    return this.#destroying;
  }

  async #teardown(reason: string): Promise<void> {
    this.#destroyed = true;
    this.#disarmKeepAlive();
    this.#resv?.close();
    this.#csts &= ~CstsBits.RDY;
    const queues: QueueState[] = [];
    if (this.#admin !== undefined) queues.push(this.#admin);
    for (const q of this.#io) if (q !== undefined) queues.push(q);
    this.#io.length = 0;
    this.#aerCids.length = 0;
    this.#events.length = 0;
    // Commands in progress complete first, their CQEs sent, for a bounded time; the host then
    // sees the association end cleanly rather than commands lost in the middle.
    if (this.#pending > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#drained = { resolve }),
        new Promise<void>((resolve) => timer = setTimeout(resolve, DRAIN_MS)),
      ]);
      clearTimeout(timer);
      this.#drained = undefined;
    }
    for (const q of queues) {
      q.auth?.dispose();
      try {
        await q.qp.close();
      } catch (e) {
        this.#init.hooks.error(e, `Cannot close queue ${q.qid} of controller ${this.cntlid}`);
      }
    }
    if (this.#pending > 0) {
      await new Promise<void>((resolve) => this.#drained = { resolve });
    }
    this.#init.hooks.destroyed(this, reason);
  }

  // -------------------------------------------------------------------------------------------
  // Queue serving

  /**
   * Serves a queue: each command runs as it arrives, at most the queue size at once. Capsules
   * come straight from the transport when the queue pair has `consume`, else from a receive
   * loop.
   */
  #serve(q: QueueState): void {
    const qp = q.qp;
    if (qp.consume === undefined) {
      void this.#serveLoop(q);
      return;
    }
    qp.consume((capsule) => this.#arrived(q, capsule), () => {
      if (q.ended) return;
      q.ended = true;
      this.#queueEnded(q);
    });
  }

  #arrived(q: QueueState, capsule: Capsule): void {
    if (q.ended) return;
    if (capsule.kind !== "command") {
      this.#init.hooks.error(
        new TypeError("Received a response capsule on a controller queue"),
        `Cannot serve queue ${q.qid} of controller ${this.cntlid}: the host sent a response`,
      );
      q.ended = true;
      this.#queueEnded(q);
      return;
    }
    this.#traffic = true;
    if (!this.#claimCid(q, capsule.sqe)) return;
    if (q.inflight >= Math.max(q.qp.qsize, 1)) (q.backlog ??= []).push(capsule);
    else this.#start(q, capsule);
  }

  #start(q: QueueState, capsule: CommandCapsule): void {
    q.inflight++;
    this.#pending++;
    void this.#run(q, capsule);
  }

  async #serveLoop(q: QueueState): Promise<void> {
    const qp = q.qp;
    const limit = Math.max(qp.qsize, 1);
    for (;;) {
      if (q.inflight >= limit) await new Promise<void>((resolve) => q.wake = resolve);
      let capsule;
      try {
        capsule = await qp.receive();
      } catch {
        break;
      }
      if (capsule.kind !== "command") {
        this.#init.hooks.error(
          new TypeError("Received a response capsule on a controller queue"),
          `Cannot serve queue ${q.qid} of controller ${this.cntlid}: the host sent a response`,
        );
        break;
      }
      this.#traffic = true;
      if (!this.#claimCid(q, capsule.sqe)) continue;
      q.inflight++;
      this.#pending++;
      void this.#run(q, capsule);
    }
    this.#queueEnded(q);
  }

  /**
   * Marks a command's CID in flight on its queue; a CID in flight already (a pending
   * Asynchronous Event Request's too) gets COMMAND_ID_CONFLICT instead, as FreeBSD's nvmft
   * answers, and the command does not run. The CID is released just before its completion goes
   * out ({@linkcode Controller.#release}), as nvmft does: the host may reuse it the moment it
   * sees the completion.
   */
  #claimCid(q: QueueState, sqe: Uint8Array): boolean {
    const cid = cidOf(sqe);
    const bit = 1 << (cid & 7);
    if ((q.cids[cid >>> 3] & bit) !== 0) {
      this.#respond(q, sqe, CID_CONFLICT, 0, 0);
      q.cids[cid >>> 3] |= bit; // still the first command's
      return false;
    }
    q.cids[cid >>> 3] |= bit;
    return true;
  }

  /** A command's completion is about to go out: its CID is free again. */
  #release(q: QueueState, cid: number): void {
    q.cids[cid >>> 3] &= ~(1 << (cid & 7));
  }

  #queueEnded(q: QueueState): void {
    q.auth?.dispose();
    if (this.#destroyed) return;
    if (q.qid === 0) {
      void this.destroy("admin queue closed");
      return;
    }
    if (this.#io[q.qid] === q) this.#io[q.qid] = undefined;
    void q.qp.close().catch(() => {});
  }

  async #run(q: QueueState, cmd: CommandCapsule): Promise<void> {
    const sqe = cmd.sqe;
    const t0 = q.qid === 0 ? 0 : performance.now();
    let counted = NO_RESPONSE;
    try {
      let status: number;
      const valid = q.qp.validateCommandCapsule(cmd);
      if (valid !== GenericStatus.SUCCESS) status = genericStatus(valid);
      else if ((sqe[SQE_FLAGS] & SqeFlagsBits.FUSE_MASK) !== 0) status = INVALID_FIELD;
      else if (
        ((sqe[SQE_FLAGS] >>> SqeFlagsBits.PSDT_SHIFT) & SqeFlagsBits.PSDT_MASK) !==
          Psdt.SGL_MPTR_CONTIGUOUS
      ) status = INVALID_FIELD;
      else if (q.auth?.isAuthCommand(sqe)) status = await q.auth.command(q.qp, cmd);
      else if (q.auth !== undefined && !q.auth.authenticated) status = AUTH_REQUIRED;
      else if (q.qid === 0) status = await this.#adminCommand(q, cmd, sqe);
      else status = await this.#ioCommand(q, cmd, sqe);
      counted = status === NO_RESPONSE ? SUCCESS : status;
      if (status !== NO_RESPONSE) this.#respond(q, sqe, status, 0, 0);
      q.auth?.afterCommand();
    } catch (e) {
      if (e instanceof DataTimeoutError && !q.qp.done) {
        // The host stopped sending the data: fail the command, then drop the queue pair.
        this.#init.hooks.error(e, `Cannot complete command ${cidOf(sqe)} on queue ${q.qid}`);
        this.#respond(q, sqe, TRANSIENT_TRANSPORT_ERROR, 0, 0);
        void q.qp.close().catch(ignore);
        return;
      }
      // A queue pair that ended under the command (the host went away, or broke the protocol
      // and the transport ended the connection) is the queue's end, handled there: not an error.
      if (q.qp.done) return;
      if (!this.#destroyed) {
        this.#init.hooks.error(
          e,
          `Cannot complete command ${cidOf(sqe)} on queue ${q.qid} of controller ${this.cntlid}`,
        );
      }
      // A status the transport chose (NVMe/TCP: TRANSIENT_TRANSPORT_ERROR for an H2CData data
      // digest error) completes the command with it; anything else is an internal error.
      counted = e instanceof NvmeStatusError ? encodeStatus(e.status) : INTERNAL_ERROR;
      this.#respond(q, sqe, counted, 0, 0);
    } finally {
      if (q.qid !== 0 && counted !== NO_RESPONSE) this.#count(sqe, counted, t0);
      q.inflight--;
      const wake = q.wake;
      if (wake !== undefined) {
        q.wake = undefined;
        wake();
      }
      const next = q.backlog?.shift();
      if (next !== undefined) this.#start(q, next);
      if (--this.#pending === 0 && this.#drained !== undefined) this.#drained.resolve();
    }
  }

  /**
   * Sends a completion without waiting for it to be written; errors are recorded in the Error
   * Information log.
   */
  #respond(q: QueueState, sqe: Uint8Array, status: number, dw0: number, dw1: number): void {
    if (status !== SUCCESS) status = this.#logs.recordError(q.qid, sqe, status);
    this.#send(q, cidOf(sqe), status, dw0, dw1);
  }

  /**
   * Sends a completion. The promise settles once the transport has taken it and never
   * rejects: a queue pair that cannot send is at its end, and its controller goes with it.
   * (A transport that batches returns one promise per batch: one guard per batch, not per CQE.)
   */
  #send(q: QueueState, cid: number, status: number, dw0: number, dw1: number): Promise<void> {
    this.#release(q, cid);
    const cqe = newCqe();
    cqe[0] = dw0;
    cqe[1] = dw0 >>> 8;
    cqe[2] = dw0 >>> 16;
    cqe[3] = dw0 >>> 24;
    cqe[4] = dw1;
    cqe[5] = dw1 >>> 8;
    cqe[6] = dw1 >>> 16;
    cqe[7] = dw1 >>> 24;
    cqe[10] = q.qid;
    cqe[11] = q.qid >>> 8;
    cqe[12] = cid;
    cqe[13] = cid >>> 8;
    cqe[14] = status;
    cqe[15] = status >>> 8;
    let sent: Promise<void>;
    try {
      sent = q.qp.transmit({ kind: "response", cqe });
    } catch {
      return RESOLVED;
    }
    if (sent !== q.sent) {
      q.sent = sent;
      q.settled = sent.then(undefined, ignore);
    }
    return q.settled!;
  }

  /** Sends a command's data and, unless the transport completed it, its completion. */
  async #reply(q: QueueState, cmd: CommandCapsule, data: Uint8Array, dw0 = 0): Promise<number> {
    // The last data may carry the completion (SUCCESS flag).
    if (dw0 === 0) this.#release(q, cidOf(cmd.sqe));
    const outcome = await q.qp.sendControllerData(cmd, 0, data, true);
    if (outcome === "success-sent") return NO_RESPONSE;
    if (dw0 !== 0) {
      await this.#send(q, cidOf(cmd.sqe), SUCCESS, dw0, 0);
      return NO_RESPONSE;
    }
    return SUCCESS;
  }

  // -------------------------------------------------------------------------------------------
  // Keep alive (traffic based, as Linux's nvmet and FreeBSD's nvmft)

  #armKeepAlive(): void {
    this.#disarmKeepAlive();
    if (this.#kato === 0 || this.#destroyed) return;
    this.#traffic = false;
    this.#katoTimer = setTimeout(() => this.#keepAliveTick(), this.#kato);
  }

  #disarmKeepAlive(): void {
    if (this.#katoTimer !== undefined) clearTimeout(this.#katoTimer);
    this.#katoTimer = undefined;
  }

  #keepAliveTick(): void {
    this.#katoTimer = undefined;
    if (this.#destroyed) return;
    if (!this.#traffic) {
      void this.destroy(`keep alive timeout (${this.#kato} ms) expired`);
      return;
    }
    this.#armKeepAlive();
  }

  // -------------------------------------------------------------------------------------------
  // Asynchronous events

  /**
   * Queues an event when AEC enables it (`enable` 0: always, as reservation notices) and it is
   * not masked: reported and its log page not yet read (`mask`, default `enable`).
   */
  #raise(enable: number, type: number, info: number, lid: number, mask = enable): void {
    if ((enable !== 0 && (this.#features.aec & enable) === 0) || (this.#masked & mask) !== 0) {
      return;
    }
    this.#masked |= mask;
    if (this.#events.length >= EVENT_QUEUE_MAX) return;
    this.#events.push(
      (type | (info << AsyncEventBits.INFO_SHIFT) | (lid << AsyncEventBits.LID_SHIFT)) >>> 0,
    );
    this.#deliverEvents();
  }

  #deliverEvents(): void {
    const admin = this.#admin;
    if (admin === undefined) return;
    while (this.#events.length > 0 && this.#aerCids.length > 0) {
      const dw0 = this.#events.shift()!;
      const cid = this.#aerCids.shift()!;
      void this.#send(admin, cid, SUCCESS, dw0, 0);
    }
  }

  /** A log page was read without RAE: its event may be reported again. */
  #unmask(enable: number, rae: boolean): void {
    if (!rae) this.#masked &= ~enable;
  }

  // -------------------------------------------------------------------------------------------
  // Properties and the CC/CSTS state machine (Base 3.1.3, 3.5, 3.6)

  #ready(): boolean {
    return (this.#cc & CcBits.EN) !== 0 && (this.#csts & CstsBits.RDY) !== 0;
  }

  #propertyGet(q: QueueState, sqe: Uint8Array): number {
    const size = sqe[PROP_ATTRIB] & PROPERTY_ATTRIB_SIZE_MASK;
    const offset = u32(sqe, PROP_OFST);
    let value: bigint;
    if (size === PropertySize.EIGHT_BYTES) {
      // Fabrics 3.4.1: CAP is the only 8-byte property a fabrics controller has.
      if (offset !== Property.CAP) return INVALID_FIELD;
      value = this.#cap;
    } else if (size === PropertySize.FOUR_BYTES) {
      if (offset === Property.VS) value = BigInt(this.subsystem?.version ?? DISCOVERY_VERSION);
      else if (offset === Property.CC) value = BigInt(this.#cc);
      else if (offset === Property.CSTS) value = BigInt(this.#csts);
      else return INVALID_FIELD;
    } else {
      return INVALID_FIELD;
    }
    const [dw0, dw1] = propertyGetResponseDw(value);
    void this.#send(q, cidOf(sqe), SUCCESS, dw0, dw1);
    return NO_RESPONSE;
  }

  #propertySet(sqe: Uint8Array): number {
    const size = sqe[PROP_ATTRIB] & PROPERTY_ATTRIB_SIZE_MASK;
    const offset = u32(sqe, PROP_OFST);
    if (size !== PropertySize.FOUR_BYTES || offset !== Property.CC) return INVALID_FIELD;
    this.#updateCc(u32(sqe, PROP_VALUE));
    return SUCCESS;
  }

  #updateCc(next: number): void {
    const prev = this.#cc;
    this.#cc = next;
    const en = (next & CcBits.EN) !== 0;
    const wasEn = (prev & CcBits.EN) !== 0;
    const shn = (next >>> CcBits.SHN_SHIFT) & CcBits.SHN_MASK;
    const wasShn = (prev >>> CcBits.SHN_SHIFT) & CcBits.SHN_MASK;
    if (en && !wasEn) this.#enable(next);
    if (!en && wasEn) this.#reset();
    if (shn !== 0 && wasShn === 0) this.#shutdown();
    if (shn === 0 && wasShn !== 0) {
      this.#csts &= ~(CstsBits.SHST_MASK << CstsBits.SHST_SHIFT);
    }
  }

  /** CC.EN 0 to 1: checks the configuration as Linux's nvmet_start_ctrl does. */
  #enable(cc: number): void {
    const field = (shift: number, mask: number) => (cc >>> shift) & mask;
    const css = field(CcBits.CSS_SHIFT, CcBits.CSS_MASK);
    // CC.CSS: 000b NVM command set; 110b all I/O command sets CAP.CSS reports (Base 3.1.3.5).
    const cssOk = css === 0 || css === CcCss.ALL_IO_SETS;
    // Discovery controllers do not check IOSQES/IOCQES: Linux's host writes them anyway.
    const entriesOk = this.discovery || (
      field(CcBits.IOSQES_SHIFT, CcBits.IOSQES_MASK) === SQE_SIZE_LOG2 &&
      field(CcBits.IOCQES_SHIFT, CcBits.IOCQES_MASK) === CQE_SIZE_LOG2
    );
    if (
      !cssOk || !entriesOk || field(CcBits.MPS_SHIFT, CcBits.MPS_MASK) !== 0 ||
      field(CcBits.AMS_SHIFT, CcBits.AMS_MASK) !== 0
    ) {
      this.#csts |= CstsBits.CFS;
      return;
    }
    this.#csts = (this.#csts & ~CstsBits.CFS) | CstsBits.RDY;
  }

  /** CC.EN 1 to 0: a controller reset. I/O queues go, features return to their defaults. */
  #reset(): void {
    this.#csts &= ~(CstsBits.RDY | CstsBits.CFS);
    this.#closeIoQueues();
    // Pending Asynchronous Event Requests end with the reset: their CIDs are free.
    for (const cid of this.#aerCids) if (this.#admin) this.#release(this.#admin, cid);
    this.#aerCids.length = 0;
    this.#events.length = 0;
    this.#masked = 0;
    this.#features.reset();
  }

  /** CC.SHN set: I/O queues go, caches are flushed, then CSTS.SHST says complete. */
  #shutdown(): void {
    this.#closeIoQueues();
    const shst = ~(CstsBits.SHST_MASK << CstsBits.SHST_SHIFT);
    this.#csts = (this.#csts & shst) | (ShutdownStatus.OCCURRING << CstsBits.SHST_SHIFT);
    this.#pending++;
    void this.#flushAll().then(
      () => {},
      (e) => this.#init.hooks.error(e, `Cannot flush at shutdown of controller ${this.cntlid}`),
    ).finally(() => {
      if ((this.#cc >>> CcBits.SHN_SHIFT) & CcBits.SHN_MASK) {
        this.#csts = (this.#csts & shst & ~CstsBits.RDY) |
          (ShutdownStatus.COMPLETE << CstsBits.SHST_SHIFT);
      }
      if (--this.#pending === 0 && this.#drained !== undefined) this.#drained.resolve();
    });
  }

  async #flushAll(): Promise<void> {
    for (const ns of this.subsystem?.namespaces ?? []) await ns.backend.flush();
  }

  #closeIoQueues(): void {
    for (let qid = 1; qid < this.#io.length; qid++) {
      const q = this.#io[qid];
      if (q === undefined) continue;
      this.#io[qid] = undefined;
      void q.qp.close().catch(() => {});
    }
  }

  // -------------------------------------------------------------------------------------------
  // Admin commands

  #adminCommand(q: QueueState, cmd: CommandCapsule, sqe: Uint8Array): Promise<number> | number {
    const opcode = sqe[SQE_OPCODE];
    if (opcode === FABRICS_OPCODE) return this.#adminFabrics(q, sqe);
    // Base 3.5.1: only Fabrics commands are processed until the controller is ready.
    if (!this.#ready()) return SEQUENCE_ERROR;
    // A discovery controller has no Abort (Fabrics 5: only the commands below).
    if (this.discovery && opcode === AdminOpcode.ABORT) return INVALID_OPCODE;
    switch (opcode) {
      case AdminOpcode.IDENTIFY:
        return this.#identify(q, cmd, sqe);
      case AdminOpcode.GET_LOG_PAGE:
        return this.#getLogPage(q, cmd, sqe);
      case AdminOpcode.SET_FEATURES:
      case AdminOpcode.GET_FEATURES:
        return this.#featuresCommand(q, cmd, sqe, opcode === AdminOpcode.SET_FEATURES);
      case AdminOpcode.ASYNC_EVENT_REQUEST:
        return this.#asyncEventRequest(sqe);
      case AdminOpcode.KEEP_ALIVE:
        return this.#keepAlive();
      case AdminOpcode.ABORT:
        return this.#abort(q, sqe);
      default:
        return INVALID_OPCODE;
    }
  }

  #adminFabrics(q: QueueState, sqe: Uint8Array): number {
    switch (fabricsType(sqe)) {
      case FabricsType.PROPERTY_GET:
        return this.#propertyGet(q, sqe);
      case FabricsType.PROPERTY_SET:
        return this.#propertySet(sqe);
      case FabricsType.CONNECT:
        return SEQUENCE_ERROR; // the queue is connected already (FreeBSD's nvmft)
      case FabricsType.DISCONNECT:
        return INVALID_QUEUE_TYPE; // Fabrics 3.5: Disconnect is for I/O queues
      default:
        return INVALID_OPCODE;
    }
  }

  #keepAlive(): number {
    if (this.#kato === 0) return KATO_INVALID;
    return SUCCESS;
  }

  #asyncEventRequest(sqe: Uint8Array): number {
    if (this.#aerCids.length >= AER_MAX) return AER_LIMIT;
    this.#aerCids.push(cidOf(sqe));
    this.#deliverEvents();
    return NO_RESPONSE;
  }

  /** Abort: pending Asynchronous Event Requests can be aborted; running commands cannot. */
  #abort(q: QueueState, sqe: Uint8Array): number {
    const cdw10 = u32(sqe, SQE_CDW10);
    const sqid = cdw10 & AbortBits.SQID_MASK;
    const cid = cdw10 >>> AbortBits.CID_SHIFT;
    const at = sqid === 0 ? this.#aerCids.indexOf(cid) : -1;
    if (at < 0) {
      void this.#send(q, cidOf(sqe), SUCCESS, ABORT_NOT_ABORTED, 0);
      return NO_RESPONSE;
    }
    this.#aerCids.splice(at, 1);
    void this.#send(q, cid, ABORT_REQUESTED, 0, 0);
    return SUCCESS;
  }

  // Identify, Get Log Page, Features ------------------------------------------------------------

  async #identify(q: QueueState, cmd: CommandCapsule, sqe: Uint8Array): Promise<number> {
    if (q.qp.capsuleDataLength(cmd) !== IDENTIFY_DATA_SIZE) return SGL_LENGTH_INVALID;
    const data = identifyData(sqe, this.subsystem, () =>
      this.#idCtrl ??= identifyController({
        cntlid: this.cntlid,
        subsystem: this.subsystem,
        identity: this.#init.identity,
        params: this.#init.association.params,
        mdts: this.#mdts,
      }), this.#ana);
    return typeof data === "number" ? data : await this.#reply(q, cmd, data);
  }

  async #getLogPage(q: QueueState, cmd: CommandCapsule, sqe: Uint8Array): Promise<number> {
    const command = decodeGetLogPage(sqe);
    const { lid, length, lpo } = command;
    if (length > this.#init.maxTransferSize) return INVALID_FIELD; // Base 5.16: MDTS applies
    if (q.qp.capsuleDataLength(cmd) !== length) return SGL_LENGTH_INVALID;
    // Base 5.16: LPO is dword aligned; offsets as indexes (OT) are not supported.
    if (lpo % 4 !== 0 || (command.cdw14 & GetLogPageBits.OT) !== 0) return INVALID_FIELD;
    let page: Uint8Array | number;
    if (this.discovery) {
      if (lid !== LogPageId.DISCOVERY) return INVALID_LOG_PAGE;
      page = this.#init.hooks.discoveryLog(this);
      this.#unmask(AEC_DISCOVERY_SUPPORTED, command.rae);
    } else if (lid === LogPageId.RESERVATION_NOTIFICATION) {
      page = this.#resv!.readLog();
      this.#unmask(RESERVATION_EVENT_MASK, command.rae);
    } else if (lid === LogPageId.ASYMMETRIC_NAMESPACE_ACCESS) {
      const lsp = (u32(sqe, SQE_CDW10) >>> GetLogPageBits.LSP_SHIFT) & GetLogPageBits.LSP_MASK;
      page = anaLogPage(this.subsystem!, this.portid, (lsp & ANA_LSP_RGO) !== 0);
      this.#unmask(AsyncEventConfig.ANA_CHANGE_NOTICES, command.rae);
    } else {
      page = this.#logs.read(command, sqe, this.subsystem!);
      if (typeof page === "number") return page;
      if (lid === LogPageId.CHANGED_NAMESPACE_LIST) {
        this.#unmask(AsyncEventConfig.NAMESPACE_ATTRIBUTE_NOTICES, command.rae);
      }
    }
    const data = logPageWindow(page, lpo, length);
    return typeof data === "number" ? data : await this.#reply(q, cmd, data);
  }

  async #featuresCommand(
    q: QueueState,
    cmd: CommandCapsule,
    sqe: Uint8Array,
    set: boolean,
  ): Promise<number> {
    const cdw10 = u32(sqe, SQE_CDW10);
    const cdw11 = u32(sqe, SQE_CDW11);
    const fid = cdw10 & FeatureBits.FID_MASK;
    if (fid === FeatureId.HOST_IDENTIFIER) {
      // Fabrics: the host identifier comes from Connect and cannot be set (as Linux).
      if (set) return SEQUENCE_ERROR;
      if ((cdw11 & FEATURE_HOST_ID_EXHID) === 0) return INVALID_FIELD;
      if (q.qp.capsuleDataLength(cmd) !== this.hostid.length) return SGL_LENGTH_INVALID;
      return await this.#reply(q, cmd, this.hostid.slice());
    }
    if (q.qp.capsuleDataLength(cmd) !== 0) return SGL_LENGTH_INVALID;
    if (
      this.#resv !== undefined &&
      (fid === FeatureId.RESERVATION_NOTIFICATION_MASK || fid === FeatureId.RESERVATION_PERSISTENCE)
    ) {
      if (set && (cdw10 & FeatureBits.SV) !== 0) return NOT_SAVEABLE;
      const dw0 = this.#resv.feature(set, fid, u32(sqe, SQE_NSID), cdw11);
      if (dw0 === 0) return SUCCESS;
      if (dw0 < 0) return -dw0;
      void this.#send(q, cidOf(sqe), SUCCESS, dw0 >>> 0, 0);
      return NO_RESPONSE;
    }
    if (set) {
      if ((cdw10 & FeatureBits.SV) !== 0) return NOT_SAVEABLE;
      const result = this.#features.set(fid, cdw11);
      if (result < 0) return result === FEATURE_SEQUENCE ? SEQUENCE_ERROR : INVALID_FIELD;
      if (result === 0) return SUCCESS;
      void this.#send(q, cidOf(sqe), SUCCESS, result, 0);
      return NO_RESPONSE;
    }
    const sel = (cdw10 >>> FeatureBits.SEL_SHIFT) & FeatureBits.SEL_MASK;
    const value = this.#features.get(fid, cdw11, sel);
    if (value === undefined) return INVALID_FIELD;
    if (value === 0) return SUCCESS;
    void this.#send(q, cidOf(sqe), SUCCESS, value >>> 0, 0);
    return NO_RESPONSE;
  }

  // -------------------------------------------------------------------------------------------
  // I/O commands

  #ioCommand(q: QueueState, cmd: CommandCapsule, sqe: Uint8Array): Promise<number> | number {
    const opcode = sqe[SQE_OPCODE];
    if (opcode === FABRICS_OPCODE) {
      const type = fabricsType(sqe);
      if (type === FabricsType.DISCONNECT) {
        // Fabrics 3.5: complete the command, then delete the queue.
        void this.#send(q, cidOf(sqe), SUCCESS, 0, 0).then(() => this.#queueEnded(q));
        return NO_RESPONSE;
      }
      return type === FabricsType.CONNECT ? SEQUENCE_ERROR : INVALID_OPCODE;
    }
    if (!this.#ready()) return SEQUENCE_ERROR;
    const nsid = u32(sqe, SQE_NSID);
    if (opcode === NvmOpcode.FLUSH && nsid === NSID_BROADCAST) {
      return flushAllAllowed(this.#resvCtx!) ? this.#flushAllCommand() : RESERVATION_CONFLICT;
    }
    const ns = this.subsystem!.namespace(nsid);
    // ANA (as Linux's nvmet_check_ana_state): no I/O where the namespace's group is not
    // accessible on this port; SCT 3 without DNR sends the host to another path.
    if (ns !== undefined && this.#ana![ns.anagrpid] > AnaState.NON_OPTIMIZED) {
      return anaStatus(this.#ana![ns.anagrpid]);
    }
    const gated = reservationGate(q.qp, cmd, opcode, ns, this.#resvCtx!);
    if (gated !== undefined) return gated;
    return nvmCommand(q.qp, cmd, opcode, ns, this.#nvm);
  }

  /** Counts a completed I/O command in its namespace's metrics (no allocation). */
  #count(sqe: Uint8Array, status: number, t0: number): void {
    const opcode = sqe[SQE_OPCODE];
    if (opcode === FABRICS_OPCODE) return;
    const sub = this.subsystem!;
    const ns = sub.namespace(u32(sqe, SQE_NSID));
    let kind: number = IoKind.OTHER;
    let bytes = 0;
    if (opcode === NvmOpcode.READ || opcode === NvmOpcode.COMPARE || opcode === NvmOpcode.VERIFY) {
      kind = IoKind.READ;
    } else if (opcode === NvmOpcode.WRITE || opcode === NvmOpcode.WRITE_ZEROES) {
      kind = IoKind.WRITE;
    }
    if (ns !== undefined && (opcode === NvmOpcode.READ || opcode === NvmOpcode.WRITE)) {
      bytes = ((u32(sqe, SQE_CDW12) & RwControl.NLB_MASK) + 1) * ns.blockSize;
    }
    (ns?.metrics ?? sub.metrics).record(kind, status, bytes, (performance.now() - t0) / 1000);
  }

  async #flushAllCommand(): Promise<number> {
    try {
      await this.#flushAll();
    } catch (e) {
      this.#init.hooks.error(e, `Cannot flush the namespaces of ${this.subnqn}`);
      return WRITE_FAULT;
    }
    return SUCCESS;
  }
}

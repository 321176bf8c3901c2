/**
 * The {@linkcode HostController}: one association with one controller once it is set up, as
 * FreeBSD's `sys/dev/nvmf/host/nvmf.c` runs it — admin commands, namespaces, asynchronous event
 * requests (`nvmf_aer.c`), keep-alive, command timeouts with Abort, reconnects, orderly shutdown,
 * handoff. The Fabrics steps it takes are the free functions of `_fabrics.ts`, its queues those
 * of `_queue.ts`; `connect()` and `adopt()` make controllers through the module-private
 * entry points set in its static block.
 *
 * @module
 */

import {
  ABORT_NOT_ABORTED,
  AbortBits,
  AdminOpcode,
  AsyncEventBits,
  AsyncEventConfig,
  AsyncEventIoCommandSpecific,
  AsyncEventNotice,
  AsyncEventType,
  type Cap,
  CapCss,
  CNTLID_DYNAMIC,
  ControllerAttributes,
  cqeCid,
  cqeDw0,
  cqeStatus,
  CRDT_UNIT_MS,
  decodeCap,
  decodeChangedNsList,
  decodeDiscoveryLog,
  decodeDiscoveryLogHeader,
  decodeIdentifyController,
  decodeIdentifyNamespace,
  decodeNsIdDescriptors,
  decodeNsIdList,
  decodeStatus,
  decodeVs,
  type DiscoveryLog,
  DiscoveryLogHeaderOffset,
  encodeDiscoveryLogEntry,
  encodeGetLogPage,
  encodeIdentify,
  encodePropertyGet,
  encodePropertySet,
  encodeSqe,
  FabricsStatus,
  FCATT_STATIC_CONTROLLER_MODEL,
  FeatureBits,
  FeatureId,
  GenericStatus,
  IDENTIFY_DATA_SIZE,
  IdentifyCns,
  type IdentifyController,
  type IdentifyNamespace,
  IO_QUEUE_MIN_ENTRIES,
  LogPageId,
  LogPageSize,
  nameOf,
  NSID_BROADCAST,
  type NsIdDescriptor,
  NvmeStatusError,
  Property,
  propertyGetValue,
  propertySize,
  SglSupport,
  SQE_SIZE,
  SQHD_FLOW_CONTROL_DISABLED,
  StatusCodeType,
  SubsystemType,
  TransportRequirements,
  type Vs,
} from "@nvmf/proto";
import {
  Association,
  type DataDirection,
  type QueuePair,
  QueuePairClosedError,
  type Transport,
  type TransportAddress,
  TransportError,
} from "@nvmf/transport";
import {
  adminCommand,
  enableController,
  fabricsConnect,
  propertyGet,
  requestQueues,
  run,
  shutdownController,
} from "./_fabrics.ts";
import { Command, HostQueue, type QueueOwner } from "./_queue.ts";
import type { Settings } from "./_settings.ts";
import type { HostAssociationState } from "./adopt.ts";
import {
  commandName,
  CommandTimeoutError,
  ControllerError,
  ControllerLostError,
} from "./errors.ts";
import {
  type AsyncEvent,
  type HostEvent,
  HostEventHub,
  type HostEventListener,
  type HostEventType,
} from "./events.ts";
import { type IoPath, type Namespace, openNamespace } from "./namespace.ts";
import { HOST_DEFAULTS } from "./options.ts";
import { readReservationNotifications } from "./reservation.ts";

const LIVE = 1;
const CONNECTING = 0;
const RECONNECTING = 2;
const CLOSING = 3;
const CLOSED = 4;
const LOST = 5;
/** Draining for a handoff; reported as "closing". */
const HANDING_OFF = 6;
const HANDED_OFF = 7;
/** The state of a {@linkcode HostController}. */
export type HostControllerState =
  | "connecting"
  | "live"
  | "reconnecting"
  | "closing"
  | "closed"
  | "lost"
  | "handed-off";

const STATE_NAMES: readonly HostControllerState[] = [
  "connecting",
  "live",
  "reconnecting",
  "closing",
  "closed",
  "lost",
  "closing",
  "handed-off",
];

/** Host memory page size: 4 KiB, CC.MPS 0 (Base 3.1.3.5). */
const HOST_PAGE_SHIFT = 12;

/** Asynchronous events this host asks for: those Linux enables (NVME_AEN_SUPPORTED). */
const AEN_SUPPORTED = (AsyncEventConfig.NAMESPACE_ATTRIBUTE_NOTICES |
  AsyncEventConfig.FIRMWARE_ACTIVATION_NOTICES | AsyncEventConfig.ANA_CHANGE_NOTICES |
  AsyncEventConfig.DISCOVERY_LOG_PAGE_CHANGE_NOTICES) >>> 0;

/** How many times a Discovery log page read starts over when its generation counter moves. */
const DISCOVERY_LOG_ATTEMPTS = 10;
/** Most Discovery log entries the host accepts (FreeBSD `nvmf_host_fetch_discovery_log_page`). */
const DISCOVERY_LOG_MAX_ENTRIES = 1024;

/** One established association: its queues and what the controller said. */
interface Established {
  association: Association;
  admin: HostQueue;
  io: HostQueue[];
  cntlid: number;
  cap: Cap;
  vs: Vs;
  cdata: IdentifyController;
  cdataBytes: Uint8Array;
  ioQueueSize: number;
}

/** What `adopt()` checked and decoded of a handed-over association. */
export interface AdoptedAssociation {
  /** The admin queue pair (host side, QID 0). */
  admin: QueuePair;
  /** The I/O queue pairs, QID 1 first. */
  io: QueuePair[];
  /** Identify Controller, decoded. */
  cdata: IdentifyController;
  /** Its 4096 bytes. */
  cdataBytes: Uint8Array;
}

// Set in HostController's static block: how connect() and adopt() make controllers, so that
// neither the constructor nor the set-up steps are public API.
let openController: (s: Settings, signal?: AbortSignal) => Promise<HostController>;
let adoptController: (s: Settings, adopted: AdoptedAssociation) => Promise<HostController>;

/**
 * Makes a controller and sets its association up (internal: what `connect()` does).
 *
 * @param s The settings.
 * @param signal Gives up when aborted.
 * @returns The live controller.
 */
export function openHostController(s: Settings, signal?: AbortSignal): Promise<HostController> {
  return openController(s, signal);
}

/**
 * Makes a controller that continues a handed-over association (internal: what `adopt()` does
 * once it has checked the queue pairs and updated the association).
 *
 * @param s The settings.
 * @param adopted The queue pairs and Identify Controller.
 * @returns The live controller.
 */
export function adoptHostController(
  s: Settings,
  adopted: AdoptedAssociation,
): Promise<HostController> {
  return adoptController(s, adopted);
}

/**
 * A live association with one controller, as FreeBSD's `sys/dev/nvmf/host/nvmf.c` runs one:
 * admin commands (Identify, Get Log Page, Get/Set Features, properties, Abort), namespaces,
 * asynchronous events, keep-alive at KATO/2 (KATO/4 with traffic based keep-alive), command
 * timeouts with Abort (then a reset of the association when Abort does not end the command),
 * reconnects after a broken connection until the controller-loss timeout,
 * an orderly shutdown (CC.SHN, CSTS.SHST), and a handoff to a new owner. Make one with
 * `connect()` (or `adopt()`); its constructor is not public.
 *
 * @example Usage
 * ```ts
 * import { connect } from "@nvmf/host";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import { loopback } from "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 *
 * const target = new Target();
 * const subnqn = "nqn.2026-01.dev.nvmf:controller-doc";
 * target.addSubsystem({
 *   nqn: subnqn,
 *   namespaces: [{ backend: new RamBackend({ size: 1n << 20n }) }],
 *   allowAnyHost: true,
 * });
 * await target.listen(loopback, { traddr: "controller-doc" });
 *
 * const ctrl = await connect({
 *   transport: loopback,
 *   address: { traddr: "controller-doc" },
 *   subnqn,
 *   ioQueues: 2,
 * });
 * assert.equal(ctrl.state, "live");
 * assert.equal(ctrl.ioQueueCount, 2);
 * assert.deepEqual(await ctrl.activeNamespaces(), [1]);
 * assert.equal(ctrl.cdata.subnqn, subnqn);
 * await ctrl.close();
 * assert.equal(ctrl.state, "closed");
 * await target.close();
 * ```
 */
export class HostController {
  /** The transport. */
  readonly transport: Transport;
  /** Where the controller is. */
  readonly address: Readonly<TransportAddress>;
  /** The subsystem NQN. */
  readonly subnqn: string;
  /** The host NQN used. */
  readonly hostnqn: string;
  /** The Host Identifier used. */
  readonly hostid: Uint8Array;
  readonly #s: Settings;
  #state = CONNECTING;
  #est: Established | undefined;
  #rr = 0;
  #parked: Command[] = [];
  #timers = new Set<ReturnType<typeof setTimeout>>();
  /** Commands waiting out a Command Retry Delay (CRD), by their timer. */
  #delayed = new Map<ReturnType<typeof setTimeout>, Command>();
  #kaTimer: ReturnType<typeof setTimeout> | undefined;
  #kaCompletions = -1;
  #wake: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  #lastError: Error | undefined;
  readonly #events = new HostEventHub();
  /** What the namespaces send their commands through. */
  readonly #io: IoPath;
  readonly #owner: QueueOwner = {
    failed: (queue, command, cqe, fault) => this.#failed(queue, command, cqe, fault),
    timedOut: (queue, command, cid) => this.#timedOut(queue, command, cid),
    stuck: (queue, command, cid) => this.#stuck(queue, command, cid),
    down: (queue, error, commands) => this.#down(queue, error, commands),
  };

  static {
    openController = async (s, signal) => {
      const ctrl = new HostController(s);
      await ctrl.#open(signal);
      return ctrl;
    };
    adoptController = (s, adopted) => new HostController(s).#adopt(adopted);
  }

  private constructor(s: Settings) {
    this.#s = s;
    this.transport = s.transport;
    this.address = Object.freeze({ ...s.address });
    this.subnqn = s.subnqn;
    this.hostnqn = s.hostnqn;
    this.hostid = s.hostid;
    this.#io = { submit: (command) => this.#submitIo(command), timeoutMs: s.commandTimeout };
  }

  /** Sets the association up: what `connect()` awaits. */
  async #open(signal?: AbortSignal): Promise<void> {
    try {
      this.#est = await this.#establish(this.#s.cntlid, signal);
    } catch (e) {
      this.#state = CLOSED;
      throw e;
    }
    if (this.#state !== CONNECTING) {
      await this.#teardown(this.#est, false);
      throw new QueuePairClosedError("Cannot connect: the controller was closed meanwhile");
    }
    this.#state = LIVE;
    this.#started(this.#est);
  }

  /** `"live"`, `"reconnecting"`, `"closed"`, `"lost"`, ... */
  get state(): HostControllerState {
    return STATE_NAMES[this.#state];
  }

  /** True for a discovery controller. */
  get discovery(): boolean {
    return this.#s.discovery;
  }

  #live(what: string): Established {
    const est = this.#est;
    if (est === undefined) throw new QueuePairClosedError(`Cannot ${what}: not connected`);
    return est;
  }

  /** The controller's CNTLID. */
  get cntlid(): number {
    return this.#live("read CNTLID").cntlid;
  }

  /** CAP, as read when the association was set up. */
  get cap(): Cap {
    return this.#live("read CAP").cap;
  }

  /** VS, as read when the association was set up. */
  get vs(): Vs {
    return this.#live("read VS").vs;
  }

  /** Identify Controller, as read when the association was set up. */
  get cdata(): IdentifyController {
    return this.#live("read Identify Controller").cdata;
  }

  /** The raw 4096 bytes of Identify Controller. */
  get cdataBytes(): Uint8Array {
    return this.#live("read Identify Controller").cdataBytes;
  }

  /** How many I/O queues the association has. */
  get ioQueueCount(): number {
    return this.#est?.io.length ?? 0;
  }

  /** Entries of each I/O queue. */
  get ioQueueSize(): number {
    return this.#est?.ioQueueSize ?? 0;
  }

  /** KATO in ms (0 when keep-alive is off). */
  get kato(): number {
    return this.#s.kato;
  }

  /**
   * The most bytes one command transfers: 2^(12 + CAP.MPSMIN + MDTS), lowered to the
   * `maxTransferSize` option; when MDTS is 0 (no limit) the option, or 1 MiB.
   */
  get maxTransferSize(): number {
    const est = this.#live("read MDTS");
    const mdts = est.cdata.mdts;
    const option = this.#s.maxTransferSize;
    if (mdts === 0) return option ?? HOST_DEFAULTS.maxTransferSize;
    const limit = 2 ** (HOST_PAGE_SHIFT + est.cap.mpsmin + mdts);
    return option === undefined ? limit : Math.min(limit, option);
  }

  // -------------------------------------------------------------------------------------------
  // Setting up

  async #establish(cntlid: number, signal?: AbortSignal): Promise<Established> {
    const s = this.#s;
    const association = new Association(s.transport, false, {
      sqFlowControl: s.sqFlowControl,
      tcp: { headerDigests: s.headerDigests, dataDigests: s.dataDigests } as never,
    });
    const adminQp = await s.transport.connect(association, {
      address: s.address,
      admin: true,
      qid: 0,
      qsize: s.adminQueueSize,
      signal,
    });
    const admin = new HostQueue(adminQp, 0, this.#owner);
    const io: HostQueue[] = [];
    try {
      const gotCntlid = await fabricsConnect(admin, s.adminTimeout, s, cntlid, s.kato);
      const cap = decodeCap(await propertyGet(admin, s.adminTimeout, Property.CAP));
      // FreeBSD connect_nvm_adminq: the NVM command set is required.
      if (!s.discovery && (cap.css & CapCss.NVM) === 0) {
        throw new ControllerError(
          `Cannot use controller ${s.subnqn}: CAP.CSS lacks the NVM command set`,
          "unsupported",
        );
      }
      const vs = decodeVs(Number(await propertyGet(admin, s.adminTimeout, Property.VS)));
      await enableController(admin, s.adminTimeout, cap);
      const cdataBytes = new Uint8Array(IDENTIFY_DATA_SIZE);
      await run(
        admin,
        this.#adminCommand(
          encodeIdentify({ cid: 0, cns: IdentifyCns.CONTROLLER }),
          cdataBytes,
          "controller-to-host",
        ),
      );
      const cdata = decodeIdentifyController(cdataBytes);
      let ioQueueSize = 0;
      if (!s.discovery) {
        // Fabrics needs SGLs (Linux nvmf: "Mandatory sgls are not supported").
        if (
          (cdata.sgls &
            (SglSupport.SUPPORTED_NO_ALIGNMENT | SglSupport.SUPPORTED_DWORD_ALIGNMENT)) === 0
        ) {
          throw new ControllerError(
            `Cannot use controller ${s.subnqn}: SGLS reports no SGL support`,
            "unsupported",
          );
        }
        association.update({
          ioccsz: cdata.ioccsz,
          iorcsz: cdata.iorcsz,
          mdts: cdata.mdts,
          sgls: cdata.sgls,
          maxcmd: cdata.maxcmd,
        });
        if (s.ioQueues > 0) {
          ioQueueSize = Math.min(s.queueSize, cap.mqes + 1);
          if (cdata.maxcmd > 0) ioQueueSize = Math.min(ioQueueSize, cdata.maxcmd);
          if (ioQueueSize < IO_QUEUE_MIN_ENTRIES) {
            throw new ControllerError(
              `Cannot use controller ${s.subnqn}: its I/O queues hold ${ioQueueSize} entries`,
              "unsupported",
            );
          }
          const count = await requestQueues(admin, s.adminTimeout, s.ioQueues);
          const pending: Promise<HostQueue>[] = [];
          for (let qid = 1; qid <= count; qid++) {
            pending.push(this.#connectIoQueue(association, qid, ioQueueSize, gotCntlid, signal));
          }
          const settled = await Promise.allSettled(pending);
          for (const r of settled) if (r.status === "fulfilled") io.push(r.value);
          const failed = settled.find((r) => r.status === "rejected");
          if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
        }
      }
      return {
        association,
        admin,
        io,
        cntlid: gotCntlid,
        cap,
        vs,
        cdata,
        cdataBytes,
        ioQueueSize,
      };
    } catch (e) {
      for (const q of io) await q.close().catch(() => {});
      await admin.close().catch(() => {});
      throw e;
    }
  }

  async #connectIoQueue(
    association: Association,
    qid: number,
    qsize: number,
    cntlid: number,
    signal?: AbortSignal,
  ): Promise<HostQueue> {
    const qp = await this.#s.transport.connect(association, {
      address: this.#s.address,
      admin: false,
      qid,
      qsize,
      signal,
    });
    const queue = new HostQueue(qp, qid, this.#owner);
    try {
      await fabricsConnect(queue, this.#s.adminTimeout, this.#s, cntlid, 0);
    } catch (e) {
      await queue.close().catch(() => {});
      throw e;
    }
    return queue;
  }

  /** After (re)connecting: keep-alive and Asynchronous Event Requests. */
  #started(est: Established): void {
    this.#startKeepAlive(est);
    if (this.#s.asyncEvents) this.#configureAsyncEvents(est);
  }

  #configureAsyncEvents(est: Established): void {
    const wanted = (est.cdata.oaes & AEN_SUPPORTED) >>> 0;
    const post = () => {
      if (this.#est === est && this.#state === LIVE) this.#postAer(est);
    };
    if (wanted === 0) {
      post();
      return;
    }
    const command = this.#adminCommand(encodeSqe({
      opcode: AdminOpcode.SET_FEATURES,
      cdw10: FeatureId.ASYNC_EVENT_CONFIGURATION,
      cdw11: wanted,
    }));
    command.promise.then(post, post);
    est.admin.submit(command);
  }

  #postAer(est: Established): void {
    const command = this.#adminCommand(encodeSqe({ opcode: AdminOpcode.ASYNC_EVENT_REQUEST }));
    command.timeoutMs = 0;
    command.noAbort = true;
    command.promise.then(
      (cqe) => this.#onAer(est, cqe),
      () => {}, // limit exceeded, or the queue went down: a reconnect posts a new one
    );
    est.admin.submit(command);
  }

  async #onAer(est: Established, cqe: Uint8Array): Promise<void> {
    if (this.#est !== est || this.#state !== LIVE) return;
    const dw0 = cqeDw0(cqe);
    const event: AsyncEvent = {
      eventType: dw0 & AsyncEventBits.TYPE_MASK,
      eventInfo: (dw0 >>> AsyncEventBits.INFO_SHIFT) & AsyncEventBits.INFO_MASK,
      logPage: (dw0 >>> AsyncEventBits.LID_SHIFT) & AsyncEventBits.LID_MASK,
      dw0,
    };
    this.#postAer(est);
    if (
      event.eventType === AsyncEventType.NOTICE &&
      event.eventInfo === AsyncEventNotice.NAMESPACE_ATTRIBUTE_CHANGED
    ) {
      try {
        const list = decodeChangedNsList(
          await this.getLogPage(LogPageId.CHANGED_NAMESPACE_LIST, {
            length: LogPageSize.CHANGED_NAMESPACE_LIST,
          }),
        );
        event.changedNamespaces = list.overflow ? "all" : list.nsids;
      } catch {
        // Reported without the list.
      }
    }
    if (
      event.eventType === AsyncEventType.IO_COMMAND_SPECIFIC_STATUS &&
      event.eventInfo === AsyncEventIoCommandSpecific.RESERVATION_LOG_PAGE_AVAILABLE
    ) {
      try {
        event.reservations = await readReservationNotifications((lid, o) =>
          this.getLogPage(lid, o)
        );
      } catch {
        // Reported without the pages.
      }
    }
    this.#emit({ type: "aen", event });
  }

  // -------------------------------------------------------------------------------------------
  // Keep-alive (Base 3.9; Linux nvme_keep_alive_work)

  #startKeepAlive(est: Established): void {
    if (this.#s.kato === 0) return;
    this.#kaCompletions = -1;
    this.#scheduleKeepAlive(est, this.#keepAlivePeriod(est));
  }

  #keepAlivePeriod(est: Established): number {
    const tbkas = (est.cdata.ctratt & ControllerAttributes.TBKAS) !== 0;
    // KATO/2; with traffic based keep-alive twice as often, since one completion can postpone
    // the next Keep Alive by up to two periods.
    return tbkas ? this.#s.kato / 4 : this.#s.kato / 2;
  }

  #scheduleKeepAlive(est: Established, delay: number): void {
    if (this.#kaTimer !== undefined) clearTimeout(this.#kaTimer);
    this.#kaTimer = setTimeout(() => this.#keepAlive(est), Math.max(0, delay));
  }

  #completions(est: Established): number {
    let n = est.admin.completions;
    for (const q of est.io) n += q.completions;
    return n;
  }

  #keepAlive(est: Established): void {
    this.#kaTimer = undefined;
    if (this.#est !== est || this.#state !== LIVE) return;
    const period = this.#keepAlivePeriod(est);
    if ((est.cdata.ctratt & ControllerAttributes.TBKAS) !== 0) {
      const seen = this.#completions(est);
      if (seen !== this.#kaCompletions && this.#kaCompletions !== -1) {
        this.#kaCompletions = seen;
        this.#scheduleKeepAlive(est, period);
        return;
      }
    }
    const command = this.#adminCommand(encodeSqe({ opcode: AdminOpcode.KEEP_ALIVE }));
    command.timeoutMs = this.#s.kato;
    command.noAbort = true;
    const sent = performance.now();
    command.promise.then(
      () => {
        if (this.#est !== est || this.#state !== LIVE) return;
        this.#kaCompletions = this.#completions(est);
        // Linux subtracts the round trip so that the period holds.
        this.#scheduleKeepAlive(est, period - (performance.now() - sent));
      },
      (error: Error) => {
        if (this.#est !== est || this.#state !== LIVE) return;
        this.#connectionLost(
          new TransportError(`Cannot keep the association alive: ${error.message}`, "timeout", {
            cause: error,
          }),
        );
      },
    );
    est.admin.submit(command);
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  #adminCommand(
    template: Uint8Array,
    data?: Uint8Array,
    direction?: DataDirection,
  ): Command {
    return adminCommand(template, this.#s.adminTimeout, data, direction);
  }

  /** Sends an admin command on the live association (parked while reconnecting). */
  #submitAdmin(command: Command): Promise<Uint8Array> {
    const state = this.#state;
    if (state === LIVE) this.#est!.admin.submit(command);
    else if (state === RECONNECTING) this.#parked.push(command);
    else command.reject(this.#unusable(commandName(command.opcode, true, command.fctype)));
    return command.promise;
  }

  #submitIo(command: Command): void {
    const state = this.#state;
    if (state === LIVE) {
      const io = this.#est!.io;
      const n = io.length;
      if (n === 1) {
        io[0].submit(command);
      } else if (n === 0) {
        command.reject(
          new RangeError(
            `Cannot send ${commandName(command.opcode, false)}: the association has no I/O queues`,
          ),
        );
      } else {
        // Least loaded, ties going round robin.
        const start = this.#rr;
        this.#rr = start + 1 === n ? 0 : start + 1;
        let best = io[start];
        let load = best.load;
        for (let i = 1; i < n && load > 0; i++) {
          const q = io[(start + i) % n];
          const l = q.load;
          if (l < load) {
            best = q;
            load = l;
          }
        }
        best.submit(command);
      }
    } else if (state === RECONNECTING) {
      this.#parked.push(command);
    } else {
      command.reject(this.#unusable(commandName(command.opcode, false)));
    }
  }

  #unusable(what: string): Error {
    if (this.#state === LOST) {
      return new ControllerLostError(
        `Cannot send ${what}: the controller ${this.subnqn} was given up`,
        { cause: this.#lastError },
      );
    }
    return new QueuePairClosedError(`Cannot send ${what}: the controller is ${this.state}`);
  }

  #failed(_queue: HostQueue, command: Command, cqe: Uint8Array, fault?: string): void {
    const status = cqeStatus(cqe);
    const st = decodeStatus(status);
    if (
      command.retry && !st.dnr && command.retries < this.#s.maxRetries &&
      this.#state === LIVE
    ) {
      command.retries++;
      const est = this.#est!;
      const crdt = st.crd === 0
        ? 0
        : [est.cdata.crdt1, est.cdata.crdt2, est.cdata.crdt3][st.crd - 1];
      const delay = crdt * CRDT_UNIT_MS;
      if (delay === 0) {
        this.#submitIo(command);
      } else {
        const timer = setTimeout(() => {
          this.#delayed.delete(timer);
          this.#submitIo(command);
        }, delay);
        this.#delayed.set(timer, command);
      }
      return;
    }
    const opcode = command.template !== undefined ? command.template[0] : command.opcode;
    const name = commandName(opcode, command.admin, command.fctype);
    command.reject(
      new NvmeStatusError(st, {
        cid: cqeCid(cqe),
        dw0: cqeDw0(cqe),
        opcode,
        admin: command.admin,
        fctype: command.fctype,
        // The transport's reason when it failed a completion the controller called successful.
        message: fault === undefined
          ? undefined
          : `Cannot complete ${name}: ${fault}: ${
            nameOf(GenericStatus, st.sc)
          } (sct ${st.sct}, sc 0x${st.sc.toString(16)})`,
      }),
    );
  }

  #timedOut(queue: HostQueue, command: Command, cid: number): void {
    command.reject(
      new CommandTimeoutError({
        qid: queue.qid,
        cid,
        opcode: command.opcode,
        admin: command.admin,
        fctype: command.fctype,
        timeoutMs: command.timeoutMs,
      }),
    );
    const est = this.#est;
    if (command.noAbort || est === undefined || this.#state !== LIVE) return;
    if (queue !== est.admin && !est.io.includes(queue)) return;
    const abort = this.#adminCommand(encodeSqe({
      opcode: AdminOpcode.ABORT,
      cdw10: ((queue.qid & AbortBits.SQID_MASK) | (cid << AbortBits.CID_SHIFT)) >>> 0,
    }));
    abort.noAbort = true;
    abort.promise.then((cqe) => {
      // The controller will not complete it: only a reset frees the CID (Linux's escalation).
      if ((cqeDw0(cqe) & ABORT_NOT_ABORTED) !== 0 && queue.isOutstanding(cid)) {
        this.#stuck(queue, command, cid);
      }
    }, () => {});
    est.admin.submit(abort);
  }

  /**
   * A timed-out command that Abort did not end: reset and reconnect the association, as Linux
   * escalates (`nvme_tcp_timeout` → error recovery); the new queues start with every CID free.
   */
  #stuck(queue: HostQueue, command: Command, cid: number): void {
    const est = this.#est;
    if (est === undefined || this.#state !== LIVE) return;
    if (queue !== est.admin && !est.io.includes(queue)) return;
    this.#connectionLost(
      new TransportError(
        `Cannot recover ${
          commandName(command.opcode, command.admin, command.fctype)
        } (qid ${queue.qid}, cid ${cid}): it timed out and Abort did not end it; resetting the association`,
        "timeout",
      ),
    );
  }

  #down(queue: HostQueue, error: Error, commands: Command[]): void {
    const est = this.#est;
    const ours = est !== undefined && (queue === est.admin || est.io.includes(queue));
    for (const command of commands) {
      if (
        ours && command.retry && command.retries < this.#s.maxRetries &&
        (this.#state === LIVE || this.#state === RECONNECTING) && this.#s.ctrlLossTimeout > 0
      ) {
        command.retries++;
        this.#parked.push(command);
      } else {
        command.reject(error);
      }
    }
    if (ours && this.#state === LIVE) this.#connectionLost(error);
  }

  // -------------------------------------------------------------------------------------------
  // Reconnecting

  #connectionLost(error: Error): void {
    if (this.#state !== LIVE) return;
    const est = this.#est!;
    this.#state = RECONNECTING;
    this.#lastError = error;
    this.#stopKeepAlive();
    this.#emit({ type: "disconnected", error });
    // Everything of the old association goes; its commands come back through #down.
    for (const q of [...est.io, est.admin]) q.abort(error);
    this.#reconnect(performance.now(), error);
  }

  async #reconnect(lostAt: number, error: Error): Promise<void> {
    const s = this.#s;
    const old = this.#est!;
    const deadline = lostAt + s.ctrlLossTimeout;
    // FreeBSD keeps a static controller's CNTLID for the reconnect (nvmf_init_dle_from_admin_qp).
    const cntlid = (old.cdata.fcatt & FCATT_STATIC_CONTROLLER_MODEL) !== 0
      ? old.cntlid
      : CNTLID_DYNAMIC;
    let attempts = 0;
    let last = error;
    while (this.#state === RECONNECTING) {
      const now = performance.now();
      if (s.ctrlLossTimeout === 0 || now >= deadline) break;
      await this.#pause(Math.min(s.reconnectDelay, deadline - now));
      if (this.#state !== RECONNECTING) return;
      if (performance.now() >= deadline && attempts > 0) break;
      attempts++;
      let est: Established;
      try {
        est = await this.#establish(cntlid);
      } catch (e) {
        last = e instanceof Error ? e : new Error(String(e));
        this.#lastError = last;
        continue;
      }
      if (this.#state !== RECONNECTING) {
        await this.#teardown(est, false);
        return;
      }
      this.#est = est;
      this.#state = LIVE;
      this.#started(est);
      this.#emit({ type: "reconnected", attempts });
      const parked = this.#parked;
      this.#parked = [];
      for (const command of parked) {
        if (command.admin) est.admin.submit(command);
        else this.#submitIo(command);
      }
      return;
    }
    if (this.#state !== RECONNECTING) return;
    this.#state = LOST;
    const lost = new ControllerLostError(
      s.ctrlLossTimeout === 0
        ? `Cannot reach ${s.subnqn}: the connection broke and reconnecting is off`
        : `Cannot reach ${s.subnqn}: no reconnect within ${s.ctrlLossTimeout} ms (${attempts} attempts)`,
      { cause: last },
    );
    this.#lastError = last;
    const parked = this.#parked;
    this.#parked = [];
    for (const command of parked) command.reject(lost);
    this.#emit({ type: "lost", error: lost });
    this.#endIterators();
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#wake = undefined;
        resolve();
      }, Math.max(0, ms));
      this.#timers.add(timer);
      this.#wake = () => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  #stopKeepAlive(): void {
    if (this.#kaTimer !== undefined) clearTimeout(this.#kaTimer);
    this.#kaTimer = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  /**
   * Ends the association in an orderly way: waits for the commands in flight, closes the I/O
   * queues, sets CC.SHN to normal shutdown and waits for CSTS.SHST to report it complete (Base
   * 3.6.1; Linux `nvme_shutdown_ctrl`, 5 s or RTD3E up to 60 s), then closes the admin queue.
   * Commands waiting for a reconnect reject with `QueuePairClosedError`. Idempotent.
   *
   * @returns Settles once every queue pair is closed.
   * @throws {ControllerError} When CSTS.SHST does not reach "complete" in time (the queues are
   * closed all the same).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const prev = this.#state;
    if (prev === CLOSED || prev === HANDED_OFF) return;
    this.#state = CLOSING;
    this.#stopKeepAlive();
    this.#wake?.();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const parked = this.#parked;
    this.#parked = [];
    for (const [t, command] of this.#delayed) {
      clearTimeout(t);
      parked.push(command);
    }
    this.#delayed.clear();
    const closed = new QueuePairClosedError("Cannot send the command: the controller was closed");
    for (const command of parked) command.reject(closed);
    const est = this.#est;
    let failure: Error | undefined;
    if (est !== undefined && prev === LIVE) {
      try {
        await this.#teardown(est, true);
      } catch (e) {
        failure = e as Error;
      }
    }
    this.#state = CLOSED;
    this.#emit({ type: "closed" });
    this.#endIterators();
    if (failure !== undefined) throw failure;
  }

  async #teardown(est: Established, shutdown: boolean): Promise<void> {
    if (shutdown) {
      const pending: Promise<unknown>[] = [];
      for (const q of est.io) for (const c of q.pending()) pending.push(c.promise);
      for (const c of est.admin.pending()) if (c.timeoutMs > 0) pending.push(c.promise);
      await Promise.allSettled(pending);
    }
    await Promise.all(est.io.map((q) => q.close()));
    let failure: Error | undefined;
    if (shutdown && !est.admin.isDown) {
      try {
        await shutdownController(
          est.admin,
          this.#s.adminTimeout,
          est.cdata.rtd3e,
          this.#s.shutdownTimeout,
        );
      } catch (e) {
        if (e instanceof ControllerError) failure = e;
      }
    }
    await est.admin.close();
    if (failure !== undefined) throw failure;
  }

  // -------------------------------------------------------------------------------------------
  // Events

  /**
   * Calls `listener` for each event of type `type` until the returned function is called.
   * A listener that throws does not disturb the host; its error is reported asynchronously.
   *
   * @param type `"aen"`, `"disconnected"`, `"reconnected"`, `"lost"` or `"closed"`.
   * @param listener Gets the event.
   * @returns A function that removes the listener.
   */
  on<T extends HostEventType>(type: T, listener: HostEventListener<T>): () => void {
    return this.#events.on(type, listener);
  }

  /**
   * The events from now on, as an async iterator that ends when the controller is closed,
   * given up or handed off.
   *
   * @returns The iterator.
   */
  events(): AsyncIterableIterator<HostEvent> {
    return this.#events.iterator(this.#state === CLOSED || this.#state === LOST);
  }

  #emit(event: HostEvent): void {
    this.#events.emit(event);
  }

  #endIterators(): void {
    this.#events.end();
  }

  // -------------------------------------------------------------------------------------------
  // Admin commands

  /**
   * Sends an admin command built by the caller (passthrough) and returns its CQE.
   *
   * @param sqe The 64-byte SQE (CID and DPTR are filled in by the host).
   * @param data A data buffer, if the command moves data.
   * @param direction Which way the data moves.
   * @returns The 16-byte CQE of a successful completion.
   * @throws {NvmeStatusError} When the command completes with an error status.
   * @throws {CommandTimeoutError} When it outlives the admin timeout.
   */
  adminCommand(
    sqe: Uint8Array,
    data?: Uint8Array,
    direction?: DataDirection,
  ): Promise<Uint8Array> {
    if (sqe.length !== SQE_SIZE) {
      return Promise.reject(
        new RangeError(`Cannot send the command: the SQE is ${sqe.length} bytes, not 64`),
      );
    }
    if (data !== undefined && direction === undefined) {
      return Promise.reject(new RangeError("Cannot send the command: data needs a direction"));
    }
    return this.#submitAdmin(this.#adminCommand(sqe.slice(), data, direction));
  }

  /**
   * Sends an NVM command built by the caller (passthrough) on an I/O queue and returns its CQE.
   * It is not retried.
   *
   * @param sqe The 64-byte SQE (CID and DPTR are filled in by the host).
   * @param data A data buffer, if the command moves data.
   * @param direction Which way the data moves.
   * @returns The 16-byte CQE of a successful completion.
   * @throws {NvmeStatusError} When the command completes with an error status.
   * @throws {CommandTimeoutError} When it outlives the command timeout.
   */
  ioCommand(sqe: Uint8Array, data?: Uint8Array, direction?: DataDirection): Promise<Uint8Array> {
    if (sqe.length !== SQE_SIZE) {
      return Promise.reject(
        new RangeError(`Cannot send the command: the SQE is ${sqe.length} bytes, not 64`),
      );
    }
    if (data !== undefined && direction === undefined) {
      return Promise.reject(new RangeError("Cannot send the command: data needs a direction"));
    }
    const command = new Command();
    command.template = sqe.slice();
    command.opcode = sqe[0];
    command.data = data;
    command.direction = data === undefined ? undefined : direction;
    command.timeoutMs = this.#s.commandTimeout;
    this.#submitIo(command);
    return command.promise;
  }

  /**
   * Reads Identify data (Base 5.17): any CNS, 4096 bytes.
   *
   * @param cns The CNS value (`IdentifyCns`).
   * @param options NSID, CNTID and CSI where the CNS needs them.
   * @returns The 4096 bytes.
   */
  async identifyRaw(
    cns: number,
    options: { nsid?: number; cntid?: number; csi?: number } = {},
  ): Promise<Uint8Array> {
    const data = new Uint8Array(IDENTIFY_DATA_SIZE);
    await this.#submitAdmin(
      this.#adminCommand(
        encodeIdentify({ cid: 0, cns, nsid: options.nsid, cntid: options.cntid, csi: options.csi }),
        data,
        "controller-to-host",
      ),
    );
    return data;
  }

  /**
   * Reads Identify Controller afresh (CNS 01h).
   *
   * @returns The decoded structure.
   */
  async identify(): Promise<IdentifyController> {
    return decodeIdentifyController(await this.identifyRaw(IdentifyCns.CONTROLLER));
  }

  /**
   * Reads Identify Namespace (CNS 00h). An inactive NSID gives an all-zero structure.
   *
   * @param nsid The namespace.
   * @returns The decoded structure.
   */
  async identifyNamespace(nsid: number): Promise<IdentifyNamespace> {
    return decodeIdentifyNamespace(await this.identifyRaw(IdentifyCns.NAMESPACE, { nsid }));
  }

  /**
   * Lists the active namespaces (CNS 02h), following the list past 1024 entries.
   *
   * @returns The NSIDs, increasing.
   */
  async activeNamespaces(): Promise<number[]> {
    const all: number[] = [];
    let after = 0;
    for (;;) {
      const page = decodeNsIdList(
        await this.identifyRaw(IdentifyCns.ACTIVE_NAMESPACE_LIST, { nsid: after }),
      );
      all.push(...page);
      if (page.length < IDENTIFY_DATA_SIZE / 4) return all;
      after = page[page.length - 1];
      if (after >= NSID_BROADCAST - 1) return all;
    }
  }

  /**
   * Reads the Namespace Identification Descriptor list (CNS 03h): EUI64, NGUID, UUID, CSI.
   *
   * @param nsid The namespace.
   * @returns The descriptors.
   */
  async namespaceDescriptors(nsid: number): Promise<NsIdDescriptor[]> {
    return decodeNsIdDescriptors(
      await this.identifyRaw(IdentifyCns.NAMESPACE_DESCRIPTOR_LIST, { nsid }),
    );
  }

  /**
   * Reads a log page (Base 5.16), any LID, in as many commands as MDTS requires.
   *
   * @param lid The log page identifier (`LogPageId`).
   * @param options Offset and length in bytes (multiples of 4), NSID, LSP, LSI, RAE, CSI.
   * @returns `length` bytes.
   * @throws {RangeError} When the length or offset is not a multiple of 4.
   */
  async getLogPage(
    lid: number,
    options: {
      length: number;
      offset?: number | bigint;
      nsid?: number;
      lsp?: number;
      lsi?: number;
      rae?: boolean;
      csi?: number;
    },
  ): Promise<Uint8Array> {
    const { length } = options;
    const offset = BigInt(options.offset ?? 0);
    if (!Number.isInteger(length) || length <= 0 || length % 4 !== 0) {
      throw new RangeError(
        `Cannot read log page ${lid}: length ${length} is not a positive multiple of 4`,
      );
    }
    if (offset < 0n || offset % 4n !== 0n) {
      throw new RangeError(`Cannot read log page ${lid}: offset ${offset} is not a multiple of 4`);
    }
    const data = new Uint8Array(length);
    const max = Math.min(this.maxTransferSize, 2 ** 32 * 4);
    const step = Math.max(4, Math.floor(max / 4) * 4);
    const parts: Promise<Uint8Array>[] = [];
    for (let at = 0; at < length; at += step) {
      const n = Math.min(step, length - at);
      parts.push(this.#submitAdmin(this.#adminCommand(
        encodeGetLogPage({
          cid: 0,
          lid,
          nsid: options.nsid,
          lsp: options.lsp,
          lsi: options.lsi,
          // Only the last piece may clear the event: keep it retained until then.
          rae: options.rae === true || at + n < length,
          csi: options.csi,
          numd: n / 4,
          lpo: offset + BigInt(at),
        }),
        data.subarray(at, at + n),
        "controller-to-host",
      )));
    }
    await Promise.all(parts);
    return data;
  }

  /**
   * Reads the whole Discovery log page with the generation-counter loop of FreeBSD's
   * `nvmf_host_fetch_discovery_log_page`: header, then entries, then the header again; if
   * GENCTR moved (or the controller asked to restart), start over.
   *
   * @returns The header and every entry.
   * @throws {ControllerError} When the page keeps changing, or holds more than 1024 entries.
   */
  async getDiscoveryLog(): Promise<DiscoveryLog> {
    const headerSize = LogPageSize.DISCOVERY_HEADER;
    for (let attempt = 0; attempt < DISCOVERY_LOG_ATTEMPTS; attempt++) {
      let bytes: Uint8Array;
      let first;
      try {
        first = decodeDiscoveryLogHeader(
          await this.getLogPage(LogPageId.DISCOVERY, { length: headerSize }),
        );
        if (first.recfmt !== 0) {
          throw new ControllerError(
            `Cannot read the Discovery log page: record format ${first.recfmt} is not 0`,
            "unsupported",
          );
        }
        if (first.numrec > BigInt(DISCOVERY_LOG_MAX_ENTRIES)) {
          throw new ControllerError(
            `Cannot read the Discovery log page: ${first.numrec} entries exceed ${DISCOVERY_LOG_MAX_ENTRIES}`,
            "unsupported",
          );
        }
        const count = Number(first.numrec);
        bytes = new Uint8Array(headerSize + count * LogPageSize.DISCOVERY_ENTRY);
        if (count > 0) {
          bytes.set(
            await this.getLogPage(LogPageId.DISCOVERY, {
              offset: headerSize,
              length: count * LogPageSize.DISCOVERY_ENTRY,
            }),
            headerSize,
          );
        }
        const again = await this.getLogPage(LogPageId.DISCOVERY, { length: headerSize });
        if (decodeDiscoveryLogHeader(again).genctr !== first.genctr) continue;
        bytes.set(again.subarray(0, headerSize), 0);
        // The header says how many entries there were when we read them.
        new DataView(bytes.buffer).setBigUint64(
          DiscoveryLogHeaderOffset.numrec,
          BigInt(count),
          true,
        );
      } catch (e) {
        if (
          e instanceof NvmeStatusError && e.sct === StatusCodeType.COMMAND_SPECIFIC &&
          e.sc === FabricsStatus.DISCOVER_RESTART
        ) {
          continue;
        }
        throw e;
      }
      return decodeDiscoveryLog(bytes);
    }
    throw new ControllerError(
      `Cannot read the Discovery log page: it changed during ${DISCOVERY_LOG_ATTEMPTS} reads`,
      "protocol",
    );
  }

  /**
   * Get Features (Base 5.15).
   *
   * @param fid The feature (`FeatureId`).
   * @param options SEL, NSID, CDW11, and a buffer for features that return data.
   * @returns DW0 of the completion.
   */
  async getFeatures(
    fid: number,
    options: { sel?: number; nsid?: number; cdw11?: number; data?: Uint8Array } = {},
  ): Promise<number> {
    const cqe = await this.#submitAdmin(this.#adminCommand(
      encodeSqe({
        opcode: AdminOpcode.GET_FEATURES,
        nsid: options.nsid ?? 0,
        cdw10: ((fid & FeatureBits.FID_MASK) |
          ((options.sel ?? 0) & FeatureBits.SEL_MASK) << FeatureBits.SEL_SHIFT) >>> 0,
        cdw11: options.cdw11 ?? 0,
      }),
      options.data,
      "controller-to-host",
    ));
    return cqeDw0(cqe);
  }

  /**
   * Set Features (Base 5.27).
   *
   * @param fid The feature (`FeatureId`).
   * @param cdw11 The value (CDW11).
   * @param options NSID, save (SV), CDW12 to CDW15, and data for features that take some.
   * @returns DW0 of the completion.
   */
  async setFeatures(
    fid: number,
    cdw11: number,
    options: {
      nsid?: number;
      save?: boolean;
      cdw12?: number;
      cdw13?: number;
      cdw14?: number;
      cdw15?: number;
      data?: Uint8Array;
    } = {},
  ): Promise<number> {
    const cqe = await this.#submitAdmin(this.#adminCommand(
      encodeSqe({
        opcode: AdminOpcode.SET_FEATURES,
        nsid: options.nsid ?? 0,
        cdw10: ((fid & FeatureBits.FID_MASK) | (options.save ? FeatureBits.SV : 0)) >>> 0,
        cdw11: cdw11 >>> 0,
        cdw12: options.cdw12,
        cdw13: options.cdw13,
        cdw14: options.cdw14,
        cdw15: options.cdw15,
      }),
      options.data,
      "host-to-controller",
    ));
    return cqeDw0(cqe);
  }

  /**
   * Property Get (Fabrics 3.4): CAP, VS, CC, CSTS, NSSR...
   *
   * @param offset The property (`Property`); its size follows from it.
   * @returns The value.
   * @throws {RangeError} When the offset starts no property.
   */
  async readProperty(offset: number): Promise<bigint> {
    if (propertySize(offset) === undefined) {
      throw new RangeError(`Cannot read property ${offset}: no property starts there`);
    }
    return propertyGetValue(
      await this.#submitAdmin(this.#adminCommand(encodePropertyGet({ cid: 0, offset }))),
    );
  }

  /**
   * Property Set (Fabrics 3.4).
   *
   * @param offset The property (`Property`).
   * @param value The value.
   * @throws {RangeError} When the offset starts no property or the value does not fit.
   */
  async writeProperty(offset: number, value: bigint | number): Promise<void> {
    if (propertySize(offset) === undefined) {
      throw new RangeError(`Cannot write property ${offset}: no property starts there`);
    }
    await this.#submitAdmin(
      this.#adminCommand(encodePropertySet({ cid: 0, offset, value: BigInt(value) })),
    );
  }

  /**
   * Abort (Base 5.1): asks the controller to abort command `cid` of queue `sqid`.
   *
   * @param sqid The queue the command was sent on.
   * @param cid Its CID.
   * @returns True when the controller says it aborted the command.
   */
  async abort(sqid: number, cid: number): Promise<boolean> {
    const cqe = await this.#submitAdmin(this.#adminCommand(encodeSqe({
      opcode: AdminOpcode.ABORT,
      cdw10: ((sqid & AbortBits.SQID_MASK) | ((cid & 0xffff) << AbortBits.CID_SHIFT)) >>> 0,
    })));
    return (cqeDw0(cqe) & ABORT_NOT_ABORTED) === 0;
  }

  /**
   * Opens a namespace: Identify Namespace, then a handle that knows its block size and
   * capacity.
   *
   * @param nsid The namespace.
   * @returns The handle.
   * @throws {RangeError} When the namespace is not active (NSZE 0).
   */
  async namespace(nsid: number): Promise<Namespace> {
    if (!Number.isInteger(nsid) || nsid < 1 || nsid >= NSID_BROADCAST) {
      throw new RangeError(
        `Cannot open namespace ${nsid}: NSID must be 1 to ${NSID_BROADCAST - 1}`,
      );
    }
    const id = await this.identifyNamespace(nsid);
    if (id.nsze === 0n) {
      throw new RangeError(`Cannot open namespace ${nsid}: it is not active on ${this.subnqn}`);
    }
    return openNamespace(this, nsid, id, this.#io);
  }

  /**
   * Gives the association up to a new owner, as FreeBSD's libnvmf hands a host association to
   * the kernel (`nvmf_handoff_host()`; `@nvmf/handoff` makes the record): stops keep-alive,
   * refuses new commands, waits for those in flight, and returns the association with its queue
   * pairs still connected and idle (FreeBSD refuses busy queues with EBUSY). The controller is
   * then `"handed-off"`: it sends nothing more, `close()` does nothing and its event iterators
   * end. The queue pairs are the caller's, to detach for the new owner (the transport's
   * `detach()`), who continues them with `adopt()`.
   *
   * An Asynchronous Event Request cannot be taken back (only the controller completes it), so a
   * controller that posts them — `asyncEvents`, on by default — cannot be handed off; libnvmf's
   * host posts none either. Connect with `asyncEvents: false`.
   *
   * @returns The association, idle.
   * @throws {TypeError} When the controller is not live, posts Asynchronous Event Requests, or
   * has no I/O queues (a handoff carries at least one, as libnvmf's).
   * @throws {Error} When a command stays outstanding (timed out and never completed) or a queue
   * went down meanwhile; the controller carries on (reconnecting in the latter case).
   */
  async handoff(): Promise<HostAssociationState> {
    const what = "Cannot hand the association off";
    if (this.#state !== LIVE) throw new TypeError(`${what}: the controller is ${this.state}`);
    if (this.#s.asyncEvents) {
      throw new TypeError(
        `${what}: it posts Asynchronous Event Requests, which only the controller completes: connect with asyncEvents: false`,
      );
    }
    const est = this.#est!;
    if (est.io.length === 0) throw new TypeError(`${what}: it has no I/O queues`);
    this.#state = HANDING_OFF;
    this.#stopKeepAlive();
    const handedOff = new QueuePairClosedError(
      "Cannot send the command: the association was handed off",
    );
    for (const [t, command] of this.#delayed) {
      clearTimeout(t);
      command.reject(handedOff);
    }
    this.#delayed.clear();
    const queues = [est.admin, ...est.io];
    const pending: Promise<unknown>[] = [];
    for (const q of queues) for (const c of q.pending()) pending.push(c.promise);
    await Promise.allSettled(pending);
    if (this.#state !== HANDING_OFF) {
      // Closed meanwhile: the queue pairs are nobody's now.
      await this.#teardown(est, false);
      throw new QueuePairClosedError(`${what}: the controller was closed meanwhile`);
    }
    const down = queues.find((q) => q.isDown);
    const busy = queues.find((q) => q.outstanding > 0 || q.waiting > 0);
    if (down !== undefined || busy !== undefined) {
      this.#state = LIVE;
      const error = down !== undefined
        ? new TransportError(`${what}: queue ${down.qid} went down meanwhile`, "connection")
        : new Error(`${what}: queue ${busy!.qid} has ${busy!.outstanding} commands outstanding`);
      if (down !== undefined) this.#connectionLost(error);
      else this.#startKeepAlive(est);
      throw error;
    }
    const state = this.associationState();
    this.#state = HANDED_OFF;
    this.#endIterators();
    return state;
  }

  /** Continues a handed-over association: what `adopt()` awaits. */
  async #adopt(adopted: AdoptedAssociation): Promise<HostController> {
    const { admin: adminQp, io: ioQps, cdata, cdataBytes } = adopted;
    const requested = this.#s.sqFlowControl;
    const queue = (qp: QueuePair, qid: number): HostQueue => {
      const q = new HostQueue(qp, qid, this.#owner);
      q.setConnected(qp.sqFlowControl ? qp.sqhd : SQHD_FLOW_CONTROL_DISABLED, requested);
      return q;
    };
    const admin = queue(adminQp, 0);
    const io = ioQps.map((qp, i) => queue(qp, qp.qid ?? i + 1));
    const est: Established = {
      association: adminQp.association,
      admin,
      io,
      cntlid: cdata.cntlid,
      cap: undefined as unknown as Cap,
      vs: undefined as unknown as Vs,
      cdata,
      cdataBytes: cdataBytes.slice(),
      ioQueueSize: ioQps[0]?.qsize ?? 0,
    };
    const timeout = this.#s.adminTimeout;
    try {
      est.cap = decodeCap(await propertyGet(admin, timeout, Property.CAP));
      est.vs = decodeVs(Number(await propertyGet(admin, timeout, Property.VS)));
    } catch (e) {
      this.#state = CLOSED;
      await this.#teardown(est, false);
      throw e;
    }
    this.#est = est;
    this.#state = LIVE;
    this.#started(est);
    return this;
  }

  /**
   * What a handoff needs: the queue pairs, Identify Controller, a Discovery log entry for
   * reconnecting, and the association's parameters. All queues should be idle (FreeBSD refuses
   * a handoff otherwise); an Asynchronous Event Request stays outstanding unless `asyncEvents`
   * was false.
   *
   * @returns The state.
   */
  associationState(): HostAssociationState {
    const est = this.#live("read the association");
    const s = this.#s;
    const dynamic = (est.cdata.fcatt & FCATT_STATIC_CONTROLLER_MODEL) === 0;
    const discoveryEntry = encodeDiscoveryLogEntry({
      trtype: s.transport.trtype,
      adrfam: s.address.adrfam ?? 0,
      subtype: s.discovery ? SubsystemType.CURRENT_DISCOVERY : SubsystemType.NVME,
      treq: s.sqFlowControl ? 0 : TransportRequirements.SQ_FLOW_CONTROL_DISABLE,
      cntlid: dynamic ? CNTLID_DYNAMIC : est.cntlid,
      asqsz: s.adminQueueSize,
      trsvcid: s.address.trsvcid ?? "",
      traddr: s.address.traddr,
      subnqn: est.cdata.subnqn || s.subnqn,
    });
    return {
      transport: s.transport,
      admin: est.admin.qp,
      io: est.io.map((q) => q.qp),
      cdata: est.cdataBytes.slice(),
      discoveryEntry,
      hostnqn: s.hostnqn,
      hostid: s.hostid.slice(),
      cntlid: est.cntlid,
      kato: s.kato,
      reconnectDelay: s.reconnectDelay,
      ctrlLossTimeout: s.ctrlLossTimeout,
      ioQueueSize: est.ioQueueSize,
      sqFlowControl: s.sqFlowControl,
      headerDigests: s.headerDigests,
      dataDigests: s.dataDigests,
    };
  }

  /** Closes the controller when used with `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

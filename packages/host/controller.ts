/**
 * A host's association with one controller: {@linkcode connect} sets it up as Linux's
 * `nvme-fabrics` and FreeBSD's `nvmecontrol connect` do — admin queue and Connect, CAP and VS,
 * CC.EN and CSTS.RDY within CAP.TO, Identify Controller and the association update (IOCCSZ,
 * MDTS, SGL support), Number of Queues, one connection and Connect per I/O queue, keep-alive at
 * KATO/2 (KATO/4 with traffic based keep-alive), Asynchronous Event Requests — and
 * {@linkcode HostController} runs it: admin commands, namespace I/O spread over the I/O queues,
 * command timeouts with Abort, reconnects after a broken connection until the controller-loss
 * timeout, and an orderly shutdown (CC.SHN, CSTS.SHST).
 *
 * Defaults follow Linux: admin queue 32 entries, I/O queues 128, KATO 5 s, I/O timeout 30 s,
 * admin timeout 60 s, reconnect delay 10 s, controller-loss timeout 600 s, 5 retries.
 *
 * @example Usage
 * ```ts ignore
 * import { connect } from "@nvmf/host";
 * import "@nvmf/transport-tcp";
 * const ctrl = await connect({
 *   transport: "tcp",
 *   address: { traddr: "192.0.2.10", trsvcid: "4420" },
 *   subnqn: "nqn.2026-01.test:disk",
 * });
 * const ns = await ctrl.namespace(1);
 * await ns.write(0, new Uint8Array(ns.blockSize).fill(7));
 * const back = await ns.read(0, 1);
 * await ctrl.close();
 * ```
 *
 * @module
 */

import {
  ABORT_NOT_ABORTED,
  AbortBits,
  AdminOpcode,
  AsyncEventBits,
  AsyncEventConfig,
  AsyncEventNotice,
  AsyncEventType,
  blockSize,
  type Cap,
  CapCss,
  capTimeoutMs,
  CcBits,
  CNTLID_DYNAMIC,
  CONNECT_CATTR,
  CONNECT_DATA_CNTLID,
  CONNECT_DATA_HOSTID,
  CONNECT_DATA_HOSTNQN,
  CONNECT_DATA_SUBNQN,
  CONNECT_KATO,
  CONNECT_QID,
  CONNECT_RECFMT,
  CONNECT_SQSIZE,
  ConnectAttributes,
  ControllerAttributes,
  CQE_SIZE_LOG2,
  cqeCid,
  cqeDw0,
  cqeSqhd,
  cqeStatus,
  CRDT_UNIT_MS,
  decodeCap,
  decodeChangedNsList,
  decodeConnectInvalidParameter,
  decodeConnectResponse,
  decodeCsts,
  decodeDiscoveryLog,
  decodeDiscoveryLogHeader,
  decodeIdentifyController,
  decodeIdentifyNamespace,
  decodeNsIdDescriptors,
  decodeNsIdList,
  decodeStatus,
  decodeVs,
  DISCOVERY_NQN,
  type DiscoveryLog,
  DiscoveryLogHeaderOffset,
  DSM_MAX_RANGES,
  DSM_RANGE_SIZE,
  DsmAttributes,
  DsmRangeOffset,
  encodeCc,
  encodeConnect,
  encodeConnectData,
  encodeDiscoveryLogEntry,
  encodeGetLogPage,
  encodeIdentify,
  encodePropertyGet,
  encodePropertySet,
  encodeSqe,
  FABRICS_OPCODE,
  FabricsStatus,
  FabricsType,
  FCATT_STATIC_CONTROLLER_MODEL,
  FeatureBits,
  FeatureId,
  IDENTIFY_DATA_SIZE,
  IdentifyCns,
  type IdentifyController,
  type IdentifyNamespace,
  IO_QUEUE_MIN_ENTRIES,
  IO_QUEUES_MAX,
  LogPageId,
  LogPageSize,
  MediaStatus,
  NSID_BROADCAST,
  type NsIdDescriptor,
  NumberOfQueuesBits,
  NvmeStatusError,
  NvmOpcode,
  Property,
  propertyGetValue,
  propertySize,
  RwControl,
  SglSupport,
  ShutdownNotification,
  ShutdownStatus,
  SQE_SIZE,
  SQE_SIZE_LOG2,
  SQHD_FLOW_CONTROL_DISABLED,
  StatusCodeType,
  SubsystemType,
  TransportRequirements,
  type Vs,
} from "@nvmf/proto";
import {
  Association,
  type DataDirection,
  getTransport,
  type QueuePair,
  QueuePairClosedError,
  type Transport,
  type TransportAddress,
  TransportError,
} from "@nvmf/transport";
import { Command, HostQueue, type QueueOwner } from "./_queue.ts";
import {
  commandName,
  CommandTimeoutError,
  ControllerError,
  ControllerLostError,
} from "./errors.ts";
import { resolveHostIdentity } from "./identity.ts";

// The types of other packages this module's API uses, so that its documentation is complete.
export type {
  Cap,
  DiscoveryLog,
  DiscoveryLogEntry,
  DiscoveryLogHeader,
  IdentifyController,
  IdentifyNamespace,
  LbaFormat,
  NsIdDescriptor,
  PowerStateDescriptor,
  Vs,
} from "@nvmf/proto";
export type * from "@nvmf/transport";

// ---------------------------------------------------------------------------------------------
// Options

/** How to reach a controller and what to ask of the association. */
export interface ConnectOptions {
  /** A registered transport's name or TRTYPE (`"tcp"`, `"loopback"`, 3), or a transport. */
  transport: string | number | Transport;
  /** Where the controller listens. */
  address: TransportAddress;
  /** The subsystem NQN; the discovery NQN connects to a discovery controller. */
  subnqn: string;
  /** The host NQN; see {@linkcode resolveHostIdentity} for the default. */
  hostnqn?: string;
  /** The Host Identifier, 16 bytes or a UUID string; see {@linkcode resolveHostIdentity}. */
  hostid?: Uint8Array | string;
  /** Whether the host identity may be read from and saved to files (default true). */
  persistHostIdentity?: boolean;
  /**
   * CNTLID asked for in the admin queue's Connect: FFFFh (dynamic model, the default), FFFEh
   * (any controller of a static subsystem) or a static controller's ID.
   */
  cntlid?: number;
  /** I/O queues to ask for (default 1; 0 for an admin-only association). */
  ioQueues?: number;
  /** Entries of each I/O queue (default 128, lowered to CAP.MQES + 1 and MAXCMD). */
  queueSize?: number;
  /** Entries of the admin queue (default 32). */
  adminQueueSize?: number;
  /** Keep Alive Timeout in ms (default 5000; 0 turns keep-alive off; discovery: 0). */
  kato?: number;
  /** NVMe/TCP header digests (default false). */
  headerDigests?: boolean;
  /** NVMe/TCP data digests (default false). */
  dataDigests?: boolean;
  /** Whether SQ flow control is required (default true; false asks the controller to drop it). */
  sqFlowControl?: boolean;
  /** Ms between reconnect attempts after a connection breaks (default 10000). */
  reconnectDelay?: number;
  /** Ms after a break before the controller is given up (default 600000; 0: never reconnect). */
  ctrlLossTimeout?: number;
  /** Timeout of I/O commands in ms (default 30000). */
  commandTimeout?: number;
  /** Timeout of admin commands in ms (default 60000). */
  adminTimeout?: number;
  /** Retries of an I/O command that failed without DNR or lost its connection (default 5). */
  maxRetries?: number;
  /** Whether to post Asynchronous Event Requests (default true, false for discovery). */
  asyncEvents?: boolean;
  /**
   * Most bytes one command transfers: the controller's MDTS lowers it; when the controller
   * reports no limit (MDTS 0) the default is 1 MiB, about what Linux's block layer sends.
   */
  maxTransferSize?: number;
  /** Gives up connecting when aborted. */
  signal?: AbortSignal;
}

/** The defaults of {@linkcode ConnectOptions}, those of Linux's host where it has one. */
export const HOST_DEFAULTS: Readonly<{
  ioQueues: number;
  queueSize: number;
  adminQueueSize: number;
  kato: number;
  reconnectDelay: number;
  ctrlLossTimeout: number;
  commandTimeout: number;
  adminTimeout: number;
  maxRetries: number;
  shutdownTimeout: number;
  maxTransferSize: number;
}> = Object.freeze({
  ioQueues: 1,
  queueSize: 128, // NVMF_DEF_QUEUE_SIZE
  adminQueueSize: 32, // NVME_AQ_DEPTH
  kato: 5000, // NVME_DEFAULT_KATO
  reconnectDelay: 10_000, // NVMF_DEF_RECONNECT_DELAY
  ctrlLossTimeout: 600_000, // NVMF_DEF_CTRL_LOSS_TMO
  commandTimeout: 30_000, // io_timeout
  adminTimeout: 60_000, // admin_timeout
  maxRetries: 5, // nvme_max_retries
  shutdownTimeout: 5000, // shutdown_timeout
  maxTransferSize: 1 << 20, // when MDTS is 0; BLK_DEF_MAX_SECTORS is 1.25 MiB
});

interface Settings {
  transport: Transport;
  address: TransportAddress;
  subnqn: string;
  hostnqn: string;
  hostid: Uint8Array;
  discovery: boolean;
  cntlid: number;
  ioQueues: number;
  queueSize: number;
  adminQueueSize: number;
  kato: number;
  headerDigests: boolean;
  dataDigests: boolean;
  sqFlowControl: boolean;
  reconnectDelay: number;
  ctrlLossTimeout: number;
  commandTimeout: number;
  adminTimeout: number;
  maxRetries: number;
  asyncEvents: boolean;
  maxTransferSize: number | undefined;
}

function checkCount(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Cannot use ${name} ${value}: it must be an integer ${min} to ${max}`);
  }
  return value;
}

function checkMs(name: string, value: number, allowInfinity = false): number {
  if (
    typeof value !== "number" || Number.isNaN(value) || value < 0 ||
    (!allowInfinity && !Number.isFinite(value))
  ) {
    throw new RangeError(`Cannot use ${name} ${value}: it must be a number of milliseconds >= 0`);
  }
  return value;
}

function settings(options: ConnectOptions): Settings {
  const transport = typeof options.transport === "object"
    ? options.transport
    : getTransport(options.transport);
  const discovery = options.subnqn === DISCOVERY_NQN;
  const identity = resolveHostIdentity({
    hostnqn: options.hostnqn,
    hostid: options.hostid,
    persist: options.persistHostIdentity,
  });
  const kato = checkMs("kato", options.kato ?? (discovery ? 0 : HOST_DEFAULTS.kato));
  if (kato > 0xffffffff) throw new RangeError(`Cannot use kato ${kato}: it must fit 32 bits`);
  return {
    transport,
    address: { ...options.address },
    subnqn: options.subnqn,
    hostnqn: identity.hostnqn,
    hostid: identity.hostid,
    discovery,
    cntlid: checkCount("cntlid", options.cntlid ?? CNTLID_DYNAMIC, 0, 0xffff),
    ioQueues: discovery ? 0 : checkCount(
      "ioQueues",
      options.ioQueues ?? HOST_DEFAULTS.ioQueues,
      0,
      IO_QUEUES_MAX,
    ),
    queueSize: checkCount(
      "queueSize",
      options.queueSize ?? HOST_DEFAULTS.queueSize,
      IO_QUEUE_MIN_ENTRIES,
      65536,
    ),
    adminQueueSize: checkCount(
      "adminQueueSize",
      options.adminQueueSize ?? HOST_DEFAULTS.adminQueueSize,
      2,
      4096,
    ),
    kato: Math.round(kato),
    headerDigests: options.headerDigests ?? false,
    dataDigests: options.dataDigests ?? false,
    sqFlowControl: options.sqFlowControl ?? true,
    reconnectDelay: checkMs(
      "reconnectDelay",
      options.reconnectDelay ?? HOST_DEFAULTS.reconnectDelay,
    ),
    ctrlLossTimeout: checkMs(
      "ctrlLossTimeout",
      options.ctrlLossTimeout ?? HOST_DEFAULTS.ctrlLossTimeout,
      true,
    ),
    commandTimeout: checkMs(
      "commandTimeout",
      options.commandTimeout ?? HOST_DEFAULTS.commandTimeout,
    ),
    adminTimeout: checkMs("adminTimeout", options.adminTimeout ?? HOST_DEFAULTS.adminTimeout),
    maxRetries: checkCount("maxRetries", options.maxRetries ?? HOST_DEFAULTS.maxRetries, 0, 1000),
    asyncEvents: options.asyncEvents ?? !discovery,
    maxTransferSize: options.maxTransferSize === undefined
      ? undefined
      : checkCount("maxTransferSize", options.maxTransferSize, 512, 2 ** 32),
  };
}

// ---------------------------------------------------------------------------------------------
// Events

/** An asynchronous event the controller reported (Base 5.2). */
export interface AsyncEvent {
  /** Asynchronous Event Type, one of `AsyncEventType`. */
  eventType: number;
  /** Asynchronous Event Information (e.g. `AsyncEventNotice` for NOTICE events). */
  eventInfo: number;
  /** The log page to read to clear the event (LID). */
  logPage: number;
  /** DW0 of the completion as it came. */
  dw0: number;
  /**
   * For a Namespace Attribute Changed notice: the NSIDs of the Changed Namespace List, which
   * the host read (clearing the event); `"all"` when more than 1024 changed.
   */
  changedNamespaces?: number[] | "all";
}

/** What a {@linkcode HostController} reports. */
export type HostEvent =
  /** The controller reported an asynchronous event. */
  | { type: "aen"; event: AsyncEvent }
  /** A connection broke; the host reconnects (unless reconnecting is off). */
  | { type: "disconnected"; error: Error }
  /** The association was re-established after `attempts` attempts. */
  | { type: "reconnected"; attempts: number }
  /** The controller-loss timeout expired: the host gave the controller up. */
  | { type: "lost"; error: Error }
  /** The controller was closed. */
  | { type: "closed" };

/** The type names of {@linkcode HostEvent}. */
export type HostEventType = HostEvent["type"];

/** A listener for one type of {@linkcode HostEvent}. */
export type HostEventListener<T extends HostEventType> = (
  event: Extract<HostEvent, { type: T }>,
) => void;

/** What a handoff (`@nvmf/handoff`) needs of an association, as FreeBSD's libnvmf hands it over. */
export interface HostAssociationState {
  /** The transport. */
  transport: Transport;
  /** The admin queue pair. */
  admin: QueuePair;
  /** The I/O queue pairs, QID 1 first. */
  io: QueuePair[];
  /** The 4096 bytes of Identify Controller. */
  cdata: Uint8Array;
  /** A 1024-byte Discovery log entry naming this controller (FreeBSD `nvmf_init_dle_from_admin_qp`). */
  discoveryEntry: Uint8Array;
  /** The host NQN. */
  hostnqn: string;
  /** The Host Identifier. */
  hostid: Uint8Array;
  /** The controller's CNTLID. */
  cntlid: number;
  /** KATO in ms (0: none). */
  kato: number;
  /** Reconnect delay in ms. */
  reconnectDelay: number;
  /** Controller-loss timeout in ms. */
  ctrlLossTimeout: number;
  /** Entries of each I/O queue. */
  ioQueueSize: number;
  /** Whether SQ flow control was asked for. */
  sqFlowControl: boolean;
  /** Whether header digests were asked for. */
  headerDigests: boolean;
  /** Whether data digests were asked for. */
  dataDigests: boolean;
}

/**
 * What {@linkcode HostController.adopt} continues: the queue pairs of an association another
 * owner set up and handed over (idle, Connect done), and its Identify Controller data. The
 * connect options that remain describe the association for keep-alive, timeouts and reconnects;
 * the queue counts and sizes come from the queue pairs.
 */
export interface AdoptOptions
  extends Omit<ConnectOptions, "transport" | "ioQueues" | "queueSize" | "adminQueueSize"> {
  /** The transport; default the queue pairs'. */
  transport?: string | number | Transport;
  /** The admin queue pair (host side, QID 0), continuing at its SQ head and tail. */
  admin: QueuePair;
  /** The I/O queue pairs, QID 1 first, all of the admin queue pair's association. */
  io: QueuePair[];
  /** The 4096 bytes of Identify Controller the association was set up with. */
  cdata: Uint8Array;
}

/** The buffer behind {@linkcode HostController.events}. */
class EventQueue implements AsyncIterableIterator<HostEvent> {
  #items: HostEvent[] = [];
  #waiters: ((result: IteratorResult<HostEvent>) => void)[] = [];
  #done = false;
  readonly #onReturn: () => void;

  constructor(onReturn: () => void) {
    this.#onReturn = onReturn;
  }

  push(event: HostEvent): void {
    if (this.#done) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter({ value: event, done: false });
    else this.#items.push(event);
  }

  end(): void {
    this.#done = true;
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<HostEvent>> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  return(): Promise<IteratorResult<HostEvent>> {
    this.#items = [];
    this.end();
    this.#onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<HostEvent> {
    return this;
  }
}

// ---------------------------------------------------------------------------------------------
// The controller

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

/** Names of the Connect fields a CONNECT_INVALID_PARAMETERS response can point at. */
const CONNECT_SQE_FIELDS: Record<number, string> = {
  [CONNECT_RECFMT]: "RECFMT",
  [CONNECT_QID]: "QID",
  [CONNECT_SQSIZE]: "SQSIZE",
  [CONNECT_CATTR]: "CATTR",
  [CONNECT_KATO]: "KATO",
};
const CONNECT_DATA_FIELDS: Record<number, string> = {
  [CONNECT_DATA_HOSTID]: "HOSTID",
  [CONNECT_DATA_CNTLID]: "CNTLID",
  [CONNECT_DATA_SUBNQN]: "SUBNQN",
  [CONNECT_DATA_HOSTNQN]: "HOSTNQN",
};

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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function toLba(lba: number | bigint, what: string): number {
  const n = typeof lba === "bigint" ? Number(lba) : lba;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Cannot ${what} at LBA ${lba}: it must be a non-negative safe integer`);
  }
  return n;
}

// Friends of HostController for Namespace, set in its static block.
let submitIo: (ctrl: HostController, command: Command) => void;
let controllerTimeout: (ctrl: HostController) => number;

/**
 * A live association with one controller. Make one with {@linkcode connect}.
 *
 * @example Usage
 * ```ts ignore
 * import { connect } from "@nvmf/host";
 * const ctrl = await connect({ transport: "loopback", address: { traddr: "t" }, subnqn: "nqn.2026-01.test:a" });
 * console.log(ctrl.cdata.mn, ctrl.ioQueueCount);
 * await ctrl.close();
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
  #listeners = new Map<string, Set<(event: HostEvent) => void>>();
  #iterators = new Set<EventQueue>();
  readonly #owner: QueueOwner = {
    failed: (queue, command, cqe) => this.#failed(queue, command, cqe),
    timedOut: (queue, command, cid) => this.#timedOut(queue, command, cid),
    down: (queue, error, commands) => this.#down(queue, error, commands),
  };

  static {
    submitIo = (ctrl, command) => ctrl.#submitIo(command);
    controllerTimeout = (ctrl) => ctrl.#s.commandTimeout;
  }

  /**
   * Use {@linkcode connect}: this only records the settings.
   *
   * @param options The connect options.
   */
  constructor(options: ConnectOptions) {
    const s = settings(options);
    this.#s = s;
    this.transport = s.transport;
    this.address = Object.freeze({ ...s.address });
    this.subnqn = s.subnqn;
    this.hostnqn = s.hostnqn;
    this.hostid = s.hostid;
  }

  /**
   * Sets the association up: what {@linkcode connect} awaits. Call once.
   *
   * @param signal Gives up when aborted.
   * @returns Settles when the controller is live.
   */
  async open(signal?: AbortSignal): Promise<void> {
    if (this.#state !== CONNECTING || this.#est !== undefined) {
      throw new TypeError("Cannot open the controller twice");
    }
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

  /** The admin queue pair and the I/O queue pairs, for inspection (QID order). */
  get queuePairs(): QueuePair[] {
    const est = this.#live("list queue pairs");
    return [est.admin.qp, ...est.io.map((q) => q.qp)];
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
      const got = await this.#fabricsConnect(admin, cntlid, s.kato);
      const cap = decodeCap(await this.#propertyGet(admin, Property.CAP));
      // FreeBSD connect_nvm_adminq: the NVM command set is required.
      if (!s.discovery && (cap.css & CapCss.NVM) === 0) {
        throw new ControllerError(
          `Cannot use controller ${s.subnqn}: CAP.CSS lacks the NVM command set`,
          "unsupported",
        );
      }
      const vs = decodeVs(Number(await this.#propertyGet(admin, Property.VS)));
      await this.#enable(admin, cap);
      const cdataBytes = new Uint8Array(IDENTIFY_DATA_SIZE);
      await this.#run(
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
          const count = await this.#requestQueues(admin, s.ioQueues);
          const pending: Promise<HostQueue>[] = [];
          for (let qid = 1; qid <= count; qid++) {
            pending.push(this.#connectIoQueue(association, qid, ioQueueSize, got.cntlid, signal));
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
        cntlid: got.cntlid,
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
      await this.#fabricsConnect(queue, cntlid, 0);
    } catch (e) {
      await queue.close().catch(() => {});
      throw e;
    }
    return queue;
  }

  /** Connect (Fabrics 3.3) on a new queue; returns the CNTLID. */
  async #fabricsConnect(
    queue: HostQueue,
    cntlid: number,
    kato: number,
  ): Promise<{ cntlid: number }> {
    const s = this.#s;
    const template = encodeConnect({
      cid: 0,
      qid: queue.qid,
      sqsize: queue.qsize - 1, // SQSIZE is 0's based
      cattr: s.sqFlowControl ? 0 : ConnectAttributes.DISABLE_SQ_FLOW_CONTROL,
      kato,
    });
    const data = encodeConnectData({
      hostid: s.hostid,
      cntlid,
      subnqn: s.subnqn,
      hostnqn: s.hostnqn,
    });
    const command = this.#adminCommand(template, data, "host-to-controller");
    command.admin = queue.qid === 0;
    let cqe: Uint8Array;
    try {
      cqe = await this.#run(queue, command);
    } catch (e) {
      if (e instanceof NvmeStatusError && e.sct === StatusCodeType.COMMAND_SPECIFIC) {
        throw connectError(e, queue.qid, s.subnqn);
      }
      throw e;
    }
    const sqhd = cqeSqhd(cqe);
    if (sqhd === SQHD_FLOW_CONTROL_DISABLED && s.sqFlowControl) {
      throw new ControllerError(
        `Cannot connect queue ${queue.qid}: the controller disabled SQ flow control, which the host requires`,
        "protocol",
      );
    }
    queue.setConnected(sqhd, s.sqFlowControl);
    const rsp = decodeConnectResponse(cqe);
    if (rsp.atr || rsp.ascr) {
      throw new ControllerError(
        `Cannot connect to ${s.subnqn}: the controller requires in-band authentication`,
        "authentication",
      );
    }
    return { cntlid: rsp.cntlid };
  }

  async #propertyGet(queue: HostQueue, offset: number): Promise<bigint> {
    const cqe = await this.#run(
      queue,
      this.#adminCommand(encodePropertyGet({ cid: 0, offset })),
    );
    return propertyGetValue(cqe);
  }

  async #propertySet(queue: HostQueue, offset: number, value: bigint): Promise<void> {
    await this.#run(queue, this.#adminCommand(encodePropertySet({ cid: 0, offset, value })));
  }

  /** CC.EN = 1, then CSTS.RDY within CAP.TO (Base 3.5.1; Linux `nvme_enable_ctrl`). */
  async #enable(admin: HostQueue, cap: Cap): Promise<void> {
    const mps = Math.min(Math.max(0, cap.mpsmin), cap.mpsmax);
    const cc = encodeCc({
      en: true,
      css: 0, // NVM command set
      mps,
      ams: 0, // round robin
      shn: ShutdownNotification.NONE,
      iosqes: SQE_SIZE_LOG2,
      iocqes: CQE_SIZE_LOG2,
    });
    await this.#propertySet(admin, Property.CC, BigInt(cc));
    // Linux nvme_wait_ready: (CAP.TO + 1) * 500 ms.
    const timeout = capTimeoutMs({ ...cap, to: cap.to + 1 });
    const deadline = performance.now() + timeout;
    for (let delay = 1;; delay = Math.min(delay * 2, 100)) {
      const csts = decodeCsts(Number(await this.#propertyGet(admin, Property.CSTS)));
      if (csts.cfs) {
        throw new ControllerError(
          `Cannot enable the controller: CSTS.CFS reports a fatal status`,
          "fatal",
        );
      }
      if (csts.rdy) return;
      if (performance.now() >= deadline) {
        throw new ControllerError(
          `Cannot enable the controller: CSTS.RDY is still 0 after ${timeout} ms (CAP.TO ${cap.to})`,
          "not-ready",
        );
      }
      await sleep(delay);
    }
  }

  /** Set Features Number of Queues; returns how many I/O queues to use. */
  async #requestQueues(admin: HostQueue, wanted: number): Promise<number> {
    const n = wanted - 1; // NSQR and NCQR are 0's based
    const cqe = await this.#run(
      admin,
      this.#adminCommand(encodeSqe({
        opcode: AdminOpcode.SET_FEATURES,
        cdw10: FeatureId.NUMBER_OF_QUEUES,
        cdw11: ((n & NumberOfQueuesBits.NSQ_MASK) | (n << NumberOfQueuesBits.NCQ_SHIFT)) >>> 0,
      })),
    );
    const dw0 = cqeDw0(cqe);
    const nsqa = dw0 & NumberOfQueuesBits.NSQ_MASK;
    const ncqa = (dw0 >>> NumberOfQueuesBits.NCQ_SHIFT) & NumberOfQueuesBits.NCQ_MASK;
    // As Linux: use what was granted when it is fewer.
    return Math.min(wanted, Math.min(nsqa, ncqa) + 1);
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
    const command = new Command();
    command.template = template;
    command.opcode = template[0];
    if (template[0] === FABRICS_OPCODE) command.fctype = template[4];
    command.data = data;
    command.direction = data === undefined ? undefined : direction;
    command.admin = true;
    command.timeoutMs = this.#s.adminTimeout;
    return command;
  }

  #run(queue: HostQueue, command: Command): Promise<Uint8Array> {
    queue.submit(command);
    return command.promise;
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

  #failed(_queue: HostQueue, command: Command, cqe: Uint8Array): void {
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
    command.reject(
      new NvmeStatusError(st, {
        cid: cqeCid(cqe),
        dw0: cqeDw0(cqe),
        opcode,
        admin: command.admin,
        fctype: command.fctype,
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
    abort.promise.catch(() => {});
    est.admin.submit(abort);
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
        await this.#shutdown(est);
      } catch (e) {
        if (e instanceof ControllerError) failure = e;
      }
    }
    await est.admin.close();
    if (failure !== undefined) throw failure;
  }

  /** CC.SHN = normal, then CSTS.SHST = complete (Base 3.6.1). */
  async #shutdown(est: Established): Promise<void> {
    const admin = est.admin;
    const cc = Number(await this.#propertyGet(admin, Property.CC));
    const shnMask = CcBits.SHN_MASK << CcBits.SHN_SHIFT;
    const shn = ShutdownNotification.NORMAL << CcBits.SHN_SHIFT;
    await this.#propertySet(admin, Property.CC, BigInt(((cc & ~shnMask) | shn) >>> 0));
    // Linux: shutdown_timeout (5 s), or RTD3E when longer, at most 60 s.
    const rtd3eMs = Math.ceil(est.cdata.rtd3e / 1000);
    const timeout = Math.min(Math.max(HOST_DEFAULTS.shutdownTimeout, rtd3eMs), 60_000);
    const deadline = performance.now() + timeout;
    for (let delay = 1;; delay = Math.min(delay * 2, 100)) {
      const csts = decodeCsts(Number(await this.#propertyGet(admin, Property.CSTS)));
      if (csts.shst === ShutdownStatus.COMPLETE) return;
      if (performance.now() >= deadline) {
        throw new ControllerError(
          `Cannot shut the controller down: CSTS.SHST is ${csts.shst}, not 2 (complete), after ${timeout} ms`,
          "shutdown-timeout",
        );
      }
      await sleep(delay);
    }
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
    let set = this.#listeners.get(type);
    if (set === undefined) this.#listeners.set(type, set = new Set());
    const fn = listener as (event: HostEvent) => void;
    set.add(fn);
    return () => set!.delete(fn);
  }

  /**
   * The events from now on, as an async iterator that ends when the controller is closed,
   * given up or handed off.
   *
   * @returns The iterator.
   */
  events(): AsyncIterableIterator<HostEvent> {
    const queue = new EventQueue(() => this.#iterators.delete(queue));
    if (this.#state === CLOSED || this.#state === LOST) queue.end();
    else this.#iterators.add(queue);
    return queue;
  }

  #emit(event: HostEvent): void {
    const set = this.#listeners.get(event.type);
    if (set !== undefined) {
      for (const fn of [...set]) {
        try {
          fn(event);
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    }
    for (const q of this.#iterators) q.push(event);
  }

  #endIterators(): void {
    for (const q of this.#iterators) q.end();
    this.#iterators.clear();
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
    return new Namespace(this, nsid, id);
  }

  /**
   * Gives the association up to a new owner, as FreeBSD's libnvmf hands a host association to
   * the kernel (`nvmf_handoff_host()`; `@nvmf/handoff` makes the record): stops keep-alive,
   * refuses new commands, waits for those in flight, and returns the association with its queue
   * pairs still connected and idle (FreeBSD refuses busy queues with EBUSY). The controller is
   * then `"handed-off"`: it sends nothing more, `close()` does nothing and its event iterators
   * end. The queue pairs are the caller's, to detach for the new owner (the transport's
   * `detach()`), who continues them with {@linkcode HostController.adopt}.
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

  /**
   * Continues an association that another owner set up and handed over — what FreeBSD's kernel
   * does with `NVMF_HANDOFF_HOST`: no Connect and no Identify; CAP and VS are read with Property
   * Get, as the kernel reads them when it attaches. The association is updated from the Identify
   * data (IOCCSZ, MDTS), keep-alive starts (KATO from the options), and the queue pairs go on
   * from their SQ heads and tails: commands get the lowest free CIDs, which cannot collide as the
   * queues came over idle. `@nvmf/handoff`'s `adoptHost()` builds the queue pairs from a record.
   *
   * @param options The queue pairs, Identify Controller, and the association's connect options.
   * @returns The live controller.
   * @throws {TypeError} When a queue pair has the wrong role or another association.
   * @throws {RangeError} When `cdata` is not 4096 bytes or an option is out of range.
   * @example Handing a loopback association to a new owner in the same process
   * ```ts
   * import { HostController, connect } from "@nvmf/host";
   * import { RamBackend, Target } from "@nvmf/controller";
   * import { loopback } from "@nvmf/transport-loopback";
   * import assert from "node:assert/strict";
   *
   * const target = new Target();
   * const subnqn = "nqn.2026-01.dev.nvmf:adopt-doc";
   * target.addSubsystem({ nqn: subnqn, namespaces: [{ backend: new RamBackend({ size: 1n << 20n }) }] });
   * await target.listen(loopback, { traddr: "adopt-doc" });
   * const options = { transport: loopback, address: { traddr: "adopt-doc" }, subnqn,
   *   persistHostIdentity: false, asyncEvents: false, kato: 0 };
   * const first = await connect(options);
   * await (await first.namespace(1)).write(0, new Uint8Array(512).fill(9));
   *
   * const state = await first.handoff();
   * assert.equal(first.state, "handed-off");
   * const move = (qp: typeof state.admin) => {
   *   const d = loopback.detach(qp);
   *   return loopback.adopt(qp.association, d, { ...d.state, qid: d.state.qid });
   * };
   * const ctrl = await HostController.adopt({
   *   ...options, hostnqn: state.hostnqn, hostid: state.hostid,
   *   admin: move(state.admin), io: state.io.map(move), cdata: state.cdata,
   * });
   * assert.equal(ctrl.cntlid, state.cntlid);
   * assert.equal((await (await ctrl.namespace(1)).read(0, 1))[511], 9);
   * await ctrl.close();
   * await target.close();
   * ```
   */
  static async adopt(options: AdoptOptions): Promise<HostController> {
    const { admin: adminQp, io: ioQps, cdata: cdataBytes } = options;
    const association = adminQp.association;
    if (adminQp.controller || !adminQp.admin) {
      throw new TypeError("Cannot adopt the association: admin is not a host admin queue pair");
    }
    if (ioQps.some((q) => q.controller || q.admin || q.association !== association)) {
      throw new TypeError(
        "Cannot adopt the association: an I/O queue pair is not a host I/O queue pair of the admin queue pair's association",
      );
    }
    if (cdataBytes.length !== IDENTIFY_DATA_SIZE) {
      throw new RangeError(
        `Cannot adopt the association: cdata is ${cdataBytes.length} bytes, not ${IDENTIFY_DATA_SIZE}`,
      );
    }
    const cdata = decodeIdentifyController(cdataBytes);
    const ctrl = new HostController({
      ...options,
      transport: options.transport ?? association.transport,
      ioQueues: ioQps.length,
      queueSize: ioQps[0]?.qsize ?? HOST_DEFAULTS.queueSize,
      adminQueueSize: adminQp.qsize,
      sqFlowControl: options.sqFlowControl ?? adminQp.sqFlowControl,
    });
    association.update({
      ioccsz: cdata.ioccsz,
      iorcsz: cdata.iorcsz,
      mdts: cdata.mdts,
      sgls: cdata.sgls,
      maxcmd: cdata.maxcmd,
    });
    const requested = ctrl.#s.sqFlowControl;
    const queue = (qp: QueuePair, qid: number): HostQueue => {
      const q = new HostQueue(qp, qid, ctrl.#owner);
      q.setConnected(qp.sqFlowControl ? qp.sqhd : SQHD_FLOW_CONTROL_DISABLED, requested);
      return q;
    };
    const admin = queue(adminQp, 0);
    const io = ioQps.map((qp, i) => queue(qp, qp.qid ?? i + 1));
    const est: Established = {
      association,
      admin,
      io,
      cntlid: cdata.cntlid,
      cap: undefined as unknown as Cap,
      vs: undefined as unknown as Vs,
      cdata,
      cdataBytes: cdataBytes.slice(),
      ioQueueSize: ioQps[0]?.qsize ?? 0,
    };
    try {
      est.cap = decodeCap(await ctrl.#propertyGet(admin, Property.CAP));
      est.vs = decodeVs(Number(await ctrl.#propertyGet(admin, Property.VS)));
    } catch (e) {
      ctrl.#state = CLOSED;
      await ctrl.#teardown(est, false);
      throw e;
    }
    ctrl.#est = est;
    ctrl.#state = LIVE;
    ctrl.#started(est);
    return ctrl;
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

function connectError(e: NvmeStatusError, qid: number, subnqn: string): NvmeStatusError {
  let detail = "";
  if (e.sc === FabricsStatus.CONNECT_INVALID_PARAMETERS && e.dw0 !== undefined) {
    const ipo = decodeConnectInvalidParameter({
      dw0: e.dw0,
      dw1: 0,
      sqhd: 0,
      sqid: 0,
      cid: 0,
      status: 0,
    });
    const field = (ipo.inData ? CONNECT_DATA_FIELDS : CONNECT_SQE_FIELDS)[ipo.offset];
    detail = `: the controller rejects ${field ?? "the field"} at byte ${ipo.offset} of the ${
      ipo.inData ? "Connect data" : "Connect command"
    }`;
  }
  const message = `Cannot connect queue ${qid} to ${subnqn}: ${e.message}${detail}`;
  return new NvmeStatusError(e.status, {
    cid: e.cid,
    dw0: e.dw0,
    opcode: FABRICS_OPCODE,
    fctype: FabricsType.CONNECT,
    message,
  });
}

// ---------------------------------------------------------------------------------------------
// Namespaces

/** A range of blocks, for {@linkcode Namespace.deallocate}. */
export interface BlockRange {
  /** First LBA. */
  lba: number | bigint;
  /** Number of blocks. */
  blocks: number;
}

/** Options of reads and writes. */
export interface IoOptions {
  /** Force Unit Access (FUA): the data reaches non-volatile media before completion. */
  fua?: boolean;
}

const NLB_MAX = RwControl.NLB_MASK + 1;

/**
 * An active namespace of a {@linkcode HostController}: reads and writes by LBA, split into
 * commands of at most MDTS (and 65536 blocks), spread over the I/O queues. Data buffers are
 * used in place, never copied. Get one with {@linkcode HostController.namespace}.
 *
 * @example Usage
 * ```ts ignore
 * const ns = await ctrl.namespace(1);
 * const data = new Uint8Array(8 * ns.blockSize).fill(0xa5);
 * await ns.write(100, data);
 * assert.deepEqual(await ns.read(100, 8), data);
 * assert.equal(await ns.compare(100, data), true);
 * ```
 */
export class Namespace {
  /** The controller. */
  readonly controller: HostController;
  /** The NSID. */
  readonly nsid: number;
  /** Logical block size in bytes. */
  readonly blockSize: number;
  /** Capacity in logical blocks (NSZE). */
  readonly blocks: number;
  /** Identify Namespace as read when the handle was made. */
  readonly info: IdentifyNamespace;
  /** The most blocks one command carries: MDTS and the 16-bit NLB field. */
  readonly maxBlocksPerCommand: number;
  readonly #timeout: number;

  /**
   * Use {@linkcode HostController.namespace}.
   *
   * @param controller The controller.
   * @param nsid The NSID.
   * @param info Its Identify Namespace data.
   */
  constructor(controller: HostController, nsid: number, info: IdentifyNamespace) {
    this.controller = controller;
    this.nsid = nsid;
    this.info = info;
    this.blockSize = blockSize(info);
    this.blocks = Number(info.nsze);
    const mdtsBlocks = Math.floor(controller.maxTransferSize / this.blockSize);
    this.maxBlocksPerCommand = Math.max(1, Math.min(NLB_MAX, mdtsBlocks));
    this.#timeout = controllerTimeout(controller);
  }

  /** Capacity in bytes. */
  get size(): number {
    return this.blocks * this.blockSize;
  }

  #check(what: string, lba: number, blocks: number): void {
    if (!Number.isInteger(blocks) || blocks < 1) {
      throw new RangeError(`Cannot ${what} ${blocks} blocks: the count must be a positive integer`);
    }
    if (lba + blocks > this.blocks) {
      throw new RangeError(
        `Cannot ${what} blocks ${lba} to ${
          lba + blocks - 1
        }: namespace ${this.nsid} has ${this.blocks}`,
      );
    }
  }

  #blocksOf(what: string, data: Uint8Array): number {
    if (data.length === 0 || data.length % this.blockSize !== 0) {
      throw new RangeError(
        `Cannot ${what} ${data.length} bytes: not a whole number of ${this.blockSize}-byte blocks`,
      );
    }
    return data.length / this.blockSize;
  }

  #command(opcode: number, lba: number, blocks: number, cdw12Flags: number): Command {
    const c = new Command();
    c.opcode = opcode;
    c.nsid = this.nsid;
    c.cdw10 = lba % 0x100000000;
    c.cdw11 = Math.floor(lba / 0x100000000);
    c.cdw12 = ((blocks - 1) | cdw12Flags) >>> 0; // NLB is 0's based
    c.timeoutMs = this.#timeout;
    c.retry = true;
    return c;
  }

  #transfer(
    opcode: number,
    lba: number,
    data: Uint8Array,
    direction: DataDirection,
    flags: number,
  ): Promise<unknown> {
    const max = this.maxBlocksPerCommand;
    const total = data.length / this.blockSize;
    if (total <= max) {
      const c = this.#command(opcode, lba, total, flags);
      c.data = data;
      c.direction = direction;
      submitIo(this.controller, c);
      return c.promise;
    }
    const parts: Promise<Uint8Array>[] = [];
    const bs = this.blockSize;
    for (let done = 0; done < total; done += max) {
      const n = Math.min(max, total - done);
      const c = this.#command(opcode, lba + done, n, flags);
      c.data = data.subarray(done * bs, (done + n) * bs);
      c.direction = direction;
      submitIo(this.controller, c);
      parts.push(c.promise);
    }
    return Promise.all(parts);
  }

  #noData(opcode: number, lba: number, blocks: number, flags: number): Promise<unknown> {
    const max = NLB_MAX;
    if (blocks <= max) {
      const c = this.#command(opcode, lba, blocks, flags);
      submitIo(this.controller, c);
      return c.promise;
    }
    const parts: Promise<Uint8Array>[] = [];
    for (let done = 0; done < blocks; done += max) {
      const c = this.#command(opcode, lba + done, Math.min(max, blocks - done), flags);
      submitIo(this.controller, c);
      parts.push(c.promise);
    }
    return Promise.all(parts);
  }

  /**
   * Reads blocks.
   *
   * @param lba The first LBA.
   * @param what How many blocks (a new buffer is made), or the buffer to read into (its length
   * a multiple of the block size).
   * @param options FUA.
   * @returns The buffer.
   * @throws {RangeError} When the range is outside the namespace or the buffer is not whole
   * blocks.
   * @throws {NvmeStatusError} When the controller fails the read.
   */
  read(lba: number | bigint, what: number | Uint8Array, options?: IoOptions): Promise<Uint8Array> {
    let into: Uint8Array;
    let start: number;
    try {
      start = toLba(lba, "read");
      if (typeof what === "number") {
        this.#check("read", start, what);
        into = new Uint8Array(what * this.blockSize);
      } else {
        into = what;
        this.#check("read", start, this.#blocksOf("read", into));
      }
    } catch (e) {
      return Promise.reject(e);
    }
    const flags = options?.fua ? RwControl.FUA : 0;
    if (into.length <= this.maxBlocksPerCommand * this.blockSize) {
      // One command: its promise resolves with the buffer itself.
      const c = this.#command(NvmOpcode.READ, start, into.length / this.blockSize, flags);
      c.data = into;
      c.direction = "controller-to-host";
      c.result = into;
      submitIo(this.controller, c);
      return c.promise;
    }
    const done = () => into;
    return this.#transfer(NvmOpcode.READ, start, into, "controller-to-host", flags).then(done);
  }

  /**
   * Writes blocks.
   *
   * @param lba The first LBA.
   * @param data Whole blocks.
   * @param options FUA.
   * @returns Settles when every block is written.
   * @throws {RangeError} When the range is outside the namespace or the data is not whole blocks.
   * @throws {NvmeStatusError} When the controller fails the write.
   */
  write(lba: number | bigint, data: Uint8Array, options?: IoOptions): Promise<void> {
    let start: number;
    try {
      start = toLba(lba, "write");
      this.#check("write", start, this.#blocksOf("write", data));
    } catch (e) {
      return Promise.reject(e);
    }
    const flags = options?.fua ? RwControl.FUA : 0;
    return this.#transfer(NvmOpcode.WRITE, start, data, "host-to-controller", flags) as Promise<
      unknown
    > as Promise<void>;
  }

  /**
   * Compares blocks with `data` (NVM 3.2.1).
   *
   * @param lba The first LBA.
   * @param data Whole blocks.
   * @returns True when they match; false when the controller reports COMPARE_FAILURE.
   * @throws {NvmeStatusError} For any other error status.
   */
  async compare(lba: number | bigint, data: Uint8Array): Promise<boolean> {
    const start = toLba(lba, "compare");
    this.#check("compare", start, this.#blocksOf("compare", data));
    try {
      await this.#transfer(NvmOpcode.COMPARE, start, data, "host-to-controller", 0);
      return true;
    } catch (e) {
      if (
        e instanceof NvmeStatusError && e.sct === StatusCodeType.MEDIA_AND_DATA_INTEGRITY &&
        e.sc === MediaStatus.COMPARE_FAILURE
      ) {
        return false;
      }
      throw e;
    }
  }

  /**
   * Flush (NVM 3.2.2): commits volatile write cache contents.
   *
   * @returns Settles when flushed.
   */
  async flush(): Promise<void> {
    const c = new Command();
    c.opcode = NvmOpcode.FLUSH;
    c.nsid = this.nsid;
    c.timeoutMs = this.#timeout;
    c.retry = true;
    submitIo(this.controller, c);
    await c.promise;
  }

  /**
   * Write Zeroes (NVM 3.2.8).
   *
   * @param lba The first LBA.
   * @param blocks How many blocks.
   * @param options `deallocate` sets DEAC: the controller may deallocate the blocks.
   * @returns Settles when done.
   */
  async writeZeroes(
    lba: number | bigint,
    blocks: number,
    options: { deallocate?: boolean } = {},
  ): Promise<void> {
    const start = toLba(lba, "write zeroes");
    this.#check("write zeroes to", start, blocks);
    await this.#noData(
      NvmOpcode.WRITE_ZEROES,
      start,
      blocks,
      options.deallocate ? RwControl.DEAC : 0,
    );
  }

  /**
   * Verify (NVM 3.2.9): the controller reads and checks the blocks without returning them.
   *
   * @param lba The first LBA.
   * @param blocks How many blocks.
   * @returns Settles when verified.
   */
  async verify(lba: number | bigint, blocks: number): Promise<void> {
    const start = toLba(lba, "verify");
    this.#check("verify", start, blocks);
    await this.#noData(NvmOpcode.VERIFY, start, blocks, 0);
  }

  /**
   * Deallocates (trims) ranges with Dataset Management (NVM 3.2.3), 256 ranges per command.
   *
   * @param ranges The ranges; or the first LBA, with `blocks`.
   * @param blocks How many blocks, when `ranges` is an LBA.
   * @returns Settles when done.
   */
  async deallocate(ranges: BlockRange[] | number | bigint, blocks?: number): Promise<void> {
    const list: BlockRange[] = Array.isArray(ranges)
      ? ranges
      : [{ lba: ranges, blocks: blocks ?? 0 }];
    if (list.length === 0) return;
    const parts: Promise<Uint8Array>[] = [];
    for (let first = 0; first < list.length; first += DSM_MAX_RANGES) {
      const chunk = list.slice(first, first + DSM_MAX_RANGES);
      const data = new Uint8Array(chunk.length * DSM_RANGE_SIZE);
      const v = new DataView(data.buffer);
      chunk.forEach((r, i) => {
        const lba = toLba(r.lba, "deallocate");
        if (!Number.isInteger(r.blocks) || r.blocks < 1 || r.blocks > 0xffffffff) {
          throw new RangeError(
            `Cannot deallocate ${r.blocks} blocks: the count must be 1 to 2^32 - 1`,
          );
        }
        this.#check("deallocate", lba, r.blocks);
        const at = i * DSM_RANGE_SIZE;
        v.setUint32(at + DsmRangeOffset.NLB, r.blocks, true); // 1-based, unlike NLB of I/O
        v.setBigUint64(at + DsmRangeOffset.SLBA, BigInt(lba), true);
      });
      const c = new Command();
      c.opcode = NvmOpcode.DATASET_MANAGEMENT;
      c.nsid = this.nsid;
      c.cdw10 = chunk.length - 1; // NR is 0's based
      c.cdw11 = DsmAttributes.DEALLOCATE;
      c.data = data;
      c.direction = "host-to-controller";
      c.timeoutMs = this.#timeout;
      c.retry = true;
      submitIo(this.controller, c);
      parts.push(c.promise);
    }
    await Promise.all(parts);
  }
}

/**
 * Connects to a controller and sets the association up (see the module doc for the steps).
 *
 * @param options Transport, address, subsystem NQN and the association's parameters.
 * @returns The live controller.
 * @throws {TransportError} When the transport cannot connect (refused, TermReq...).
 * @throws {NvmeStatusError} When the controller rejects Connect or another set-up command.
 * @throws {ControllerError} When the controller does not become ready or lacks what is needed.
 * @example Usage
 * ```ts ignore
 * import { connect } from "@nvmf/host";
 * const ctrl = await connect({ transport: "tcp", address: { traddr: "192.0.2.10", trsvcid: "4420" }, subnqn: "nqn.2026-01.test:a" });
 * await ctrl.close();
 * ```
 */
export async function connect(options: ConnectOptions): Promise<HostController> {
  const ctrl = new HostController(options);
  await ctrl.open(options.signal);
  return ctrl;
}

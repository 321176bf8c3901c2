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
 *   health, firmware slot, changed namespace list, commands supported and effects, discovery),
 *   Set and Get Features, Asynchronous Event Request, Keep Alive, Abort.
 * - NVM: Read, Write, Flush, Write Zeroes, Dataset Management, Compare, Verify.
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
  AsyncEventBits,
  AsyncEventConfig,
  AsyncEventNotice,
  AsyncEventType,
  CapCss,
  CcBits,
  CcCss,
  Cmic,
  CommandEffects,
  CommandSetIdentifier,
  CommandSpecificStatus,
  ControllerAttributes,
  ControllerType,
  CQE_SIZE,
  CQE_SIZE_LOG2,
  CqeStatusBits,
  CstsBits,
  DISCOVERY_NQN,
  DSM_NR_MASK,
  DSM_RANGE_SIZE,
  DsmAttributes,
  DsmRangeOffset,
  encodeCap,
  encodeChangedNsList,
  encodeCommandEffectsLog,
  encodeErrorInformationLog,
  encodeFirmwareSlotLog,
  encodeIdentifyController,
  encodeIdentifyNamespace,
  encodeNsIdDescriptors,
  encodeNsIdList,
  encodeSmartLog,
  EntrySizeBits,
  ERROR_LOCATION_NONE,
  type ErrorInformationEntry,
  ErrorRecoveryBits,
  FABRICS_OPCODE,
  FabricsStatus,
  FabricsType,
  fabricsType,
  FCATT_STATIC_CONTROLLER_MODEL,
  FEATURE_HOST_ID_EXHID,
  FEATURE_POWER_STATE_MASK,
  FEATURE_VWC_WCE,
  FEATURE_WRITE_ATOMICITY_DN,
  FeatureBits,
  FeatureCapabilities,
  FeatureId,
  FeatureSelect,
  FirmwareUpdates,
  GenericStatus,
  GetLogPageBits,
  IDENTIFY_DATA_SIZE,
  IdentifyBits,
  IdentifyCns,
  LogPageAttributes,
  LogPageId,
  LogPageSize,
  MediaStatus,
  MEMORY_PAGE_SHIFT_MIN,
  NMIC_SHARED,
  NSATTR_WRITE_PROTECTED,
  NSID_BROADCAST,
  NsIdType,
  NumberOfQueuesBits,
  NvmeVersion,
  NvmOpcode,
  Oncs,
  PROP_ATTRIB,
  PROP_OFST,
  PROP_VALUE,
  Property,
  PROPERTY_ATTRIB_SIZE_MASK,
  propertyGetResponseDw,
  PropertySize,
  Psdt,
  RwControl,
  SglSupport,
  ShutdownStatus,
  SMART_DATA_UNIT_BYTES,
  SQE_CDW10,
  SQE_CDW11,
  SQE_CDW12,
  SQE_CDW13,
  SQE_CDW14,
  SQE_CID,
  SQE_DPTR,
  SQE_FLAGS,
  SQE_NSID,
  SQE_OPCODE,
  SQE_SIZE,
  SQE_SIZE_LOG2,
  SqeFlagsBits,
  StatusCodeType,
  statusOf,
  TemperatureThresholdBits,
  VWC_PRESENT,
} from "@nvmf/proto";
import type { Association, Capsule, CommandCapsule, QueuePair } from "@nvmf/transport";
import type { WriteOptions } from "./backend.ts";
import type { Namespace, Subsystem } from "./subsystem.ts";

// ---------------------------------------------------------------------------------------------
// Statuses, encoded once. DNR is set where a retry cannot succeed (as Linux's nvmet does).

const G = StatusCodeType.GENERIC;
const C = StatusCodeType.COMMAND_SPECIFIC;
const M = StatusCodeType.MEDIA_AND_DATA_INTEGRITY;
const SUCCESS = 0;
const INVALID_OPCODE = statusOf(G, GenericStatus.INVALID_COMMAND_OPCODE, true);
const INVALID_FIELD = statusOf(G, GenericStatus.INVALID_FIELD_IN_COMMAND, true);
const INVALID_NS = statusOf(G, GenericStatus.INVALID_NAMESPACE_OR_FORMAT, true);
const SEQUENCE_ERROR = statusOf(G, GenericStatus.COMMAND_SEQUENCE_ERROR, true);
const SGL_LENGTH_INVALID = statusOf(G, GenericStatus.DATA_SGL_LENGTH_INVALID, true);
const LBA_OUT_OF_RANGE = statusOf(G, GenericStatus.LBA_OUT_OF_RANGE, true);
const WRITE_PROTECTED = statusOf(G, GenericStatus.NAMESPACE_IS_WRITE_PROTECTED, true);
const INTERNAL_ERROR = statusOf(G, GenericStatus.INTERNAL_ERROR);
const ABORT_REQUESTED = statusOf(G, GenericStatus.COMMAND_ABORT_REQUESTED);
const KATO_INVALID = statusOf(G, GenericStatus.KEEP_ALIVE_TIMEOUT_INVALID);
const AER_LIMIT = statusOf(C, CommandSpecificStatus.ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED, true);
const INVALID_LOG_PAGE = statusOf(C, CommandSpecificStatus.INVALID_LOG_PAGE, true);
const NOT_SAVEABLE = statusOf(C, CommandSpecificStatus.FEATURE_IDENTIFIER_NOT_SAVEABLE, true);
const INVALID_QUEUE_TYPE = statusOf(C, FabricsStatus.INVALID_QUEUE_TYPE, true);
const COMPARE_FAILURE = statusOf(M, MediaStatus.COMPARE_FAILURE, true);
const READ_ERROR = statusOf(M, MediaStatus.UNRECOVERED_READ_ERROR);
const WRITE_FAULT = statusOf(M, MediaStatus.WRITE_FAULT);
/** The sentinel a handler returns when it sent its completion itself (or could not). */
const NO_RESPONSE = -1;

// ---------------------------------------------------------------------------------------------
// Limits and fixed values (policies, not protocol numbers)

/** Outstanding Asynchronous Event Requests accepted (AERL + 1), as Linux's NVMET_ASYNC_EVENTS. */
const AER_MAX = 4;
/** Abort commands accepted at once (ACL + 1): Abort completes at once, so any number is. */
const ABORT_MAX = 4;
/** Error Information log entries kept (ELPE + 1). */
const ERROR_LOG_ENTRIES = 64;
/** Events kept while no AER is outstanding. */
const EVENT_QUEUE_MAX = 16;
/** CAP.TO: worst-case enable time, in 500 ms units (7.5 s, as Linux's nvmet). */
const CAP_TIMEOUT = 15;
/** KAS: keep alive granularity in 100 ms units (1 s, as Linux and FreeBSD report). */
const KAS = 10;
/** Composite temperature thresholds in kelvin: FreeBSD's non-zero values (70 C). */
const WCTEMP = 0x157;
/** Recommended arbitration burst, as Linux's nvmet reports. */
const RAB = 6;
/** Power state 0 as Linux's nvmet (and qemu) fake it: 25 W, 16 us entry, 4 us exit. */
const PSD0 = { mp: 0x9c4, enlat: 0x10, exlat: 0x4 };
/** Largest Verify read at a time. */
const VERIFY_CHUNK = 1 << 20;
/** Default Async Event Configuration of an I/O controller: namespace notices on (as Linux). */
const AEC_IO_DEFAULT = AsyncEventConfig.NAMESPACE_ATTRIBUTE_NOTICES;
/** AEC bits an I/O controller accepts. */
const AEC_IO_SUPPORTED = AsyncEventConfig.SMART_MASK | AsyncEventConfig.NAMESPACE_ATTRIBUTE_NOTICES;
/** AEC bits a discovery controller accepts. */
const AEC_DISCOVERY_SUPPORTED = AsyncEventConfig.DISCOVERY_LOG_PAGE_CHANGE_NOTICES >>> 0;

/** TMPSEL and THSEL of a Temperature Threshold CDW11, shifted down: the threshold's key. */
const THSEL_IN_KEY = TemperatureThresholdBits.THSEL_SHIFT - TemperatureThresholdBits.TMPSEL_SHIFT;
const TEMPERATURE_KEY_MASK = (TemperatureThresholdBits.THSEL_MASK << THSEL_IN_KEY) |
  TemperatureThresholdBits.TMPSEL_MASK;

const FUA: WriteOptions = Object.freeze({ fua: true });
const NO_FUA: WriteOptions = Object.freeze({ fua: false });
/** NVMe version a discovery controller reports, as Linux's nvmet. */
const DISCOVERY_VERSION = NvmeVersion.V1_3;
const ZERO_PSD = Object.freeze({
  mp: 0,
  mxps: 0,
  nops: 0,
  enlat: 0,
  exlat: 0,
  rrt: 0,
  rrl: 0,
  rwt: 0,
  rwl: 0,
  idlp: 0,
  ips: 0,
  actp: 0,
  apw: 0,
  aps: 0,
});

/** Admin opcodes an I/O controller supports, for the Commands Supported and Effects log. */
const ADMIN_SUPPORTED: readonly number[] = [
  AdminOpcode.GET_LOG_PAGE,
  AdminOpcode.IDENTIFY,
  AdminOpcode.ABORT,
  AdminOpcode.SET_FEATURES,
  AdminOpcode.GET_FEATURES,
  AdminOpcode.ASYNC_EVENT_REQUEST,
  AdminOpcode.KEEP_ALIVE,
];

let effectsPage: Uint8Array | undefined;
function commandEffects(): Uint8Array {
  if (effectsPage === undefined) {
    const acs: number[] = [];
    const iocs: number[] = [];
    for (const op of ADMIN_SUPPORTED) acs[op] = CommandEffects.CSUPP;
    for (const op of [NvmOpcode.READ, NvmOpcode.FLUSH, NvmOpcode.COMPARE, NvmOpcode.VERIFY]) {
      iocs[op] = CommandEffects.CSUPP;
    }
    for (const op of [NvmOpcode.WRITE, NvmOpcode.WRITE_ZEROES, NvmOpcode.DATASET_MANAGEMENT]) {
      iocs[op] = CommandEffects.CSUPP | CommandEffects.LBCC;
    }
    effectsPage = encodeCommandEffectsLog({ acs, iocs });
  }
  return effectsPage;
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function cidOf(sqe: Uint8Array): number {
  return sqe[SQE_CID] | (sqe[SQE_CID + 1] << 8);
}

/** The SLBA of an NVM command (CDW11:CDW10) as a number; beyond 2^53 it is out of range anyway. */
function slbaOf(sqe: Uint8Array): number {
  return u32(sqe, SQE_CDW11) * 0x100000000 + u32(sqe, SQE_CDW10);
}

/** Where a status points in the SQE, for the Error Information log. */
function errorLocation(status: number): number {
  const sc = (status >>> CqeStatusBits.SC_SHIFT) & CqeStatusBits.SC_MASK;
  const sct = (status >>> CqeStatusBits.SCT_SHIFT) & CqeStatusBits.SCT_MASK;
  if (sct !== G) return ERROR_LOCATION_NONE;
  switch (sc) {
    case GenericStatus.INVALID_COMMAND_OPCODE:
      return SQE_OPCODE;
    case GenericStatus.INVALID_NAMESPACE_OR_FORMAT:
    case GenericStatus.NAMESPACE_IS_WRITE_PROTECTED:
      return SQE_NSID;
    case GenericStatus.DATA_SGL_LENGTH_INVALID:
      return SQE_DPTR;
    case GenericStatus.LBA_OUT_OF_RANGE:
      return SQE_CDW10;
    default:
      return ERROR_LOCATION_NONE;
  }
}

// ---------------------------------------------------------------------------------------------

/** What a controller tells the target that made it. */
export interface ControllerHooks {
  /** The whole Discovery log page for a discovery controller's host. */
  discoveryLog(controller: Controller): Uint8Array;
  /** The controller was torn down (called once). */
  destroyed(controller: Controller, reason: string): void;
  /** Something failed that the target may want to log. */
  error(error: unknown, message: string): void;
}

/** The identity strings a discovery controller reports. */
export interface ControllerIdentity {
  /** Serial number. */
  serial: string;
  /** Model number. */
  model: string;
  /** Firmware revision. */
  firmware: string;
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
  /** Identity of a discovery controller (I/O controllers report their subsystem's). */
  identity: ControllerIdentity;
  /** Hooks into the target. */
  hooks: ControllerHooks;
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
}

/**
 * CQEs are cut from slabs of this size: one ArrayBuffer per 256 completions rather than one
 * each (an ArrayBuffer costs ~0.3 us in V8, more than filling the CQE). A transport may keep
 * the CQE (the loopback hands it to the host), so slices are never reused.
 */
const CQE_SLAB_SIZE = 4096;
let cqeSlab = new Uint8Array(CQE_SLAB_SIZE);
let cqeSlabUsed = 0;

const RESOLVED: Promise<void> = Promise.resolve();
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
  // Features
  #numQueues = 0; // allocated I/O queues; 0 until Set Features Number of Queues
  #aec: number;
  #wce = true;
  #arbitration = 0;
  #powerState = 0;
  #errorRecovery = 0;
  #writeAtomicity = 0;
  readonly #temperature = new Map<number, number>();
  // Asynchronous events
  readonly #aerCids: number[] = [];
  readonly #events: number[] = [];
  #masked = 0; // AsyncEventConfig bits of events reported and not yet cleared by their log
  // Logs
  #changedNs: number[] = [];
  #changedNsOverflow = false;
  readonly #errors: Partial<ErrorInformationEntry>[] = [];
  #errorCount = 0n;
  #idCtrl: Uint8Array | undefined;
  readonly #created = Date.now();

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
    this.#aec = init.subsystem === undefined ? 0 : AEC_IO_DEFAULT;
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
    };
    this.#admin = q;
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
    const limit = this.#numQueues || this.#init.maxQueues;
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
    };
    this.#io[qid] = q;
    this.#serve(q);
  }

  /**
   * Records a namespace change: the Changed Namespace List and, when enabled, an event.
   *
   * @param nsid The namespace added or removed.
   */
  namespaceChanged(nsid: number): void {
    if (this.#destroyed || this.discovery) return;
    if (!this.#changedNsOverflow && !this.#changedNs.includes(nsid)) {
      if (this.#changedNs.length === LogPageSize.CHANGED_NAMESPACE_LIST / 4) {
        this.#changedNs = [];
        this.#changedNsOverflow = true;
      } else {
        this.#changedNs.push(nsid);
      }
    }
    this.#raise(
      AsyncEventConfig.NAMESPACE_ATTRIBUTE_NOTICES,
      AsyncEventType.NOTICE,
      AsyncEventNotice.NAMESPACE_ATTRIBUTE_CHANGED,
      LogPageId.CHANGED_NAMESPACE_LIST,
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
    this.#csts &= ~CstsBits.RDY;
    const queues: QueueState[] = [];
    if (this.#admin !== undefined) queues.push(this.#admin);
    for (const q of this.#io) if (q !== undefined) queues.push(q);
    this.#io.length = 0;
    this.#aerCids.length = 0;
    this.#events.length = 0;
    for (const q of queues) {
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
      q.inflight++;
      this.#pending++;
      void this.#run(q, capsule);
    }
    this.#queueEnded(q);
  }

  #queueEnded(q: QueueState): void {
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
    try {
      let status: number;
      const valid = q.qp.validateCommandCapsule(cmd);
      if (valid !== GenericStatus.SUCCESS) status = statusOf(G, valid, true);
      else if ((sqe[SQE_FLAGS] & SqeFlagsBits.FUSE_MASK) !== 0) status = INVALID_FIELD;
      else if (
        ((sqe[SQE_FLAGS] >>> SqeFlagsBits.PSDT_SHIFT) & SqeFlagsBits.PSDT_MASK) !==
          Psdt.SGL_MPTR_CONTIGUOUS
      ) status = INVALID_FIELD;
      else if (q.qid === 0) status = await this.#adminCommand(q, cmd, sqe);
      else status = await this.#ioCommand(q, cmd, sqe);
      if (status !== NO_RESPONSE) this.#respond(q, sqe, status, 0, 0);
    } catch (e) {
      // A queue pair that ended under the command (the host went away, or broke the protocol
      // and the transport ended the connection) is the queue's end, handled there: not an error.
      if (q.qp.done) return;
      if (!this.#destroyed) {
        this.#init.hooks.error(
          e,
          `Cannot complete command ${cidOf(sqe)} on queue ${q.qid} of controller ${this.cntlid}`,
        );
      }
      this.#respond(q, sqe, INTERNAL_ERROR, 0, 0);
    } finally {
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
    if (status !== SUCCESS) status = this.#logError(q.qid, sqe, status);
    this.#send(q, cidOf(sqe), status, dw0, dw1);
  }

  /**
   * Sends a completion. The promise settles once the transport has taken it and never
   * rejects: a queue pair that cannot send is at its end, and its controller goes with it.
   * (A transport that batches returns one promise per batch: one guard per batch, not per CQE.)
   */
  #send(q: QueueState, cid: number, status: number, dw0: number, dw1: number): Promise<void> {
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
    const outcome = await q.qp.sendControllerData(cmd, 0, data, true);
    if (outcome === "success-sent") return NO_RESPONSE;
    if (dw0 !== 0) {
      await this.#send(q, cidOf(cmd.sqe), SUCCESS, dw0, 0);
      return NO_RESPONSE;
    }
    return SUCCESS;
  }

  #logError(qid: number, sqe: Uint8Array, status: number): number {
    this.#errorCount++;
    const nsid = u32(sqe, SQE_NSID);
    const opcode = sqe[SQE_OPCODE];
    const rw = qid !== 0 && (opcode === NvmOpcode.READ || opcode === NvmOpcode.WRITE);
    this.#errors.unshift({
      errorCount: this.#errorCount,
      sqid: qid,
      cid: cidOf(sqe),
      status,
      parameterErrorLocation: errorLocation(status),
      lba: rw ? BigInt(slbaOf(sqe)) : 0n,
      nsid,
      trtype: this.#init.association.transport.trtype,
    });
    if (this.#errors.length > ERROR_LOG_ENTRIES) this.#errors.length = ERROR_LOG_ENTRIES;
    return status | CqeStatusBits.MORE;
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

  #raise(enable: number, type: number, info: number, lid: number): void {
    if ((this.#aec & enable) === 0 || (this.#masked & enable) !== 0) return;
    this.#masked |= enable;
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
    this.#aerCids.length = 0;
    this.#events.length = 0;
    this.#masked = 0;
    this.#numQueues = 0;
    this.#aec = this.discovery ? 0 : AEC_IO_DEFAULT;
    this.#wce = true;
    this.#arbitration = 0;
    this.#powerState = 0;
    this.#errorRecovery = 0;
    this.#writeAtomicity = 0;
    this.#temperature.clear();
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
        return this.#features(q, cmd, sqe, opcode === AdminOpcode.SET_FEATURES);
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

  // Identify -----------------------------------------------------------------------------------

  async #identify(q: QueueState, cmd: CommandCapsule, sqe: Uint8Array): Promise<number> {
    if (q.qp.capsuleDataLength(cmd) !== IDENTIFY_DATA_SIZE) return SGL_LENGTH_INVALID;
    const cdw10 = u32(sqe, SQE_CDW10);
    const cns = cdw10 & IdentifyBits.CNS_MASK;
    const csi = u32(sqe, SQE_CDW11) >>> IdentifyBits.CSI_SHIFT;
    const nsid = u32(sqe, SQE_NSID);
    if (cns === IdentifyCns.CONTROLLER) {
      return await this.#reply(q, cmd, this.#identifyController());
    }
    if (this.discovery) return INVALID_FIELD;
    const sub = this.subsystem!;
    switch (cns) {
      case IdentifyCns.NAMESPACE: {
        if (nsid === 0 || nsid === NSID_BROADCAST || nsid > sub.maxNamespaces) return INVALID_NS;
        const ns = sub.namespace(nsid);
        // Base 5.17.2.1: an inactive NSID gets a zero-filled structure.
        return await this.#reply(
          q,
          cmd,
          ns === undefined ? new Uint8Array(IDENTIFY_DATA_SIZE) : identifyNamespace(ns),
        );
      }
      case IdentifyCns.CS_ACTIVE_NAMESPACE_LIST:
        if (csi !== CommandSetIdentifier.NVM) return INVALID_FIELD;
        // falls through
      case IdentifyCns.ACTIVE_NAMESPACE_LIST: {
        // Base 5.17.2.2: NSIDs FFFFFFFEh and FFFFFFFFh are invalid here.
        if (nsid >= NSID_BROADCAST - 1) return INVALID_NS;
        const ids: number[] = [];
        for (const ns of sub.namespaces) {
          if (ns.nsid > nsid && ids.length < IDENTIFY_DATA_SIZE / 4) ids.push(ns.nsid);
        }
        return await this.#reply(q, cmd, encodeNsIdList(ids));
      }
      case IdentifyCns.NAMESPACE_DESCRIPTOR_LIST: {
        const ns = sub.namespace(nsid);
        if (ns === undefined) return INVALID_NS;
        return await this.#reply(q, cmd, namespaceDescriptors(ns));
      }
      case IdentifyCns.CS_NAMESPACE:
        if (csi !== CommandSetIdentifier.NVM) return INVALID_FIELD;
        if (sub.namespace(nsid) === undefined) return INVALID_NS;
        // The NVM command set specific Identify Namespace: nothing to report (as Linux).
        return await this.#reply(q, cmd, new Uint8Array(IDENTIFY_DATA_SIZE));
      case IdentifyCns.CS_CONTROLLER:
        if (csi !== CommandSetIdentifier.NVM) return INVALID_FIELD;
        // The NVM command set specific Identify Controller: no limits to report (as Linux).
        return await this.#reply(q, cmd, new Uint8Array(IDENTIFY_DATA_SIZE));
      default:
        return INVALID_FIELD;
    }
  }

  #identifyController(): Uint8Array {
    if (this.#idCtrl !== undefined) return this.#idCtrl;
    const params = this.#init.association.params;
    const sgls = SglSupport.SUPPORTED_NO_ALIGNMENT |
      (params.ioInCapsuleData > 0 ? SglSupport.ADDRESS_AS_OFFSET : 0);
    const sub = this.subsystem;
    if (sub === undefined) {
      // As Linux's nvmet_execute_disc_identify.
      const id = this.#init.identity;
      this.#idCtrl = encodeIdentifyController({
        sn: id.serial,
        mn: id.model,
        fr: id.firmware,
        cntlid: this.cntlid,
        ver: DISCOVERY_VERSION,
        lpa: LogPageAttributes.EXTENDED_DATA,
        // Not the admin queue size: Linux's host clamps its queue size to MAXCMD and warns
        // ("sqsize 128 > ctrl maxcmd 32") when it is smaller than its default of 128.
        maxcmd: params.maxIoQsize,
        sgls,
        oaes: AEC_DISCOVERY_SUPPORTED,
        cntrltype: ControllerType.DISCOVERY,
        subnqn: DISCOVERY_NQN,
      });
      return this.#idCtrl;
    }
    const entrySizes = (log2: number) => (log2 << EntrySizeBits.MAX_SHIFT) | log2;
    this.#idCtrl = encodeIdentifyController({
      sn: sub.serial,
      mn: sub.model,
      fr: sub.firmware,
      rab: RAB,
      cmic: Cmic.MULTI_PORT | Cmic.MULTI_CONTROLLER,
      mdts: this.#mdts,
      cntlid: this.cntlid,
      ver: sub.version,
      oaes: AEC_IO_DEFAULT,
      ctratt: ControllerAttributes.HOST_ID_128_BIT | ControllerAttributes.TBKAS,
      cntrltype: ControllerType.IO,
      acl: ABORT_MAX - 1,
      aerl: AER_MAX - 1,
      frmw: FirmwareUpdates.SLOT1_READ_ONLY | (1 << FirmwareUpdates.SLOTS_SHIFT),
      lpa: LogPageAttributes.SMART_PER_NAMESPACE | LogPageAttributes.COMMANDS_EFFECTS |
        LogPageAttributes.EXTENDED_DATA,
      elpe: ERROR_LOG_ENTRIES - 1,
      npss: 0,
      wctemp: WCTEMP,
      cctemp: WCTEMP,
      kas: KAS,
      sqes: entrySizes(SQE_SIZE_LOG2),
      cqes: entrySizes(CQE_SIZE_LOG2),
      maxcmd: params.maxIoQsize,
      nn: sub.maxNamespaces,
      mnan: sub.maxNamespaces,
      oncs: Oncs.COMPARE | Oncs.DATASET_MANAGEMENT | Oncs.WRITE_ZEROES | Oncs.VERIFY,
      vwc: VWC_PRESENT,
      sgls,
      subnqn: sub.nqn,
      ioccsz: (SQE_SIZE + params.ioInCapsuleData) / 16,
      iorcsz: CQE_SIZE / 16,
      icdoff: 0,
      fcatt: params.dynamicControllerModel ? 0 : FCATT_STATIC_CONTROLLER_MODEL,
      msdbd: 1,
      psd: [{ ...ZERO_PSD, ...PSD0 }],
    });
    return this.#idCtrl;
  }

  // Get Log Page -------------------------------------------------------------------------------

  async #getLogPage(q: QueueState, cmd: CommandCapsule, sqe: Uint8Array): Promise<number> {
    const cdw10 = u32(sqe, SQE_CDW10);
    const cdw11 = u32(sqe, SQE_CDW11);
    const lid = cdw10 & GetLogPageBits.LID_MASK;
    const rae = (cdw10 & GetLogPageBits.RAE) !== 0;
    const numd = (cdw11 & GetLogPageBits.NUMDU_MASK) * 0x10000 +
      (cdw10 >>> GetLogPageBits.NUMDL_SHIFT) + 1;
    const length = numd * 4;
    if (length > this.#init.maxTransferSize) return INVALID_FIELD; // Base 5.16: MDTS applies
    if (q.qp.capsuleDataLength(cmd) !== length) return SGL_LENGTH_INVALID;
    const lpo = u32(sqe, SQE_CDW12) + u32(sqe, SQE_CDW13) * 0x100000000;
    const cdw14 = u32(sqe, SQE_CDW14);
    // Base 5.16: LPO is dword aligned; offsets as indexes (OT) are not supported.
    if (lpo % 4 !== 0 || (cdw14 & GetLogPageBits.OT) !== 0) return INVALID_FIELD;
    let page: Uint8Array;
    if (this.discovery) {
      if (lid !== LogPageId.DISCOVERY) return INVALID_LOG_PAGE;
      page = this.#init.hooks.discoveryLog(this);
      this.#unmask(AEC_DISCOVERY_SUPPORTED, rae);
    } else {
      const sub = this.subsystem!;
      switch (lid) {
        case LogPageId.ERROR_INFORMATION:
          // ELPE + 1 entries, the unused ones zero (Base 5.16.1.2).
          page = new Uint8Array(ERROR_LOG_ENTRIES * LogPageSize.ERROR_INFORMATION_ENTRY);
          encodeErrorInformationLog(this.#errors, page);
          break;
        case LogPageId.SMART_HEALTH: {
          const nsid = u32(sqe, SQE_NSID);
          let list: readonly Namespace[];
          if (nsid === 0 || nsid === NSID_BROADCAST) list = sub.namespaces;
          else {
            const ns = sub.namespace(nsid);
            if (ns === undefined) return INVALID_NS;
            list = [ns];
          }
          page = this.#smartLog(list);
          break;
        }
        case LogPageId.FIRMWARE_SLOT:
          page = encodeFirmwareSlotLog({ afi: 1, frs: [sub.firmware] });
          break;
        case LogPageId.CHANGED_NAMESPACE_LIST:
          page = encodeChangedNsList({
            overflow: this.#changedNsOverflow,
            nsids: this.#changedNs.sort((a, b) => a - b),
          });
          this.#changedNs = [];
          this.#changedNsOverflow = false;
          this.#unmask(AsyncEventConfig.NAMESPACE_ATTRIBUTE_NOTICES, rae);
          break;
        case LogPageId.COMMANDS_SUPPORTED_AND_EFFECTS:
          if ((cdw14 >>> GetLogPageBits.CSI_SHIFT) !== CommandSetIdentifier.NVM) {
            return INVALID_LOG_PAGE;
          }
          page = commandEffects();
          break;
        default:
          return INVALID_LOG_PAGE;
      }
    }
    // Base 5.16: an offset past the end of the page is an invalid field.
    if (lpo >= page.length) return INVALID_FIELD;
    let data: Uint8Array;
    if (lpo === 0 && length === page.length) data = page;
    else {
      data = new Uint8Array(length);
      data.set(page.subarray(lpo, Math.min(page.length, lpo + length)));
    }
    return await this.#reply(q, cmd, data);
  }

  #smartLog(namespaces: readonly Namespace[]): Uint8Array {
    let readCommands = 0;
    let writeCommands = 0;
    let bytesRead = 0;
    let bytesWritten = 0;
    for (const ns of namespaces) {
      readCommands += ns.stats.readCommands;
      writeCommands += ns.stats.writeCommands;
      bytesRead += ns.stats.bytesRead;
      bytesWritten += ns.stats.bytesWritten;
    }
    const units = (bytes: number) => BigInt(Math.ceil(bytes / SMART_DATA_UNIT_BYTES));
    return encodeSmartLog({
      compositeTemperature: 0,
      availableSpare: 100,
      availableSpareThreshold: 10,
      dataUnitsRead: units(bytesRead),
      dataUnitsWritten: units(bytesWritten),
      hostReadCommands: BigInt(readCommands),
      hostWriteCommands: BigInt(writeCommands),
      powerCycles: 1n,
      powerOnHours: BigInt(Math.floor((Date.now() - this.#created) / 3_600_000)),
      numErrLogEntries: this.#errorCount,
    });
  }

  // Features -----------------------------------------------------------------------------------

  async #features(
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
    if (set) {
      if ((cdw10 & FeatureBits.SV) !== 0) return NOT_SAVEABLE;
      const result = this.#setFeature(fid, cdw11);
      if (result < 0) return result === -2 ? SEQUENCE_ERROR : INVALID_FIELD;
      if (result === 0) return SUCCESS;
      void this.#send(q, cidOf(sqe), SUCCESS, result, 0);
      return NO_RESPONSE;
    }
    const sel = (cdw10 >>> FeatureBits.SEL_SHIFT) & FeatureBits.SEL_MASK;
    const value = this.#getFeature(fid, cdw11, sel);
    if (value === undefined) return INVALID_FIELD;
    if (value === 0) return SUCCESS;
    void this.#send(q, cidOf(sqe), SUCCESS, value >>> 0, 0);
    return NO_RESPONSE;
  }

  /** Applies Set Features; returns DW0 (0 for none), -1 for an invalid field, -2 out of order. */
  #setFeature(fid: number, cdw11: number): number {
    if (this.discovery) {
      if (fid === FeatureId.KEEP_ALIVE_TIMER) return this.#setKato(cdw11);
      if (fid === FeatureId.ASYNC_EVENT_CONFIGURATION) {
        if ((cdw11 & ~AEC_DISCOVERY_SUPPORTED) !== 0) return -1;
        this.#aec = cdw11;
        return 0;
      }
      return -1;
    }
    switch (fid) {
      case FeatureId.ARBITRATION:
        this.#arbitration = cdw11;
        return 0;
      case FeatureId.POWER_MANAGEMENT:
        if ((cdw11 & FEATURE_POWER_STATE_MASK) !== 0) return -1; // NPSS is 0: state 0 only
        this.#powerState = cdw11;
        return 0;
      case FeatureId.TEMPERATURE_THRESHOLD: {
        const key = (cdw11 >>> TemperatureThresholdBits.TMPSEL_SHIFT) & TEMPERATURE_KEY_MASK;
        this.#temperature.set(key, cdw11 & TemperatureThresholdBits.TMPTH_MASK);
        return 0;
      }
      case FeatureId.ERROR_RECOVERY:
        if ((cdw11 & ErrorRecoveryBits.DULBE) !== 0) return -1; // no DULBE: DLFEAT is 0
        this.#errorRecovery = cdw11 & ErrorRecoveryBits.TLER_MASK;
        return 0;
      case FeatureId.VOLATILE_WRITE_CACHE:
        this.#wce = (cdw11 & FEATURE_VWC_WCE) !== 0;
        return 0;
      case FeatureId.NUMBER_OF_QUEUES: {
        const nsqr = cdw11 & NumberOfQueuesBits.NSQ_MASK;
        const ncqr = (cdw11 >>> NumberOfQueuesBits.NCQ_SHIFT) & NumberOfQueuesBits.NCQ_MASK;
        // Base 5.27.1.5: 65535 (0's based) is invalid.
        if (nsqr === NumberOfQueuesBits.NSQ_MASK || ncqr === NumberOfQueuesBits.NCQ_MASK) {
          return -1;
        }
        if (this.ioQueues.length > 0) return -2;
        const n = Math.min(Math.max(nsqr, ncqr) + 1, this.#init.maxQueues);
        this.#numQueues = n;
        return ((n - 1) | ((n - 1) << NumberOfQueuesBits.NCQ_SHIFT)) >>> 0;
      }
      case FeatureId.WRITE_ATOMICITY_NORMAL:
        this.#writeAtomicity = cdw11 & FEATURE_WRITE_ATOMICITY_DN;
        return 0;
      case FeatureId.ASYNC_EVENT_CONFIGURATION:
        if ((cdw11 & ~AEC_IO_SUPPORTED) !== 0) return -1;
        this.#aec = cdw11;
        return 0;
      case FeatureId.KEEP_ALIVE_TIMER:
        return this.#setKato(cdw11);
      default:
        // Interrupt coalescing and vector configuration do not apply to fabrics (as Linux).
        return -1;
    }
  }

  #setKato(ms: number): number {
    this.#kato = ms;
    this.#armKeepAlive();
    return 0;
  }

  /** Get Features: DW0, or undefined for an unsupported feature. */
  #getFeature(fid: number, cdw11: number, sel: number): number | undefined {
    const defaults = sel === FeatureSelect.DEFAULT || sel === FeatureSelect.SAVED;
    if (sel === FeatureSelect.SUPPORTED_CAPABILITIES) {
      return this.#getFeature(fid, cdw11, FeatureSelect.CURRENT) === undefined
        ? undefined
        : FeatureCapabilities.CHANGEABLE;
    }
    if (sel > FeatureSelect.SUPPORTED_CAPABILITIES) return undefined;
    if (this.discovery) {
      if (fid === FeatureId.KEEP_ALIVE_TIMER) return defaults ? 0 : this.#kato;
      if (fid === FeatureId.ASYNC_EVENT_CONFIGURATION) return defaults ? 0 : this.#aec;
      return undefined;
    }
    const maxQueues = this.#init.maxQueues;
    switch (fid) {
      case FeatureId.ARBITRATION:
        return defaults ? 0 : this.#arbitration;
      case FeatureId.POWER_MANAGEMENT:
        return defaults ? 0 : this.#powerState;
      case FeatureId.TEMPERATURE_THRESHOLD: {
        const key = (cdw11 >>> TemperatureThresholdBits.TMPSEL_SHIFT) & TEMPERATURE_KEY_MASK;
        // THSEL 01b selects the under temperature threshold, which defaults to 0 K.
        const under = (key >>> THSEL_IN_KEY) === 1;
        const fallback = under ? 0 : WCTEMP;
        const value = defaults ? fallback : this.#temperature.get(key) ?? fallback;
        return (value | (key << TemperatureThresholdBits.TMPSEL_SHIFT)) >>> 0;
      }
      case FeatureId.ERROR_RECOVERY:
        return defaults ? 0 : this.#errorRecovery;
      case FeatureId.VOLATILE_WRITE_CACHE:
        return defaults || this.#wce ? FEATURE_VWC_WCE : 0;
      case FeatureId.NUMBER_OF_QUEUES: {
        const n = defaults || this.#numQueues === 0 ? maxQueues : this.#numQueues;
        return ((n - 1) | ((n - 1) << NumberOfQueuesBits.NCQ_SHIFT)) >>> 0;
      }
      case FeatureId.WRITE_ATOMICITY_NORMAL:
        return defaults ? 0 : this.#writeAtomicity;
      case FeatureId.ASYNC_EVENT_CONFIGURATION:
        return defaults ? AEC_IO_DEFAULT : this.#aec;
      case FeatureId.KEEP_ALIVE_TIMER:
        return defaults ? 0 : this.#kato;
      default:
        return undefined;
    }
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
    if (opcode === NvmOpcode.FLUSH && nsid === NSID_BROADCAST) return this.#flushAllCommand();
    const ns = this.subsystem!.namespace(nsid);
    switch (opcode) {
      case NvmOpcode.READ:
        return ns === undefined ? INVALID_NS : this.#read(q, cmd, sqe, ns);
      case NvmOpcode.WRITE:
        if (ns === undefined) return INVALID_NS;
        return ns.readOnly ? WRITE_PROTECTED : this.#write(q, cmd, sqe, ns);
      case NvmOpcode.FLUSH:
        return ns === undefined ? INVALID_NS : this.#flush(ns);
      case NvmOpcode.WRITE_ZEROES:
        if (ns === undefined) return INVALID_NS;
        return ns.readOnly ? WRITE_PROTECTED : this.#writeZeroes(q, cmd, sqe, ns);
      case NvmOpcode.DATASET_MANAGEMENT:
        if (ns === undefined) return INVALID_NS;
        return this.#datasetManagement(q, cmd, sqe, ns);
      case NvmOpcode.COMPARE:
        return ns === undefined ? INVALID_NS : this.#compare(q, cmd, sqe, ns);
      case NvmOpcode.VERIFY:
        return ns === undefined ? INVALID_NS : this.#verify(q, cmd, sqe, ns);
      default:
        return INVALID_OPCODE;
    }
  }

  /**
   * Checks the LBA range and transfer of a Read, Write or Compare; returns the byte length
   * (>= 0) or a status (< 0, negated).
   */
  #checkTransfer(q: QueueState, cmd: CommandCapsule, sqe: Uint8Array, ns: Namespace): number {
    const nlb = (u32(sqe, SQE_CDW12) & RwControl.NLB_MASK) + 1;
    const length = nlb * ns.blockSize;
    if (length > this.#init.maxTransferSize) return -INVALID_FIELD; // NVM 3.2.6: over MDTS
    if (q.qp.capsuleDataLength(cmd) !== length) return -SGL_LENGTH_INVALID;
    if (slbaOf(sqe) + nlb > ns.blocks) return -LBA_OUT_OF_RANGE;
    return length;
  }

  async #read(q: QueueState, cmd: CommandCapsule, sqe: Uint8Array, ns: Namespace) {
    const length = this.#checkTransfer(q, cmd, sqe, ns);
    if (length < 0) return -length;
    const offset = slbaOf(sqe) * ns.blockSize;
    const backend = ns.backend;
    let data = backend.map?.(offset, length, false);
    if (data === undefined) {
      data = new Uint8Array(length);
      try {
        await backend.read(offset, data);
      } catch (e) {
        this.#init.hooks.error(e, `Cannot read namespace ${ns.nsid} at ${offset}`);
        return READ_ERROR;
      }
    }
    ns.stats.readCommands++;
    ns.stats.bytesRead += length;
    const outcome = await q.qp.sendControllerData(cmd, 0, data, true);
    return outcome === "success-sent" ? NO_RESPONSE : SUCCESS;
  }

  async #write(q: QueueState, cmd: CommandCapsule, sqe: Uint8Array, ns: Namespace) {
    const length = this.#checkTransfer(q, cmd, sqe, ns);
    if (length < 0) return -length;
    const offset = slbaOf(sqe) * ns.blockSize;
    const backend = ns.backend;
    const fua = !this.#wce || (u32(sqe, SQE_CDW12) & RwControl.FUA) !== 0;
    const mapped = backend.map?.(offset, length, true);
    const data = mapped ?? new Uint8Array(length);
    await q.qp.receiveControllerData(cmd, 0, data);
    if (mapped === undefined) {
      try {
        await backend.write(offset, data, fua ? FUA : NO_FUA);
      } catch (e) {
        this.#init.hooks.error(e, `Cannot write namespace ${ns.nsid} at ${offset}`);
        return WRITE_FAULT;
      }
    }
    ns.stats.writeCommands++;
    ns.stats.bytesWritten += length;
    return SUCCESS;
  }

  async #flush(ns: Namespace): Promise<number> {
    try {
      await ns.backend.flush();
    } catch (e) {
      this.#init.hooks.error(e, `Cannot flush namespace ${ns.nsid}`);
      return WRITE_FAULT;
    }
    return SUCCESS;
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

  async #writeZeroes(q: QueueState, cmd: CommandCapsule, sqe: Uint8Array, ns: Namespace) {
    if (q.qp.capsuleDataLength(cmd) !== 0) return SGL_LENGTH_INVALID;
    const nlb = (u32(sqe, SQE_CDW12) & RwControl.NLB_MASK) + 1;
    const slba = slbaOf(sqe);
    if (slba + nlb > ns.blocks) return LBA_OUT_OF_RANGE;
    const offset = slba * ns.blockSize;
    const length = nlb * ns.blockSize;
    try {
      await ns.backend.writeZeroes(offset, length);
      if (!this.#wce || (u32(sqe, SQE_CDW12) & RwControl.FUA) !== 0) await ns.backend.flush();
    } catch (e) {
      this.#init.hooks.error(e, `Cannot zero namespace ${ns.nsid} at ${offset}`);
      return WRITE_FAULT;
    }
    ns.stats.writeCommands++;
    return SUCCESS;
  }

  async #datasetManagement(q: QueueState, cmd: CommandCapsule, sqe: Uint8Array, ns: Namespace) {
    const ranges = (u32(sqe, SQE_CDW10) & DSM_NR_MASK) + 1;
    const length = ranges * DSM_RANGE_SIZE;
    if (q.qp.capsuleDataLength(cmd) < length) return SGL_LENGTH_INVALID;
    const list = new Uint8Array(length);
    await q.qp.receiveControllerData(cmd, 0, list);
    if ((u32(sqe, SQE_CDW11) & DsmAttributes.DEALLOCATE) === 0) return SUCCESS; // hints only
    if (ns.readOnly) return WRITE_PROTECTED;
    // NVM 3.2.3: every range is checked before any is deallocated.
    for (let i = 0; i < ranges; i++) {
      const at = i * DSM_RANGE_SIZE;
      const nlb = u32(list, at + DsmRangeOffset.NLB);
      const slba = u32(list, at + DsmRangeOffset.SLBA + 4) * 0x100000000 +
        u32(list, at + DsmRangeOffset.SLBA);
      if (slba + nlb > ns.blocks) return LBA_OUT_OF_RANGE;
    }
    try {
      for (let i = 0; i < ranges; i++) {
        const at = i * DSM_RANGE_SIZE;
        const nlb = u32(list, at + DsmRangeOffset.NLB);
        if (nlb === 0) continue;
        const slba = u32(list, at + DsmRangeOffset.SLBA + 4) * 0x100000000 +
          u32(list, at + DsmRangeOffset.SLBA);
        await ns.backend.deallocate(slba * ns.blockSize, nlb * ns.blockSize);
      }
    } catch (e) {
      this.#init.hooks.error(e, `Cannot deallocate in namespace ${ns.nsid}`);
      return WRITE_FAULT;
    }
    return SUCCESS;
  }

  async #compare(q: QueueState, cmd: CommandCapsule, sqe: Uint8Array, ns: Namespace) {
    const length = this.#checkTransfer(q, cmd, sqe, ns);
    if (length < 0) return -length;
    const offset = slbaOf(sqe) * ns.blockSize;
    const host = new Uint8Array(length);
    await q.qp.receiveControllerData(cmd, 0, host);
    const stored = new Uint8Array(length);
    try {
      await ns.backend.read(offset, stored);
    } catch (e) {
      this.#init.hooks.error(e, `Cannot read namespace ${ns.nsid} at ${offset}`);
      return READ_ERROR;
    }
    ns.stats.readCommands++;
    for (let i = 0; i < length; i++) if (host[i] !== stored[i]) return COMPARE_FAILURE;
    return SUCCESS;
  }

  async #verify(q: QueueState, cmd: CommandCapsule, sqe: Uint8Array, ns: Namespace) {
    if (q.qp.capsuleDataLength(cmd) !== 0) return SGL_LENGTH_INVALID;
    const nlb = (u32(sqe, SQE_CDW12) & RwControl.NLB_MASK) + 1;
    const slba = slbaOf(sqe);
    if (slba + nlb > ns.blocks) return LBA_OUT_OF_RANGE;
    const offset = slba * ns.blockSize;
    const length = nlb * ns.blockSize;
    const chunk = new Uint8Array(Math.min(length, VERIFY_CHUNK));
    try {
      for (let done = 0; done < length; done += chunk.length) {
        const n = Math.min(chunk.length, length - done);
        await ns.backend.read(offset + done, n === chunk.length ? chunk : chunk.subarray(0, n));
      }
    } catch (e) {
      this.#init.hooks.error(e, `Cannot verify namespace ${ns.nsid} at ${offset}`);
      return READ_ERROR;
    }
    ns.stats.readCommands++;
    return SUCCESS;
  }
}

// ---------------------------------------------------------------------------------------------
// Identify Namespace data (NVM 4.1.5.1) and the namespace identification descriptors

/**
 * The Identify Namespace data of a namespace, as Linux's nvmet fills it: one LBA format,
 * NSZE = NCAP = NUSE, shared (NMIC), write protected when read-only (NSATTR).
 *
 * @param ns The namespace.
 * @returns 4096 bytes.
 * @example Usage
 * ```ts
 * import { identifyNamespace, RamBackend, Target } from "@nvmf/controller";
 * import { decodeIdentifyNamespace } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const target = new Target();
 * const sub = target.addSubsystem({ nqn: "nqn.2026-01.dev.nvmf:id-ns" });
 * const ns = sub.addNamespace({ backend: new RamBackend({ size: 1 << 20, blockSize: 4096 }), readOnly: true });
 * const id = decodeIdentifyNamespace(identifyNamespace(ns));
 * assert.equal(id.nsze, 256n);
 * assert.equal(id.lbaf[0].lbads, 12);
 * assert.equal(id.nsattr, 1);
 * await target.close();
 * ```
 */
export function identifyNamespace(ns: Namespace): Uint8Array {
  const blocks = BigInt(ns.blocks);
  return encodeIdentifyNamespace({
    nsze: blocks,
    ncap: blocks,
    nuse: blocks,
    nlbaf: 0,
    flbas: 0,
    nmic: NMIC_SHARED,
    nsattr: ns.readOnly ? NSATTR_WRITE_PROTECTED : 0,
    nguid: ns.nguid,
    eui64: ns.eui64,
    lbaf: [{ ms: 0, lbads: ns.blockShift, rp: 0 }],
  });
}

/**
 * The Namespace Identification Descriptor list of a namespace: EUI-64, NGUID and UUID when
 * set, and the command set (NVM), which Linux's host requires once CC.CSS selects all I/O
 * command sets.
 *
 * @param ns The namespace.
 * @returns 4096 bytes.
 * @example Usage
 * ```ts
 * import { namespaceDescriptors, RamBackend, Target } from "@nvmf/controller";
 * import { decodeNsIdDescriptors } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const target = new Target();
 * const sub = target.addSubsystem({ nqn: "nqn.2026-01.dev.nvmf:descs" });
 * const ns = sub.addNamespace({ backend: new RamBackend({ size: 1 << 20 }) });
 * assert.deepEqual(decodeNsIdDescriptors(namespaceDescriptors(ns)).map((d) => d.nidt), [3, 4]);
 * await target.close();
 * ```
 */
export function namespaceDescriptors(ns: Namespace): Uint8Array {
  const list = [];
  if (ns.eui64.some((b) => b !== 0)) list.push({ nidt: NsIdType.EUI64, nid: ns.eui64 });
  if (ns.nguid.some((b) => b !== 0)) list.push({ nidt: NsIdType.NGUID, nid: ns.nguid });
  list.push({ nidt: NsIdType.UUID, nid: ns.uuid });
  list.push({ nidt: NsIdType.CSI, nid: Uint8Array.of(CommandSetIdentifier.NVM) });
  return encodeNsIdDescriptors(list);
}

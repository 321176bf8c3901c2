/**
 * An NVMe/TCP queue pair (NVMe/TCP Transport Specification 1.0): one connection after
 * ICReq/ICResp, in the host or the controller role.
 *
 * Receive: one loop per connection reads PDUs from a reusable buffer, checks each common header
 * before anything else ({@linkcode checkPduHeader}), verifies the header digest, and
 * dispatches. Payloads go straight into their destination: C2HData into the host's buffer,
 * H2CData into the buffer the controller passed to `receiveControllerData`; in-capsule data is
 * the one payload that gets its own allocation. A protocol violation sends a TermReq with the
 * FES and FEI and ends the connection; a received TermReq ends it with a typed error.
 *
 * Transmit: PDU headers are written into a staging buffer, data buffers are queued by reference,
 * and everything queued in one turn of the event loop goes out in one batched write.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import {
  AddressFamily,
  CAPSULE_CMD_SQE,
  CAPSULE_RESP_CQE,
  CH_FLAGS,
  CH_SIZE,
  checkPduHeader,
  type CommonHeader,
  CQE_CID,
  CQE_SIZE,
  CQE_SQHD,
  CQE_SQID,
  CQE_STATUS,
  crc32c,
  crc32cRange,
  DATA_CCCID,
  DATA_DATAL,
  DATA_DATAO,
  DATA_TTAG,
  type DataHeader,
  Fes,
  fesName,
  GenericStatus,
  NvmeStatusError,
  PDU_DIGEST_SIZE,
  PduFlags,
  PduHeaderLength,
  type PduLimits,
  type PduOptions,
  PduType,
  type R2t,
  R2T_CCCID,
  R2T_R2TL,
  R2T_R2TO,
  R2T_TTAG,
  readCommonHeader,
  SQE_SIZE,
  sqeCid,
  SQHD_FLOW_CONTROL_DISABLED,
  StatusCodeType,
  statusOf,
  TCP_TERM_REQ_MAX_DATA,
  TERMREQ_FEI,
  TERMREQ_FES,
  writeCapsuleCmdHeader,
  writeCapsuleResp,
  writeCommonHeader,
  writeDataHeader,
  writeR2t,
} from "@nvmf/proto";
import {
  type Association,
  type Capsule,
  type CommandCapsule,
  QueuePairClosedError,
  type QueuePairHandoff,
  type SendOutcome,
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
import { TcpCarrier, type TcpNegotiated } from "./handoff.ts";
import { type PduReader, TruncatedStreamError } from "./reader.ts";
import type { ByteStream } from "./stream.ts";

/** Largest data payload of one PDU we send (FreeBSD's tcp_max_transmit_data). */
const MAX_TX_DATA = 256 * 1024;
/**
 * Data up to this size is copied into the staging buffer when queued rather than queued by
 * reference: a batch then goes out as one buffer, with no second copy to gather it, and the
 * caller may reuse the data at once (sendControllerData settles without waiting for the write).
 */
const COPY_DATA_LIMIT = 32 * 1024;
/**
 * First size of a staging buffer. A batch that outgrows its buffer goes on in another of the
 * same size; the buffers after it are sized to the largest batch seen plus a quarter (in
 * 16 KiB steps, up to STAGE_MAX), so that a connection under load keeps two buffers of about
 * its batch size, not of the next power of two.
 */
const STAGE_SIZE = 16 * 1024;
const STAGE_MAX = 256 * 1024;
/**
 * Staging buffers are shared by the queue pairs of the process: a queue pair takes one when it
 * queues the first PDU of a batch and gives it back once the batch is written, so an idle
 * connection holds none and the process holds about as many as batches were ever gathered at
 * once, not two for every connection (64 connections at QD 32 kept 2 x 176 KiB each). At most
 * this many bytes wait in the pool.
 */
const STAGE_POOL_BYTES = 16 * 1024 * 1024;
const stagePool: Uint8Array<ArrayBuffer>[] = [];
let stagePoolBytes = 0;
const NO_STAGE = new Uint8Array(0);
const NO_STAGE_VIEW = new DataView(NO_STAGE.buffer);

/** A staging buffer of at least `size` bytes (and at most twice that) from the pool, or new. */
function takeStage(size: number): Uint8Array<ArrayBuffer> {
  let best = -1;
  for (let i = 0; i < stagePool.length; i++) {
    const n = stagePool[i].length;
    if (n >= size && n <= 2 * size && (best < 0 || n < stagePool[best].length)) best = i;
  }
  if (best < 0) return new Uint8Array(size);
  const stage = stagePool[best];
  stagePool[best] = stagePool[stagePool.length - 1];
  stagePool.pop();
  stagePoolBytes -= stage.length;
  return stage;
}

/** Returns a staging buffer nothing refers to any more. */
function giveStage(stage: Uint8Array<ArrayBuffer>): void {
  if (stage.length === 0 || stagePoolBytes + stage.length > STAGE_POOL_BYTES) return;
  stagePool.push(stage);
  stagePoolBytes += stage.length;
}
/** sendControllerData's outcomes when the data was copied: settled, shared by every call. */
const SENT: Promise<SendOutcome> = Promise.resolve("sent");
const MORE: Promise<SendOutcome> = Promise.resolve("more");
const SUCCESS_SENT: Promise<SendOutcome> = Promise.resolve("success-sent");
/** Received SQEs, CQEs and small in-capsule data are copied out into slabs of this size. */
const SLAB_SIZE = 4096;
/** In-capsule data above this size gets a pooled buffer rather than a slab slice. */
const SLAB_TAKE_LIMIT = SLAB_SIZE / 4;
/** Pooled in-capsule data buffers come in multiples of this size. */
const ICD_CLASS = 4096;
/** Most bytes of free in-capsule data buffers a controller queue pair keeps. */
const ICD_POOL_BYTES = 256 * 1024;
const EMPTY = new Uint8Array(0);
const TTAG_LIMIT = 0xffff;
const DATA_TRANSFER_ERROR = statusOf(
  StatusCodeType.GENERIC,
  GenericStatus.DATA_TRANSFER_ERROR,
);
const TRANSIENT_TRANSPORT_ERROR = statusOf(
  StatusCodeType.GENERIC,
  GenericStatus.TRANSIENT_TRANSPORT_ERROR,
);

/** Host: a command in flight that moves data. */
interface HostCommand {
  capsule: CommandCapsule;
  /** C2H bytes received so far (in order). */
  received: number;
  /** Next R2T offset expected. */
  r2tNext: number;
  /** R2Ts whose H2CData is not yet on the wire. */
  activeR2ts: number;
  /** A data digest failed: the command completes with DATA_TRANSFER_ERROR. */
  digestError: boolean;
}

/** Controller: a received command. */
class TcpCommand implements CommandCapsule {
  readonly kind = "command" as const;
  readonly data: undefined = undefined;
  readonly direction: undefined = undefined;
  readonly sqe: Uint8Array;
  /** In-capsule data (empty when none, and once the command's response was sent). */
  icd: Uint8Array;
  /** The pooled buffer `icd` is a view of, returned to the pool with the response. */
  pooled: Uint8Array | undefined = undefined;
  /** Its pooled buffer went back with the response: the in-capsule data is gone. */
  released = false;
  readonly from: TcpQueuePair;
  /** R2Ts with a transfer tag, for MAXR2T. */
  activeR2ts = 0;
  /** Where the next C2H data must start. */
  c2hNext = 0;

  constructor(sqe: Uint8Array, icd: Uint8Array, from: TcpQueuePair) {
    this.sqe = sqe;
    this.icd = icd;
    this.from = from;
  }
}

/** Controller: a receiveControllerData call served by R2T. */
interface R2tRequest {
  command: TcpCommand;
  cid: number;
  ttag: number;
  /** Offset in the command's data. */
  offset: number;
  into: Uint8Array;
  received: number;
  digestError: boolean;
  resolve(): void;
  reject(e: Error): void;
}

/** How a {@linkcode TcpQueuePair} starts (see `BaseQueuePairInit` in `@nvmf/transport`). */
export interface TcpQueuePairInit {
  /** Controller side? */
  controller: boolean;
  /** Admin queue? (A controller learns it at Connect.) */
  admin: boolean;
  /** Queue ID, when known. */
  qid?: number;
  /** Queue size in entries; 0 on a controller until Connect. */
  qsize: number;
  /** Whether SQ flow control is in force. */
  sqFlowControl: boolean;
  /** Starting SQ head, when continuing a handed-off queue pair. */
  sqhd?: number;
  /** Starting SQ tail, when continuing a handed-off queue pair. */
  sqtail?: number;
  /**
   * When continuing a handed-off connection: the previous owner's receive loop, which must end
   * before this one starts reading (see `TcpQueuePair._detach`).
   */
  after?: Promise<void>;
}

/**
 * One NVMe/TCP connection as a queue pair, host or controller role.
 */
export class TcpQueuePair extends BaseQueuePair {
  readonly #stream: ByteStream;
  readonly #reader: PduReader;
  readonly #tcp: TcpNegotiated;
  readonly #opts: PduOptions;
  readonly #limits: PduLimits;
  readonly #ch: CommonHeader = { pduType: 0, flags: 0, hlen: 0, pdo: 0, plen: 0 };
  readonly #dataHeader: DataHeader = {
    type: PduType.C2H_DATA,
    cccid: 0,
    ttag: 0,
    datao: 0,
    datal: 0,
    last: false,
    success: false,
  };
  readonly #r2t: R2t = { type: PduType.R2T, cccid: 0, ttag: 0, r2to: 0, r2tl: 0 };
  readonly #digest = new Uint8Array(PDU_DIGEST_SIZE);
  readonly #digestView = new DataView(this.#digest.buffer);
  // Receive slab: capsules handed to the consumer are views into it (one ArrayBuffer per
  // SLAB_SIZE bytes instead of one per capsule; ArrayBuffer allocation costs ~0.3 us in V8).
  #slab = new Uint8Array(SLAB_SIZE);
  #slabUsed = 0;

  // Host state.
  readonly #commands = new Map<number, HostCommand>();
  // Controller state.
  /** Commands holding a pooled in-capsule data buffer, by CID, until their response. */
  readonly #pooledByCid: (TcpCommand | undefined)[] = [];
  /** Free in-capsule data buffers: list k holds buffers of (k + 1) * ICD_CLASS bytes. */
  readonly #icdPool: Uint8Array[][] = [];
  #icdPoolBytes = 0;
  readonly #ttags: (R2tRequest | undefined)[] = [];
  #nextTtag = 0;
  #activeTtags = 0;
  readonly #waitingR2ts: R2tRequest[] = [];

  // Transmit state: a staging buffer (from the pool) gathers a batch while the last is written.
  #stage: Uint8Array<ArrayBuffer> = NO_STAGE;
  #stageView = NO_STAGE_VIEW;
  /** Size of the next staging buffer: the largest batch seen and a quarter (16 KiB steps). */
  #want = STAGE_SIZE;
  #stageStart = 0;
  #stageUsed = 0;
  /** Bytes staged for the batch being gathered, and the most any batch staged. */
  #staged = 0;
  #largest = 0;
  #chunks: Uint8Array[] = [];
  #batch: Promise<void> | undefined;
  #batchResolve: (() => void) | undefined;
  #batchReject: ((e: Error) => void) | undefined;
  // sendControllerData's outcomes for the batch being gathered: one promise per outcome and
  // batch, not one per call.
  #batchSent: Promise<SendOutcome> | undefined;
  #batchMore: Promise<SendOutcome> | undefined;
  #batchSuccess: Promise<SendOutcome> | undefined;
  #afterBatch: (() => void)[] = [];
  #writing = false;
  #flushQueued = false;
  #microQueued = false;
  /** Controller: commands received and not yet completed (for the urgency of a write). */
  #open = 0;

  /**
   * Wraps an established connection.
   *
   * @param association The association.
   * @param stream The connection, ICReq/ICResp done.
   * @param reader Its reader, holding any bytes already received.
   * @param tcp The negotiated values.
   * @param init Role and queue identity.
   */
  constructor(
    association: Association,
    stream: ByteStream,
    reader: PduReader,
    tcp: TcpNegotiated,
    init: TcpQueuePairInit,
  ) {
    super(association, init);
    this.#stream = stream;
    this.#reader = reader;
    this.#tcp = tcp;
    this.#opts = { hdgst: tcp.headerDigests, ddgst: tcp.dataDigests, pda: tcp.txpda };
    this.#limits = {
      role: init.controller ? "controller" : "host",
      hdgst: tcp.headerDigests,
      ddgst: tcp.dataDigests,
      rxpda: tcp.rxpda,
      // A controller receives in-capsule data and H2CData; a host receives C2HData of any size
      // up to the buffer it gave, which is checked against that buffer per PDU.
      maxDataLength: init.controller
        ? Math.max(
          tcp.maxh2cdata,
          association.maxInCapsuleData(true),
          association.maxInCapsuleData(false),
        )
        : 0xffffffff,
      fei: 0,
    };
    this.#loop = (init.after ?? Promise.resolve()).then(() => this.#receiveLoop());
  }

  readonly #loop: Promise<void>;
  #detaching = false;

  /**
   * Stops using the connection so that another owner can continue it, as FreeBSD's libnvmf
   * hands a queue pair to the kernel: nothing may be in flight (host: no command awaiting its
   * response; controller: no data transfer), queued PDUs are written first, and this queue
   * pair is then done (its `closed` settles with undefined) without closing the socket. Bytes
   * already received stay in the carrier's reader; a read still pending lands there too, and
   * the new owner starts reading once the old read loop has ended.
   *
   * @returns The carrier: the connection, its reader and the state to continue from.
   * @throws {Error} When commands or transfers are still in flight.
   */
  protected async _detach(): Promise<QueuePairHandoff> {
    if (this.#commands.size > 0 || this.#activeTtags > 0 || this.#waitingR2ts.length > 0) {
      throw new Error(
        `Cannot detach the queue pair: ${
          this.#commands.size + this.#activeTtags + this.#waitingR2ts.length
        } transfers are in flight`,
      );
    }
    if (this.#pendingOutput()) await this.#flush();
    if (this.done) throw this._doneError("detach");
    const state = this.state();
    this.#detaching = true;
    this._handedOff();
    return new TcpCarrier(this.association.transport, this.#stream, this.#reader, {
      state,
      negotiated: { ...this.#tcp },
      released: this.#loop.catch(() => {}),
    });
  }

  /** The connection's peer address. */
  get remote(): string {
    return this.#stream.remote;
  }

  /**
   * This end's IP address and port (an IPv4-mapped IPv6 address is given as IPv4). See
   * `QueuePair.localAddress`.
   */
  get localAddress(): TransportAddress {
    const { hostname, port } = this.#stream.local;
    const v4 = hostname.startsWith("::ffff:") && hostname.includes(".");
    const traddr = v4 ? hostname.slice(7) : hostname;
    return {
      traddr,
      trsvcid: String(port),
      adrfam: traddr.includes(":") ? AddressFamily.IPV6 : AddressFamily.IPV4,
    };
  }

  /** The negotiated NVMe/TCP values, named as FreeBSD's qpair handoff list names them. */
  protected _transportState(): Record<string, number | boolean> {
    return {
      rxpda: this.#tcp.rxpda,
      txpda: this.#tcp.txpda,
      headerDigests: this.#tcp.headerDigests,
      dataDigests: this.#tcp.dataDigests,
      maxr2t: this.#tcp.maxr2t,
      maxh2cdata: this.#tcp.maxh2cdata,
      maxIcd: this.maxInCapsuleData,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Transmit

  /** Space for `n` bytes in the staging buffer: a bigger one when the batch outgrew it. */
  #reserve(n: number): number {
    if (this.#stage.length - this.#stageUsed < n) {
      this.#seal();
      // A buffer with chunks queued goes out with the batch; an unused one goes back.
      if (this.#stageUsed === 0) giveStage(this.#stage);
      this.#stage = takeStage(Math.max(n, this.#want, this.#stage.length));
      this.#stageView = new DataView(this.#stage.buffer);
      this.#stageStart = 0;
      this.#stageUsed = 0;
    }
    return this.#stageUsed;
  }

  #seal(): void {
    if (this.#stageUsed > this.#stageStart) {
      this.#chunks.push(this.#stage.subarray(this.#stageStart, this.#stageUsed));
      this.#staged += this.#stageUsed - this.#stageStart;
      this.#stageStart = this.#stageUsed;
    }
  }

  /** Queues a data payload (and its digest when data digests are on). */
  #queueData(data: Uint8Array): void {
    if (data.length <= COPY_DATA_LIMIT) {
      const at = this.#reserve(data.length + PDU_DIGEST_SIZE);
      this.#stage.set(data, at);
      this.#stageUsed = at + data.length;
    } else {
      this.#seal();
      this.#chunks.push(data);
    }
    if (this.#tcp.dataDigests) {
      const at = this.#reserve(PDU_DIGEST_SIZE);
      this.#stageView.setUint32(at, crc32c(data), true);
      this.#stageUsed = at + PDU_DIGEST_SIZE;
    }
  }

  /** Whether PDUs are queued or being written. */
  #pendingOutput(): boolean {
    return this.#flushQueued || this.#microQueued || this.#writing || this.#batch !== undefined;
  }

  /**
   * Schedules the write of what is queued: once per turn of the event loop, so that everything
   * queued in the turn goes out in one write. `urgent` (nothing else is in flight, so nothing
   * more will join the batch) writes at the end of the current microtask instead, saving the
   * turn's latency at queue depth 1.
   */
  #schedule(urgent: boolean): void {
    if (this.#writing) return; // the write loop takes what is queued meanwhile
    if (urgent) {
      if (!this.#microQueued) {
        this.#microQueued = true;
        queueMicrotask(this.#onMicrotask);
      }
    } else if (!this.#flushQueued && !this.#microQueued) {
      this.#flushQueued = true;
      setImmediate(this.#onImmediate);
    }
  }

  readonly #onImmediate = (): void => {
    this.#flushQueued = false;
    if (!this.#writing) this.#write();
  };

  readonly #onMicrotask = (): void => {
    this.#microQueued = false;
    if (!this.#writing) this.#write();
  };

  /** Host: true when the command just queued is the only one in flight. */
  #hostAlone(): boolean {
    return this.#commands.size <= 1;
  }

  /** Controller: a command completed; true when no other is open. */
  #completed(): boolean {
    if (this.#open > 0) this.#open--;
    return this.#open === 0;
  }

  /** The promise of the batch being gathered; schedules its write. */
  #flush(urgent = false): Promise<void> {
    if (this.#batch === undefined) {
      this.#batch = new Promise<void>((resolve, reject) => {
        this.#batchResolve = resolve;
        this.#batchReject = reject;
      });
    }
    this.#schedule(urgent);
    return this.#batch;
  }

  async #write(): Promise<void> {
    while (this.#chunks.length > 0 || this.#stageUsed > this.#stageStart) {
      this.#seal();
      const chunks = this.#chunks;
      const resolve = this.#batchResolve;
      const reject = this.#batchReject;
      const after = this.#afterBatch;
      this.#chunks = [];
      this.#afterBatch = [];
      this.#batch = undefined;
      this.#batchResolve = undefined;
      this.#batchReject = undefined;
      this.#batchSent = undefined;
      this.#batchMore = undefined;
      this.#batchSuccess = undefined;
      // The next batch's buffer is sized to the largest batch seen.
      if (this.#staged > this.#largest) this.#largest = this.#staged;
      this.#staged = 0;
      this.#want = Math.min(
        STAGE_MAX,
        Math.max(STAGE_SIZE, (this.#largest + (this.#largest >>> 2) + 0x3fff) & ~0x3fff),
      );
      // The next batch takes a buffer when it queues its first PDU.
      const written = this.#stage;
      this.#stage = NO_STAGE;
      this.#stageView = NO_STAGE_VIEW;
      this.#stageStart = 0;
      this.#stageUsed = 0;
      this.#writing = true;
      try {
        await this.#stream.writev(chunks);
      } catch (e) {
        this.#writing = false;
        const error = new TransportError(
          `Cannot send on the NVMe/TCP connection to ${this.#stream.remote}: ${
            (e as Error).message
          }`,
          "connection",
          { cause: e },
        );
        reject?.(error);
        this._fail(error);
        return;
      }
      this.#writing = false;
      giveStage(written);
      for (const f of after) f();
      resolve?.();
    }
    // Someone asked for the promise of a batch with nothing in it.
    const resolve = this.#batchResolve;
    if (resolve !== undefined) {
      this.#batch = undefined;
      this.#batchResolve = undefined;
      this.#batchReject = undefined;
      resolve();
    }
  }

  /** Queues a capsule's PDU (and in-capsule data) for the next batched write. */
  protected _transmit(capsule: Capsule): Promise<void> {
    if (capsule.kind === "response") {
      const cqe = capsule.cqe;
      const at = this.#reserve(PduHeaderLength.CAPSULE_RESP + PDU_DIGEST_SIZE);
      this.#stageUsed = at + writeCapsuleResp(this.#stageView, at, cqe, this.#opts);
      const done = this.#pooledByCid[cqe[CQE_CID] | (cqe[CQE_CID + 1] << 8)];
      if (done !== undefined) this.#release(done);
      return this.#flush(this.controller && this.#completed());
    }
    const sqe = capsule.sqe;
    const cid = sqeCid(sqe);
    if (this.#commands.has(cid)) {
      return Promise.reject(
        new RangeError(`Cannot transmit command ${cid}: a command with that CID is in flight`),
      );
    }
    const data = capsule.data;
    const length = data?.length ?? 0;
    const inCapsule = prepareCommandSgl(sqe, length, capsule.direction, this.maxInCapsuleData);
    this.#commands.set(cid, {
      capsule,
      received: 0,
      r2tNext: 0,
      activeR2ts: 0,
      digestError: false,
    });
    const at = this.#reserve(PduHeaderLength.CAPSULE_CMD + PDU_DIGEST_SIZE + 128);
    this.#stageUsed = at +
      writeCapsuleCmdHeader(this.#stageView, at, sqe, inCapsule ? length : 0, this.#opts);
    if (inCapsule) this.#queueData(data!);
    return this.#flush(this.#hostAlone());
  }

  // -------------------------------------------------------------------------------------------
  // Controller data movement

  #command(command: CommandCapsule, what: string): TcpCommand {
    if (!this.controller) throw new TypeError(`Cannot ${what} on a host queue pair`);
    if (!(command instanceof TcpCommand) || command.from !== this) {
      throw new TypeError(`Cannot ${what}: the command was not received on this queue pair`);
    }
    if (this.done) throw this._doneError(what);
    return command;
  }

  /** Controller: the command's SGL length. See `QueuePair.capsuleDataLength`. */
  capsuleDataLength(command: CommandCapsule): number {
    return commandSglLength(this.#command(command, "read the data length").sqe);
  }

  /** Controller: checks the SGL against the in-capsule data received. */
  validateCommandCapsule(command: CommandCapsule): number {
    const cmd = this.#command(command, "validate a command");
    return validateCommandSgl(cmd.sqe, cmd.icd.length);
  }

  /**
   * Controller: copies in-capsule data, or sends an R2T and receives the host's H2CData straight
   * into `into`. At most MAXR2T R2Ts per command are outstanding; more calls wait their turn.
   * Rejects with `NvmeStatusError` (TRANSIENT_TRANSPORT_ERROR) on a data digest error.
   */
  receiveControllerData(command: CommandCapsule, offset: number, into: Uint8Array): Promise<void> {
    let cmd: TcpCommand;
    try {
      cmd = this.#command(command, "receive controller data");
      checkRange(cmd, offset, into.length);
    } catch (e) {
      return Promise.reject(e);
    }
    if (into.length === 0) return Promise.resolve();
    if (isInCapsuleCommand(cmd.sqe)) {
      into.set(cmd.icd.subarray(offset, offset + into.length));
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const request: R2tRequest = {
        command: cmd,
        cid: sqeCid(cmd.sqe),
        ttag: 0,
        offset,
        into,
        received: 0,
        digestError: false,
        resolve,
        reject,
      };
      if (
        cmd.activeR2ts >= this.#tcp.maxr2t || this.#activeTtags >= this.qsize * this.#tcp.maxr2t
      ) {
        this.#waitingR2ts.push(request);
      } else {
        this.#sendR2t(request);
      }
    });
  }

  #sendR2t(request: R2tRequest): void {
    let ttag = this.#nextTtag;
    while (this.#ttags[ttag] !== undefined) ttag = (ttag + 1) % TTAG_LIMIT;
    this.#nextTtag = (ttag + 1) % TTAG_LIMIT;
    this.#ttags[ttag] = request;
    this.#activeTtags++;
    request.command.activeR2ts++;
    request.ttag = ttag;
    const r2t = this.#r2t;
    r2t.cccid = request.cid;
    r2t.ttag = ttag;
    r2t.r2to = request.offset;
    r2t.r2tl = request.into.length;
    const at = this.#reserve(PduHeaderLength.R2T + PDU_DIGEST_SIZE);
    this.#stageUsed = at + writeR2t(this.#stageView, at, r2t, this.#opts);
    this.#schedule(this.#open <= 1);
  }

  /** Releases a transfer tag and starts a waiting R2T if one may go. */
  #finishR2t(request: R2tRequest): void {
    this.#ttags[request.ttag] = undefined;
    this.#activeTtags--;
    request.command.activeR2ts--;
    for (let i = 0; i < this.#waitingR2ts.length; i++) {
      const next = this.#waitingR2ts[i];
      if (next.command.activeR2ts < this.#tcp.maxr2t) {
        this.#waitingR2ts.splice(i, 1);
        this.#sendR2t(next);
        break;
      }
    }
    if (request.digestError) {
      request.reject(
        new NvmeStatusError(TRANSIENT_TRANSPORT_ERROR, {
          cid: request.cid,
          message: `Data digest error in H2CData for command ${request.cid}`,
        }),
      );
    } else {
      request.resolve();
    }
  }

  /**
   * Controller: sends `data` as C2HData PDUs (at most 256 KiB each) at `offset`, in order;
   * with `last` and SQ flow control disabled the final PDU carries SUCCESS. Settles once the
   * data has been written, so the caller may reuse `data` then.
   */
  sendControllerData(
    command: CommandCapsule,
    offset: number,
    data: Uint8Array,
    last: boolean,
  ): Promise<SendOutcome> {
    let cmd: TcpCommand;
    try {
      cmd = this.#command(command, "send controller data");
      checkRange(cmd, offset, data.length);
      if (isInCapsuleCommand(cmd.sqe)) {
        throw new NvmeStatusError(
          statusOf(StatusCodeType.GENERIC, GenericStatus.INVALID_FIELD_IN_COMMAND),
          { cid: sqeCid(cmd.sqe), message: "Cannot send data to the host for an in-capsule SGL" },
        );
      }
      if (offset !== cmd.c2hNext) {
        throw new RangeError(
          `Cannot send controller data at offset ${offset}: NVMe/TCP sends it in order, next is ${cmd.c2hNext}`,
        );
      }
    } catch (e) {
      return Promise.reject(e);
    }
    const cid = sqeCid(cmd.sqe);
    const success = last && !this.sqFlowControl;
    const h = this.#dataHeader;
    h.type = PduType.C2H_DATA;
    h.cccid = cid;
    h.ttag = 0;
    let at = 0;
    do {
      const n = Math.min(MAX_TX_DATA, data.length - at);
      const final = at + n === data.length;
      h.datao = offset + at;
      h.datal = n;
      h.last = last && final;
      h.success = success && final;
      const where = this.#reserve(PduHeaderLength.C2H_DATA + PDU_DIGEST_SIZE + 128);
      this.#stageUsed = where + writeDataHeader(this.#stageView, where, h, this.#opts);
      if (n > 0) this.#queueData(n === data.length ? data : data.subarray(at, at + n));
      at += n;
    } while (at < data.length);
    cmd.c2hNext = offset + data.length;
    // With SUCCESS the command is complete; otherwise a CQE or more data is to follow.
    const urgent = success && this.#completed();
    if (data.length <= COPY_DATA_LIMIT) {
      // Copied into the staging buffer: the caller may reuse `data` now, and its CQE joins
      // this batch, after the data.
      this.#schedule(urgent);
      return !last ? MORE : success ? SUCCESS_SENT : SENT;
    }
    const batch = this.#flush(urgent);
    if (!last) return this.#batchMore ??= batch.then(() => "more");
    if (success) return this.#batchSuccess ??= batch.then(() => "success-sent");
    return this.#batchSent ??= batch.then(() => "sent");
  }

  // -------------------------------------------------------------------------------------------
  // Receive

  async #receiveLoop(): Promise<void> {
    const r = this.#reader;
    const ch = this.#ch;
    try {
      for (;;) {
        if (r.available < CH_SIZE && !(await r.fill(CH_SIZE))) {
          if (!this.#detaching) this._peerClosed();
          return;
        }
        if (this.#detaching) return; // what arrived is the next owner's
        readCommonHeader(r.view, r.start, ch);
        const fes = checkPduHeader(ch, this.#limits);
        if (fes !== 0) {
          if (ch.pduType === PduType.H2C_TERM_REQ || ch.pduType === PduType.C2H_TERM_REQ) {
            // A malformed TermReq is not answered (NVMe/TCP 3.6.2.4).
            this.#end(
              new TransportError(`Received a malformed TermReq from ${this.remote}`, "termreq"),
            );
          } else {
            await this.#terminate(fes, this.#limits.fei, "Received an invalid PDU header");
          }
          return;
        }
        // Header, header digest and padding: everything before the data.
        const headerLength = ch.pdo !== 0 ? ch.pdo : ch.plen;
        if (r.available < headerLength && !(await r.fill(headerLength))) {
          throw new TruncatedStreamError("Connection closed in the middle of a PDU header");
        }
        if ((ch.flags & PduFlags.HDGSTF) !== 0) {
          const want = r.view.getUint32(r.start + ch.hlen, true);
          if (crc32cRange(r.buf, r.start, r.start + ch.hlen) !== want) {
            await this.#terminate(Fes.HEADER_DIGEST_ERROR, 0, "Header digest mismatch");
            return;
          }
        }
        const dataLength = ch.pdo === 0
          ? 0
          : ch.plen - ch.pdo - ((ch.flags & PduFlags.DDGSTF) !== 0 ? PDU_DIGEST_SIZE : 0);
        // Handlers finish synchronously when the whole PDU is buffered (the usual case) and
        // return a promise only when they must wait for more bytes.
        let ok: boolean | Promise<boolean>;
        switch (ch.pduType) {
          case PduType.CAPSULE_RESP:
            ok = this.#onCapsuleResp(headerLength);
            break;
          case PduType.C2H_DATA:
            ok = this.#onC2hData(headerLength, dataLength);
            break;
          case PduType.R2T:
            ok = this.#onR2t(headerLength);
            break;
          case PduType.CAPSULE_CMD:
            ok = this.#onCapsuleCmd(headerLength, dataLength);
            break;
          case PduType.H2C_DATA:
            ok = this.#onH2cData(headerLength, dataLength);
            break;
          default: // a TermReq; checkPduHeader let no other type through
            this.#onTermReq();
            return;
        }
        if (ok !== true && (ok === false || !(await ok))) return;
        if (this.done) return;
      }
    } catch (e) {
      if (this.done) return;
      const message = e instanceof TruncatedStreamError
        ? `${e.message} (from ${this.remote})`
        : `Cannot receive on the NVMe/TCP connection to ${this.remote}: ${(e as Error).message}`;
      this.#end(new TransportError(message, "connection", { cause: e }));
    }
  }

  /** Reads and checks a data digest after `data`; true when it matches. */
  async #checkDataDigest(data: Uint8Array): Promise<boolean> {
    if ((this.#ch.flags & PduFlags.DDGSTF) === 0) return true;
    await this.#reader.readInto(this.#digest);
    return this.#digestView.getUint32(0, true) === crc32c(data);
  }

  /** The data digest's size in the current PDU: 4 with DDGSTF, else 0. */
  #dataDigestSize(): number {
    return (this.#ch.flags & PduFlags.DDGSTF) !== 0 ? PDU_DIGEST_SIZE : 0;
  }

  /**
   * Consumes `dest.length` data bytes and the data digest, if any, when all are buffered.
   *
   * @returns 1 when the digest matched or there was none, 0 when it did not, -1 when the bytes
   *   are not all buffered (nothing consumed).
   */
  #takeData(dest: Uint8Array): number {
    const r = this.#reader;
    const digest = this.#dataDigestSize();
    if (r.available < dest.length + digest) return -1;
    r.take(dest);
    if (digest === 0) return 1;
    const want = r.view.getUint32(r.start, true);
    r.start += PDU_DIGEST_SIZE;
    return want === crc32c(dest) ? 1 : 0;
  }

  /**
   * Room for `n` bytes of in-capsule data of a command: a slab slice when small, else a view of
   * a pooled buffer that comes back when the command's response is sent (the data is not
   * reachable after that: `receiveControllerData` rejects).
   */
  #takeIcd(n: number, sqe: Uint8Array): { icd: Uint8Array; pooled: Uint8Array | undefined } {
    const cid = sqeCid(sqe);
    // A CID reused while in flight (a host error) gets a buffer of its own.
    if (n <= SLAB_TAKE_LIMIT || this.#pooledByCid[cid] !== undefined) {
      return { icd: this.#take(n), pooled: undefined };
    }
    const k = Math.ceil(n / ICD_CLASS) - 1;
    const free = this.#icdPool[k];
    let pooled = free?.pop();
    if (pooled !== undefined) this.#icdPoolBytes -= pooled.length;
    else pooled = new Uint8Array((k + 1) * ICD_CLASS);
    return { icd: pooled.length === n ? pooled : pooled.subarray(0, n), pooled };
  }

  /** A command's response went out: its pooled in-capsule data buffer can serve another. */
  #release(cmd: TcpCommand): void {
    const pooled = cmd.pooled!;
    this.#pooledByCid[sqeCid(cmd.sqe)] = undefined;
    cmd.pooled = undefined;
    cmd.icd = EMPTY;
    cmd.released = true;
    if (this.#icdPoolBytes + pooled.length > ICD_POOL_BYTES) return;
    const k = pooled.length / ICD_CLASS - 1;
    (this.#icdPool[k] ??= []).push(pooled);
    this.#icdPoolBytes += pooled.length;
  }

  /** `n` fresh bytes for the consumer: a slab slice, or their own buffer when large. */
  #take(n: number): Uint8Array {
    if (n > SLAB_TAKE_LIMIT) return new Uint8Array(n);
    if (this.#slabUsed + n > SLAB_SIZE) {
      this.#slab = new Uint8Array(SLAB_SIZE);
      this.#slabUsed = 0;
    }
    const out = this.#slab.subarray(this.#slabUsed, this.#slabUsed + n);
    this.#slabUsed += (n + 7) & ~7;
    return out;
  }

  /** Copies `n` received bytes at `at` out of the receive buffer. */
  #copyOut(at: number, n: number): Uint8Array {
    const out = this.#take(n);
    out.set(this.#reader.buf.subarray(at, at + n));
    return out;
  }

  #onCapsuleResp(headerLength: number): boolean | Promise<boolean> {
    const r = this.#reader;
    const at = r.start + CAPSULE_RESP_CQE;
    const cid = r.view.getUint16(at + CQE_CID, true);
    const cmd = this.#commands.get(cid);
    if (cmd === undefined) {
      // Linux's host treats a completion it cannot match as a transport error and recovers.
      return this.#terminate(
        Fes.INVALID_PDU_HEADER_FIELD,
        CAPSULE_RESP_CQE + CQE_CID,
        `CapsuleResp for CID ${cid}, which has no command outstanding`,
      );
    }
    const cqe = this.#copyOut(at, CQE_SIZE);
    r.start += headerLength;
    this.#commands.delete(cid);
    if (cmd.digestError) {
      new DataView(cqe.buffer, cqe.byteOffset, CQE_SIZE).setUint16(
        CQE_STATUS,
        DATA_TRANSFER_ERROR,
        true,
      );
      this._deliver({ kind: "response", cqe });
    } else {
      this._deliver(checkTransfer(cmd.capsule, moved(cmd), { kind: "response", cqe }));
    }
    return true;
  }

  #onC2hData(headerLength: number, dataLength: number): boolean | Promise<boolean> {
    const r = this.#reader;
    const v = r.view;
    const base = r.start;
    const cid = v.getUint16(base + DATA_CCCID, true);
    const datao = v.getUint32(base + DATA_DATAO, true);
    const datal = v.getUint32(base + DATA_DATAL, true);
    const cmd = this.#commands.get(cid);
    const buffer = cmd?.capsule.direction === "controller-to-host" ? cmd.capsule.data : undefined;
    if (buffer === undefined) {
      return this.#terminate(
        Fes.INVALID_PDU_HEADER_FIELD,
        DATA_CCCID,
        `C2HData for command ${cid}, which expects no data from the controller`,
      );
    }
    if (datal !== dataLength) {
      return this.#terminate(
        Fes.INVALID_PDU_HEADER_FIELD,
        DATA_DATAL,
        "DATAL does not match PLEN",
      );
    }
    const flags = this.#ch.flags;
    if ((flags & PduFlags.SUCCESS) !== 0) {
      // TCP 3.6.4.1: SUCCESS only on the last PDU, and only without SQ flow control (a CQE
      // carries the SQHD the host needs otherwise); Linux's host refuses it the same way.
      if ((flags & PduFlags.LAST_PDU) === 0 || this.sqFlowControl) {
        return this.#terminate(
          Fes.INVALID_PDU_HEADER_FIELD,
          CH_FLAGS,
          (flags & PduFlags.LAST_PDU) === 0
            ? `C2HData with SUCCESS but not LAST_PDU for command ${cid}`
            : `C2HData with SUCCESS for command ${cid} while SQ flow control is on`,
        );
      }
    }
    if (datao + datal > buffer.length) {
      return this.#terminate(
        Fes.DATA_TRANSFER_OUT_OF_RANGE,
        0,
        `C2HData at ${datao}+${datal} beyond the ${buffer.length}-byte buffer of command ${cid}`,
      );
    }
    if (datao !== cmd!.received) {
      return this.#terminate(
        Fes.PDU_SEQUENCE_ERROR,
        0,
        `C2HData at offset ${datao} where ${cmd!.received} was next`,
      );
    }
    r.start += headerLength;
    const dest = datao === 0 && datal === buffer.length
      ? buffer
      : buffer.subarray(datao, datao + datal);
    const got = this.#takeData(dest);
    if (got < 0) return this.#c2hDataRest(cmd!, cid, dest);
    if (got === 0) cmd!.digestError = true;
    return this.#c2hDataDone(cmd!, cid, datal);
  }

  /** The rest of a C2HData PDU whose data is not all buffered yet. */
  async #c2hDataRest(cmd: HostCommand, cid: number, dest: Uint8Array): Promise<boolean> {
    await this.#reader.readInto(dest);
    if (!(await this.#checkDataDigest(dest))) cmd.digestError = true;
    return this.#c2hDataDone(cmd, cid, dest.length);
  }

  #c2hDataDone(cmd: HostCommand, cid: number, datal: number): boolean {
    cmd.received += datal;
    if ((this.#ch.flags & PduFlags.SUCCESS) !== 0) {
      // The controller completed the command without a CapsuleResp: make its CQE.
      this.#commands.delete(cid);
      const cqe = this.#take(CQE_SIZE);
      cqe.fill(0);
      const cv = new DataView(cqe.buffer, cqe.byteOffset, CQE_SIZE);
      cv.setUint16(CQE_CID, cid, true);
      cv.setUint16(CQE_SQID, this.qid ?? 0, true);
      cv.setUint16(CQE_SQHD, SQHD_FLOW_CONTROL_DISABLED, true);
      if (cmd.digestError) {
        cv.setUint16(CQE_STATUS, DATA_TRANSFER_ERROR, true);
        this._deliver({ kind: "response", cqe });
      } else {
        this._deliver(checkTransfer(cmd.capsule, cmd.received, { kind: "response", cqe }));
      }
    }
    return true;
  }

  #onR2t(headerLength: number): boolean | Promise<boolean> {
    const r = this.#reader;
    const v = r.view;
    const base = r.start;
    const cid = v.getUint16(base + R2T_CCCID, true);
    const ttag = v.getUint16(base + R2T_TTAG, true);
    const r2to = v.getUint32(base + R2T_R2TO, true);
    const r2tl = v.getUint32(base + R2T_R2TL, true);
    const cmd = this.#commands.get(cid);
    const data = cmd?.capsule.direction === "host-to-controller" ? cmd.capsule.data : undefined;
    if (data === undefined || isInCapsuleCommand(cmd!.capsule.sqe)) {
      return this.#terminate(
        Fes.INVALID_PDU_HEADER_FIELD,
        R2T_CCCID,
        `R2T for command ${cid}, which has no data to fetch`,
      );
    }
    if (r2to !== cmd!.r2tNext) {
      return this.#terminate(
        Fes.PDU_SEQUENCE_ERROR,
        0,
        `R2T for offset ${r2to} where ${cmd!.r2tNext} was next`,
      );
    }
    if (r2tl === 0 || r2to + r2tl > data.length) {
      return this.#terminate(
        Fes.DATA_TRANSFER_OUT_OF_RANGE,
        0,
        `R2T for ${r2to}+${r2tl} beyond the ${data.length}-byte buffer of command ${cid}`,
      );
    }
    if (cmd!.activeR2ts >= this.#tcp.maxr2t) {
      return this.#terminate(
        Fes.DATA_TRANSFER_LIMIT_EXCEEDED,
        0,
        `More than MAXR2T ${this.#tcp.maxr2t} R2Ts outstanding for command ${cid}`,
      );
    }
    r.start += headerLength;
    cmd!.r2tNext = r2to + r2tl;
    cmd!.activeR2ts++;
    const h = this.#dataHeader;
    h.type = PduType.H2C_DATA;
    h.cccid = cid;
    h.ttag = ttag;
    h.success = false;
    // One H2CData PDU per MAXH2CDATA, as Linux's host sends them: Linux 6.1's target checks a
    // data digest against the whole R2T's data, so smaller PDUs fail there with digests on.
    const chunk = this.#tcp.maxh2cdata;
    for (let at = 0; at < r2tl; at += chunk) {
      const n = Math.min(chunk, r2tl - at);
      h.datao = r2to + at;
      h.datal = n;
      h.last = at + n === r2tl;
      const where = this.#reserve(PduHeaderLength.H2C_DATA + PDU_DIGEST_SIZE + 128);
      this.#stageUsed = where + writeDataHeader(this.#stageView, where, h, this.#opts);
      this.#queueData(data.subarray(r2to + at, r2to + at + n));
    }
    this.#afterBatch.push(() => cmd!.activeR2ts--);
    this.#schedule(this.#hostAlone());
    return true;
  }

  #onCapsuleCmd(headerLength: number, dataLength: number): boolean | Promise<boolean> {
    const r = this.#reader;
    if (dataLength > this.maxInCapsuleData) {
      return this.#terminate(
        Fes.DATA_TRANSFER_LIMIT_EXCEEDED,
        0,
        `In-capsule data of ${dataLength} bytes exceeds the ${this.maxInCapsuleData} allowed`,
      );
    }
    const at = r.start + CAPSULE_CMD_SQE;
    const sqe = this.#copyOut(at, SQE_SIZE);
    r.start += headerLength;
    if (dataLength === 0) {
      this.#open++;
      this._deliver(new TcpCommand(sqe, EMPTY, this));
      return true;
    }
    const { icd, pooled } = this.#takeIcd(dataLength, sqe);
    const got = this.#takeData(icd);
    if (got < 0) return this.#capsuleCmdRest(sqe, icd, pooled);
    return this.#capsuleCmdDone(sqe, icd, pooled, got === 1);
  }

  /** The rest of a CapsuleCmd PDU whose in-capsule data is not all buffered yet. */
  async #capsuleCmdRest(
    sqe: Uint8Array,
    icd: Uint8Array,
    pooled: Uint8Array | undefined,
  ): Promise<boolean> {
    await this.#reader.readInto(icd);
    return this.#capsuleCmdDone(sqe, icd, pooled, await this.#checkDataDigest(icd));
  }

  #capsuleCmdDone(
    sqe: Uint8Array,
    icd: Uint8Array,
    pooled: Uint8Array | undefined,
    digestOk: boolean,
  ): boolean {
    this.#open++;
    if (!digestOk) {
      // NVMe/TCP 3.6.4.2: a data digest error fails the command, not the connection.
      const cqe = new Uint8Array(CQE_SIZE);
      const cv = new DataView(cqe.buffer);
      cv.setUint16(CQE_CID, sqeCid(sqe), true);
      cv.setUint16(CQE_SQID, this.qid ?? 0, true);
      cv.setUint16(CQE_STATUS, TRANSIENT_TRANSPORT_ERROR, true);
      this.transmit({ kind: "response", cqe }).catch(() => {});
      return true;
    }
    const cmd = new TcpCommand(sqe, icd, this);
    if (pooled !== undefined) {
      cmd.pooled = pooled;
      this.#pooledByCid[sqeCid(sqe)] = cmd;
    }
    this._deliver(cmd);
    return true;
  }

  #onH2cData(headerLength: number, dataLength: number): boolean | Promise<boolean> {
    const r = this.#reader;
    const v = r.view;
    const base = r.start;
    const cid = v.getUint16(base + DATA_CCCID, true);
    const ttag = v.getUint16(base + DATA_TTAG, true);
    const datao = v.getUint32(base + DATA_DATAO, true);
    const datal = v.getUint32(base + DATA_DATAL, true);
    const flags = r.buf[base + CH_FLAGS];
    if (datal > this.#tcp.maxh2cdata) {
      return this.#terminate(
        Fes.DATA_TRANSFER_LIMIT_EXCEEDED,
        0,
        `H2CData of ${datal} bytes exceeds MAXH2CDATA ${this.#tcp.maxh2cdata}`,
      );
    }
    const request = this.#ttags[ttag];
    if (request === undefined) {
      return this.#terminate(
        Fes.INVALID_PDU_HEADER_FIELD,
        DATA_TTAG,
        `H2CData with unknown TTAG ${ttag}`,
      );
    }
    if (request.cid !== cid) {
      return this.#terminate(
        Fes.INVALID_PDU_HEADER_FIELD,
        DATA_CCCID,
        `H2CData for command ${cid} with the TTAG of command ${request.cid}`,
      );
    }
    if (datal !== dataLength) {
      return this.#terminate(
        Fes.INVALID_PDU_HEADER_FIELD,
        DATA_DATAL,
        "DATAL does not match PLEN",
      );
    }
    const end = request.offset + request.into.length;
    if (datao < request.offset || datao + datal > end) {
      return this.#terminate(
        Fes.DATA_TRANSFER_OUT_OF_RANGE,
        0,
        `H2CData at ${datao}+${datal} outside the R2T's ${request.offset}+${request.into.length}`,
      );
    }
    if (datao !== request.offset + request.received) {
      return this.#terminate(
        Fes.PDU_SEQUENCE_ERROR,
        0,
        `H2CData at offset ${datao} where ${request.offset + request.received} was next`,
      );
    }
    const completes = datao + datal === end;
    if (completes !== ((flags & PduFlags.LAST_PDU) !== 0)) {
      return this.#terminate(
        Fes.PDU_SEQUENCE_ERROR,
        0,
        completes
          ? "The last H2CData of an R2T lacks LAST_PDU"
          : "LAST_PDU before the R2T is complete",
      );
    }
    r.start += headerLength;
    const into = request.into;
    const dest = datao === request.offset && datal === into.length
      ? into
      : into.subarray(datao - request.offset, datao - request.offset + datal);
    const got = this.#takeData(dest);
    if (got < 0) return this.#h2cDataRest(request, dest, completes);
    if (got === 0) request.digestError = true;
    return this.#h2cDataDone(request, datal, completes);
  }

  /** The rest of an H2CData PDU whose data is not all buffered yet. */
  async #h2cDataRest(request: R2tRequest, dest: Uint8Array, completes: boolean): Promise<boolean> {
    await this.#reader.readInto(dest);
    if (!(await this.#checkDataDigest(dest))) request.digestError = true;
    return this.#h2cDataDone(request, dest.length, completes);
  }

  #h2cDataDone(request: R2tRequest, datal: number, completes: boolean): boolean {
    request.received += datal;
    if (completes) this.#finishR2t(request);
    return true;
  }

  #onTermReq(): void {
    const r = this.#reader;
    const fes = r.view.getUint16(r.start + TERMREQ_FES, true);
    const fei = r.view.getUint32(r.start + TERMREQ_FEI, true);
    this.#end(
      new TransportError(
        `Received a TermReq from ${this.remote}: ${fesName(fes)} (fes ${fes}, fei ${fei})`,
        "termreq",
        { fes, fei },
      ),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Ending

  /**
   * Sends a TermReq for the PDU at the reader's start (its header, up to 152 bytes, as the
   * error data), then ends the connection. Always returns false.
   */
  #terminate(fes: number, fei: number, reason: string): Promise<boolean> {
    if (this.done) return Promise.resolve(false);
    const r = this.#reader;
    const ch = this.#ch;
    // The offending header: HLEN bytes when plausible, else the common header.
    let hlen = ch.hlen >= CH_SIZE && ch.hlen <= ch.plen ? ch.hlen : CH_SIZE;
    hlen = Math.min(hlen, TCP_TERM_REQ_MAX_DATA, r.available);
    const at = this.#reserve(PduHeaderLength.TERM_REQ + hlen);
    const v = this.#stageView;
    writeCommonHeader(v, at, {
      pduType: this.controller ? PduType.C2H_TERM_REQ : PduType.H2C_TERM_REQ,
      flags: 0,
      hlen: PduHeaderLength.TERM_REQ,
      pdo: 0,
      plen: PduHeaderLength.TERM_REQ + hlen,
    });
    this.#stage.fill(0, at + CH_SIZE, at + PduHeaderLength.TERM_REQ);
    v.setUint16(at + TERMREQ_FES, fes, true);
    v.setUint32(at + TERMREQ_FEI, fei, true);
    this.#stage.set(r.buf.subarray(r.start, r.start + hlen), at + PduHeaderLength.TERM_REQ);
    this.#stageUsed = at + PduHeaderLength.TERM_REQ + hlen;
    const error = new TransportError(
      `${reason}: sent TermReq ${fesName(fes)} (fes ${fes}, fei ${fei}) to ${this.remote}`,
      "protocol",
      { fes, fei },
    );
    const sent = this.#flush();
    this.#end(error, sent);
    return Promise.resolve(false);
  }

  /** Ends the queue pair with `error`, closing the socket once `after` settles. */
  #end(error: TransportError, after?: Promise<void>): void {
    if (this.done) return;
    this.#closeAfter = after;
    this._fail(error);
  }

  #closeAfter: Promise<void> | undefined;

  /** Fails pending transfers, lets a TermReq or the last CQE leave, closes the socket. */
  protected async _close(): Promise<void> {
    const error = this.error ??
      new QueuePairClosedError("Cannot move data: the queue pair is closed");
    for (const req of this.#ttags) if (req !== undefined) req.reject(error);
    this.#ttags.length = 0;
    for (const req of this.#waitingR2ts.splice(0)) req.reject(error);
    this.#commands.clear();
    if (this.#closeAfter !== undefined) {
      // Give the TermReq a moment to leave; never wait long on a broken peer.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#closeAfter.catch(() => {}),
        new Promise<void>((resolve) => timer = setTimeout(resolve, 1000)),
      ]);
      clearTimeout(timer);
    } else if (this.error === undefined) {
      // Orderly close: let queued PDUs (a last CQE) go out first.
      if (this.#pendingOutput()) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          this.#flush().catch(() => {}),
          new Promise<void>((resolve) => timer = setTimeout(resolve, 1000)),
        ]);
        clearTimeout(timer);
      }
    }
    this.#batchReject?.(error);
    this.#batch?.catch(() => {});
    this.#stream.close();
  }
}

/** Host: the bytes a command's data transfer moved so far. */
function moved(cmd: HostCommand): number {
  const capsule = cmd.capsule;
  if (capsule.direction === "controller-to-host") return cmd.received;
  if (capsule.data === undefined || isInCapsuleCommand(capsule.sqe)) {
    return capsule.data?.length ?? 0;
  }
  return cmd.r2tNext; // fetched by R2T: what the controller asked for
}

function checkRange(cmd: TcpCommand, offset: number, length: number): void {
  if (cmd.released) {
    throw new RangeError(
      `Cannot move ${length} bytes at offset ${offset}: the command's response was sent`,
    );
  }
  const total = commandSglLength(cmd.sqe);
  if (!Number.isInteger(offset) || offset < 0 || offset + length > total) {
    throw new RangeError(
      `Cannot move ${length} bytes at offset ${offset}: the command's SGL covers ${total}`,
    );
  }
  if (isInCapsuleCommand(cmd.sqe) && offset + length > cmd.icd.length) {
    throw new RangeError(
      `Cannot move ${length} bytes at offset ${offset}: ${cmd.icd.length} bytes came in the capsule`,
    );
  }
}

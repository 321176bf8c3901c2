/**
 * The host's half of one queue pair (private): CID slots, SQ flow control, one receive loop
 * dispatching CQEs by CID, and command timeouts, after FreeBSD's `nvmf_host.c` and the
 * kernel's `sys/dev/nvmf/host/nvmf_qpair.c`.
 *
 * Hot path: the CID is the slot index; each slot owns a 64-byte SQE and a capsule object that
 * are reused once the command completes (the transport contract lets the host touch them again
 * after the response). A command costs one {@linkcode Command} and its promise. Timeouts use one
 * timer per queue, armed for the oldest deadline, not a timer per command.
 *
 * Limits (NVMe over Fabrics 1.1, 2.4.1): never more than qsize - 1 commands outstanding, and with
 * SQ flow control never a command that would make SQTAIL reach the last SQHD the controller
 * reported. Without flow control only the first limit applies.
 *
 * @module
 */

import {
  CQE_CID,
  CQE_SIZE,
  CQE_SQHD,
  CQE_SQID,
  CQE_STATUS,
  CqeStatusBits,
  FabricsType,
  SQE_CDW10,
  SQE_CDW11,
  SQE_CDW12,
  SQE_CDW13,
  SQE_CDW14,
  SQE_CDW15,
  SQE_CID,
  SQE_NSID,
  SQE_SIZE,
  SQHD_FLOW_CONTROL_DISABLED,
} from "@nvmf/proto";
import {
  type Capsule,
  type CommandCapsule,
  type DataDirection,
  type QueuePair,
  TransportError,
} from "@nvmf/transport";

/** Status bits that are not the phase tag, CRD, M or DNR: non-zero means an error status. */
const STATUS_CODE_MASK = (CqeStatusBits.SC_MASK << CqeStatusBits.SC_SHIFT) |
  (CqeStatusBits.SCT_MASK << CqeStatusBits.SCT_SHIFT);

/**
 * One command on its way: what to send, where its data is, and how it settles. Built once per
 * command; the SQE bytes are written into the slot of the queue that sends it.
 */
export class Command {
  /** A whole SQE to copy (admin and Fabrics commands), or undefined to use the fields below. */
  template: Uint8Array | undefined = undefined;
  /** OPC. */
  opcode = 0;
  /** NSID. */
  nsid = 0;
  /** CDW10. */
  cdw10 = 0;
  /** CDW11. */
  cdw11 = 0;
  /** CDW12. */
  cdw12 = 0;
  /** CDW13. */
  cdw13 = 0;
  /** CDW14. */
  cdw14 = 0;
  /** CDW15. */
  cdw15 = 0;
  /** FCTYPE of a Fabrics command, for messages. */
  fctype: number | undefined = undefined;
  /** The data buffer. */
  data: Uint8Array | undefined = undefined;
  /** Its direction. */
  direction: DataDirection | undefined = undefined;
  /** True for an admin command. */
  admin = false;
  /** True when a failure without DNR (status or lost connection) may be retried. */
  retry = false;
  /** True for internal commands that must not be aborted on timeout (Abort itself). */
  noAbort = false;
  /** Retries done so far. */
  retries = 0;
  /** Timeout in milliseconds; 0 for none (Asynchronous Event Requests). */
  timeoutMs = 0;
  /** When the timeout expires (Date.now() time), while outstanding. */
  deadline = 0;
  /** What the promise resolves with instead of the CQE (a read's buffer). */
  result: Uint8Array | undefined = undefined;
  /** Settles the command with its CQE. */
  resolve!: (cqe: Uint8Array) => void;
  /** Fails the command. */
  reject!: (error: Error) => void;
  /** Settles with the CQE (or `result`) on success; rejects on any failure. */
  readonly promise: Promise<Uint8Array>;

  /** Makes a command and its promise. */
  constructor() {
    this.promise = new Promise<Uint8Array>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** What a {@linkcode HostQueue} reports to the code that owns it. */
export interface QueueOwner {
  /**
   * A command completed with an error status (the CQE is the transport's); `fault` says why
   * the transport turned a successful completion into a Data Transfer Error.
   */
  failed(queue: HostQueue, command: Command, cqe: Uint8Array, fault?: string): void;
  /**
   * A command's timeout expired; its CID stays reserved until its CQE arrives, or until
   * `stuck` reports it.
   */
  timedOut(queue: HostQueue, command: Command, cid: number): void;
  /**
   * A timed-out command got no completion within a second timeout (Abort did not end it):
   * only resetting the association gets its CID back (Linux's escalation).
   */
  stuck(queue: HostQueue, command: Command, cid: number): void;
  /** The queue pair ended; `commands` were outstanding or waiting and are not settled. */
  down(queue: HostQueue, error: Error, commands: Command[]): void;
}

interface SlotCapsule {
  kind: "command";
  sqe: Uint8Array;
  data: Uint8Array | undefined;
  direction: DataDirection | undefined;
}

/** The host side of one queue pair. */
export class HostQueue {
  /** The transport's queue pair. */
  readonly qp: QueuePair;
  /** Queue ID. */
  readonly qid: number;
  /** Queue size in entries. */
  readonly qsize: number;
  readonly #owner: QueueOwner;
  readonly #sqes: Uint8Array[] = [];
  readonly #views: DataView[] = [];
  readonly #capsules: SlotCapsule[] = [];
  readonly #commands: (Command | undefined)[] = [];
  /**
   * Slots whose command timed out and whose CQE has not come yet: 1 while its second timeout
   * runs, 2 once it was reported stuck.
   */
  readonly #zombie: Uint8Array;
  /** The CID each slot's command went out with: slot | generation << 12 (see #send). */
  readonly #cids: Uint16Array;
  /** Bits of a CID that name the slot; the rest is a generation (Linux's nvme_cid()). */
  readonly #slotMask: number;
  /** What ended the queue. */
  #error: Error | undefined;
  readonly #free: number[] = [];
  #waiting: Command[] = [];
  #waitingHead = 0;
  #sqFlowControl = false;
  #sqhd = 0;
  #sqtail = 0;
  #outstanding = 0;
  #completions = 0;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** When the armed timer fires (Date.now() time). */
  #timerAt = Infinity;
  #closing = false;
  #down = false;
  /** Fails the queue when a transmit rejects (one bound function, not one per command). */
  readonly #onTransmitError = (error: unknown) => this.#fail(asError(error));

  /**
   * Wraps a connected transport queue pair and starts its receive loop.
   *
   * @param qp The queue pair, as `Transport.connect` returned it.
   * @param qid Its queue ID.
   * @param owner Where failures go.
   */
  constructor(qp: QueuePair, qid: number, owner: QueueOwner) {
    this.qp = qp;
    this.qid = qid;
    this.qsize = qp.qsize;
    this.#owner = owner;
    const slots = qp.qsize - 1;
    this.#zombie = new Uint8Array(slots);
    this.#cids = new Uint16Array(slots);
    // A 4-bit generation above a 12-bit slot tells a stale or repeated completion from the
    // current command of its slot; slots up to FFEh keep CID FFFFh unused (Base 4.2).
    this.#slotMask = slots < 0xfff ? 0xfff : 0xffff;
    for (let i = 0; i < slots; i++) this.#cids[i] = i;
    for (let i = 0; i < slots; i++) {
      const sqe = new Uint8Array(SQE_SIZE);
      this.#sqes.push(sqe);
      this.#views.push(new DataView(sqe.buffer));
      this.#capsules.push({ kind: "command", sqe, data: undefined, direction: undefined });
      this.#commands.push(undefined);
    }
    // Hand out low CIDs first.
    for (let i = slots - 1; i >= 0; i--) this.#free.push(i);
    if (qp.consume !== undefined) qp.consume(this.#onCapsule, this.#onEnd);
    else this.#receiveLoop();
  }

  /** Commands sent and not completed, timed-out ones included. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** Commands waiting for a free slot or SQ entry. */
  get waiting(): number {
    return this.#waiting.length - this.#waitingHead;
  }

  /** Outstanding plus waiting: how busy the queue is. */
  get load(): number {
    return this.#outstanding + this.#waiting.length - this.#waitingHead;
  }

  /** Responses received so far (for traffic based keep-alive). */
  get completions(): number {
    return this.#completions;
  }

  /** Whether SQ flow control is in force (known after Connect). */
  get sqFlowControl(): boolean {
    return this.#sqFlowControl;
  }

  /** The last SQHD the controller reported. */
  get sqhd(): number {
    return this.#sqhd;
  }

  /** The SQ tail: commands sent, modulo qsize. */
  get sqtail(): number {
    return this.#sqtail;
  }

  /** True once the queue pair ended (closed or failed). */
  get isDown(): boolean {
    return this.#down;
  }

  /**
   * Records what the Connect response said: SQHD FFFFh means the controller disabled SQ flow
   * control (Fabrics 3.3), any other value is the starting SQ head and tail (as FreeBSD's
   * `nvmf_connect`). A host that asked to disable flow control never waits for SQHD, whatever
   * the response says (as Linux, whose host never does): the depth limit alone keeps the SQ
   * from overflowing, and some controllers answer SQHD 0 rather than FFFFh.
   *
   * @param sqhd SQHD of the Connect response.
   * @param requested Whether the host asked for SQ flow control (default true).
   */
  setConnected(sqhd: number, requested = true): void {
    if (sqhd === SQHD_FLOW_CONTROL_DISABLED || !requested) {
      this.#sqFlowControl = false;
    } else {
      this.#sqFlowControl = true;
      this.#sqhd = sqhd;
      this.#sqtail = sqhd;
    }
  }

  /**
   * Sends a command now if a slot and an SQ entry are free, else queues it in order.
   *
   * @param command The command.
   */
  submit(command: Command): void {
    if (this.#down) {
      const cause = this.#error;
      this.#owner.down(
        this,
        new TransportError(
          `Cannot submit: queue ${this.qid} is down${cause ? `: ${cause.message}` : ""}`,
          "connection",
          { cause },
        ),
        [command],
      );
      return;
    }
    if (this.#waitingHead === this.#waiting.length && this.#canSend()) this.#send(command);
    else this.#waiting.push(command);
  }

  /** The commands outstanding, timed-out ones excluded (for draining before shutdown). */
  pending(): Command[] {
    const out: Command[] = [];
    for (let i = 0; i < this.#commands.length; i++) {
      const c = this.#commands[i];
      if (c !== undefined && this.#zombie[i] === 0) out.push(c);
    }
    for (let i = this.#waitingHead; i < this.#waiting.length; i++) out.push(this.#waiting[i]);
    return out;
  }

  /**
   * Closes the queue pair in an orderly way. Commands still outstanding or waiting go to the
   * owner's `down` with a closed error.
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#clearTimer();
    await this.qp.close();
  }

  /**
   * Ends the queue with an error, as if the connection broke: closes the queue pair and hands
   * the unsettled commands to the owner.
   *
   * @param error Why.
   */
  abort(error: Error): void {
    this.#fail(error);
  }

  #canSend(): boolean {
    if (this.#free.length === 0) return false;
    // SQ full: one more entry would make the tail reach the head (Base 4.1.1).
    return !this.#sqFlowControl || (this.#sqtail + 1) % this.qsize !== this.#sqhd;
  }

  /** True while the command sent with `cid` awaits its completion (timed out or not). */
  isOutstanding(cid: number): boolean {
    const slot = cid & this.#slotMask;
    return slot < this.#cids.length && this.#cids[slot] === cid &&
      this.#commands[slot] !== undefined;
  }

  #send(command: Command): void {
    const slot = this.#free.pop()!;
    const cid = this.#cids[slot];
    this.#commands[slot] = command;
    this.#outstanding++;
    const sqe = this.#sqes[slot];
    const template = command.template;
    if (template !== undefined) {
      sqe.set(template);
      sqe[SQE_CID] = cid;
      sqe[SQE_CID + 1] = cid >>> 8;
    } else {
      const v = this.#views[slot];
      // Dword 0: OPC, flags (PSDT is the transport's), CID.
      v.setUint32(0, command.opcode | (cid << 16), true);
      v.setUint32(SQE_NSID, command.nsid, true);
      v.setUint32(8, 0, true); // CDW2
      v.setUint32(12, 0, true); // CDW3
      v.setUint32(16, 0, true); // MPTR
      v.setUint32(20, 0, true);
      v.setUint32(SQE_CDW10, command.cdw10, true);
      v.setUint32(SQE_CDW11, command.cdw11, true);
      v.setUint32(SQE_CDW12, command.cdw12, true);
      v.setUint32(SQE_CDW13, command.cdw13, true);
      v.setUint32(SQE_CDW14, command.cdw14, true);
      v.setUint32(SQE_CDW15, command.cdw15, true);
    }
    const capsule = this.#capsules[slot];
    capsule.data = command.data;
    capsule.direction = command.direction;
    this.#sqtail = (this.#sqtail + 1) % this.qsize;
    if (command.timeoutMs > 0) {
      // Date.now(): millisecond timeouts need no more, and it costs less than performance.now().
      const now = Date.now();
      const deadline = now + command.timeoutMs;
      command.deadline = deadline;
      // One timer per queue, for the earliest deadline; commands of one queue mostly share a
      // timeout, so this re-arms only when a shorter one comes along.
      if (deadline < this.#timerAt) {
        this.#clearTimer();
        this.#armTimer(now, deadline);
      }
    }
    this.qp.transmit(capsule as CommandCapsule).then(undefined, this.#onTransmitError);
  }

  /** For a queue pair without `consume`: the same, through `receive()`. */
  async #receiveLoop(): Promise<void> {
    const qp = this.qp;
    for (;;) {
      let capsule;
      try {
        capsule = await qp.receive();
      } catch (error) {
        this.#onEnd(asError(error));
        return;
      }
      this.#onCapsule(capsule);
      if (this.#down) return;
    }
  }

  /** Every capsule the queue pair receives, as it arrives. */
  readonly #onCapsule = (capsule: Capsule): void => {
    if (this.#down) return;
    if (capsule.kind !== "response" || capsule.cqe.length < CQE_SIZE) {
      this.#fail(
        new TransportError(
          `Cannot use queue ${this.qid}: received a ${capsule.kind} capsule a host never gets`,
          "protocol",
        ),
      );
      return;
    }
    this.#complete(capsule.cqe, capsule.fault);
  };

  /** The queue pair is done. */
  readonly #onEnd = (error: Error): void => {
    this.#fail(error);
  };

  #complete(cqe: Uint8Array, fault: string | undefined): void {
    const cid = cqe[CQE_CID] | (cqe[CQE_CID + 1] << 8);
    const slot = cid & this.#slotMask;
    const command = slot < this.#cids.length && this.#cids[slot] === cid
      ? this.#commands[slot]
      : undefined;
    // Linux: a completion no outstanding command matches (stale, repeated or bogus) is a
    // transport error; the association recovers by reconnecting.
    const problem = command === undefined
      ? `a completion for CID ${cid}, which has no command outstanding`
      : checkCqe(
        cqe,
        // Some controllers answer an I/O queue's Connect with SQID 0 (ours did): tolerated.
        command.fctype === FabricsType.CONNECT ? -1 : this.qid,
        this.qsize,
        this.#sqFlowControl,
        this.#sqhd,
        this.#sqtail,
      );
    if (problem !== undefined) {
      this.#fail(
        new TransportError(
          `Cannot use queue ${this.qid}: the controller sent ${problem}`,
          "protocol",
        ),
      );
      return;
    }
    this.#completions++;
    if (this.#sqFlowControl) this.#sqhd = cqe[CQE_SQHD] | (cqe[CQE_SQHD + 1] << 8);
    this.#commands[slot] = undefined;
    this.#capsules[slot].data = undefined;
    this.#cids[slot] = this.#slotMask === 0xffff ? cid : ((cid + 0x1000) & 0xffff);
    this.#outstanding--;
    this.#free.push(slot);
    if (this.#zombie[slot] !== 0) {
      this.#zombie[slot] = 0;
    } else {
      const status = cqe[CQE_STATUS] | (cqe[CQE_STATUS + 1] << 8);
      if ((status & STATUS_CODE_MASK) === 0) command!.resolve(command!.result ?? cqe);
      else this.#owner.failed(this, command!, cqe, fault);
    }
    this.#pump();
  }

  #pump(): void {
    while (this.#waitingHead < this.#waiting.length && this.#canSend() && !this.#down) {
      const next = this.#waiting[this.#waitingHead];
      this.#waiting[this.#waitingHead++] = undefined as unknown as Command;
      this.#send(next);
    }
    if (this.#waitingHead === this.#waiting.length && this.#waitingHead > 0) {
      this.#waiting = [];
      this.#waitingHead = 0;
    }
  }

  #armTimer(now: number, at: number): void {
    this.#timerAt = at;
    this.#timer = setTimeout(this.#sweep, Math.max(1, Math.ceil(at - now)));
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /**
   * Expires commands past their deadline and re-arms for the next one. A command that timed
   * out gets a second timeout of the same length, for its Abort; past that it is stuck.
   */
  readonly #sweep = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#down) return;
    const now = Date.now();
    let next = Infinity;
    const expired: number[] = [];
    const stuck: number[] = [];
    for (let slot = 0; slot < this.#commands.length; slot++) {
      const c = this.#commands[slot];
      if (c === undefined || this.#zombie[slot] === 2 || c.timeoutMs === 0) continue;
      if (c.deadline <= now) (this.#zombie[slot] === 0 ? expired : stuck).push(slot);
      else if (c.deadline < next) next = c.deadline;
    }
    for (const slot of expired) {
      const c = this.#commands[slot]!;
      this.#zombie[slot] = 1;
      this.#detachData(slot);
      c.deadline = now + c.timeoutMs;
      if (c.deadline < next) next = c.deadline;
      this.#owner.timedOut(this, c, this.#cids[slot]);
    }
    for (const slot of stuck) {
      const c = this.#commands[slot];
      if (c === undefined || this.#down) continue;
      this.#zombie[slot] = 2;
      this.#owner.stuck(this, c, this.#cids[slot]);
    }
    if (next !== Infinity && !this.#down && this.#timer === undefined) this.#armTimer(now, next);
  };

  /**
   * A timed-out command's caller hears of it now and may reuse its buffer, yet the controller may
   * still move the data (a late C2HData, a late R2T) until its completion comes or the queue goes:
   * from now on the transport reads into a scratch buffer, and sends a copy of what the buffer
   * held. (Linux keeps the request until its transport lets go of it; we answer the caller first.)
   */
  #detachData(slot: number): void {
    const capsule = this.#capsules[slot];
    const data = capsule.data;
    if (data === undefined || data.length === 0) return;
    capsule.data = capsule.direction === "controller-to-host"
      ? new Uint8Array(data.length)
      : data.slice();
  }

  #fail(error: Error): void {
    if (this.#down) return;
    this.#down = true;
    this.#error = error;
    this.#clearTimer();
    const commands: Command[] = [];
    for (let cid = 0; cid < this.#commands.length; cid++) {
      const c = this.#commands[cid];
      if (c !== undefined && this.#zombie[cid] === 0) commands.push(c);
      this.#commands[cid] = undefined;
    }
    for (let i = this.#waitingHead; i < this.#waiting.length; i++) {
      commands.push(this.#waiting[i]);
    }
    this.#waiting = [];
    this.#waitingHead = 0;
    this.#outstanding = 0;
    if (!this.#closing) this.qp.close().catch(() => {});
    this.#owner.down(this, error, commands);
  }
}

/**
 * What is wrong with a CQE that matched an outstanding command, or undefined: its SQID must be
 * the queue's (`qid` -1: not checked), and with SQ flow control its SQHD must lie between the last SQHD and the SQ tail
 * (the head moves forward over entries the host submitted, never past them; Base 4.1).
 */
function checkCqe(
  cqe: Uint8Array,
  qid: number,
  qsize: number,
  flowControl: boolean,
  sqhd: number,
  sqtail: number,
): string | undefined {
  const sqid = cqe[CQE_SQID] | (cqe[CQE_SQID + 1] << 8);
  const cid = cqe[CQE_CID] | (cqe[CQE_CID + 1] << 8);
  if (qid >= 0 && sqid !== qid) return `a completion for CID ${cid} naming SQID ${sqid}`;
  if (flowControl) {
    const head = cqe[CQE_SQHD] | (cqe[CQE_SQHD + 1] << 8);
    if (head >= qsize || (head - sqhd + qsize) % qsize > (sqtail - sqhd + qsize) % qsize) {
      return `a completion for CID ${cid} with SQHD ${head}, outside the ${sqhd} to ${sqtail} submitted`;
    }
  }
  return undefined;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

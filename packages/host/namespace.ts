/**
 * Namespace I/O, as FreeBSD's `sys/dev/nvmf/host/nvmf_ns.c`: a {@linkcode Namespace} reads,
 * writes, compares, flushes, writes zeroes, deallocates and verifies by LBA, splitting at MDTS
 * (and the 16-bit NLB field) and spreading the commands over the controller's I/O queues.
 * `HostController.namespace()` makes one; {@linkcode BlockRange} and {@linkcode IoOptions} are
 * what its methods take.
 *
 * @module
 */

import {
  blockSize,
  DSM_MAX_RANGES,
  DSM_RANGE_SIZE,
  DsmAttributes,
  DsmRangeOffset,
  GenericStatus,
  type IdentifyNamespace,
  MediaStatus,
  NvmeStatusError,
  NvmOpcode,
  Oncs,
  type ReservationStatus,
  RwControl,
  StatusCodeType,
  statusOf,
} from "@nvmf/proto";
import type { DataDirection } from "@nvmf/transport";
import { Command } from "./_queue.ts";
import { ControllerError } from "./errors.ts";
import type { HostController } from "./controller.ts";
import {
  reservationAcquire,
  type ReservationAcquireOptions,
  reservationRegister,
  type ReservationRegisterOptions,
  reservationRelease,
  type ReservationReleaseOptions,
  reservationReport,
  type ReservationReportOptions,
} from "./reservation.ts";

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

/** How a {@linkcode Namespace} reaches its controller's I/O queues (internal). */
export interface IoPath {
  /** Sends an I/O command on the least loaded I/O queue (parked while reconnecting). */
  submit(command: Command): void;
  /** The timeout of I/O commands, in ms. */
  readonly timeoutMs: number;
}

function toLba(lba: number | bigint, what: string): number {
  const n = typeof lba === "bigint" ? Number(lba) : lba;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Cannot ${what} at LBA ${lba}: it must be a non-negative safe integer`);
  }
  return n;
}

// Set in Namespace's static block: the controller makes namespaces, users do not.
let make: (
  controller: HostController,
  nsid: number,
  info: IdentifyNamespace,
  io: IoPath,
) => Namespace;

/**
 * A handle on an active namespace (internal: what `HostController.namespace()` returns).
 *
 * @param controller The controller.
 * @param nsid The NSID.
 * @param info Its Identify Namespace data.
 * @param io The controller's I/O path.
 * @returns The handle.
 */
export function openNamespace(
  controller: HostController,
  nsid: number,
  info: IdentifyNamespace,
  io: IoPath,
): Namespace {
  checkLbaDataSize(nsid, info);
  return make(controller, nsid, info, io);
}

/** Largest LBA data size the host takes: 2^16 bytes (Linux takes up to its page size). */
const LBADS_MAX = 16;

/**
 * Checks the LBA data size Identify Namespace reports before any buffer is sized from it.
 *
 * @param nsid The NSID, for the message.
 * @param info Identify Namespace.
 * @throws {ControllerError} When FLBAS names no format, or LBADS is below 9 or above 16.
 */
function checkLbaDataSize(nsid: number, info: IdentifyNamespace): void {
  let size: number;
  try {
    size = blockSize(info);
  } catch (e) {
    throw new ControllerError(
      `Cannot open namespace ${nsid}: its LBA data size is unusable: ${(e as Error).message}`,
      "unsupported",
    );
  }
  if (size > 2 ** LBADS_MAX) {
    throw new ControllerError(
      `Cannot open namespace ${nsid}: its LBA data size 2^${
        Math.log2(size)
      } bytes is above the 2^${LBADS_MAX} this host handles`,
      "unsupported",
    );
  }
}

/**
 * An active namespace of a {@linkcode HostController}: reads and writes by LBA, split into
 * commands of at most MDTS (and 65536 blocks), spread over the I/O queues. Data buffers are
 * used in place, never copied. Get one with {@linkcode HostController.namespace}.
 *
 * @example Usage
 * ```ts
 * import { connect } from "@nvmf/host";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import { loopback } from "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 *
 * const target = new Target();
 * const subnqn = "nqn.2026-01.dev.nvmf:namespace-doc";
 * target.addSubsystem({
 *   nqn: subnqn,
 *   namespaces: [{ backend: new RamBackend({ size: 1n << 20n, blockSize: 512 }) }],
 *   allowAnyHost: true,
 * });
 * await target.listen(loopback, { traddr: "namespace-doc" });
 * const ctrl = await connect({ transport: loopback, address: { traddr: "namespace-doc" }, subnqn });
 *
 * const ns = await ctrl.namespace(1);
 * assert.equal(ns.size, 1 << 20);
 * const data = new Uint8Array(8 * ns.blockSize).fill(0xa5);
 * await ns.write(100, data);
 * assert.deepEqual(await ns.read(100, 8), data);
 * assert.equal(await ns.compare(100, data), true);
 * await ns.deallocate([{ lba: 100, blocks: 8 }]);
 * await ctrl.close();
 * await target.close();
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
  readonly #io: IoPath;
  /** ONCS of the controller: the optional commands it supports. */
  readonly #oncs: number;

  static {
    make = (controller, nsid, info, io) => new Namespace(controller, nsid, info, io);
  }

  private constructor(
    controller: HostController,
    nsid: number,
    info: IdentifyNamespace,
    io: IoPath,
  ) {
    this.controller = controller;
    this.nsid = nsid;
    this.info = info;
    this.blockSize = blockSize(info);
    this.blocks = Number(info.nsze);
    const mdtsBlocks = Math.floor(controller.maxTransferSize / this.blockSize);
    this.maxBlocksPerCommand = Math.max(1, Math.min(NLB_MAX, mdtsBlocks));
    this.#io = io;
    this.#timeout = io.timeoutMs;
    this.#oncs = controller.cdata.oncs;
  }

  /**
   * Optional commands are checked against ONCS before anything is sent: one the controller
   * does not support fails with the INVALID_COMMAND_OPCODE it would answer, and says so.
   */
  #supported(bit: number, name: string, what: string): void {
    if ((this.#oncs & bit) !== 0) return;
    throw new NvmeStatusError(
      statusOf(StatusCodeType.GENERIC, GenericStatus.INVALID_COMMAND_OPCODE, true),
      {
        message: `Cannot ${what}: the controller does not support ${name} (ONCS bit ${
          Math.log2(bit)
        } is clear)`,
      },
    );
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
      this.#io.submit(c);
      return c.promise;
    }
    const parts: Promise<Uint8Array>[] = [];
    const bs = this.blockSize;
    for (let done = 0; done < total; done += max) {
      const n = Math.min(max, total - done);
      const c = this.#command(opcode, lba + done, n, flags);
      c.data = data.subarray(done * bs, (done + n) * bs);
      c.direction = direction;
      this.#io.submit(c);
      parts.push(c.promise);
    }
    // The caller hears of a failed part only once every part let go of its share of `data`.
    return Promise.allSettled(parts).then((settled) => {
      for (const r of settled) if (r.status === "rejected") throw r.reason;
      return settled.map((r) => (r as PromiseFulfilledResult<Uint8Array>).value);
    });
  }

  #noData(opcode: number, lba: number, blocks: number, flags: number): Promise<unknown> {
    const max = NLB_MAX;
    if (blocks <= max) {
      const c = this.#command(opcode, lba, blocks, flags);
      this.#io.submit(c);
      return c.promise;
    }
    const parts: Promise<Uint8Array>[] = [];
    for (let done = 0; done < blocks; done += max) {
      const c = this.#command(opcode, lba + done, Math.min(max, blocks - done), flags);
      this.#io.submit(c);
      parts.push(c.promise);
    }
    // The caller hears of a failed part only once every part let go of its share of `data`.
    return Promise.allSettled(parts).then((settled) => {
      for (const r of settled) if (r.status === "rejected") throw r.reason;
      return settled.map((r) => (r as PromiseFulfilledResult<Uint8Array>).value);
    });
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
      this.#io.submit(c);
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
    this.#supported(Oncs.COMPARE, "Compare", "compare");
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
    this.#io.submit(c);
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
    this.#supported(Oncs.WRITE_ZEROES, "Write Zeroes", "write zeroes");
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
    this.#supported(Oncs.VERIFY, "Verify", "verify");
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
    this.#supported(Oncs.DATASET_MANAGEMENT, "Dataset Management", "deallocate");
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
      this.#io.submit(c);
      parts.push(c.promise);
    }
    await Promise.all(parts);
  }

  /**
   * Reservation Register (Base 8.19): register, unregister or replace this host's key.
   *
   * @param options Action, keys, IEKEY, CPTPL.
   * @returns Settles on success.
   * @throws {NvmeStatusError} E.g. RESERVATION_CONFLICT for a wrong current key.
   */
  reservationRegister(options: ReservationRegisterOptions): Promise<void> {
    return reservationRegister(this.#io, this.nsid, options);
  }

  /**
   * Reservation Acquire: acquire, preempt, or preempt and abort.
   *
   * @param options Action, type, keys.
   * @returns Settles on success.
   * @throws {NvmeStatusError} E.g. RESERVATION_CONFLICT when another host holds it.
   */
  reservationAcquire(options: ReservationAcquireOptions): Promise<void> {
    return reservationAcquire(this.#io, this.nsid, options);
  }

  /**
   * Reservation Release: release or clear.
   *
   * @param options Action, type, key.
   * @returns Settles on success.
   * @throws {NvmeStatusError} E.g. RESERVATION_CONFLICT for a wrong key.
   */
  reservationRelease(options: ReservationReleaseOptions): Promise<void> {
    return reservationRelease(this.#io, this.nsid, options);
  }

  /**
   * Reservation Report: the reservation, its generation and every registrant.
   *
   * @param options The extended data structure (default) or the standard one.
   * @returns The status.
   */
  reservationReport(options?: ReservationReportOptions): Promise<ReservationStatus> {
    return reservationReport(this.#io, this.nsid, this.controller.maxTransferSize, options);
  }
}

/**
 * The NVM command set's I/O commands (NVM Command Set 1.0, 3): Read, Write, Flush, Write
 * Zeroes, Dataset Management, Compare and Verify against a namespace's backend. Each checks
 * its LBA range with one prologue ({@linkcode lbaRange}); the caller has checked the queue,
 * the controller's state and the NSID (Flush of every namespace is the controller's).
 * Private to the package.
 *
 * @module
 */

import {
  DSM_NR_MASK,
  DSM_RANGE_SIZE,
  DsmAttributes,
  DsmRangeOffset,
  NvmOpcode,
  RwControl,
  SQE_CDW10,
  SQE_CDW11,
  SQE_CDW12,
} from "@nvmf/proto";
import type { CommandCapsule, QueuePair } from "@nvmf/transport";
import { u32, u64 } from "./_bytes.ts";
import { receiveWithin } from "./_data_deadline.ts";
import { VERIFY_CHUNK } from "./_limits.ts";
import {
  COMPARE_FAILURE,
  INVALID_FIELD,
  INVALID_NS,
  INVALID_OPCODE,
  LBA_OUT_OF_RANGE,
  NO_RESPONSE,
  READ_ERROR,
  SGL_LENGTH_INVALID,
  SUCCESS,
  WRITE_FAULT,
  WRITE_PROTECTED,
} from "./_status.ts";
import type { WriteOptions } from "./backend.ts";
import type { Namespace } from "./subsystem.ts";

const FUA: WriteOptions = Object.freeze({ fua: true });
const NO_FUA: WriteOptions = Object.freeze({ fua: false });

/** What the NVM commands need of their controller. */
export interface NvmContext {
  /** Largest data transfer of one command, bytes (MDTS). */
  readonly maxTransferSize: number;
  /** Whether the volatile write cache is enabled (without it every write is FUA). */
  readonly writeCache: boolean;
  /** Time the host has to send a command's data, ms (its KATO, or the target's data timeout). */
  readonly dataTimeout: number;
  /** Reports a backend failure (the command then fails with a media status). */
  error(error: unknown, message: string): void;
  /** The command's last data may carry its completion: its CID is free from now on. */
  release(qp: QueuePair, sqe: Uint8Array): void;
}

/**
 * The LBA-range prologue of an NVM command: decodes SLBA (CDW11:CDW10) and NLB (CDW12, 0's
 * based), checks the data the command carries (`transfers`: NLB blocks within MDTS, NVM
 * 3.2.6; otherwise none) and the range against NSZE.
 *
 * @param qp The queue pair (for the command's data length).
 * @param cmd The command capsule.
 * @param ns The namespace.
 * @param maxTransferSize MDTS in bytes.
 * @param transfers Whether the command moves NLB blocks of data (Read, Write, Compare).
 * @returns NLB (at least 1), or the CQE status to fail with, negated.
 */
export function lbaRange(
  qp: QueuePair,
  cmd: CommandCapsule,
  ns: Namespace,
  maxTransferSize: number,
  transfers: boolean,
): number {
  const sqe = cmd.sqe;
  const nlb = (u32(sqe, SQE_CDW12) & RwControl.NLB_MASK) + 1;
  if (transfers) {
    const length = nlb * ns.blockSize;
    if (length > maxTransferSize) return -INVALID_FIELD; // NVM 3.2.6: over MDTS
    if (qp.capsuleDataLength(cmd) !== length) return -SGL_LENGTH_INVALID;
  } else if (qp.capsuleDataLength(cmd) !== 0) return -SGL_LENGTH_INVALID;
  if (u64(sqe, SQE_CDW10) + nlb > ns.blocks) return -LBA_OUT_OF_RANGE;
  return nlb;
}

/**
 * Runs an NVM command other than a Flush of every namespace.
 *
 * @param qp The I/O queue pair.
 * @param cmd The command.
 * @param opcode Its opcode.
 * @param ns The namespace its NSID names, undefined when none is active.
 * @param ctx The controller.
 * @returns The CQE status, or NO_RESPONSE when the transport completed the command.
 */
export function nvmCommand(
  qp: QueuePair,
  cmd: CommandCapsule,
  opcode: number,
  ns: Namespace | undefined,
  ctx: NvmContext,
): Promise<number> | number {
  switch (opcode) {
    case NvmOpcode.READ:
      return ns === undefined ? INVALID_NS : read(qp, cmd, ns, ctx);
    case NvmOpcode.WRITE:
      if (ns === undefined) return INVALID_NS;
      return ns.readOnly ? WRITE_PROTECTED : write(qp, cmd, ns, ctx);
    case NvmOpcode.FLUSH:
      return ns === undefined ? INVALID_NS : flush(ns, ctx);
    case NvmOpcode.WRITE_ZEROES:
      if (ns === undefined) return INVALID_NS;
      return ns.readOnly ? WRITE_PROTECTED : writeZeroes(qp, cmd, ns, ctx);
    case NvmOpcode.DATASET_MANAGEMENT:
      if (ns === undefined) return INVALID_NS;
      return datasetManagement(qp, cmd, ns, ctx);
    case NvmOpcode.COMPARE:
      return ns === undefined ? INVALID_NS : compare(qp, cmd, ns, ctx);
    case NvmOpcode.VERIFY:
      return ns === undefined ? INVALID_NS : verify(qp, cmd, ns, ctx);
    default:
      return INVALID_OPCODE;
  }
}

async function read(qp: QueuePair, cmd: CommandCapsule, ns: Namespace, ctx: NvmContext) {
  const nlb = lbaRange(qp, cmd, ns, ctx.maxTransferSize, true);
  if (nlb < 0) return -nlb;
  const length = nlb * ns.blockSize;
  const offset = u64(cmd.sqe, SQE_CDW10) * ns.blockSize;
  const backend = ns.backend;
  let data = backend.map?.(offset, length, false);
  if (data === undefined) {
    data = new Uint8Array(length);
    try {
      await backend.read(offset, data);
    } catch (e) {
      ctx.error(e, `Cannot read namespace ${ns.nsid} at ${offset}`);
      return READ_ERROR;
    }
  }
  ns.stats.readCommands++;
  ns.stats.bytesRead += length;
  ctx.release(qp, cmd.sqe);
  const outcome = await qp.sendControllerData(cmd, 0, data, true);
  return outcome === "success-sent" ? NO_RESPONSE : SUCCESS;
}

async function write(qp: QueuePair, cmd: CommandCapsule, ns: Namespace, ctx: NvmContext) {
  const nlb = lbaRange(qp, cmd, ns, ctx.maxTransferSize, true);
  if (nlb < 0) return -nlb;
  const sqe = cmd.sqe;
  const length = nlb * ns.blockSize;
  const offset = u64(sqe, SQE_CDW10) * ns.blockSize;
  const backend = ns.backend;
  const fua = !ctx.writeCache || (u32(sqe, SQE_CDW12) & RwControl.FUA) !== 0;
  const mapped = backend.map?.(offset, length, true);
  const data = mapped ?? new Uint8Array(length);
  await receiveWithin(qp, cmd, data, ctx.dataTimeout);
  if (mapped === undefined) {
    try {
      await backend.write(offset, data, fua ? FUA : NO_FUA);
    } catch (e) {
      ctx.error(e, `Cannot write namespace ${ns.nsid} at ${offset}`);
      return WRITE_FAULT;
    }
  }
  ns.stats.writeCommands++;
  ns.stats.bytesWritten += length;
  return SUCCESS;
}

async function flush(ns: Namespace, ctx: NvmContext): Promise<number> {
  try {
    await ns.backend.flush();
  } catch (e) {
    ctx.error(e, `Cannot flush namespace ${ns.nsid}`);
    return WRITE_FAULT;
  }
  return SUCCESS;
}

async function writeZeroes(qp: QueuePair, cmd: CommandCapsule, ns: Namespace, ctx: NvmContext) {
  const nlb = lbaRange(qp, cmd, ns, ctx.maxTransferSize, false);
  if (nlb < 0) return -nlb;
  const sqe = cmd.sqe;
  const offset = u64(sqe, SQE_CDW10) * ns.blockSize;
  const length = nlb * ns.blockSize;
  try {
    await ns.backend.writeZeroes(offset, length);
    if (!ctx.writeCache || (u32(sqe, SQE_CDW12) & RwControl.FUA) !== 0) await ns.backend.flush();
  } catch (e) {
    ctx.error(e, `Cannot zero namespace ${ns.nsid} at ${offset}`);
    return WRITE_FAULT;
  }
  ns.stats.writeCommands++;
  return SUCCESS;
}

async function datasetManagement(
  qp: QueuePair,
  cmd: CommandCapsule,
  ns: Namespace,
  ctx: NvmContext,
) {
  const sqe = cmd.sqe;
  const ranges = (u32(sqe, SQE_CDW10) & DSM_NR_MASK) + 1;
  const length = ranges * DSM_RANGE_SIZE;
  if (qp.capsuleDataLength(cmd) < length) return SGL_LENGTH_INVALID;
  const list = new Uint8Array(length);
  await receiveWithin(qp, cmd, list, ctx.dataTimeout);
  if ((u32(sqe, SQE_CDW11) & DsmAttributes.DEALLOCATE) === 0) return SUCCESS; // hints only
  if (ns.readOnly) return WRITE_PROTECTED;
  // NVM 3.2.3: every range is checked before any is deallocated.
  for (let at = 0; at < length; at += DSM_RANGE_SIZE) {
    const nlb = u32(list, at + DsmRangeOffset.NLB);
    if (u64(list, at + DsmRangeOffset.SLBA) + nlb > ns.blocks) return LBA_OUT_OF_RANGE;
  }
  try {
    for (let at = 0; at < length; at += DSM_RANGE_SIZE) {
      const nlb = u32(list, at + DsmRangeOffset.NLB);
      if (nlb === 0) continue;
      const slba = u64(list, at + DsmRangeOffset.SLBA);
      await ns.backend.deallocate(slba * ns.blockSize, nlb * ns.blockSize);
    }
  } catch (e) {
    ctx.error(e, `Cannot deallocate in namespace ${ns.nsid}`);
    return WRITE_FAULT;
  }
  return SUCCESS;
}

async function compare(qp: QueuePair, cmd: CommandCapsule, ns: Namespace, ctx: NvmContext) {
  const nlb = lbaRange(qp, cmd, ns, ctx.maxTransferSize, true);
  if (nlb < 0) return -nlb;
  const length = nlb * ns.blockSize;
  const offset = u64(cmd.sqe, SQE_CDW10) * ns.blockSize;
  const host = new Uint8Array(length);
  await receiveWithin(qp, cmd, host, ctx.dataTimeout);
  const stored = new Uint8Array(length);
  try {
    await ns.backend.read(offset, stored);
  } catch (e) {
    ctx.error(e, `Cannot read namespace ${ns.nsid} at ${offset}`);
    return READ_ERROR;
  }
  ns.stats.readCommands++;
  for (let i = 0; i < length; i++) if (host[i] !== stored[i]) return COMPARE_FAILURE;
  return SUCCESS;
}

async function verify(qp: QueuePair, cmd: CommandCapsule, ns: Namespace, ctx: NvmContext) {
  const nlb = lbaRange(qp, cmd, ns, ctx.maxTransferSize, false);
  if (nlb < 0) return -nlb;
  const offset = u64(cmd.sqe, SQE_CDW10) * ns.blockSize;
  const length = nlb * ns.blockSize;
  const chunk = new Uint8Array(Math.min(length, VERIFY_CHUNK));
  try {
    for (let done = 0; done < length; done += chunk.length) {
      const n = Math.min(chunk.length, length - done);
      await ns.backend.read(offset + done, n === chunk.length ? chunk : chunk.subarray(0, n));
    }
  } catch (e) {
    ctx.error(e, `Cannot verify namespace ${ns.nsid} at ${offset}`);
    return READ_ERROR;
  }
  ns.stats.readCommands++;
  return SUCCESS;
}

/**
 * The reservation commands of an I/O queue (Reservation Register, Acquire, Release, Report)
 * and the reservation gate every other I/O command passes: their data, decoded; the
 * namespace's {@linkcode ReservationState} applied; notifications delivered; the status
 * returned. Private to the package.
 *
 * Preempt and Abort aborts nothing: commands of the preempted hosts already running complete
 * (they were admitted before the preemption, and Linux's nvmet also lets them finish, waiting
 * for them); every later one meets the new reservation.
 *
 * @module
 */

import {
  decodeReservationAcquireData,
  decodeReservationCdw10,
  decodeReservationRegisterData,
  decodeReservationReleaseData,
  encodeReservationStatus,
  GenericStatus,
  NvmOpcode,
  RESERVATION_ACQUIRE_DATA_SIZE,
  RESERVATION_REGISTER_DATA_SIZE,
  RESERVATION_RELEASE_DATA_SIZE,
  ReservationBits,
  SQE_CDW10,
  SQE_CDW11,
  StatusCodeType,
  statusOf,
} from "@nvmf/proto";
import type { CommandCapsule, QueuePair } from "@nvmf/transport";
import { u32 } from "./_bytes.ts";
import { deliverNotices } from "./_resv_log.ts";
import { INVALID_FIELD, INVALID_NS, NO_RESPONSE, SGL_LENGTH_INVALID, SUCCESS } from "./_status.ts";
import { commandClass, type HostKey, type ReservationOutcome } from "./reservation.ts";
import type { Namespace, Subsystem } from "./subsystem.ts";

/** Reservation Conflict, DNR set (as Linux). */
export const RESERVATION_CONFLICT: number = statusOf(
  StatusCodeType.GENERIC,
  GenericStatus.RESERVATION_CONFLICT,
  true,
);
const HOST_ID_INCONSISTENT: number = statusOf(
  StatusCodeType.GENERIC,
  GenericStatus.HOST_IDENTIFIER_INCONSISTENT_FORMAT,
  true,
);

/** The most data a Register, Acquire or Release may carry (the keys are in the first bytes). */
const KEY_DATA_MAX = 4096;

/** What the reservation commands need of their controller. */
export interface ReservationContext {
  /** The controller's host. */
  readonly host: HostKey;
  /** Its subsystem. */
  readonly subsystem: Subsystem;
  /** MDTS in bytes. */
  readonly maxTransferSize: number;
}

/**
 * Runs a reservation command, or checks another I/O command against the namespace's
 * reservation.
 *
 * @param qp The I/O queue pair.
 * @param cmd The command.
 * @param opcode Its opcode.
 * @param ns The namespace its NSID names; undefined when none is active.
 * @param ctx The controller.
 * @returns The status of a reservation command (or NO_RESPONSE when the transport completed
 *   it); RESERVATION_CONFLICT for a command the reservation forbids; undefined to run it.
 */
export function reservationGate(
  qp: QueuePair,
  cmd: CommandCapsule,
  opcode: number,
  ns: Namespace | undefined,
  ctx: ReservationContext,
): Promise<number> | number | undefined {
  switch (opcode) {
    case NvmOpcode.RESERVATION_REGISTER:
    case NvmOpcode.RESERVATION_ACQUIRE:
    case NvmOpcode.RESERVATION_RELEASE:
    case NvmOpcode.RESERVATION_REPORT:
      return ns === undefined ? INVALID_NS : reservationCommand(qp, cmd, opcode, ns, ctx);
  }
  if (ns === undefined || ns.reservation.rtype === 0) return undefined;
  return ns.reservation.allows(ctx.host, commandClass(opcode)) ? undefined : RESERVATION_CONFLICT;
}

/**
 * Whether a Flush of every namespace (NSID FFFFFFFFh) may run: not when a reservation of any
 * namespace forbids the host writes.
 *
 * @param ctx The controller.
 * @returns True to run it.
 */
export function flushAllAllowed(ctx: ReservationContext): boolean {
  const cls = commandClass(NvmOpcode.FLUSH);
  return ctx.subsystem.namespaces.every((ns) => ns.reservation.allows(ctx.host, cls));
}

async function keyData(qp: QueuePair, cmd: CommandCapsule, size: number) {
  const length = qp.capsuleDataLength(cmd);
  if (length < size || length > KEY_DATA_MAX) return undefined;
  const data = new Uint8Array(length);
  await qp.receiveControllerData(cmd, 0, data);
  return data;
}

function statusOfOutcome(ns: Namespace, out: ReservationOutcome, ctx: ReservationContext) {
  if (out.result === "conflict") return RESERVATION_CONFLICT;
  if (out.result === "invalid-field") return INVALID_FIELD;
  deliverNotices(ctx.subsystem, ns.nsid, out.notices);
  return SUCCESS;
}

async function reservationCommand(
  qp: QueuePair,
  cmd: CommandCapsule,
  opcode: number,
  ns: Namespace,
  ctx: ReservationContext,
): Promise<number> {
  const sqe = cmd.sqe;
  const cdw10 = u32(sqe, SQE_CDW10);
  const state = ns.reservation;
  const f = decodeReservationCdw10(cdw10);
  switch (opcode) {
    case NvmOpcode.RESERVATION_REGISTER: {
      const data = await keyData(qp, cmd, RESERVATION_REGISTER_DATA_SIZE);
      if (data === undefined) return SGL_LENGTH_INVALID;
      const { crkey, nrkey } = decodeReservationRegisterData(data);
      return statusOfOutcome(ns, state.register(ctx.host, { ...f, crkey, nrkey }), ctx);
    }
    case NvmOpcode.RESERVATION_ACQUIRE: {
      const data = await keyData(qp, cmd, RESERVATION_ACQUIRE_DATA_SIZE);
      if (data === undefined) return SGL_LENGTH_INVALID;
      const { crkey, prkey } = decodeReservationAcquireData(data);
      return statusOfOutcome(ns, state.acquire(ctx.host, { ...f, crkey, prkey }), ctx);
    }
    case NvmOpcode.RESERVATION_RELEASE: {
      const data = await keyData(qp, cmd, RESERVATION_RELEASE_DATA_SIZE);
      if (data === undefined) return SGL_LENGTH_INVALID;
      const crkey = decodeReservationReleaseData(data);
      return statusOfOutcome(ns, state.release(ctx.host, { ...f, crkey }), ctx);
    }
    default:
      return await report(qp, cmd, state, ctx);
  }
}

async function report(
  qp: QueuePair,
  cmd: CommandCapsule,
  state: Namespace["reservation"],
  ctx: ReservationContext,
): Promise<number> {
  const sqe = cmd.sqe;
  const length = (u32(sqe, SQE_CDW10) + 1) * 4; // NUMD is 0's based
  if (length > ctx.maxTransferSize) return INVALID_FIELD;
  if (qp.capsuleDataLength(cmd) !== length) return SGL_LENGTH_INVALID;
  // Host identifiers are 128-bit here: the standard data structure cannot carry them (Base
  // 8.19, as Linux).
  if ((u32(sqe, SQE_CDW11) & ReservationBits.EDS) === 0) return HOST_ID_INCONSISTENT;
  const full = encodeReservationStatus(state.report(), true);
  let data = full;
  if (full.length !== length) {
    data = new Uint8Array(length);
    data.set(full.subarray(0, Math.min(length, full.length)));
  }
  const outcome = await qp.sendControllerData(cmd, 0, data, true);
  return outcome === "success-sent" ? NO_RESPONSE : SUCCESS;
}

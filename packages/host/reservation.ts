/**
 * Reservations, host side (NVM Express Base 2.0 8.19): what the `Namespace.reservation*`
 * methods take — {@linkcode ReservationRegisterOptions}, {@linkcode ReservationAcquireOptions},
 * {@linkcode ReservationReleaseOptions}, {@linkcode ReservationReportOptions} — and the
 * commands they build, and the reading of the Reservation Notification log page (80h) when the
 * controller reports one with an asynchronous event (`AsyncEvent.reservations`).
 *
 * @example Usage
 * ```ts
 * import { connect } from "@nvmf/host";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import { ReservationType } from "@nvmf/proto";
 * import { loopback } from "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 *
 * const target = new Target();
 * const subnqn = "nqn.2026-01.dev.nvmf:resv-doc";
 * target.addSubsystem({ nqn: subnqn, namespaces: [{ backend: new RamBackend({ size: 1 << 20 }) }] });
 * await target.listen(loopback, { traddr: "resv-doc" });
 * const ctrl = await connect({ transport: loopback, address: { traddr: "resv-doc" }, subnqn });
 * const ns = await ctrl.namespace(1);
 * await ns.reservationRegister({ nrkey: 0xabcn });
 * await ns.reservationAcquire({ crkey: 0xabcn, rtype: ReservationType.WRITE_EXCLUSIVE });
 * const status = await ns.reservationReport();
 * assert.equal(status.rtype, ReservationType.WRITE_EXCLUSIVE);
 * assert.equal(status.registrants[0].holder, true);
 * await ns.reservationRelease({ crkey: 0xabcn, rtype: ReservationType.WRITE_EXCLUSIVE });
 * await ctrl.close();
 * await target.close();
 * ```
 *
 * @module
 */

import {
  decodeReservationNotification,
  decodeReservationStatus,
  encodeReservationAcquireData,
  encodeReservationRegisterData,
  encodeReservationReleaseData,
  LogPageId,
  NvmOpcode,
  RESERVATION_NOTIFICATION_LOG_SIZE,
  RESERVATION_STATUS_EXTENDED_HEADER_SIZE,
  RESERVATION_STATUS_HEADER_SIZE,
  reservationCdw10,
  type ReservationNotification,
  ReservationNotificationType,
  type ReservationStatus,
  reservationStatusSize,
} from "@nvmf/proto";
import { Command } from "./_queue.ts";
import type { IoPath } from "./namespace.ts";

/** Reservation Register: register (default), unregister or replace a key. */
export interface ReservationRegisterOptions {
  /** RREGA, `ReservationRegisterAction` (default 0, register). */
  action?: number;
  /** Current key (unregister, replace). */
  crkey?: bigint;
  /** New key (register, replace). */
  nrkey?: bigint;
  /** Ignore Existing Key: unregister or replace without the current key. */
  iekey?: boolean;
  /** CPTPL, `ReservationCptpl` (default 0, no change). */
  cptpl?: number;
}

/** Reservation Acquire: acquire (default), preempt, or preempt and abort. */
export interface ReservationAcquireOptions {
  /** RACQA, `ReservationAcquireAction` (default 0, acquire). */
  action?: number;
  /** The reservation type, `ReservationType`. */
  rtype: number;
  /** This host's current key. */
  crkey: bigint;
  /** The key to preempt (preempt, preempt and abort). */
  prkey?: bigint;
  /** IEKEY (controllers that follow revision 1.3 refuse it). */
  iekey?: boolean;
}

/** Reservation Release: release (default) or clear. */
export interface ReservationReleaseOptions {
  /** RRELA, `ReservationReleaseAction` (default 0, release). */
  action?: number;
  /** The type of the reservation released (default 0, what Clear takes). */
  rtype?: number;
  /** This host's current key. */
  crkey: bigint;
  /** IEKEY (controllers that follow revision 1.3 refuse it). */
  iekey?: boolean;
}

/** Reservation Report. */
export interface ReservationReportOptions {
  /** The extended data structure, 16-byte host identifiers (default true; NVMe over Fabrics). */
  extended?: boolean;
}

function keyCommand(
  io: IoPath,
  nsid: number,
  opcode: number,
  cdw10: number,
  data: Uint8Array,
): Promise<Uint8Array> {
  const c = new Command();
  c.opcode = opcode;
  c.nsid = nsid;
  c.cdw10 = cdw10;
  c.data = data;
  c.direction = "host-to-controller";
  c.timeoutMs = io.timeoutMs;
  io.submit(c);
  return c.promise;
}

/**
 * Sends Reservation Register (internal: `Namespace.reservationRegister`).
 *
 * @param io The I/O path.
 * @param nsid The namespace.
 * @param o The options.
 * @returns Settles on success.
 */
export async function reservationRegister(
  io: IoPath,
  nsid: number,
  o: ReservationRegisterOptions,
): Promise<void> {
  const cdw10 = reservationCdw10({ action: o.action ?? 0, iekey: o.iekey, cptpl: o.cptpl });
  const data = encodeReservationRegisterData({ crkey: o.crkey, nrkey: o.nrkey });
  await keyCommand(io, nsid, NvmOpcode.RESERVATION_REGISTER, cdw10, data);
}

/**
 * Sends Reservation Acquire (internal: `Namespace.reservationAcquire`).
 *
 * @param io The I/O path.
 * @param nsid The namespace.
 * @param o The options.
 * @returns Settles on success.
 */
export async function reservationAcquire(
  io: IoPath,
  nsid: number,
  o: ReservationAcquireOptions,
): Promise<void> {
  const cdw10 = reservationCdw10({ action: o.action ?? 0, iekey: o.iekey, rtype: o.rtype });
  const data = encodeReservationAcquireData({ crkey: o.crkey, prkey: o.prkey });
  await keyCommand(io, nsid, NvmOpcode.RESERVATION_ACQUIRE, cdw10, data);
}

/**
 * Sends Reservation Release (internal: `Namespace.reservationRelease`).
 *
 * @param io The I/O path.
 * @param nsid The namespace.
 * @param o The options.
 * @returns Settles on success.
 */
export async function reservationRelease(
  io: IoPath,
  nsid: number,
  o: ReservationReleaseOptions,
): Promise<void> {
  const cdw10 = reservationCdw10({ action: o.action ?? 0, iekey: o.iekey, rtype: o.rtype });
  const data = encodeReservationReleaseData(o.crkey);
  await keyCommand(io, nsid, NvmOpcode.RESERVATION_RELEASE, cdw10, data);
}

/**
 * Sends Reservation Report: first for room for 63 registrants, then, when more are
 * registered, again for all (internal: `Namespace.reservationReport`).
 *
 * @param io The I/O path.
 * @param nsid The namespace.
 * @param maxTransferSize MDTS in bytes.
 * @param o The options.
 * @returns The reservation status, every registrant listed that fits in MDTS.
 */
export async function reservationReport(
  io: IoPath,
  nsid: number,
  maxTransferSize: number,
  o: ReservationReportOptions = {},
): Promise<ReservationStatus> {
  const extended = o.extended ?? true;
  const report = async (length: number) => {
    const c = new Command();
    c.opcode = NvmOpcode.RESERVATION_REPORT;
    c.nsid = nsid;
    c.cdw10 = length / 4 - 1; // NUMD is 0's based
    c.cdw11 = extended ? 1 : 0;
    c.data = new Uint8Array(length);
    c.direction = "controller-to-host";
    c.timeoutMs = io.timeoutMs;
    c.retry = true;
    io.submit(c);
    await c.promise;
    return decodeReservationStatus(c.data, extended);
  };
  const limit = Math.max(
    Math.min(4096, maxTransferSize),
    extended ? RESERVATION_STATUS_EXTENDED_HEADER_SIZE : RESERVATION_STATUS_HEADER_SIZE,
  );
  const status = await report(limit);
  const regctl = status.regctl ?? 0;
  if (regctl <= status.registrants.length) return status;
  const all = Math.min(reservationStatusSize(regctl, extended), maxTransferSize);
  return all > limit ? await report(all - (all % 4)) : status;
}

/** The most pages read for one event (the controller keeps at most a queue of them). */
const NOTIFICATION_READS_MAX = 256;

/**
 * Reads the Reservation Notification log page until it is empty (or says no more are
 * available), as a host does after a Reservation Log Page Available event.
 *
 * @param getLogPage The controller's Get Log Page.
 * @returns The notifications, oldest first.
 */
export async function readReservationNotifications(
  getLogPage: (lid: number, options: { length: number }) => Promise<Uint8Array>,
): Promise<ReservationNotification[]> {
  const out: ReservationNotification[] = [];
  for (let i = 0; i < NOTIFICATION_READS_MAX; i++) {
    const page = decodeReservationNotification(
      await getLogPage(LogPageId.RESERVATION_NOTIFICATION, {
        length: RESERVATION_NOTIFICATION_LOG_SIZE,
      }),
    );
    if (page.type === ReservationNotificationType.EMPTY) break;
    out.push(page);
    if (page.available === 0) break;
  }
  return out;
}

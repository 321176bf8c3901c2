/**
 * A controller's side of reservations: its Reservation Notification log (80h, a queue of
 * 64-byte pages read one at a time, as Linux's nvmet keeps a kfifo of 64), its Reservation
 * Notification Mask (feature 82h, per namespace) and Reservation Persistence (83h, always off),
 * and the registry through which a reservation command on one controller notifies the
 * controllers of other hosts in the same subsystem. Private to the package.
 *
 * @module
 */

import {
  encodeReservationNotification,
  FEATURE_RESERVATION_PTPL,
  FeatureId,
  NSID_BROADCAST,
  ReservationNotificationMask,
  ReservationNotificationType,
} from "@nvmf/proto";
import { type HostKey, hostKey, type ReservationNotice } from "./reservation.ts";
import { INVALID_FIELD, INVALID_NS } from "./_status.ts";
import type { Subsystem } from "./subsystem.ts";

/** Pages kept before new notifications are counted as lost (Linux: NVMET_PR_LOG_QUEUE_SIZE). */
export const RESERVATION_LOG_QUEUE = 64;

const MASK_ALL = ReservationNotificationMask.REGPRE | ReservationNotificationMask.RESREL |
  ReservationNotificationMask.RESPRE;

/** The mask bit of a notification type (its bit number is the type). */
function maskBit(type: number): number {
  return 1 << type;
}

const peers = new WeakMap<Subsystem, Set<ControllerReservations>>();

/**
 * Hands notifications to the controllers of their hosts in a subsystem.
 *
 * @param subsystem The subsystem.
 * @param nsid The namespace.
 * @param notices What a reservation command produced.
 */
export function deliverNotices(
  subsystem: Subsystem,
  nsid: number,
  notices: readonly ReservationNotice[],
): void {
  if (notices.length === 0) return;
  for (const peer of peers.get(subsystem) ?? []) {
    for (const n of notices) if (n.host === peer.host) peer.notice(nsid, n.type);
  }
}

/** The reservation side of one I/O controller. */
export class ControllerReservations {
  /** The controller's host. */
  readonly host: HostKey;
  readonly #subsystem: Subsystem;
  readonly #raise: () => void;
  readonly #masks = new Map<number, number>();
  readonly #queue: { count: bigint; type: number; nsid: number }[] = [];
  #counter = 0n;
  #lost = false;

  /**
   * Joins a subsystem's registry.
   *
   * @param subsystem The controller's subsystem.
   * @param hostid Its host identifier.
   * @param raise Called when a page is queued: raises the asynchronous event.
   */
  constructor(subsystem: Subsystem, hostid: Uint8Array, raise: () => void) {
    this.host = hostKey(hostid);
    this.#subsystem = subsystem;
    this.#raise = raise;
    let set = peers.get(subsystem);
    if (set === undefined) peers.set(subsystem, set = new Set());
    set.add(this);
  }

  /** Leaves the registry (the controller is gone). */
  close(): void {
    peers.get(this.#subsystem)?.delete(this);
    this.#queue.length = 0;
  }

  /**
   * Queues a notification unless masked, and raises the event.
   *
   * @param nsid The namespace.
   * @param type `ReservationNotificationType`.
   */
  notice(nsid: number, type: number): void {
    if (((this.#masks.get(nsid) ?? 0) & maskBit(type)) !== 0) return;
    this.#counter = BigInt.asUintN(64, this.#counter + 1n) || 1n; // 0 means an empty page
    if (this.#queue.length >= RESERVATION_LOG_QUEUE) {
      this.#lost = true;
    } else {
      this.#queue.push({ count: this.#counter, type, nsid });
    }
    this.#raise();
  }

  /**
   * The Reservation Notification log page: the oldest page, removed (an empty page when none).
   * When pages were lost, the last page carries the latest count, so the host sees the gap.
   *
   * @returns 64 bytes.
   */
  readLog(): Uint8Array {
    const page = this.#queue.shift();
    if (page === undefined) {
      return encodeReservationNotification({
        count: 0n,
        type: ReservationNotificationType.EMPTY,
        available: 0,
        nsid: 0,
      });
    }
    let count = page.count;
    if (this.#queue.length === 0 && this.#lost) {
      count = this.#counter;
      this.#lost = false;
    }
    return encodeReservationNotification({
      count,
      type: page.type,
      available: Math.min(this.#queue.length, 0xff),
      nsid: page.nsid,
    });
  }

  /**
   * Get or Set Features 82h (Reservation Notification Mask) and 83h (Reservation Persistence).
   *
   * @param set True for Set Features.
   * @param fid The feature.
   * @param nsid The command's NSID.
   * @param cdw11 The value (Set).
   * @returns DW0 of the completion (0 or more), or a CQE status negated.
   */
  feature(set: boolean, fid: number, nsid: number, cdw11: number): number {
    const sub = this.#subsystem;
    if (fid === FeatureId.RESERVATION_PERSISTENCE) {
      // Reservations live in memory: PTPL is off and cannot be turned on (RESCAP.PTPLS 0).
      if (nsid !== NSID_BROADCAST && sub.namespace(nsid) === undefined) return -INVALID_NS;
      if (set && (cdw11 & FEATURE_RESERVATION_PTPL) !== 0) return -INVALID_FIELD;
      return 0;
    }
    if (set) {
      if ((cdw11 & ~MASK_ALL) !== 0) return -INVALID_FIELD;
      if (nsid === NSID_BROADCAST) {
        for (const ns of sub.namespaces) this.#masks.set(ns.nsid, cdw11);
        return cdw11;
      }
      if (sub.namespace(nsid) === undefined) return -INVALID_NS;
      this.#masks.set(nsid, cdw11);
      return cdw11;
    }
    if (sub.namespace(nsid) === undefined) return -INVALID_NS;
    return this.#masks.get(nsid) ?? 0;
  }
}

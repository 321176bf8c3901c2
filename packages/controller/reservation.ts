/**
 * The reservation state of one namespace (NVM Express Base 2.0 8.19) as a pure state machine:
 * registrants (hosts, by Host Identifier, across all their controllers) with their keys, the
 * holder and type of the reservation, the generation; the Register, Acquire and Release rules;
 * and the access table that says which commands a host may run under a reservation.
 *
 * The rules are those of Linux's `drivers/nvme/target/pr.c` except where the specification
 * and SPDK say otherwise (each such place says so):
 * - Register: registering again with the same key succeeds, with another key conflicts;
 *   Unregister and Replace need the current key unless IEKEY is set. CPTPL "set" (11b) and
 *   the reserved 01b are Invalid Field: reservations do not persist through power loss (they
 *   live in memory; RESCAP.PTPLS is 0); "clear" (10b) and "no change" succeed.
 * - Acquire and Release refuse IEKEY (RESCAP.IEKEY13, as Linux) and an RTYPE outside 1 to 6.
 * - In the All Registrants types every registrant is a holder: any of them may release the
 *   reservation, and Report flags all of them.
 * - Release with an RTYPE that is not the reservation's fails with Invalid Field (the
 *   specification and SPDK; Linux says Reservation Conflict). An unknown action is Invalid
 *   Field (Linux says Invalid Opcode).
 * - Preempt follows Linux case by case (no reservation, All Registrants, the holder itself,
 *   PRKEY the holder's, PRKEY another registrant's, PRKEY 0).
 *
 * Outcomes carry the notifications to send (the Reservation Notification log page types:
 * registration preempted, reservation released, reservation preempted) by host; the
 * controller package delivers them to the controllers of those hosts.
 *
 * @example Usage
 * ```ts
 * import { CommandClass, hostKey, ReservationState } from "@nvmf/controller";
 * import { ReservationType } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const a = hostKey(new Uint8Array(16).fill(0xa));
 * const b = hostKey(new Uint8Array(16).fill(0xb));
 * const ns = new ReservationState();
 * assert.equal(ns.register(a, { action: 0, crkey: 0n, nrkey: 1n }).result, "success");
 * ns.acquire(a, { action: 0, rtype: ReservationType.WRITE_EXCLUSIVE, crkey: 1n, prkey: 0n });
 * assert.equal(ns.allows(a, CommandClass.WRITE), true);
 * assert.equal(ns.allows(b, CommandClass.WRITE), false);
 * assert.equal(ns.allows(b, CommandClass.READ), true);
 * ```
 *
 * @module
 */

import {
  NvmOpcode,
  Rescap,
  ReservationAcquireAction,
  ReservationCptpl,
  ReservationNotificationType,
  ReservationRegisterAction,
  ReservationReleaseAction,
  type ReservationStatus,
  ReservationType,
} from "@nvmf/proto";

/**
 * RESCAP of Identify Namespace: the six types and IEKEY as revision 1.3 defines it (as Linux);
 * not Persist Through Power Loss.
 */
export const RESCAP: number = Rescap.WRITE_EXCLUSIVE | Rescap.EXCLUSIVE_ACCESS |
  Rescap.WRITE_EXCLUSIVE_REGISTRANTS_ONLY | Rescap.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY |
  Rescap.WRITE_EXCLUSIVE_ALL_REGISTRANTS | Rescap.EXCLUSIVE_ACCESS_ALL_REGISTRANTS |
  Rescap.IEKEY_1_3;

/** The reservation commands (Commands Supported and Effects: supported, no LBA change). */
export const RESERVATION_OPCODES: readonly number[] = [
  NvmOpcode.RESERVATION_REGISTER,
  NvmOpcode.RESERVATION_REPORT,
  NvmOpcode.RESERVATION_ACQUIRE,
  NvmOpcode.RESERVATION_RELEASE,
];

/** A host as a registrant knows it: its 16-byte Host Identifier as 32 hex digits. */
export type HostKey = string;

/**
 * The key of a host identifier.
 *
 * @param hostid 16 bytes.
 * @returns 32 lowercase hex digits.
 */
export function hostKey(hostid: Uint8Array): HostKey {
  let s = "";
  for (const b of hostid) s += b.toString(16).padStart(2, "0");
  return s;
}

function hostidOf(key: HostKey): Uint8Array {
  const out = new Uint8Array(key.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(key.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The reservation command group of a command (NVM Command Set 1.0, reservations). */
export const CommandClass = {
  /** Not subject to reservations (the reservation commands, admin commands). */
  NONE: 0,
  /** Read command group: Read, Compare, Verify. */
  READ: 1,
  /** Write command group: Write, Write Zeroes, Dataset Management, Flush, Write Uncorrectable, Copy. */
  WRITE: 2,
} as const;

/**
 * The reservation command group of an NVM opcode.
 *
 * @param opcode The I/O command's opcode.
 * @returns A {@linkcode CommandClass} value.
 */
export function commandClass(opcode: number): number {
  switch (opcode) {
    case NvmOpcode.READ:
    case NvmOpcode.COMPARE:
    case NvmOpcode.VERIFY:
      return CommandClass.READ;
    case NvmOpcode.WRITE:
    case NvmOpcode.WRITE_ZEROES:
    case NvmOpcode.DATASET_MANAGEMENT:
    case NvmOpcode.FLUSH:
    case NvmOpcode.WRITE_UNCORRECTABLE:
    case NvmOpcode.COPY:
      return CommandClass.WRITE;
    default:
      return CommandClass.NONE;
  }
}

/** A host's role under a reservation. */
export type ReservationRole = "holder" | "registrant" | "other";

const ALL_REGISTRANTS = (rtype: number) =>
  rtype === ReservationType.WRITE_EXCLUSIVE_ALL_REGISTRANTS ||
  rtype === ReservationType.EXCLUSIVE_ACCESS_ALL_REGISTRANTS;

/**
 * The access table of Base 2.0 8.19 ("Command Behavior in the Presence of a Reservation"):
 * whether a command of a group may run for a host of a role under a reservation type.
 *
 * @param rtype The reservation type (1 to 6); 0 for none.
 * @param role The host's role.
 * @param cls The command's {@linkcode CommandClass}.
 * @returns True when allowed; false for Reservation Conflict.
 */
export function reservationAllows(rtype: number, role: ReservationRole, cls: number): boolean {
  if (rtype === 0 || cls === CommandClass.NONE || role === "holder") return true;
  switch (rtype) {
    case ReservationType.WRITE_EXCLUSIVE:
      return cls === CommandClass.READ;
    case ReservationType.EXCLUSIVE_ACCESS:
      return false;
    case ReservationType.WRITE_EXCLUSIVE_REGISTRANTS_ONLY:
    case ReservationType.WRITE_EXCLUSIVE_ALL_REGISTRANTS:
      return cls === CommandClass.READ || role === "registrant";
    case ReservationType.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY:
    case ReservationType.EXCLUSIVE_ACCESS_ALL_REGISTRANTS:
      return role === "registrant";
    default:
      return true;
  }
}

/** How a reservation command ends. */
export type ReservationResult = "success" | "conflict" | "invalid-field";

/** A notification for the controllers of one host. */
export interface ReservationNotice {
  /** The host. */
  host: HostKey;
  /** `ReservationNotificationType`. */
  type: number;
}

/** What a reservation command did. */
export interface ReservationOutcome {
  /** Its status. */
  result: ReservationResult;
  /** The notifications to send. */
  notices: ReservationNotice[];
  /** Hosts whose registration was removed by a preemption (for Preempt and Abort). */
  preempted: HostKey[];
}

/** Reservation Register: the CDW10 fields and the data. */
export interface RegisterRequest {
  /** RREGA. */
  action: number;
  /** IEKEY. */
  iekey?: boolean;
  /** CPTPL. */
  cptpl?: number;
  /** CRKEY. */
  crkey: bigint;
  /** NRKEY. */
  nrkey: bigint;
}

/** Reservation Acquire: the CDW10 fields and the data. */
export interface AcquireRequest {
  /** RACQA. */
  action: number;
  /** IEKEY. */
  iekey?: boolean;
  /** RTYPE. */
  rtype: number;
  /** CRKEY. */
  crkey: bigint;
  /** PRKEY. */
  prkey: bigint;
}

/** Reservation Release: the CDW10 fields and the data. */
export interface ReleaseRequest {
  /** RRELA. */
  action: number;
  /** IEKEY. */
  iekey?: boolean;
  /** RTYPE. */
  rtype: number;
  /** CRKEY. */
  crkey: bigint;
}

/**
 * The reservation state of a namespace; {@linkcode Namespace.reservation} holds one.
 *
 * @example Usage
 * ```ts
 * import { hostKey, ReservationState } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * const ns = new ReservationState();
 * const a = hostKey(new Uint8Array(16).fill(1));
 * ns.register(a, { action: 0, crkey: 0n, nrkey: 7n });
 * assert.equal(ns.report().registrants[0].rkey, 7n);
 * assert.equal(ns.generation, 1);
 * ```
 */
export class ReservationState {
  /** Registrants and their keys, in registration order. */
  readonly #keys = new Map<HostKey, bigint>();
  /** The holder (in the All Registrants types: the registrant that acquired or inherited). */
  #holder: HostKey | undefined;
  #rtype = 0;
  #generation = 0;

  /** The reservation type; 0 when no reservation is held. */
  get rtype(): number {
    return this.#rtype;
  }

  /** The generation (GEN of Report). */
  get generation(): number {
    return this.#generation;
  }

  /** The registrants' host keys, in registration order. */
  get registrants(): HostKey[] {
    return [...this.#keys.keys()];
  }

  /**
   * A host's role.
   *
   * @param host The host.
   * @returns Holder, registrant or other.
   */
  role(host: HostKey): ReservationRole {
    if (!this.#keys.has(host)) return "other";
    const rtype = this.#rtype;
    if (rtype !== 0 && (this.#holder === host || ALL_REGISTRANTS(rtype))) return "holder";
    return "registrant";
  }

  /**
   * Whether a host may run a command of a group now.
   *
   * @param host The host.
   * @param cls The {@linkcode CommandClass}.
   * @returns False for Reservation Conflict.
   */
  allows(host: HostKey, cls: number): boolean {
    if (this.#rtype === 0 || cls === CommandClass.NONE) return true;
    return reservationAllows(this.#rtype, this.role(host), cls);
  }

  /**
   * Reservation Register.
   *
   * @param host The host sending it.
   * @param r Its fields.
   * @returns The outcome.
   */
  register(host: HostKey, r: RegisterRequest): ReservationOutcome {
    const out = outcome();
    const cptpl = r.cptpl ?? ReservationCptpl.NO_CHANGE;
    if (
      r.action > ReservationRegisterAction.REPLACE ||
      (cptpl !== ReservationCptpl.NO_CHANGE && cptpl !== ReservationCptpl.CLEAR)
    ) {
      return fail(out, "invalid-field");
    }
    const current = this.#keys.get(host);
    if (r.action === ReservationRegisterAction.REGISTER) {
      if (current !== undefined) {
        if (current !== r.nrkey) return fail(out, "conflict");
      } else {
        this.#keys.set(host, r.nrkey);
      }
    } else {
      if (current === undefined || (!r.iekey && current !== r.crkey)) return fail(out, "conflict");
      if (r.action === ReservationRegisterAction.UNREGISTER) this.#unregister(host, out);
      else this.#keys.set(host, r.nrkey);
    }
    this.#generation = (this.#generation + 1) >>> 0;
    return out;
  }

  /**
   * Reservation Acquire: acquire, preempt, preempt and abort.
   *
   * @param host The host sending it.
   * @param r Its fields.
   * @returns The outcome.
   */
  acquire(host: HostKey, r: AcquireRequest): ReservationOutcome {
    const out = outcome();
    if (
      r.iekey || r.action > ReservationAcquireAction.PREEMPT_AND_ABORT ||
      r.rtype < ReservationType.WRITE_EXCLUSIVE ||
      r.rtype > ReservationType.EXCLUSIVE_ACCESS_ALL_REGISTRANTS
    ) {
      return fail(out, "invalid-field");
    }
    if (this.#keys.get(host) !== r.crkey) return fail(out, "conflict");
    if (r.action === ReservationAcquireAction.ACQUIRE) {
      if (this.#rtype !== 0) {
        if (this.role(host) !== "holder" || this.#rtype !== r.rtype) return fail(out, "conflict");
        return out;
      }
      this.#holder = host;
      this.#rtype = r.rtype;
      return out;
    }
    this.#preempt(host, r.rtype, r.prkey, out);
    if (out.result === "success") this.#generation = (this.#generation + 1) >>> 0;
    return out;
  }

  #preempt(host: HostKey, rtype: number, prkey: bigint, out: ReservationOutcome): void {
    const original = this.#rtype;
    if (original === 0) {
      this.#unregisterByKey(host, prkey, out);
      return;
    }
    if (ALL_REGISTRANTS(original)) {
      if (prkey !== 0n) {
        this.#unregisterByKey(host, prkey, out);
        return;
      }
      // Holder first, then the others go: no moment without a holder (as Linux).
      this.#holder = host;
      this.#rtype = rtype;
      for (const other of [...this.#keys.keys()]) {
        if (other === host) continue;
        this.#unregister(other, out);
        out.preempted.push(other);
        out.notices.push({ host: other, type: ReservationNotificationType.REGISTRATION_PREEMPTED });
      }
      return;
    }
    const holder = this.#holder!;
    if (holder === host) {
      this.#rtype = rtype;
      if (original !== rtype) this.#notifyReleased(host, out);
      return;
    }
    if (prkey === this.#keys.get(holder)) {
      this.#holder = host;
      this.#rtype = rtype;
      for (const [other, key] of [...this.#keys]) {
        if (other === host || key !== prkey) continue;
        this.#unregister(other, out);
        out.preempted.push(other);
        out.notices.push({ host: other, type: ReservationNotificationType.REGISTRATION_PREEMPTED });
      }
      if (original !== rtype) this.#notifyReleased(host, out);
      return;
    }
    if (prkey !== 0n) {
      this.#unregisterByKey(host, prkey, out);
      return;
    }
    fail(out, "invalid-field");
  }

  /** Unregisters every registrant whose key is `prkey`; none is a conflict. */
  #unregisterByKey(host: HostKey, prkey: bigint, out: ReservationOutcome): void {
    let found = false;
    for (const [other, key] of [...this.#keys]) {
      if (key !== prkey) continue;
      found = true;
      this.#unregister(other, out);
      if (other !== host) {
        out.preempted.push(other);
        out.notices.push({ host: other, type: ReservationNotificationType.REGISTRATION_PREEMPTED });
      }
    }
    if (!found) fail(out, "conflict");
  }

  /** Removes a registrant; the reservation goes with its holder unless All Registrants. */
  #unregister(host: HostKey, out: ReservationOutcome): void {
    this.#keys.delete(host);
    if (this.#holder !== host) return;
    const rtype = this.#rtype;
    if (ALL_REGISTRANTS(rtype)) {
      const next = this.#keys.keys().next();
      this.#holder = next.done ? undefined : next.value;
      if (next.done) this.#rtype = 0;
      return;
    }
    this.#holder = undefined;
    this.#rtype = 0;
    if (
      rtype === ReservationType.WRITE_EXCLUSIVE_REGISTRANTS_ONLY ||
      rtype === ReservationType.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY
    ) {
      this.#notifyReleased(host, out);
    }
  }

  /** Reservation Released to every registrant but `host`. */
  #notifyReleased(host: HostKey, out: ReservationOutcome): void {
    for (const other of this.#keys.keys()) {
      if (other !== host) {
        out.notices.push({ host: other, type: ReservationNotificationType.RESERVATION_RELEASED });
      }
    }
  }

  /**
   * Reservation Release: release, clear.
   *
   * @param host The host sending it.
   * @param r Its fields.
   * @returns The outcome.
   */
  release(host: HostKey, r: ReleaseRequest): ReservationOutcome {
    const out = outcome();
    if (r.iekey || r.action > ReservationReleaseAction.CLEAR) return fail(out, "invalid-field");
    if (this.#keys.get(host) !== r.crkey) return fail(out, "conflict");
    if (r.action === ReservationReleaseAction.CLEAR) {
      for (const other of this.#keys.keys()) {
        if (other !== host) {
          out.notices.push({
            host: other,
            type: ReservationNotificationType.RESERVATION_PREEMPTED,
          });
        }
      }
      this.#keys.clear();
      this.#holder = undefined;
      this.#rtype = 0;
      this.#generation = (this.#generation + 1) >>> 0;
      return out;
    }
    const rtype = this.#rtype;
    if (rtype === 0 || this.role(host) !== "holder") return out; // no effect (Base 8.19)
    if (rtype !== r.rtype) return fail(out, "invalid-field");
    this.#holder = undefined;
    this.#rtype = 0;
    if (rtype !== ReservationType.WRITE_EXCLUSIVE && rtype !== ReservationType.EXCLUSIVE_ACCESS) {
      this.#notifyReleased(host, out);
    }
    return out;
  }

  /**
   * The Reservation Status a Reservation Report returns (extended: 16-byte host identifiers,
   * CNTLID FFFFh as every controller is dynamic).
   *
   * @returns Header and every registrant.
   */
  report(): ReservationStatus {
    return {
      generation: this.#generation,
      rtype: this.#rtype,
      ptpls: false,
      registrants: [...this.#keys].map(([host, rkey]) => ({
        cntlid: 0xffff,
        holder: this.role(host) === "holder",
        hostid: hostidOf(host),
        rkey,
      })),
    };
  }
}

function outcome(): ReservationOutcome {
  return { result: "success", notices: [], preempted: [] };
}

function fail(out: ReservationOutcome, result: ReservationResult): ReservationOutcome {
  out.result = result;
  out.notices.length = 0;
  out.preempted.length = 0;
  return out;
}

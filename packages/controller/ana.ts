/**
 * Asymmetric Namespace Access (NVM Express Base 2.0, 8.1): a subsystem's namespaces belong to
 * ANA groups, and each port of the subsystem gives each group a state — optimized,
 * non-optimized, inaccessible, persistent loss, or changing. A host with several paths (one
 * controller per port) reads the states from the ANA log page and sends I/O where it is
 * optimized. On by default, as Linux's nvmet: every namespace in group 1, optimized on every
 * port. `Target.setAnaState` changes a state at runtime (SPDK's
 * `nvmf_subsystem_listener_set_ana_state`), and every controller of the subsystem on that
 * port gets an ANA change event.
 *
 * @module
 */

import { AnaState, PathStatus, StatusCodeType, statusOf } from "@nvmf/proto";
import type { TransportAddress } from "@nvmf/transport";

/** ANA states by the names SPDK's JSON-RPC uses (`ana_state`). */
export type AnaStateName =
  | "optimized"
  | "non_optimized"
  | "inaccessible"
  | "persistent_loss"
  | "change";

/**
 * What `Target.setAnaState` takes: SPDK's `nvmf_subsystem_listener_set_ana_state` parameters.
 */
export interface SetAnaStateParams {
  /** The subsystem NQN. */
  nqn: string;
  /** The port's listen address (`traddr`, and `trsvcid` unless any port at `traddr` will do). */
  address: TransportAddress;
  /** The new state. */
  state: AnaStateName;
  /** The group; default every group of the subsystem, as SPDK. */
  anagrpid?: number;
}

/** Highest ANA group ID, ANAGRPMAX and NANAGRPID of Identify Controller (Linux: 128). */
export const ANA_GROUP_MAX = 128;
/** ANATT of Identify Controller, seconds a group may stay in change (Linux: 10). */
export const ANA_TRANSITION_TIME = 10;
/** The ANA group namespaces join unless told otherwise. */
export const ANA_DEFAULT_GROUP = 1;

const BY_NAME: Readonly<Record<AnaStateName, number>> = {
  optimized: AnaState.OPTIMIZED,
  non_optimized: AnaState.NON_OPTIMIZED,
  inaccessible: AnaState.INACCESSIBLE,
  persistent_loss: AnaState.PERSISTENT_LOSS,
  change: AnaState.CHANGE,
};

/**
 * The ANA state value of a name: SPDK's (`non_optimized`) or Linux configfs's
 * (`non-optimized`, `persistent-loss`).
 *
 * @param name The name.
 * @returns The `AnaState` value.
 * @throws {RangeError} When the name is none of them.
 * @example Usage
 * ```ts
 * import { anaStateValue } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * assert.equal(anaStateValue("inaccessible"), 3);
 * assert.equal(anaStateValue("non-optimized"), 2);
 * ```
 */
export function anaStateValue(name: string): number {
  const value = BY_NAME[name.replace(/-/g, "_") as AnaStateName];
  if (value === undefined) {
    throw new RangeError(
      `Cannot use ANA state ${JSON.stringify(name)}: expected one of ${
        Object.keys(BY_NAME).join(", ")
      }`,
    );
  }
  return value;
}

/**
 * The name of an ANA state value.
 *
 * @param value An `AnaState` value.
 * @returns Its SPDK name, or `"unknown"`.
 * @example Usage
 * ```ts
 * import { anaStateName } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * assert.equal(anaStateName(0x0f), "change");
 * ```
 */
export function anaStateName(value: number): AnaStateName | "unknown" {
  for (const [name, v] of Object.entries(BY_NAME)) if (v === value) return name as AnaStateName;
  return "unknown";
}

/**
 * Checks an ANA group ID.
 *
 * @param grpid The ID.
 * @param field Name for the message.
 * @returns It.
 * @throws {RangeError} Unless it is an integer 1 to {@linkcode ANA_GROUP_MAX}.
 */
export function checkAnaGroup(grpid: number, field = "anagrpid"): number {
  if (!Number.isInteger(grpid) || grpid < 1 || grpid > ANA_GROUP_MAX) {
    throw new RangeError(
      `Cannot use ${field} ${grpid}: it must be an integer 1 to ${ANA_GROUP_MAX}`,
    );
  }
  return grpid;
}

const PATH = StatusCodeType.PATH_RELATED;
/** Status of I/O to a namespace whose group is inaccessible on the path (no DNR: retry elsewhere). */
export const ANA_INACCESSIBLE: number = statusOf(PATH, PathStatus.ASYMMETRIC_ACCESS_INACCESSIBLE);
/** Status of I/O to a namespace whose group is in persistent loss on the path. */
export const ANA_PERSISTENT_LOSS: number = statusOf(
  PATH,
  PathStatus.ASYMMETRIC_ACCESS_PERSISTENT_LOSS,
);
/** Status of I/O to a namespace whose group is changing state on the path. */
export const ANA_TRANSITION: number = statusOf(PATH, PathStatus.ASYMMETRIC_ACCESS_TRANSITION);

/**
 * The status I/O gets on a path in an ANA state, as Linux's `nvmet_check_ana_state`.
 *
 * @param state The group's state on the port.
 * @returns 0 when I/O is served, else the CQE status (SCT 3).
 */
export function anaStatus(state: number): number {
  if (state === AnaState.OPTIMIZED || state === AnaState.NON_OPTIMIZED) return 0;
  if (state === AnaState.INACCESSIBLE) return ANA_INACCESSIBLE;
  if (state === AnaState.PERSISTENT_LOSS) return ANA_PERSISTENT_LOSS;
  return ANA_TRANSITION;
}

/**
 * The ANA states of one subsystem: per port, per group, with the change counts of the ANA log
 * page. Groups a port has not been told about are optimized there.
 *
 * @example Usage
 * ```ts
 * import { AnaGroups } from "@nvmf/controller";
 * import { AnaState } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const ana = new AnaGroups();
 * assert.equal(ana.states(1)[1], AnaState.OPTIMIZED);
 * assert.equal(ana.set(1, 1, AnaState.INACCESSIBLE), true);
 * assert.equal(ana.set(1, 1, AnaState.INACCESSIBLE), false);
 * assert.equal(ana.changeCount, 1n);
 * assert.equal(ana.states(2)[1], AnaState.OPTIMIZED);
 * ```
 */
export class AnaGroups {
  readonly #ports = new Map<number, Uint8Array>();
  readonly #groupChanges = new Map<number, bigint>();
  readonly #configured = new Set<number>([ANA_DEFAULT_GROUP]);
  #changeCount = 0n;

  /** The change count of the ANA log page: one more for every state that changed. */
  get changeCount(): bigint {
    return this.#changeCount;
  }

  /**
   * The states of every group on a port, indexed by group ID (index 0 unused). The array is
   * live: the controllers of the port read it on every I/O command.
   *
   * @param portid The port.
   * @returns The states.
   */
  states(portid: number): Uint8Array {
    let states = this.#ports.get(portid);
    if (states === undefined) {
      states = new Uint8Array(ANA_GROUP_MAX + 1).fill(AnaState.OPTIMIZED);
      this.#ports.set(portid, states);
    }
    return states;
  }

  /**
   * Sets a group's state on a port.
   *
   * @param portid The port.
   * @param grpid The group.
   * @param state An `AnaState` value.
   * @returns True when the state changed.
   * @throws {RangeError} When the group ID or state is invalid.
   */
  set(portid: number, grpid: number, state: number): boolean {
    checkAnaGroup(grpid);
    if (!Object.values(AnaState).includes(state as never)) {
      throw new RangeError(`Cannot set ANA state ${state}: it is not an ANA state`);
    }
    this.#configured.add(grpid);
    const states = this.states(portid);
    if (states[grpid] === state) return false;
    states[grpid] = state;
    this.#changeCount++;
    this.#groupChanges.set(grpid, this.#changeCount);
    return true;
  }

  /**
   * The change count of a group (the page's count when it last changed; 0 when never).
   *
   * @param grpid The group.
   * @returns The count.
   */
  groupChangeCount(grpid: number): bigint {
    return this.#groupChanges.get(grpid) ?? 0n;
  }

  /**
   * The groups to report: group 1, those given a state, and those of `inUse` (the groups of
   * the namespaces), ascending.
   *
   * @param inUse Group IDs the namespaces use.
   * @returns Group IDs.
   */
  groups(inUse: Iterable<number>): number[] {
    const all = new Set(this.#configured);
    for (const g of inUse) all.add(g);
    return [...all].sort((a, b) => a - b);
  }

  /**
   * Forgets a closed port's states.
   *
   * @param portid The port.
   */
  forgetPort(portid: number): void {
    this.#ports.delete(portid);
  }
}

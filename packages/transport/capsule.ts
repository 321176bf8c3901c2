/**
 * Capsules: the unit a queue pair carries. A command capsule holds a 64-byte SQE and, on the
 * host side, at most one data buffer with its direction; a response capsule holds a 16-byte
 * CQE (NVMe over Fabrics 1.1, 2.1).
 *
 * Buffers are handed over, not copied: after `transmit()` the sender must not change the SQE,
 * CQE or data until the command completes (the host receives its response), and a receiver
 * owns what it receives.
 *
 * @module
 */

import { CQE_SIZE, SQE_SIZE } from "@nvmf/proto";

/** Which way a command's data moves. */
export type DataDirection = "host-to-controller" | "controller-to-host";

/** A command capsule: an SQE and, on the host side, an optional data buffer. */
export interface CommandCapsule {
  /** Discriminates commands from responses. */
  readonly kind: "command";
  /** The 64-byte submission queue entry. The transport fills DPTR (the SGL) on transmit. */
  readonly sqe: Uint8Array;
  /**
   * Host side: the command's data. For host-to-controller it is sent (in-capsule or on
   * request); for controller-to-host the transport writes into it. Undefined on capsules a
   * controller receives: it moves data with `receiveControllerData`/`sendControllerData`.
   */
  readonly data: Uint8Array | undefined;
  /** Direction of {@linkcode CommandCapsule.data}; undefined when there is none. */
  readonly direction: DataDirection | undefined;
}

/** A response capsule: a CQE. */
export interface ResponseCapsule {
  /** Discriminates responses from commands. */
  readonly kind: "response";
  /** The 16-byte completion queue entry. */
  readonly cqe: Uint8Array;
  /**
   * Host side, set by the transport: why it turned the controller's successful completion into
   * a Data Transfer Error (the data moved did not cover the command's buffer). Absent normally.
   */
  readonly fault?: string;
}

/** A command or a response. */
export type Capsule = CommandCapsule | ResponseCapsule;

/**
 * Makes a command capsule for a host to transmit.
 *
 * @param sqe The 64-byte SQE (CID set by the caller; the transport writes DPTR).
 * @param data At most one data buffer.
 * @param direction Direction of `data`; required when `data` is given.
 * @returns The capsule.
 * @throws {RangeError} When the SQE is not 64 bytes or `data` comes without a direction.
 * @example Usage
 * ```ts
 * import { commandCapsule } from "@nvmf/transport";
 * import assert from "node:assert/strict";
 * const c = commandCapsule(new Uint8Array(64), new Uint8Array(4096), "controller-to-host");
 * assert.equal(c.kind, "command");
 * assert.equal(c.data?.length, 4096);
 * ```
 */
export function commandCapsule(
  sqe: Uint8Array,
  data?: Uint8Array,
  direction?: DataDirection,
): CommandCapsule {
  if (sqe.length !== SQE_SIZE) {
    throw new RangeError(`Cannot make a command capsule: the SQE is ${sqe.length} bytes, not 64`);
  }
  if (data !== undefined && direction === undefined) {
    throw new RangeError("Cannot make a command capsule: data needs a direction");
  }
  return {
    kind: "command",
    sqe,
    data,
    direction: data === undefined ? undefined : direction,
  };
}

/**
 * Makes a response capsule for a controller to transmit.
 *
 * @param cqe The 16-byte CQE (the transport fills SQHD per the queue's flow control).
 * @returns The capsule.
 * @throws {RangeError} When the CQE is not 16 bytes.
 * @example Usage
 * ```ts
 * import { responseCapsule } from "@nvmf/transport";
 * import assert from "node:assert/strict";
 * assert.equal(responseCapsule(new Uint8Array(16)).kind, "response");
 * ```
 */
export function responseCapsule(cqe: Uint8Array): ResponseCapsule {
  if (cqe.length !== CQE_SIZE) {
    throw new RangeError(`Cannot make a response capsule: the CQE is ${cqe.length} bytes, not 16`);
  }
  return { kind: "response", cqe };
}

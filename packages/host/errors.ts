/**
 * Errors of the host beyond those of the layers below: a command that outlived its timeout
 * ({@linkcode CommandTimeoutError}), an association given up after the controller-loss timeout
 * ({@linkcode ControllerLostError}), and a controller that misbehaved while the host set the
 * association up or shut it down ({@linkcode ControllerError}).
 *
 * A command that completed with an error status rejects with `NvmeStatusError` from
 * `@nvmf/proto`; a broken connection is a `TransportError` from `@nvmf/transport`.
 *
 * @example Usage
 * ```ts
 * import { CommandTimeoutError } from "@nvmf/host";
 * import assert from "node:assert/strict";
 * const e = new CommandTimeoutError({ qid: 1, cid: 7, opcode: 0x02, admin: false, timeoutMs: 30000 });
 * assert.equal(e.message, "Cannot complete READ (qid 1, cid 7): no response within 30000 ms");
 * ```
 *
 * @module
 */

import { AdminOpcode, FABRICS_OPCODE, FabricsType, nameOf, NvmOpcode } from "@nvmf/proto";
import { hex } from "@nvmf/proto/bytes";

/**
 * The name of a command for messages: `READ`, `IDENTIFY`, `PROPERTY_GET`, or the opcode in hex.
 *
 * @param opcode The opcode.
 * @param admin True for an admin command.
 * @param fctype The Fabrics command type, for opcode 7Fh.
 * @returns The name.
 * @example Usage
 * ```ts
 * import { commandName } from "@nvmf/host";
 * import assert from "node:assert/strict";
 * assert.equal(commandName(0x06, true), "IDENTIFY");
 * assert.equal(commandName(0x7f, true, 0x04), "PROPERTY_GET");
 * assert.equal(commandName(0xc1, false), "I/O opcode 0xc1");
 * ```
 */
export function commandName(opcode: number, admin: boolean, fctype?: number): string {
  if (opcode === FABRICS_OPCODE) {
    if (fctype === undefined) return "FABRICS";
    return nameOf(FabricsType, fctype) ?? `FABRICS fctype ${hex(fctype)}`;
  }
  if (admin) return nameOf(AdminOpcode, opcode) ?? `admin opcode ${hex(opcode)}`;
  return nameOf(NvmOpcode, opcode) ?? `I/O opcode ${hex(opcode)}`;
}

/** What {@linkcode CommandTimeoutError} reports of the command. */
export interface CommandTimeoutInfo {
  /** Queue ID the command was sent on. */
  qid: number;
  /** Its CID. */
  cid: number;
  /** Its opcode. */
  opcode: number;
  /** True for an admin command. */
  admin: boolean;
  /** The Fabrics command type, for a Fabrics command. */
  fctype?: number;
  /** The timeout that expired, in milliseconds. */
  timeoutMs: number;
}

/**
 * A command got no response within its timeout. The host sends an Abort for it and rejects the
 * command with this error; its CID stays reserved until the controller completes it. When Abort
 * says it did not abort the command, or no completion comes one more timeout later, the host
 * resets and reconnects the association (Linux's escalation), which frees the CID.
 *
 * @example Usage
 * ```ts
 * import { CommandTimeoutError } from "@nvmf/host";
 * import assert from "node:assert/strict";
 * const e = new CommandTimeoutError({ qid: 0, cid: 3, opcode: 0x06, admin: true, timeoutMs: 10 });
 * assert.equal(e.name, "CommandTimeoutError");
 * assert.equal(e.cid, 3);
 * ```
 */
export class CommandTimeoutError extends Error {
  /** Queue ID the command was sent on. */
  readonly qid: number;
  /** Its CID. */
  readonly cid: number;
  /** Its opcode. */
  readonly opcode: number;
  /** True for an admin command. */
  readonly admin: boolean;
  /** The timeout that expired, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * Makes the error.
   *
   * @param info The command and its timeout.
   */
  constructor(info: CommandTimeoutInfo) {
    super(
      `Cannot complete ${
        commandName(info.opcode, info.admin, info.fctype)
      } (qid ${info.qid}, cid ${info.cid}): no response within ${info.timeoutMs} ms`,
    );
    this.name = "CommandTimeoutError";
    this.qid = info.qid;
    this.cid = info.cid;
    this.opcode = info.opcode;
    this.admin = info.admin;
    this.timeoutMs = info.timeoutMs;
  }
}

/**
 * The host gave the controller up: the connection broke and could not be re-established before
 * the controller-loss timeout (or reconnecting was turned off). Every command still waiting
 * rejects with this error, its `cause` the transport error that started it.
 *
 * @example Usage
 * ```ts
 * import { ControllerLostError } from "@nvmf/host";
 * import assert from "node:assert/strict";
 * const e = new ControllerLostError("Cannot reach nqn.2026-01.test:a: gave up after 600000 ms");
 * assert.equal(e.name, "ControllerLostError");
 * ```
 */
export class ControllerLostError extends Error {
  /**
   * Makes the error.
   *
   * @param message What was given up and why.
   * @param options The error that broke the association.
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ControllerLostError";
  }
}

/** Why a {@linkcode ControllerError} was thrown. */
export type ControllerErrorCode =
  /** CSTS.RDY did not follow CC.EN within CAP.TO. */
  | "not-ready"
  /** CSTS.CFS: the controller reported a fatal status. */
  | "fatal"
  /** CSTS.SHST did not reach "complete" within the shutdown timeout. */
  | "shutdown-timeout"
  /** The controller lacks something the host needs (NVM command set, SGLs, I/O queues). */
  | "unsupported"
  /** The controller asked for in-band authentication, which this host does not do. */
  | "authentication"
  /** The controller answered against the protocol (e.g. a bad SQHD in the Connect response). */
  | "protocol";

/**
 * The controller did not behave as the host needs while the association was set up or shut
 * down; the message says what was expected.
 *
 * @example Usage
 * ```ts
 * import { ControllerError } from "@nvmf/host";
 * import assert from "node:assert/strict";
 * const e = new ControllerError("Cannot enable the controller: CSTS.RDY is still 0 after 7500 ms", "not-ready");
 * assert.equal(e.code, "not-ready");
 * ```
 */
export class ControllerError extends Error {
  /** What went wrong. */
  readonly code: ControllerErrorCode;

  /**
   * Makes the error.
   *
   * @param message Sentence case, action first, detail after a colon.
   * @param code What went wrong.
   */
  constructor(message: string, code: ControllerErrorCode) {
    super(message);
    this.name = "ControllerError";
    this.code = code;
  }
}

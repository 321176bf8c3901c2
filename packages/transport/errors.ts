/**
 * Typed errors of the transport layer. A queue pair fails with exactly one of these; nothing
 * in nvmf throws a string.
 *
 * - {@linkcode TransportError}: the connection is unusable — a protocol violation (ours or the
 *   peer's, with the NVMe/TCP FES and FEI where there is one), a TermReq received, a reset
 *   connection, or a hook that dropped it.
 * - {@linkcode QueuePairClosedError}: the queue pair was closed in an orderly way (by `close()`
 *   on either side) while something still waited on it.
 *
 * A command rejected with an NVMe status is not a transport error: that is `NvmeStatusError`
 * from `@nvmf/proto`.
 *
 * @module
 */

/** Why a {@linkcode TransportError} ended a queue pair. */
export type TransportErrorCode =
  /** We found a protocol violation in what the peer sent and told it (TermReq sent). */
  | "protocol"
  /** The peer told us we violated the protocol (TermReq received). */
  | "termreq"
  /** The connection broke: reset, end of stream in the middle of a PDU, write failure. */
  | "connection"
  /** Connecting failed: refused, unreachable, or the peer would not complete set-up. */
  | "connect"
  /** A negotiated parameter was out of range or the two sides could not agree. */
  | "negotiation"
  /** No answer in time during set-up. */
  | "timeout";

/** Options of a {@linkcode TransportError}. */
export interface TransportErrorOptions {
  /** NVMe/TCP Fatal Error Status, when the error is (or came from) a TermReq. */
  fes?: number;
  /** Fatal Error Information: offset of the offending header field, for FES 1 and similar. */
  fei?: number;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * A queue pair's connection failed; the queue pair is dead and every pending operation on it
 * rejects with this error.
 *
 * @example Usage
 * ```ts
 * import { TransportError } from "@nvmf/transport";
 * import assert from "node:assert/strict";
 * const e = new TransportError("Received TermReq: HEADER_DIGEST_ERROR", "termreq", { fes: 3 });
 * assert.equal(e.code, "termreq");
 * assert.equal(e.fes, 3);
 * assert.ok(e instanceof Error);
 * ```
 */
export class TransportError extends Error {
  /** Why the queue pair ended. */
  readonly code: TransportErrorCode;
  /** NVMe/TCP Fatal Error Status, if one was sent or received. */
  readonly fes: number | undefined;
  /** NVMe/TCP Fatal Error Information (offset of the offending field), if any. */
  readonly fei: number | undefined;

  /**
   * Makes a transport error.
   *
   * @param message What happened, for a person.
   * @param code Why the queue pair ended.
   * @param options FES, FEI and cause.
   */
  constructor(message: string, code: TransportErrorCode, options: TransportErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TransportError";
    this.code = code;
    this.fes = options.fes;
    this.fei = options.fei;
  }
}

/**
 * The queue pair was closed in an orderly way; operations still waiting on it reject with this.
 *
 * @example Usage
 * ```ts
 * import { QueuePairClosedError } from "@nvmf/transport";
 * import assert from "node:assert/strict";
 * const e = new QueuePairClosedError("Cannot receive: the queue pair is closed");
 * assert.equal(e.name, "QueuePairClosedError");
 * ```
 */
export class QueuePairClosedError extends Error {
  /**
   * Makes a closed error.
   *
   * @param message What could not be done.
   */
  constructor(message = "Cannot use the queue pair: it is closed") {
    super(message);
    this.name = "QueuePairClosedError";
  }
}

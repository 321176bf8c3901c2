/**
 * Queue pairs handed to a new owner: the transport half of a handoff, after FreeBSD's libnvmf
 * (`kernel_handoff_params` in `lib/libnvmf/internal.h`, `tcp_kernel_handoff_params()` and the
 * kernel's `tcp_allocate_qpair()`).
 *
 * A queue pair {@linkcode QueuePair.detach}es: nothing may be in flight; it becomes done (its
 * `closed` settles with undefined) but its connection stays up, and what carries the bytes
 * comes back as a {@linkcode QueuePairHandoff} — the negotiated state and an opaque
 * {@linkcode HandoffCarrier}. A transport {@linkcode Transport.adopt}s a carrier: a live queue
 * pair that continues at the recorded SQ head and tail, with no ICReq and no Connect. Between
 * the two, {@linkcode Transport.handoffParams} turns the transport's negotiated values into the
 * named values of a handoff record (FreeBSD's qpair nvlist fields), and adopting takes them
 * back in {@linkcode QueuePairResume.params}. A carrier nobody adopts is
 * {@linkcode HandoffCarrier.discard}ed; one that can go to another process (NVMe/TCP's socket)
 * is {@linkcode HandoffCarrier.release}d there and taken up with
 * {@linkcode Transport.carrierFrom}.
 *
 * Code that hands queue pairs off (`@nvmf/handoff`) uses only this contract, so it works for
 * every transport that implements it.
 *
 * @module
 */

import type { QueuePairState } from "./queue_pair.ts";
import type { Transport } from "./transport.ts";

/**
 * What carries a detached queue pair's bytes until a new owner adopts it: opaque to everyone
 * but its transport (for NVMe/TCP the socket and the bytes already received, for loopback the
 * in-memory connection and the capsules that arrive meanwhile).
 */
export interface HandoffCarrier {
  /**
   * The transport that made it and adopts it. For the loopback transport this is the very
   * fabric the connection belongs to; for NVMe/TCP any instance adopts it.
   */
  readonly transport: Transport;
  /**
   * Ends the connection when nobody will adopt it, in an orderly way (the peer sees a close).
   * Does nothing once adopted, released or discarded.
   */
  discard(): Promise<void>;
  /**
   * Optional: gives the connection up so that another process can continue it, and resolves to
   * what to pass there (NVMe/TCP: the paused `node:net` socket, for `child.send(message,
   * socket)`); that process takes it up with {@linkcode Transport.carrierFrom}. The carrier is
   * spent afterwards.
   *
   * @throws {TypeError} When this connection cannot be passed (e.g. a Deno socket).
   * @throws {Error} When received bytes wait for the new owner (they would be lost).
   */
  release?(): Promise<unknown>;
}

/** What {@linkcode QueuePair.detach} returns: the carrier and the state to continue from. */
export interface QueuePairHandoff extends HandoffCarrier {
  /** The queue pair's negotiated state when it was detached. */
  readonly state: QueuePairState;
}

/**
 * The named values a transport records of a queue pair, as FreeBSD's qpair nvlist holds them
 * (for NVMe/TCP: `fd`, `rxpda`, `txpda`, `headerDigests`, `dataDigests`, `maxr2t`, `maxh2cdata`,
 * `maxIcd`); empty for a transport whose queue pairs need nothing beyond the generic fields.
 */
export type HandoffParams = Record<string, number | boolean>;

/** Where an adopted queue pair continues: the generic qpair fields, and the transport's. */
export interface QueuePairResume {
  /** The admin queue? */
  admin: boolean;
  /** Queue ID, when known (a controller learns it from the Connect it answers). */
  qid?: number;
  /** Queue size in entries. */
  qsize: number;
  /** SQ head to continue from. */
  sqhd: number;
  /** SQ tail to continue from (host side). */
  sqtail?: number;
  /** Whether SQ flow control is in force. */
  sqFlowControl: boolean;
  /**
   * The transport's named values as {@linkcode Transport.handoffParams} wrote them, e.g. read
   * back from a handoff record; a transport takes them over what the carrier holds. Required by
   * a transport whose carriers from another process hold nothing else (NVMe/TCP).
   */
  params?: Readonly<Record<string, number | boolean | undefined>>;
}

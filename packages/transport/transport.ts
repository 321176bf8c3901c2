/**
 * Transports and the transport registry. A transport makes queue pairs: a host `connect`s one,
 * a controller `listen`s and accepts them. Host and controller code look a transport up by
 * name or TRTYPE here and never import a concrete transport; importing a transport package
 * registers it.
 *
 * @module
 */

import { nameOf, TransportType } from "@nvmf/proto";
import type { Association } from "./association.ts";
import type { HandoffCarrier, HandoffParams, QueuePairResume } from "./handoff.ts";
import type { QueuePair, QueuePairState } from "./queue_pair.ts";

/** Where a transport connects or listens, in discovery log terms (TRADDR, TRSVCID). */
export interface TransportAddress {
  /** Transport address: an IP address or host name for TCP, a name for loopback. */
  traddr: string;
  /** Transport service ID: the TCP port as a decimal string; unused by loopback. */
  trsvcid?: string;
  /** Address family (ADRFAM), when known. */
  adrfam?: number;
}

/** What a host says when it connects a queue pair. */
export interface ConnectParams {
  /** Where the controller is. */
  address: TransportAddress;
  /** True for the admin queue. */
  admin: boolean;
  /** Queue ID the Connect command will name (0 for the admin queue). */
  qid: number;
  /** Queue size in entries (the Connect SQSIZE will be this minus one). */
  qsize: number;
  /** Gives up on connection set-up when aborted. */
  signal?: AbortSignal;
}

/**
 * What a controller's listener may be told about the connections it accepts (FreeBSD's nvmfd
 * and Linux's nvmet have no such hooks; a target facing strangers needs them).
 */
export interface ListenerOptions {
  /**
   * Called for each incoming connection before any byte of it is read, with the peer's
   * address (TCP: `ADDR:PORT`). Returning undefined refuses it: the connection is closed at
   * once, nothing allocated for it. Otherwise it returns a function the listener calls once
   * when that connection ends (its set-up failed, or its queue pair closed). Transports
   * without peer addresses (loopback) ignore it.
   */
  admit?(remote: string): (() => void) | undefined;
  /** Time an incoming connection has for its transport set-up (TCP: ICReq), ms. */
  setupTimeout?: number;
}

/** A controller's listening endpoint. */
export interface Listener {
  /** The address actually bound (e.g. with the port the system chose for port 0). */
  readonly address: TransportAddress;
  /**
   * The next accepted queue pair, transport set-up done (for TCP: ICReq/ICResp); its first
   * capsule will be the host's Connect. Rejects once the listener is closed.
   */
  accept(): Promise<QueuePair>;
  /** Stops listening; a pending `accept` rejects. Accepted queue pairs stay open. */
  close(): Promise<void>;
}

/** A transport (FreeBSD's `struct nvmf_transport_ops`, asynchronous). */
export interface Transport {
  /** TRTYPE (NVMe-oF 5.3): 3 for TCP, 254 for intra-host loopback. */
  readonly trtype: number;
  /** Short name users pass instead of the TRTYPE, e.g. `"tcp"`. */
  readonly name: string;
  /** Host: opens a connection and sets up a queue pair of `association`. */
  connect(association: Association, params: ConnectParams): Promise<QueuePair>;
  /** Controller: listens at `address` for queue pairs of associations like `association`. */
  listen(
    association: Association,
    address: TransportAddress,
    options?: ListenerOptions,
  ): Promise<Listener>;
  /**
   * Continues a handed-over connection (what a queue pair's `detach()` returned, or
   * {@linkcode Transport.carrierFrom} made) as a live queue pair of `association`, in its role,
   * at `resume` — no ICReq, no Connect; what the peer sent meanwhile is received first (the
   * kernel's `tcp_allocate_qpair()` for a handed-off queue pair).
   *
   * @param association The new owner's association (the same role as the detached end).
   * @param carrier The connection.
   * @param resume Queue identity, SQ state, and the transport's recorded values.
   * @returns The queue pair.
   * @throws {TypeError} When the carrier is not one of this transport's, was adopted already,
   * or has the other role.
   * @throws {RangeError} When a recorded transport value cannot be used.
   */
  adopt(association: Association, carrier: HandoffCarrier, resume: QueuePairResume): QueuePair;
  /**
   * The transport's named values of a handoff record of a queue pair in `state`, as FreeBSD's
   * `kernel_handoff_params` writes the transport's fields of the qpair nvlist (NVMe/TCP:
   * alignments in bytes, MAXR2T 0's based, `max_icd` 0 on the controller side, and `fd`).
   *
   * @param state The queue pair's state (`state()`, or a handoff's `state`).
   * @param connection The index of its connection among those handed over beside the record,
   * for a transport that records it (NVMe/TCP's `fd`).
   * @returns The named values; empty when the generic fields say it all.
   */
  handoffParams(state: QueuePairState, connection: number): HandoffParams;
  /**
   * Optional: a carrier for a connection another process passed — what
   * {@linkcode HandoffCarrier.release} gave up there (NVMe/TCP: a `node:net` socket received
   * with `process.on("message", (message, socket) => ...)`). Adopt it with the record's values
   * in {@linkcode QueuePairResume.params}.
   *
   * @param passed The passed connection.
   * @returns The carrier.
   * @throws {TypeError} When `passed` is not a connection this transport takes.
   */
  carrierFrom?(passed: unknown): HandoffCarrier;
}

const registry = new Map<number, Transport>();

/**
 * Registers a transport under its TRTYPE and name; a later registration of the same TRTYPE
 * replaces the earlier one.
 *
 * @param transport The transport.
 * @example Usage
 * ```ts
 * import { getTransport, registerTransport, type Transport } from "@nvmf/transport";
 * import assert from "node:assert/strict";
 * const fake = { trtype: 200, name: "fake" } as Transport;
 * registerTransport(fake);
 * assert.equal(getTransport("fake"), fake);
 * assert.equal(getTransport(200), fake);
 * ```
 */
export function registerTransport(transport: Transport): void {
  registry.set(transport.trtype, transport);
}

/**
 * Looks a transport up by TRTYPE or name (case-insensitive).
 *
 * @param which TRTYPE number or name, e.g. `3` or `"tcp"`.
 * @returns The registered transport.
 * @throws {RangeError} When none is registered; the message lists the registered ones.
 * @example Usage
 * ```ts
 * import { getTransport } from "@nvmf/transport";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 * assert.equal(getTransport("loopback").trtype, 254);
 * assert.throws(() => getTransport("carrier-pigeon"), RangeError);
 * ```
 */
export function getTransport(which: number | string): Transport {
  if (typeof which === "number") {
    const t = registry.get(which);
    if (t !== undefined) return t;
  } else {
    const lower = which.toLowerCase();
    for (const t of registry.values()) if (t.name === lower) return t;
  }
  const known = [...registry.values()].map((t) => `${t.name} (${t.trtype})`).join(", ");
  const label = typeof which === "number"
    ? `trtype ${which}${nameOf(TransportType, which) ? ` (${nameOf(TransportType, which)})` : ""}`
    : `"${which}"`;
  throw new RangeError(
    `Cannot find transport ${label}: registered are ${known || "none"}; import its package`,
  );
}

/**
 * Lists the registered transports.
 *
 * @returns Them, in registration order.
 * @example Usage
 * ```ts
 * import { registeredTransports } from "@nvmf/transport";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 * assert.ok(registeredTransports().some((t) => t.name === "loopback"));
 * ```
 */
export function registeredTransports(): Transport[] {
  return [...registry.values()];
}

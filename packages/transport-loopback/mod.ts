/**
 * `@nvmf/transport-loopback`: NVMe over Fabrics without a network. Host and controller run in
 * one process and talk through in-memory queue pairs that implement the `@nvmf/transport`
 * contract with NVMe/TCP's semantics and limits (in-capsule data up to the negotiated size,
 * larger writes fetched on request in MAXH2CDATA chunks, reads delivered in pieces, the
 * implicit-success completion when SQ flow control is off).
 *
 * Importing the package registers a default instance under the name `"loopback"` (TRTYPE 254,
 * intra-host). For fault injection make your own {@linkcode LoopbackTransport} with
 * {@linkcode LoopbackHooks}: observe every capsule, delay them, drop a connection at the Nth
 * capsule, or corrupt one.
 *
 * @example Usage
 * ```ts
 * import { Association, getTransport } from "@nvmf/transport";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 * const loopback = getTransport("loopback");
 * const listener = await loopback.listen(new Association(loopback, true), { traddr: "mod-doc" });
 * const host = await loopback.connect(new Association(loopback, false), {
 *   address: { traddr: "mod-doc" }, admin: true, qid: 0, qsize: 32,
 * });
 * const controller = await listener.accept();
 * assert.equal(controller.controller, true);
 * await host.close();
 * assert.equal(await controller.closed, undefined);
 * await listener.close();
 * ```
 *
 * @module
 */

import { registerTransport } from "@nvmf/transport";
import { LoopbackTransport } from "./loopback.ts";

// The types of @nvmf/transport this package's API uses, so that its documentation is complete.
export type {
  Association,
  AssociationControllerData,
  AssociationParams,
  Capsule,
  CommandCapsule,
  ConnectedQueue,
  ConnectParams,
  DataDirection,
  HandoffCarrier,
  HandoffParams,
  Listener,
  QueuePair,
  QueuePairHandoff,
  QueuePairResume,
  QueuePairState,
  ResponseCapsule,
  SendOutcome,
  TcpAssociationParams,
  Transport,
  TransportAddress,
  TransportError,
  TransportErrorCode,
  TransportErrorOptions,
} from "@nvmf/transport";

export {
  type LoopbackCapsuleEvent,
  type LoopbackHooks,
  type LoopbackOptions,
  LoopbackTransport,
} from "./loopback.ts";

/**
 * The instance registered as `"loopback"` when this package is imported.
 *
 * @example Usage
 * ```ts
 * import { getTransport } from "@nvmf/transport";
 * import { loopback } from "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 * assert.equal(getTransport("loopback"), loopback);
 * assert.equal(getTransport(254), loopback);
 * ```
 */
export const loopback: LoopbackTransport = new LoopbackTransport();
registerTransport(loopback);

/**
 * `@nvmf/host`: the NVMe over Fabrics host (initiator), over any transport registered with
 * `@nvmf/transport` — NVMe/TCP (`@nvmf/transport-tcp`) or the in-process loopback
 * (`@nvmf/transport-loopback`). Laid out as FreeBSD's kernel host (`sys/dev/nvmf/host`):
 *
 * - {@linkcode connect} (connect.ts) sets up an association with one controller, with the
 *   {@linkcode ConnectOptions} and {@linkcode HOST_DEFAULTS} of options.ts, and returns a
 *   {@linkcode HostController} (controller.ts): admin commands (Identify, Get Log Page, Get/Set
 *   Features, properties, Abort), asynchronous events ({@linkcode HostEvent}, events.ts),
 *   keep-alive, reconnects, orderly shutdown.
 * - `HostController.namespace()` gives a {@linkcode Namespace} (namespace.ts): read, write,
 *   compare, flush, write zeroes, deallocate and verify by LBA, split at MDTS and spread over the
 *   I/O queues.
 * - {@linkcode connectMultipath} (multipath.ts) uses several paths of one subsystem as one, by
 *   their ANA states, failing over as Linux's native multipath.
 * - {@linkcode discover} reads a discovery controller's log page; {@linkcode connectEntry}
 *   connects to one of its entries (discovery.ts).
 * - `HostController.handoff()` and {@linkcode adopt} hand an association to a new owner and
 *   continue it there (adopt.ts; `@nvmf/handoff` carries it across processes).
 * - {@linkcode resolveHostIdentity} completes a host NQN and Host Identifier in memory;
 *   {@linkcode persistentHostIdentity} is the identity a tool keeps in files, as nvme-cli
 *   (identity.ts). `connect()` never touches files.
 * - Errors of the host: {@linkcode CommandTimeoutError}, {@linkcode ControllerLostError},
 *   {@linkcode ControllerError} (errors.ts).
 *
 * The Fabrics steps (Connect, Property Get/Set, enable, Number of Queues, shutdown) are free
 * functions over a queue in the private `_fabrics.ts`; the queues themselves (CIDs, SQ flow
 * control, timeouts) are the private `_queue.ts`.
 *
 * @example Usage
 * ```ts
 * import { connect } from "@nvmf/host";
 * import { Target, RamBackend } from "@nvmf/controller";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 *
 * const target = new Target();
 * target.addSubsystem({
 *   nqn: "nqn.2026-01.example:ram",
 *   namespaces: [{ backend: new RamBackend({ size: 1n << 20n, blockSize: 512 }) }],
 *   allowAnyHost: true,
 * });
 * await target.listen("loopback", { traddr: "host-doc" });
 *
 * const ctrl = await connect({
 *   transport: "loopback",
 *   address: { traddr: "host-doc" },
 *   subnqn: "nqn.2026-01.example:ram",
 * });
 * const ns = await ctrl.namespace(1);
 * const data = new Uint8Array(4 * ns.blockSize).fill(0x5a);
 * await ns.write(8, data);
 * assert.deepEqual(await ns.read(8, 4), data);
 * await ctrl.close();
 * await target.close();
 * ```
 *
 * @module
 */

export { adopt, type AdoptOptions, type HostAssociationState } from "./adopt.ts";
export { connect } from "./connect.ts";
export type { HostController, HostControllerState } from "./controller.ts";
export { connectEntry, discover, type DiscoverOptions } from "./discovery.ts";
export {
  commandName,
  CommandTimeoutError,
  type CommandTimeoutInfo,
  ControllerError,
  type ControllerErrorCode,
  ControllerLostError,
} from "./errors.ts";
export type { AsyncEvent, HostEvent, HostEventListener, HostEventType } from "./events.ts";
export {
  defaultConfigDir,
  type HostIdentity,
  type HostIdentityOptions,
  persistentHostIdentity,
  type PersistentHostIdentityOptions,
  resolveHostIdentity,
} from "./identity.ts";
export { type BlockRange, type IoOptions, Namespace } from "./namespace.ts";
export {
  connectMultipath,
  MultipathNamespace,
  type MultipathOptions,
  MultipathPath,
  MultipathSubsystem,
  type PathAnaState,
  type PathDescription,
} from "./multipath.ts";
export { type ConnectOptions, HOST_DEFAULTS } from "./options.ts";
export type {
  ReservationAcquireOptions,
  ReservationRegisterOptions,
  ReservationReleaseOptions,
  ReservationReportOptions,
} from "./reservation.ts";

// The types of other packages this package's API uses, and the types those use in turn, so that
// its documentation is complete (deno doc --lint); their other exports are theirs to import.
export type {
  Cap,
  DiscoveryLog,
  DiscoveryLogEntry,
  DiscoveryLogHeader,
  IdentifyController,
  IdentifyNamespace,
  LbaFormat,
  NsIdDescriptor,
  PowerStateDescriptor,
  RegisteredController,
  ReservationNotification,
  ReservationStatus,
  Vs,
} from "@nvmf/proto";
export type {
  Association,
  AssociationControllerData,
  AssociationParams,
  Capsule,
  CommandCapsule,
  ConnectedQueue,
  ConnectParams,
  DataDirection,
  Listener,
  QueuePair,
  QueuePairState,
  ResponseCapsule,
  SendOutcome,
  TcpAssociationParams,
  Transport,
  TransportAddress,
  TransportError,
  TransportErrorCode,
} from "@nvmf/transport";

/**
 * `@nvmf/controller`: the NVMe over Fabrics controller (target). It turns queue pairs accepted
 * by any transport registered with `@nvmf/transport` into controllers of NVM subsystems with
 * namespaces, and serves a discovery controller on every port, as FreeBSD's nvmfd or Linux's
 * nvmet do.
 *
 * - {@linkcode Target}: subsystems, ports ({@linkcode Target.listen}), events, `close()`.
 * - {@linkcode Subsystem} and {@linkcode Namespace}: NQN, serial, model, firmware, allowed
 *   hosts; namespaces with NSID, identifiers and a read-only flag.
 * - {@linkcode ReservationState}: a namespace's reservation (Base 8.19) as a pure state
 *   machine; controllers serve Reservation Register, Acquire, Release and Report with it.
 * - {@linkcode NamespaceBackend}: the storage interface, with {@linkcode RamBackend} (sparse
 *   memory, or touched up front with {@linkcode RamBackend.prefault}) and {@linkcode FileBackend}
 *   (regular file or block device).
 * - Live changes: {@linkcode Target.addListener}, {@linkcode Target.removeListener},
 *   {@linkcode Target.removeHost}, {@linkcode Target.removeSubsystem},
 *   {@linkcode Subsystem.addNamespace} and {@linkcode Subsystem.removeNamespace}, named
 *   backends in {@linkcode Target.bdevs} ({@linkcode BdevRegistry}), counters in
 *   {@linkcode Target.stats} and {@linkcode NamespaceMetrics}; hosts see each change (events,
 *   the Changed Namespace List, the discovery log's generation counter).
 * - ANA (on by default, as Linux's nvmet): {@linkcode AnaGroups} per subsystem,
 *   {@linkcode Target.setAnaState}; controllers report the ANA log page, path statuses and
 *   ANA change events.
 * - In-band authentication: per-host DH-HMAC-CHAP keys ({@linkcode Subsystem.setHostDhchap});
 *   a host with a key is admitted on no queue without a successful transaction; the hash and
 *   group of hosts that configure none follow {@linkcode Target.setDhchapPolicy}.
 * - Limits on what an unauthenticated peer can hold ({@linkcode TargetOptions}: connections in
 *   total and per address, controllers per subsystem, the connection and data deadlines).
 * - Configuration: {@linkcode parseTargetConfig} (our JSON), {@linkcode parseNvmetcliConfig}
 *   (what Linux's `nvmetcli save` writes) and {@linkcode applyConfig}.
 *
 * @example Usage
 * ```ts
 * import { RamBackend, Target } from "@nvmf/controller";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 *
 * const target = new Target();
 * target.addSubsystem({
 *   nqn: "nqn.2026-01.dev.nvmf:mod-doc",
 *   namespaces: [{ backend: new RamBackend({ size: 1n << 30n, blockSize: 512 }) }],
 * });
 * const port = await target.listen("loopback", { traddr: "controller-mod-doc" });
 * assert.equal(port.portid, 1);
 * await target.close();
 * ```
 *
 * @module
 */

export {
  FileBackend,
  type FileBackendOptions,
  type NamespaceBackend,
  RamBackend,
  type RamBackendOptions,
  type WriteOptions,
} from "./backend.ts";
export {
  checkNqn,
  Namespace,
  type NamespaceOptions,
  type NamespaceStats,
  parseIdentifier,
  Subsystem,
  type SubsystemDefaults,
  type SubsystemListener,
  type SubsystemOptions,
} from "./subsystem.ts";
export { identifyNamespace, namespaceDescriptors } from "./identify.ts";
export type { DhchapHostKeys, DhchapHostSettings, DhchapPolicy } from "./_auth.ts";
export type { DhchapHash, DhchapSecret, DhGroup } from "@nvmf/auth";
export {
  type AioBdevOptions,
  type Bdev,
  type BdevKind,
  BdevRegistry,
  type MallocBdevOptions,
} from "./bdev.ts";
export { IoKind, LATENCY_BUCKETS, NamespaceMetrics } from "./metrics.ts";
export type { TransportOptions } from "./_live.ts";
export {
  type ConnectRejectedEvent,
  type ControllerDetails,
  type ControllerEvent,
  Target,
  type TargetErrorEvent,
  type TargetEvents,
  type TargetOptions,
  type TargetStats,
  type TransportInfo,
} from "./target.ts";
export { type ListenOptions, Port } from "./port.ts";
export {
  type AcquireRequest,
  CommandClass,
  commandClass,
  type HostKey,
  hostKey,
  type RegisterRequest,
  type ReleaseRequest,
  RESCAP,
  RESERVATION_OPCODES,
  reservationAllows,
  type ReservationNotice,
  type ReservationOutcome,
  type ReservationResult,
  type ReservationRole,
  ReservationState,
} from "./reservation.ts";
export {
  ANA_DEFAULT_GROUP,
  ANA_GROUP_MAX,
  ANA_INACCESSIBLE,
  ANA_PERSISTENT_LOSS,
  ANA_TRANSITION,
  ANA_TRANSITION_TIME,
  AnaGroups,
  type AnaStateName,
  anaStateName,
  anaStateValue,
  anaStatus,
  checkAnaGroup,
  type SetAnaStateParams,
} from "./ana.ts";
export {
  applyConfig,
  ConfigError,
  type NamespaceConfig,
  parseListenAddress,
  parseNvmetcliConfig,
  parseSize,
  parseTargetConfig,
  type PortAnaConfig,
  type PortConfig,
  type SubsystemConfig,
  type TargetConfig,
} from "./config.ts";
// The types of @nvmf/transport this package's API takes and returns, and the types those
// refer to, so that the documentation is complete.
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

/**
 * Hands an established queue pair or host association to another owner, serialised as FreeBSD's
 * libnvmf does for its kernel-offload ioctls: a packed libnv nvlist, with the connections
 * beside it.
 *
 * - {@link ./nvlist.ts}: the libnv packed-nvlist codec. `packNvList()` is byte-identical to
 *   libnv's `nvlist_pack()`; `unpackNvList()` reads both byte orders, strictly by default or
 *   with exactly libnv's `nvlist_unpack()` verdicts; builders, typed getters, a JSON form.
 * - {@link ./records.ts}: the handoff records of sys/dev/nvmf/nvmf.h (qpair handoff, host
 *   handoff, reconnect parameters, controller qpair handoff, connection status) as zod-checked
 *   TypeScript records with nvlist and JSON codecs and the kernel's validation. Besides TCP
 *   (trtype 3, FreeBSD's), records of the loopback transport (trtype 254) carry the
 *   transport-independent qpair fields only.
 * - {@link ./host.ts}: {@linkcode handoffHost} turns a live `HostController` of `@nvmf/host`
 *   into a record and its connections (libnvmf's `nvmf_handoff_host()`); {@linkcode adoptHost}
 *   continues them as a live `HostController` (the kernel's `NVMF_HANDOFF_HOST`).
 * - {@link ./controller.ts}: {@linkcode handoffControllerQpair} turns an accepted controller
 *   queue pair whose Connect was read into a record and its connection (libnvmf's
 *   `nvmf_handoff_controller_qpair()`); {@linkcode adoptControllerQpair} gives them to a
 *   `Target` of `@nvmf/controller`, which answers the Connect and serves the queue (the
 *   kernel's `nvmft_handoff()`).
 * - {@link ./connection.ts}: what goes beside a record. A TCP qpair list's `fd` is the index of
 *   its connection in the array handed over, as libnv numbers the descriptors `nvlist_send()`
 *   passes; in one process a connection is the carrier a queue pair's `detach()` returned,
 *   across processes {@linkcode releaseSocket} gives up the socket for
 *   `child.send(message, socket)` and the other side adopts the record with the socket as it came.
 *
 * Only the `@nvmf/transport` contract is used — `QueuePair.detach()`, `Transport.adopt()`,
 * `Transport.handoffParams()`, `Transport.carrierFrom()` — so every transport that implements it
 * is handed off the same way; no concrete transport is imported.
 *
 * Handed-off queue pairs carry on where they were: no new ICReq, no new Connect, the SQ head
 * and tail continue from the record. What is handed over must be idle, as libnvmf requires.
 *
 * @example An acceptor hands each queue pair to a target; the host hands its association off
 * ```ts
 * import {
 *   adoptControllerQpair, adoptHost, handoffControllerQpair, handoffHost, hostHandoffFromNvList,
 *   hostHandoffToNvList, packNvList, unpackNvList,
 * } from "@nvmf/handoff";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import { connect } from "@nvmf/host";
 * import { Association, getTransport } from "@nvmf/transport";
 * import "@nvmf/transport-tcp";
 * import assert from "node:assert/strict";
 *
 * // The acceptor: ICReq/ICResp, then read each queue pair's Connect and hand it over.
 * const tcp = getTransport("tcp");
 * const listener = await tcp.listen(new Association(tcp, true), { traddr: "127.0.0.1", trsvcid: "0" });
 * // The new owner: a target whose port accepts nothing itself.
 * const target = new Target();
 * const subnqn = "nqn.2026-01.dev.nvmf:handoff-doc";
 * target.addSubsystem({ nqn: subnqn, namespaces: [{ backend: new RamBackend({ size: 1n << 20n }) }] });
 * await target.listen(tcp, listener.address, { accept: false });
 * const accepting = (async () => {
 *   for (;;) {
 *     const qp = await listener.accept().catch(() => undefined);
 *     if (qp === undefined) return;
 *     const cmd = await qp.receive();
 *     if (cmd.kind !== "command") continue;
 *     const data = new Uint8Array(1024);
 *     await qp.receiveControllerData(cmd, 0, data);
 *     const { record, connection } = await handoffControllerQpair(qp, cmd.sqe, data);
 *     await adoptControllerQpair(record, connection, target);
 *   }
 * })();
 *
 * // The host connects through the acceptor, then hands its association to a new owner.
 * const first = await connect({ transport: "tcp", address: listener.address, subnqn,
 *   asyncEvents: false });
 * await (await first.namespace(1)).write(0, new Uint8Array(512).fill(5));
 * const { record, connections } = await handoffHost(first);
 * const bytes = packNvList(hostHandoffToNvList(record));
 * const ctrl = await adoptHost(hostHandoffFromNvList(unpackNvList(bytes)), connections, {
 *   hostid: first.hostid,
 * });
 * assert.equal((await (await ctrl.namespace(1)).read(0, 1))[0], 5);
 *
 * await ctrl.close();
 * await listener.close();
 * await accepting;
 * await target.close();
 * ```
 *
 * @module
 */
export * from "./nvlist.ts";
export * from "./records.ts";
export * from "./connection.ts";
export * from "./host.ts";
export * from "./controller.ts";

// The types of other packages this package's API uses, so that its documentation is complete.
export type {
  AdoptOptions,
  AsyncEvent,
  BlockRange,
  ConnectOptions,
  HostAssociationState,
  HostController,
  HostControllerState,
  HostEvent,
  HostEventListener,
  HostEventType,
  IoOptions,
  Namespace,
} from "@nvmf/host";
export type {
  ConnectRejectedEvent,
  ControllerEvent,
  ListenOptions,
  Namespace as ControllerNamespace,
  NamespaceBackend,
  NamespaceOptions,
  NamespaceStats,
  Port,
  Subsystem,
  SubsystemOptions,
  Target,
  TargetErrorEvent,
  TargetEvents,
  WriteOptions,
} from "@nvmf/controller";
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
} from "@nvmf/transport";
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
  Vs,
} from "@nvmf/proto";

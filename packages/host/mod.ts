/**
 * `@nvmf/host`: the NVMe over Fabrics host (initiator), over any transport registered with
 * `@nvmf/transport` — NVMe/TCP (`@nvmf/transport-tcp`) or the in-process loopback
 * (`@nvmf/transport-loopback`).
 *
 * - {@linkcode connect} sets up an association with one controller and returns a
 *   {@linkcode HostController}: admin commands (Identify, Get Log Page, Get/Set Features,
 *   properties, Abort), asynchronous events, keep-alive, reconnects, orderly shutdown.
 * - {@linkcode HostController.namespace} gives a {@linkcode Namespace}: read, write, compare,
 *   flush, write zeroes, deallocate and verify by LBA, split at MDTS and spread over the I/O
 *   queues.
 * - {@linkcode discover} reads a discovery controller's log page; {@linkcode connectEntry}
 *   connects to one of its entries.
 * - {@linkcode resolveHostIdentity} works out the host NQN and Host Identifier.
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
 *   persistHostIdentity: false,
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

export * from "./errors.ts";
export * from "./identity.ts";
export {
  type AdoptOptions,
  type AsyncEvent,
  type BlockRange,
  type Cap,
  connect,
  type ConnectOptions,
  type DataDirection,
  type DiscoveryLog,
  HOST_DEFAULTS,
  type HostAssociationState,
  HostController,
  type HostControllerState,
  type HostEvent,
  type HostEventListener,
  type HostEventType,
  type IdentifyController,
  type IdentifyNamespace,
  type IoOptions,
  Namespace,
  type NsIdDescriptor,
  type QueuePair,
  type Transport,
  type TransportAddress,
  type Vs,
} from "./controller.ts";
export * from "./discovery.ts";
export type * from "@nvmf/transport";

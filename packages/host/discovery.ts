/**
 * Discovery (NVMe over Fabrics 1.1, 5): ask a discovery controller which subsystems it knows,
 * then connect to one of them. {@linkcode discover} connects to the well-known discovery NQN,
 * reads the whole Discovery log page with the generation-counter loop, shuts the discovery
 * controller down and returns the typed entries; {@linkcode connectEntry} connects to an entry
 * with its transport, address, subsystem NQN and controller ID.
 *
 * @example Usage
 * ```ts
 * import { connectEntry, discover } from "@nvmf/host";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import { loopback } from "@nvmf/transport-loopback";
 * import { SubsystemType } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 *
 * const target = new Target();
 * target.addSubsystem({
 *   nqn: "nqn.2026-01.dev.nvmf:discovery-doc",
 *   namespaces: [{ backend: new RamBackend({ size: 1n << 20n }) }],
 *   allowAnyHost: true,
 * });
 * await target.listen(loopback, { traddr: "discovery-doc" });
 *
 * const entries = await discover({ transport: loopback, address: { traddr: "discovery-doc" } });
 * const entry = entries.find((e) => e.subtype === SubsystemType.NVME)!;
 * const ctrl = await connectEntry(entry, { transport: loopback });
 * assert.equal(ctrl.subnqn, "nqn.2026-01.dev.nvmf:discovery-doc");
 * await ctrl.close();
 * await target.close();
 * ```
 *
 * @module
 */

import {
  DISCOVERY_NQN,
  type DiscoveryLogEntry,
  NVME_TCP_DISCOVERY_PORT,
  TransportType,
} from "@nvmf/proto";
import { getTransport, type Transport } from "@nvmf/transport";
import { connect } from "./connect.ts";
import type { HostController } from "./controller.ts";
import type { ConnectOptions } from "./options.ts";

/** Options of {@linkcode discover}: {@linkcode ConnectOptions} without the subsystem NQN. */
export type DiscoverOptions = Omit<ConnectOptions, "subnqn" | "ioQueues" | "queueSize">;

/**
 * Reads the Discovery log page of a discovery controller. For TCP the port defaults to 8009
 * (NVMe/TCP 1.0, 7.4.9.3).
 *
 * @param options Transport, address and host identity.
 * @returns The entries, in the controller's order.
 * @throws {TransportError} When the discovery controller cannot be reached.
 * @throws {NvmeStatusError} When it rejects Connect or Get Log Page.
 * @example Usage
 * ```ts
 * import { discover } from "@nvmf/host";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import { loopback } from "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 *
 * const target = new Target();
 * const subnqn = "nqn.2026-01.dev.nvmf:discover-doc";
 * target.addSubsystem({
 *   nqn: subnqn,
 *   namespaces: [{ backend: new RamBackend({ size: 1n << 20n }) }],
 *   allowAnyHost: true,
 * });
 * await target.listen(loopback, { traddr: "discover-doc" });
 *
 * const entries = await discover({ transport: loopback, address: { traddr: "discover-doc" } });
 * assert.ok(entries.some((e) => e.subnqn === subnqn && e.traddr === "discover-doc"));
 * await target.close();
 * ```
 */
export async function discover(options: DiscoverOptions): Promise<DiscoveryLogEntry[]> {
  const address = { ...options.address };
  if (address.trsvcid === undefined && isTcp(options.transport)) {
    address.trsvcid = String(NVME_TCP_DISCOVERY_PORT);
  }
  const ctrl = await connect({ ...options, address, subnqn: DISCOVERY_NQN });
  try {
    return (await ctrl.getDiscoveryLog()).entries;
  } finally {
    await ctrl.close().catch(() => {});
  }
}

/**
 * Connects to a Discovery log entry: its transport (by TRTYPE unless `options.transport` says
 * otherwise), TRADDR, TRSVCID, ADRFAM, SUBNQN and CNTLID (FFFFh for the dynamic model).
 *
 * @param entry The entry.
 * @param options Anything else {@linkcode connect} takes.
 * @returns The live controller.
 * @example Usage
 * ```ts
 * import { connectEntry, discover } from "@nvmf/host";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import { loopback } from "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 *
 * const target = new Target();
 * const subnqn = "nqn.2026-01.dev.nvmf:connect-entry-doc";
 * target.addSubsystem({
 *   nqn: subnqn,
 *   namespaces: [{ backend: new RamBackend({ size: 1n << 20n }) }],
 *   allowAnyHost: true,
 * });
 * await target.listen(loopback, { traddr: "connect-entry-doc" });
 *
 * const entries = await discover({ transport: loopback, address: { traddr: "connect-entry-doc" } });
 * const ctrl = await connectEntry(entries.find((e) => e.subnqn === subnqn)!, {
 *   transport: loopback,
 *   ioQueues: 2,
 * });
 * assert.equal(ctrl.ioQueueCount, 2);
 * await ctrl.close();
 * await target.close();
 * ```
 */
export function connectEntry(
  entry: DiscoveryLogEntry,
  options: Partial<Omit<ConnectOptions, "address" | "subnqn">> = {},
): Promise<HostController> {
  return connect({
    ...options,
    transport: options.transport ?? entry.trtype,
    address: { traddr: entry.traddr, trsvcid: entry.trsvcid || undefined, adrfam: entry.adrfam },
    subnqn: entry.subnqn,
    cntlid: options.cntlid ?? entry.cntlid,
  });
}

function isTcp(transport: string | number | Transport): boolean {
  const t = typeof transport === "object" ? transport : getTransport(transport);
  return t.trtype === TransportType.TCP;
}

/**
 * Discovery (NVMe over Fabrics 1.1, 5): ask a discovery controller which subsystems it knows,
 * then connect to one of them. {@linkcode discover} connects to the well-known discovery NQN,
 * reads the whole Discovery log page with the generation-counter loop, shuts the discovery
 * controller down and returns the typed entries; {@linkcode connectEntry} connects to an entry
 * with its transport, address, subsystem NQN and controller ID.
 *
 * @example Usage
 * ```ts ignore
 * import { connectEntry, discover } from "@nvmf/host";
 * import "@nvmf/transport-tcp";
 * const entries = await discover({ transport: "tcp", address: { traddr: "192.0.2.10" } });
 * const ctrl = await connectEntry(entries.find((e) => e.subtype === 2)!);
 * await ctrl.close();
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
import { connect, type ConnectOptions, type HostController } from "./controller.ts";

export type { DiscoveryLogEntry } from "@nvmf/proto";

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
 * ```ts ignore
 * import { discover } from "@nvmf/host";
 * const entries = await discover({ transport: "tcp", address: { traddr: "192.0.2.10" } });
 * for (const e of entries) console.log(e.subnqn, e.traddr, e.trsvcid);
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
 * ```ts ignore
 * import { connectEntry, discover } from "@nvmf/host";
 * const [entry] = await discover({ transport: "loopback", address: { traddr: "t" } });
 * const ctrl = await connectEntry(entry, { ioQueues: 2 });
 * await ctrl.close();
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

/**
 * The Discovery log page (NVMe over Fabrics 1.1, 5.3) a target's discovery controllers
 * return: the entry of the discovery controller itself (subtype 3, TP 8013, as Linux 6.1
 * sends), then one entry per port and subsystem the host may connect to. Private to the
 * package.
 *
 * @module
 */

import {
  AddressFamily,
  CNTLID_DYNAMIC,
  CNTLID_STATIC_ANY,
  DISCOVERY_NQN,
  type DiscoveryLogEntry,
  encodeDiscoveryLog,
  SubsystemType,
  TransportRequirements,
  TransportType,
} from "@nvmf/proto";
import type { TransportAddress } from "@nvmf/transport";
import type { Port } from "./port.ts";
import type { Subsystem } from "./subsystem.ts";

/** Whether a listening address is a wildcard: IPv4 or IPv6 "any", or empty. */
export function isWildcard(traddr: string): boolean {
  const a = traddr.startsWith("[") && traddr.endsWith("]") ? traddr.slice(1, -1) : traddr;
  return a === "" || a === "0.0.0.0" || (a.includes(":") && /^[0:]+$/.test(a));
}

/**
 * The discovery log entry of a subsystem on a port.
 *
 * @param port The port.
 * @param subnqn The subsystem NQN (the discovery NQN for the current discovery controller).
 * @param current True for the entry of the discovery controller being read.
 * @param reached The address the discovering host reached (used when the port's is a wildcard).
 * @returns The entry.
 */
export function discoveryEntry(
  port: Port,
  subnqn: string,
  current: boolean,
  reached?: TransportAddress,
): Partial<DiscoveryLogEntry> {
  const params = port.association.params;
  let address = port.address;
  if (isWildcard(address.traddr) && reached !== undefined && !isWildcard(reached.traddr)) {
    address = { ...address, traddr: reached.traddr, adrfam: reached.adrfam };
  }
  const trtype = port.transport.trtype;
  let adrfam: number = AddressFamily.IPV4;
  if (trtype === TransportType.INTRA_HOST) adrfam = AddressFamily.INTRA_HOST;
  else if (address.adrfam !== undefined) adrfam = address.adrfam;
  else if (address.traddr.includes(":")) adrfam = AddressFamily.IPV6;
  return {
    trtype,
    adrfam,
    subtype: current ? SubsystemType.CURRENT_DISCOVERY : SubsystemType.NVME,
    treq: TransportRequirements.NOT_SPECIFIED |
      (params.sqFlowControl ? 0 : TransportRequirements.SQ_FLOW_CONTROL_DISABLE),
    portid: port.portid,
    cntlid: params.dynamicControllerModel ? CNTLID_DYNAMIC : CNTLID_STATIC_ANY,
    asqsz: params.maxAdminQsize,
    eflags: 0,
    trsvcid: address.trsvcid ?? "",
    subnqn,
    traddr: address.traddr,
  };
}

/**
 * The whole Discovery log page a host gets.
 *
 * @param genctr The generation counter.
 * @param own The port the discovery controller was connected through, if still open.
 * @param ports The open ports.
 * @param subsystems The subsystems.
 * @param hostnqn The host reading the log: only subsystems it may connect to are listed.
 * @param reached The address the host reached (the discovery controller's local address):
 *   wildcard ports advertise it.
 * @returns The page.
 */
export function discoveryLog(
  genctr: bigint,
  own: Port | undefined,
  ports: readonly Port[],
  subsystems: Iterable<Subsystem>,
  hostnqn: string,
  reached?: TransportAddress,
): Uint8Array {
  const entries: Partial<DiscoveryLogEntry>[] = [];
  if (own !== undefined) entries.push(discoveryEntry(own, DISCOVERY_NQN, true, reached));
  const subs = [...subsystems];
  for (const port of [...ports].sort((a, b) => a.portid - b.portid)) {
    for (const sub of subs) {
      if (port.exposes(sub.nqn) && sub.isHostAllowed(hostnqn)) {
        entries.push(discoveryEntry(port, sub.nqn, false, reached));
      }
    }
  }
  return encodeDiscoveryLog({ genctr, recfmt: 0 }, entries);
}

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
import type { Port } from "./port.ts";
import type { Subsystem } from "./subsystem.ts";

/**
 * The discovery log entry of a subsystem on a port.
 *
 * @param port The port.
 * @param subnqn The subsystem NQN (the discovery NQN for the current discovery controller).
 * @param current True for the entry of the discovery controller being read.
 * @returns The entry.
 */
export function discoveryEntry(
  port: Port,
  subnqn: string,
  current: boolean,
): Partial<DiscoveryLogEntry> {
  const params = port.association.params;
  const address = port.address;
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
 * @returns The page.
 */
export function discoveryLog(
  genctr: bigint,
  own: Port | undefined,
  ports: readonly Port[],
  subsystems: Iterable<Subsystem>,
  hostnqn: string,
): Uint8Array {
  const entries: Partial<DiscoveryLogEntry>[] = [];
  if (own !== undefined) entries.push(discoveryEntry(own, DISCOVERY_NQN, true));
  const subs = [...subsystems];
  for (const port of [...ports].sort((a, b) => a.portid - b.portid)) {
    for (const sub of subs) {
      if (port.exposes(sub.nqn) && sub.isHostAllowed(hostnqn)) {
        entries.push(discoveryEntry(port, sub.nqn, false));
      }
    }
  }
  return encodeDiscoveryLog({ genctr, recfmt: 0 }, entries);
}

/**
 * The ANA log page (LID 0Ch) a controller returns: the groups of its subsystem with their
 * state on the controller's port, and their namespaces unless the host asked for groups only
 * (RGO), as Linux's `nvmet_execute_get_log_page_ana`. Private to the package.
 *
 * @module
 */

import { type AnaGroupDescriptor, encodeAnaLog } from "@nvmf/proto";
import type { Subsystem } from "./subsystem.ts";

/**
 * The ANA log page of a subsystem as seen through a port.
 *
 * @param sub The subsystem.
 * @param portid The controller's port.
 * @param groupsOnly RGO (LSP bit 0).
 * @returns The page.
 */
export function anaLogPage(sub: Subsystem, portid: number, groupsOnly: boolean): Uint8Array {
  const ana = sub.ana;
  const states = ana.states(portid);
  const members = new Map<number, number[]>();
  for (const ns of sub.namespaces) {
    let list = members.get(ns.anagrpid);
    if (list === undefined) members.set(ns.anagrpid, list = []);
    list.push(ns.nsid);
  }
  const groups: AnaGroupDescriptor[] = ana.groups(members.keys()).map((grpid) => ({
    grpid,
    changeCount: ana.groupChangeCount(grpid),
    state: states[grpid],
    nsids: members.get(grpid) ?? [],
  }));
  return encodeAnaLog({ changeCount: ana.changeCount, groups }, groupsOnly);
}

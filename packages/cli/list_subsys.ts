/**
 * `nvmf list-subsys`: connects to every path of a subsystem given on the command line (`-a`
 * and `-s` take comma-separated lists), reads each path's ANA log page and prints the paths
 * and their states as `nvme list-subsys` does (`-o json` as its JSON). Private to the package;
 * `nvmf.ts` dispatches to it.
 *
 * @module
 */

import {
  connectMultipath,
  type ConnectOptions,
  type MultipathSubsystem,
  type PathDescription,
} from "@nvmf/host";
import { uuidToString } from "@nvmf/proto";
import type { TransportAddress } from "@nvmf/transport";

/** What `nvmf.ts` hands over: the connection options and the raw address lists. */
export interface ListSubsysRequest {
  /** Options as for one controller; `address.traddr` may be a comma-separated list. */
  options: ConnectOptions;
  /** The namespace whose ANA group's state is shown (default 1). */
  nsid: number;
  /** JSON output. */
  json: boolean;
}

/**
 * The paths a list of addresses names: `-a A,B -s P,Q` pairs them; one `-s` goes with every
 * address.
 *
 * @param traddr Comma-separated addresses.
 * @param trsvcid Comma-separated service IDs (or one, or none).
 * @returns The addresses.
 * @throws {RangeError} When the lists do not pair up.
 */
export function pathAddresses(traddr: string, trsvcid: string | undefined): TransportAddress[] {
  const addrs = traddr.split(",").map((a) => a.trim()).filter((a) => a !== "");
  const svcs = trsvcid === undefined ? [] : trsvcid.split(",").map((s) => s.trim());
  if (addrs.length === 0) throw new RangeError("Cannot list paths: -a names no address");
  if (svcs.length > 1 && svcs.length !== addrs.length) {
    if (addrs.length === 1) {
      return svcs.map((s) => ({ traddr: addrs[0], trsvcid: s }));
    }
    throw new RangeError(
      `Cannot pair ${addrs.length} addresses (-a) with ${svcs.length} service IDs (-s): give one -s, or one per address`,
    );
  }
  return addrs.map((a, i) => {
    const s = svcs.length === 0 ? undefined : svcs[svcs.length === 1 ? 0 : i];
    return s === undefined ? { traddr: a } : { traddr: a, trsvcid: s };
  });
}

function transportName(options: ConnectOptions): string {
  const t = options.transport;
  if (typeof t === "object") return t.name;
  return typeof t === "number" ? (t === 3 ? "tcp" : String(t)) : t;
}

function addressText(p: PathDescription): string {
  return `traddr=${p.traddr}` + (p.trsvcid === undefined ? "" : `,trsvcid=${p.trsvcid}`);
}

/**
 * Connects, reads the paths' states, prints, closes.
 *
 * @param request The options.
 * @returns The text to print.
 */
export async function listSubsys(request: ListSubsysRequest): Promise<string> {
  const { options } = request;
  const paths = pathAddresses(options.address.traddr, options.address.trsvcid);
  const { address: _, ...rest } = options;
  const sub: MultipathSubsystem = await connectMultipath({
    ...rest,
    paths,
    asyncEvents: true,
    ctrlLossTimeout: 0,
  });
  try {
    let grpid = 1;
    try {
      grpid = (await sub.namespace(request.nsid)).anagrpid || 1;
    } catch {
      // No such namespace: show group 1.
    }
    const described = sub.describe(grpid);
    const transport = transportName(options);
    const hostnqn = options.hostnqn ?? "";
    const hostid = options.hostid instanceof Uint8Array
      ? uuidToString(options.hostid)
      : options.hostid ?? "";
    const name = (p: PathDescription) => p.cntlid < 0 ? "-" : `ctrl${p.cntlid}`;
    if (request.json) {
      return JSON.stringify(
        [{
          HostNQN: hostnqn,
          HostID: hostid,
          Subsystems: [{
            Name: "nvmf-subsys0",
            NQN: sub.subnqn,
            IOPolicy: "round-robin",
            ANAGroup: grpid,
            Paths: described.map((p) => ({
              Name: name(p),
              Transport: transport,
              Address: addressText(p),
              State: p.state,
              ANAState: p.anaState,
              CNTLID: p.cntlid,
            })),
          }],
        }],
        null,
        2,
      ) + "\n";
    }
    const pad = " ".repeat("nvmf-subsys0 - ".length);
    let text = `nvmf-subsys0 - NQN=${sub.subnqn}\n${pad}hostnqn=${hostnqn}\n` +
      `${pad}iopolicy=round-robin\n\\\n`;
    for (const p of described) {
      text += ` +- ${name(p)} ${transport} ${addressText(p)} ${p.state} ${p.anaState}\n`;
    }
    return text;
  } finally {
    await sub.close();
  }
}

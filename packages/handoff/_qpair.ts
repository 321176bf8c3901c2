/**
 * The transport half of the producers and consumers (private), written against the
 * `@nvmf/transport` contract alone: qpair records from live queue pairs (libnvmf's
 * `nvmf_kernel_handoff_params()`, with the transport's own fields from its `handoffParams`, as
 * `tcp_kernel_handoff_params()`), and queue pairs from records and connections (the transport's
 * `adopt`, as the kernel's `tcp_allocate_qpair()`).
 *
 * @module
 */

import type {
  Association,
  HandoffCarrier,
  QueuePair,
  QueuePairResume,
  QueuePairState,
  Transport,
} from "@nvmf/transport";
import type { HandoffConnection } from "./connection.ts";
import { type HandoffSide, HostHandoffSchema, type QpairHandoff } from "./records.ts";

/**
 * Refuses a transport the handoff records have no form for (they know FreeBSD's TCP and our
 * intra-host transport), before anything is stopped or detached.
 *
 * @param transport The transport.
 * @param what What would be handed off, for the message.
 * @throws {TypeError} When the records cannot name its TRTYPE.
 */
export function checkRecordable(transport: Transport, what: string): void {
  const parsed = HostHandoffSchema.safeParse({ trtype: transport.trtype });
  const issue = parsed.success
    ? undefined
    : parsed.error.issues.find((i) => i.path.length === 1 && i.path[0] === "trtype");
  if (issue !== undefined) {
    throw new TypeError(
      `Cannot hand off ${what} over transport ${transport.name}: the handoff records cannot name trtype ${transport.trtype} (it ${issue.message})`,
    );
  }
}

/**
 * The qpair record of a live queue pair, from its `state()`: the transport-independent fields
 * (libnvmf's `nvmf_kernel_handoff_params()`) and the transport's named values.
 *
 * @param transport The queue pair's transport.
 * @param state The queue pair's state.
 * @param side Which side.
 * @param connection The index of its connection among those handed over.
 * @param queue Queue identity and SQ state overriding the state's (a controller before Connect).
 * @returns The record (not yet validated).
 */
export function qpairRecord(
  transport: Transport,
  state: QueuePairState,
  side: HandoffSide,
  connection: number,
  queue: Partial<Pick<QpairHandoff, "admin" | "qsize" | "sqFlowControl" | "sqhd">> = {},
): QpairHandoff {
  const sqFlowControl = queue.sqFlowControl ?? state.sqFlowControl;
  const q: QpairHandoff = {
    admin: queue.admin ?? state.admin,
    sqFlowControl,
    qsize: queue.qsize ?? state.qsize,
    // Without SQ flow control libnvmf's host advances SQHD once per response, so an idle
    // queue has sqhd = sqtail; our queue pairs only track SQHD with flow control.
    sqhd: queue.sqhd ?? (side === "host" && !sqFlowControl ? state.sqtail : state.sqhd),
  };
  if (side === "host") q.sqtail = state.sqtail;
  return { ...q, ...transport.handoffParams(state, connection) } as QpairHandoff;
}

/**
 * Whether a connection is a carrier (from `detach()` in this process) rather than what another
 * process passed.
 *
 * @param connection The connection.
 * @returns True for a carrier.
 */
export function isCarrier(connection: HandoffConnection): connection is HandoffCarrier {
  const c = connection as Partial<HandoffCarrier>;
  return typeof c.discard === "function" && typeof c.transport === "object" &&
    c.transport !== null;
}

/**
 * The carrier of a connection: itself, or what `transport` makes of a connection another
 * process passed.
 *
 * @param connection The connection.
 * @param transport The transport that adopts it.
 * @returns The carrier.
 * @throws {TypeError} When the transport takes no connections from other processes.
 */
export function carrierOf(connection: HandoffConnection, transport: Transport): HandoffCarrier {
  if (isCarrier(connection)) return connection;
  if (transport.carrierFrom === undefined) {
    throw new TypeError(
      `Cannot adopt a connection passed from another process: transport ${transport.name} takes none`,
    );
  }
  return transport.carrierFrom(connection);
}

/**
 * Makes the queue pair that continues a handed-over connection, at the recorded SQ state, with
 * no ICReq and no Connect: the association's transport adopts it.
 *
 * @param association The new owner's association (its role is the queue pair's).
 * @param q The qpair record.
 * @param qid The queue ID (from the host's order, or the controller's Connect).
 * @param connection The connection.
 * @returns The queue pair.
 * @throws {TypeError} When the connection does not fit the transport.
 * @throws {RangeError} When a transport field of the record cannot be used.
 */
export function adoptConnection(
  association: Association,
  q: QpairHandoff,
  qid: number,
  connection: HandoffConnection,
): QueuePair {
  const transport = association.transport;
  const resume: QueuePairResume = {
    admin: q.admin,
    qid,
    qsize: q.qsize,
    sqhd: q.sqhd,
    sqtail: q.sqtail,
    sqFlowControl: q.sqFlowControl,
    params: { ...q },
  };
  return transport.adopt(association, carrierOf(connection, transport), resume);
}

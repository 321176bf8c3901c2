/**
 * The transport half of the producers and consumers (private): qpair records from live queue
 * pairs (libnvmf's `tcp_kernel_handoff_params()`), and queue pairs from records and
 * connections (the kernel's `tcp_allocate_qpair()`).
 *
 * @module
 */

import { TransportType } from "@nvmf/proto";
import { Association, type QueuePair, type QueuePairState } from "@nvmf/transport";
import { type ByteStream, PduReader, type TcpNegotiated, TcpQueuePair } from "@nvmf/transport-tcp";
import { LoopbackDetached, LoopbackTransport } from "@nvmf/transport-loopback";
import type { HandoffConnection } from "./connection.ts";
import type { HandoffSide, QpairHandoff } from "./records.ts";

/** Receive buffer of a queue pair made from a passed socket, as `@nvmf/transport-tcp`'s own. */
const RX_BUFFER = 64 * 1024;

/**
 * The qpair record of a live queue pair, from its `state()` (libnvmf's
 * `nvmf_kernel_handoff_params()` and, for TCP, `tcp_kernel_handoff_params()`).
 *
 * @param state The queue pair's state.
 * @param side Which side.
 * @param trtype The transport.
 * @param fd The index of its connection among those handed over.
 * @param queue Queue identity and SQ state overriding the state's (a controller before Connect).
 * @returns The record (not yet validated).
 */
export function qpairRecord(
  state: QueuePairState,
  side: HandoffSide,
  trtype: number,
  fd: number,
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
  if (trtype === TransportType.TCP) {
    const t = state.transport;
    q.fd = fd;
    // libnvmf keeps alignments in bytes, (PDA + 1) * 4, and MAXR2T 0's based, as on the wire.
    q.rxpda = (Number(t.rxpda) + 1) * 4;
    q.txpda = (Number(t.txpda) + 1) * 4;
    q.headerDigests = Boolean(t.headerDigests);
    q.dataDigests = Boolean(t.dataDigests);
    q.maxr2t = Number(t.maxr2t) - 1;
    q.maxh2cdata = Number(t.maxh2cdata);
    // tcp_accept(): "qp->max_icd = 0; /* XXX */" on the controller side.
    q.maxIcd = side === "host" ? Number(t.maxIcd) : 0;
  }
  return q;
}

/**
 * Takes a queue pair's connection for a new owner: `TcpQueuePair.detach()` or
 * `LoopbackTransport.detach()`.
 *
 * @param qp The queue pair, idle.
 * @returns Its connection.
 * @throws {TypeError} When its transport is neither.
 */
export async function detachConnection(qp: QueuePair): Promise<HandoffConnection> {
  if (qp instanceof TcpQueuePair) return await qp.detach();
  const transport = qp.association.transport;
  if (transport instanceof LoopbackTransport) return transport.detach(qp);
  throw new TypeError(
    `Cannot hand off a queue pair of transport ${transport.name}: only tcp and loopback ones`,
  );
}

/**
 * Closes a connection nobody will adopt.
 *
 * @param connection The connection.
 */
export function closeConnection(connection: HandoffConnection): void {
  if (connection instanceof LoopbackDetached) {
    const state = connection.state;
    const association = new Association(connection.transport, state.controller);
    connection.transport.adopt(association, connection, {
      admin: state.admin,
      qsize: Math.max(state.qsize, 2),
      sqhd: 0,
      sqFlowControl: false,
    }).close().catch(() => {});
  } else if ("reader" in connection) {
    connection.stream.close();
  } else {
    connection.close();
  }
}

function pdaOf(bytes: number, field: string): number {
  if (bytes % 4 !== 0) {
    throw new RangeError(`Cannot use ${field} ${bytes}: it must be (PDA + 1) * 4 bytes`);
  }
  return bytes <= 4 ? 0 : bytes / 4 - 1;
}

/** The NVMe/TCP values ICReq/ICResp settled, from a TCP qpair record. */
export function negotiatedOf(q: QpairHandoff): TcpNegotiated {
  return {
    headerDigests: q.headerDigests!,
    dataDigests: q.dataDigests!,
    rxpda: pdaOf(q.rxpda!, "rxpda"),
    txpda: pdaOf(q.txpda!, "txpda"),
    maxr2t: q.maxr2t! + 1,
    maxh2cdata: q.maxh2cdata!,
  };
}

/**
 * Makes the queue pair that continues a handed-over connection, at the recorded SQ state, with
 * no ICReq and no Connect.
 *
 * @param association The new owner's association (its role is the queue pair's).
 * @param trtype The record's transport.
 * @param q The qpair record.
 * @param qid The queue ID (from the host's order, or the controller's Connect).
 * @param connection The connection.
 * @returns The queue pair.
 * @throws {TypeError} When the connection does not fit the transport.
 */
export function adoptConnection(
  association: Association,
  trtype: number,
  q: QpairHandoff,
  qid: number,
  connection: HandoffConnection,
): QueuePair {
  const controller = association.controller;
  if (trtype === TransportType.INTRA_HOST) {
    if (!(connection instanceof LoopbackDetached)) {
      throw new TypeError("Cannot adopt a trtype 254 queue pair without its loopback connection");
    }
    return connection.transport.adopt(association, connection, {
      admin: q.admin,
      qid,
      qsize: q.qsize,
      sqhd: q.sqhd,
      sqtail: q.sqtail,
      sqFlowControl: q.sqFlowControl,
    });
  }
  if (connection instanceof LoopbackDetached) {
    throw new TypeError("Cannot adopt a TCP queue pair with a loopback connection");
  }
  const detached = "reader" in connection ? connection : undefined;
  const stream = detached?.stream ?? (connection as ByteStream);
  const reader = detached?.reader ?? new PduReader(stream, RX_BUFFER);
  return new TcpQueuePair(association, stream, reader, negotiatedOf(q), {
    controller,
    admin: q.admin,
    qid,
    qsize: q.qsize,
    sqFlowControl: q.sqFlowControl,
    sqhd: q.sqhd,
    sqtail: q.sqtail,
    after: detached?.released,
  });
}

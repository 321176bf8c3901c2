/**
 * NVMe/TCP's half of a handoff: the carrier of a detached connection (the socket and the bytes
 * already received), FreeBSD's `tcp_kernel_handoff_params()` (the TCP fields of a qpair nvlist)
 * and their reading back, as the kernel's `tcp_allocate_qpair()` reads them.
 *
 * @module
 */

import type * as net from "node:net";
import type { HandoffParams, QueuePairHandoff, QueuePairState, Transport } from "@nvmf/transport";
import type { PduReader } from "./reader.ts";
import type { ByteStream } from "./stream.ts";

/** What ICReq/ICResp settled for a connection. */
export interface TcpNegotiated {
  /** Header digests in force. */
  headerDigests: boolean;
  /** Data digests in force. */
  dataDigests: boolean;
  /** Alignment we ask of the peer (our HPDA or CPDA), 0's based dwords. */
  rxpda: number;
  /** Alignment the peer asks of us, 0's based dwords. */
  txpda: number;
  /** Outstanding R2Ts per command the host accepts, 1-based. */
  maxr2t: number;
  /** Most data in one H2CData PDU. */
  maxh2cdata: number;
}

/**
 * An NVMe/TCP connection between two owners: detached from a queue pair in this process (the
 * stream, its reader with any bytes received, the negotiated values, and when the old owner
 * stops reading), or passed from another process (a stream over the socket, nothing else: the
 * record gives the values).
 */
export class TcpCarrier implements QueuePairHandoff {
  readonly transport: Transport;
  readonly stream: ByteStream;
  readonly reader: PduReader;
  /** What ICReq/ICResp negotiated, when detached in this process. */
  readonly negotiated: TcpNegotiated | undefined;
  /** Settles when the old owner has stopped reading (detached in this process). */
  readonly released: Promise<void> | undefined;
  readonly #state: QueuePairState | undefined;
  #spent = false;

  /**
   * Makes a carrier.
   *
   * @param transport The transport that made it.
   * @param stream The connection.
   * @param reader Its reader.
   * @param detached The state, negotiated values and read loop of a detached queue pair.
   */
  constructor(
    transport: Transport,
    stream: ByteStream,
    reader: PduReader,
    detached?: { state: QueuePairState; negotiated: TcpNegotiated; released: Promise<void> },
  ) {
    this.transport = transport;
    this.stream = stream;
    this.reader = reader;
    this.#state = detached?.state;
    this.negotiated = detached?.negotiated;
    this.released = detached?.released;
  }

  /** The queue state when detached (a carrier from another process has none). */
  get state(): QueuePairState {
    if (this.#state === undefined) {
      throw new TypeError("Cannot read the state: the connection came from another process");
    }
    return this.#state;
  }

  /** Marks the carrier adopted. */
  take(): void {
    if (this.#spent) {
      throw new TypeError(
        "Cannot adopt the connection: it was adopted, released or discarded already",
      );
    }
    this.#spent = true;
  }

  discard(): Promise<void> {
    if (!this.#spent) {
      this.#spent = true;
      this.stream.close();
    }
    return Promise.resolve();
  }

  async release(): Promise<net.Socket> {
    if (this.#spent) {
      throw new TypeError("Cannot release the socket: it was adopted, released or discarded");
    }
    const waiting = this.reader.available;
    if (waiting > 0) {
      throw new Error(
        `Cannot release the socket: ${waiting} received bytes wait for the new owner`,
      );
    }
    const socket = this.stream.release?.();
    if (socket === undefined) {
      throw new TypeError(
        "Cannot release the socket: the stream is not an idle node:net one (accept sockets with node:net and tcp.acceptSocket())",
      );
    }
    this.#spent = true;
    await this.released;
    return socket;
  }
}

/**
 * The TCP fields of a qpair record, as `tcp_kernel_handoff_params()` writes them: alignments
 * in bytes, (PDA + 1) * 4, and MAXR2T 0's based, as on the wire; `max_icd` 0 on the controller
 * side, as `tcp_accept()` leaves it.
 *
 * @param state The queue pair's state; `state.transport` holds our negotiated values.
 * @param fd The index of its connection among those handed over.
 * @returns The named values.
 */
export function tcpHandoffParams(state: QueuePairState, fd: number): HandoffParams {
  const t = state.transport;
  return {
    fd,
    rxpda: (Number(t.rxpda) + 1) * 4,
    txpda: (Number(t.txpda) + 1) * 4,
    headerDigests: Boolean(t.headerDigests),
    dataDigests: Boolean(t.dataDigests),
    maxr2t: Number(t.maxr2t) - 1,
    maxh2cdata: Number(t.maxh2cdata),
    // tcp_accept(): "qp->max_icd = 0; /* XXX */" on the controller side.
    maxIcd: state.controller ? 0 : Number(t.maxIcd),
  };
}

function pdaOf(bytes: unknown, field: string): number {
  if (typeof bytes !== "number" || !Number.isInteger(bytes) || bytes < 0 || bytes % 4 !== 0) {
    throw new RangeError(`Cannot use ${field} ${bytes}: it must be (PDA + 1) * 4 bytes`);
  }
  return bytes <= 4 ? 0 : bytes / 4 - 1;
}

function numberOf(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`Cannot use ${field} ${value}: it must be a non-negative integer`);
  }
  return value;
}

/**
 * The values ICReq/ICResp settled, from the TCP fields of a qpair record.
 *
 * @param params The record's named values.
 * @returns The negotiated values.
 * @throws {RangeError} When a field is missing or cannot be used.
 */
export function tcpNegotiatedOf(
  params: Readonly<Record<string, number | boolean | undefined>>,
): TcpNegotiated {
  return {
    headerDigests: params.headerDigests === true,
    dataDigests: params.dataDigests === true,
    rxpda: pdaOf(params.rxpda, "rxpda"),
    txpda: pdaOf(params.txpda, "txpda"),
    maxr2t: numberOf(params.maxr2t, "maxr2t") + 1,
    maxh2cdata: numberOf(params.maxh2cdata, "maxh2cdata"),
  };
}

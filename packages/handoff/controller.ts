/**
 * Controller queue pairs handed to a new owner after their Connect was read, and taken over by
 * a `Target` from a record — libnvmf's `nvmf_handoff_controller_qpair()` and the kernel
 * target's `nvmft_handoff()`: FreeBSD's ctld accepts, reads the Connect, and lets the kernel
 * answer it and serve the queue.
 *
 * @module
 */

import { CONNECT_DATA_SIZE, ConnectAttributes, decodeConnect, SQE_SIZE } from "@nvmf/proto";
import type { HandoffCarrier, QueuePair } from "@nvmf/transport";
import type { Port, Target } from "@nvmf/controller";
import type { HandoffConnection } from "./connection.ts";
import { adoptConnection, checkRecordable, isCarrier, qpairRecord } from "./_qpair.ts";
import { type ControllerHandoff, controllerHandoffToNvList } from "./records.ts";

/** What {@linkcode handoffControllerQpair} returns: the record and the connection beside it. */
export interface HandedOffQpair {
  /** The queue pair and its Connect, as `nvmf_handoff_controller_qpair()` fills the nvlist. */
  record: ControllerHandoff;
  /**
   * The connection: the queue pair's `detach()` carrier. A TCP record's `params.fd` is 0, its
   * index among the one handed over.
   */
  connection: HandoffCarrier;
}

/**
 * Hands an accepted controller queue pair to a new owner after its Connect command and data
 * were read and before they are answered (the new owner answers, as FreeBSD's kernel target
 * does): the record's qpair list takes queue size, admin and SQ flow control from the Connect
 * as libnvmf's `nvmf_accept()` does (flow control stays on unless the host asks to disable it
 * and the association allows it), SQHD from the queue pair (0: nothing was answered), and the
 * transport's values (its `handoffParams`: for NVMe/TCP what ICReq/ICResp settled); then the
 * queue pair is detached.
 *
 * @param qp The controller queue pair of any transport that hands queue pairs off, idle but for
 * the Connect read.
 * @param connect The 64-byte Connect command received.
 * @param data The 1024 bytes of Connect data received.
 * @returns The record (checked as the kernel's `nvmft_handoff()` checks it) and the connection.
 * @throws {NvFieldError} When the record breaks a rule, e.g. a SUBNQN that is not an NQN.
 * @throws {ProtocolFieldError} When `connect` is not a Connect command.
 * @throws {TypeError} When `qp` is a host queue pair, or the records cannot name its transport.
 * @example Usage
 * ```ts ignore
 * import { handoffControllerQpair } from "@nvmf/handoff";
 * const qp = await listener.accept();
 * const cmd = await qp.receive(); // the Connect
 * const data = new Uint8Array(1024);
 * await qp.receiveControllerData(cmd, 0, data);
 * const { record, connection } = await handoffControllerQpair(qp, cmd.sqe, data);
 * ```
 */
export async function handoffControllerQpair(
  qp: QueuePair,
  connect: Uint8Array,
  data: Uint8Array,
): Promise<HandedOffQpair> {
  if (!qp.controller) throw new TypeError("Cannot hand off a host queue pair as a controller's");
  const transport = qp.association.transport;
  checkRecordable(transport, "a queue pair");
  if (connect.length !== SQE_SIZE || data.length !== CONNECT_DATA_SIZE) {
    throw new RangeError(
      `Cannot hand off the queue pair: the Connect is ${connect.length} bytes with ${data.length} of data, not ${SQE_SIZE} and ${CONNECT_DATA_SIZE}`,
    );
  }
  const c = decodeConnect(connect);
  const record: ControllerHandoff = {
    trtype: transport.trtype,
    params: qpairRecord(transport, qp.state(), "controller", 0, {
      admin: c.qid === 0,
      qsize: c.sqsize + 1, // SQSIZE is 0's based
      sqFlowControl: qp.association.params.sqFlowControl ||
        (c.cattr & ConnectAttributes.DISABLE_SQ_FLOW_CONTROL) === 0,
    }),
    cmd: connect.slice(),
    data: data.slice(),
  };
  controllerHandoffToNvList(record); // nvmft_handoff()'s checks, before the queue pair goes
  return { record, connection: await qp.detach() };
}

/** Options of {@linkcode adoptControllerQpair}. */
export interface AdoptControllerQpairOptions {
  /**
   * The port the queue pair joins: default the lowest-numbered port of the target over the
   * carrier's transport object (for loopback, the connection's fabric), else over the record's
   * TRTYPE. A port made with `accept: false` serves only adopted queue pairs.
   */
  port?: Port;
}

/**
 * Takes over a controller queue pair from a handoff record and its connection, as the kernel's
 * `nvmft_handoff()` does: makes the queue pair (no ICReq; SQHD where it was) in the port's
 * association and lets the target answer the recorded Connect as if the port had accepted it
 * (`Target.adoptQueuePair()`): an admin queue Connect creates a controller, an I/O queue
 * Connect joins one of the same host.
 *
 * @param record A valid controller handoff record (trtype 3 or 254).
 * @param connection Its connection: the carrier `detach()` returned in this process, or a socket
 * passed from another process (the port's transport takes it up).
 * @param target The target that serves the queue pair.
 * @param options The port.
 * @returns The queue pair, once the Connect is answered (and the queue pair closed if refused).
 * @throws {NvFieldError} When the record is invalid.
 * @throws {RangeError} When the target has no port for the record's transport.
 * @throws {TypeError} When the connection does not fit the transport.
 * @example Usage
 * ```ts ignore
 * import { adoptControllerQpair, controllerHandoffFromJson } from "@nvmf/handoff";
 * process.on("message", async (m, socket) => {
 *   await adoptControllerQpair(controllerHandoffFromJson(m.record), socket, target);
 * });
 * ```
 */
export async function adoptControllerQpair(
  record: ControllerHandoff,
  connection: HandoffConnection,
  target: Target,
  options: AdoptControllerQpairOptions = {},
): Promise<QueuePair> {
  controllerHandoffToNvList(record);
  const carried = isCarrier(connection) ? connection.transport : undefined;
  const port = options.port ??
    target.ports.find((p) => p.transport === carried) ??
    target.ports.find((p) => p.transport.trtype === record.trtype);
  if (port === undefined) {
    throw new RangeError(
      `Cannot adopt the queue pair: the target has no port over transport ${record.trtype}`,
    );
  }
  const c = decodeConnect(record.cmd);
  const qp = adoptConnection(port.association, record.params, c.qid, connection);
  await target.adoptQueuePair(qp, record.cmd, record.data);
  return qp;
}

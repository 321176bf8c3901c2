/**
 * `@nvmf/transport`: the one contract every NVMe over Fabrics transport implements and that
 * `@nvmf/host` and `@nvmf/controller` are written against, after FreeBSD's libnvmf
 * (`libnvmf.h`) and its kernel `nvmf_transport.h`, made asynchronous.
 *
 * The pieces:
 * - {@linkcode Association}: what the queue pairs between one host and one controller share
 *   (SQ flow control, controller model, queue size limits, per-transport parameters such as
 *   NVMe/TCP PDA, digests, MAXR2T and MAXH2CDATA), updated from Identify Controller on the host.
 * - {@linkcode QueuePair}: an admin or I/O queue pair made by a host-side
 *   {@linkcode Transport.connect} or accepted from a controller-side
 *   {@linkcode Transport.listen}. It `transmit`s capsules and delivers received ones in arrival
 *   order, either one promise at a time with `receive()` or pushed to a handler set once with
 *   `consume()` (no promise per capsule: the host and controller use it), and settles {@linkcode QueuePair.closed} with `undefined` after an orderly close or with the
 *   {@linkcode TransportError} that ended it. `state()` gives what a handoff records (qsize,
 *   sqhd, sqtail, SQ flow control, the transport's negotiated values).
 * - {@linkcode Capsule}: a command (SQE, and on the host at most one data buffer with its
 *   direction) or a response (CQE). Buffers are handed over, never copied by the API.
 * - Controller data movement on the queue pair: `capsuleDataLength`, `receiveControllerData`
 *   (in-capsule or fetched from the host, in as many calls as the controller likes),
 *   `sendControllerData` (returns `"sent"`, `"success-sent"` — the NVMe/TCP SUCCESS flag, no CQE
 *   to send — or `"more"`), and `validateCommandCapsule` (a generic status for bad SGLs).
 * - A registry: transports register under their TRTYPE and name, and code picks one with
 *   {@linkcode getTransport}`("tcp")` or `getTransport(3)` without importing it.
 * - Typed errors: {@linkcode TransportError} (with the NVMe/TCP FES/FEI when there is one) and
 *   {@linkcode QueuePairClosedError}; a command's NVMe status is `NvmeStatusError` from
 *   `@nvmf/proto`.
 *
 * - Handoff: {@linkcode QueuePair.detach} gives a queue pair's connection up as a
 *   {@linkcode QueuePairHandoff} (its state and an opaque {@linkcode HandoffCarrier}),
 *   {@linkcode Transport.adopt} makes a live queue pair from a carrier at a recorded SQ head and
 *   tail (no ICReq, no Connect), {@linkcode Transport.handoffParams} names the transport's
 *   negotiated values for a record, and {@linkcode Transport.carrierFrom} takes up a connection
 *   passed from another process. `@nvmf/handoff` is written against these alone.
 *
 * Writing a transport: `@nvmf/transport/implement` has {@linkcode BaseQueuePair}, the
 * transport-independent half (receive queue, close/error signal, SQ head and tail accounting),
 * and the SGL helpers every transport shares.
 *
 * @example A command and its data over the loopback transport
 * ```ts
 * import { Association, commandCapsule, getTransport, responseCapsule } from "@nvmf/transport";
 * import "@nvmf/transport-loopback";
 * import { encodeCqe, encodeSqe, NvmOpcode, sqeCid } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 *
 * const loopback = getTransport("loopback");
 * const listener = await loopback.listen(new Association(loopback, true), { traddr: "doc" });
 * const host = await loopback.connect(new Association(loopback, false), {
 *   address: { traddr: "doc" }, admin: false, qid: 1, qsize: 32,
 * });
 * const ctrl = await listener.accept();
 * ctrl.setConnected({ qid: 1, qsize: 32, sqFlowControl: true });
 *
 * // Host: a 512-byte read.
 * const buffer = new Uint8Array(512);
 * await host.transmit(commandCapsule(encodeSqe({ opcode: NvmOpcode.READ, cid: 9 }), buffer, "controller-to-host"));
 *
 * // Controller: send the data, then the completion.
 * const cmd = await ctrl.receive();
 * assert.ok(cmd.kind === "command");
 * assert.equal(ctrl.capsuleDataLength(cmd), 512);
 * assert.equal(await ctrl.sendControllerData(cmd, 0, new Uint8Array(512).fill(7), true), "sent");
 * await ctrl.transmit(responseCapsule(encodeCqe({ cid: sqeCid(cmd.sqe), sqid: 1 })));
 *
 * const rsp = await host.receive();
 * assert.equal(rsp.kind, "response");
 * assert.equal(buffer[511], 7);
 * await host.close();
 * assert.equal(await ctrl.closed, undefined);
 * await listener.close();
 * ```
 *
 * @module
 */

export {
  QueuePairClosedError,
  TransportError,
  type TransportErrorCode,
  type TransportErrorOptions,
} from "./errors.ts";
export {
  type Capsule,
  type CommandCapsule,
  commandCapsule,
  type DataDirection,
  type ResponseCapsule,
  responseCapsule,
} from "./capsule.ts";
export {
  Association,
  type AssociationControllerData,
  type AssociationParams,
  DEFAULT_ASSOCIATION_PARAMS,
  type TcpAssociationParams,
} from "./association.ts";
export type { ConnectedQueue, QueuePair, QueuePairState, SendOutcome } from "./queue_pair.ts";
export {
  type ConnectParams,
  getTransport,
  type Listener,
  type ListenerOptions,
  registeredTransports,
  registerTransport,
  type Transport,
  type TransportAddress,
} from "./transport.ts";
export type {
  HandoffCarrier,
  HandoffParams,
  QueuePairHandoff,
  QueuePairResume,
} from "./handoff.ts";

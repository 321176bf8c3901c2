/**
 * `@nvmf/transport-tcp`: NVMe/TCP (NVMe/TCP Transport Specification 1.0) for both roles, over
 * Deno's TCP sockets (and `node:net` on Bun and Node), implementing the `@nvmf/transport`
 * contract. Importing it registers the transport as `"tcp"` (TRTYPE 3).
 *
 * ## The state machine of one connection
 *
 * 1. **Set-up.** The host connects and sends ICReq (PFV 0, HPDA, the digests it wants, MAXR2T);
 *    the controller checks it and answers ICResp (CPDA, the digests granted, MAXH2CDATA). A bad
 *    value gets a TermReq naming the field (FES, FEI) and the connection closes. Both sides now
 *    honour the other's PDU data alignment (PDO) and the agreed header and data digests.
 * 2. **Capsules.** The host sends CapsuleCmd PDUs: the SQE, and its data in the capsule when
 *    it is host-to-controller data that fits the queue's in-capsule size (8 KiB on the admin
 *    queue, IOCCSZ-derived on I/O queues); otherwise the SGL is a transport data block and the
 *    data moves separately. The controller answers each command with a CapsuleResp.
 * 3. **Data to the host.** The controller sends C2HData PDUs in order (DATAO, DATAL, LAST_PDU on
 *    the last); with SQ flow control disabled, the last may carry SUCCESS and then there is no
 *    CapsuleResp — the host makes the completion itself.
 * 4. **Data to the controller.** The controller sends R2T (TTAG, R2TO, R2TL) when it wants data;
 *    the host answers with H2CData PDUs of at most MAXH2CDATA bytes each, LAST_PDU on the last of
 *    each R2T; at most MAXR2T R2Ts are outstanding per command.
 * 5. **End.** Either side closes the connection (after a Disconnect or a controller teardown),
 *    or a protocol violation ends it: the side that sees a bad PDU sends a TermReq with the Fatal
 *    Error Status, the offset of the bad field, and the offending header, then closes; the other
 *    side surfaces a `TransportError` with code `"termreq"` and the FES. A bad header digest is
 *    fatal (FES 3); a bad data digest only fails its command (`TRANSIENT_TRANSPORT_ERROR` from
 *    the controller, `DATA_TRANSFER_ERROR` on the host).
 *
 * Every received length is checked before anything is allocated: the common header is validated
 * first (`checkPduHeader` from `@nvmf/proto`), in-capsule data is bounded by the negotiated
 * size, C2H data by the host's own buffer, H2C data by MAXH2CDATA and the R2T it answers.
 *
 * ## Handoff
 *
 * A queue pair's `detach()` gives up its connection (the socket and the bytes already
 * received) and `tcp.adopt()` continues it at a recorded SQ head and tail with no ICReq, as
 * FreeBSD hands queue pairs to its kernel; `tcp.handoffParams()` writes the TCP fields of
 * FreeBSD's qpair nvlist. A socket the application accepted with `node:net`
 * (`tcp.acceptSocket()`) can go to another process: the carrier's `release()` gives it up for
 * `child.send(message, socket)`, and `tcp.carrierFrom(socket)` takes it up there.
 *
 * The byte-stream adapter the transport runs on (Deno sockets on Deno, `node:net` elsewhere) is
 * `@nvmf/transport-tcp/stream`, for raw measurements and tests.
 *
 * @example Host and controller on 127.0.0.1
 * ```ts
 * import { Association, commandCapsule, getTransport, responseCapsule } from "@nvmf/transport";
 * import "@nvmf/transport-tcp";
 * import { encodeCqe, encodeSqe, NvmOpcode, sqeCid } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 *
 * const tcp = getTransport("tcp");
 * const listener = await tcp.listen(new Association(tcp, true), { traddr: "127.0.0.1", trsvcid: "0" });
 * const host = await tcp.connect(new Association(tcp, false), {
 *   address: listener.address, admin: true, qid: 0, qsize: 32,
 * });
 * const ctrl = await listener.accept();
 * ctrl.setConnected({ qid: 0, qsize: 32, sqFlowControl: true });
 *
 * const into = new Uint8Array(4096);
 * await host.transmit(commandCapsule(encodeSqe({ opcode: NvmOpcode.READ, cid: 1 }), into, "controller-to-host"));
 * const cmd = await ctrl.receive();
 * assert.ok(cmd.kind === "command");
 * await ctrl.sendControllerData(cmd, 0, new Uint8Array(4096).fill(0xab), true);
 * await ctrl.transmit(responseCapsule(encodeCqe({ cid: sqeCid(cmd.sqe) })));
 * assert.equal((await host.receive()).kind, "response");
 * assert.equal(into[4095], 0xab);
 *
 * await host.close();
 * await ctrl.closed;
 * await listener.close();
 * ```
 *
 * @module
 */

import { registerTransport } from "@nvmf/transport";
import { tcp } from "./transport.ts";

export { tcp, type TcpListenOptions, TcpTransport } from "./transport.ts";

// The types of @nvmf/transport this package's API uses, so that its documentation is complete.
export type {
  Association,
  AssociationControllerData,
  AssociationParams,
  Capsule,
  CommandCapsule,
  ConnectedQueue,
  ConnectParams,
  DataDirection,
  HandoffCarrier,
  HandoffParams,
  Listener,
  QueuePair,
  QueuePairHandoff,
  QueuePairResume,
  QueuePairState,
  ResponseCapsule,
  SendOutcome,
  TcpAssociationParams,
  Transport,
  TransportAddress,
  TransportError,
  TransportErrorCode,
  TransportErrorOptions,
} from "@nvmf/transport";

registerTransport(tcp);

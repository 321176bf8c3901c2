/**
 * `@nvmf/transport/implement`: what only a transport implementer needs, beside the contract in
 * `@nvmf/transport` — FreeBSD's split of `nvmf_transport.c` (the transport-independent half)
 * from `nvmf_tcp.c`.
 *
 * - {@linkcode BaseQueuePair}: the transport-independent half of a queue pair. A transport
 *   extends it, implements `_transmit`, `_close`, `_transportState`, the controller data
 *   movement and (to hand queue pairs off) `_detach`, and calls `_deliver`, `_fail`,
 *   `_peerClosed` and `_handedOff` as its connection dictates. It keeps the receive queue, the
 *   close and error signal, and the SQ head and tail accounting.
 * - The SGL rules every transport shares (NVMe-oF 1.1, 2.3): {@linkcode prepareCommandSgl} on
 *   the host, {@linkcode validateCommandSgl}, {@linkcode commandSglLength} and
 *   {@linkcode isInCapsuleCommand} on the controller, and the two descriptor identifiers.
 *
 * @example A queue pair that receives whatever it transmits
 * ```ts
 * import { Association, type Capsule, getTransport } from "@nvmf/transport";
 * import { BaseQueuePair, commandSglLength, prepareCommandSgl } from "@nvmf/transport/implement";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 *
 * class Echo extends BaseQueuePair {
 *   protected _transmit(c: Capsule) {
 *     if (c.kind === "command") prepareCommandSgl(c.sqe, c.data?.length ?? 0, c.direction, 0);
 *     this._deliver(c);
 *     return Promise.resolve();
 *   }
 *   protected _close() { return Promise.resolve(); }
 *   protected _transportState() { return {}; }
 *   capsuleDataLength(c: { sqe: Uint8Array }) { return commandSglLength(c.sqe); }
 *   validateCommandCapsule() { return 0; }
 *   receiveControllerData() { return Promise.resolve(); }
 *   sendControllerData() { return Promise.resolve("sent" as const); }
 * }
 * const na = new Association(getTransport("loopback"), false);
 * const qp = new Echo(na, { controller: false, admin: true, qid: 0, qsize: 32, sqFlowControl: true });
 * await qp.transmit({ kind: "command", sqe: new Uint8Array(64), data: new Uint8Array(512), direction: "controller-to-host" });
 * const got = await qp.receive();
 * assert.ok(got.kind === "command");
 * assert.equal(qp.capsuleDataLength(got), 512);
 * await assert.rejects(qp.detach(), TypeError); // Echo does not hand queue pairs off
 * await qp.close();
 * ```
 *
 * @module
 */

export { BaseQueuePair, type BaseQueuePairInit } from "./queue_pair.ts";
export {
  commandSglLength,
  isInCapsuleCommand,
  prepareCommandSgl,
  SGL_ID_IN_CAPSULE,
  SGL_ID_TRANSPORT,
  validateCommandSgl,
} from "./sgl.ts";
export { checkTransfer } from "./transfer.ts";

/**
 * The connections that go beside a handoff record.
 *
 * A handoff hands over a record and an array of connections. For NVMe/TCP a qpair list's `fd`
 * is the index of its connection in that array, as libnv's `nvlist_send()` numbers the
 * descriptors it passes beside the packed list (there are no descriptors to pass in Deno or
 * Bun); the other transports' lists have no `fd`, and their connections come in queue order
 * (admin first). A connection is:
 *
 * - in the same process, the carrier a queue pair's `detach()` returned (`@nvmf/transport`'s
 *   `QueuePairHandoff`): the transport's own business, adopted by the transport that made it;
 * - in another process, a `node:net` socket: {@linkcode releaseSocket} gives up the socket of a
 *   carrier that can be passed (NVMe/TCP's, over a socket accepted with `node:net`),
 *   `child.send(message, socket)` passes it (Node's, Bun's and Deno's `node:child_process` can),
 *   and the adopting side hands the socket as it came; the record's transport takes it up again
 *   (its `carrierFrom`).
 *
 * @module
 */

import type * as net from "node:net";
import type { HandoffCarrier } from "@nvmf/transport";
import { isCarrier } from "./_qpair.ts";

/**
 * One connection handed over beside a handoff record: the carrier a queue pair's `detach()`
 * returned (same process), or a socket passed from another process.
 */
export type HandoffConnection = HandoffCarrier | net.Socket;

/**
 * Gives up the socket of a detached connection so that another process can continue it:
 * `child.send(message, socket)` with Node's, Bun's or Deno's `node:child_process`; the other
 * side adopts the record with the socket as it came. The old owner's reading ends first;
 * nothing the peer sent may be waiting (an idle queue pair's peer sends nothing). The carrier
 * is spent afterwards.
 *
 * @param connection A carrier whose transport can pass it (e.g. the `connection` of
 * `handoffControllerQpair()` for a queue pair that `tcp.acceptSocket()` set up on a `node:net`
 * socket, or any NVMe/TCP one on Node and Bun).
 * @returns The socket, paused.
 * @throws {TypeError} When the connection cannot be passed (a loopback one, or a Deno socket
 * from `Deno.connect` or `Deno.listen`).
 * @throws {Error} When received bytes are waiting for the new owner.
 * @example Usage
 * ```ts ignore
 * import { fork } from "node:child_process";
 * import { controllerHandoffToJson, handoffControllerQpair, releaseSocket } from "@nvmf/handoff";
 * const { record, connection } = await handoffControllerQpair(qp, connect, data);
 * const worker = fork("worker.ts", [], { serialization: "advanced" });
 * worker.send({ record: controllerHandoffToJson(record) }, await releaseSocket(connection));
 * ```
 */
export async function releaseSocket(connection: HandoffConnection): Promise<net.Socket> {
  if (!isCarrier(connection)) {
    throw new TypeError("Cannot release the socket: the connection was passed here already");
  }
  if (connection.release === undefined) {
    throw new TypeError(
      `Cannot release the socket: transport ${connection.transport.name} cannot pass its connections to another process`,
    );
  }
  return await connection.release() as net.Socket;
}

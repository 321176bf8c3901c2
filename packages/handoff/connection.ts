/**
 * The connections that go beside a handoff record.
 *
 * A handoff hands over a record and an array of connections. For NVMe/TCP a qpair list's `fd`
 * is the index of its connection in that array, as libnv's `nvlist_send()` numbers the
 * descriptors it passes beside the packed list (there are no descriptors to pass in Deno or
 * Bun); the other transports' lists have no `fd`, and their connections come in queue order
 * (admin first). A connection is:
 *
 * - in the same process, what the transport's `detach()` returned: a `TcpDetached` (the socket,
 *   its reader with any bytes already received, and when the old owner stops reading) or a
 *   `LoopbackDetached`;
 * - in another process, a `ByteStream`: {@linkcode releaseSocket} gives up the `node:net`
 *   socket of a `TcpDetached`, `child.send(message, socket)` passes it (Node's, Bun's and
 *   Deno's `node:child_process` can), and `streamFromSocket(socket)` of `@nvmf/transport-tcp`
 *   wraps it again on the other side.
 *
 * @module
 */

import type * as net from "node:net";
import type { ByteStream, TcpDetached } from "@nvmf/transport-tcp";
import { LoopbackDetached } from "@nvmf/transport-loopback";

// The types of other packages this package's API uses, so that its documentation is complete.
export type * from "@nvmf/transport-tcp";
export type * from "@nvmf/transport-loopback";
export type * from "@nvmf/host";
export type {
  ConnectRejectedEvent,
  ControllerEvent,
  ListenOptions,
  Namespace as ControllerNamespace,
  NamespaceBackend,
  NamespaceOptions,
  NamespaceStats,
  Port,
  Subsystem,
  SubsystemOptions,
  Target,
  TargetErrorEvent,
  TargetEvents,
  WriteOptions,
} from "@nvmf/controller";
export type { DiscoveryLogHeader, LbaFormat, PowerStateDescriptor } from "@nvmf/proto";

/**
 * One connection handed over beside a handoff record: what a transport's `detach()` returned
 * (same process), or a `ByteStream` over a socket passed from another process (NVMe/TCP).
 */
export type HandoffConnection = TcpDetached | LoopbackDetached | ByteStream;

/**
 * Gives up the socket of a detached NVMe/TCP connection so that another process can continue
 * it: `child.send(message, socket)` with Node's, Bun's or Deno's `node:child_process`; the other
 * side wraps it with `streamFromSocket()` and adopts the record with it. The old owner's
 * reading ends first; nothing the peer sent may be waiting (an idle queue pair's peer sends
 * nothing).
 *
 * @param connection What `TcpQueuePair.detach()` returned (e.g. the `connection` of
 * `handoffControllerQpair()`) over a `node:net` socket: one a `net.Server` accepted and
 * `streamFromSocket()` wrapped, or any socket on Node and Bun.
 * @returns The socket, paused.
 * @throws {TypeError} When the stream is not over a `node:net` socket (Deno's `Deno.connect`
 * and `Deno.listen` ones cannot be passed).
 * @throws {Error} When received bytes are waiting for the new owner.
 * @example Usage
 * ```ts ignore
 * import { fork } from "node:child_process";
 * import { handoffControllerQpair, releaseSocket } from "@nvmf/handoff";
 * const { record, connection } = await handoffControllerQpair(qp, connect, data);
 * const worker = fork("worker.ts", [], { serialization: "advanced" });
 * worker.send({ record: controllerHandoffToJson(record) }, await releaseSocket(connection));
 * ```
 */
export async function releaseSocket(connection: HandoffConnection): Promise<net.Socket> {
  if (connection instanceof LoopbackDetached || !("reader" in connection)) {
    throw new TypeError("Cannot release the socket: the connection is not a detached TCP one");
  }
  const waiting = connection.reader.available;
  if (waiting > 0) {
    throw new Error(`Cannot release the socket: ${waiting} received bytes wait for the new owner`);
  }
  const socket = connection.stream.release?.();
  if (socket === undefined) {
    throw new TypeError(
      "Cannot release the socket: the stream is not an idle node:net one (wrap accepted sockets with streamFromSocket)",
    );
  }
  await connection.released;
  return socket;
}

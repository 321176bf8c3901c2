/**
 * {@linkcode connect} sets an association with one controller up as Linux's `nvme-fabrics` and
 * FreeBSD's `nvmecontrol connect` do (FreeBSD's `connect_nvm_adminq()` and
 * `connect_nvm_queues()`): admin queue and Connect, CAP and VS, CC.EN and CSTS.RDY within CAP.TO,
 * Identify Controller and the association update (IOCCSZ, MDTS, SGL support), Number of Queues,
 * one connection and Connect per I/O queue, then keep-alive and Asynchronous Event Requests —
 * and returns the live `HostController`.
 *
 * @module
 */

import { settings } from "./_settings.ts";
import { type HostController, openHostController } from "./controller.ts";
import type { ConnectOptions } from "./options.ts";

/**
 * Connects to a controller and sets the association up (see the module doc for the steps).
 * Defaults follow Linux (`HOST_DEFAULTS`). It reads and writes no files: without
 * `hostnqn` and `hostid` the host is an identity made up once per process.
 *
 * @param options Transport, address, subsystem NQN and the association's parameters.
 * @returns The live controller.
 * @throws {RangeError} When an option is out of range or the host identity is malformed.
 * @throws {TransportError} When the transport cannot connect (refused, TermReq...).
 * @throws {NvmeStatusError} When the controller rejects Connect or another set-up command.
 * @throws {ControllerError} When the controller does not become ready or lacks what is needed.
 * @example Usage
 * ```ts
 * import { connect } from "@nvmf/host";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import { loopback } from "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 *
 * const target = new Target();
 * const subnqn = "nqn.2026-01.dev.nvmf:connect-doc";
 * target.addSubsystem({
 *   nqn: subnqn,
 *   namespaces: [{ backend: new RamBackend({ size: 1n << 20n, blockSize: 512 }) }],
 *   allowAnyHost: true,
 * });
 * await target.listen(loopback, { traddr: "connect-doc" });
 *
 * const ctrl = await connect({ transport: loopback, address: { traddr: "connect-doc" }, subnqn });
 * const ns = await ctrl.namespace(1);
 * await ns.write(0, new Uint8Array(ns.blockSize).fill(7));
 * assert.equal((await ns.read(0, 1))[0], 7);
 * await ctrl.close();
 * await target.close();
 * ```
 */
export function connect(options: ConnectOptions): Promise<HostController> {
  try {
    return openHostController(settings(options), options.signal);
  } catch (e) {
    return Promise.reject(e);
  }
}

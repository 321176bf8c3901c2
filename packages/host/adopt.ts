/**
 * The host's half of a handoff, as FreeBSD's libnvmf hands a host association to the kernel
 * (`nvmf_handoff_host()`) and the kernel takes it (`NVMF_HANDOFF_HOST`):
 * `HostController.handoff()` quiesces a live controller and returns its
 * {@linkcode HostAssociationState}; {@linkcode adopt} continues such an association as a new
 * live controller from its queue pairs and Identify data ({@linkcode AdoptOptions}).
 * `@nvmf/handoff` carries the state across processes.
 *
 * @module
 */

import { decodeIdentifyController, IDENTIFY_DATA_SIZE } from "@nvmf/proto";
import type { QueuePair, Transport } from "@nvmf/transport";
import { settings } from "./_settings.ts";
import { adoptHostController, type HostController } from "./controller.ts";
import { type ConnectOptions, HOST_DEFAULTS } from "./options.ts";

/** What a handoff (`@nvmf/handoff`) needs of an association, as FreeBSD's libnvmf hands it over. */
export interface HostAssociationState {
  /** The transport. */
  transport: Transport;
  /** The admin queue pair. */
  admin: QueuePair;
  /** The I/O queue pairs, QID 1 first. */
  io: QueuePair[];
  /** The 4096 bytes of Identify Controller. */
  cdata: Uint8Array;
  /** A 1024-byte Discovery log entry naming this controller (FreeBSD `nvmf_init_dle_from_admin_qp`). */
  discoveryEntry: Uint8Array;
  /** The host NQN. */
  hostnqn: string;
  /** The Host Identifier. */
  hostid: Uint8Array;
  /** The controller's CNTLID. */
  cntlid: number;
  /** KATO in ms (0: none). */
  kato: number;
  /** Reconnect delay in ms. */
  reconnectDelay: number;
  /** Controller-loss timeout in ms. */
  ctrlLossTimeout: number;
  /** Entries of each I/O queue. */
  ioQueueSize: number;
  /** Whether SQ flow control was asked for. */
  sqFlowControl: boolean;
  /** Whether header digests were asked for. */
  headerDigests: boolean;
  /** Whether data digests were asked for. */
  dataDigests: boolean;
}

/**
 * What {@linkcode adopt} continues: the queue pairs of an association another
 * owner set up and handed over (idle, Connect done), and its Identify Controller data. The
 * connect options that remain describe the association for keep-alive, timeouts and reconnects;
 * the queue counts and sizes come from the queue pairs.
 */
export interface AdoptOptions
  extends Omit<ConnectOptions, "transport" | "ioQueues" | "queueSize" | "adminQueueSize"> {
  /** The transport; default the queue pairs'. */
  transport?: string | number | Transport;
  /** The admin queue pair (host side, QID 0), continuing at its SQ head and tail. */
  admin: QueuePair;
  /** The I/O queue pairs, QID 1 first, all of the admin queue pair's association. */
  io: QueuePair[];
  /** The 4096 bytes of Identify Controller the association was set up with. */
  cdata: Uint8Array;
}

/**
 * Continues an association that another owner set up and handed over — what FreeBSD's kernel
 * does with `NVMF_HANDOFF_HOST`: no Connect and no Identify; CAP and VS are read with Property
 * Get, as the kernel reads them when it attaches. The association is updated from the Identify
 * data (IOCCSZ, MDTS), keep-alive starts (KATO from the options), and the queue pairs go on
 * from their SQ heads and tails: commands get the lowest free CIDs, which cannot collide as the
 * queues came over idle. `@nvmf/handoff`'s `adoptHost()` builds the queue pairs from a record.
 *
 * @param options The queue pairs, Identify Controller, and the association's connect options.
 * @returns The live controller.
 * @throws {TypeError} When a queue pair has the wrong role or another association.
 * @throws {RangeError} When `cdata` is not 4096 bytes or an option is out of range.
 * @example Handing a loopback association to a new owner in the same process
 * ```ts
 * import { adopt, connect } from "@nvmf/host";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import { loopback } from "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 *
 * const target = new Target();
 * const subnqn = "nqn.2026-01.dev.nvmf:adopt-doc";
 * target.addSubsystem({ nqn: subnqn, namespaces: [{ backend: new RamBackend({ size: 1n << 20n }) }] });
 * await target.listen(loopback, { traddr: "adopt-doc" });
 * const options = { transport: loopback, address: { traddr: "adopt-doc" }, subnqn,
 *   asyncEvents: false, kato: 0 };
 * const first = await connect(options);
 * await (await first.namespace(1)).write(0, new Uint8Array(512).fill(9));
 *
 * const state = await first.handoff();
 * assert.equal(first.state, "handed-off");
 * // Each queue pair detaches through the transport contract; the same transport adopts it.
 * const move = async (qp: typeof state.admin) => {
 *   const h = await qp.detach();
 *   return h.transport.adopt(qp.association, h, { ...h.state, qid: h.state.qid });
 * };
 * const ctrl = await adopt({
 *   ...options, hostnqn: state.hostnqn, hostid: state.hostid,
 *   admin: await move(state.admin), io: await Promise.all(state.io.map(move)), cdata: state.cdata,
 * });
 * assert.equal(ctrl.cntlid, state.cntlid);
 * assert.equal((await (await ctrl.namespace(1)).read(0, 1))[511], 9);
 * await ctrl.close();
 * await target.close();
 * ```
 */
export function adopt(options: AdoptOptions): Promise<HostController> {
  try {
    const { admin, io, cdata: cdataBytes } = options;
    const association = admin.association;
    if (admin.controller || !admin.admin) {
      throw new TypeError("Cannot adopt the association: admin is not a host admin queue pair");
    }
    if (io.some((q) => q.controller || q.admin || q.association !== association)) {
      throw new TypeError(
        "Cannot adopt the association: an I/O queue pair is not a host I/O queue pair of the admin queue pair's association",
      );
    }
    if (cdataBytes.length !== IDENTIFY_DATA_SIZE) {
      throw new RangeError(
        `Cannot adopt the association: cdata is ${cdataBytes.length} bytes, not ${IDENTIFY_DATA_SIZE}`,
      );
    }
    const cdata = decodeIdentifyController(cdataBytes);
    const s = settings({
      ...options,
      transport: options.transport ?? association.transport,
      ioQueues: io.length,
      queueSize: io[0]?.qsize ?? HOST_DEFAULTS.queueSize,
      adminQueueSize: admin.qsize,
      sqFlowControl: options.sqFlowControl ?? admin.sqFlowControl,
    });
    association.update({
      ioccsz: cdata.ioccsz,
      iorcsz: cdata.iorcsz,
      mdts: cdata.mdts,
      sgls: cdata.sgls,
      maxcmd: cdata.maxcmd,
    });
    return adoptHostController(s, { admin, io, cdata, cdataBytes });
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Host associations handed to a new owner and taken over from a record, as FreeBSD's libnvmf
 * hands one to the kernel (`nvmf_handoff_host()`, `prepare_queues_for_handoff()`) and the kernel
 * takes it (`NVMF_HANDOFF_HOST`).
 *
 * {@linkcode handoffHost} quiesces a live `HostController` (`handoff()` of `@nvmf/host`), fills
 * the {@linkcode HostHandoff} record from its queue pairs, Identify data and connect options,
 * and detaches every queue pair; {@linkcode adoptHost} makes queue pairs from the record and the
 * connections — no ICReq, no Connect, continuing at the recorded SQ head and tail — and a live
 * `HostController` over them.
 *
 * Times: libnvmf records `kato` in milliseconds and `reconnect_delay` and
 * `controller_loss_timeout` in seconds, 0 meaning no reconnects and never giving up
 * respectively; `@nvmf/host` counts milliseconds, with `ctrlLossTimeout` 0 for no reconnects
 * and `Infinity` for never giving up. The conversions keep those meanings and round up.
 *
 * @module
 */

import { AddressFamily, decodeDiscoveryLogEntry } from "@nvmf/proto";
import {
  Association,
  getTransport,
  type HandoffCarrier,
  type QueuePair,
  type Transport,
} from "@nvmf/transport";
import { adopt as adoptAssociation, type AdoptOptions, type HostController } from "@nvmf/host";
import type { HandoffConnection } from "./connection.ts";
import { adoptConnection, checkRecordable, isCarrier, qpairRecord } from "./_qpair.ts";
import { type HostHandoff, hostHandoffToNvList, type QpairHandoff } from "./records.ts";

/** What {@linkcode handoffHost} returns: the record, and the connections beside it. */
export interface HandedOffHost {
  /** The association, as libnvmf's `prepare_queues_for_handoff()` fills the nvlist. */
  record: HostHandoff;
  /**
   * The connections, each queue pair's `detach()` carrier: the admin queue's first, then the
   * I/O queues' in QID order. A TCP qpair list's `fd` is its connection's index here.
   */
  connections: HandoffCarrier[];
}

const U32_MAX = 0xffff_ffff;

function seconds(ms: number): number {
  return Math.min(U32_MAX, Math.max(1, Math.ceil(ms / 1000)));
}

/**
 * Hands a live host association to a new owner: waits until it is idle and stops it
 * (`HostController.handoff()`: no keep-alive, no new commands), fills the host handoff record —
 * trtype, kato, reconnect_delay, controller_loss_timeout; rparams (a Discovery log entry for the
 * controller, the host NQN, the I/O queue count and size, SQ flow control, the digests asked
 * for); the admin and I/O qpair lists from each queue pair's state; cdata from Identify
 * Controller — and detaches every queue pair. The controller is then `"handed-off"`; what it
 * had is the new owner's, e.g. {@linkcode adoptHost}'s.
 *
 * The association may run over any transport that hands queue pairs off and that the records
 * can name (NVMe/TCP, trtype 3; intra-host, trtype 254); it must have at least one I/O queue and
 * post no Asynchronous Event Requests (connect with `asyncEvents: false`), as libnvmf's host
 * posts none before it hands off.
 *
 * @param ctrl The live controller.
 * @returns The record (valid: `packNvList(hostHandoffToNvList(record))` gives libnvmf's bytes)
 * and the connections.
 * @throws {TypeError} When the records cannot name the transport, or the controller cannot be
 * handed off (see `HostController.handoff()`); it carries on then.
 * @example Usage
 * ```ts
 * import { adoptHost, handoffHost, hostHandoffFromNvList, hostHandoffToNvList, packNvList, unpackNvList } from "@nvmf/handoff";
 * import { connect } from "@nvmf/host";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import { loopback } from "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 *
 * const target = new Target();
 * const subnqn = "nqn.2026-01.dev.nvmf:handoff-host-doc";
 * target.addSubsystem({ nqn: subnqn, namespaces: [{ backend: new RamBackend({ size: 1n << 20n }) }] });
 * await target.listen(loopback, { traddr: "handoff-host-doc" });
 * const first = await connect({ transport: loopback, address: { traddr: "handoff-host-doc" },
 *   subnqn, asyncEvents: false });
 *
 * const { record, connections } = await handoffHost(first);
 * const bytes = packNvList(hostHandoffToNvList(record)); // what --out writes
 * assert.equal(record.trtype, 254);
 *
 * const ctrl = await adoptHost(hostHandoffFromNvList(unpackNvList(bytes)), connections, {
 *   hostid: first.hostid,
 * });
 * const ns = await ctrl.namespace(1);
 * await ns.write(0, new Uint8Array(512).fill(1));
 * assert.equal((await ns.read(0, 1))[0], 1);
 * await ctrl.close();
 * await target.close();
 * ```
 */
export async function handoffHost(ctrl: HostController): Promise<HandedOffHost> {
  const transport = ctrl.transport;
  const trtype = transport.trtype;
  checkRecordable(transport, "an association");
  const st = await ctrl.handoff();
  const queues = [st.admin, ...st.io];
  const connections: HandoffCarrier[] = [];
  try {
    const [admin, ...io] = queues.map((qp, i) => qpairRecord(transport, qp.state(), "host", i));
    // prepare_queues_for_handoff(): trtype, kato, reconnect_delay, controller_loss_timeout.
    const reconnectDelay = st.ctrlLossTimeout === 0 ? 0 : seconds(st.reconnectDelay);
    const controllerLossTimeout = st.ctrlLossTimeout === 0 || st.ctrlLossTimeout === Infinity
      ? 0
      : seconds(st.ctrlLossTimeout);
    const kato = Math.min(U32_MAX, st.kato);
    const record: HostHandoff = {
      trtype,
      kato,
      reconnectDelay,
      controllerLossTimeout,
      rparams: {
        dle: st.discoveryEntry,
        hostnqn: st.hostnqn,
        numIoQueues: io.length,
        kato,
        reconnectDelay,
        controllerLossTimeout,
        ioQsize: st.ioQueueSize,
        sqFlowControl: st.sqFlowControl,
        // The digests asked for, where the transport records digests (NVMe/TCP's qpair lists).
        ...("headerDigests" in admin
          ? { headerDigests: st.headerDigests, dataDigests: st.dataDigests }
          : {}),
      },
      admin,
      io,
      cdata: st.cdata,
    };
    hostHandoffToNvList(record); // the kernel's and libnvmf's checks, before anything is lost
    for (const qp of queues) connections.push(await qp.detach());
    return { record, connections };
  } catch (e) {
    for (const c of connections) await c.discard();
    for (const qp of queues) if (!qp.done) await qp.close().catch(() => {});
    throw e;
  }
}

/** Options of {@linkcode adoptHost}: connect options that override what the record says. */
export type AdoptHostOptions = Partial<Omit<AdoptOptions, "admin" | "io" | "cdata">>;

/**
 * Takes over a host association from a handoff record and its connections, as FreeBSD's kernel
 * does with `NVMF_HANDOFF_HOST`: makes each queue pair from its qpair list and connection (no
 * ICReq, no Connect; SQ head and tail where they were), then a live `HostController` over them
 * (`adopt()` of `@nvmf/host`: no Identify; CAP and VS read again; keep-alive per `kato`). The
 * record gives the address and subsystem (from `rparams.dle`), the host NQN, KATO, reconnect
 * timing, SQ flow control and digests; `options` override any of them, and give what the record
 * lacks, such as `hostid` (derived from a UUID host NQN otherwise, as `connect()` does).
 *
 * @param record A valid host handoff record (trtype 3 or 254).
 * @param connections The connections (carriers from `detach()`, or sockets passed from another
 * process): a qpair list's `fd`, where the transport records one (NVMe/TCP), indexes them;
 * otherwise the admin queue's comes first, then the I/O queues'. The transport is `options`'s,
 * else the carriers', else the registered one of the record's TRTYPE.
 * @param options Connect options that override the record's.
 * @returns The live controller.
 * @throws {NvFieldError} When the record is invalid (from `hostHandoffToNvList`'s checks).
 * @throws {RangeError} When a connection is missing, or a TCP field cannot be used.
 * @throws {TypeError} When a connection does not fit the transport.
 * @example Usage
 * ```ts ignore
 * import { adoptHost } from "@nvmf/handoff";
 * const ctrl = await adoptHost(record, connections, { hostid });
 * ```
 */
export async function adoptHost(
  record: HostHandoff,
  connections: readonly HandoffConnection[],
  options: AdoptHostOptions = {},
): Promise<HostController> {
  hostHandoffToNvList(record); // nvmf_copyin_handoff()'s checks
  const queues: QpairHandoff[] = [record.admin, ...record.io];
  const picked = queues.map((q, i) => {
    const at = q.fd ?? i;
    const c = connections[at];
    if (c === undefined) {
      throw new RangeError(
        `Cannot adopt the association: no connection ${at} for ${
          i === 0 ? "the admin queue" : `I/O queue ${i}`
        } among ${connections.length}`,
      );
    }
    return c;
  });
  if (new Set(picked).size !== picked.length) {
    throw new RangeError("Cannot adopt the association: two queues name the same connection");
  }
  let transport: Transport;
  if (options.transport !== undefined) {
    transport = typeof options.transport === "object"
      ? options.transport
      : getTransport(options.transport);
  } else if (isCarrier(picked[0])) {
    transport = picked[0].transport;
  } else {
    transport = getTransport(record.trtype);
  }
  const rp = record.rparams;
  const association = new Association(transport, false, {
    sqFlowControl: rp.sqFlowControl,
    ...(rp.headerDigests === undefined
      ? {}
      : { tcp: { headerDigests: rp.headerDigests, dataDigests: rp.dataDigests } as never }),
  });
  const made: QueuePair[] = [];
  try {
    for (let i = 0; i < queues.length; i++) {
      made.push(adoptConnection(association, queues[i], i, picked[i]));
    }
  } catch (e) {
    for (const qp of made) await qp.close().catch(() => {});
    throw e;
  }
  const dle = decodeDiscoveryLogEntry(rp.dle);
  const reconnectDelay = record.reconnectDelay ?? rp.reconnectDelay ?? 0;
  const lossTimeout = record.controllerLossTimeout ?? rp.controllerLossTimeout ?? 0;
  const adopt: AdoptOptions = {
    address: {
      traddr: dle.traddr,
      ...(dle.trsvcid === "" ? {} : { trsvcid: dle.trsvcid }),
      ...(dle.adrfam === 0 || dle.adrfam === AddressFamily.INTRA_HOST
        ? {}
        : { adrfam: dle.adrfam }),
    },
    subnqn: dle.subnqn,
    hostnqn: rp.hostnqn,
    kato: record.kato ?? rp.kato ?? 0,
    // reconnect_delay 0: no reconnects; controller_loss_timeout 0: never give up.
    ...(reconnectDelay === 0 ? { ctrlLossTimeout: 0 } : {
      reconnectDelay: reconnectDelay * 1000,
      ctrlLossTimeout: lossTimeout === 0 ? Infinity : lossTimeout * 1000,
    }),
    sqFlowControl: rp.sqFlowControl,
    headerDigests: rp.headerDigests ?? false,
    dataDigests: rp.dataDigests ?? false,
    ...options,
    transport,
    admin: made[0],
    io: made.slice(1),
    cdata: record.cdata,
  };
  return await adoptAssociation(adopt);
}

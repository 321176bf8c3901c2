/**
 * Associations: what the queue pairs between one host and one controller share.
 *
 * As in FreeBSD's libnvmf (`struct nvmf_association_params`), an association holds the
 * parameters the host asks for or the controller offers — SQ flow control, the controller
 * model, queue size limits — and the per-transport values negotiated on every queue pair (for
 * NVMe/TCP: PDA, digests, MAXR2T, MAXH2CDATA). A host updates its association from Identify
 * Controller once the admin queue is up, so that I/O queue pairs know how much in-capsule data
 * the controller accepts (IOCCSZ) and how large one transfer may be (MDTS).
 *
 * @module
 */

import { SQE_SIZE, TCP_ADMIN_MAX_ICD, TCP_MAXH2CDATA_MIN, TCP_PDA_MAX } from "@nvmf/proto";
import type { Transport } from "./transport.ts";

/** NVMe/TCP parameters of an association (NVMe/TCP 1.0, 3.6.2.2 and 3.6.2.3). */
export interface TcpAssociationParams {
  /** PDU data alignment we ask of the peer: HPDA in ICReq (host) or CPDA in ICResp (controller). */
  pda: number;
  /** Whether header digests are requested (host, default no) or allowed (controller, default yes). */
  headerDigests: boolean;
  /** Whether data digests are requested (host, default no) or allowed (controller, default yes). */
  dataDigests: boolean;
  /** Host only: outstanding R2Ts per command the host accepts, 1-based (ICReq MAXR2T + 1). */
  maxr2t: number;
  /** Controller only: the most data one H2CData PDU may carry (ICResp MAXH2CDATA). */
  maxh2cdata: number;
}

/** Parameters shared by all queue pairs of an association (FreeBSD nvmf_association_params). */
export interface AssociationParams {
  /**
   * Host: whether SQ flow control is required (false asks the controller to disable it, CATTR
   * bit 2 in Connect). Controller: whether disabling it is refused.
   */
  sqFlowControl: boolean;
  /** Whether the controller uses the dynamic controller model (Fabrics 3.3). */
  dynamicControllerModel: boolean;
  /** Controller: largest admin queue a host may ask for (entries). */
  maxAdminQsize: number;
  /** Controller: largest I/O queue a host may ask for (entries). */
  maxIoQsize: number;
  /**
   * Controller: in-capsule data an I/O command may carry, in bytes. The controller reports it
   * as IOCCSZ = (64 + this) / 16 in Identify Controller.
   */
  ioInCapsuleData: number;
  /** NVMe/TCP parameters; other transports ignore them. */
  tcp: TcpAssociationParams;
}

/**
 * Defaults: those of Linux's nvme-tcp host and nvmet-tcp target where they apply. A controller
 * association allows digests unless told otherwise (a host asks for them; Linux's target grants
 * what the host asks).
 */
export const DEFAULT_ASSOCIATION_PARAMS: Readonly<AssociationParams> = Object.freeze({
  sqFlowControl: true,
  dynamicControllerModel: true,
  maxAdminQsize: 32,
  maxIoQsize: 128,
  ioInCapsuleData: 16384,
  tcp: Object.freeze({
    pda: 0,
    headerDigests: false,
    dataDigests: false,
    maxr2t: 1,
    maxh2cdata: 131072,
  }),
});

/**
 * The Identify Controller fields an association is updated from (a subset of
 * `IdentifyController` from `@nvmf/proto`).
 */
export interface AssociationControllerData {
  /** I/O queue command capsule supported size, in 16-byte units (SQE included). */
  ioccsz: number;
  /** I/O queue response capsule supported size, in 16-byte units. */
  iorcsz?: number;
  /** Maximum data transfer size, a power of two in units of CAP.MPSMIN; 0 = no limit. */
  mdts: number;
  /** SGL support bits. */
  sgls?: number;
  /** Maximum outstanding commands; 0 = not reported. */
  maxcmd?: number;
}

/**
 * The state shared by the queue pairs of one host-controller association.
 *
 * @example Usage
 * ```ts
 * import { Association, getTransport } from "@nvmf/transport";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 * const na = new Association(getTransport("loopback"), false, { sqFlowControl: false });
 * assert.equal(na.maxInCapsuleData(true), 8192);
 * na.update({ ioccsz: 260, mdts: 5 });
 * assert.equal(na.maxInCapsuleData(false), 4096);
 * ```
 */
export class Association {
  /** The transport every queue pair of this association uses. */
  readonly transport: Transport;
  /** True on the controller side. */
  readonly controller: boolean;
  /** The parameters, defaults filled in. */
  readonly params: Readonly<AssociationParams>;
  #ioIcd: number;
  #mdts = 0;
  #sgls = 0;
  #maxcmd = 0;

  /**
   * Makes an association.
   *
   * @param transport The transport for all its queue pairs.
   * @param controller True for the controller side.
   * @param params Parameters; missing ones take {@linkcode DEFAULT_ASSOCIATION_PARAMS}.
   * @throws {RangeError} When a parameter is out of range (the message names it).
   */
  constructor(transport: Transport, controller: boolean, params: Partial<AssociationParams> = {}) {
    const roleDefaults = controller ? { headerDigests: true, dataDigests: true } : {};
    const tcp = { ...DEFAULT_ASSOCIATION_PARAMS.tcp, ...roleDefaults, ...params.tcp };
    const merged: AssociationParams = { ...DEFAULT_ASSOCIATION_PARAMS, ...params, tcp };
    checkParams(merged);
    this.transport = transport;
    this.controller = controller;
    this.params = Object.freeze({ ...merged, tcp: Object.freeze(tcp) });
    // A host learns the I/O in-capsule size from Identify Controller (IOCCSZ); until then, none.
    this.#ioIcd = controller ? merged.ioInCapsuleData : 0;
  }

  /**
   * Updates a host association from the controller's Identify Controller data, as FreeBSD's
   * `nvmf_update_assocation`: I/O in-capsule data becomes IOCCSZ * 16 - 64 bytes.
   *
   * @param cdata IOCCSZ, MDTS and friends from Identify Controller.
   * @throws {RangeError} When IOCCSZ is smaller than one SQE (4 units).
   */
  update(cdata: AssociationControllerData): void {
    const capsule = cdata.ioccsz * 16;
    if (!Number.isInteger(cdata.ioccsz) || capsule < SQE_SIZE) {
      throw new RangeError(`Cannot use IOCCSZ ${cdata.ioccsz}: it must be at least 4 (one SQE)`);
    }
    this.#ioIcd = capsule - SQE_SIZE;
    this.#mdts = cdata.mdts;
    this.#sgls = cdata.sgls ?? 0;
    this.#maxcmd = cdata.maxcmd ?? 0;
  }

  /**
   * The most in-capsule data one command may carry on an admin or I/O queue pair.
   *
   * @param admin True for the admin queue (always 8 KiB, NVMe/TCP 1.0 3.3).
   * @returns Bytes.
   */
  maxInCapsuleData(admin: boolean): number {
    return admin ? TCP_ADMIN_MAX_ICD : this.#ioIcd;
  }

  /** MDTS from Identify Controller (host side, after {@linkcode Association.update}); 0 = none. */
  get mdts(): number {
    return this.#mdts;
  }

  /** SGLS from Identify Controller (host side, after {@linkcode Association.update}). */
  get sgls(): number {
    return this.#sgls;
  }

  /** MAXCMD from Identify Controller (host side, after {@linkcode Association.update}). */
  get maxcmd(): number {
    return this.#maxcmd;
  }
}

function checkParams(p: AssociationParams): void {
  const { tcp } = p;
  if (!Number.isInteger(tcp.pda) || tcp.pda < 0 || tcp.pda > TCP_PDA_MAX) {
    throw new RangeError(`Cannot use tcp.pda ${tcp.pda}: it must be 0 to ${TCP_PDA_MAX}`);
  }
  if (!Number.isInteger(tcp.maxr2t) || tcp.maxr2t < 1 || tcp.maxr2t > 2 ** 32) {
    throw new RangeError(`Cannot use tcp.maxr2t ${tcp.maxr2t}: it must be 1 to 2^32`);
  }
  if (
    !Number.isInteger(tcp.maxh2cdata) || tcp.maxh2cdata < TCP_MAXH2CDATA_MIN ||
    tcp.maxh2cdata % 4 !== 0 || tcp.maxh2cdata > 0xffffffff
  ) {
    throw new RangeError(
      `Cannot use tcp.maxh2cdata ${tcp.maxh2cdata}: it must be a multiple of 4, at least 4096`,
    );
  }
  for (const key of ["maxAdminQsize", "maxIoQsize"] as const) {
    const v = p[key];
    if (!Number.isInteger(v) || v < 2 || v > 65536) {
      throw new RangeError(`Cannot use ${key} ${v}: it must be 2 to 65536`);
    }
  }
  if (!Number.isInteger(p.ioInCapsuleData) || p.ioInCapsuleData < 0 || p.ioInCapsuleData % 16) {
    throw new RangeError(
      `Cannot use ioInCapsuleData ${p.ioInCapsuleData}: it must be a non-negative multiple of 16`,
    );
  }
}

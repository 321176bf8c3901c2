/**
 * Identify data (NVM Express Base 2.0 5.17, NVM Command Set 1.0 4.1.5): the data structures a
 * controller returns, built from its subsystem's and namespaces' state, and which CNS values
 * it answers.
 *
 * @module
 */

import {
  AnaCap,
  AnaState,
  Cmic,
  CommandSetIdentifier,
  ControllerAttributes,
  ControllerType,
  CQE_SIZE,
  CQE_SIZE_LOG2,
  DISCOVERY_NQN,
  encodeIdentifyController,
  encodeIdentifyNamespace,
  encodeNsIdDescriptors,
  encodeNsIdList,
  EntrySizeBits,
  FCATT_STATIC_CONTROLLER_MODEL,
  FirmwareUpdates,
  IDENTIFY_DATA_SIZE,
  IdentifyBits,
  IdentifyCns,
  LogPageAttributes,
  NMIC_SHARED,
  NSATTR_WRITE_PROTECTED,
  NSID_BROADCAST,
  NsIdType,
  Oncs,
  SglSupport,
  SQE_CDW10,
  SQE_CDW11,
  SQE_NSID,
  SQE_SIZE,
  SQE_SIZE_LOG2,
  VWC_PRESENT,
} from "@nvmf/proto";
import type { AssociationParams } from "@nvmf/transport";
import { u32 } from "./_bytes.ts";
import { ANA_GROUP_MAX, ANA_TRANSITION_TIME } from "./ana.ts";
import {
  ABORT_MAX,
  AEC_DISCOVERY_SUPPORTED,
  AEC_IO_DEFAULT,
  AER_MAX,
  DISCOVERY_VERSION,
  ERROR_LOG_ENTRIES,
  KAS,
  PSD0,
  RAB,
  WCTEMP,
} from "./_limits.ts";
import { INVALID_FIELD, INVALID_NS } from "./_status.ts";
import type { Namespace, Subsystem } from "./subsystem.ts";
import { RESCAP } from "./reservation.ts";

const ZERO_PSD = Object.freeze({
  mp: 0,
  mxps: 0,
  nops: 0,
  enlat: 0,
  exlat: 0,
  rrt: 0,
  rrl: 0,
  rwt: 0,
  rwl: 0,
  idlp: 0,
  ips: 0,
  actp: 0,
  apw: 0,
  aps: 0,
});

/** The identity strings a discovery controller reports. */
export interface ControllerIdentity {
  /** Serial number. */
  serial: string;
  /** Model number. */
  model: string;
  /** Firmware revision. */
  firmware: string;
}

/** What the Identify Controller data of one controller is made from. */
export interface IdentifyControllerInput {
  /** Controller ID. */
  cntlid: number;
  /** The subsystem; undefined for a discovery controller. */
  subsystem: Subsystem | undefined;
  /** Identity of a discovery controller (I/O controllers report their subsystem's). */
  identity: ControllerIdentity;
  /** The port's association parameters (queue size, in-capsule data, controller model). */
  params: AssociationParams;
  /** MDTS: log2 of the largest transfer in minimum memory pages. */
  mdts: number;
}

/**
 * The Identify Controller data of a controller (CNS 01h), as Linux's nvmet fills it.
 *
 * @param input The controller's identity and limits.
 * @returns 4096 bytes.
 */
export function identifyController(input: IdentifyControllerInput): Uint8Array {
  const params = input.params;
  const sgls = SglSupport.SUPPORTED_NO_ALIGNMENT |
    (params.ioInCapsuleData > 0 ? SglSupport.ADDRESS_AS_OFFSET : 0);
  const sub = input.subsystem;
  if (sub === undefined) {
    // As Linux's nvmet_execute_disc_identify.
    const id = input.identity;
    return encodeIdentifyController({
      sn: id.serial,
      mn: id.model,
      fr: id.firmware,
      cntlid: input.cntlid,
      ver: DISCOVERY_VERSION,
      lpa: LogPageAttributes.EXTENDED_DATA,
      // Not the admin queue size: Linux's host clamps its queue size to MAXCMD and warns
      // ("sqsize 128 > ctrl maxcmd 32") when it is smaller than its default of 128.
      maxcmd: params.maxIoQsize,
      sgls,
      oaes: AEC_DISCOVERY_SUPPORTED,
      cntrltype: ControllerType.DISCOVERY,
      subnqn: DISCOVERY_NQN,
    });
  }
  const entrySizes = (log2: number) => (log2 << EntrySizeBits.MAX_SHIFT) | log2;
  return encodeIdentifyController({
    sn: sub.serial,
    mn: sub.model,
    fr: sub.firmware,
    rab: RAB,
    cmic: Cmic.MULTI_PORT | Cmic.MULTI_CONTROLLER | Cmic.ANA,
    mdts: input.mdts,
    cntlid: input.cntlid,
    ver: sub.version,
    oaes: AEC_IO_DEFAULT,
    ctratt: ControllerAttributes.HOST_ID_128_BIT | ControllerAttributes.TBKAS,
    cntrltype: ControllerType.IO,
    acl: ABORT_MAX - 1,
    aerl: AER_MAX - 1,
    frmw: FirmwareUpdates.SLOT1_READ_ONLY | (1 << FirmwareUpdates.SLOTS_SHIFT),
    lpa: LogPageAttributes.SMART_PER_NAMESPACE | LogPageAttributes.COMMANDS_EFFECTS |
      LogPageAttributes.EXTENDED_DATA,
    elpe: ERROR_LOG_ENTRIES - 1,
    npss: 0,
    wctemp: WCTEMP,
    cctemp: WCTEMP,
    kas: KAS,
    sqes: entrySizes(SQE_SIZE_LOG2),
    cqes: entrySizes(CQE_SIZE_LOG2),
    maxcmd: params.maxIoQsize,
    nn: sub.maxNamespaces,
    mnan: sub.maxNamespaces,
    oncs: Oncs.COMPARE | Oncs.DATASET_MANAGEMENT | Oncs.WRITE_ZEROES | Oncs.VERIFY |
      Oncs.RESERVATIONS,
    // ANA as Linux's nvmet: every state reportable, ANAGRPID fixed while attached.
    anatt: ANA_TRANSITION_TIME,
    anacap: AnaCap.OPTIMIZED | AnaCap.NON_OPTIMIZED | AnaCap.INACCESSIBLE |
      AnaCap.PERSISTENT_LOSS | AnaCap.CHANGE | AnaCap.GRPID_NOT_CHANGING,
    anagrpmax: ANA_GROUP_MAX,
    nanagrpid: ANA_GROUP_MAX,
    vwc: VWC_PRESENT,
    sgls,
    subnqn: sub.nqn,
    ioccsz: (SQE_SIZE + params.ioInCapsuleData) / 16,
    iorcsz: CQE_SIZE / 16,
    icdoff: 0,
    fcatt: params.dynamicControllerModel ? 0 : FCATT_STATIC_CONTROLLER_MODEL,
    msdbd: 1,
    psd: [{ ...ZERO_PSD, ...PSD0 }],
  });
}

/**
 * The data an Identify command asks for (CNS 00h, 01h, 02h, 03h, 05h, 06h, 07h), or the status
 * to fail it with. A discovery controller answers CNS 01h only.
 *
 * @param sqe The Identify command.
 * @param subsystem The controller's subsystem; undefined for a discovery controller.
 * @param controller The controller's Identify Controller data.
 * @param anaStates The ANA states of the controller's port, by group (default all optimized).
 * @returns 4096 bytes, or a CQE status.
 */
export function identifyData(
  sqe: Uint8Array,
  subsystem: Subsystem | undefined,
  controller: () => Uint8Array,
  anaStates?: Uint8Array,
): Uint8Array | number {
  const cns = u32(sqe, SQE_CDW10) & IdentifyBits.CNS_MASK;
  const csi = u32(sqe, SQE_CDW11) >>> IdentifyBits.CSI_SHIFT;
  const nsid = u32(sqe, SQE_NSID);
  if (cns === IdentifyCns.CONTROLLER) return controller();
  if (subsystem === undefined) return INVALID_FIELD;
  const sub = subsystem;
  switch (cns) {
    case IdentifyCns.NAMESPACE: {
      if (nsid === 0 || nsid === NSID_BROADCAST || nsid > sub.maxNamespaces) return INVALID_NS;
      const ns = sub.namespace(nsid);
      // Base 5.17.2.1: an inactive NSID gets a zero-filled structure.
      return ns === undefined
        ? new Uint8Array(IDENTIFY_DATA_SIZE)
        : identifyNamespace(ns, anaStates?.[ns.anagrpid]);
    }
    case IdentifyCns.CS_ACTIVE_NAMESPACE_LIST:
      if (csi !== CommandSetIdentifier.NVM) return INVALID_FIELD;
      // falls through
    case IdentifyCns.ACTIVE_NAMESPACE_LIST: {
      // Base 5.17.2.2: NSIDs FFFFFFFEh and FFFFFFFFh are invalid here.
      if (nsid >= NSID_BROADCAST - 1) return INVALID_NS;
      const ids: number[] = [];
      for (const ns of sub.namespaces) {
        if (ns.nsid > nsid && ids.length < IDENTIFY_DATA_SIZE / 4) ids.push(ns.nsid);
      }
      return encodeNsIdList(ids);
    }
    case IdentifyCns.NAMESPACE_DESCRIPTOR_LIST: {
      const ns = sub.namespace(nsid);
      if (ns === undefined) return INVALID_NS;
      return namespaceDescriptors(ns);
    }
    case IdentifyCns.CS_NAMESPACE:
      if (csi !== CommandSetIdentifier.NVM) return INVALID_FIELD;
      if (sub.namespace(nsid) === undefined) return INVALID_NS;
      // The NVM command set specific Identify Namespace: nothing to report (as Linux).
      return new Uint8Array(IDENTIFY_DATA_SIZE);
    case IdentifyCns.CS_CONTROLLER:
      if (csi !== CommandSetIdentifier.NVM) return INVALID_FIELD;
      // The NVM command set specific Identify Controller: no limits to report (as Linux).
      return new Uint8Array(IDENTIFY_DATA_SIZE);
    default:
      return INVALID_FIELD;
  }
}

/**
 * The Identify Namespace data of a namespace, as Linux's nvmet fills it: one LBA format,
 * NSZE = NCAP = NUSE (NUSE 0 through a path where its ANA group is inaccessible or in
 * persistent loss), shared (NMIC), write protected when read-only (NSATTR), its ANAGRPID.
 *
 * @param ns The namespace.
 * @param anaState The state of its ANA group on the path asked through (default optimized).
 * @returns 4096 bytes.
 * @example Usage
 * ```ts
 * import { identifyNamespace, RamBackend, Target } from "@nvmf/controller";
 * import { decodeIdentifyNamespace } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const target = new Target();
 * const sub = target.addSubsystem({ nqn: "nqn.2026-01.dev.nvmf:id-ns" });
 * const ns = sub.addNamespace({ backend: new RamBackend({ size: 1 << 20, blockSize: 4096 }), readOnly: true });
 * const id = decodeIdentifyNamespace(identifyNamespace(ns));
 * assert.equal(id.nsze, 256n);
 * assert.equal(id.lbaf[0].lbads, 12);
 * assert.equal(id.nsattr, 1);
 * await target.close();
 * ```
 */
export function identifyNamespace(
  ns: Namespace,
  anaState: number = AnaState.OPTIMIZED,
): Uint8Array {
  const blocks = BigInt(ns.blocks);
  // Linux's nvmet reports NUSE 0 through a path where the group is inaccessible or lost.
  const reachable = anaState !== AnaState.INACCESSIBLE && anaState !== AnaState.PERSISTENT_LOSS;
  return encodeIdentifyNamespace({
    nsze: blocks,
    ncap: blocks,
    nuse: reachable ? blocks : 0n,
    anagrpid: ns.anagrpid,
    nlbaf: 0,
    flbas: 0,
    nmic: NMIC_SHARED,
    nsattr: ns.readOnly ? NSATTR_WRITE_PROTECTED : 0,
    rescap: RESCAP,
    nguid: ns.nguid,
    eui64: ns.eui64,
    lbaf: [{ ms: 0, lbads: ns.blockShift, rp: 0 }],
  });
}

/**
 * The Namespace Identification Descriptor list of a namespace: EUI-64, NGUID and UUID when
 * set, and the command set (NVM), which Linux's host requires once CC.CSS selects all I/O
 * command sets.
 *
 * @param ns The namespace.
 * @returns 4096 bytes.
 * @example Usage
 * ```ts
 * import { namespaceDescriptors, RamBackend, Target } from "@nvmf/controller";
 * import { decodeNsIdDescriptors } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const target = new Target();
 * const sub = target.addSubsystem({ nqn: "nqn.2026-01.dev.nvmf:descs" });
 * const ns = sub.addNamespace({ backend: new RamBackend({ size: 1 << 20 }) });
 * assert.deepEqual(decodeNsIdDescriptors(namespaceDescriptors(ns)).map((d) => d.nidt), [3, 4]);
 * await target.close();
 * ```
 */
export function namespaceDescriptors(ns: Namespace): Uint8Array {
  const list = [];
  if (ns.eui64.some((b) => b !== 0)) list.push({ nidt: NsIdType.EUI64, nid: ns.eui64 });
  if (ns.nguid.some((b) => b !== 0)) list.push({ nidt: NsIdType.NGUID, nid: ns.nguid });
  list.push({ nidt: NsIdType.UUID, nid: ns.uuid });
  list.push({ nidt: NsIdType.CSI, nid: Uint8Array.of(CommandSetIdentifier.NVM) });
  return encodeNsIdDescriptors(list);
}

/**
 * Identify data structures (NVM Express Base Specification 2.0, 5.17.2; NVM Command Set
 * Specification 1.0, 4.1.5): Identify Controller (CNS 01h), Identify Namespace (CNS 00h), the
 * Active Namespace ID list (CNS 02h) and the Namespace Identification Descriptor list (CNS 03h).
 *
 * Field names are the spec's, as Linux spells them in `struct nvme_id_ctrl` and
 * `struct nvme_id_ns` (include/linux/nvme.h). Decoders copy what they keep, so the source buffer
 * may be reused; encoders write every named field and zero the rest, so
 * `encode(decode(bytes))` reproduces any structure whose reserved bytes are zero (all that Linux
 * nvmet sends). ASCII strings (SN, MN, FR) are space padded: decoding trims the trailing spaces and
 * keeps every other byte as a Latin-1 character, encoding pads with spaces.
 *
 * @example Usage
 * ```ts
 * import { decodeIdentifyController, encodeIdentifyController } from "@nvmf/proto/identify";
 * import assert from "node:assert/strict";
 * const bytes = encodeIdentifyController({ mn: "Linux", cntrltype: 1, subnqn: "nqn.2026-01.test:a" });
 * const id = decodeIdentifyController(bytes);
 * assert.equal(id.mn, "Linux");
 * assert.equal(id.subnqn, "nqn.2026-01.test:a");
 * assert.deepEqual(encodeIdentifyController(id), bytes);
 * ```
 *
 * @module
 */

import {
  dataView,
  putU128,
  SPACE,
  target,
  u128,
  ubig,
  uint,
  utf8Decoder,
  utf8Encoder,
} from "./_bytes.ts";
import { IDENTIFY_DATA_SIZE, NS_ID_LENGTH, NSID_BROADCAST } from "./constants.ts";
import { ProtocolFieldError } from "./errors.ts";

// ---------------------------------------------------------------------------------------------
// Identify Controller (Base 5.17.2.1, Figure 275)

/** A power state descriptor of Identify Controller (Base 5.17.2.1, Figure 276). */
export interface PowerStateDescriptor {
  /** MP: maximum power, in units of 0.01 W or 0.0001 W per MXPS. */
  mp: number;
  /** MXPS: max power scale, bit 0 of byte 3. */
  mxps: number;
  /** NOPS: non-operational state, bit 1 of byte 3. */
  nops: number;
  /** ENLAT: entry latency in microseconds. */
  enlat: number;
  /** EXLAT: exit latency in microseconds. */
  exlat: number;
  /** RRT: relative read throughput, bits 4:0. */
  rrt: number;
  /** RRL: relative read latency, bits 4:0. */
  rrl: number;
  /** RWT: relative write throughput, bits 4:0. */
  rwt: number;
  /** RWL: relative write latency, bits 4:0. */
  rwl: number;
  /** IDLP: idle power. */
  idlp: number;
  /** IPS: idle power scale, bits 7:6 of byte 18. */
  ips: number;
  /** ACTP: active power. */
  actp: number;
  /** APW: active power workload, bits 2:0 of byte 22. */
  apw: number;
  /** APS: active power scale, bits 7:6 of byte 22. */
  aps: number;
}

/** Size of one power state descriptor. */
export const POWER_STATE_DESCRIPTOR_SIZE = 32;
/** Number of power state descriptors in Identify Controller (PSD0 to PSD31). */
export const POWER_STATE_DESCRIPTOR_COUNT = 32;

/** Byte offsets of the fields of a power state descriptor (Base Figure 276). */
export const PowerStateDescriptorOffset: Readonly<Record<keyof PowerStateDescriptor, number>> =
  Object.freeze({
    mp: 0,
    mxps: 3,
    nops: 3,
    enlat: 4,
    exlat: 8,
    rrt: 12,
    rrl: 13,
    rwt: 14,
    rwl: 15,
    idlp: 16,
    ips: 18,
    actp: 20,
    apw: 22,
    aps: 22,
  });

/**
 * The Identify Controller data structure (CNS 01h), every field a Fabrics host or controller uses.
 * Multi-byte numbers are little endian on the wire; 16-byte counters are bigints.
 */
export interface IdentifyController {
  /** VID: PCI vendor ID (0 over Fabrics). */
  vid: number;
  /** SSVID: PCI subsystem vendor ID. */
  ssvid: number;
  /** SN: serial number, 20 ASCII characters, trailing spaces trimmed. */
  sn: string;
  /** MN: model number, 40 ASCII characters, trailing spaces trimmed. */
  mn: string;
  /** FR: firmware revision, 8 ASCII characters, trailing spaces trimmed. */
  fr: string;
  /** RAB: recommended arbitration burst. */
  rab: number;
  /** IEEE: organizationally unique identifier, the 24-bit little-endian value of bytes 75:73. */
  ieee: number;
  /** CMIC: controller multi-path I/O and namespace sharing capabilities. */
  cmic: number;
  /** MDTS: maximum data transfer size, a power of two in units of CAP.MPSMIN; 0 for no limit. */
  mdts: number;
  /** CNTLID: controller ID. */
  cntlid: number;
  /** VER: version, as the VS property encodes it. */
  ver: number;
  /** RTD3R: RTD3 resume latency in microseconds. */
  rtd3r: number;
  /** RTD3E: RTD3 entry latency in microseconds. */
  rtd3e: number;
  /** OAES: optional asynchronous events supported. */
  oaes: number;
  /** CTRATT: controller attributes. */
  ctratt: number;
  /** RRLS: read recovery levels supported. */
  rrls: number;
  /** CNTRLTYPE: controller type, one of `ControllerType`. */
  cntrltype: number;
  /** FGUID: FRU globally unique identifier, 16 bytes. */
  fguid: Uint8Array;
  /** CRDT1: command retry delay time 1, in units of 100 ms. */
  crdt1: number;
  /** CRDT2: command retry delay time 2. */
  crdt2: number;
  /** CRDT3: command retry delay time 3. */
  crdt3: number;
  /** NVMSR: NVM subsystem report. */
  nvmsr: number;
  /** VWCI: VPD write cycle information. */
  vwci: number;
  /** MEC: management endpoint capabilities. */
  mec: number;
  /** OACS: optional admin command support, bits of `Oacs`. */
  oacs: number;
  /** ACL: abort command limit, 0's based. */
  acl: number;
  /** AERL: asynchronous event request limit, 0's based. */
  aerl: number;
  /** FRMW: firmware updates. */
  frmw: number;
  /** LPA: log page attributes. */
  lpa: number;
  /** ELPE: error log page entries, 0's based. */
  elpe: number;
  /** NPSS: number of power states supported, 0's based. */
  npss: number;
  /** AVSCC: admin vendor specific command configuration. */
  avscc: number;
  /** APSTA: autonomous power state transition attributes. */
  apsta: number;
  /** WCTEMP: warning composite temperature threshold, kelvin. */
  wctemp: number;
  /** CCTEMP: critical composite temperature threshold, kelvin. */
  cctemp: number;
  /** MTFA: maximum time for firmware activation, units of 100 ms. */
  mtfa: number;
  /** HMPRE: host memory buffer preferred size, 4 KiB units. */
  hmpre: number;
  /** HMMIN: host memory buffer minimum size, 4 KiB units. */
  hmmin: number;
  /** TNVMCAP: total NVM capacity in bytes (16 bytes). */
  tnvmcap: bigint;
  /** UNVMCAP: unallocated NVM capacity in bytes (16 bytes). */
  unvmcap: bigint;
  /** RPMBS: replay protected memory block support. */
  rpmbs: number;
  /** EDSTT: extended device self-test time, minutes. */
  edstt: number;
  /** DSTO: device self-test options. */
  dsto: number;
  /** FWUG: firmware update granularity, 4 KiB units. */
  fwug: number;
  /** KAS: keep alive support, granularity of KATO in units of 100 ms; 0 if unsupported. */
  kas: number;
  /** HCTMA: host controlled thermal management attributes. */
  hctma: number;
  /** MNTMT: minimum thermal management temperature, kelvin. */
  mntmt: number;
  /** MXTMT: maximum thermal management temperature, kelvin. */
  mxtmt: number;
  /** SANICAP: sanitize capabilities. */
  sanicap: number;
  /** HMMINDS: host memory buffer minimum descriptor entry size, 4 KiB units. */
  hmminds: number;
  /** HMMAXD: host memory maximum descriptors entries. */
  hmmaxd: number;
  /** NSETIDMAX: NVM set identifier maximum. */
  nsetidmax: number;
  /** ENDGIDMAX: endurance group identifier maximum. */
  endgidmax: number;
  /** ANATT: ANA transition time, seconds. */
  anatt: number;
  /** ANACAP: asymmetric namespace access capabilities. */
  anacap: number;
  /** ANAGRPMAX: ANA group identifier maximum. */
  anagrpmax: number;
  /** NANAGRPID: number of ANA group identifiers. */
  nanagrpid: number;
  /** PELS: persistent event log size, 64 KiB units. */
  pels: number;
  /** DOMAINID: domain identifier. */
  domainid: number;
  /** MEGCAP: max endurance group capacity in bytes (16 bytes). */
  megcap: bigint;
  /** SQES: submission queue entry size, log2 of maximum (bits 7:4) and required (bits 3:0). */
  sqes: number;
  /** CQES: completion queue entry size, log2 of maximum (bits 7:4) and required (bits 3:0). */
  cqes: number;
  /** MAXCMD: maximum outstanding commands (Fabrics). */
  maxcmd: number;
  /** NN: number of namespaces, the largest NSID. */
  nn: number;
  /** ONCS: optional NVM command support, bits of `Oncs`. */
  oncs: number;
  /** FUSES: fused operation support. */
  fuses: number;
  /** FNA: format NVM attributes. */
  fna: number;
  /** VWC: volatile write cache. */
  vwc: number;
  /** AWUN: atomic write unit normal, 0's based logical blocks. */
  awun: number;
  /** AWUPF: atomic write unit power fail, 0's based logical blocks. */
  awupf: number;
  /** ICSVSCC: I/O command set vendor specific command configuration. */
  icsvscc: number;
  /** NWPC: namespace write protection capabilities. */
  nwpc: number;
  /** ACWU: atomic compare and write unit, 0's based logical blocks. */
  acwu: number;
  /** OCFS: optional copy formats supported. */
  ocfs: number;
  /** SGLS: SGL support, bits of `SglSupport`. */
  sgls: number;
  /** MNAN: maximum number of allowed namespaces. */
  mnan: number;
  /** MAXDNA: maximum domain namespace attachments (16 bytes). */
  maxdna: bigint;
  /** MAXCNA: maximum I/O controller namespace attachments. */
  maxcna: number;
  /** SUBNQN: NVM subsystem NQN, UTF-8, NUL terminated in 256 bytes. */
  subnqn: string;
  /** IOCCSZ: I/O queue command capsule supported size, 16-byte units (Fabrics). */
  ioccsz: number;
  /** IORCSZ: I/O queue response capsule supported size, 16-byte units (Fabrics). */
  iorcsz: number;
  /** ICDOFF: in capsule data offset, 16-byte units after the SQE (Fabrics). */
  icdoff: number;
  /** FCATT: fabrics controller attributes; bit 0 set for the static controller model. */
  fcatt: number;
  /** MSDBD: maximum SGL data block descriptors; 0 for no limit (Fabrics). */
  msdbd: number;
  /** OFCS: optional fabric commands support (Fabrics). */
  ofcs: number;
  /** DCTYPE: discovery controller type (byte 1806, TP 8010); 0 when not reported. */
  dctype: number;
  /** PSD0 to PSD31: the 32 power state descriptors. */
  psd: PowerStateDescriptor[];
  /** VS: vendor specific bytes 4095:3072, 1024 bytes. */
  vs: Uint8Array;
}

type Kind = "u8" | "u16" | "u24" | "u32" | "u64" | "u128" | "ascii" | "nqn" | "bytes";
type Field = readonly [name: string, offset: number, kind: Kind, size: number];

const KIND_SIZE: Readonly<Record<Kind, number>> = {
  u8: 1,
  u16: 2,
  u24: 3,
  u32: 4,
  u64: 8,
  u128: 16,
  ascii: 0,
  nqn: 0,
  bytes: 0,
};

function fields(list: readonly (readonly [string, number, Kind, number?])[]): readonly Field[] {
  return list.map(([name, at, kind, size]) => [name, at, kind, size ?? KIND_SIZE[kind]] as const);
}

const PSD_FIELD: Field = [
  "psd",
  2048,
  "bytes",
  POWER_STATE_DESCRIPTOR_SIZE * POWER_STATE_DESCRIPTOR_COUNT,
];

const CTRL_FIELDS: readonly Field[] = fields([
  ["vid", 0, "u16"],
  ["ssvid", 2, "u16"],
  ["sn", 4, "ascii", 20],
  ["mn", 24, "ascii", 40],
  ["fr", 64, "ascii", 8],
  ["rab", 72, "u8"],
  ["ieee", 73, "u24"],
  ["cmic", 76, "u8"],
  ["mdts", 77, "u8"],
  ["cntlid", 78, "u16"],
  ["ver", 80, "u32"],
  ["rtd3r", 84, "u32"],
  ["rtd3e", 88, "u32"],
  ["oaes", 92, "u32"],
  ["ctratt", 96, "u32"],
  ["rrls", 100, "u16"],
  ["cntrltype", 111, "u8"],
  ["fguid", 112, "bytes", 16],
  ["crdt1", 128, "u16"],
  ["crdt2", 130, "u16"],
  ["crdt3", 132, "u16"],
  ["nvmsr", 253, "u8"],
  ["vwci", 254, "u8"],
  ["mec", 255, "u8"],
  ["oacs", 256, "u16"],
  ["acl", 258, "u8"],
  ["aerl", 259, "u8"],
  ["frmw", 260, "u8"],
  ["lpa", 261, "u8"],
  ["elpe", 262, "u8"],
  ["npss", 263, "u8"],
  ["avscc", 264, "u8"],
  ["apsta", 265, "u8"],
  ["wctemp", 266, "u16"],
  ["cctemp", 268, "u16"],
  ["mtfa", 270, "u16"],
  ["hmpre", 272, "u32"],
  ["hmmin", 276, "u32"],
  ["tnvmcap", 280, "u128"],
  ["unvmcap", 296, "u128"],
  ["rpmbs", 312, "u32"],
  ["edstt", 316, "u16"],
  ["dsto", 318, "u8"],
  ["fwug", 319, "u8"],
  ["kas", 320, "u16"],
  ["hctma", 322, "u16"],
  ["mntmt", 324, "u16"],
  ["mxtmt", 326, "u16"],
  ["sanicap", 328, "u32"],
  ["hmminds", 332, "u32"],
  ["hmmaxd", 336, "u16"],
  ["nsetidmax", 338, "u16"],
  ["endgidmax", 340, "u16"],
  ["anatt", 342, "u8"],
  ["anacap", 343, "u8"],
  ["anagrpmax", 344, "u32"],
  ["nanagrpid", 348, "u32"],
  ["pels", 352, "u32"],
  ["domainid", 356, "u16"],
  ["megcap", 368, "u128"],
  ["sqes", 512, "u8"],
  ["cqes", 513, "u8"],
  ["maxcmd", 514, "u16"],
  ["nn", 516, "u32"],
  ["oncs", 520, "u16"],
  ["fuses", 522, "u16"],
  ["fna", 524, "u8"],
  ["vwc", 525, "u8"],
  ["awun", 526, "u16"],
  ["awupf", 528, "u16"],
  ["icsvscc", 530, "u8"],
  ["nwpc", 531, "u8"],
  ["acwu", 532, "u16"],
  ["ocfs", 534, "u16"],
  ["sgls", 536, "u32"],
  ["mnan", 540, "u32"],
  ["maxdna", 544, "u128"],
  ["maxcna", 560, "u32"],
  ["subnqn", 768, "nqn", 256],
  ["ioccsz", 1792, "u32"],
  ["iorcsz", 1796, "u32"],
  ["icdoff", 1800, "u16"],
  ["fcatt", 1802, "u8"],
  ["msdbd", 1803, "u8"],
  ["ofcs", 1804, "u16"],
  ["dctype", 1806, "u8"],
  PSD_FIELD,
  ["vs", 3072, "bytes", 1024],
]);
const CTRL_SCALARS = CTRL_FIELDS.filter((f) => f[0] !== PSD_FIELD[0]);

/**
 * Byte offsets of the Identify Controller fields (Base Figure 275), keyed by field name; also the
 * `offset` a {@linkcode ProtocolFieldError} reports. `psd` is where PSD0 starts.
 */
export const IdentifyControllerOffset: Readonly<Record<keyof IdentifyController, number>> = offsets(
  CTRL_FIELDS,
);

/**
 * Decodes an Identify Controller data structure.
 *
 * @param bytes The 4096 bytes the controller returned; only the first 4096 are read.
 * @returns The fields, strings trimmed, byte arrays copied.
 * @throws {ProtocolFieldError} When `bytes` is shorter than 4096 bytes (naming the first field cut
 * off), or SUBNQN has no NUL or is not UTF-8.
 * @example Usage
 * ```ts
 * import { decodeIdentifyController } from "@nvmf/proto/identify";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(4096);
 * bytes[77] = 5; // MDTS
 * const id = decodeIdentifyController(bytes);
 * assert.equal(id.mdts, 5);
 * assert.equal(id.psd.length, 32);
 * ```
 */
export function decodeIdentifyController(bytes: Uint8Array): IdentifyController {
  const view = checkLength(bytes, IDENTIFY_DATA_SIZE, CTRL_FIELDS, "Identify Controller data");
  const out = decodeFields(bytes, view, CTRL_SCALARS, {});
  const psd: PowerStateDescriptor[] = [];
  for (let i = 0; i < POWER_STATE_DESCRIPTOR_COUNT; i++) {
    psd.push(decodePsd(view, PSD_FIELD[1] + i * POWER_STATE_DESCRIPTOR_SIZE));
  }
  out.psd = psd;
  return out as unknown as IdentifyController;
}

/**
 * Encodes an Identify Controller data structure.
 *
 * @param c The fields to write; absent numbers and byte arrays are zero, absent strings spaces
 * (SUBNQN: empty), absent power state descriptors zero.
 * @param into Where to write, at least 4096 bytes; a new array when absent.
 * @returns The 4096 bytes written: `into` itself when it is exactly 4096 bytes long, else a view
 * of its start.
 * @throws {RangeError} When `into` is too short, or a value does not fit its field.
 * @throws {TypeError} When a value has the wrong type.
 * @example Usage
 * ```ts
 * import { encodeIdentifyController } from "@nvmf/proto/identify";
 * import assert from "node:assert/strict";
 * const bytes = encodeIdentifyController({ fr: "6.1.0", cntlid: 1 });
 * assert.equal(new TextDecoder().decode(bytes.subarray(64, 72)), "6.1.0   ");
 * assert.equal(bytes[78], 1);
 * ```
 */
export function encodeIdentifyController(
  c: Partial<IdentifyController>,
  into?: Uint8Array,
): Uint8Array {
  const [bytes, view] = target(into, IDENTIFY_DATA_SIZE, "Identify Controller data");
  encodeFields(bytes, view, CTRL_SCALARS, c, "Identify Controller");
  const psd = c.psd;
  if (psd !== undefined) {
    if (!Array.isArray(psd) || psd.length > POWER_STATE_DESCRIPTOR_COUNT) {
      throw new RangeError(
        `Cannot encode Identify Controller PSD: expected up to ${POWER_STATE_DESCRIPTOR_COUNT} descriptors, received ${
          Array.isArray(psd) ? psd.length : typeof psd
        }`,
      );
    }
    for (let i = 0; i < psd.length; i++) {
      encodePsd(view, PSD_FIELD[1] + i * POWER_STATE_DESCRIPTOR_SIZE, psd[i], i);
    }
  }
  return bytes;
}

function decodePsd(view: DataView, at: number): PowerStateDescriptor {
  const o = PowerStateDescriptorOffset;
  const flags = view.getUint8(at + o.mxps);
  const ips = view.getUint8(at + o.ips);
  const apwAps = view.getUint8(at + o.apw);
  return {
    mp: view.getUint16(at + o.mp, true),
    mxps: flags & 0x1,
    nops: (flags >> 1) & 0x1,
    enlat: view.getUint32(at + o.enlat, true),
    exlat: view.getUint32(at + o.exlat, true),
    rrt: view.getUint8(at + o.rrt) & 0x1f,
    rrl: view.getUint8(at + o.rrl) & 0x1f,
    rwt: view.getUint8(at + o.rwt) & 0x1f,
    rwl: view.getUint8(at + o.rwl) & 0x1f,
    idlp: view.getUint16(at + o.idlp, true),
    ips: ips >> 6,
    actp: view.getUint16(at + o.actp, true),
    apw: apwAps & 0x7,
    aps: apwAps >> 6,
  };
}

function encodePsd(
  view: DataView,
  at: number,
  p: Partial<PowerStateDescriptor>,
  index: number,
): void {
  const o = PowerStateDescriptorOffset;
  const n = (name: keyof PowerStateDescriptor, max: number) =>
    uint(p[name], max, `Identify Controller PSD${index}.${name.toUpperCase()}`);
  view.setUint16(at + o.mp, n("mp", 0xffff), true);
  view.setUint8(at + o.mxps, n("mxps", 1) | (n("nops", 1) << 1));
  view.setUint32(at + o.enlat, n("enlat", 0xffffffff), true);
  view.setUint32(at + o.exlat, n("exlat", 0xffffffff), true);
  view.setUint8(at + o.rrt, n("rrt", 0x1f));
  view.setUint8(at + o.rrl, n("rrl", 0x1f));
  view.setUint8(at + o.rwt, n("rwt", 0x1f));
  view.setUint8(at + o.rwl, n("rwl", 0x1f));
  view.setUint16(at + o.idlp, n("idlp", 0xffff), true);
  view.setUint8(at + o.ips, n("ips", 0x3) << 6);
  view.setUint16(at + o.actp, n("actp", 0xffff), true);
  view.setUint8(at + o.apw, n("apw", 0x7) | (n("aps", 0x3) << 6));
}

// ---------------------------------------------------------------------------------------------
// Identify Namespace (NVM Command Set 4.1.5.1, Figure 97)

/** An LBA format of Identify Namespace (NVM Figure 98). */
export interface LbaFormat {
  /** MS: metadata size in bytes per logical block. */
  ms: number;
  /** LBADS: LBA data size, log2 of the logical block size; 0 when the format is unavailable. */
  lbads: number;
  /** RP: relative performance, bits 1:0. */
  rp: number;
}

/** Size of one LBA format descriptor. */
export const LBA_FORMAT_SIZE = 4;
/** Number of LBA format descriptors in Identify Namespace (LBAF0 to LBAF63). */
export const LBA_FORMAT_COUNT = 64;

/** The Identify Namespace data structure of the NVM command set (CNS 00h). */
export interface IdentifyNamespace {
  /** NSZE: namespace size in logical blocks. */
  nsze: bigint;
  /** NCAP: namespace capacity in logical blocks. */
  ncap: bigint;
  /** NUSE: namespace utilization in logical blocks. */
  nuse: bigint;
  /** NSFEAT: namespace features. */
  nsfeat: number;
  /** NLBAF: number of LBA formats, 0's based. */
  nlbaf: number;
  /** FLBAS: formatted LBA size; see {@linkcode lbaFormatIndex}. */
  flbas: number;
  /** MC: metadata capabilities. */
  mc: number;
  /** DPC: end-to-end data protection capabilities. */
  dpc: number;
  /** DPS: end-to-end data protection type settings. */
  dps: number;
  /** NMIC: namespace multi-path I/O and namespace sharing capabilities. */
  nmic: number;
  /** RESCAP: reservation capabilities. */
  rescap: number;
  /** FPI: format progress indicator. */
  fpi: number;
  /** DLFEAT: deallocate logical block features. */
  dlfeat: number;
  /** NAWUN: namespace atomic write unit normal, 0's based. */
  nawun: number;
  /** NAWUPF: namespace atomic write unit power fail, 0's based. */
  nawupf: number;
  /** NACWU: namespace atomic compare and write unit, 0's based. */
  nacwu: number;
  /** NABSN: namespace atomic boundary size normal, 0's based. */
  nabsn: number;
  /** NABO: namespace atomic boundary offset. */
  nabo: number;
  /** NABSPF: namespace atomic boundary size power fail, 0's based. */
  nabspf: number;
  /** NOIOB: namespace optimal I/O boundary in logical blocks. */
  noiob: number;
  /** NVMCAP: NVM capacity in bytes (16 bytes). */
  nvmcap: bigint;
  /** NPWG: namespace preferred write granularity, 0's based. */
  npwg: number;
  /** NPWA: namespace preferred write alignment, 0's based. */
  npwa: number;
  /** NPDG: namespace preferred deallocate granularity, 0's based. */
  npdg: number;
  /** NPDA: namespace preferred deallocate alignment, 0's based. */
  npda: number;
  /** NOWS: namespace optimal write size, 0's based. */
  nows: number;
  /** MSSRL: maximum single source range length (Copy). */
  mssrl: number;
  /** MCL: maximum copy length. */
  mcl: number;
  /** MSRC: maximum source range count, 0's based. */
  msrc: number;
  /** NULBAF: number of unique capability LBA formats. */
  nulbaf: number;
  /** ANAGRPID: ANA group identifier. */
  anagrpid: number;
  /** NSATTR: namespace attributes; bit 0 set when write protected. */
  nsattr: number;
  /** NVMSETID: NVM set identifier. */
  nvmsetid: number;
  /** ENDGID: endurance group identifier. */
  endgid: number;
  /** NGUID: namespace globally unique identifier, 16 bytes. */
  nguid: Uint8Array;
  /** EUI64: IEEE extended unique identifier, 8 bytes. */
  eui64: Uint8Array;
  /** LBAF0 to LBAF63: the 64 LBA formats. */
  lbaf: LbaFormat[];
  /** VS: vendor specific bytes 4095:384, 3712 bytes. */
  vs: Uint8Array;
}

const LBAF_FIELD: Field = ["lbaf", 128, "bytes", LBA_FORMAT_SIZE * LBA_FORMAT_COUNT];

const NS_FIELDS: readonly Field[] = fields([
  ["nsze", 0, "u64"],
  ["ncap", 8, "u64"],
  ["nuse", 16, "u64"],
  ["nsfeat", 24, "u8"],
  ["nlbaf", 25, "u8"],
  ["flbas", 26, "u8"],
  ["mc", 27, "u8"],
  ["dpc", 28, "u8"],
  ["dps", 29, "u8"],
  ["nmic", 30, "u8"],
  ["rescap", 31, "u8"],
  ["fpi", 32, "u8"],
  ["dlfeat", 33, "u8"],
  ["nawun", 34, "u16"],
  ["nawupf", 36, "u16"],
  ["nacwu", 38, "u16"],
  ["nabsn", 40, "u16"],
  ["nabo", 42, "u16"],
  ["nabspf", 44, "u16"],
  ["noiob", 46, "u16"],
  ["nvmcap", 48, "u128"],
  ["npwg", 64, "u16"],
  ["npwa", 66, "u16"],
  ["npdg", 68, "u16"],
  ["npda", 70, "u16"],
  ["nows", 72, "u16"],
  ["mssrl", 74, "u16"],
  ["mcl", 76, "u32"],
  ["msrc", 80, "u8"],
  ["nulbaf", 82, "u8"],
  ["anagrpid", 92, "u32"],
  ["nsattr", 99, "u8"],
  ["nvmsetid", 100, "u16"],
  ["endgid", 102, "u16"],
  ["nguid", 104, "bytes", 16],
  ["eui64", 120, "bytes", 8],
  LBAF_FIELD,
  ["vs", 384, "bytes", 3712],
]);
const NS_SCALARS = NS_FIELDS.filter((f) => f[0] !== LBAF_FIELD[0]);

/**
 * Byte offsets of the Identify Namespace fields (NVM Figure 97), keyed by field name. `lbaf` is
 * where LBAF0 starts.
 */
export const IdentifyNamespaceOffset: Readonly<Record<keyof IdentifyNamespace, number>> = offsets(
  NS_FIELDS,
);

/** Byte offsets of the fields of an LBA format descriptor (NVM Figure 98). */
export const LbaFormatOffset: Readonly<Record<keyof LbaFormat, number>> = Object.freeze({
  ms: 0,
  lbads: 2,
  rp: 3,
});

/**
 * Decodes an Identify Namespace data structure (NVM command set).
 *
 * @param bytes The 4096 bytes the controller returned; only the first 4096 are read.
 * @returns The fields, byte arrays copied, all 64 LBA formats.
 * @throws {ProtocolFieldError} When `bytes` is shorter than 4096 bytes.
 * @example Usage
 * ```ts
 * import { decodeIdentifyNamespace } from "@nvmf/proto/identify";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(4096);
 * bytes[0] = 0x10; // NSZE
 * bytes[130] = 12; // LBAF0.LBADS
 * const ns = decodeIdentifyNamespace(bytes);
 * assert.equal(ns.nsze, 16n);
 * assert.equal(ns.lbaf[0].lbads, 12);
 * ```
 */
export function decodeIdentifyNamespace(bytes: Uint8Array): IdentifyNamespace {
  const view = checkLength(bytes, IDENTIFY_DATA_SIZE, NS_FIELDS, "Identify Namespace data");
  const out = decodeFields(bytes, view, NS_SCALARS, {});
  const lbaf: LbaFormat[] = [];
  for (let i = 0; i < LBA_FORMAT_COUNT; i++) {
    const at = LBAF_FIELD[1] + i * LBA_FORMAT_SIZE;
    lbaf.push({
      ms: view.getUint16(at + LbaFormatOffset.ms, true),
      lbads: view.getUint8(at + LbaFormatOffset.lbads),
      rp: view.getUint8(at + LbaFormatOffset.rp) & 0x3,
    });
  }
  out.lbaf = lbaf;
  return out as unknown as IdentifyNamespace;
}

/**
 * Encodes an Identify Namespace data structure (NVM command set).
 *
 * @param ns The fields to write; absent ones are zero, absent LBA formats too.
 * @param into Where to write, at least 4096 bytes; a new array when absent.
 * @returns The 4096 bytes written: `into` itself when it is exactly 4096 bytes long, else a view
 * of its start.
 * @throws {RangeError} When `into` is too short, or a value does not fit its field.
 * @throws {TypeError} When a value has the wrong type.
 * @example Usage
 * ```ts
 * import { encodeIdentifyNamespace } from "@nvmf/proto/identify";
 * import assert from "node:assert/strict";
 * const bytes = encodeIdentifyNamespace({ nsze: 8n, lbaf: [{ ms: 0, lbads: 9, rp: 0 }] });
 * assert.equal(bytes[0], 8);
 * assert.equal(bytes[130], 9);
 * ```
 */
export function encodeIdentifyNamespace(
  ns: Partial<IdentifyNamespace>,
  into?: Uint8Array,
): Uint8Array {
  const [bytes, view] = target(into, IDENTIFY_DATA_SIZE, "Identify Namespace data");
  encodeFields(bytes, view, NS_SCALARS, ns, "Identify Namespace");
  const lbaf = ns.lbaf;
  if (lbaf !== undefined) {
    if (!Array.isArray(lbaf) || lbaf.length > LBA_FORMAT_COUNT) {
      throw new RangeError(
        `Cannot encode Identify Namespace LBAF: expected up to ${LBA_FORMAT_COUNT} formats, received ${
          Array.isArray(lbaf) ? lbaf.length : typeof lbaf
        }`,
      );
    }
    for (let i = 0; i < lbaf.length; i++) {
      const at = LBAF_FIELD[1] + i * LBA_FORMAT_SIZE;
      const f: Partial<LbaFormat> = lbaf[i];
      const label = `Identify Namespace LBAF${i}`;
      view.setUint16(at + LbaFormatOffset.ms, uint(f.ms, 0xffff, `${label}.MS`), true);
      view.setUint8(at + LbaFormatOffset.lbads, uint(f.lbads, 0xff, `${label}.LBADS`));
      view.setUint8(at + LbaFormatOffset.rp, uint(f.rp, 0x3, `${label}.RP`));
    }
  }
  return bytes;
}

// FLBAS (NVM Figure 97): format index bits 3:0 low, bits 6:5 high (with more than 16 formats).
const FLBAS_INDEX_LOW_MASK = 0xf;
const FLBAS_INDEX_HIGH_SHIFT = 5;
const FLBAS_INDEX_HIGH_MASK = 0x3;
// NVM Figure 98: LBADS below 9 (512 bytes) is not supported.
const LBADS_MIN = 9;

/**
 * Returns the index of the namespace's current LBA format (NVM Figure 97): FLBAS bits 3:0, with
 * bits 6:5 as bits 5:4 of the index.
 *
 * @param ns The namespace, or just its FLBAS.
 * @returns 0 to 63.
 * @example Usage
 * ```ts
 * import { lbaFormatIndex } from "@nvmf/proto/identify";
 * import assert from "node:assert/strict";
 * assert.equal(lbaFormatIndex({ flbas: 0x02 }), 2);
 * assert.equal(lbaFormatIndex({ flbas: 0x31 }), 0x11); // bit 4 (metadata at end) is not part of it
 * ```
 */
export function lbaFormatIndex(ns: Pick<IdentifyNamespace, "flbas">): number {
  return (ns.flbas & FLBAS_INDEX_LOW_MASK) |
    (((ns.flbas >> FLBAS_INDEX_HIGH_SHIFT) & FLBAS_INDEX_HIGH_MASK) << 4);
}

/**
 * Returns the logical block size of the namespace's current LBA format: 2 to the power LBADS.
 *
 * @param ns The decoded namespace (FLBAS, NLBAF and the LBA formats are used).
 * @returns The block size in bytes, e.g. 512.
 * @throws {ProtocolFieldError} When FLBAS selects a format beyond NLBAF, or one whose LBADS is
 * below 9 (an unused or unsupported format).
 * @example Usage
 * ```ts
 * import { blockSize } from "@nvmf/proto/identify";
 * import assert from "node:assert/strict";
 * const lbaf = [{ ms: 0, lbads: 9, rp: 0 }, { ms: 0, lbads: 12, rp: 0 }];
 * assert.equal(blockSize({ flbas: 1, nlbaf: 1, lbaf }), 4096);
 * ```
 */
export function blockSize(ns: Pick<IdentifyNamespace, "flbas" | "nlbaf" | "lbaf">): number {
  const index = lbaFormatIndex(ns);
  if (index > ns.nlbaf || index >= ns.lbaf.length) {
    throw new ProtocolFieldError(
      `Reject FLBAS: LBA format ${index} is beyond NLBAF ${ns.nlbaf}`,
      "FLBAS",
      IdentifyNamespaceOffset.flbas,
    );
  }
  const lbads = ns.lbaf[index].lbads;
  if (lbads < LBADS_MIN) {
    throw new ProtocolFieldError(
      `Reject LBAF${index}.LBADS: ${lbads} is below ${LBADS_MIN}`,
      `LBAF${index}.LBADS`,
      IdentifyNamespaceOffset.lbaf + index * LBA_FORMAT_SIZE + LbaFormatOffset.lbads,
    );
  }
  return 2 ** lbads;
}

// ---------------------------------------------------------------------------------------------
// Namespace Identification Descriptor list (Base 5.17.2.3, Figures 276 and 277)

/** A namespace identification descriptor: type NIDT and identifier NID (NIDL bytes). */
export interface NsIdDescriptor {
  /** NIDT: the type, one of `NsIdType`. */
  nidt: number;
  /** NID: the identifier; its length is NIDL. */
  nid: Uint8Array;
}

/** Byte offsets within a namespace identification descriptor; NID starts after the header. */
export const NsIdDescriptorOffset: Readonly<{ nidt: number; nidl: number; nid: number }> = Object
  .freeze({ nidt: 0, nidl: 1, nid: 4 });

/**
 * Decodes a Namespace Identification Descriptor list, up to the first descriptor of type 0 or
 * the end of `bytes`.
 *
 * @param bytes The list (4096 bytes from the controller, or fewer).
 * @returns The descriptors in order, NIDs copied; types this module does not know are kept.
 * @throws {ProtocolFieldError} When a known type has the wrong NIDL (EUI64 8, NGUID 16, UUID 16,
 * CSI 1), or a descriptor runs past the end of `bytes`.
 * @example Usage
 * ```ts
 * import { decodeNsIdDescriptors } from "@nvmf/proto/identify";
 * import assert from "node:assert/strict";
 * const list = decodeNsIdDescriptors(Uint8Array.of(4, 1, 0, 0, 2, 0, 0));
 * assert.deepEqual(list, [{ nidt: 4, nid: Uint8Array.of(2) }]);
 * ```
 */
export function decodeNsIdDescriptors(bytes: Uint8Array): NsIdDescriptor[] {
  const list: NsIdDescriptor[] = [];
  const o = NsIdDescriptorOffset;
  let at = 0;
  while (at < bytes.length) {
    const nidt = bytes[at + o.nidt];
    if (nidt === 0) break;
    if (at + o.nid > bytes.length) {
      throw new ProtocolFieldError(
        `Reject NIDL: descriptor at byte ${at} is cut off after ${bytes.length - at} bytes`,
        "NIDL",
        at + o.nidl,
      );
    }
    const nidl = bytes[at + o.nidl];
    const expected = NS_ID_LENGTH[nidt];
    if (expected !== undefined && nidl !== expected) {
      throw new ProtocolFieldError(
        `Reject NIDL: type ${nidt} at byte ${at} needs ${expected}, received ${nidl}`,
        "NIDL",
        at + o.nidl,
      );
    }
    const end = at + o.nid + nidl;
    if (end > bytes.length) {
      throw new ProtocolFieldError(
        `Reject NIDL: descriptor at byte ${at} needs ${nidl} bytes of NID, only ${
          bytes.length - at - o.nid
        } remain`,
        "NIDL",
        at + o.nidl,
      );
    }
    list.push({ nidt, nid: bytes.slice(at + o.nid, end) });
    at = end;
  }
  return list;
}

/**
 * Encodes a Namespace Identification Descriptor list into 4096 bytes, zero after the last one.
 *
 * @param list The descriptors, in order.
 * @param into Where to write, at least 4096 bytes; a new array when absent.
 * @returns The 4096 bytes written: `into` itself when it is exactly 4096 bytes long, else a view
 * of its start.
 * @throws {RangeError} When a type is 0 or above 255, a known type has an NID of the wrong length,
 * an NID exceeds 255 bytes, the list does not fit in 4096 bytes, or `into` is too short.
 * @example Usage
 * ```ts
 * import { encodeNsIdDescriptors } from "@nvmf/proto/identify";
 * import assert from "node:assert/strict";
 * const bytes = encodeNsIdDescriptors([{ nidt: 4, nid: Uint8Array.of(0) }]);
 * assert.deepEqual(bytes.subarray(0, 6), Uint8Array.of(4, 1, 0, 0, 0, 0));
 * ```
 */
export function encodeNsIdDescriptors(list: NsIdDescriptor[], into?: Uint8Array): Uint8Array {
  const [bytes] = target(into, IDENTIFY_DATA_SIZE, "namespace identification descriptor list");
  const o = NsIdDescriptorOffset;
  let at = 0;
  for (let i = 0; i < list.length; i++) {
    const { nidt, nid } = list[i];
    if (!Number.isInteger(nidt) || nidt < 1 || nidt > 0xff) {
      throw new RangeError(
        `Cannot encode descriptor ${i}: NIDT must be 1 to 255, received ${nidt}`,
      );
    }
    if (!(nid instanceof Uint8Array)) {
      throw new TypeError(`Cannot encode descriptor ${i}: NID must be a Uint8Array`);
    }
    const expected = NS_ID_LENGTH[nidt];
    if ((expected !== undefined && nid.length !== expected) || nid.length > 0xff) {
      throw new RangeError(
        `Cannot encode descriptor ${i}: NID of type ${nidt} must be ${
          expected ?? "at most 255"
        } bytes, received ${nid.length}`,
      );
    }
    if (at + o.nid + nid.length > IDENTIFY_DATA_SIZE) {
      throw new RangeError(
        `Cannot encode descriptor ${i}: the list exceeds ${IDENTIFY_DATA_SIZE} bytes`,
      );
    }
    bytes[at + o.nidt] = nidt;
    bytes[at + o.nidl] = nid.length;
    bytes.set(nid, at + o.nid);
    at += o.nid + nid.length;
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Namespace ID lists (Base 5.17.2.2, Figure 278)

/** Most NSIDs a namespace list holds: 4096 bytes of 32-bit entries. */
export const NS_LIST_MAX_ENTRIES: number = IDENTIFY_DATA_SIZE / 4;

/**
 * Decodes a namespace ID list (the Active Namespace ID list of CNS 02h, and the other CNS values
 * that return one): 32-bit NSIDs up to the first 0 or the end.
 *
 * @param bytes The list, 4096 bytes from the controller or fewer; a multiple of 4 bytes.
 * @returns The NSIDs in list order.
 * @throws {ProtocolFieldError} When the length is not a multiple of 4.
 * @example Usage
 * ```ts
 * import { decodeNsIdList } from "@nvmf/proto/identify";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeNsIdList(Uint8Array.of(1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0)), [1, 7]);
 * ```
 */
export function decodeNsIdList(bytes: Uint8Array): number[] {
  if (bytes.length % 4 !== 0) {
    throw new ProtocolFieldError(
      `Reject namespace list: ${bytes.length} bytes is not a whole number of NSIDs`,
      "NSID",
      bytes.length - (bytes.length % 4),
    );
  }
  const view = dataView(bytes);
  const ids: number[] = [];
  const end = Math.min(bytes.length, IDENTIFY_DATA_SIZE);
  for (let at = 0; at < end; at += 4) {
    const nsid = view.getUint32(at, true);
    if (nsid === 0) break;
    ids.push(nsid);
  }
  return ids;
}

/**
 * Encodes a namespace ID list into 4096 bytes, zero after the last NSID.
 *
 * @param ids Up to 1024 NSIDs, each 1 to FFFFFFFEh (the spec wants them increasing).
 * @param into Where to write, at least 4096 bytes; a new array when absent.
 * @returns The 4096 bytes written: `into` itself when it is exactly 4096 bytes long, else a view
 * of its start.
 * @throws {RangeError} When there are too many NSIDs, one is out of range, or `into` is too short.
 * @example Usage
 * ```ts
 * import { encodeNsIdList } from "@nvmf/proto/identify";
 * import assert from "node:assert/strict";
 * const bytes = encodeNsIdList([1, 2]);
 * assert.deepEqual(bytes.subarray(0, 12), Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0));
 * ```
 */
export function encodeNsIdList(ids: readonly number[], into?: Uint8Array): Uint8Array {
  if (ids.length > NS_LIST_MAX_ENTRIES) {
    throw new RangeError(
      `Cannot encode namespace list: ${ids.length} NSIDs exceed ${NS_LIST_MAX_ENTRIES}`,
    );
  }
  const [bytes, view] = target(into, IDENTIFY_DATA_SIZE, "namespace list");
  for (let i = 0; i < ids.length; i++) {
    const nsid = ids[i];
    if (!Number.isInteger(nsid) || nsid < 1 || nsid >= NSID_BROADCAST) {
      throw new RangeError(
        `Cannot encode namespace list: NSID ${i} must be 1 to ${
          NSID_BROADCAST - 1
        }, received ${nsid}`,
      );
    }
    view.setUint32(i * 4, nsid, true);
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Field table machinery

function offsets<K extends string>(table: readonly Field[]): Readonly<Record<K, number>> {
  const out: Record<string, number> = {};
  for (const [name, at] of table) out[name] = at;
  return Object.freeze(out) as Record<K, number>;
}

function checkLength(
  bytes: Uint8Array,
  size: number,
  table: readonly Field[],
  what: string,
): DataView {
  if (bytes.length < size) {
    const cut = table.find(([, at, , n]) => at + n > bytes.length) ?? table[0];
    throw new ProtocolFieldError(
      `Reject ${what}: need ${size} bytes, received ${bytes.length}`,
      cut[0].toUpperCase(),
      cut[1],
    );
  }
  return dataView(bytes);
}

function decodeFields(
  bytes: Uint8Array,
  view: DataView,
  table: readonly Field[],
  out: Record<string, unknown>,
): Record<string, unknown> {
  for (const [name, at, kind, size] of table) {
    switch (kind) {
      case "u8":
        out[name] = view.getUint8(at);
        break;
      case "u16":
        out[name] = view.getUint16(at, true);
        break;
      case "u24":
        out[name] = view.getUint16(at, true) | (view.getUint8(at + 2) << 16);
        break;
      case "u32":
        out[name] = view.getUint32(at, true);
        break;
      case "u64":
        out[name] = view.getBigUint64(at, true);
        break;
      case "u128":
        out[name] = u128(view, at);
        break;
      case "ascii": {
        let end = at + size;
        while (end > at && bytes[end - 1] === SPACE) end--;
        out[name] = String.fromCharCode(...bytes.subarray(at, end));
        break;
      }
      case "nqn": {
        const nul = bytes.subarray(at, at + size).indexOf(0);
        if (nul < 0) {
          throw new ProtocolFieldError(
            `Reject ${name.toUpperCase()}: no NUL within ${size} bytes`,
            name.toUpperCase(),
            at,
          );
        }
        try {
          out[name] = utf8Decoder.decode(bytes.subarray(at, at + nul));
        } catch {
          throw new ProtocolFieldError(
            `Reject ${name.toUpperCase()}: not valid UTF-8`,
            name.toUpperCase(),
            at,
          );
        }
        break;
      }
      case "bytes":
        out[name] = bytes.slice(at, at + size);
        break;
    }
  }
  return out;
}

function encodeFields(
  bytes: Uint8Array,
  view: DataView,
  table: readonly Field[],
  src: object,
  what: string,
): void {
  const values = src as Record<string, unknown>;
  for (const [name, at, kind, size] of table) {
    const value = values[name];
    const label = `${what} ${name.toUpperCase()}`;
    if (value === undefined) {
      if (kind === "ascii") bytes.fill(SPACE, at, at + size);
      continue;
    }
    switch (kind) {
      case "u8":
        view.setUint8(at, uint(value, 0xff, label));
        break;
      case "u16":
        view.setUint16(at, uint(value, 0xffff, label), true);
        break;
      case "u24": {
        const v = uint(value, 0xffffff, label);
        view.setUint16(at, v & 0xffff, true);
        view.setUint8(at + 2, v >>> 16);
        break;
      }
      case "u32":
        view.setUint32(at, uint(value, 0xffffffff, label), true);
        break;
      case "u64":
        view.setBigUint64(at, ubig(value, 64, label), true);
        break;
      case "u128":
        putU128(view, at, ubig(value, 128, label));
        break;
      case "ascii": {
        if (typeof value !== "string") {
          throw new TypeError(
            `Cannot encode ${label}: expected a string, received ${typeof value}`,
          );
        }
        if (value.length > size) {
          throw new RangeError(
            `Cannot encode ${label}: ${value.length} characters exceed ${size}`,
          );
        }
        for (let i = 0; i < value.length; i++) {
          const code = value.charCodeAt(i);
          if (code > 0xff) {
            throw new RangeError(
              `Cannot encode ${label}: character ${i} is not a single byte (U+${
                code.toString(16).padStart(4, "0")
              })`,
            );
          }
          bytes[at + i] = code;
        }
        bytes.fill(SPACE, at + value.length, at + size);
        break;
      }
      case "nqn": {
        if (typeof value !== "string") {
          throw new TypeError(
            `Cannot encode ${label}: expected a string, received ${typeof value}`,
          );
        }
        const field = bytes.subarray(at, at + size - 1); // keep room for the NUL
        const { read, written } = utf8Encoder.encodeInto(value, field);
        if (read < value.length) {
          throw new RangeError(
            `Cannot encode ${label}: more than ${size - 1} bytes of UTF-8`,
          );
        }
        if (field.subarray(0, written).includes(0)) {
          throw new RangeError(`Cannot encode ${label}: contains a NUL character`);
        }
        break;
      }
      case "bytes": {
        if (!(value instanceof Uint8Array)) {
          throw new TypeError(
            `Cannot encode ${label}: expected a Uint8Array, received ${typeof value}`,
          );
        }
        if (value.length !== size) {
          throw new RangeError(
            `Cannot encode ${label}: expected ${size} bytes, received ${value.length}`,
          );
        }
        bytes.set(value, at);
        break;
      }
    }
  }
}

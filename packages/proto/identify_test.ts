import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AdminOpcode,
  CommandSetIdentifier,
  ControllerType,
  DISCOVERY_NQN,
  IdentifyCns,
  NsIdType,
  NvmeVersion,
  Oncs,
  SglSupport,
} from "./constants.ts";
import { ProtocolFieldError } from "./errors.ts";
import { collectCommands, loadStream, streamFile, type Variant } from "./_fixtures.ts";
import { SQE_CDW10 } from "./sqe.ts";
import {
  blockSize,
  decodeIdentifyController,
  decodeIdentifyNamespace,
  decodeNsIdDescriptors,
  decodeNsIdList,
  encodeIdentifyController,
  encodeIdentifyNamespace,
  encodeNsIdDescriptors,
  encodeNsIdList,
  type IdentifyController,
  IdentifyControllerOffset,
  type IdentifyNamespace,
  IdentifyNamespaceOffset,
  lbaFormatIndex,
  type PowerStateDescriptor,
} from "./identify.ts";

// ---------------------------------------------------------------------------------------------
// The captured NVMe/TCP streams (shared/fixtures/README.md), paired by _fixtures.ts.

function identifyData(conn: number, cns: number, variant: Variant = "plain"): Uint8Array[] {
  const h2c = loadStream(streamFile(variant, conn, "host-to-controller"));
  const c2h = loadStream(streamFile(variant, conn, "controller-to-host"));
  return collectCommands(h2c, c2h)
    // CNS is the low byte of CDW10
    .filter((c) => c.opcode === AdminOpcode.IDENTIFY && c.sqe[SQE_CDW10] === cns)
    .map((c) => {
      assert.ok(c.c2hData !== undefined, `Identify CNS ${cns} CID ${c.cid} has no data`);
      return c.c2hData;
    });
}

const ascii = (b: Uint8Array) => String.fromCharCode(...b);

// ---------------------------------------------------------------------------------------------
// Identify Controller from Linux 6.1 nvmet

test("decodeIdentifyController() reads the Linux 6.1 discovery controller (conn0)", () => {
  const all = identifyData(0, IdentifyCns.CONTROLLER);
  assert.equal(all.length, 2); // the kernel at connect, then nvme discover
  for (const bytes of all) {
    assert.equal(bytes.length, 4096);
    const id = decodeIdentifyController(bytes);
    // nvmet_execute_disc_identify(): serial in hex, model "Linux", UTS_RELEASE, no MDTS limit.
    assert.equal(id.sn, "88cae58e317ba7e865ec");
    assert.equal(id.mn, "Linux");
    assert.equal(id.fr, "6.1.0-56");
    assert.equal(id.subnqn, DISCOVERY_NQN);
    assert.equal(id.cntrltype, ControllerType.DISCOVERY);
    assert.equal(id.mdts, 0);
    assert.equal(id.cntlid, 1);
    assert.equal(id.ver, NvmeVersion.V1_3);
    assert.equal(id.lpa, 1 << 2);
    assert.equal(id.maxcmd, 1024);
    assert.equal(id.oaes, 0x80000000); // discovery log page change notices
    assert.equal(id.sgls, SglSupport.SUPPORTED_NO_ALIGNMENT | SglSupport.ADDRESS_AS_OFFSET);
    assert.equal(id.ioccsz, 0);
    assert.equal(id.iorcsz, 0);
    assert.equal(id.kas, 0);
    assert.equal(id.sqes, 0);
    assert.equal(id.nn, 0);
    assert.equal(id.vid, 0);
    assert.equal(id.ieee, 0);
    assert.deepEqual(id.psd[0], zeroPsd());
    assert.deepEqual(encodeIdentifyController(id), bytes);
  }
});

test("decodeIdentifyController() reads the Linux 6.1 I/O controller (conn1)", () => {
  const all = identifyData(1, IdentifyCns.CONTROLLER);
  assert.equal(all.length, 2); // the kernel at connect, then nvme id-ctrl
  for (const bytes of all) {
    const id = decodeIdentifyController(bytes);
    // nvmet_execute_identify_ctrl() (drivers/nvme/target/admin-cmd.c, 6.1)
    assert.equal(id.sn, "fa5088292a95a94fa1bc");
    assert.equal(id.mn, "Linux");
    assert.equal(id.fr, "6.1.0-56");
    assert.equal(id.subnqn, "nqn.2026-01.test:kernel-target");
    assert.equal(id.cntrltype, ControllerType.IO);
    assert.equal(id.rab, 6);
    assert.equal(id.cmic, 0x0b); // multi-port, multi-controller, ANA
    assert.equal(id.mdts, 0);
    assert.equal(id.cntlid, 1);
    assert.equal(id.ver, NvmeVersion.V1_3);
    assert.equal(id.oaes, 0x900); // namespace attribute and ANA change notices
    assert.equal(id.ctratt, 0x41); // 128-bit host identifier, traffic based keep alive
    assert.equal(id.oacs, 0);
    assert.equal(id.acl, 3);
    assert.equal(id.aerl, 3);
    assert.equal(id.frmw, 3);
    assert.equal(id.lpa, 7);
    assert.equal(id.elpe, 127);
    assert.equal(id.npss, 0);
    assert.equal(id.kas, 10);
    assert.equal(id.anatt, 10);
    assert.equal(id.anacap, 0x1f);
    assert.equal(id.anagrpmax, 128);
    assert.equal(id.nanagrpid, 128);
    assert.equal(id.sqes, 0x66);
    assert.equal(id.cqes, 0x44);
    assert.equal(id.maxcmd, 1024);
    assert.equal(id.nn, 1024);
    assert.equal(id.mnan, 1024);
    assert.equal(id.oncs, Oncs.DATASET_MANAGEMENT | Oncs.WRITE_ZEROES);
    assert.equal(id.vwc, 1);
    assert.equal(id.nwpc, 1);
    assert.equal(id.sgls, SglSupport.SUPPORTED_NO_ALIGNMENT | SglSupport.ADDRESS_AS_OFFSET);
    assert.equal(id.ioccsz, (64 + 16384) / 16); // SQE plus 16 KiB of in-capsule data
    assert.equal(id.iorcsz, 1);
    assert.equal(id.icdoff, 0);
    assert.equal(id.fcatt, 0);
    assert.equal(id.msdbd, 1);
    assert.equal(id.tnvmcap, 0n);
    assert.deepEqual(id.psd[0], { ...zeroPsd(), mp: 0x9c4, enlat: 0x10, exlat: 0x4 });
    assert.deepEqual(id.psd[31], zeroPsd());
    assert.deepEqual(id.vs, new Uint8Array(1024));
    assert.deepEqual(encodeIdentifyController(id), bytes);
  }
});

test("decodeIdentifyController() round trips the digests capture byte for byte", () => {
  for (const conn of [0, 1]) {
    for (const bytes of identifyData(conn, IdentifyCns.CONTROLLER, "digests")) {
      const id = decodeIdentifyController(bytes);
      assert.equal(id.mn, "Linux");
      assert.deepEqual(encodeIdentifyController(id), bytes);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Identify Namespace, descriptor list, active namespace list from Linux 6.1 nvmet

test("decodeIdentifyNamespace() reads the 256 MiB null_blk namespace", () => {
  const all = identifyData(1, IdentifyCns.NAMESPACE);
  assert.equal(all.length, 4);
  for (const bytes of all) {
    const ns = decodeIdentifyNamespace(bytes);
    assert.equal(ns.nsze, 524288n); // 256 MiB / 512
    assert.equal(ns.ncap, 524288n);
    assert.equal(ns.nuse, 524288n);
    assert.equal(ns.nlbaf, 0);
    assert.equal(ns.flbas, 0);
    assert.deepEqual(ns.lbaf[0], { ms: 0, lbads: 9, rp: 0 });
    assert.deepEqual(ns.lbaf[1], { ms: 0, lbads: 0, rp: 0 });
    assert.equal(ns.lbaf.length, 64);
    assert.equal(lbaFormatIndex(ns), 0);
    assert.equal(blockSize(ns), 512);
    assert.equal(ns.nsfeat, 0x12); // nvmet_bdev_set_limits(): NAWUN etc. and NPWG etc. valid
    assert.equal(ns.nmic, 1);
    assert.equal(ns.anagrpid, 1);
    assert.equal(ns.nsattr, 0);
    assert.deepEqual(ns.nguid, new Uint8Array(16));
    assert.deepEqual(encodeIdentifyNamespace(ns), bytes);
  }
});

test("decodeNsIdDescriptors() reads the UUID and CSI descriptors nvmet sends", () => {
  const all = identifyData(1, IdentifyCns.NAMESPACE_DESCRIPTOR_LIST);
  assert.equal(all.length, 2);
  for (const bytes of all) {
    const list = decodeNsIdDescriptors(bytes);
    assert.equal(list.length, 2);
    assert.equal(list[0].nidt, NsIdType.UUID);
    assert.deepEqual(
      list[0].nid,
      Uint8Array.of(
        0xf4,
        0x7a,
        0xf3,
        0xcd,
        0x0e,
        0x32,
        0x45,
        0x3b,
        0xbd,
        0x50,
        0xac,
        0x31,
        0x85,
        0xc2,
        0xa1,
        0x99,
      ),
    );
    assert.deepEqual(list[1], { nidt: NsIdType.CSI, nid: Uint8Array.of(CommandSetIdentifier.NVM) });
    assert.deepEqual(encodeNsIdDescriptors(list), bytes);
  }
});

test("decodeNsIdList() reads the active namespace list of one namespace", () => {
  const all = identifyData(1, IdentifyCns.ACTIVE_NAMESPACE_LIST);
  assert.equal(all.length, 1);
  assert.deepEqual(decodeNsIdList(all[0]), [1]);
  assert.deepEqual(encodeNsIdList([1]), all[0]);
});

// ---------------------------------------------------------------------------------------------
// Hand-built structures

function zeroPsd(): PowerStateDescriptor {
  return {
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
  };
}

/** Gives every field of a decoded all-zero structure a distinct non-zero value. */
function distinct<T extends object>(zero: T, strings: Record<string, string>): T {
  const out: Record<string, unknown> = {};
  let n = 1;
  for (const [key, value] of Object.entries(zero)) {
    n++;
    if (typeof value === "number") out[key] = n;
    else if (typeof value === "bigint") out[key] = (BigInt(n) << 56n) | BigInt(n);
    else if (typeof value === "string") out[key] = strings[key];
    else if (value instanceof Uint8Array) out[key] = new Uint8Array(value.length).fill(n);
    else out[key] = value;
  }
  return out as T;
}

test("encodeIdentifyController() and decode keep every field apart", () => {
  const zero = decodeIdentifyController(new Uint8Array(4096));
  const c: IdentifyController = distinct(zero, {
    sn: "SN-1",
    mn: "Model µ", // Latin-1 survives as one byte
    fr: "FR345678",
    subnqn: "nqn.2026-01.test:ünïcode",
  });
  c.tnvmcap = (1n << 127n) | 5n;
  c.ieee = 0xabcdef;
  c.psd = Array.from({ length: 32 }, (_, i) => ({
    mp: 1000 + i,
    mxps: 1,
    nops: i & 1,
    enlat: 0x10000 + i,
    exlat: 0x20000 + i,
    rrt: i % 32,
    rrl: 31,
    rwt: 2,
    rwl: 3,
    idlp: 0xfff0 + (i & 7),
    ips: 2,
    actp: 7,
    apw: 5,
    aps: 1,
  }));
  const bytes = encodeIdentifyController(c);
  assert.deepEqual(decodeIdentifyController(bytes), c);
  const view = new DataView(bytes.buffer);
  // Spot checks against struct nvme_id_ctrl.
  assert.equal(ascii(bytes.subarray(4, 24)), "SN-1                ");
  assert.equal(bytes[24 + 6], 0xb5); // µ
  assert.deepEqual(bytes.subarray(73, 76), Uint8Array.of(0xef, 0xcd, 0xab));
  assert.equal(view.getBigUint64(280 + 8, true), 1n << 63n);
  assert.equal(bytes[IdentifyControllerOffset.sqes], c.sqes);
  assert.equal(view.getUint32(1792, true), c.ioccsz);
  assert.equal(view.getUint16(2048 + 32, true), 1001); // PSD1.MP
  assert.equal(bytes[2048 + 3], 0x01); // PSD0 MXPS, not NOPS
  assert.equal(bytes[2048 + 32 + 3], 0x03); // PSD1 MXPS and NOPS
  assert.equal(bytes[2048 + 18], 0x80); // IPS 2 in bits 7:6
  assert.equal(bytes[2048 + 22], 0x45); // APS 1, APW 5
  assert.equal(new TextDecoder().decode(bytes.subarray(768, 768 + 26)), "nqn.2026-01.test:ünïcode");
  assert.equal(bytes[768 + 26], 0);
  assert.deepEqual(bytes.subarray(3072), new Uint8Array(1024).fill(c.vs[0]));
});

test("IdentifyControllerOffset pins struct nvme_id_ctrl", () => {
  // Offsets of Linux include/linux/nvme.h (libnvme types.h), Base 2.0 Figure 275.
  assert.deepEqual({ ...IdentifyControllerOffset }, {
    vid: 0,
    ssvid: 2,
    sn: 4,
    mn: 24,
    fr: 64,
    rab: 72,
    ieee: 73,
    cmic: 76,
    mdts: 77,
    cntlid: 78,
    ver: 80,
    rtd3r: 84,
    rtd3e: 88,
    oaes: 92,
    ctratt: 96,
    rrls: 100,
    cntrltype: 111,
    fguid: 112,
    crdt1: 128,
    crdt2: 130,
    crdt3: 132,
    nvmsr: 253,
    vwci: 254,
    mec: 255,
    oacs: 256,
    acl: 258,
    aerl: 259,
    frmw: 260,
    lpa: 261,
    elpe: 262,
    npss: 263,
    avscc: 264,
    apsta: 265,
    wctemp: 266,
    cctemp: 268,
    mtfa: 270,
    hmpre: 272,
    hmmin: 276,
    tnvmcap: 280,
    unvmcap: 296,
    rpmbs: 312,
    edstt: 316,
    dsto: 318,
    fwug: 319,
    kas: 320,
    hctma: 322,
    mntmt: 324,
    mxtmt: 326,
    sanicap: 328,
    hmminds: 332,
    hmmaxd: 336,
    nsetidmax: 338,
    endgidmax: 340,
    anatt: 342,
    anacap: 343,
    anagrpmax: 344,
    nanagrpid: 348,
    pels: 352,
    domainid: 356,
    megcap: 368,
    sqes: 512,
    cqes: 513,
    maxcmd: 514,
    nn: 516,
    oncs: 520,
    fuses: 522,
    fna: 524,
    vwc: 525,
    awun: 526,
    awupf: 528,
    icsvscc: 530,
    nwpc: 531,
    acwu: 532,
    ocfs: 534,
    sgls: 536,
    mnan: 540,
    maxdna: 544,
    maxcna: 560,
    subnqn: 768,
    ioccsz: 1792,
    iorcsz: 1796,
    icdoff: 1800,
    fcatt: 1802,
    msdbd: 1803,
    ofcs: 1804,
    dctype: 1806,
    psd: 2048,
    vs: 3072,
  });
});

test("IdentifyNamespaceOffset pins struct nvme_id_ns", () => {
  // Offsets of Linux include/linux/nvme.h, NVM Command Set 1.0 Figure 97.
  assert.deepEqual({ ...IdentifyNamespaceOffset }, {
    nsze: 0,
    ncap: 8,
    nuse: 16,
    nsfeat: 24,
    nlbaf: 25,
    flbas: 26,
    mc: 27,
    dpc: 28,
    dps: 29,
    nmic: 30,
    rescap: 31,
    fpi: 32,
    dlfeat: 33,
    nawun: 34,
    nawupf: 36,
    nacwu: 38,
    nabsn: 40,
    nabo: 42,
    nabspf: 44,
    noiob: 46,
    nvmcap: 48,
    npwg: 64,
    npwa: 66,
    npdg: 68,
    npda: 70,
    nows: 72,
    mssrl: 74,
    mcl: 76,
    msrc: 80,
    nulbaf: 82,
    anagrpid: 92,
    nsattr: 99,
    nvmsetid: 100,
    endgid: 102,
    nguid: 104,
    eui64: 120,
    lbaf: 128,
    vs: 384,
  });
});

test("encodeIdentifyController() pads absent strings with spaces and zeroes the rest", () => {
  const bytes = encodeIdentifyController({});
  assert.equal(ascii(bytes.subarray(4, 72)), " ".repeat(68));
  assert.ok(bytes.subarray(72).every((b) => b === 0));
  const id = decodeIdentifyController(bytes);
  assert.equal(id.sn, "");
  assert.equal(id.subnqn, "");
});

test("encodeIdentifyController() writes into a caller's buffer and clears it", () => {
  const exact = new Uint8Array(4096).fill(0xee);
  assert.equal(encodeIdentifyController({ cntlid: 2 }, exact), exact);
  assert.equal(exact[78], 2);
  assert.equal(exact[200], 0);
  const big = new Uint8Array(5000).fill(0xee);
  const out = encodeIdentifyController({ cntlid: 3 }, big);
  assert.equal(out.length, 4096);
  assert.equal(out.buffer, big.buffer);
  assert.equal(big[78], 3);
  assert.equal(big[4095], 0);
  assert.equal(big[4096], 0xee); // past the structure: untouched
  assert.throws(() => encodeIdentifyController({}, new Uint8Array(4095)), RangeError);
});

test("encodeIdentifyController() rejects values that do not fit", () => {
  assert.throws(() => encodeIdentifyController({ mdts: 256 }), RangeError);
  assert.throws(() => encodeIdentifyController({ cntlid: -1 }), RangeError);
  assert.throws(() => encodeIdentifyController({ ver: 1.5 }), RangeError);
  assert.throws(() => encodeIdentifyController({ ieee: 0x1000000 }), RangeError);
  assert.throws(() => encodeIdentifyController({ sn: "x".repeat(21) }), RangeError);
  assert.throws(() => encodeIdentifyController({ mn: "snow ☃" }), RangeError);
  assert.throws(() => encodeIdentifyController({ tnvmcap: 1n << 128n }), RangeError);
  assert.throws(() => encodeIdentifyController({ tnvmcap: -1n }), RangeError);
  assert.throws(() => encodeIdentifyController({ fguid: new Uint8Array(15) }), RangeError);
  assert.throws(() => encodeIdentifyController({ subnqn: "n".repeat(256) }), RangeError);
  assert.throws(() => encodeIdentifyController({ subnqn: "nqn.a\0b" }), RangeError);
  assert.throws(
    () => encodeIdentifyController({ psd: Array.from({ length: 33 }, zeroPsd) }),
    RangeError,
  );
  assert.throws(() => encodeIdentifyController({ psd: [{ ...zeroPsd(), ips: 4 }] }), RangeError);
  assert.throws(
    () => encodeIdentifyController({ tnvmcap: 5 as unknown as bigint }),
    TypeError,
  );
  assert.throws(() => encodeIdentifyController({ sn: 5 as unknown as string }), TypeError);
  // 255 bytes of UTF-8 fit with the NUL.
  const long = encodeIdentifyController({ subnqn: "n".repeat(255) });
  assert.equal(decodeIdentifyController(long).subnqn.length, 255);
});

test("decodeIdentifyController() names the first field a short buffer cuts off", () => {
  assert.throws(
    () => decodeIdentifyController(new Uint8Array(100)),
    (e: unknown) =>
      e instanceof ProtocolFieldError && e.field === "RRLS" && e.offset === 100 &&
      e.message === "Reject Identify Controller data: need 4096 bytes, received 100",
  );
  assert.throws(
    () => decodeIdentifyController(new Uint8Array(0)),
    (e: unknown) => e instanceof ProtocolFieldError && e.field === "VID" && e.offset === 0,
  );
  assert.throws(
    () => decodeIdentifyController(new Uint8Array(4095)),
    (e: unknown) => e instanceof ProtocolFieldError && e.field === "VS" && e.offset === 3072,
  );
});

test("decodeIdentifyController() rejects a SUBNQN without NUL or not UTF-8", () => {
  const bytes = new Uint8Array(4096);
  bytes.fill(0x61, 768, 1024);
  assert.throws(
    () => decodeIdentifyController(bytes),
    (e: unknown) =>
      e instanceof ProtocolFieldError && e.field === "SUBNQN" && e.offset === 768 &&
      /no NUL within 256 bytes/.test(e.message),
  );
  bytes.fill(0, 768, 1024);
  bytes.set([0x6e, 0xc3, 0x28], 768); // a broken two-byte sequence
  assert.throws(
    () => decodeIdentifyController(bytes),
    (e: unknown) =>
      e instanceof ProtocolFieldError && e.field === "SUBNQN" && /UTF-8/.test(e.message),
  );
});

test("decodeIdentifyController() reads only the first 4096 bytes of a larger view", () => {
  const big = new Uint8Array(8192).fill(0x41);
  big.set(encodeIdentifyController({ mn: "M" }), 100);
  const id = decodeIdentifyController(big.subarray(100));
  assert.equal(id.mn, "M");
  assert.equal(id.sn, "");
});

test("encodeIdentifyNamespace() and decode keep every field apart", () => {
  const zero = decodeIdentifyNamespace(new Uint8Array(4096));
  const ns: IdentifyNamespace = distinct(zero, {});
  ns.nsze = 0xffff_ffff_ffff_fff0n;
  ns.nvmcap = (1n << 100n) + 1n;
  ns.lbaf = Array.from({ length: 64 }, (_, i) => ({ ms: i * 8, lbads: 9 + (i % 4), rp: i % 4 }));
  const bytes = encodeIdentifyNamespace(ns);
  assert.deepEqual(decodeIdentifyNamespace(bytes), ns);
  const view = new DataView(bytes.buffer);
  assert.equal(view.getBigUint64(0, true), 0xffff_ffff_ffff_fff0n);
  assert.equal(view.getUint32(IdentifyNamespaceOffset.anagrpid, true), ns.anagrpid);
  assert.equal(view.getUint16(128 + 63 * 4, true), 63 * 8); // LBAF63.MS
  assert.equal(bytes[128 + 63 * 4 + 2], 12); // LBAF63.LBADS
  assert.equal(bytes[128 + 63 * 4 + 3], 3); // LBAF63.RP
  assert.deepEqual(bytes.subarray(384), new Uint8Array(3712).fill(ns.vs[0]));
});

test("encodeIdentifyNamespace() rejects bad LBA formats and sizes", () => {
  assert.throws(() => encodeIdentifyNamespace({ lbaf: [{ ms: 0, lbads: 9, rp: 4 }] }), RangeError);
  assert.throws(
    () =>
      encodeIdentifyNamespace({
        lbaf: Array.from({ length: 65 }, () => ({ ms: 0, lbads: 9, rp: 0 })),
      }),
    RangeError,
  );
  assert.throws(() => encodeIdentifyNamespace({ nsze: 1n << 64n }), RangeError);
  assert.throws(() => encodeIdentifyNamespace({ eui64: new Uint8Array(16) }), RangeError);
  assert.throws(
    () => decodeIdentifyNamespace(new Uint8Array(130)),
    (e: unknown) => e instanceof ProtocolFieldError && e.field === "LBAF" && e.offset === 128,
  );
});

test("lbaFormatIndex() joins FLBAS bits 3:0 and 6:5, ignoring bit 4", () => {
  assert.equal(lbaFormatIndex({ flbas: 0x00 }), 0);
  assert.equal(lbaFormatIndex({ flbas: 0x0f }), 15);
  assert.equal(lbaFormatIndex({ flbas: 0x10 }), 0);
  assert.equal(lbaFormatIndex({ flbas: 0x22 }), 0x12);
  assert.equal(lbaFormatIndex({ flbas: 0x62 }), 0x32);
  assert.equal(lbaFormatIndex({ flbas: 0xff }), 0x3f);
});

test("blockSize() follows FLBAS and rejects unusable formats", () => {
  const lbaf = Array.from({ length: 64 }, () => ({ ms: 0, lbads: 0, rp: 0 }));
  lbaf[0].lbads = 9;
  lbaf[17].lbads = 12;
  assert.equal(blockSize({ flbas: 0, nlbaf: 17, lbaf }), 512);
  assert.equal(blockSize({ flbas: 0x21, nlbaf: 17, lbaf }), 4096);
  assert.throws(
    () => blockSize({ flbas: 0x21, nlbaf: 16, lbaf }),
    (e: unknown) => e instanceof ProtocolFieldError && e.field === "FLBAS" && e.offset === 26,
  );
  assert.throws(
    () => blockSize({ flbas: 2, nlbaf: 17, lbaf }),
    (e: unknown) =>
      e instanceof ProtocolFieldError && e.field === "LBAF2.LBADS" && e.offset === 128 + 8 + 2,
  );
  // An inactive namespace reads as all zeros: no usable format.
  assert.throws(() => blockSize(decodeIdentifyNamespace(new Uint8Array(4096))), ProtocolFieldError);
});

// ---------------------------------------------------------------------------------------------
// Namespace identification descriptors and namespace lists

test("decodeNsIdDescriptors() keeps unknown types and stops at NIDT 0", () => {
  const bytes = new Uint8Array(64);
  bytes.set([0x80, 3, 0, 0, 1, 2, 3], 0); // vendor type, 3 bytes
  bytes.set([NsIdType.EUI64, 8, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], 7);
  bytes.set([0, 9, 9, 9, 9], 19); // end of list; what follows is ignored
  assert.deepEqual(decodeNsIdDescriptors(bytes), [
    { nidt: 0x80, nid: Uint8Array.of(1, 2, 3) },
    { nidt: NsIdType.EUI64, nid: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) },
  ]);
  assert.deepEqual(decodeNsIdDescriptors(new Uint8Array(4096)), []);
  assert.deepEqual(decodeNsIdDescriptors(new Uint8Array(0)), []);
});

test("decodeNsIdDescriptors() rejects a wrong NIDL for each known type", () => {
  for (const [nidt, good] of [[1, 8], [2, 16], [3, 16], [4, 1]]) {
    const bytes = new Uint8Array(64);
    bytes.set([NsIdType.CSI, 1, 0, 0, 0], 0);
    bytes.set([nidt, good + 1], 5);
    assert.throws(
      () => decodeNsIdDescriptors(bytes),
      (e: unknown) =>
        e instanceof ProtocolFieldError && e.field === "NIDL" && e.offset === 6 &&
        e.message === `Reject NIDL: type ${nidt} at byte 5 needs ${good}, received ${good + 1}`,
    );
  }
});

test("decodeNsIdDescriptors() rejects descriptors cut off by the end of the list", () => {
  // NID runs past the end.
  assert.throws(
    () => decodeNsIdDescriptors(Uint8Array.of(NsIdType.NGUID, 16, 0, 0, 1, 2, 3)),
    (e: unknown) => e instanceof ProtocolFieldError && e.field === "NIDL" && e.offset === 1,
  );
  // Header cut off after the type byte.
  assert.throws(
    () => decodeNsIdDescriptors(Uint8Array.of(NsIdType.CSI, 1, 0, 0, 0, 0x80, 2)),
    (e: unknown) => e instanceof ProtocolFieldError && e.field === "NIDL" && e.offset === 6,
  );
});

test("encodeNsIdDescriptors() writes back to back and validates", () => {
  const uuid = new Uint8Array(16).fill(0xaa);
  const bytes = encodeNsIdDescriptors([
    { nidt: NsIdType.UUID, nid: uuid },
    { nidt: NsIdType.CSI, nid: Uint8Array.of(2) },
  ]);
  assert.equal(bytes.length, 4096);
  assert.deepEqual(bytes.subarray(0, 4), Uint8Array.of(3, 16, 0, 0));
  assert.deepEqual(bytes.subarray(20, 25), Uint8Array.of(4, 1, 0, 0, 2));
  assert.ok(bytes.subarray(25).every((b) => b === 0));
  assert.throws(() => encodeNsIdDescriptors([{ nidt: 0, nid: new Uint8Array(1) }]), RangeError);
  assert.throws(() => encodeNsIdDescriptors([{ nidt: 256, nid: new Uint8Array(1) }]), RangeError);
  assert.throws(() => encodeNsIdDescriptors([{ nidt: NsIdType.EUI64, nid: uuid }]), RangeError);
  assert.throws(
    () => encodeNsIdDescriptors([{ nidt: 0x90, nid: new Uint8Array(256) }]),
    RangeError,
  );
  const many = Array.from({ length: 204 }, () => ({ nidt: NsIdType.NGUID, nid: uuid }));
  assert.equal(encodeNsIdDescriptors(many)[203 * 20], NsIdType.NGUID); // 4080 bytes fit
  many.push({ nidt: NsIdType.NGUID, nid: uuid });
  assert.throws(() => encodeNsIdDescriptors(many), RangeError);
});

test("decodeNsIdList() stops at the first 0 and checks the length", () => {
  const bytes = encodeNsIdList([1, 2, 0xfffffffe]);
  assert.deepEqual(decodeNsIdList(bytes), [1, 2, 0xfffffffe]);
  const full = encodeNsIdList(Array.from({ length: 1024 }, (_, i) => i + 1));
  assert.equal(decodeNsIdList(full).length, 1024);
  assert.deepEqual(decodeNsIdList(Uint8Array.of(5, 0, 0, 0)), [5]);
  assert.throws(
    () => decodeNsIdList(new Uint8Array(6)),
    (e: unknown) => e instanceof ProtocolFieldError && e.field === "NSID" && e.offset === 4,
  );
});

test("encodeNsIdList() rejects too many or invalid NSIDs", () => {
  assert.throws(() => encodeNsIdList(Array.from({ length: 1025 }, (_, i) => i + 1)), RangeError);
  assert.throws(() => encodeNsIdList([0]), RangeError);
  assert.throws(() => encodeNsIdList([0xffffffff]), RangeError);
  assert.throws(() => encodeNsIdList([1.5]), RangeError);
  assert.throws(() => encodeNsIdList([1], new Uint8Array(100)), RangeError);
});

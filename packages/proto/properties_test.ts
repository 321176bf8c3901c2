import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  CapCss,
  PDU_COMMON_HEADER_SIZE,
  PduType,
  Property,
  ShutdownNotification,
  ShutdownStatus,
} from "./constants.ts";
import {
  type Cap,
  capTimeoutMs,
  type Cc,
  type Csts,
  decodeCap,
  decodeCc,
  decodeCsts,
  decodeVs,
  encodeCap,
  encodeCc,
  encodeCsts,
  encodeVs,
  propertyAttribSize,
  propertySize,
} from "./properties.ts";

// --- test-local NVMe/TCP stream walker and Property Get/Set pairing --------------------------

const FIXTURES = new URL("../../../shared/fixtures/", import.meta.url);

function capsules(name: string, type: number, size: number): Uint8Array[] {
  const stream = new Uint8Array(readFileSync(new URL(name, FIXTURES)));
  const v = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at < stream.length;) {
    const plen = v.getUint32(at + 4, true);
    if (stream[at] === type) {
      out.push(stream.subarray(at + PDU_COMMON_HEADER_SIZE, at + PDU_COMMON_HEADER_SIZE + size));
    }
    at += plen;
  }
  return out;
}

interface Access {
  get: boolean;
  offset: number;
  value: bigint;
}

/** Property Get/Set of one connection, in order, with the value read or written. */
function propertyAccesses(conn: string): Access[] {
  const sqes = capsules(`linux-6.1-plain.${conn}.host-to-controller.bin`, PduType.CAPSULE_CMD, 64);
  const cqes = capsules(`linux-6.1-plain.${conn}.controller-to-host.bin`, PduType.CAPSULE_RESP, 16);
  const out: Access[] = [];
  for (const sqe of sqes) {
    const v = new DataView(sqe.buffer, sqe.byteOffset, 64);
    if (sqe[0] !== 0x7f || (sqe[4] !== 0x04 && sqe[4] !== 0x00)) continue;
    const cid = v.getUint16(2, true);
    const offset = v.getUint32(44, true);
    if (sqe[4] === 0x00) {
      out.push({ get: false, offset, value: v.getBigUint64(48, true) });
      continue;
    }
    const cqe = cqes.find((c) => (c[12] | (c[13] << 8)) === cid)!;
    const r = new DataView(cqe.buffer, cqe.byteOffset, 16);
    out.push({ get: true, offset, value: r.getBigUint64(0, true) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

test("the Linux admin queue bring-up reads and writes the properties we expect", () => {
  const acc = propertyAccesses("conn1");
  assert.deepEqual(
    acc.map((a) => [a.get ? "get" : "set", a.offset, a.value]),
    [
      ["get", Property.CAP, 0x000008200f0003ffn],
      ["set", Property.CC, 0x00460060n],
      ["get", Property.CC, 0x00460060n],
      ["get", Property.CAP, 0x000008200f0003ffn],
      ["set", Property.CC, 0x00460061n],
      ["get", Property.CSTS, 0x1n],
      ["get", Property.VS, 0x00010300n],
      ["set", Property.CC, 0x00464061n],
      ["get", Property.CSTS, 0x8n],
    ],
  );
});

test("decodeCap() reads the CAP of a Linux 6.1 target as nvmet_init_cap() builds it", () => {
  const [get] = propertyAccesses("conn1");
  const cap = decodeCap(get.value);
  // nvmet_init_cap(): CSS NVM (bit 37) + I/O command sets (bit 43), TO 15, MQES
  // NVMET_QUEUE_SIZE - 1 = 1023; everything else 0.
  assert.deepEqual(cap, {
    mqes: 1023,
    cqr: false,
    ams: 0,
    to: 15,
    dstrd: 0,
    nssrs: false,
    css: CapCss.NVM | CapCss.IO_COMMAND_SETS,
    bps: false,
    cps: 0,
    mpsmin: 0,
    mpsmax: 0,
    pmrs: false,
    cmbs: false,
    nsss: false,
    crms: 0,
  });
  assert.equal(encodeCap(cap), get.value);
  assert.equal(capTimeoutMs(cap), 7500);
  assert.equal(capTimeoutMs(get.value), 7500);
  // The discovery controller (conn0) reports the same CAP.
  assert.equal(propertyAccesses("conn0")[0].value, get.value);
});

test("decodeCc(), decodeCsts() and decodeVs() read the Linux bring-up and shutdown", () => {
  const acc = propertyAccesses("conn1");
  const [cc0, cc1, cc2] = acc.filter((a) => !a.get).map((a) => decodeCc(Number(a.value)));
  const base = { css: 6, mps: 0, ams: 0, iosqes: 6, iocqes: 4, crime: false };
  assert.deepEqual(cc0, { ...base, en: false, shn: ShutdownNotification.NONE });
  assert.deepEqual(cc1, { ...base, en: true, shn: ShutdownNotification.NONE });
  assert.deepEqual(cc2, { ...base, en: true, shn: ShutdownNotification.NORMAL });
  for (const a of acc.filter((a) => !a.get)) {
    assert.equal(BigInt(encodeCc(decodeCc(Number(a.value)))), a.value);
  }
  const csts = acc.filter((a) => a.get && a.offset === Property.CSTS).map((a) =>
    decodeCsts(Number(a.value))
  );
  const idle = { cfs: false, nssro: false, pp: false, st: false };
  assert.deepEqual(csts, [
    { ...idle, rdy: true, shst: ShutdownStatus.NORMAL },
    { ...idle, rdy: false, shst: ShutdownStatus.COMPLETE },
  ]);
  const vs = acc.find((a) => a.offset === Property.VS)!;
  assert.deepEqual(decodeVs(Number(vs.value)), { major: 1, minor: 3, tertiary: 0 });
  assert.equal(BigInt(encodeVs(decodeVs(Number(vs.value)))), vs.value);
});

// Each field alone at its largest value, and the bits it must occupy (Base Figure 36).
const CAP_FIELDS: [keyof Cap, number | boolean, bigint][] = [
  ["mqes", 0xffff, 0xffffn],
  ["cqr", true, 1n << 16n],
  ["ams", 3, 3n << 17n],
  ["to", 0xff, 0xffn << 24n],
  ["dstrd", 0xf, 0xfn << 32n],
  ["nssrs", true, 1n << 36n],
  ["css", 0xff, 0xffn << 37n],
  ["bps", true, 1n << 45n],
  ["cps", 3, 3n << 46n],
  ["mpsmin", 0xf, 0xfn << 48n],
  ["mpsmax", 0xf, 0xfn << 52n],
  ["pmrs", true, 1n << 56n],
  ["cmbs", true, 1n << 57n],
  ["nsss", true, 1n << 58n],
  ["crms", 3, 3n << 59n],
];

test("encodeCap() and decodeCap() place every CAP field at its bits", () => {
  let all = 0n;
  for (const [field, max, bits] of CAP_FIELDS) {
    assert.equal(encodeCap({ [field]: max }), bits, field);
    const cap = decodeCap(bits);
    assert.equal(cap[field], max, field);
    for (const [other] of CAP_FIELDS) {
      if (other !== field) assert.ok(!cap[other], `${field} leaks into ${other}`);
    }
    assert.equal(all & bits, 0n, `${field} overlaps`);
    all |= bits;
  }
  // Reserved bits 23:19 and 63:61 are dropped.
  assert.equal(all, 0x1fffffffff07ffffn);
  assert.equal(encodeCap(decodeCap(0xffffffffffffffffn)), all);
  assert.equal(encodeCap({}), 0n);
});

test("encodeCap() rejects fields that do not fit", () => {
  for (const [field, max] of CAP_FIELDS) {
    if (typeof max === "boolean") continue;
    assert.throws(() => encodeCap({ [field]: max + 1 }), RangeError, field);
    assert.throws(() => encodeCap({ [field]: -1 }), RangeError, field);
  }
});

const CC_FIELDS: [keyof Cc, number | boolean, number][] = [
  ["en", true, 0x1],
  ["css", 7, 0x70],
  ["mps", 0xf, 0x780],
  ["ams", 7, 0x3800],
  ["shn", 3, 0xc000],
  ["iosqes", 0xf, 0xf0000],
  ["iocqes", 0xf, 0xf00000],
  ["crime", true, 0x1000000],
];

test("encodeCc() and decodeCc() place every CC field at its bits", () => {
  let all = 0;
  for (const [field, max, bits] of CC_FIELDS) {
    assert.equal(encodeCc({ [field]: max }), bits, field);
    const cc = decodeCc(bits);
    assert.equal(cc[field], max, field);
    for (const [other] of CC_FIELDS) {
      if (other !== field) assert.ok(!cc[other], `${field} leaks into ${other}`);
    }
    all |= bits;
  }
  assert.equal(all, 0x1fffff1);
  assert.equal(encodeCc(decodeCc(0xffffffff)), 0x1fffff1);
  for (const [field, max] of CC_FIELDS) {
    if (typeof max !== "boolean") assert.throws(() => encodeCc({ [field]: max + 1 }), RangeError);
  }
});

const CSTS_FIELDS: [keyof Csts, number | boolean, number][] = [
  ["rdy", true, 0x1],
  ["cfs", true, 0x2],
  ["shst", 3, 0xc],
  ["nssro", true, 0x10],
  ["pp", true, 0x20],
  ["st", true, 0x40],
];

test("encodeCsts() and decodeCsts() place every CSTS field at its bits", () => {
  for (const [field, max, bits] of CSTS_FIELDS) {
    assert.equal(encodeCsts({ [field]: max }), bits, field);
    const csts = decodeCsts(bits);
    assert.equal(csts[field], max, field);
    for (const [other] of CSTS_FIELDS) {
      if (other !== field) assert.ok(!csts[other], `${field} leaks into ${other}`);
    }
  }
  assert.equal(encodeCsts(decodeCsts(0xffffffff)), 0x7f);
  assert.throws(() => encodeCsts({ shst: 4 }), RangeError);
});

test("encodeVs() and decodeVs() place MJR, MNR and TER", () => {
  assert.equal(encodeVs({ major: 1, minor: 4, tertiary: 0 }), 0x00010400);
  assert.equal(encodeVs({ major: 0xffff, minor: 0xff, tertiary: 0xff }), 0xffffffff);
  assert.deepEqual(decodeVs(0x00020001), { major: 2, minor: 0, tertiary: 1 });
  assert.deepEqual(decodeVs(0xffffffff), { major: 0xffff, minor: 0xff, tertiary: 0xff });
  assert.throws(() => encodeVs({ major: 0x10000 }), RangeError);
  assert.throws(() => encodeVs({ minor: 0x100 }), RangeError);
  assert.throws(() => encodeVs({ tertiary: -1 }), RangeError);
});

test("propertySize() knows the size of every defined property and nothing else", () => {
  const sizes = new Map<number, number>([
    [0x00, 8],
    [0x08, 4],
    [0x0c, 4],
    [0x10, 4],
    [0x14, 4],
    [0x1c, 4],
    [0x20, 4],
    [0x24, 4],
    [0x28, 8],
    [0x30, 8],
  ]);
  for (let offset = 0; offset < 0x1000; offset++) {
    assert.equal(propertySize(offset), sizes.get(offset), `offset ${offset}`);
  }
});

test("propertyAttribSize() maps 4 and 8 bytes to ATTRIB 0 and 1", () => {
  assert.equal(propertyAttribSize(4), 0);
  assert.equal(propertyAttribSize(8), 1);
  assert.throws(() => propertyAttribSize(2), RangeError);
});

test("capTimeoutMs() counts TO in 500 ms units", () => {
  assert.equal(capTimeoutMs(0n), 0);
  assert.equal(capTimeoutMs(0xffn << 24n), 127500);
  assert.equal(capTimeoutMs(decodeCap(1n << 24n)), 500);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PDU_COMMON_HEADER_SIZE, PduType, SglSubtype, SglType } from "./constants.ts";
import {
  decodeSgl,
  decodeSqe,
  encodeSgl,
  encodeSqe,
  inCapsuleSgl,
  isInCapsuleSgl,
  isTransportSgl,
  setSqeCdw,
  setSqeCid,
  setSqePsdt,
  setSqeSgl,
  SGL_ADDRESS,
  SGL_IDENTIFIER,
  SGL_LENGTH,
  sglIdentifier,
  SQE_CDW10,
  SQE_CDW11,
  SQE_CDW12,
  SQE_CDW13,
  SQE_CDW14,
  SQE_CDW15,
  SQE_CDW2,
  SQE_CDW3,
  SQE_CID,
  SQE_DPTR,
  SQE_FLAGS,
  SQE_MPTR,
  SQE_NSID,
  SQE_OPCODE,
  sqeCdw,
  sqeCid,
  sqeFuse,
  sqeNsid,
  sqeOpcode,
  sqePsdt,
  sqeSglAddress,
  sqeSglLength,
  sqeSglType,
  transportSgl,
} from "./sqe.ts";

// --- test-local NVMe/TCP stream walker: 8-byte common header, PLEN at 4 ----------------------

const FIXTURES = new URL("../../../shared/fixtures/", import.meta.url);

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

interface Pdu {
  type: number;
  pdo: number;
  at: number;
  bytes: Uint8Array;
}

function pdus(stream: Uint8Array): Pdu[] {
  const v = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const out: Pdu[] = [];
  for (let at = 0; at < stream.length;) {
    const plen = v.getUint32(at + 4, true);
    out.push({ type: stream[at], pdo: stream[at + 3], at, bytes: stream.subarray(at, at + plen) });
    at += plen;
  }
  return out;
}

function sqes(name: string): Uint8Array[] {
  return pdus(fixture(name))
    .filter((p) => p.type === PduType.CAPSULE_CMD)
    .map((p) => p.bytes.subarray(PDU_COMMON_HEADER_SIZE, PDU_COMMON_HEADER_SIZE + 64));
}

const STREAMS = [0, 1, 2].flatMap((n) =>
  ["plain", "digests"].map((k) => `linux-6.1-${k}.conn${n}.host-to-controller.bin`)
);

// Deterministic bytes for the any-64-bytes round trips.
function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x & 0xff;
  };
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------------------------------------

test("SQE offsets follow Base 4.2 Figure 88 and tile all 64 bytes", () => {
  assert.deepEqual(
    [SQE_OPCODE, SQE_FLAGS, SQE_CID, SQE_NSID, SQE_CDW2, SQE_CDW3, SQE_MPTR, SQE_DPTR],
    [0, 1, 2, 4, 8, 12, 16, 24],
  );
  assert.deepEqual(
    [SQE_CDW10, SQE_CDW11, SQE_CDW12, SQE_CDW13, SQE_CDW14, SQE_CDW15],
    [40, 44, 48, 52, 56, 60],
  );
  assert.deepEqual([SGL_ADDRESS, SGL_LENGTH, SGL_IDENTIFIER], [0, 8, 15]);
});

test("decodeSqe() reads the Linux host's Connect SQE field by field", () => {
  const connect = sqes("linux-6.1-plain.conn1.host-to-controller.bin")[0];
  assert.deepEqual(decodeSqe(connect), {
    opcode: 0x7f,
    fuse: 0,
    psdt: 1,
    cid: 0,
    nsid: 0x01, // FCTYPE 1 (Connect) sits in byte 4
    cdw2: 0,
    cdw3: 0,
    mptr: 0n,
    dptr: { type: SglType.DATA_BLOCK, subtype: SglSubtype.OFFSET, address: 0n, length: 1024 },
    cdw10: 0, // RECFMT 0, QID 0
    cdw11: 0x1f, // SQSIZE 31, CATTR 0
    cdw12: 5000, // KATO
    cdw13: 0,
    cdw14: 0,
    cdw15: 0,
  });
});

test("decodeSqe() reads Identify and Get Log Page SQEs of the Linux host", () => {
  const all = sqes("linux-6.1-plain.conn1.host-to-controller.bin");
  const identify = decodeSqe(all[8]);
  assert.equal(identify.opcode, 0x06);
  assert.equal(identify.cid, 0x16);
  assert.equal(identify.nsid, 0);
  assert.equal(identify.cdw10, 1); // CNS 1, Identify Controller
  assert.deepEqual(identify.dptr, transportSgl(4096));
  const log = decodeSqe(all[9]);
  assert.equal(log.opcode, 0x02);
  assert.equal(log.cid, 0x17);
  assert.equal(log.cdw10, 0x03ff0005); // LID 5, NUMDL 0x3ff: 4096 bytes
  const nsidAll = decodeSqe(all[10]);
  assert.equal(nsidAll.nsid, 0xffffffff);
  assert.equal(nsidAll.dptr.length, 0x2010);
});

test("encodeSqe(decodeSqe()) reproduces every SQE the Linux host sent, byte for byte", () => {
  let count = 0;
  for (const name of STREAMS) {
    for (const sqe of sqes(name)) {
      assert.equal(hex(encodeSqe(decodeSqe(sqe))), hex(sqe), name);
      count++;
    }
  }
  assert.equal(count, 2 * (16 + 28 + 13));
});

test("hot path accessors agree with decodeSqe() on every captured SQE", () => {
  for (const name of STREAMS) {
    for (const b of sqes(name)) {
      const s = decodeSqe(b);
      assert.equal(sqeOpcode(b), s.opcode);
      assert.equal(sqeCid(b), s.cid);
      assert.equal(sqeNsid(b), s.nsid);
      assert.equal(sqeFuse(b), s.fuse);
      assert.equal(sqePsdt(b), s.psdt);
      assert.equal(sqeSglType(b), (s.dptr.type << 4) | s.dptr.subtype);
      assert.equal(sqeSglType(b), sglIdentifier(s.dptr));
      assert.equal(sqeSglLength(b), s.dptr.length);
      assert.equal(sqeSglAddress(b), s.dptr.address);
      assert.deepEqual(
        [10, 11, 12, 13, 14, 15].map((n) => sqeCdw(b, n)),
        [s.cdw10, s.cdw11, s.cdw12, s.cdw13, s.cdw14, s.cdw15],
      );
    }
  }
});

test("encodeSqe(decodeSqe()) is byte exact for arbitrary 64 bytes, reserved bits included", () => {
  const next = prng(0x5eed);
  for (let i = 0; i < 500; i++) {
    const b = Uint8Array.from({ length: 64 }, next);
    assert.equal(hex(encodeSqe(decodeSqe(b))), hex(b));
  }
  const ones = new Uint8Array(64).fill(0xff);
  const s = decodeSqe(ones);
  assert.equal(s.flagsRsvd, 0x3c);
  assert.equal(s.dptr.rsvd, 0xffffff);
  assert.equal(s.mptr, 0xffffffffffffffffn);
  assert.equal(s.cdw15, 0xffffffff);
  assert.equal(hex(encodeSqe(s)), hex(ones));
});

test("decodeSqe() leaves out flagsRsvd and dptr.rsvd when they are zero", () => {
  const s = decodeSqe(encodeSqe({ opcode: 1, psdt: 1, dptr: inCapsuleSgl(8) }));
  assert.equal("flagsRsvd" in s, false);
  assert.equal("rsvd" in s.dptr, false);
});

test("decodeSqe() reads a subarray at a non-zero byteOffset", () => {
  const pdu = new Uint8Array(72 + 3);
  const sqe = pdu.subarray(8 + 3, 8 + 3 + 64);
  encodeSqe({ opcode: 0x02, cid: 0xabcd, nsid: 1, cdw10: 7, cdw12: 0x8000000f }, sqe);
  const s = decodeSqe(sqe);
  assert.equal(s.cid, 0xabcd);
  assert.equal(s.cdw12, 0x8000000f);
  assert.equal(pdu[11 + 2], 0xcd);
});

test("decodeSqe() throws a RangeError naming the length of a short buffer", () => {
  assert.throws(() => decodeSqe(new Uint8Array(63)), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /64 bytes: received 63/);
    return true;
  });
  assert.throws(() => decodeSqe(new Uint8Array(0)), RangeError);
});

test("accessors reject SQEs shorter than 64 bytes", () => {
  const short = new Uint8Array(40);
  for (
    const f of [
      () => sqeOpcode(short),
      () => sqeCid(short),
      () => sqeNsid(short),
      () => sqeFuse(short),
      () => sqePsdt(short),
      () => sqeSglType(short),
      () => sqeSglLength(short),
      () => sqeSglAddress(short),
      () => sqeCdw(short, 10),
      () => setSqeCid(short, 1),
      () => setSqePsdt(short, 1),
      () => setSqeSgl(short, transportSgl(0)),
      () => setSqeCdw(short, 10, 0),
    ]
  ) {
    assert.throws(f, RangeError);
  }
});

test("encodeSqe() zero-fills absent fields, writes into `into` and leaves bytes past 64", () => {
  const buf = new Uint8Array(80).fill(0xee);
  const out = encodeSqe({ opcode: 0x7f, cid: 5 }, buf);
  assert.equal(out, buf);
  assert.equal(hex(buf.subarray(0, 4)), "7f000500");
  assert.ok(buf.subarray(4, 64).every((x) => x === 0));
  assert.ok(buf.subarray(64).every((x) => x === 0xee));
  const fresh = encodeSqe({});
  assert.equal(fresh.length, 64);
  assert.ok(fresh.every((x) => x === 0));
});

test("encodeSqe() places FUSE in bits 1:0 and PSDT in bits 7:6 of byte 1", () => {
  assert.equal(encodeSqe({ fuse: 1 })[SQE_FLAGS], 0x01);
  assert.equal(encodeSqe({ fuse: 2, psdt: 1 })[SQE_FLAGS], 0x42);
  assert.equal(encodeSqe({ psdt: 2 })[SQE_FLAGS], 0x80);
  assert.equal(encodeSqe({ psdt: 1, flagsRsvd: 0x04 })[SQE_FLAGS], 0x44);
});

test("encodeSqe() rejects out-of-range fields with a RangeError", () => {
  const bad: Parameters<typeof encodeSqe>[0][] = [
    { opcode: 0x100 },
    { fuse: 4 },
    { psdt: 4 },
    { cid: 0x10000 },
    { cid: -1 },
    { nsid: 2 ** 32 },
    { cdw10: -1 },
    { cdw15: 1.5 },
    { mptr: 1n << 64n },
    { mptr: -1n },
    { flagsRsvd: 0x01 },
    { dptr: { type: 16, subtype: 0, address: 0n, length: 0 } },
    { dptr: { type: 0, subtype: 0, address: 0n, length: 2 ** 32 } },
    { dptr: { type: 0, subtype: 0, address: 1n << 64n, length: 0 } },
  ];
  for (const sqe of bad) {
    assert.throws(
      () => encodeSqe(sqe),
      RangeError,
      JSON.stringify(sqe, (_k, v) => typeof v === "bigint" ? String(v) : v),
    );
  }
  assert.throws(() => encodeSqe({}, new Uint8Array(63)), RangeError);
});

test("setSqeCid(), setSqePsdt(), setSqeCdw() and setSqeSgl() change only their own bytes", () => {
  const base = new Uint8Array(64).fill(0xa5);
  const b = base.slice();
  setSqeCid(b, 0x1234);
  assert.equal(hex(b.subarray(SQE_CID, SQE_CID + 2)), "3412");
  setSqePsdt(b, 1);
  assert.equal(b[SQE_FLAGS], 0x65); // bits 5:0 of 0xa5 kept
  assert.equal(sqePsdt(b), 1);
  setSqePsdt(b);
  assert.equal(sqePsdt(b), 1);
  setSqeCdw(b, 13, 0x01020304);
  assert.equal(hex(b.subarray(SQE_CDW13, SQE_CDW13 + 4)), "04030201");
  setSqeSgl(b, inCapsuleSgl(0x2000, 0x40));
  assert.equal(
    hex(b.subarray(SQE_DPTR, SQE_DPTR + 16)),
    "4000000000000000" + "00200000" + "000000" + "01",
  );
  const changed = [...b.keys()].filter((i) => b[i] !== base[i]);
  const allowed = new Set([
    SQE_CID,
    SQE_CID + 1,
    SQE_FLAGS,
    ...[0, 1, 2, 3].map((i) => SQE_CDW13 + i),
    ...Array.from({ length: 16 }, (_, i) => SQE_DPTR + i),
  ]);
  assert.ok(changed.every((i) => allowed.has(i)), `changed ${changed}`);
  assert.throws(() => setSqeCid(b, 0x10000), RangeError);
  assert.throws(() => setSqePsdt(b, 4), RangeError);
  assert.throws(() => setSqeCdw(b, 10, 2 ** 32), RangeError);
});

test("sqeCdw() only takes CDW10 to CDW15", () => {
  const b = new Uint8Array(64);
  assert.throws(() => sqeCdw(b, 9), RangeError);
  assert.throws(() => sqeCdw(b, 16), RangeError);
  assert.throws(() => setSqeCdw(b, 2, 0), RangeError);
  assert.equal(sqeCdw(b, 15), 0);
});

test("sqeSglAddress() reads all 64 bits", () => {
  const b = encodeSqe({ dptr: { type: 0, subtype: 0, address: 0xfedcba9876543210n, length: 1 } });
  assert.equal(sqeSglAddress(b), 0xfedcba9876543210n);
  assert.equal(hex(b.subarray(SQE_DPTR, SQE_DPTR + 8)), "1032547698badcfe");
});

test("inCapsuleSgl() and transportSgl() give identifiers 0x01 and 0x5a", () => {
  const ic = inCapsuleSgl(4096);
  assert.deepEqual(ic, { type: 0x0, subtype: 0x1, address: 0n, length: 4096 });
  assert.equal(sglIdentifier(ic), 0x01);
  assert.equal(inCapsuleSgl(512, 64).address, 64n);
  const t = transportSgl(65536);
  assert.deepEqual(t, { type: 0x5, subtype: 0xa, address: 0n, length: 65536 });
  assert.equal(sglIdentifier(t), 0x5a);
  assert.equal(isInCapsuleSgl(ic), true);
  assert.equal(isTransportSgl(ic), false);
  assert.equal(isInCapsuleSgl(t), false);
  assert.equal(isTransportSgl(t), true);
  assert.equal(isInCapsuleSgl({ type: 0, subtype: 0, address: 0n, length: 1 }), false);
  assert.equal(isTransportSgl({ type: 5, subtype: 0, address: 0n, length: 1 }), false);
});

test("the Linux host uses in-capsule SGLs for data it sends and transport SGLs otherwise", () => {
  const all = sqes("linux-6.1-plain.conn2.host-to-controller.bin").map(decodeSqe);
  const writes = all.filter((s) => s.opcode === 0x01);
  assert.deepEqual(
    writes.map((s) => [isInCapsuleSgl(s.dptr), s.dptr.length]),
    [[true, 4096], [true, 8192], [false, 65536], [false, 1048576]],
  );
  const reads = all.filter((s) => s.opcode === 0x02);
  // three 4 KiB reads of the kernel's partition scan, then the workload's read-backs
  assert.deepEqual(
    reads.map((s) => [isTransportSgl(s.dptr), s.dptr.length]),
    [[true, 4096], [true, 4096], [true, 4096], [true, 4096], [true, 8192], [true, 65536], [
      true,
      1048576,
    ]],
  );
});

test("decodeSgl() and encodeSgl() work at an offset and check room", () => {
  const b = new Uint8Array(40);
  encodeSgl({ type: 4, subtype: 0xf, address: 0x1122n, length: 0x33, rsvd: 0x445566 }, b, 20);
  assert.equal(hex(b.subarray(20, 36)), "2211000000000000" + "33000000" + "665544" + "4f");
  assert.deepEqual(decodeSgl(b, 20), {
    type: 4,
    subtype: 0xf,
    address: 0x1122n,
    length: 0x33,
    rsvd: 0x445566,
  });
  assert.throws(() => decodeSgl(b, 25), RangeError);
  assert.throws(() => encodeSgl(transportSgl(0), b, 25), RangeError);
  assert.throws(() => decodeSgl(new Uint8Array(15)), RangeError);
  assert.equal(encodeSgl(transportSgl(1)).length, 16);
});

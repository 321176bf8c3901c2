import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PDU_COMMON_HEADER_SIZE, PduType } from "./constants.ts";
import {
  CQE_CID,
  CQE_DW0,
  CQE_DW1,
  CQE_SQHD,
  CQE_SQID,
  CQE_STATUS,
  cqeCid,
  cqeDw0,
  cqeDw1,
  cqePhase,
  cqeSqhd,
  cqeSqid,
  cqeStatus,
  decodeCqe,
  encodeCqe,
  setCqeCid,
  setCqeDw0,
  setCqeDw1,
  setCqeSqhd,
  setCqeSqid,
  setCqeStatus,
} from "./cqe.ts";

// --- test-local NVMe/TCP stream walker: 8-byte common header, PLEN at 4 ----------------------

const FIXTURES = new URL("../../../shared/fixtures/", import.meta.url);

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

function cqes(name: string): Uint8Array[] {
  const stream = fixture(name);
  const v = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at < stream.length;) {
    const plen = v.getUint32(at + 4, true);
    if (stream[at] === PduType.CAPSULE_RESP) {
      out.push(stream.subarray(at + PDU_COMMON_HEADER_SIZE, at + PDU_COMMON_HEADER_SIZE + 16));
    }
    at += plen;
  }
  return out;
}

const STREAMS = [0, 1, 2].flatMap((n) =>
  ["plain", "digests"].map((k) => `linux-6.1-${k}.conn${n}.controller-to-host.bin`)
);

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------------------------------------

test("CQE offsets follow Base 4.6 Figure 92", () => {
  assert.deepEqual(
    [CQE_DW0, CQE_DW1, CQE_SQHD, CQE_SQID, CQE_CID, CQE_STATUS],
    [0, 4, 8, 10, 12, 14],
  );
});

test("decodeCqe() reads the Linux target's Connect and Property Get CAP responses", () => {
  const all = cqes("linux-6.1-plain.conn1.controller-to-host.bin");
  // Connect: CNTLID 1 in DW0, SQHD 1 (the Connect itself), CID 0.
  assert.deepEqual(decodeCqe(all[0]), { dw0: 1, dw1: 0, sqhd: 1, sqid: 0, cid: 0, status: 0 });
  // Property Get CAP, CID 1: the 64-bit value in DW0 and DW1.
  assert.deepEqual(decodeCqe(all[1]), {
    dw0: 0x0f0003ff,
    dw1: 0x00000820,
    sqhd: 2,
    sqid: 0,
    cid: 1,
    status: 0,
  });
  // The I/O queue's Connect response names SQID 1.
  const io = cqes("linux-6.1-plain.conn2.controller-to-host.bin");
  assert.deepEqual(decodeCqe(io[0]), { dw0: 1, dw1: 0, sqhd: 1, sqid: 1, cid: 0, status: 0 });
});

test("decodeCqe() reads the failed AER completion at the end of the admin queue", () => {
  const all = cqes("linux-6.1-plain.conn1.controller-to-host.bin");
  const last = decodeCqe(all[all.length - 1]);
  assert.equal(last.cid, 0x1f);
  // nvmet_async_events_failall(): NVME_SC_INTERNAL | NVME_SC_DNR
  assert.equal(last.status, 0x800c);
});

test("encodeCqe(decodeCqe()) reproduces every CQE the Linux target sent, byte for byte", () => {
  let count = 0;
  for (const name of STREAMS) {
    for (const b of cqes(name)) {
      assert.equal(hex(encodeCqe(decodeCqe(b))), hex(b), name);
      count++;
    }
  }
  assert.equal(count, 2 * (16 + 28 + 13));
});

test("accessors agree with decodeCqe() on every captured CQE", () => {
  for (const name of STREAMS) {
    for (const b of cqes(name)) {
      const c = decodeCqe(b);
      assert.deepEqual(
        [cqeDw0(b), cqeDw1(b), cqeSqhd(b), cqeSqid(b), cqeCid(b), cqeStatus(b), cqePhase(b)],
        [c.dw0, c.dw1, c.sqhd, c.sqid, c.cid, c.status, c.status & 1],
      );
    }
  }
});

test("encodeCqe(decodeCqe()) is byte exact for arbitrary 16 bytes", () => {
  let x = 0x12345678;
  for (let i = 0; i < 500; i++) {
    const b = Uint8Array.from({ length: 16 }, () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x >>> 24;
    });
    assert.equal(hex(encodeCqe(decodeCqe(b))), hex(b));
  }
  const ones = new Uint8Array(16).fill(0xff);
  assert.deepEqual(decodeCqe(ones), {
    dw0: 0xffffffff,
    dw1: 0xffffffff,
    sqhd: 0xffff,
    sqid: 0xffff,
    cid: 0xffff,
    status: 0xffff,
  });
});

test("decodeCqe() and the accessors reject a CQE shorter than 16 bytes", () => {
  const short = new Uint8Array(15);
  assert.throws(() => decodeCqe(short), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /16 bytes: received 15/);
    return true;
  });
  for (
    const f of [
      () => cqeDw0(short),
      () => cqeDw1(short),
      () => cqeSqhd(short),
      () => cqeSqid(short),
      () => cqeCid(short),
      () => cqeStatus(short),
      () => cqePhase(short),
      () => setCqeDw0(short, 0),
      () => setCqeDw1(short, 0),
      () => setCqeSqhd(short, 0),
      () => setCqeSqid(short, 0),
      () => setCqeCid(short, 0),
      () => setCqeStatus(short, 0),
      () => encodeCqe({}, short),
    ]
  ) {
    assert.throws(f, RangeError);
  }
});

test("encodeCqe() zero-fills absent fields and writes into a subarray", () => {
  const buf = new Uint8Array(24 + 4).fill(0xee);
  const cqe = buf.subarray(8, 24);
  assert.equal(encodeCqe({ cid: 0x3001, status: 0x8004 }, cqe), cqe);
  assert.equal(
    hex(buf),
    "eeeeeeeeeeeeeeee" + "0000000000000000" + "0000" + "0000" + "0130" + "0480" + "eeeeeeee",
  );
  assert.equal(hex(encodeCqe({})), "00".repeat(16));
});

test("encodeCqe() and the setters reject out-of-range values", () => {
  for (
    const c of [
      { dw0: 2 ** 32 },
      { dw1: -1 },
      { sqhd: 0x10000 },
      { sqid: 0x10000 },
      { cid: 0x10000 },
      { status: 0x10000 },
      { cid: 0.5 },
    ]
  ) {
    assert.throws(() => encodeCqe(c), RangeError, JSON.stringify(c));
  }
  const b = new Uint8Array(16);
  assert.throws(() => setCqeSqhd(b, 0x10000), RangeError);
  assert.throws(() => setCqeCid(b, -1), RangeError);
  assert.throws(() => setCqeDw0(b, 2 ** 32), RangeError);
  assert.throws(() => setCqeStatus(b, 0x10000), RangeError);
});

test("setters write little-endian fields in place and nothing else", () => {
  const b = new Uint8Array(16);
  setCqeDw0(b, 0x04030201);
  setCqeDw1(b, 0x08070605);
  setCqeSqhd(b, 0x0a09);
  setCqeSqid(b, 0x0c0b);
  setCqeCid(b, 0x0e0d);
  setCqeStatus(b, 0x100f);
  assert.equal(hex(b), "0102030405060708090a0b0c0d0e0f10");
  setCqeSqhd(b, 0);
  assert.equal(hex(b), "01020304050607080000" + "0b0c0d0e0f10");
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { Fes, PduFlags, PduType } from "./constants.ts";
import { crc32c } from "./crc32c.ts";
import { ProtocolFieldError } from "./errors.ts";
import {
  type CapsuleCmd,
  type CapsuleResp,
  CH_FLAGS,
  CH_HLEN,
  CH_PDO,
  CH_PLEN,
  CH_TYPE,
  checkPduHeader,
  type CommonHeader,
  DataDigestError,
  type DataPdu,
  decodePdu,
  encodePdu,
  expectedHlen,
  fesName,
  formatTermReq,
  type IcReq,
  type IcResp,
  type Pdu,
  pduDataLength,
  pduDataOffset,
  PduError,
  pduLength,
  type PduLimits,
  type PduOptions,
  pduTypeName,
  type R2t,
  readCommonHeader,
  type TermReq,
  writeCapsuleCmdHeader,
  writeCapsuleResp,
  writeCommonHeader,
  writeDataHeader,
  writeR2t,
} from "./tcp_pdu.ts";

const NONE: PduOptions = { hdgst: false, ddgst: false, pda: 0 };
const BOTH: PduOptions = { hdgst: true, ddgst: true, pda: 0 };
const INVALID = Fes.INVALID_PDU_HEADER_FIELD;

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17) & 0xff;
  return b;
}

function sqe(cid: number): Uint8Array {
  const b = pattern(64, 3);
  b[2] = cid & 0xff;
  b[3] = cid >> 8;
  return b;
}

const icreq: IcReq = {
  type: PduType.IC_REQ,
  pfv: 0,
  hpda: 2,
  hdgst: true,
  ddgst: false,
  maxr2t: 3,
};
const icresp: IcResp = {
  type: PduType.IC_RESP,
  pfv: 0,
  cpda: 1,
  hdgst: false,
  ddgst: true,
  maxh2cdata: 131072,
};
const termreq: TermReq = {
  type: PduType.C2H_TERM_REQ,
  fes: Fes.HEADER_DIGEST_ERROR,
  fei: 0x11223344,
  data: pattern(28),
};
const cmd: CapsuleCmd = { type: PduType.CAPSULE_CMD, sqe: sqe(0x1234) };
const cmdData: CapsuleCmd = { type: PduType.CAPSULE_CMD, sqe: sqe(0x0102), data: pattern(512) };
const resp: CapsuleResp = { type: PduType.CAPSULE_RESP, cqe: pattern(16, 5) };
const c2h: DataPdu = {
  type: PduType.C2H_DATA,
  cccid: 0x0102,
  ttag: 0,
  datao: 4096,
  datal: 100,
  last: true,
  success: true,
  data: pattern(100, 9),
};
const h2c: DataPdu = {
  type: PduType.H2C_DATA,
  cccid: 7,
  ttag: 0xbeef,
  datao: 8192,
  datal: 36,
  last: false,
  success: false,
  data: pattern(36, 4),
};
const r2t: R2t = { type: PduType.R2T, cccid: 9, ttag: 3, r2to: 65536, r2tl: 1048576 };

const ALL: Pdu[] = [icreq, icresp, termreq, cmd, cmdData, resp, c2h, h2c, r2t];

function u32(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
}

function setU32(b: Uint8Array, at: number, v: number): Uint8Array {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v, true);
  return b;
}

function header(b: Uint8Array): CommonHeader {
  const ch: CommonHeader = { pduType: 0, flags: 0, hlen: 0, pdo: 0, plen: 0 };
  readCommonHeader(new DataView(b.buffer, b.byteOffset, b.byteLength), 0, ch);
  return ch;
}

function ch(pduType: number, flags: number, hlen: number, pdo: number, plen: number) {
  return { pduType, flags, hlen, pdo, plen };
}

function limits(role: "host" | "controller", over: Partial<PduLimits> = {}): PduLimits {
  return { role, hdgst: false, ddgst: false, rxpda: 0, maxDataLength: 1 << 20, fei: 0, ...over };
}

function throwsPdu(fn: () => unknown, fes: number, field: string, offset: number): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PduError, `expected PduError, got ${e}`);
    assert.ok(e instanceof ProtocolFieldError);
    assert.ok(e instanceof SyntaxError);
    assert.deepEqual(
      { fes: e.fes, field: e.field, offset: e.offset, fei: e.fei },
      { fes, field, offset, fei: offset },
      e.message,
    );
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Layout

test("pduDataOffset() puts data after header and digest, aligned to (PDA + 1) * 4", () => {
  assert.equal(pduDataOffset(72, false, 0), 72);
  assert.equal(pduDataOffset(72, true, 0), 76);
  assert.equal(pduDataOffset(24, true, 0), 28);
  assert.equal(pduDataOffset(72, true, 1), 80);
  assert.equal(pduDataOffset(72, false, 3), 80);
  assert.equal(pduDataOffset(24, true, 7), 32);
  assert.equal(pduDataOffset(72, true, 31), 128);
  assert.throws(() => pduDataOffset(24, false, 32), RangeError);
  assert.throws(() => pduDataOffset(24, false, -1), RangeError);
  assert.throws(() => pduDataOffset(24, false, 1.5), RangeError);
});

test("pduLength() counts padding and data digest only when there is data", () => {
  assert.equal(pduLength(24, 0, BOTH), 28);
  assert.equal(pduLength(24, 0, NONE), 24);
  assert.equal(pduLength(72, 1024, NONE), 1096);
  assert.equal(pduLength(72, 1024, BOTH), 72 + 4 + 1024 + 4);
  assert.equal(pduLength(24, 10, { hdgst: true, ddgst: false, pda: 7 }), 32 + 10);
});

test("expectedHlen() gives each type's HLEN and 0 for unknown types", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xff].map(expectedHlen),
    [128, 128, 24, 24, 72, 24, 24, 24, 0, 24, 0, 0],
  );
});

test("pduTypeName(), fesName() and formatTermReq() describe what they get", () => {
  assert.equal(pduTypeName(PduType.R2T), "R2T");
  assert.equal(pduTypeName(PduType.H2C_TERM_REQ), "H2CTermReq");
  assert.equal(pduTypeName(0x08), "type 0x08");
  assert.equal(fesName(Fes.INVALID_PDU_HEADER_FIELD), "Invalid PDU header field");
  assert.equal(fesName(Fes.DATA_TRANSFER_LIMIT_EXCEEDED), "Data transfer limit exceeded");
  assert.equal(fesName(0x07), "Reserved FES 0x07");
  assert.equal(
    formatTermReq(termreq),
    "C2HTermReq: Header digest error (FES 0x03), FEI 287454020, 28 bytes of PDU header",
  );
});

test("readCommonHeader() and writeCommonHeader() round trip at an offset", () => {
  const buf = new Uint8Array(20);
  const view = new DataView(buf.buffer, 4, 16);
  const h = ch(PduType.C2H_DATA, 0x0f, 24, 28, 0x01020304);
  writeCommonHeader(view, 2, h);
  assert.deepEqual([...buf.subarray(6, 14)], [7, 0x0f, 24, 28, 4, 3, 2, 1]);
  const out = ch(0, 0, 0, 0, 0);
  readCommonHeader(view, 2, out);
  assert.deepEqual(out, h);
});

// ---------------------------------------------------------------------------------------------
// Encoding

test("encodePdu() and decodePdu() round trip every PDU type with and without digests", () => {
  for (
    const opts of [NONE, BOTH, { hdgst: true, ddgst: false, pda: 0 }, {
      hdgst: false,
      ddgst: true,
      pda: 3,
    }]
  ) {
    for (const pdu of ALL) {
      const bytes = encodePdu(pdu, opts);
      assert.equal(u32(bytes, CH_PLEN), bytes.length);
      assert.deepEqual(decodePdu(bytes), pdu, `${pduTypeName(pdu.type)} ${JSON.stringify(opts)}`);
      assert.deepEqual(decodePdu(bytes, { hdgst: opts.hdgst, ddgst: opts.ddgst }), pdu);
    }
  }
});

test("encodePdu() lays out a CapsuleCmd with data as Linux does", () => {
  const b = encodePdu(cmdData, BOTH);
  assert.deepEqual([...b.subarray(0, 4)], [
    PduType.CAPSULE_CMD,
    PduFlags.HDGSTF | PduFlags.DDGSTF,
    72,
    76,
  ]);
  assert.equal(b.length, 72 + 4 + 512 + 4);
  assert.deepEqual(b.subarray(8, 72), cmdData.sqe);
  assert.equal(u32(b, 72), crc32c(b.subarray(0, 72)));
  assert.deepEqual(b.subarray(76, 588), cmdData.data);
  assert.equal(u32(b, 588), crc32c(cmdData.data!));
});

test("encodePdu() gives a PDU without data PDO 0 and no DDGSTF even with data digests", () => {
  const b = encodePdu(cmd, BOTH);
  assert.deepEqual([...b.subarray(0, 8)], [4, PduFlags.HDGSTF, 72, 0, 76, 0, 0, 0]);
  const r = encodePdu(r2t, BOTH);
  assert.deepEqual([...r.subarray(0, 8)], [9, PduFlags.HDGSTF, 24, 0, 28, 0, 0, 0]);
  assert.equal(r.length, 28);
});

test("encodePdu() zero-pads up to the PDA and keeps IC and TermReq PDUs digest-free", () => {
  const b = encodePdu(c2h, { hdgst: true, ddgst: true, pda: 31 });
  assert.equal(b[CH_PDO], 128);
  assert.ok(b.subarray(28, 128).every((x) => x === 0));
  assert.equal(b.length, 128 + 100 + 4);
  assert.equal(b[CH_FLAGS], 0x0f);
  for (const pdu of [icreq, icresp, termreq]) {
    const e = encodePdu(pdu, BOTH);
    assert.equal(e[CH_FLAGS], 0);
    assert.equal(e[CH_PDO], 0);
    assert.equal(e.length, pdu.type === PduType.C2H_TERM_REQ ? 24 + 28 : 128);
  }
});

test("encodePdu() writes into a given buffer at an offset and clears reserved bytes", () => {
  const into = new Uint8Array(600).fill(0xee);
  const out = encodePdu(icreq, NONE, into, 10);
  assert.equal(out.byteOffset, 10);
  assert.equal(out.length, 128);
  assert.deepEqual(out, encodePdu(icreq, NONE));
  assert.equal(into[9], 0xee);
  assert.equal(into[138], 0xee);
  const out2 = encodePdu(h2c, { hdgst: true, ddgst: true, pda: 3 }, into, 200);
  assert.deepEqual(out2, encodePdu(h2c, { hdgst: true, ddgst: true, pda: 3 }));
  assert.throws(() => encodePdu(icreq, NONE, into, 500), RangeError);
});

test("encodePdu() rejects out-of-range fields as RangeError", () => {
  assert.throws(() => encodePdu({ ...icreq, hpda: 32 }, NONE), RangeError);
  assert.throws(() => encodePdu({ ...r2t, cccid: 0x10000 }, NONE), RangeError);
  assert.throws(() => encodePdu({ ...c2h, datal: 99 }, NONE), RangeError);
  assert.throws(() => encodePdu({ ...h2c, success: true }, NONE), RangeError);
  assert.throws(() => encodePdu({ ...termreq, data: new Uint8Array(153) }, NONE), RangeError);
  assert.throws(() => encodePdu({ ...cmd, sqe: new Uint8Array(63) }, NONE), RangeError);
  assert.throws(() => encodePdu({ ...resp, cqe: new Uint8Array(17) }, NONE), RangeError);
  assert.throws(() => encodePdu(c2h, { hdgst: false, ddgst: false, pda: 40 }), RangeError);
});

test("header writers produce the same bytes as encodePdu()", () => {
  const opts: PduOptions = { hdgst: true, ddgst: true, pda: 3 };
  const ab = new ArrayBuffer(4096);
  const view = new DataView(ab, 100, 2000); // a window with a byteOffset
  const win = new Uint8Array(ab, 100, 2000).fill(0xaa);

  let n = writeCapsuleCmdHeader(view, 7, cmdData.sqe, 512, opts);
  let full = encodePdu(cmdData, opts);
  assert.equal(n, full[CH_PDO]);
  assert.deepEqual(win.subarray(7, 7 + n), full.subarray(0, n));

  n = writeCapsuleCmdHeader(view, 7, cmd.sqe, 0, opts);
  assert.deepEqual(win.subarray(7, 7 + n), encodePdu(cmd, opts));

  n = writeDataHeader(view, 300, c2h, opts);
  full = encodePdu(c2h, opts);
  assert.equal(n, 32);
  assert.deepEqual(win.subarray(300, 300 + n), full.subarray(0, n));

  n = writeCapsuleResp(view, 50, resp.cqe, opts);
  assert.deepEqual(win.subarray(50, 50 + n), encodePdu(resp, opts));

  n = writeR2t(view, 1000, r2t, opts);
  assert.deepEqual(win.subarray(1000, 1000 + n), encodePdu(r2t, opts));
  assert.equal(new Uint8Array(ab)[99], 0); // nothing written before the window
});

test("header writers refuse to write past the end of the view", () => {
  const ab = new ArrayBuffer(256);
  const view = new DataView(ab, 0, 80);
  assert.throws(
    () => writeCapsuleCmdHeader(view, 0, cmd.sqe, 10, { ...BOTH, pda: 31 }),
    RangeError,
  );
  assert.throws(() => writeCapsuleCmdHeader(view, 8, cmd.sqe, 10, BOTH), RangeError);
  assert.throws(() => writeR2t(view, 60, r2t, NONE), RangeError);
  assert.throws(() => writeCapsuleResp(view, -1, resp.cqe, NONE), RangeError);
  assert.throws(() => writeDataHeader(view, 70, c2h, NONE), RangeError);
  assert.ok(new Uint8Array(ab).subarray(80).every((x) => x === 0));
});

// ---------------------------------------------------------------------------------------------
// Decoding: well-formed input

test("decodePdu() returns views into the bytes, not copies", () => {
  const b = encodePdu(c2h, BOTH);
  const pdu = decodePdu(b) as DataPdu;
  assert.equal(pdu.data.buffer, b.buffer);
  assert.equal(pdu.data.byteOffset, 28);
  const c = decodePdu(encodePdu(cmdData, NONE)) as CapsuleCmd;
  assert.equal(c.sqe.byteOffset, 8);
  assert.equal(c.data!.byteOffset, 72);
});

test("decodePdu() ignores bytes after PLEN", () => {
  const b = encodePdu(resp, NONE);
  const longer = new Uint8Array(b.length + 9);
  longer.set(b);
  longer.fill(0x55, b.length);
  assert.deepEqual(decodePdu(longer), resp);
});

test("decodePdu() skips digest checks when verifyDigests is false", () => {
  const b = encodePdu(cmdData, BOTH);
  b[72] ^= 1; // header digest
  b[b.length - 1] ^= 1; // data digest
  assert.deepEqual(decodePdu(b, { verifyDigests: false }), cmdData);
});

// ---------------------------------------------------------------------------------------------
// Decoding: malformed input, field by field (lowest offset first)

test("decodePdu() rejects an unknown PDU type at offset 0", () => {
  for (const type of [0x08, 0x0a, 0x7f, 0xff]) {
    const b = encodePdu(resp, NONE);
    b[CH_TYPE] = type;
    throwsPdu(() => decodePdu(b), INVALID, "type", 0);
  }
});

test("decodePdu() rejects flags a PDU type lacks at offset 1", () => {
  const cases: [Pdu, number][] = [
    [resp, PduFlags.DDGSTF],
    [resp, PduFlags.LAST_PDU],
    [r2t, PduFlags.SUCCESS],
    [termreq, PduFlags.HDGSTF],
    [icreq, PduFlags.HDGSTF],
    [h2c, PduFlags.SUCCESS],
    [cmd, 0x10],
    [c2h, 0x80],
  ];
  for (const [pdu, flag] of cases) {
    const b = encodePdu(pdu, NONE);
    b[CH_FLAGS] |= flag;
    throwsPdu(() => decodePdu(b), INVALID, "flags", 1);
  }
});

test("decodePdu() rejects SUCCESS without LAST_PDU in C2HData", () => {
  const b = encodePdu({ ...c2h, last: true, success: true }, NONE);
  b[CH_FLAGS] &= ~PduFlags.LAST_PDU;
  throwsPdu(() => decodePdu(b), INVALID, "flags", 1);
});

test("decodePdu() rejects digest flags that disagree with the negotiated digests", () => {
  throwsPdu(() => decodePdu(encodePdu(resp, NONE), { hdgst: true }), INVALID, "flags", 1);
  throwsPdu(() => decodePdu(encodePdu(resp, BOTH), { hdgst: false }), INVALID, "flags", 1);
  throwsPdu(() => decodePdu(encodePdu(c2h, NONE), { ddgst: true }), INVALID, "flags", 1);
  throwsPdu(() => decodePdu(encodePdu(c2h, BOTH), { ddgst: false }), INVALID, "flags", 1);
  // A PDU without data carries no DDGSTF even with data digests on.
  assert.deepEqual(decodePdu(encodePdu(cmd, BOTH), { hdgst: true, ddgst: true }), cmd);
  const b = encodePdu(cmd, NONE);
  b[CH_FLAGS] |= PduFlags.DDGSTF;
  throwsPdu(() => decodePdu(b), INVALID, "flags", 1);
});

test("decodePdu() rejects an HLEN that is wrong for the type at offset 2", () => {
  for (const [pdu, hlen] of [[resp, 20], [cmd, 24], [r2t, 72], [icreq, 127]] as const) {
    const b = encodePdu(pdu, NONE);
    b[CH_HLEN] = hlen;
    throwsPdu(() => decodePdu(b), INVALID, "hlen", 2);
  }
});

test("decodePdu() rejects an inconsistent PDO at offset 3", () => {
  const noData = encodePdu(resp, NONE);
  noData[CH_PDO] = 24;
  throwsPdu(() => decodePdu(noData), INVALID, "pdo", 3);

  const inside = encodePdu(cmdData, BOTH);
  inside[CH_PDO] = 72; // before the header digest
  throwsPdu(() => decodePdu(inside), INVALID, "pdo", 3);

  const zero = encodePdu(c2h, NONE);
  zero[CH_PDO] = 0; // data present but PDO 0
  throwsPdu(() => decodePdu(zero), INVALID, "pdo", 3);

  const odd = encodePdu(h2c, NONE);
  odd[CH_PDO] = 26; // not dword aligned
  throwsPdu(() => decodePdu(odd), INVALID, "pdo", 3);

  const beyond = encodePdu(cmdData, NONE);
  setU32(beyond, CH_PLEN, 80);
  beyond[CH_PDO] = 84;
  throwsPdu(() => decodePdu(beyond), INVALID, "pdo", 3);

  const termPdo = encodePdu(termreq, NONE);
  termPdo[CH_PDO] = 24;
  throwsPdu(() => decodePdu(termPdo), INVALID, "pdo", 3);
});

test("decodePdu() rejects a PLEN that does not match header, digests and data at offset 4", () => {
  const short = encodePdu(resp, NONE);
  setU32(short, CH_PLEN, 8);
  throwsPdu(() => decodePdu(short), INVALID, "plen", 4);

  const noDigest = encodePdu(resp, BOTH);
  setU32(noDigest, CH_PLEN, 24); // HDGSTF but no room for the digest
  throwsPdu(() => decodePdu(noDigest), INVALID, "plen", 4);

  const respData = new Uint8Array(40);
  respData.set(encodePdu(resp, NONE));
  setU32(respData, CH_PLEN, 40);
  throwsPdu(() => decodePdu(respData), INVALID, "plen", 4);

  const r2tData = encodePdu(r2t, NONE);
  setU32(r2tData, CH_PLEN, 28);
  throwsPdu(() => decodePdu(new Uint8Array([...r2tData, 0, 0, 0, 0])), INVALID, "plen", 4);

  const ic = new Uint8Array(132);
  ic.set(encodePdu(icresp, NONE));
  setU32(ic, CH_PLEN, 132);
  throwsPdu(() => decodePdu(ic), INVALID, "plen", 4);

  const tiny = encodePdu({ ...c2h, datal: 4, data: pattern(4) }, BOTH);
  setU32(tiny, CH_PLEN, 28 + 4); // room for the digest only
  throwsPdu(() => decodePdu(tiny), INVALID, "plen", 4);
});

test("decodePdu() rejects a TermReq with more than 152 bytes of data", () => {
  const ok = encodePdu({ ...termreq, data: pattern(152) }, NONE);
  assert.equal((decodePdu(ok) as TermReq).data.length, 152);
  const big = new Uint8Array(24 + 153);
  big.set(ok);
  setU32(big, CH_PLEN, big.length);
  throwsPdu(() => decodePdu(big), INVALID, "plen", 4);
});

test("decodePdu() reports the lowest incorrect field first", () => {
  const b = encodePdu(resp, NONE);
  b[CH_FLAGS] = PduFlags.LAST_PDU;
  b[CH_HLEN] = 30;
  b[CH_PDO] = 4;
  setU32(b, CH_PLEN, 3);
  throwsPdu(() => decodePdu(b), INVALID, "flags", 1);
  b[CH_FLAGS] = 0;
  throwsPdu(() => decodePdu(b), INVALID, "hlen", 2);
  b[CH_HLEN] = 24;
  throwsPdu(() => decodePdu(b), INVALID, "pdo", 3);
  b[CH_PDO] = 0;
  throwsPdu(() => decodePdu(b), INVALID, "plen", 4);
});

test("decodePdu() rejects truncated PDUs without reading past the bytes", () => {
  throwsPdu(() => decodePdu(new Uint8Array(0)), INVALID, "plen", 4);
  throwsPdu(() => decodePdu(Uint8Array.of(5, 0, 24, 0, 24)), INVALID, "plen", 4);
  const b = encodePdu(cmdData, BOTH);
  for (const cut of [8, 20, 72, 76, 300, b.length - 1]) {
    throwsPdu(() => decodePdu(b.subarray(0, cut)), INVALID, "plen", 4);
  }
});

test("decodePdu() rejects a huge PLEN as truncated, before touching any data", () => {
  const b = encodePdu(c2h, NONE).subarray(0, 40);
  setU32(b, CH_PLEN, 0xffffffff);
  setU32(b, 16, 0xffffffff - 24);
  throwsPdu(() => decodePdu(b), INVALID, "plen", 4);
  const cap = encodePdu(cmdData, NONE).subarray(0, 80);
  setU32(cap, CH_PLEN, 0xfffffff0);
  throwsPdu(() => decodePdu(cap), INVALID, "plen", 4);
});

test("decodePdu() rejects a wrong header digest with FES 0x03 at HLEN", () => {
  for (const pdu of [cmdData, resp, c2h, r2t]) {
    const b = encodePdu(pdu, BOTH);
    const hlen = b[CH_HLEN];
    b[CH_HLEN + 9] ^= 0x40; // a PSH byte, covered by the digest
    throwsPdu(() => decodePdu(b), Fes.HEADER_DIGEST_ERROR, "hdgst", hlen);
    const d = encodePdu(pdu, BOTH);
    d[hlen + 2] ^= 1; // the digest itself
    throwsPdu(() => decodePdu(d), Fes.HEADER_DIGEST_ERROR, "hdgst", hlen);
  }
});

test("decodePdu() throws DataDigestError, not PduError, for a wrong data digest", () => {
  const b = encodePdu(c2h, BOTH);
  b[40] ^= 0xff;
  assert.throws(() => decodePdu(b), (e: unknown) => {
    assert.ok(e instanceof DataDigestError);
    assert.ok(e instanceof ProtocolFieldError);
    assert.ok(e instanceof SyntaxError);
    assert.ok(!(e instanceof PduError));
    assert.equal(e.field, "ddgst");
    assert.equal(e.offset, b.length - 4);
    assert.equal(e.cid, c2h.cccid);
    assert.equal(e.received, u32(b, b.length - 4));
    assert.equal(e.computed, crc32c(b.subarray(28, 128)));
    assert.equal(e.pdu.type, PduType.C2H_DATA);
    return true;
  });
  const c = encodePdu(cmdData, BOTH);
  c[c.length - 2] ^= 1;
  assert.throws(() => decodePdu(c), (e: unknown) => {
    assert.ok(e instanceof DataDigestError);
    assert.equal(e.cid, 0x0102); // from the SQE
    assert.deepEqual(e.pdu, cmdData);
    return true;
  });
});

test("decodePdu() rejects DATAL that differs from the data carried", () => {
  const b = encodePdu(h2c, BOTH);
  setU32(b, 16, 35);
  // The header digest covers DATAL, so skip digests to reach the DATAL check.
  throwsPdu(() => decodePdu(b, { verifyDigests: false }), INVALID, "datal", 16);
});

test("decodePdu() checks ICReq and ICResp parameters", () => {
  const pfv = encodePdu(icreq, NONE);
  pfv[8] = 1;
  throwsPdu(() => decodePdu(pfv), Fes.UNSUPPORTED_PARAMETER, "pfv", 8);
  const hpda = encodePdu(icreq, NONE);
  hpda[10] = 32;
  throwsPdu(() => decodePdu(hpda), INVALID, "hpda", 10);
  const cpda = encodePdu(icresp, NONE);
  cpda[10] = 0xff;
  throwsPdu(() => decodePdu(cpda), INVALID, "cpda", 10);
  const dgst = encodePdu(icreq, NONE);
  dgst[11] = 0x04;
  throwsPdu(() => decodePdu(dgst), INVALID, "dgst", 11);
  for (const m of [0, 4095, 4098, 0xffffffff]) {
    throwsPdu(
      () => decodePdu(setU32(encodePdu(icresp, NONE), 12, m)),
      INVALID,
      "maxh2cdata",
      12,
    );
  }
  assert.equal((decodePdu(setU32(encodePdu(icresp, NONE), 12, 4096)) as IcResp).maxh2cdata, 4096);
  assert.equal(
    (decodePdu(setU32(encodePdu(icreq, NONE), 12, 0xffffffff)) as IcReq).maxr2t,
    2 ** 32 - 1,
  );
});

test("PduError messages name the field and value", () => {
  const b = encodePdu(resp, NONE);
  b[CH_HLEN] = 20;
  assert.throws(() => decodePdu(b), {
    name: "PduError",
    message: "Reject HLEN 20 of CapsuleResp: not the header length of this PDU type (24)",
  });
});

// ---------------------------------------------------------------------------------------------
// checkPduHeader

test("checkPduHeader() accepts what each side legitimately receives", () => {
  const host = limits("host", { hdgst: true, ddgst: true });
  const ctrl = limits("controller", { hdgst: true, ddgst: true });
  for (const pdu of [resp, c2h, r2t, termreq]) {
    assert.equal(checkPduHeader(header(encodePdu(pdu, BOTH)), host), 0, pduTypeName(pdu.type));
    assert.equal(host.fei, 0);
  }
  for (const pdu of [cmd, cmdData, h2c, { ...termreq, type: PduType.H2C_TERM_REQ } as TermReq]) {
    assert.equal(checkPduHeader(header(encodePdu(pdu, BOTH)), ctrl), 0, pduTypeName(pdu.type));
  }
});

test("checkPduHeader() rejects PDUs of the other direction and IC PDUs at FEI 0", () => {
  const host = limits("host");
  const ctrl = limits("controller");
  for (const pdu of [cmd, h2c, icreq, icresp]) {
    assert.equal(checkPduHeader(header(encodePdu(pdu, NONE)), host), INVALID);
    assert.equal(host.fei, CH_TYPE);
  }
  for (const pdu of [resp, c2h, r2t, icreq, icresp]) {
    assert.equal(checkPduHeader(header(encodePdu(pdu, NONE)), ctrl), INVALID);
    assert.equal(ctrl.fei, CH_TYPE);
  }
  assert.equal(checkPduHeader(ch(0x08, 0, 24, 0, 24), ctrl), INVALID);
  assert.equal(ctrl.fei, CH_TYPE);
});

test("checkPduHeader() requires digest flags to match the negotiated digests", () => {
  const l = limits("host", { hdgst: true });
  assert.equal(checkPduHeader(header(encodePdu(resp, NONE)), l), INVALID);
  assert.equal(l.fei, CH_FLAGS);
  l.hdgst = false;
  l.ddgst = true;
  assert.equal(checkPduHeader(header(encodePdu(c2h, NONE)), l), INVALID);
  assert.equal(l.fei, CH_FLAGS);
  assert.equal(checkPduHeader(header(encodePdu(c2h, { ...NONE, ddgst: true })), l), 0);
});

test("checkPduHeader() enforces the receiver's PDU data alignment", () => {
  const l = limits("controller", { rxpda: 3, hdgst: true, ddgst: true }); // 16-byte alignment
  assert.equal(checkPduHeader(header(encodePdu(cmdData, { ...BOTH, pda: 3 })), l), 0);
  const unaligned = header(encodePdu(cmdData, BOTH)); // PDO 76
  assert.equal(checkPduHeader(unaligned, l), INVALID);
  assert.equal(l.fei, CH_PDO);
});

test("checkPduHeader() bounds the data one PDU may carry with FES 0x05", () => {
  const l = limits("host", { maxDataLength: 99 });
  assert.equal(checkPduHeader(header(encodePdu(c2h, NONE)), l), Fes.DATA_TRANSFER_LIMIT_EXCEEDED);
  assert.equal(l.fei, CH_PLEN);
  l.maxDataLength = 100;
  assert.equal(checkPduHeader(header(encodePdu(c2h, BOTH)), { ...l, hdgst: true, ddgst: true }), 0);
  const huge = ch(PduType.C2H_DATA, PduFlags.LAST_PDU, 24, 24, 0xffffffff);
  assert.equal(checkPduHeader(huge, l), Fes.DATA_TRANSFER_LIMIT_EXCEEDED);
});

test("checkPduHeader() reports the lowest incorrect field and resets fei on success", () => {
  const l = limits("host");
  assert.equal(checkPduHeader(ch(PduType.CAPSULE_RESP, 0x02, 20, 8, 4), l), INVALID);
  assert.equal(l.fei, CH_FLAGS);
  assert.equal(checkPduHeader(ch(PduType.CAPSULE_RESP, 0, 20, 8, 4), l), INVALID);
  assert.equal(l.fei, CH_HLEN);
  assert.equal(checkPduHeader(ch(PduType.CAPSULE_RESP, 0, 24, 8, 4), l), INVALID);
  assert.equal(l.fei, CH_PDO);
  assert.equal(checkPduHeader(ch(PduType.CAPSULE_RESP, 0, 24, 0, 4), l), INVALID);
  assert.equal(l.fei, CH_PLEN);
  assert.equal(checkPduHeader(ch(PduType.CAPSULE_RESP, 0, 24, 0, 24), l), 0);
  assert.equal(l.fei, 0);
});

test("checkPduHeader() rejects a TermReq of invalid length (the caller just closes)", () => {
  const l = limits("host");
  assert.equal(checkPduHeader(ch(PduType.C2H_TERM_REQ, 0, 24, 0, 24 + 153), l), INVALID);
  assert.equal(l.fei, CH_PLEN);
  assert.equal(checkPduHeader(ch(PduType.C2H_TERM_REQ, 0, 24, 0, 16), l), INVALID);
  assert.equal(l.fei, CH_PLEN);
});

test("pduDataLength() gives the data bytes of a checked header", () => {
  assert.equal(pduDataLength(header(encodePdu(c2h, BOTH))), 100);
  assert.equal(pduDataLength(header(encodePdu(c2h, { ...BOTH, pda: 31 }))), 100);
  assert.equal(pduDataLength(header(encodePdu(cmdData, NONE))), 512);
  assert.equal(pduDataLength(header(encodePdu(cmd, BOTH))), 0);
  assert.equal(pduDataLength(header(encodePdu(termreq, NONE))), 28);
  assert.equal(pduDataLength(header(encodePdu(r2t, BOTH))), 0);
});

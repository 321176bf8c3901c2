import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  CNTLID_DYNAMIC,
  ConnectAuthReq,
  FabricsType,
  PDU_COMMON_HEADER_SIZE,
  PduType,
  Property,
} from "./constants.ts";
import { decodeCqe, encodeCqe } from "./cqe.ts";
import { ProtocolFieldError } from "./errors.ts";
import {
  AUTH_AL,
  AUTH_SECP,
  AUTH_SPSP0,
  AUTH_SPSP1,
  AUTH_TL,
  CONNECT_CATTR,
  CONNECT_DATA_CNTLID,
  CONNECT_DATA_HOSTID,
  CONNECT_DATA_HOSTNQN,
  CONNECT_DATA_SUBNQN,
  CONNECT_KATO,
  CONNECT_QID,
  CONNECT_RECFMT,
  CONNECT_SQSIZE,
  type ConnectData,
  connectInvalidParameterDw0,
  connectResponseDw0,
  decodeAuthReceive,
  decodeAuthSend,
  decodeConnect,
  decodeConnectData,
  decodeConnectInvalidParameter,
  decodeConnectResponse,
  decodeDisconnect,
  decodePropertyGet,
  decodePropertySet,
  DISCONNECT_RECFMT,
  encodeAuthReceive,
  encodeAuthSend,
  encodeConnect,
  encodeConnectData,
  encodeDisconnect,
  encodePropertyGet,
  encodePropertySet,
  FABRICS_FCTYPE,
  fabricsType,
  PROP_ATTRIB,
  PROP_OFST,
  PROP_VALUE,
  propertyGetResponseDw,
  propertyGetValue,
} from "./fabrics.ts";
import { decodeSqe, setSqeSgl, transportSgl } from "./sqe.ts";

// --- test-local NVMe/TCP stream walker: 8-byte common header, PLEN at 4 ----------------------

const FIXTURES = new URL("../../../shared/fixtures/", import.meta.url);

interface Capsule {
  /** The SQE (CapsuleCmd) or CQE (CapsuleResp). */
  entry: Uint8Array;
  /** In-capsule data, from PDO to PLEN. */
  data: Uint8Array;
}

function capsules(name: string, type: number): Capsule[] {
  const stream = new Uint8Array(readFileSync(new URL(name, FIXTURES)));
  const v = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const size = type === PduType.CAPSULE_CMD ? 64 : 16;
  const out: Capsule[] = [];
  for (let at = 0; at < stream.length;) {
    const pdo = stream[at + 3];
    const plen = v.getUint32(at + 4, true);
    if (stream[at] === type) {
      const entry = stream.subarray(
        at + PDU_COMMON_HEADER_SIZE,
        at + PDU_COMMON_HEADER_SIZE + size,
      );
      out.push({
        entry,
        data: pdo === 0 ? new Uint8Array(0) : stream.subarray(at + pdo, at + plen),
      });
    }
    at += plen;
  }
  return out;
}

const h2c = (conn: string) =>
  capsules(`linux-6.1-plain.${conn}.host-to-controller.bin`, PduType.CAPSULE_CMD);
const c2h = (conn: string) =>
  capsules(`linux-6.1-plain.${conn}.controller-to-host.bin`, PduType.CAPSULE_RESP);
const AUTH = "auth/linux-6.12-auth-sha256-null-bidi.conn0";

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Re-encodes with `encode` into an SQE that already holds the captured DPTR, as a transport would. */
function reencode(sqe: Uint8Array, encode: (into: Uint8Array) => Uint8Array): string {
  const into = new Uint8Array(64).fill(0xcc);
  setSqeSgl(into, decodeSqe(sqe).dptr);
  assert.equal(encode(into), into);
  return hex(into);
}

function throwsField(f: () => unknown, field: string, offset: number): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ProtocolFieldError, String(e));
    assert.ok(e instanceof SyntaxError);
    assert.equal(e.field, field);
    assert.equal(e.offset, offset);
    assert.equal(e.name, "ProtocolFieldError");
    return true;
  });
}

// ---------------------------------------------------------------------------------------------

test("Fabrics offsets match Linux include/linux/nvme.h struct nvmf_*_command", () => {
  assert.equal(FABRICS_FCTYPE, 4);
  assert.deepEqual([PROP_ATTRIB, PROP_OFST, PROP_VALUE], [40, 44, 48]);
  assert.deepEqual(
    [CONNECT_RECFMT, CONNECT_QID, CONNECT_SQSIZE, CONNECT_CATTR, CONNECT_KATO],
    [40, 42, 44, 46, 48],
  );
  assert.deepEqual(
    [CONNECT_DATA_HOSTID, CONNECT_DATA_CNTLID, CONNECT_DATA_SUBNQN, CONNECT_DATA_HOSTNQN],
    [0, 16, 256, 512],
  );
  assert.equal(DISCONNECT_RECFMT, 40);
  assert.deepEqual([AUTH_SPSP0, AUTH_SPSP1, AUTH_SECP, AUTH_TL, AUTH_AL], [41, 42, 43, 44, 44]);
});

test("decodeConnect() reads the Linux admin and I/O queue Connect commands", () => {
  const admin = h2c("conn1")[0].entry;
  assert.equal(fabricsType(admin), FabricsType.CONNECT);
  assert.deepEqual(decodeConnect(admin), {
    cid: 0,
    recfmt: 0,
    qid: 0,
    sqsize: 31,
    cattr: 0,
    kato: 5000,
  });
  const io = h2c("conn2")[0].entry;
  assert.deepEqual(decodeConnect(io), {
    cid: 0,
    recfmt: 0,
    qid: 1,
    sqsize: 127,
    cattr: 0,
    kato: 0,
  });
  const discovery = h2c("conn0")[0].entry;
  assert.deepEqual(decodeConnect(discovery), {
    cid: 0,
    recfmt: 0,
    qid: 0,
    sqsize: 31,
    cattr: 0,
    kato: 0,
  });
});

test("encodeConnect(decodeConnect()) reproduces the captured Connect SQEs byte for byte", () => {
  for (const conn of ["conn0", "conn1", "conn2"]) {
    const sqe = h2c(conn)[0].entry;
    assert.equal(reencode(sqe, (into) => encodeConnect(decodeConnect(sqe), into)), hex(sqe), conn);
  }
});

test("decodeConnectData() reads the in-capsule Connect data of the Linux host", () => {
  const [connect] = h2c("conn1");
  assert.equal(connect.data.length, 1024);
  const d = decodeConnectData(connect.data);
  assert.equal(hex(d.hostid), "0bb7b5ef373240458125dba7e9c1a814");
  assert.equal(d.cntlid, CNTLID_DYNAMIC);
  assert.equal(d.subnqn, "nqn.2026-01.test:kernel-target");
  assert.equal(d.hostnqn, "nqn.2014-08.org.nvmexpress:uuid:0bb7b5ef-3732-4045-8125-dba7e9c1a814");
  assert.equal(hex(encodeConnectData(d)), hex(connect.data));
  // HOSTID is a copy, not a view into the receive buffer.
  assert.notEqual(d.hostid.buffer, connect.data.buffer);
  // The discovery connection names the well-known discovery NQN.
  assert.equal(
    decodeConnectData(h2c("conn0")[0].data).subnqn,
    "nqn.2014-08.org.nvmexpress.discovery",
  );
});

test("the I/O queue's Connect data names the CNTLID the admin Connect response returned", () => {
  const response = decodeConnectResponse(c2h("conn1")[0].entry);
  assert.deepEqual(response, { cntlid: 1, authreq: 0, atr: false, ascr: false });
  const io = h2c("conn2")[0];
  const d = decodeConnectData(io.data);
  assert.equal(d.cntlid, response.cntlid);
  assert.deepEqual(d.hostid, decodeConnectData(h2c("conn1")[0].data).hostid);
  assert.equal(hex(encodeConnectData(d)), hex(io.data));
  assert.equal(decodeConnectResponse(decodeCqe(c2h("conn2")[0].entry)).cntlid, 1);
});

test("decodePropertyGet() and decodePropertySet() read the Linux bring-up, re-encoding exactly", () => {
  const seen: [string, number, number, bigint?][] = [];
  for (const { entry } of h2c("conn1")) {
    const type = fabricsType(entry);
    if (entry[0] !== 0x7f) continue;
    if (type === FabricsType.PROPERTY_GET) {
      const g = decodePropertyGet(entry);
      seen.push(["get", g.cid, g.offset]);
      assert.equal(g.size, g.offset === Property.CAP ? 8 : 4);
      assert.equal(reencode(entry, (into) => encodePropertyGet(g, into)), hex(entry));
      // The size defaults from the offset, as Linux chose it.
      assert.equal(
        reencode(entry, (into) => encodePropertyGet({ cid: g.cid, offset: g.offset }, into)),
        hex(entry),
      );
    } else if (type === FabricsType.PROPERTY_SET) {
      const s = decodePropertySet(entry);
      seen.push(["set", s.cid, s.offset, s.value]);
      assert.equal(s.size, 4);
      assert.equal(reencode(entry, (into) => encodePropertySet(s, into)), hex(entry));
    }
  }
  assert.deepEqual(seen, [
    ["get", 0x0001, Property.CAP],
    ["set", 0x1000, Property.CC, 0x00460060n],
    ["get", 0x1001, Property.CC],
    ["get", 0x2000, Property.CAP],
    ["set", 0x2001, Property.CC, 0x00460061n],
    ["get", 0x3000, Property.CSTS],
    ["get", 0x3001, Property.VS],
    ["set", 0x4000, Property.CC, 0x00464061n],
    ["get", 0x4001, Property.CSTS],
  ]);
});

test("propertyGetValue() reads CAP from the Linux target's response, raw or decoded", () => {
  const cqe = c2h("conn1").find(({ entry }) => decodeCqe(entry).cid === 0x0001)!.entry;
  assert.equal(propertyGetValue(cqe), 0x000008200f0003ffn);
  assert.equal(propertyGetValue(decodeCqe(cqe)), 0x000008200f0003ffn);
  const [dw0, dw1] = propertyGetResponseDw(0x000008200f0003ffn);
  assert.equal(hex(encodeCqe({ dw0, dw1, sqhd: 2, cid: 1 })), hex(cqe));
  assert.deepEqual(propertyGetResponseDw(0xffffffffffffffffn), [0xffffffff, 0xffffffff]);
  assert.deepEqual(propertyGetResponseDw(1n), [1, 0]);
  assert.throws(() => propertyGetResponseDw(1n << 64n), RangeError);
  assert.throws(() => propertyGetResponseDw(-1n), RangeError);
  assert.throws(() => propertyGetValue(new Uint8Array(7)), RangeError);
});

test("decodeAuthSend() and decodeAuthReceive() read Linux 6.12 DH-HMAC-CHAP commands", () => {
  const cmds = capsules(`${AUTH}.host-to-controller.bin`, PduType.CAPSULE_CMD);
  const sends = cmds.filter((c) => fabricsType(c.entry) === FabricsType.AUTHENTICATION_SEND);
  const receives = cmds.filter((c) => fabricsType(c.entry) === FabricsType.AUTHENTICATION_RECEIVE);
  assert.deepEqual(
    sends.map((c) => decodeAuthSend(c.entry)),
    [
      { cid: 0x12, secp: 0xe9, spsp0: 1, spsp1: 1, tl: 72 }, // AUTH_Negotiate
      { cid: 0x17, secp: 0xe9, spsp0: 1, spsp1: 1, tl: 80 }, // DH-HMAC-CHAP_Reply
      { cid: 0x19, secp: 0xe9, spsp0: 1, spsp1: 1, tl: 16 }, // DH-HMAC-CHAP_Success2
    ],
  );
  for (const c of sends) {
    assert.equal(c.data.length, decodeAuthSend(c.entry).tl); // in-capsule message
    assert.equal(
      reencode(c.entry, (into) => encodeAuthSend(decodeAuthSend(c.entry), into)),
      hex(c.entry),
    );
  }
  assert.deepEqual(
    receives.map((c) => decodeAuthReceive(c.entry)),
    [
      { cid: 0x16, secp: 0xe9, spsp0: 1, spsp1: 1, al: 4096 },
      { cid: 0x18, secp: 0xe9, spsp0: 1, spsp1: 1, al: 4096 },
    ],
  );
  for (const c of receives) {
    assert.equal(
      reencode(c.entry, (into) => encodeAuthReceive(decodeAuthReceive(c.entry), into)),
      hex(c.entry),
    );
  }
});

test("decodeConnectResponse() sees AUTHREQ.ATR in the Linux 6.12 target's Connect response", () => {
  const cqe = capsules(`${AUTH}.controller-to-host.bin`, PduType.CAPSULE_RESP)[0].entry;
  assert.equal(decodeCqe(cqe).dw0, 0x00020001);
  assert.deepEqual(decodeConnectResponse(cqe), {
    cntlid: 1,
    authreq: 0x0002,
    atr: true,
    ascr: false,
  });
  assert.equal(connectResponseDw0(1, ConnectAuthReq.ATR >>> 16), 0x00020001);
  assert.deepEqual(decodeConnectResponse(encodeCqe({ dw0: connectResponseDw0(0xffef, 0x0006) })), {
    cntlid: 0xffef,
    authreq: 0x0006,
    atr: true,
    ascr: true,
  });
  assert.throws(() => connectResponseDw0(0x10000), RangeError);
  assert.throws(() => connectResponseDw0(1, ConnectAuthReq.ATR), RangeError);
});

test("connectInvalidParameterDw0() matches Linux IPO_IATTR_CONNECT_DATA/_SQE", () => {
  // IPO_IATTR_CONNECT_DATA(x) = 1 << 16 | offsetof(struct nvmf_connect_data, x)
  assert.equal(connectInvalidParameterDw0(true, CONNECT_DATA_SUBNQN), 0x00010100);
  assert.equal(connectInvalidParameterDw0(true, CONNECT_DATA_CNTLID), 0x00010010);
  assert.equal(connectInvalidParameterDw0(true, CONNECT_DATA_HOSTNQN), 0x00010200);
  // IPO_IATTR_CONNECT_SQE(x) = offsetof(struct nvmf_connect_command, x)
  assert.equal(connectInvalidParameterDw0(false, CONNECT_QID), 42);
  assert.equal(connectInvalidParameterDw0(false, CONNECT_SQSIZE), 44);
  for (const [inData, offset] of [[true, 256], [false, 44], [true, 0], [false, 0xffff]] as const) {
    const dw0 = connectInvalidParameterDw0(inData, offset);
    assert.deepEqual(decodeConnectInvalidParameter(encodeCqe({ dw0 })), { inData, offset });
    assert.deepEqual(decodeConnectInvalidParameter(decodeCqe(encodeCqe({ dw0 }))), {
      inData,
      offset,
    });
  }
  assert.throws(() => connectInvalidParameterDw0(true, 0x10000), RangeError);
});

test("Fabrics encoders write OPC 0x7f, PSDT 01b, CID and FCTYPE, zero the rest but DPTR", () => {
  const cases: [number, (into?: Uint8Array) => Uint8Array][] = [
    [FabricsType.PROPERTY_GET, (i) => encodePropertyGet({ cid: 0x1234, offset: Property.CSTS }, i)],
    [
      FabricsType.PROPERTY_SET,
      (i) => encodePropertySet({ cid: 0x1234, offset: Property.CC, value: 1n }, i),
    ],
    [FabricsType.CONNECT, (i) => encodeConnect({ cid: 0x1234, qid: 0, sqsize: 31, kato: 0 }, i)],
    [FabricsType.DISCONNECT, (i) => encodeDisconnect({ cid: 0x1234 }, i)],
    [
      FabricsType.AUTHENTICATION_SEND,
      (i) => encodeAuthSend({ cid: 0x1234, secp: 0, spsp0: 0, spsp1: 0, tl: 0 }, i),
    ],
    [
      FabricsType.AUTHENTICATION_RECEIVE,
      (i) => encodeAuthReceive({ cid: 0x1234, secp: 0, spsp0: 0, spsp1: 0, al: 0 }, i),
    ],
  ];
  for (const [fctype, encode] of cases) {
    const fresh = encode();
    assert.equal(fresh.length, 64);
    assert.equal(hex(fresh.subarray(0, 5)), "7f403412" + fctype.toString(16).padStart(2, "0"));
    assert.ok(fresh.subarray(5, 40).every((x) => x === 0));
    const into = new Uint8Array(72).fill(0xdd);
    setSqeSgl(into, transportSgl(0x100));
    assert.equal(encode(into), into);
    assert.equal(hex(into.subarray(0, 24)), hex(fresh.subarray(0, 24)));
    assert.equal(hex(into.subarray(24, 40)), "0000000000000000" + "00010000" + "000000" + "5a");
    assert.equal(hex(into.subarray(40, 64)), hex(fresh.subarray(40, 64)));
    assert.equal(hex(into.subarray(64)), "dd".repeat(8));
    assert.throws(() => encode(new Uint8Array(63)), RangeError);
  }
});

test("Disconnect round trips and carries RECFMT", () => {
  const sqe = encodeDisconnect({ cid: 9, recfmt: 0 });
  assert.equal(fabricsType(sqe), FabricsType.DISCONNECT);
  assert.deepEqual(decodeDisconnect(sqe), { cid: 9, recfmt: 0 });
  assert.deepEqual(decodeDisconnect(encodeDisconnect({ cid: 9, recfmt: 0x0102 })), {
    cid: 9,
    recfmt: 0x0102,
  });
  assert.equal(hex(encodeDisconnect({ cid: 0, recfmt: 0x0102 }).subarray(40, 42)), "0201");
});

test("encodePropertyGet() and encodePropertySet() check sizes and values", () => {
  assert.equal(encodePropertyGet({ cid: 1, offset: Property.ASQ })[PROP_ATTRIB], 1);
  assert.equal(encodePropertyGet({ cid: 1, offset: Property.AQA })[PROP_ATTRIB], 0);
  assert.equal(encodePropertyGet({ cid: 1, offset: 0x1000, size: 4 })[PROP_ATTRIB], 0);
  assert.throws(() => encodePropertyGet({ cid: 1, offset: 0x04 }), RangeError);
  assert.throws(() => encodePropertyGet({ cid: 1, offset: 0, size: 2 as 4 }), RangeError);
  assert.throws(() => encodePropertyGet({ cid: 0x10000, offset: 0 }), RangeError);
  assert.throws(
    () => encodePropertySet({ cid: 1, offset: Property.CC, value: 1n << 32n }),
    RangeError,
  );
  assert.throws(() => encodePropertySet({ cid: 1, offset: Property.CC, value: -1n }), RangeError);
  assert.throws(
    () => encodePropertySet({ cid: 1, offset: Property.ASQ, value: 1n << 64n }),
    RangeError,
  );
  const set = encodePropertySet({ cid: 1, offset: Property.ASQ, value: 0x0102030405060708n });
  assert.equal(hex(set.subarray(40, 56)), "01000000" + "28000000" + "0807060504030201");
  assert.deepEqual(decodePropertySet(set), {
    cid: 1,
    size: 8,
    offset: 0x28,
    value: 0x0102030405060708n,
  });
});

test("encodeConnect(), encodeAuthSend() and encodeAuthReceive() reject out-of-range fields", () => {
  const ok = { cid: 1, qid: 1, sqsize: 127, kato: 0 };
  for (
    const bad of [
      { qid: 0x10000 },
      { sqsize: -1 },
      { kato: 2 ** 32 },
      { cattr: 0x100 },
      { recfmt: 0x10000 },
      { cid: 0x10000 },
    ]
  ) {
    assert.throws(() => encodeConnect({ ...ok, ...bad }), RangeError, JSON.stringify(bad));
  }
  const auth = { cid: 1, secp: 0xe9, spsp0: 1, spsp1: 1 };
  assert.throws(() => encodeAuthSend({ ...auth, tl: 2 ** 32 }), RangeError);
  assert.throws(() => encodeAuthSend({ ...auth, secp: 0x100, tl: 0 }), RangeError);
  assert.throws(() => encodeAuthReceive({ ...auth, spsp0: -1, al: 0 }), RangeError);
  assert.throws(() => encodeAuthReceive({ ...auth, spsp1: 256, al: 0 }), RangeError);
  assert.throws(() => encodeDisconnect({ cid: 1, recfmt: -1 }), RangeError);
});

test("Fabrics decoders reject short SQEs, other commands and reserved ATTRIB sizes", () => {
  const connect = encodeConnect({ cid: 1, qid: 0, sqsize: 31, kato: 0 });
  assert.throws(() => decodeConnect(connect.subarray(0, 63)), RangeError);
  assert.throws(() => fabricsType(new Uint8Array(10)), RangeError);
  for (
    const decode of [
      decodePropertyGet,
      decodePropertySet,
      decodeDisconnect,
      decodeAuthSend,
      decodeAuthReceive,
    ]
  ) {
    throwsField(() => decode(connect), "FCTYPE", 4);
    assert.throws(() => decode(new Uint8Array(32)), RangeError);
  }
  const identify = new Uint8Array(64);
  identify[0] = 0x06;
  identify[4] = FabricsType.CONNECT;
  throwsField(() => decodeConnect(identify), "OPC", 0);
  const get = encodePropertyGet({ cid: 1, offset: 0 });
  for (const attrib of [2, 3, 7]) {
    get[PROP_ATTRIB] = attrib;
    throwsField(() => decodePropertyGet(get), "ATTRIB", 40);
  }
  get[PROP_ATTRIB] = 0xf9; // reserved bits 7:3 are ignored, size 1 = 8 bytes
  assert.equal(decodePropertyGet(get).size, 8);
});

const DATA: ConnectData = {
  hostid: Uint8Array.from({ length: 16 }, (_, i) => i + 1),
  cntlid: 0xffff,
  subnqn: "nqn.2026-01.test:kernel-target",
  hostnqn: "nqn.2014-08.org.nvmexpress:uuid:0bb7b5ef-3732-4045-8125-dba7e9c1a814",
};

test("encodeConnectData() lays out HOSTID, CNTLID and NUL-padded NQNs", () => {
  const b = encodeConnectData(DATA);
  assert.equal(b.length, 1024);
  assert.equal(hex(b.subarray(0, 18)), "0102030405060708090a0b0c0d0e0f10" + "ffff");
  assert.ok(b.subarray(18, 256).every((x) => x === 0));
  assert.equal(new TextDecoder().decode(b.subarray(256, 256 + DATA.subnqn.length)), DATA.subnqn);
  assert.ok(b.subarray(256 + DATA.subnqn.length, 512).every((x) => x === 0));
  assert.ok(b.subarray(512 + DATA.hostnqn.length, 1024).every((x) => x === 0));
  const into = new Uint8Array(1100).fill(0xee);
  assert.equal(encodeConnectData(DATA, into), into);
  assert.equal(hex(into.subarray(0, 1024)), hex(b));
  assert.ok(into.subarray(1024).every((x) => x === 0xee));
  assert.throws(() => encodeConnectData(DATA, new Uint8Array(1023)), RangeError);
});

test("Connect data NQNs are UTF-8 and use up to 255 bytes plus the NUL", () => {
  const unicode = { ...DATA, hostnqn: "nqn.2026-01.test:h\u00f6st-\u{1f600}" };
  assert.deepEqual(decodeConnectData(encodeConnectData(unicode)), unicode);
  const longest = { ...DATA, subnqn: "nqn." + "a".repeat(251) };
  const b = encodeConnectData(longest);
  assert.equal(b[256 + 254], 0x61);
  assert.equal(b[256 + 255], 0);
  assert.deepEqual(decodeConnectData(b), longest);
  assert.throws(() => encodeConnectData({ ...DATA, subnqn: "nqn." + "a".repeat(252) }), RangeError);
  assert.throws(() => encodeConnectData({ ...DATA, hostnqn: "h\u00f6".repeat(128) }), RangeError);
  assert.throws(() => encodeConnectData({ ...DATA, hostnqn: "nqn.a\0b" }), RangeError);
  assert.throws(() => encodeConnectData({ ...DATA, hostid: new Uint8Array(15) }), RangeError);
  assert.throws(() => encodeConnectData({ ...DATA, cntlid: 0x10000 }), RangeError);
});

test("decodeConnectData() names the field of malformed Connect data", () => {
  const good = encodeConnectData(DATA);
  // Short buffers: the first field cut short.
  throwsField(() => decodeConnectData(good.subarray(0, 0)), "HOSTID", 0);
  throwsField(() => decodeConnectData(good.subarray(0, 17)), "CNTLID", 16);
  throwsField(() => decodeConnectData(good.subarray(0, 300)), "SUBNQN", 256);
  throwsField(() => decodeConnectData(good.subarray(0, 767)), "HOSTNQN", 512);
  throwsField(() => decodeConnectData(good.subarray(0, 1023)), "RSVD", 768);
  // NQNs without a NUL within their 256 bytes.
  const noNulSub = good.slice();
  noNulSub.fill(0x61, 256, 512);
  throwsField(() => decodeConnectData(noNulSub), "SUBNQN", 256);
  const noNulHost = good.slice();
  noNulHost.fill(0x61, 512, 768);
  throwsField(() => decodeConnectData(noNulHost), "HOSTNQN", 512);
  // Not UTF-8.
  const badUtf8 = good.slice();
  badUtf8[512 + 4] = 0xff;
  throwsField(() => decodeConnectData(badUtf8), "HOSTNQN", 512);
  // Bytes after the NUL do not matter; a longer buffer is fine.
  const padded = new Uint8Array(2048);
  padded.set(good);
  padded[256 + DATA.subnqn.length + 1] = 0x7a;
  assert.deepEqual(decodeConnectData(padded), DATA);
});

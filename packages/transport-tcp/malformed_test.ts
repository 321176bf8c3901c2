// Every protocol violation a peer can commit gets the right TermReq and ends only that
// connection. A raw socket plays the misbehaving peer; our transport is the other side.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CH_FLAGS,
  CH_HLEN,
  CH_PDO,
  CH_PLEN,
  CH_TYPE,
  cqeCid,
  cqeStatus,
  DATA_CCCID,
  DATA_TTAG,
  decodePdu,
  decodeStatus,
  encodeCqe,
  encodePdu,
  encodeSqe,
  Fes,
  GenericStatus,
  ICRESP_DGST,
  ICRESP_MAXH2CDATA,
  ICRESP_PFV,
  NvmOpcode,
  type Pdu,
  type PduOptions,
  PduType,
  R2T_CCCID,
  sqeCid,
  type TermReq,
} from "@nvmf/proto";
import {
  Association,
  type CommandCapsule,
  commandCapsule,
  type QueuePair,
  TransportError,
} from "@nvmf/transport";
import { runCommand, serveDisk } from "@nvmf/transport/testing";
import { TcpTransport } from "./mod.ts";
import { PduReader } from "./reader.ts";
import { type ByteStream, dial, listen } from "./stream.ts";

const PLAIN: PduOptions = { hdgst: false, ddgst: false, pda: 0 };

/** Reads one whole PDU from a raw stream, or undefined at end of stream. */
async function readPdu(reader: PduReader, opts: PduOptions = PLAIN): Promise<Pdu | undefined> {
  if (!(await reader.fill(8))) return undefined;
  const plen = reader.view.getUint32(reader.start + 4, true);
  await reader.fill(plen);
  const bytes = reader.buf.slice(reader.start, reader.start + plen);
  reader.start += plen;
  return decodePdu(bytes, { hdgst: opts.hdgst, ddgst: opts.ddgst });
}

async function expectTermReq(
  reader: PduReader,
  type: number,
  fes: number,
  fei: number | undefined,
  offending?: Uint8Array,
): Promise<void> {
  const pdu = await readPdu(reader);
  assert.ok(pdu !== undefined, "expected a TermReq, the connection closed");
  assert.equal(pdu.type, type, `PDU type ${pdu.type}`);
  const t = pdu as TermReq;
  assert.equal(t.fes, fes, `FES ${t.fes}`);
  if (fei !== undefined) assert.equal(t.fei, fei, `FEI ${t.fei}`);
  if (offending !== undefined) {
    const n = Math.min(offending.length, t.data.length);
    assert.ok(n >= 8, "the TermReq carries at least the offending common header");
    assert.deepEqual(t.data.subarray(0, n), offending.subarray(0, n));
  }
  assert.equal(await readPdu(reader), undefined, "the connection should be closed after a TermReq");
}

// -------------------------------------------------------------------------------------------
// A raw host against our controller.

interface RawHost {
  raw: ByteStream;
  reader: PduReader;
  ctrl: QueuePair;
  opts: PduOptions;
  close(): Promise<void>;
}

async function rawHost(
  options: { hdgst?: boolean; ddgst?: boolean; ioInCapsuleData?: number; maxh2cdata?: number } = {},
): Promise<RawHost> {
  const t = new TcpTransport();
  const listener = await t.listen(
    new Association(t, true, {
      ioInCapsuleData: options.ioInCapsuleData ?? 16384,
      tcp: { maxh2cdata: options.maxh2cdata ?? 131072 } as never,
    }),
    { traddr: "127.0.0.1", trsvcid: "0" },
  );
  const raw = await dial("127.0.0.1", Number(listener.address.trsvcid));
  const reader = new PduReader(raw, 65536);
  const hdgst = options.hdgst ?? false;
  const ddgst = options.ddgst ?? false;
  await raw.writev([
    encodePdu({ type: PduType.IC_REQ, pfv: 0, hpda: 0, hdgst, ddgst, maxr2t: 0 }, PLAIN),
  ]);
  const resp = await readPdu(reader);
  assert.equal(resp?.type, PduType.IC_RESP);
  const ctrl = await listener.accept();
  ctrl.setConnected({ qid: 1, qsize: 32, sqFlowControl: true });
  return {
    raw,
    reader,
    ctrl,
    opts: { hdgst, ddgst, pda: 0 },
    close: async () => {
      raw.close();
      await ctrl.close();
      await listener.close();
    },
  };
}

async function expectControllerEnd(h: RawHost, fes: number): Promise<void> {
  const e = await h.ctrl.closed;
  assert.ok(e instanceof TransportError, "the controller queue pair should fail");
  assert.equal(e.code, "protocol");
  assert.equal(e.fes, fes);
}

function header(type: number, flags: number, hlen: number, pdo: number, plen: number): Uint8Array {
  const b = new Uint8Array(Math.max(hlen, 8));
  const v = new DataView(b.buffer);
  v.setUint8(CH_TYPE, type);
  v.setUint8(CH_FLAGS, flags);
  v.setUint8(CH_HLEN, hlen);
  v.setUint8(CH_PDO, pdo);
  v.setUint32(CH_PLEN, plen, true);
  return b;
}

const commonHeaderCases: [string, Uint8Array, number, number][] = [
  ["an unknown PDU type", header(0x0a, 0, 24, 0, 24), Fes.INVALID_PDU_HEADER_FIELD, CH_TYPE],
  [
    "a controller-to-host PDU",
    header(PduType.CAPSULE_RESP, 0, 24, 0, 24),
    Fes.INVALID_PDU_HEADER_FIELD,
    CH_TYPE,
  ],
  ["a second ICReq", header(PduType.IC_REQ, 0, 128, 0, 128), Fes.INVALID_PDU_HEADER_FIELD, CH_TYPE],
  [
    "a flag CapsuleCmd lacks",
    header(PduType.CAPSULE_CMD, 0x10, 72, 0, 72),
    Fes.INVALID_PDU_HEADER_FIELD,
    CH_FLAGS,
  ],
  [
    "the wrong HLEN for CapsuleCmd",
    header(PduType.CAPSULE_CMD, 0, 24, 0, 24),
    Fes.INVALID_PDU_HEADER_FIELD,
    CH_HLEN,
  ],
  [
    "a PDO inside the header",
    header(PduType.CAPSULE_CMD, 0, 72, 8, 80),
    Fes.INVALID_PDU_HEADER_FIELD,
    CH_PDO,
  ],
  [
    "a PLEN shorter than HLEN",
    header(PduType.CAPSULE_CMD, 0, 72, 0, 50),
    Fes.INVALID_PDU_HEADER_FIELD,
    CH_PLEN,
  ],
  [
    "data on an R2T-less H2CData",
    header(PduType.H2C_DATA, 0, 24, 0, 30),
    Fes.INVALID_PDU_HEADER_FIELD,
    CH_PDO,
  ],
];

for (const [name, bytes, fes, fei] of commonHeaderCases) {
  test(`controller answers ${name} with TermReq FES ${fes} FEI ${fei}`, async () => {
    const h = await rawHost();
    await h.raw.writev([bytes]);
    await expectTermReq(h.reader, PduType.C2H_TERM_REQ, fes, fei, bytes.subarray(0, 8));
    await expectControllerEnd(h, fes);
    await h.close();
  });
}

test("controller answers a missing header digest with FES 1 on FLAGS", async () => {
  const h = await rawHost({ hdgst: true });
  const pdu = encodePdu({ type: PduType.CAPSULE_CMD, sqe: encodeSqe({ cid: 1 }) }, PLAIN);
  await h.raw.writev([pdu]);
  await expectTermReq(h.reader, PduType.C2H_TERM_REQ, Fes.INVALID_PDU_HEADER_FIELD, CH_FLAGS);
  await expectControllerEnd(h, Fes.INVALID_PDU_HEADER_FIELD);
  await h.close();
});

test("controller answers a bad header digest with FES 3", async () => {
  const h = await rawHost({ hdgst: true });
  const pdu = encodePdu({ type: PduType.CAPSULE_CMD, sqe: encodeSqe({ cid: 1 }) }, h.opts);
  pdu[72] ^= 0xff; // the digest after the 72-byte header
  await h.raw.writev([pdu]);
  await expectTermReq(h.reader, PduType.C2H_TERM_REQ, Fes.HEADER_DIGEST_ERROR, undefined, pdu);
  await expectControllerEnd(h, Fes.HEADER_DIGEST_ERROR);
  await h.close();
});

test("controller answers in-capsule data over its limit with FES 5", async () => {
  const h = await rawHost({ ioInCapsuleData: 4096 });
  const sqe = encodeSqe({ opcode: NvmOpcode.WRITE, cid: 1 });
  const pdu = encodePdu({ type: PduType.CAPSULE_CMD, sqe, data: new Uint8Array(4097) }, PLAIN);
  await h.raw.writev([pdu]);
  await expectTermReq(h.reader, PduType.C2H_TERM_REQ, Fes.DATA_TRANSFER_LIMIT_EXCEEDED, undefined);
  await expectControllerEnd(h, Fes.DATA_TRANSFER_LIMIT_EXCEEDED);
  await h.close();
});

test("a bad data digest on in-capsule data fails only that command", async () => {
  const h = await rawHost({ ddgst: true });
  const served = serveDisk(h.ctrl, new Uint8Array(65536));
  const sqe = encodeSqe({ opcode: NvmOpcode.WRITE, cid: 7 });
  new DataView(sqe.buffer).setUint32(24 + 8, 512, true);
  sqe[24 + 15] = 0x01; // in-capsule SGL of 512 bytes
  sqe[1] = 0x40;
  const pdu = encodePdu(
    { type: PduType.CAPSULE_CMD, sqe, data: new Uint8Array(512).fill(1) },
    h.opts,
  );
  pdu[pdu.length - 1] ^= 0xff; // the data digest
  await h.raw.writev([pdu]);
  const rsp = await readPdu(h.reader);
  assert.equal(rsp?.type, PduType.CAPSULE_RESP);
  const cqe = (rsp as { cqe: Uint8Array }).cqe;
  assert.equal(cqeCid(cqe), 7);
  assert.equal(decodeStatus(cqeStatus(cqe)).sc, GenericStatus.TRANSIENT_TRANSPORT_ERROR);
  // The connection lives on: a good command still works.
  await h.raw.writev([
    encodePdu(
      { type: PduType.CAPSULE_CMD, sqe: encodeSqe({ opcode: NvmOpcode.FLUSH, cid: 8 }) },
      h.opts,
    ),
  ]);
  const ok = await readPdu(h.reader);
  assert.equal(cqeCid((ok as { cqe: Uint8Array }).cqe), 8);
  await h.close();
  await served;
});

/** Sends a WRITE whose data the controller will fetch, and returns the R2T it sends. */
async function writeAndGetR2t(h: RawHost, length: number) {
  const sqe = encodeSqe({ opcode: NvmOpcode.WRITE, cid: 3 });
  new DataView(sqe.buffer).setUint32(24 + 8, length, true);
  sqe[24 + 15] = 0x5a;
  sqe[1] = 0x40;
  await h.raw.writev([encodePdu({ type: PduType.CAPSULE_CMD, sqe }, h.opts)]);
  const cmd = await h.ctrl.receive() as CommandCapsule;
  const into = new Uint8Array(length);
  const received = h.ctrl.receiveControllerData(cmd, 0, into);
  received.catch(() => {});
  const r2t = await readPdu(h.reader, h.opts);
  assert.equal(r2t?.type, PduType.R2T);
  return {
    r2t: r2t as { ttag: number; r2to: number; r2tl: number; cccid: number },
    received,
    into,
    cmd,
  };
}

function h2c(
  cccid: number,
  ttag: number,
  datao: number,
  data: Uint8Array,
  last: boolean,
): Uint8Array {
  return encodePdu(
    { type: PduType.H2C_DATA, cccid, ttag, datao, datal: data.length, last, success: false, data },
    PLAIN,
  );
}

const h2cCases: [
  string,
  (r: { ttag: number; cccid: number }) => Uint8Array,
  number,
  number | undefined,
][] = [
  [
    "an unknown TTAG",
    (r) => h2c(r.cccid, r.ttag + 1, 0, new Uint8Array(4096), true),
    Fes.INVALID_PDU_HEADER_FIELD,
    DATA_TTAG,
  ],
  [
    "the TTAG of another command",
    (r) => h2c(r.cccid + 1, r.ttag, 0, new Uint8Array(4096), true),
    Fes.INVALID_PDU_HEADER_FIELD,
    DATA_CCCID,
  ],
  [
    "data beyond the R2T",
    (r) => h2c(r.cccid, r.ttag, 4096, new Uint8Array(512), true),
    Fes.DATA_TRANSFER_OUT_OF_RANGE,
    0,
  ],
  [
    "data out of order",
    (r) => h2c(r.cccid, r.ttag, 512, new Uint8Array(512), false),
    Fes.PDU_SEQUENCE_ERROR,
    0,
  ],
  [
    "LAST_PDU too early",
    (r) => h2c(r.cccid, r.ttag, 0, new Uint8Array(512), true),
    Fes.PDU_SEQUENCE_ERROR,
    0,
  ],
  [
    "no LAST_PDU on the last data",
    (r) => h2c(r.cccid, r.ttag, 0, new Uint8Array(4096), false),
    Fes.PDU_SEQUENCE_ERROR,
    0,
  ],
  [
    "more than MAXH2CDATA in one PDU",
    (r) => h2c(r.cccid, r.ttag, 0, new Uint8Array(8192), true),
    Fes.DATA_TRANSFER_LIMIT_EXCEEDED,
    0,
  ],
];

for (const [name, make, fes, fei] of h2cCases) {
  test(`controller answers H2CData with ${name} with TermReq FES ${fes}`, async () => {
    const big = name.startsWith("more than");
    const h = await rawHost({ maxh2cdata: big ? 4096 : 131072 });
    const { r2t, received } = await writeAndGetR2t(h, big ? 8192 : 4096);
    await h.raw.writev([make(r2t)]);
    await expectTermReq(h.reader, PduType.C2H_TERM_REQ, fes, fei);
    await assert.rejects(received, TransportError);
    await expectControllerEnd(h, fes);
    await h.close();
  });
}

test("a bad data digest on H2CData fails only that transfer", async () => {
  const h = await rawHost({ ddgst: true });
  const { r2t, received } = await writeAndGetR2t(h, 1024);
  const pdu = encodePdu(
    {
      type: PduType.H2C_DATA,
      cccid: r2t.cccid,
      ttag: r2t.ttag,
      datao: 0,
      datal: 1024,
      last: true,
      success: false,
      data: new Uint8Array(1024).fill(9),
    },
    h.opts,
  );
  pdu[pdu.length - 2] ^= 1;
  await h.raw.writev([pdu]);
  await assert.rejects(received, (e) => {
    const s = (e as { status?: { sc: number } }).status;
    return s?.sc === GenericStatus.TRANSIENT_TRANSPORT_ERROR;
  });
  assert.equal(h.ctrl.done, false);
  await h.close();
});

test("controller ends the connection on a received TermReq, without answering", async () => {
  const h = await rawHost();
  await h.raw.writev([
    encodePdu({
      type: PduType.H2C_TERM_REQ,
      fes: Fes.PDU_SEQUENCE_ERROR,
      fei: 0,
      data: new Uint8Array(8),
    }, PLAIN),
  ]);
  const e = await h.ctrl.closed;
  assert.ok(e instanceof TransportError);
  assert.equal(e.code, "termreq");
  assert.equal(e.fes, Fes.PDU_SEQUENCE_ERROR);
  assert.match(e.message, /PDU sequence error/);
  assert.equal(await readPdu(h.reader), undefined);
  await h.close();
});

test("controller drops a connection that ends in the middle of a PDU", async () => {
  const h = await rawHost();
  await h.raw.writev([
    encodePdu({ type: PduType.CAPSULE_CMD, sqe: encodeSqe({ cid: 1 }) }, PLAIN).subarray(0, 40),
  ]);
  h.raw.close();
  const e = await h.ctrl.closed;
  assert.ok(e instanceof TransportError);
  assert.equal(e.code, "connection");
  await h.close();
});

test("controller refuses a bad ICReq with a TermReq naming the field", async () => {
  const errors: Error[] = [];
  const t = new TcpTransport({ onSetupError: (e) => errors.push(e) });
  const listener = await t.listen(new Association(t, true), { traddr: "127.0.0.1", trsvcid: "0" });
  const cases: [Uint8Array, number, number][] = [];
  const pfv = encodePdu({
    type: PduType.IC_REQ,
    pfv: 0,
    hpda: 0,
    hdgst: false,
    ddgst: false,
    maxr2t: 0,
  }, PLAIN);
  pfv[8] = 1;
  cases.push([pfv, Fes.UNSUPPORTED_PARAMETER, 8]);
  const hlen = encodePdu({
    type: PduType.IC_REQ,
    pfv: 0,
    hpda: 0,
    hdgst: false,
    ddgst: false,
    maxr2t: 0,
  }, PLAIN);
  hlen[CH_HLEN] = 24;
  cases.push([hlen, Fes.INVALID_PDU_HEADER_FIELD, CH_HLEN]);
  cases.push([header(PduType.CAPSULE_CMD, 0, 72, 0, 72), Fes.INVALID_PDU_HEADER_FIELD, CH_TYPE]);
  for (const [bytes, fes, fei] of cases) {
    const raw = await dial("127.0.0.1", Number(listener.address.trsvcid));
    const reader = new PduReader(raw, 4096);
    await raw.writev([bytes]);
    await expectTermReq(reader, PduType.C2H_TERM_REQ, fes, fei);
    raw.close();
  }
  await listener.close();
  assert.equal(errors.length, cases.length);
  assert.ok(errors.every((e) => e instanceof TransportError && e.code === "negotiation"));
});

test("a TermReq ends only its own connection", async () => {
  const t = new TcpTransport();
  const listener = await t.listen(new Association(t, true), { traddr: "127.0.0.1", trsvcid: "0" });
  const good = await t.connect(new Association(t, false), {
    address: listener.address,
    admin: true,
    qid: 0,
    qsize: 8,
  });
  const goodCtrl = await listener.accept();
  goodCtrl.setConnected({ qid: 0, qsize: 8, sqFlowControl: true });
  const served = serveDisk(goodCtrl, new Uint8Array(8192));
  const raw = await dial("127.0.0.1", Number(listener.address.trsvcid));
  const reader = new PduReader(raw, 4096);
  await raw.writev([
    encodePdu(
      { type: PduType.IC_REQ, pfv: 0, hpda: 0, hdgst: false, ddgst: false, maxr2t: 0 },
      PLAIN,
    ),
  ]);
  await readPdu(reader);
  const evil = await listener.accept();
  await raw.writev([header(0x0a, 0, 24, 0, 24)]);
  await expectTermReq(reader, PduType.C2H_TERM_REQ, Fes.INVALID_PDU_HEADER_FIELD, CH_TYPE);
  assert.ok((await evil.closed) instanceof TransportError);
  const back = new Uint8Array(512);
  await runCommand(good, NvmOpcode.READ, 1, 0, back);
  assert.equal(good.done, false);
  raw.close();
  await good.close();
  await served;
  await listener.close();
});

// -------------------------------------------------------------------------------------------
// A raw controller against our host.

interface RawController {
  raw: ByteStream;
  reader: PduReader;
  host: QueuePair;
  opts: PduOptions;
  close(): Promise<void>;
}

async function rawController(
  options: {
    hdgst?: boolean;
    ddgst?: boolean;
    icresp?: (b: Uint8Array) => void;
    sqFlowControl?: boolean;
  } = {},
): Promise<RawController> {
  const sockets = await listen("127.0.0.1", 0);
  const t = new TcpTransport();
  const na = new Association(t, false, {
    sqFlowControl: options.sqFlowControl ?? true,
    tcp: { headerDigests: options.hdgst ?? false, dataDigests: options.ddgst ?? false } as never,
  });
  na.update({ ioccsz: 4, mdts: 0 }); // no in-capsule data on I/O queues: every write uses R2T
  const connecting = t.connect(na, {
    address: { traddr: "127.0.0.1", trsvcid: String(sockets.local.port) },
    admin: false,
    qid: 1,
    qsize: 32,
  });
  connecting.catch(() => {});
  const raw = await sockets.accept();
  sockets.close();
  const reader = new PduReader(raw, 256 * 1024);
  const req = await readPdu(reader);
  assert.equal(req?.type, PduType.IC_REQ);
  const resp = encodePdu(
    {
      type: PduType.IC_RESP,
      pfv: 0,
      cpda: 0,
      hdgst: options.hdgst ?? false,
      ddgst: options.ddgst ?? false,
      maxh2cdata: 131072,
    },
    PLAIN,
  );
  options.icresp?.(resp);
  await raw.writev([resp]);
  const host = await connecting;
  return {
    raw,
    reader,
    host,
    opts: { hdgst: options.hdgst ?? false, ddgst: options.ddgst ?? false, pda: 0 },
    close: async () => {
      raw.close();
      await host.close();
    },
  };
}

async function expectHostEnd(c: RawController, fes: number): Promise<void> {
  const e = await c.host.closed;
  assert.ok(e instanceof TransportError, "the host queue pair should fail");
  assert.equal(e.code, "protocol");
  assert.equal(e.fes, fes);
}

const icrespCases: [string, (b: Uint8Array) => void, number, number][] = [
  ["PFV 1", (b) => b[ICRESP_PFV] = 1, Fes.UNSUPPORTED_PARAMETER, ICRESP_PFV],
  [
    "MAXH2CDATA 4095",
    (b) => new DataView(b.buffer).setUint32(ICRESP_MAXH2CDATA, 4095, true),
    Fes.INVALID_PDU_HEADER_FIELD,
    ICRESP_MAXH2CDATA,
  ],
  [
    "MAXH2CDATA 4098",
    (b) => new DataView(b.buffer).setUint32(ICRESP_MAXH2CDATA, 4098, true),
    Fes.INVALID_PDU_HEADER_FIELD,
    ICRESP_MAXH2CDATA,
  ],
  [
    "a header digest not asked for",
    (b) => b[ICRESP_DGST] = 1,
    Fes.UNSUPPORTED_PARAMETER,
    ICRESP_DGST,
  ],
  [
    "a PDU type that is not ICResp",
    (b) => b[CH_TYPE] = PduType.CAPSULE_RESP,
    Fes.INVALID_PDU_HEADER_FIELD,
    CH_TYPE,
  ],
];

for (const [name, damage, fes, fei] of icrespCases) {
  test(`host refuses an ICResp with ${name}: TermReq FES ${fes} FEI ${fei}`, async () => {
    const sockets = await listen("127.0.0.1", 0);
    const t = new TcpTransport();
    const connecting = t.connect(new Association(t, false), {
      address: { traddr: "127.0.0.1", trsvcid: String(sockets.local.port) },
      admin: true,
      qid: 0,
      qsize: 8,
    });
    const raw = await sockets.accept();
    sockets.close();
    const reader = new PduReader(raw, 4096);
    await readPdu(reader);
    const resp = encodePdu(
      { type: PduType.IC_RESP, pfv: 0, cpda: 0, hdgst: false, ddgst: false, maxh2cdata: 131072 },
      PLAIN,
    );
    damage(resp);
    await raw.writev([resp]);
    await assert.rejects(
      connecting,
      (e) => e instanceof TransportError && e.fes === fes && e.fei === fei,
    );
    const term = await readPdu(reader);
    assert.equal(term?.type, PduType.H2C_TERM_REQ);
    assert.equal((term as TermReq).fes, fes);
    raw.close();
  });
}

test("host answers a CapsuleResp with data with FES 1 on PLEN", async () => {
  const c = await rawController();
  const bad = encodePdu({ type: PduType.CAPSULE_RESP, cqe: encodeCqe({ cid: 1 }) }, PLAIN);
  const longer = new Uint8Array(28);
  longer.set(bad);
  new DataView(longer.buffer).setUint32(CH_PLEN, 28, true);
  await c.raw.writev([longer]);
  await expectTermReq(
    c.reader,
    PduType.H2C_TERM_REQ,
    Fes.INVALID_PDU_HEADER_FIELD,
    CH_PLEN,
    longer,
  );
  await expectHostEnd(c, Fes.INVALID_PDU_HEADER_FIELD);
  await c.close();
});

function c2h(
  cccid: number,
  datao: number,
  data: Uint8Array,
  last: boolean,
  opts = PLAIN,
): Uint8Array {
  return encodePdu(
    {
      type: PduType.C2H_DATA,
      cccid,
      ttag: 0,
      datao,
      datal: data.length,
      last,
      success: false,
      data,
    },
    opts,
  );
}

async function hostRead(c: RawController, cid: number, length: number): Promise<Uint8Array> {
  const into = new Uint8Array(length);
  await c.host.transmit(
    commandCapsule(encodeSqe({ opcode: NvmOpcode.READ, cid }), into, "controller-to-host"),
  );
  const cmd = await readPdu(c.reader, c.opts);
  assert.equal(cmd?.type, PduType.CAPSULE_CMD);
  return into;
}

const c2hCases: [string, Uint8Array, number, number][] = [
  [
    "C2HData for an unknown command",
    c2h(99, 0, new Uint8Array(512), true),
    Fes.INVALID_PDU_HEADER_FIELD,
    DATA_CCCID,
  ],
  [
    "C2HData beyond the buffer",
    c2h(1, 4096, new Uint8Array(512), true),
    Fes.DATA_TRANSFER_OUT_OF_RANGE,
    0,
  ],
  ["C2HData out of order", c2h(1, 512, new Uint8Array(512), false), Fes.PDU_SEQUENCE_ERROR, 0],
];

for (const [name, pdu, fes, fei] of c2hCases) {
  test(`host answers ${name} with TermReq FES ${fes}`, async () => {
    const c = await rawController();
    await hostRead(c, 1, 4096);
    await c.raw.writev([pdu]);
    await expectTermReq(c.reader, PduType.H2C_TERM_REQ, fes, fei, pdu.subarray(0, 24));
    await expectHostEnd(c, fes);
    await c.close();
  });
}

async function hostWrite(c: RawController, cid: number, length: number): Promise<void> {
  await c.host.transmit(
    commandCapsule(
      encodeSqe({ opcode: NvmOpcode.WRITE, cid }),
      new Uint8Array(length),
      "host-to-controller",
    ),
  );
  const cmd = await readPdu(c.reader, c.opts);
  assert.equal(cmd?.type, PduType.CAPSULE_CMD);
  assert.equal(sqeCid((cmd as { sqe: Uint8Array }).sqe), cid);
}

function r2t(cccid: number, ttag: number, r2to: number, r2tl: number): Uint8Array {
  return encodePdu({ type: PduType.R2T, cccid, ttag, r2to, r2tl }, PLAIN);
}

test("host answers an R2T for a command without data to send with FES 1 on CCCID", async () => {
  const c = await rawController();
  await hostRead(c, 1, 4096);
  await c.raw.writev([r2t(1, 0, 0, 4096)]);
  await expectTermReq(c.reader, PduType.H2C_TERM_REQ, Fes.INVALID_PDU_HEADER_FIELD, R2T_CCCID);
  await expectHostEnd(c, Fes.INVALID_PDU_HEADER_FIELD);
  await c.close();
});

test("host answers an R2T beyond the data with FES 4", async () => {
  const c = await rawController();
  await hostWrite(c, 2, 4096);
  await c.raw.writev([r2t(2, 0, 0, 8192)]);
  await expectTermReq(c.reader, PduType.H2C_TERM_REQ, Fes.DATA_TRANSFER_OUT_OF_RANGE, 0);
  await expectHostEnd(c, Fes.DATA_TRANSFER_OUT_OF_RANGE);
  await c.close();
});

test("host answers more R2Ts than MAXR2T with FES 5 (R2T limit exceeded)", async () => {
  const c = await rawController();
  await hostWrite(c, 2, 8192);
  const two = new Uint8Array(48);
  two.set(r2t(2, 0, 0, 4096));
  two.set(r2t(2, 1, 4096, 4096), 24);
  await c.raw.writev([two]);
  // The data for the first R2T may come out before the TermReq.
  for (;;) {
    const pdu = await readPdu(c.reader);
    assert.ok(pdu !== undefined);
    if (pdu.type === PduType.H2C_DATA) continue;
    assert.equal(pdu.type, PduType.H2C_TERM_REQ);
    assert.equal((pdu as TermReq).fes, Fes.DATA_TRANSFER_LIMIT_EXCEEDED);
    break;
  }
  await expectHostEnd(c, Fes.DATA_TRANSFER_LIMIT_EXCEEDED);
  await c.close();
});

test("host sends the data an R2T asks for, split at MAXH2CDATA", async () => {
  const c = await rawController();
  const data = new Uint8Array(300_000).map((_, i) => i & 0xff);
  await c.host.transmit(
    commandCapsule(encodeSqe({ opcode: NvmOpcode.WRITE, cid: 4 }), data, "host-to-controller"),
  );
  await readPdu(c.reader);
  await c.raw.writev([r2t(4, 77, 0, data.length)]);
  const got = new Uint8Array(data.length);
  let at = 0;
  while (at < data.length) {
    const pdu = await readPdu(c.reader);
    assert.equal(pdu?.type, PduType.H2C_DATA);
    const d = pdu as {
      ttag: number;
      datao: number;
      datal: number;
      last: boolean;
      data: Uint8Array;
    };
    assert.equal(d.ttag, 77);
    assert.equal(d.datao, at);
    assert.ok(d.datal <= 131072);
    assert.equal(d.last, at + d.datal === data.length);
    got.set(d.data, at);
    at += d.datal;
  }
  assert.deepEqual(got, data);
  await c.raw.writev([
    encodePdu({ type: PduType.CAPSULE_RESP, cqe: encodeCqe({ cid: 4 }) }, PLAIN),
  ]);
  const rsp = await c.host.receive();
  assert.equal(rsp.kind, "response");
  await c.close();
});

test("a bad data digest on C2HData fails only that command, with DATA_TRANSFER_ERROR", async () => {
  const c = await rawController({ ddgst: true });
  await hostRead(c, 1, 512);
  const pdu = c2h(1, 0, new Uint8Array(512).fill(3), true, c.opts);
  pdu[pdu.length - 1] ^= 0x80;
  await c.raw.writev([
    pdu,
    encodePdu({ type: PduType.CAPSULE_RESP, cqe: encodeCqe({ cid: 1 }) }, c.opts),
  ]);
  const rsp = await c.host.receive();
  assert.ok(rsp.kind === "response");
  assert.equal(decodeStatus(cqeStatus(rsp.cqe)).sc, GenericStatus.DATA_TRANSFER_ERROR);
  assert.equal(c.host.done, false);
  await c.close();
});

test("host makes the CQE itself for C2HData with SUCCESS", async () => {
  const c = await rawController({ sqFlowControl: false });
  const into = await hostRead(c, 5, 1024);
  await c.raw.writev([
    encodePdu(
      {
        type: PduType.C2H_DATA,
        cccid: 5,
        ttag: 0,
        datao: 0,
        datal: 1024,
        last: true,
        success: true,
        data: new Uint8Array(1024).fill(6),
      },
      PLAIN,
    ),
  ]);
  const rsp = await c.host.receive();
  assert.ok(rsp.kind === "response");
  assert.equal(cqeCid(rsp.cqe), 5);
  assert.equal(cqeStatus(rsp.cqe), 0);
  assert.equal(into[1023], 6);
  await c.close();
});

test("host answers C2HData with SUCCESS while SQ flow control is on with FES 1 on FLAGS", async () => {
  const c = await rawController();
  await hostRead(c, 5, 1024);
  await c.raw.writev([
    encodePdu({
      type: PduType.C2H_DATA,
      cccid: 5,
      ttag: 0,
      datao: 0,
      datal: 1024,
      last: true,
      success: true,
      data: new Uint8Array(1024),
    }, PLAIN),
  ]);
  await expectTermReq(c.reader, PduType.H2C_TERM_REQ, Fes.INVALID_PDU_HEADER_FIELD, CH_FLAGS);
  await assert.rejects(c.host.receive(), /SQ flow control is on/);
  await c.close();
});

test("host turns a CapsuleResp after part of a read's data into DATA_TRANSFER_ERROR", async () => {
  const c = await rawController();
  await hostRead(c, 5, 1024);
  await c.raw.writev([
    encodePdu({
      type: PduType.C2H_DATA,
      cccid: 5,
      ttag: 0,
      datao: 0,
      datal: 512,
      last: false,
      success: false,
      data: new Uint8Array(512),
    }, PLAIN),
    encodePdu({ type: PduType.CAPSULE_RESP, cqe: encodeCqe({ cid: 5, sqid: 1 }) }, PLAIN),
  ]);
  const rsp = await c.host.receive();
  assert.ok(rsp.kind === "response");
  assert.equal(decodeStatus(cqeStatus(rsp.cqe)).sc, GenericStatus.DATA_TRANSFER_ERROR);
  assert.match(rsp.fault ?? "", /sending 512 of 1024 bytes/);
  await c.close();
});

test("host answers a CapsuleResp for a CID with nothing outstanding with FES 1", async () => {
  const c = await rawController();
  await c.raw.writev([
    encodePdu({ type: PduType.CAPSULE_RESP, cqe: encodeCqe({ cid: 9, sqid: 1 }) }, PLAIN),
  ]);
  await expectTermReq(c.reader, PduType.H2C_TERM_REQ, Fes.INVALID_PDU_HEADER_FIELD, 20);
  await assert.rejects(c.host.receive(), /CID 9, which has no command outstanding/);
  await c.close();
});

test("host surfaces a received TermReq as a typed error naming the FES", async () => {
  const c = await rawController();
  const pending = c.host.receive();
  await c.raw.writev([
    encodePdu({
      type: PduType.C2H_TERM_REQ,
      fes: Fes.HEADER_DIGEST_ERROR,
      fei: 0,
      data: new Uint8Array(24),
    }, PLAIN),
  ]);
  await assert.rejects(
    pending,
    (e) =>
      e instanceof TransportError && e.code === "termreq" && e.fes === 3 &&
      /Header digest error/.test(e.message),
  );
  await c.close();
});

test("a header digest mismatch from the controller is fatal: TermReq FES 3", async () => {
  const c = await rawController({ hdgst: true });
  const pdu = encodePdu({ type: PduType.CAPSULE_RESP, cqe: encodeCqe({ cid: 1 }) }, c.opts);
  pdu[25] ^= 1;
  await c.raw.writev([pdu]);
  await expectTermReq(c.reader, PduType.H2C_TERM_REQ, Fes.HEADER_DIGEST_ERROR, undefined);
  await expectHostEnd(c, Fes.HEADER_DIGEST_ERROR);
  await c.close();
});

test("the response for a command ends its data transfers", async () => {
  const c = await rawController();
  await hostRead(c, 1, 512);
  await c.raw.writev([
    encodePdu({ type: PduType.CAPSULE_RESP, cqe: encodeCqe({ cid: 1 }) }, PLAIN),
  ]);
  await c.host.receive();
  const late = c2h(1, 0, new Uint8Array(512), true);
  await c.raw.writev([late]);
  await expectTermReq(c.reader, PduType.H2C_TERM_REQ, Fes.INVALID_PDU_HEADER_FIELD, DATA_CCCID);
  await c.close();
});

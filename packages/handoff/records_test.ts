import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  nvBinary,
  nvBool,
  NvFieldError,
  type NvList,
  nvList,
  nvNumber,
  nvNvList,
  type NvPair,
  nvString,
  packNvList,
  unpackNvList,
} from "./nvlist.ts";
import {
  type ConnectionStatus,
  connectionStatusFromJson,
  connectionStatusFromNvList,
  ConnectionStatusSchema,
  connectionStatusToJson,
  connectionStatusToNvList,
  type ControllerHandoff,
  controllerHandoffFromJson,
  controllerHandoffFromNvList,
  controllerHandoffToJson,
  controllerHandoffToNvList,
  type HostHandoff,
  hostHandoffFromJson,
  hostHandoffFromNvList,
  HostHandoffSchema,
  hostHandoffToJson,
  hostHandoffToNvList,
  HostQpairHandoffSchema,
  type QpairHandoff,
  qpairHandoffFromJson,
  qpairHandoffFromNvList,
  qpairHandoffToJson,
  qpairHandoffToNvList,
  type ReconnectParams,
  reconnectParamsFromJson,
  reconnectParamsFromNvList,
  reconnectParamsToJson,
  reconnectParamsToNvList,
} from "./records.ts";

const FIXTURES = new URL("../../../shared/fixtures/nvlist/", import.meta.url);

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

function fixtureNvJson(name: string): {
  pairs: { name: string; value: unknown }[];
} {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8")).nvlist;
}

/** Byte i is (i XOR (i >> 8)) mod 256, as the fixtures' dle and cdata. */
function pattern(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i ^ (i >> 8)) & 0xff);
}

const SUBNQN = new TextEncoder().encode("nqn.2026-01.test:oracle");
const HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001";

function withNqn(bytes: Uint8Array, at: number): Uint8Array {
  bytes.fill(0, at, at + 256);
  bytes.set(SUBNQN, at);
  return bytes;
}

const hostQpair: QpairHandoff = {
  admin: true,
  sqFlowControl: false,
  qsize: 32,
  sqhd: 5,
  sqtail: 7,
  fd: 3,
  rxpda: 0,
  txpda: 0,
  headerDigests: true,
  dataDigests: false,
  maxr2t: 1,
  maxh2cdata: 131072,
  maxIcd: 8192,
};

const controllerQpair: QpairHandoff = {
  admin: false,
  sqFlowControl: false,
  qsize: 128,
  sqhd: 0,
  fd: 3,
  rxpda: 0,
  txpda: 0,
  headerDigests: true,
  dataDigests: false,
  maxr2t: 1,
  maxh2cdata: 131072,
  maxIcd: 0,
};

function dle(): Uint8Array {
  const b = withNqn(pattern(1024), 256);
  b[0] = 3;
  return b;
}

const rparams: ReconnectParams = {
  dle: dle(),
  hostnqn: HOSTNQN,
  numIoQueues: 2,
  kato: 120000,
  reconnectDelay: 10,
  controllerLossTimeout: 600,
  ioQsize: 128,
  sqFlowControl: false,
  headerDigests: true,
  dataDigests: false,
};

const ioQpair = (fd: number): QpairHandoff => ({
  ...hostQpair,
  admin: false,
  qsize: 128,
  sqhd: 1,
  sqtail: 1,
  fd,
  maxIcd: 16384,
});

const hostHandoff: HostHandoff = {
  trtype: 3,
  kato: 120000,
  reconnectDelay: 10,
  controllerLossTimeout: 600,
  rparams,
  admin: { ...hostQpair, sqtail: 5 },
  io: [ioQpair(4), ioQpair(5)],
  cdata: withNqn(pattern(4096), 768),
};

function connectCmd(qid: number): Uint8Array {
  const cmd = new Uint8Array(64);
  cmd.set([0x7f, 0x40, 0x03, 0x00, 0x01], 0);
  cmd.set([0x00, 0x04], 32);
  cmd[39] = 0x01;
  cmd.set([qid & 0xff, qid >> 8, 0x7f, 0x00, 0x04], 42);
  return cmd;
}

function connectData(): Uint8Array {
  const data = new Uint8Array(1024);
  data[15] = 1;
  data.set([1, 0], 16);
  data.set(SUBNQN, 256);
  data.set(new TextEncoder().encode(HOSTNQN), 512);
  return data;
}

const controllerHandoff: ControllerHandoff = {
  trtype: 3,
  params: controllerQpair,
  cmd: connectCmd(1),
  data: connectData(),
};

/** Asserts that `fn` throws an NvFieldError naming `field` with a reason matching `re`. */
function rejects(fn: () => unknown, field: string, re?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NvFieldError, `not an NvFieldError: ${String(e)}`);
    assert.equal(e.field, field, e.message);
    if (re !== undefined) assert.match(e.reason, re);
    assert.ok(e.message.startsWith(`Cannot use nvlist field "${field}": `));
    return true;
  });
}

/** A copy of `list` with the pair `name` replaced (or removed when `pair` is undefined). */
function edit(list: NvList, name: string, pair?: NvPair): NvList {
  const pairs = list.pairs.flatMap((p) => p.name !== name ? [p] : pair ? [pair] : []);
  return { flags: list.flags, pairs };
}

// ---------------------------------------------------------------------------------------------
// Fixtures

for (const be of ["", ".be"]) {
  const bigEndian = be !== "";

  test(`qpairHandoffFromNvList() reads qpair-host-tcp${be}.nvlist and re-packs it`, () => {
    const bytes = fixture(`qpair-host-tcp${be}.nvlist`);
    const record = qpairHandoffFromNvList(unpackNvList(bytes), "host");
    assert.deepEqual(record, hostQpair);
    assert.deepEqual(packNvList(qpairHandoffToNvList(record, "host"), { bigEndian }), bytes);
  });

  test(`qpairHandoffFromNvList() reads qpair-controller-tcp${be}.nvlist and re-packs it`, () => {
    const bytes = fixture(`qpair-controller-tcp${be}.nvlist`);
    const record = qpairHandoffFromNvList(unpackNvList(bytes), "controller");
    assert.deepEqual(record, controllerQpair);
    assert.deepEqual(
      packNvList(qpairHandoffToNvList(record, "controller"), { bigEndian }),
      bytes,
    );
  });

  test(`hostHandoffFromNvList() reads host-handoff${be}.nvlist and re-packs it`, () => {
    const bytes = fixture(`host-handoff${be}.nvlist`);
    const record = hostHandoffFromNvList(unpackNvList(bytes));
    assert.deepEqual(record, hostHandoff);
    assert.deepEqual(packNvList(hostHandoffToNvList(record), { bigEndian }), bytes);
    // The nested reconnect parameters alone, as NVMF_RECONNECT_PARAMS returns them.
    const rp = reconnectParamsFromNvList(reconnectParamsToNvList(record.rparams));
    assert.deepEqual(rp, rparams);
  });

  test(`controllerHandoffFromNvList() reads controller-handoff${be}.nvlist and re-packs it`, () => {
    const bytes = fixture(`controller-handoff${be}.nvlist`);
    const record = controllerHandoffFromNvList(unpackNvList(bytes));
    assert.deepEqual(record, controllerHandoff);
    assert.deepEqual(packNvList(controllerHandoffToNvList(record), { bigEndian }), bytes);
  });
}

test("the JSON forms match the fixtures' hex and survive JSON.stringify", () => {
  const hostJson = hostHandoffToJson(hostHandoff);
  const fix = fixtureNvJson("host-handoff.json");
  const value = (name: string) => fix.pairs.find((p) => p.name === name)?.value;
  assert.equal(hostJson.cdata, value("cdata"));
  const fixRparams = value("rparams") as { pairs: { name: string; value: unknown }[] };
  assert.equal(hostJson.rparams.dle, fixRparams.pairs.find((p) => p.name === "dle")?.value);
  assert.deepEqual(hostHandoffFromJson(JSON.parse(JSON.stringify(hostJson))), hostHandoff);

  const ctrlJson = controllerHandoffToJson(controllerHandoff);
  const cfix = fixtureNvJson("controller-handoff.json");
  assert.equal(ctrlJson.cmd, cfix.pairs.find((p) => p.name === "cmd")?.value);
  assert.equal(ctrlJson.data, cfix.pairs.find((p) => p.name === "data")?.value);
  assert.deepEqual(
    controllerHandoffFromJson(JSON.parse(JSON.stringify(ctrlJson))),
    controllerHandoff,
  );

  const rpJson = reconnectParamsToJson(rparams);
  assert.equal(rpJson.dle.length, 2048);
  assert.deepEqual(reconnectParamsFromJson(JSON.parse(JSON.stringify(rpJson))), rparams);

  for (const [q, side] of [[hostQpair, "host"], [controllerQpair, "controller"]] as const) {
    const json = JSON.parse(JSON.stringify(qpairHandoffToJson(q, side)));
    assert.deepEqual(qpairHandoffFromJson(json, side), q);
  }

  const status: ConnectionStatus = {
    connected: false,
    lastDisconnect: { tvSec: 1767225600, tvNsec: 999999999 },
  };
  const sJson = JSON.parse(JSON.stringify(connectionStatusToJson(status)));
  assert.deepEqual(connectionStatusFromJson(sJson), status);
});

test("the FromJson readers name the field with malformed hex", () => {
  const hostJson = hostHandoffToJson(hostHandoff);
  rejects(() => hostHandoffFromJson({ ...hostJson, cdata: "0g" }), "cdata", /hex/);
  rejects(
    () => hostHandoffFromJson({ ...hostJson, rparams: { ...hostJson.rparams, dle: "abc" } }),
    "rparams.dle",
    /hex/,
  );
  rejects(() => hostHandoffFromJson({ ...hostJson, cdata: "00" }), "cdata", /4096 bytes/);
  const ctrlJson = controllerHandoffToJson(controllerHandoff);
  rejects(() => controllerHandoffFromJson({ ...ctrlJson, cmd: 7 }), "cmd");
  rejects(() => controllerHandoffFromJson({ ...ctrlJson, data: "00" }), "data", /1024 bytes/);
  rejects(() => reconnectParamsFromJson({ ...reconnectParamsToJson(rparams), dle: "" }), "dle");
  rejects(() => qpairHandoffFromJson({ ...hostQpair, fd: "3" }, "host"), "fd");
  rejects(() => connectionStatusFromJson({ connected: 1 }), "connected");
});

test("the exported schemas are zod schemas with parse() and safeParse()", () => {
  assert.deepEqual(HostQpairHandoffSchema.parse(hostQpair), hostQpair);
  const r = HostHandoffSchema.safeParse({ ...hostHandoff, io: [] });
  assert.equal(r.success, false);
  if (!r.success) assert.deepEqual(r.error.issues[0].path, ["io"]);
  assert.throws(
    () => ConnectionStatusSchema.parse({}),
    (e: unknown) => (e as Error).name === "ZodError",
  );
});

// ---------------------------------------------------------------------------------------------
// Qpair rules (nvmf_validate_qpair_nvlist(), tcp_allocate_qpair(), libnvmf)

test("qpair handoff: qsize bounds depend on admin (kernel nvmf_validate_qpair_nvlist)", () => {
  const host = (q: Partial<QpairHandoff>) => () =>
    qpairHandoffToNvList({ ...hostQpair, ...q }, "host");
  rejects(host({ qsize: 1, sqhd: 0, sqtail: 0 }), "qsize", /outside 2 to 4096 for an admin queue/);
  rejects(host({ qsize: 4097 }), "qsize", /outside 2 to 4096/);
  rejects(host({ admin: false, qsize: 65537 }), "qsize", /outside 2 to 65536 for an I\/O queue/);
  rejects(host({ admin: false, qsize: 1, sqhd: 0, sqtail: 0 }), "qsize", /2 to 65536/);
  rejects(host({ qsize: 2.5 }), "qsize", /integer/);
  assert.equal(
    qpairHandoffToNvList({ ...hostQpair, admin: false, qsize: 65536 }, "host").pairs.length,
    13,
  );
  assert.equal(qpairHandoffToNvList({ ...hostQpair, qsize: 4096 }, "host").pairs.length, 13);
});

test("qpair handoff: sqhd and sqtail are below qsize; sqtail is host only", () => {
  const host = (q: Partial<QpairHandoff>) => () =>
    qpairHandoffToNvList({ ...hostQpair, ...q }, "host");
  rejects(host({ sqhd: 32 }), "sqhd", /not below qsize 32/);
  rejects(host({ sqtail: 32 }), "sqtail", /not below qsize 32/);
  rejects(host({ sqhd: 0x10000 }), "sqhd", /uint16_t/);
  rejects(host({ sqtail: undefined }), "sqtail", /missing on the host side/);
  rejects(
    () => qpairHandoffToNvList({ ...controllerQpair, sqtail: 0 }, "controller"),
    "sqtail",
    /host only/,
  );
  rejects(
    () => qpairHandoffFromNvList(edit(qpairHandoffToNvList(hostQpair, "host"), "sqtail"), "host"),
    "sqtail",
    /missing NUMBER/,
  );
  // The kernel does not read sqtail on the controller side: an extra one is ignored.
  const extra = qpairHandoffToNvList(controllerQpair, "controller");
  extra.pairs.push(nvNumber("sqtail", 1));
  assert.deepEqual(qpairHandoffFromNvList(extra, "controller"), controllerQpair);
});

test("qpair handoff: TCP fields fit the kernel's types and 7.4.10.3", () => {
  const host = (q: Partial<QpairHandoff>) => () =>
    qpairHandoffToNvList({ ...hostQpair, ...q }, "host");
  rejects(host({ fd: -1 }), "fd", /descriptor is an int/);
  rejects(host({ fd: 2 ** 31 }), "fd");
  rejects(host({ rxpda: 129 }), "rxpda", /\(PDA \+ 1\) \* 4/);
  rejects(host({ txpda: 256 }), "txpda");
  rejects(host({ maxr2t: 2 ** 32 }), "maxr2t", /0 to 4294967295/);
  rejects(host({ maxh2cdata: 4092 }), "maxh2cdata", /multiple of 4 of at least 4096/);
  rejects(host({ maxh2cdata: 4098 }), "maxh2cdata", /multiple of 4/);
  rejects(host({ maxh2cdata: 2 ** 32 }), "maxh2cdata");
  rejects(host({ maxIcd: -1 }), "max_icd");
  rejects(host({ headerDigests: 1 as unknown as boolean }), "header_digests");
  rejects(host({ sqFlowControl: undefined as unknown as boolean }), "sq_flow_control");
});

test("qpair handoff: a missing, mistyped or huge nvlist field is named", () => {
  const list = qpairHandoffToNvList(hostQpair, "host");
  rejects(() => qpairHandoffFromNvList(edit(list, "fd"), "host"), "fd", /missing NUMBER/);
  rejects(
    () => qpairHandoffFromNvList(edit(list, "qsize", nvString("qsize", "32")), "host"),
    "qsize",
    /want NUMBER, found STRING/,
  );
  rejects(
    () => qpairHandoffFromNvList(edit(list, "admin", nvNumber("admin", 1)), "host"),
    "admin",
    /want BOOL, found NUMBER/,
  );
  rejects(
    () => qpairHandoffFromNvList(edit(list, "maxr2t", nvNumber("maxr2t", 2n ** 64n - 1n)), "host"),
    "maxr2t",
    /out of range/,
  );
  rejects(
    () => qpairHandoffFromNvList(edit(list, "maxr2t", nvNumber("maxr2t", 2 ** 32)), "host"),
    "maxr2t",
    /0 to 4294967295/,
  );
});

// ---------------------------------------------------------------------------------------------
// Reconnect parameters

test("reconnect params: field rules", () => {
  const rp = (r: Partial<ReconnectParams>) => () => reconnectParamsToNvList({ ...rparams, ...r });
  rejects(rp({ dle: new Uint8Array(1023) }), "dle", /1024 bytes/);
  rejects(rp({ hostnqn: "" }), "hostnqn", /1 to 223 bytes/);
  rejects(rp({ hostnqn: "n".repeat(224) }), "hostnqn", /1 to 223 bytes/);
  rejects(rp({ hostnqn: "nqn\0x" }), "hostnqn", /without NUL/);
  rejects(rp({ numIoQueues: 0 }), "num_io_queues", /at least 1/);
  rejects(rp({ numIoQueues: 65536 }), "num_io_queues", /at most 65535/);
  rejects(rp({ ioQsize: 1 }), "io_qsize", /2 to 65536/);
  rejects(rp({ ioQsize: 65537 }), "io_qsize", /2 to 65536/);
  rejects(rp({ kato: 2 ** 32 }), "kato");
  rejects(rp({ reconnectDelay: -1 }), "reconnect_delay");
  rejects(rp({ controllerLossTimeout: 0.5 }), "controller_loss_timeout");
  rejects(rp({ headerDigests: undefined as unknown as boolean }), "header_digests");
  const list = reconnectParamsToNvList(rparams);
  rejects(() => reconnectParamsFromNvList(edit(list, "hostnqn")), "hostnqn", /missing STRING/);
  rejects(
    () => reconnectParamsFromNvList(edit(list, "kato", nvString("kato", "120"))),
    "kato",
    /want NUMBER, found STRING/,
  );
  rejects(
    () => reconnectParamsFromNvList(edit(list, "dle", nvString("dle", "x"))),
    "dle",
    /want BINARY, found STRING/,
  );
  // The optional numbers may be left out; the list then lacks them, in libnvmf's order.
  const bare: ReconnectParams = { ...rparams };
  delete bare.kato;
  delete bare.reconnectDelay;
  delete bare.controllerLossTimeout;
  const bareList = reconnectParamsToNvList(bare);
  assert.deepEqual(bareList.pairs.map((p) => p.name), [
    "dle",
    "hostnqn",
    "num_io_queues",
    "io_qsize",
    "sq_flow_control",
    "header_digests",
    "data_digests",
  ]);
  assert.deepEqual(reconnectParamsFromNvList(unpackNvList(packNvList(bareList))), bare);
});

// ---------------------------------------------------------------------------------------------
// Host handoff (nvmf_copyin_handoff(), prepare_queues_for_handoff())

test("host handoff: trtype, admin queue and idle queues", () => {
  const h = (r: Partial<HostHandoff>) => () => hostHandoffToNvList({ ...hostHandoff, ...r });
  rejects(h({ trtype: 1 }), "trtype", /must be 3 \(TCP\) or 254 \(intra-host\)/);
  rejects(h({ admin: { ...hostHandoff.admin, admin: false } }), "admin.admin", /must be true/);
  rejects(h({ admin: { ...hostHandoff.admin, sqtail: 6 } }), "admin.sqtail", /differs from sqhd 5/);
  rejects(h({ admin: { ...hostHandoff.admin, qsize: 5000 } }), "admin.qsize", /2 to 4096/);
  rejects(h({ admin: { ...hostHandoff.admin, sqtail: undefined } }), "admin.sqtail", /missing/);
  rejects(h({ kato: -5 }), "kato");
  rejects(h({ cdata: new Uint8Array(4095) }), "cdata", /4096 bytes/);
});

test("host handoff: I/O queue count and sizes match rparams", () => {
  const h = (r: Partial<HostHandoff>) => () => hostHandoffToNvList({ ...hostHandoff, ...r });
  const [a, b] = hostHandoff.io;
  rejects(h({ io: [a] }), "io", /1 queues, rparams.num_io_queues says 2/);
  rejects(h({ io: [], rparams: { ...rparams, numIoQueues: 1 } }), "io", /0 queues/);
  rejects(h({ io: [a, { ...b, qsize: 64 }] }), "io[1].qsize", /differs from rparams.io_qsize 128/);
  rejects(h({ io: [a, { ...b, admin: true, qsize: 128 }] }), "io[1].admin", /false for an I\/O/);
  rejects(h({ io: [{ ...a, sqtail: 2 }, b] }), "io[0].sqtail", /busy/);
  rejects(h({ io: [a, { ...b, sqhd: 128, sqtail: 128 }] }), "io[1].sqhd", /not below qsize/);
  rejects(h({ rparams: { ...rparams, numIoQueues: 0 } }), "rparams.num_io_queues");
  rejects(h({ rparams: { ...rparams, ioQsize: 1 } }), "rparams.io_qsize");
});

test("host handoff: dle and cdata agree on the subsystem and transport", () => {
  const h = (r: Partial<HostHandoff>) => () => hostHandoffToNvList({ ...hostHandoff, ...r });
  const cdata = hostHandoff.cdata.slice();
  cdata[768 + 255] = 1; // last byte of SUBNQN
  rejects(h({ cdata }), "cdata", /SUBNQN differs/);
  const other = dle();
  other[0] = 254; // TRTYPE intra-host, which has no digest fields
  const { headerDigests: _h, dataDigests: _d, ...bare } = rparams;
  rejects(h({ rparams: { ...bare, dle: other } }), "rparams.dle", /TRTYPE 254 differs from/);
  rejects(h({ rparams: { ...rparams, dle: new Uint8Array(512) } }), "rparams.dle", /1024 bytes/);
  // Bytes of dle and cdata outside SUBNQN (and dle's TRTYPE) are not compared.
  const cdata2 = hostHandoff.cdata.slice();
  cdata2[0] ^= 0xff;
  assert.ok(hostHandoffToNvList({ ...hostHandoff, cdata: cdata2 }));
});

test("host handoff: missing or mistyped nvlist fields are named with their path", () => {
  const list = hostHandoffToNvList(hostHandoff);
  rejects(() => hostHandoffFromNvList(edit(list, "io")), "io", /missing NVLIST_ARRAY/);
  rejects(
    () => hostHandoffFromNvList(edit(list, "io", nvNvList("io", nvList()))),
    "io",
    /want NVLIST_ARRAY, found NVLIST/,
  );
  rejects(() => hostHandoffFromNvList(edit(list, "cdata")), "cdata", /missing BINARY/);
  rejects(() => hostHandoffFromNvList(edit(list, "trtype")), "trtype", /missing NUMBER/);
  rejects(
    () => hostHandoffFromNvList(edit(list, "kato", nvBool("kato", true))),
    "kato",
    /want NUMBER, found BOOL/,
  );
  const rp = list.pairs.find((p) => p.name === "rparams")!.value as NvList;
  rejects(
    () => hostHandoffFromNvList(edit(list, "rparams", nvNvList("rparams", edit(rp, "io_qsize")))),
    "rparams.io_qsize",
    /missing NUMBER/,
  );
  const io = list.pairs.find((p) => p.name === "io")!.value as NvList[];
  const badIo = [io[0], edit(io[1], "qsize", nvNumber("qsize", 64))];
  rejects(
    () => hostHandoffFromNvList(edit(list, "io", { name: "io", type: 11, value: badIo })),
    "io[1].qsize",
    /differs from rparams.io_qsize/,
  );
  const admin = list.pairs.find((p) => p.name === "admin")!.value as NvList;
  rejects(
    () => hostHandoffFromNvList(edit(list, "admin", nvNvList("admin", edit(admin, "fd")))),
    "admin.fd",
    /missing NUMBER/,
  );
  // Without the optional numbers, as the kernel's dnvlist_get_number() allows.
  const bare = edit(edit(edit(list, "kato"), "reconnect_delay"), "controller_loss_timeout");
  const rec = hostHandoffFromNvList(bare);
  assert.equal(rec.kato, undefined);
  assert.deepEqual(hostHandoffToNvList(rec), bare);
});

// ---------------------------------------------------------------------------------------------
// Controller handoff (nvmft_handoff())

test("controller handoff: field rules", () => {
  const c = (r: Partial<ControllerHandoff>) => () =>
    controllerHandoffToNvList({ ...controllerHandoff, ...r });
  rejects(c({ trtype: 1 }), "trtype", /must be 3 \(TCP\) or 254/);
  rejects(c({ trtype: 254 }), "params.fd", /TCP only/);
  rejects(c({ cmd: new Uint8Array(63) }), "cmd", /64 bytes/);
  rejects(c({ data: new Uint8Array(1025) }), "data", /1024 bytes/);
  rejects(c({ params: { ...controllerQpair, sqtail: 0 } }), "params.sqtail", /host only/);
  rejects(c({ params: { ...controllerQpair, sqhd: 128 } }), "params.sqhd", /not below/);
  const empty = connectData();
  empty.fill(0, 256, 512);
  rejects(c({ data: empty }), "data", /SUBNQN is not 1 to 223 bytes/);
  const long = connectData();
  long.fill(0x61, 256, 256 + 224);
  rejects(c({ data: long }), "data", /SUBNQN/);
  const unterminated = connectData();
  unterminated.fill(0x61, 256, 512);
  rejects(c({ data: unterminated }), "data", /ended by a NUL/);
  rejects(c({ cmd: connectCmd(0) }), "cmd", /QID 0 does not match params.admin false/);
  rejects(
    c({ params: { ...controllerQpair, admin: true, qsize: 32 } }),
    "cmd",
    /QID 1 does not match params.admin true/,
  );
  assert.ok(
    controllerHandoffToNvList({
      ...controllerHandoff,
      cmd: connectCmd(0),
      params: { ...controllerQpair, admin: true, qsize: 32 },
    }),
  );
  const list = controllerHandoffToNvList(controllerHandoff);
  rejects(() => controllerHandoffFromNvList(edit(list, "cmd")), "cmd", /missing BINARY/);
  rejects(
    () => controllerHandoffFromNvList(edit(list, "data", nvBinary("data", new Uint8Array(1)))),
    "data",
    /1024 bytes/,
  );
  const params = list.pairs.find((p) => p.name === "params")!.value as NvList;
  rejects(
    () =>
      controllerHandoffFromNvList(
        edit(list, "params", nvNvList("params", edit(params, "max_icd"))),
      ),
    "params.max_icd",
    /missing NUMBER/,
  );
});

// ---------------------------------------------------------------------------------------------
// Connection status (kernel nvmf_connection_status())

test("connection status: packs connected then last_disconnect { tv_sec, tv_nsec }", () => {
  const status: ConnectionStatus = {
    connected: true,
    lastDisconnect: { tvSec: 1767225600, tvNsec: 500 },
  };
  const bytes = packNvList(connectionStatusToNvList(status));
  // header 19; "connected" 19+10+1; "last_disconnect" 19+16, child header 19,
  // "tv_sec" 19+7+8, "tv_nsec" 19+8+8, end marker 20.
  assert.equal(bytes.length, 19 + 30 + 35 + 19 + 34 + 35 + 20);
  const view = new DataView(bytes.buffer);
  assert.equal(bytes[19], 2); // BOOL
  assert.equal(bytes[49], 5); // NVLIST
  // nvlist_size() of the child: its header plus the pairs after it.
  assert.equal(view.getBigUint64(49 + 3, true), BigInt(19 + 34 + 35));
  assert.deepEqual(connectionStatusFromNvList(unpackNvList(bytes)), status);
  assert.deepEqual(
    connectionStatusFromNvList(unpackNvList(packNvList(connectionStatusToNvList(status), {
      bigEndian: true,
    }))),
    status,
  );
});

test("connection status: field rules", () => {
  const ok: ConnectionStatus = { connected: false, lastDisconnect: { tvSec: 0, tvNsec: 0 } };
  rejects(
    () => connectionStatusToNvList({ ...ok, lastDisconnect: { tvSec: 0, tvNsec: 1e9 } }),
    "last_disconnect.tv_nsec",
    /0 to 999999999/,
  );
  rejects(
    () => connectionStatusToNvList({ ...ok, lastDisconnect: { tvSec: -1, tvNsec: 0 } }),
    "last_disconnect.tv_sec",
  );
  const list = connectionStatusToNvList(ok);
  rejects(
    () => connectionStatusFromNvList(edit(list, "last_disconnect")),
    "last_disconnect",
    /missing NVLIST/,
  );
  rejects(
    () => connectionStatusFromNvList(edit(list, "connected", nvNumber("connected", 1))),
    "connected",
    /want BOOL, found NUMBER/,
  );
  rejects(
    () =>
      connectionStatusFromNvList(
        edit(list, "last_disconnect", nvNvList("last_disconnect", nvList([nvNumber("tv_sec", 1)]))),
      ),
    "last_disconnect.tv_nsec",
    /missing NUMBER/,
  );
});

// ---------------------------------------------------------------------------------------------
// Hand-computed bytes of a host TCP qpair list

test("packNvList() of a host TCP qpair list: 451 bytes, every one computed from libnv's rules", () => {
  const record: QpairHandoff = {
    admin: true,
    sqFlowControl: true,
    qsize: 32,
    sqhd: 8,
    sqtail: 8,
    fd: 0,
    rxpda: 4,
    txpda: 4,
    headerDigests: false,
    dataDigests: true,
    maxr2t: 0,
    maxh2cdata: 131072,
    maxIcd: 8192,
  };
  // libnv (nvlist.c, nvpair.c), little-endian: the nvlist header is magic 'l' (0x6c), version 0,
  // flags 0, descriptors u64, size u64 (the bytes after it) = 19 bytes. Each pair is type u8,
  // namesize u16 (NUL included), datasize u64, nitems u64 (19 bytes), the name, then the data:
  // BOOL (2) one byte, NUMBER (3) eight. The top list has no end marker.
  const le64 = (n: number) => Array.from({ length: 8 }, (_, i) => Math.floor(n / 256 ** i) & 0xff);
  const le16 = (n: number) => [n & 0xff, n >> 8];
  const name = (s: string) => [...new TextEncoder().encode(s), 0];
  const bool = (
    s: string,
    v: boolean,
  ) => [2, ...le16(s.length + 1), ...le64(1), ...le64(0), ...name(s), v ? 1 : 0];
  const number = (
    s: string,
    v: number,
  ) => [3, ...le16(s.length + 1), ...le64(8), ...le64(0), ...name(s), ...le64(v)];
  // Pair sizes, 19 + namesize + datasize: admin 26, sq_flow_control 36, qsize 33, sqhd 32,
  // sqtail 34, fd 30, rxpda 33, txpda 33, header_digests 35, data_digests 33, maxr2t 34,
  // maxh2cdata 38, max_icd 35: 432 bytes after the 19-byte header, 451 in all.
  const pairs = [
    bool("admin", true),
    bool("sq_flow_control", true),
    number("qsize", 32),
    number("sqhd", 8),
    number("sqtail", 8),
    number("fd", 0),
    number("rxpda", 4),
    number("txpda", 4),
    bool("header_digests", false),
    bool("data_digests", true),
    number("maxr2t", 0),
    number("maxh2cdata", 131072),
    number("max_icd", 8192),
  ];
  assert.deepEqual(
    pairs.map((p) => p.length),
    [26, 36, 33, 32, 34, 30, 33, 33, 35, 33, 34, 38, 35],
  );
  const expected = [0x6c, 0, 0, ...le64(0), ...le64(432), ...pairs.flat()];
  assert.equal(expected.length, 451);
  // A few bytes spelled out: sqtail's pair starts at 19 + 26 + 36 + 33 + 32 = 146.
  assert.deepEqual(expected.slice(146, 149), [3, 7, 0]);
  assert.deepEqual(expected.slice(146 + 19, 146 + 26), [...new TextEncoder().encode("sqtail"), 0]);
  assert.equal(expected[146 + 26], 8);
  // maxh2cdata's value, 131072 = 0x20000, is at 451 - 35 - 8.
  assert.deepEqual(expected.slice(451 - 35 - 8, 451 - 35), [0, 0, 2, 0, 0, 0, 0, 0]);

  const bytes = packNvList(qpairHandoffToNvList(record, "host"));
  assert.deepEqual([...bytes], expected);
  assert.deepEqual(qpairHandoffFromNvList(unpackNvList(bytes), "host"), record);
  // Big-endian: flags 0x80 and every integer swapped; it decodes to the same record.
  const be = packNvList(qpairHandoffToNvList(record, "host"), { bigEndian: true });
  assert.equal(be.length, 451);
  assert.equal(be[2], 0x80);
  assert.deepEqual([...be.subarray(11, 19)], [0, 0, 0, 0, 0, 0, 0x01, 0xb0]); // size 432
  assert.deepEqual(qpairHandoffFromNvList(unpackNvList(be), "host"), record);
  // The controller side of the same queue: no sqtail pair, 34 bytes fewer.
  const { sqtail: _, ...controller } = record;
  assert.equal(packNvList(qpairHandoffToNvList(controller, "controller")).length, 451 - 34);
});

// ---------------------------------------------------------------------------------------------
// Transport-independent (trtype 254) records

const loopQpair: QpairHandoff = {
  admin: true,
  sqFlowControl: false,
  qsize: 32,
  sqhd: 9,
  sqtail: 9,
};

function loopDle(): Uint8Array {
  const b = dle();
  b[0] = 254;
  return b;
}

const loopHandoff: HostHandoff = {
  trtype: 254,
  kato: 0,
  reconnectDelay: 0,
  controllerLossTimeout: 0,
  rparams: {
    dle: loopDle(),
    hostnqn: HOSTNQN,
    numIoQueues: 1,
    kato: 0,
    reconnectDelay: 0,
    controllerLossTimeout: 0,
    ioQsize: 128,
    sqFlowControl: false,
  },
  admin: loopQpair,
  io: [{ ...loopQpair, admin: false, qsize: 128, sqhd: 3, sqtail: 3 }],
  cdata: withNqn(pattern(4096), 768),
};

test("trtype 254 records round-trip through both byte orders and JSON", () => {
  for (const bigEndian of [false, true]) {
    const q = packNvList(qpairHandoffToNvList(loopQpair, "host", 254), { bigEndian });
    // Header 19 + admin 26 + sq_flow_control 36 + qsize 33 + sqhd 32 + sqtail 34.
    assert.equal(q.length, 180);
    assert.deepEqual(qpairHandoffFromNvList(unpackNvList(q), "host", 254), loopQpair);

    const h = packNvList(hostHandoffToNvList(loopHandoff), { bigEndian });
    assert.deepEqual(hostHandoffFromNvList(unpackNvList(h)), loopHandoff);
    const r = packNvList(reconnectParamsToNvList(loopHandoff.rparams), { bigEndian });
    assert.deepEqual(reconnectParamsFromNvList(unpackNvList(r)), loopHandoff.rparams);

    const { sqtail: _, ...params } = loopQpair;
    const c: ControllerHandoff = {
      ...controllerHandoff,
      trtype: 254,
      params: { ...params, qsize: 128, admin: false, sqhd: 0 },
    };
    const cb = packNvList(controllerHandoffToNvList(c), { bigEndian });
    assert.deepEqual(controllerHandoffFromNvList(unpackNvList(cb)), c);
    assert.deepEqual(
      controllerHandoffFromJson(JSON.parse(JSON.stringify(controllerHandoffToJson(c)))),
      c,
    );
  }
  assert.deepEqual(
    hostHandoffFromJson(JSON.parse(JSON.stringify(hostHandoffToJson(loopHandoff)))),
    loopHandoff,
  );
  assert.deepEqual(
    qpairHandoffFromJson(qpairHandoffToJson(loopQpair, "host", 254), "host", 254),
    loopQpair,
  );
  assert.deepEqual(
    reconnectParamsFromJson(reconnectParamsToJson(loopHandoff.rparams)),
    loopHandoff.rparams,
  );
  // A TCP reader of a TCP list ignores nothing; a 254 reader ignores the TCP pairs.
  const tcpList = qpairHandoffToNvList(hostQpair, "host");
  const {
    fd: _f,
    rxpda: _r,
    txpda: _t,
    headerDigests: _h,
    dataDigests: _d,
    maxr2t: _m,
    maxh2cdata: _x,
    maxIcd: _i,
    ...bare
  } = hostQpair;
  assert.deepEqual(qpairHandoffFromNvList(tcpList, "host", 254), bare);
});

test("trtype 254 records: only the transport-independent fields, and only trtypes 3 and 254", () => {
  rejects(() => qpairHandoffToNvList(hostQpair, "host", 254), "fd", /TCP only \(trtype 254/);
  rejects(() => qpairHandoffToNvList(loopQpair, "host"), "fd", /missing from a TCP qpair list/);
  rejects(() => qpairHandoffToNvList(loopQpair, "host", 1), "trtype", /must be 3 \(TCP\) or 254/);
  rejects(() => qpairHandoffFromNvList(nvList(), "host", 2), "trtype");
  rejects(
    () => hostHandoffToNvList({ ...loopHandoff, io: [{ ...loopHandoff.io[0], maxIcd: 0 }] }),
    "io[0].max_icd",
    /TCP only/,
  );
  rejects(
    () => hostHandoffToNvList({ ...hostHandoff, admin: { ...loopQpair, sqhd: 5, sqtail: 5 } }),
    "admin.fd",
    /missing from a TCP/,
  );
  rejects(
    () => hostHandoffToNvList({ ...loopHandoff, rparams: { ...loopHandoff.rparams, dle: dle() } }),
    "rparams.header_digests",
    /missing while the dle's TRTYPE is TCP/,
  );
  rejects(
    () =>
      reconnectParamsToNvList({ ...loopHandoff.rparams, headerDigests: true, dataDigests: true }),
    "header_digests",
    /TCP only/,
  );
  rejects(
    () =>
      hostHandoffFromNvList(
        edit(hostHandoffToNvList(loopHandoff), "trtype", nvNumber("trtype", 1)),
      ),
    "trtype",
    /must be 3 \(TCP\) or 254/,
  );
  // A 254 list read as TCP misses its TCP fields, named with their path.
  rejects(
    () =>
      hostHandoffFromNvList(
        edit(hostHandoffToNvList(loopHandoff), "trtype", nvNumber("trtype", 3)),
      ),
    "admin.fd",
    /missing NUMBER/,
  );
});

test("every truncation of a packed host handoff is refused, naming an offset", () => {
  for (const record of [hostHandoff, loopHandoff]) {
    const bytes = packNvList(hostHandoffToNvList(record));
    for (let n = 0; n < bytes.length; n += n < 64 ? 1 : 97) {
      for (const strict of [true, false]) {
        assert.throws(
          () => unpackNvList(bytes.subarray(0, n), { strict }),
          (e: unknown) => e instanceof Error && e.name === "NvListError",
          `length ${n}`,
        );
      }
    }
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AdminOpcode,
  CNTLID_DYNAMIC,
  CNTLID_STATIC_ANY,
  CONNECT_DATA_CNTLID,
  CONNECT_DATA_HOSTID,
  CONNECT_DATA_HOSTNQN,
  CONNECT_DATA_SIZE,
  CONNECT_DATA_SUBNQN,
  CONNECT_QID,
  CONNECT_SQSIZE,
  ConnectAttributes,
  type ConnectData,
  decodeConnect,
  decodeConnectInvalidParameter,
  decodeStatus,
  DISCOVERY_NQN,
  encodeConnect,
  encodeConnectData,
  FabricsStatus,
  FeatureId,
  GenericStatus,
  NvmOpcode,
  Property,
  StatusCodeType,
  statusOf,
} from "@nvmf/proto";
import { Association, type AssociationParams, DEFAULT_ASSOCIATION_PARAMS } from "@nvmf/transport";
import {
  type AdmissionState,
  admitConnect,
  checkConnectCommand,
  type ConnectableController,
} from "./_connect.ts";
import type { IoQueueCheck } from "./controller.ts";
import { Subsystem } from "./subsystem.ts";
import {
  CC_ENABLE,
  connectController,
  connectQueue,
  HOSTID,
  HOSTNQN,
  startTarget,
  SUBNQN,
} from "./_testing.ts";

function statusOfCqe(cqe: { status: number }): { sct: number; sc: number; dnr: boolean } {
  const s = decodeStatus(cqe.status);
  return { sct: s.sct, sc: s.sc, dnr: s.dnr };
}

const G = StatusCodeType.GENERIC;
const C = StatusCodeType.COMMAND_SPECIFIC;
const INVALID_OPCODE = GenericStatus.INVALID_COMMAND_OPCODE;
const INVALID_PARAMETERS_STATUS = statusOf(C, FabricsStatus.CONNECT_INVALID_PARAMETERS, true);

const invalidParameters = {
  sct: StatusCodeType.COMMAND_SPECIFIC,
  sc: FabricsStatus.CONNECT_INVALID_PARAMETERS,
  dnr: true,
};

test("Connect creates a controller with a fresh CNTLID on the admin queue (dynamic model)", async () => {
  const t = await startTarget();
  const created: number[] = [];
  t.target.on("controller-created", (e) => created.push(e.cntlid));
  const a = await connectQueue(t.transport, "t", { subnqn: SUBNQN });
  assert.equal(a.cqe.status, 0);
  assert.equal(a.cqe.dw0 & 0xffff, 1);
  assert.equal(a.cqe.sqhd, 1); // SQ flow control: the Connect consumed one entry
  const b = await connectQueue(t.transport, "t", { subnqn: SUBNQN });
  assert.equal(b.cqe.dw0 & 0xffff, 2);
  assert.deepEqual(created, [1, 2]);
  assert.equal(t.target.controllers.length, 2);
  await a.queue.close();
  await b.queue.close();
  await t.target.close();
  assert.deepEqual(t.errors, []);
});

test("Connect of an I/O queue joins the host's controller and serves I/O", async () => {
  const t = await startTarget();
  const { admin, cntlid } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const io = await connectQueue(t.transport, "t", { subnqn: SUBNQN, qid: 1, cntlid, qsize: 128 });
  assert.equal(io.cqe.status, 0);
  assert.equal(io.cqe.dw0 & 0xffff, cntlid);
  const cqe = await io.queue.command({ opcode: NvmOpcode.FLUSH, nsid: 1 });
  assert.equal(cqe.status, 0);
  assert.equal(cqe.sqid, 1);
  await io.queue.close();
  await admin.close();
  await t.target.close();
});

test("Connect refuses an admin CNTLID other than FFFFh in the dynamic model", async () => {
  const t = await startTarget();
  const { queue, cqe } = await connectQueue(t.transport, "t", { subnqn: SUBNQN, cntlid: 5 });
  assert.deepEqual(statusOfCqe(cqe), invalidParameters);
  assert.deepEqual(decodeConnectInvalidParameter(cqe), {
    inData: true,
    offset: CONNECT_DATA_CNTLID,
  });
  await queue.qp.closed;
  await t.target.close();
});

test("Connect in the static model takes the CNTLID asked for, FFFEh for any, and refuses a busy one", async () => {
  const t = await startTarget({}, { associationParams: { dynamicControllerModel: false } });
  const a = await connectQueue(t.transport, "t", { subnqn: SUBNQN, cntlid: 7 });
  assert.equal(a.cqe.status, 0);
  assert.equal(a.cqe.dw0 & 0xffff, 7);
  const b = await connectQueue(t.transport, "t", { subnqn: SUBNQN, cntlid: CNTLID_STATIC_ANY });
  assert.equal(b.cqe.dw0 & 0xffff, 1);
  const c = await connectQueue(t.transport, "t", { subnqn: SUBNQN, cntlid: 7 });
  assert.deepEqual(statusOfCqe(c.cqe), {
    sct: StatusCodeType.COMMAND_SPECIFIC,
    sc: FabricsStatus.CONNECT_CONTROLLER_BUSY,
    dnr: true,
  });
  const d = await connectQueue(t.transport, "t", { subnqn: SUBNQN, cntlid: 0xffff });
  assert.deepEqual(decodeConnectInvalidParameter(d.cqe), {
    inData: true,
    offset: CONNECT_DATA_CNTLID,
  });
  await a.queue.close();
  await b.queue.close();
  await t.target.close();
});

test("Connect to an unknown subsystem names SUBNQN in the Connect data", async () => {
  const t = await startTarget();
  const rejected: string[] = [];
  t.target.on("connect-rejected", (e) => rejected.push(e.reason));
  const { cqe } = await connectQueue(t.transport, "t", { subnqn: "nqn.2026-01.dev.nvmf:nope" });
  assert.deepEqual(statusOfCqe(cqe), invalidParameters);
  assert.deepEqual(decodeConnectInvalidParameter(cqe), {
    inData: true,
    offset: CONNECT_DATA_SUBNQN,
  });
  assert.equal(rejected.length, 1);
  await t.target.close();
});

test("Connect to a subsystem the port does not serve is refused like an unknown one", async () => {
  const t = await startTarget({}, { subsystems: [] });
  const { cqe } = await connectQueue(t.transport, "t", { subnqn: SUBNQN });
  assert.deepEqual(decodeConnectInvalidParameter(cqe), {
    inData: true,
    offset: CONNECT_DATA_SUBNQN,
  });
  await t.target.close();
});

test("Connect from a host that is not allowed is answered as for an unknown subsystem", async () => {
  const t = await startTarget();
  t.subsystem.allowAnyHost = false;
  t.subsystem.allowHost("nqn.2026-01.dev.nvmf:someone-else");
  const { queue, cqe } = await connectQueue(t.transport, "t", { subnqn: SUBNQN });
  assert.deepEqual(statusOfCqe(cqe), {
    sct: StatusCodeType.COMMAND_SPECIFIC,
    sc: FabricsStatus.CONNECT_INVALID_PARAMETERS,
    dnr: true,
  });
  assert.equal(cqe.dw0, (1 << 16) | CONNECT_DATA_SUBNQN);
  assert.equal(await queue.qp.closed, undefined);
  // Byte for byte what a subsystem that does not exist gets: nothing tells them apart.
  const unknown = await connectQueue(t.transport, "t", { subnqn: "nqn.2026-01.dev.nvmf:nope" });
  assert.deepEqual(unknown.cqe, cqe);
  await unknown.queue.qp.closed;
  t.subsystem.allowHost(HOSTNQN);
  const ok = await connectQueue(t.transport, "t", { subnqn: SUBNQN });
  assert.equal(ok.cqe.status, 0);
  await ok.queue.close();
  await t.target.close();
});

test("Connect checks SQSIZE against the admin and I/O limits and names it in the SQE", async () => {
  const t = await startTarget({}, { associationParams: { maxAdminQsize: 32, maxIoQsize: 64 } });
  const big = await connectQueue(t.transport, "t", { subnqn: SUBNQN, qsize: 33 });
  assert.deepEqual(statusOfCqe(big.cqe), invalidParameters);
  assert.deepEqual(decodeConnectInvalidParameter(big.cqe), {
    inData: false,
    offset: CONNECT_SQSIZE,
  });
  const zero = await connectQueue(t.transport, "t", { subnqn: SUBNQN, sqsize: 0 });
  assert.deepEqual(decodeConnectInvalidParameter(zero.cqe), {
    inData: false,
    offset: CONNECT_SQSIZE,
  });
  const { admin, cntlid } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const io = await connectQueue(t.transport, "t", { subnqn: SUBNQN, qid: 1, cntlid, qsize: 65 });
  assert.deepEqual(decodeConnectInvalidParameter(io.cqe), {
    inData: false,
    offset: CONNECT_SQSIZE,
  });
  const ok = await connectQueue(t.transport, "t", { subnqn: SUBNQN, qid: 1, cntlid, qsize: 64 });
  assert.equal(ok.cqe.status, 0);
  await ok.queue.close();
  await admin.close();
  await t.target.close();
});

test("Connect of an I/O queue naming an unknown CNTLID is refused with IPO CNTLID", async () => {
  const t = await startTarget();
  const { admin, cntlid } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const unknown = await connectQueue(t.transport, "t", {
    subnqn: SUBNQN,
    qid: 1,
    cntlid: cntlid + 9,
  });
  assert.deepEqual(statusOfCqe(unknown.cqe), invalidParameters);
  assert.deepEqual(decodeConnectInvalidParameter(unknown.cqe), {
    inData: true,
    offset: CONNECT_DATA_CNTLID,
  });
  const dynamic = await connectQueue(t.transport, "t", { subnqn: SUBNQN, qid: 1, cntlid: 0xffff });
  assert.deepEqual(decodeConnectInvalidParameter(dynamic.cqe), {
    inData: true,
    offset: CONNECT_DATA_CNTLID,
  });
  const otherHost = await connectQueue(t.transport, "t", {
    subnqn: SUBNQN,
    qid: 1,
    cntlid,
    hostnqn: "nqn.2026-01.dev.nvmf:intruder",
  });
  assert.deepEqual(decodeConnectInvalidParameter(otherHost.cqe), {
    inData: true,
    offset: CONNECT_DATA_HOSTNQN,
  });
  await admin.close();
  await t.target.close();
});

test("Connect of an I/O queue with another HOSTID is accepted and noticed once (as Linux)", async () => {
  const t = await startTarget();
  const notices: string[] = [];
  t.target.on("notice", (e) => notices.push(e.message));
  const { admin, cntlid } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  const queues = [];
  for (const qid of [1, 2]) {
    const q = await connectQueue(t.transport, "t", {
      subnqn: SUBNQN,
      qid,
      cntlid,
      hostid: new Uint8Array(16).fill(0x50 + qid),
    });
    assert.equal(q.cqe.status, 0, `queue ${qid}`);
    assert.equal(q.cqe.dw0 & 0xffff, cntlid);
    queues.push(q.queue);
  }
  assert.equal(notices.length, 1);
  assert.match(notices[0], new RegExp(`controller ${cntlid} .*another HOSTID`));
  for (const q of queues) await q.close();
  await admin.close();
  await t.target.close();
});

test("Connect of an I/O queue needs a ready controller, a free QID within Number of Queues", async () => {
  const t = await startTarget();
  const a = await connectQueue(t.transport, "t", { subnqn: SUBNQN });
  const cntlid = a.cqe.dw0 & 0xffff;
  const early = await connectQueue(t.transport, "t", { subnqn: SUBNQN, qid: 1, cntlid });
  assert.deepEqual(statusOfCqe(early.cqe), {
    sct: StatusCodeType.GENERIC,
    sc: GenericStatus.COMMAND_SEQUENCE_ERROR,
    dnr: true,
  });
  await a.queue.propertySet(Property.CC, CC_ENABLE);
  const nq = await a.queue.command({
    opcode: AdminOpcode.SET_FEATURES,
    cdw10: FeatureId.NUMBER_OF_QUEUES,
    cdw11: 0x00010001, // two SQs and CQs
  });
  assert.equal(nq.dw0, 0x00010001);
  const q1 = await connectQueue(t.transport, "t", { subnqn: SUBNQN, qid: 1, cntlid });
  assert.equal(q1.cqe.status, 0);
  const again = await connectQueue(t.transport, "t", { subnqn: SUBNQN, qid: 1, cntlid });
  assert.deepEqual(statusOfCqe(again.cqe), {
    sct: StatusCodeType.GENERIC,
    sc: GenericStatus.COMMAND_SEQUENCE_ERROR,
    dnr: true,
  });
  const q3 = await connectQueue(t.transport, "t", { subnqn: SUBNQN, qid: 3, cntlid });
  assert.deepEqual(decodeConnectInvalidParameter(q3.cqe), { inData: false, offset: CONNECT_QID });
  await q1.queue.close();
  await a.queue.close();
  await t.target.close();
});

test("Connect with a record format other than 0 gets CONNECT_INCOMPATIBLE_FORMAT", async () => {
  const t = await startTarget();
  const { cqe } = await connectQueue(t.transport, "t", { subnqn: SUBNQN, recfmt: 1 });
  assert.deepEqual(statusOfCqe(cqe), {
    sct: StatusCodeType.COMMAND_SPECIFIC,
    sc: FabricsStatus.CONNECT_INCOMPATIBLE_FORMAT,
    dnr: true,
  });
  await t.target.close();
});

test("Connect refuses a zero host identifier and an I/O queue on the discovery controller", async () => {
  const t = await startTarget();
  const zero = await connectQueue(t.transport, "t", { subnqn: SUBNQN, hostid: new Uint8Array(16) });
  assert.deepEqual(decodeConnectInvalidParameter(zero.cqe), {
    inData: true,
    offset: CONNECT_DATA_HOSTID,
  });
  const disc = await connectQueue(t.transport, "t", { subnqn: DISCOVERY_NQN, qid: 1, cntlid: 1 });
  assert.deepEqual(decodeConnectInvalidParameter(disc.cqe), { inData: false, offset: CONNECT_QID });
  await t.target.close();
});

test("a first command that is not a Connect gets INVALID_COMMAND_OPCODE and the queue closes", async () => {
  const t = await startTarget();
  const na = new Association(t.transport, false);
  const qp = await t.transport.connect(na, {
    address: { traddr: "t" },
    admin: true,
    qid: 0,
    qsize: 8,
  });
  const { HostQueue } = await import("./_testing.ts");
  const queue = new HostQueue(qp);
  const cqe = await queue.command({ opcode: AdminOpcode.KEEP_ALIVE });
  assert.deepEqual(statusOfCqe(cqe), {
    sct: StatusCodeType.GENERIC,
    sc: GenericStatus.INVALID_COMMAND_OPCODE,
    dnr: true,
  });
  assert.equal(await qp.closed, undefined);
  await t.target.close();
});

test("Connect with CATTR asking to disable SQ flow control gets SQHD FFFFh when the port allows it", async () => {
  const t = await startTarget();
  const a = await connectQueue(t.transport, "t", {
    subnqn: SUBNQN,
    cattr: ConnectAttributes.DISABLE_SQ_FLOW_CONTROL,
    sqFlowControl: false,
  });
  assert.equal(a.cqe.status, 0);
  assert.equal(a.cqe.sqhd, 0xffff);
  assert.equal(a.queue.qp.sqFlowControl, false);
  await a.queue.propertySet(Property.CC, CC_ENABLE);
  const { value } = await a.queue.propertyGet(Property.CSTS);
  assert.equal(value & 1n, 1n);
  const cqe = await a.queue.command({ opcode: AdminOpcode.KEEP_ALIVE });
  assert.equal(cqe.sqhd, 0xffff); // SQHD_FLOW_CONTROL_DISABLED, as Linux and FreeBSD answer
  await a.queue.close();
  await t.target.close();
});

test("a port that requires SQ flow control keeps it when the host asks to disable it", async () => {
  const t = await startTarget({}, { associationParams: { sqFlowControl: true } });
  const a = await connectQueue(t.transport, "t", {
    subnqn: SUBNQN,
    cattr: ConnectAttributes.DISABLE_SQ_FLOW_CONTROL,
  });
  assert.equal(a.cqe.status, 0);
  assert.equal(a.cqe.sqhd, 1);
  await a.queue.close();
  await t.target.close();
});

test("a queue pair that never sends its Connect is closed after the connect timeout", async () => {
  const t = await startTarget({ connectTimeout: 20 });
  const errors: string[] = [];
  t.target.on("error", (e) => errors.push(e.message));
  const na = new Association(t.transport, false);
  const qp = await t.transport.connect(na, {
    address: { traddr: "t" },
    admin: true,
    qid: 0,
    qsize: 8,
  });
  assert.equal(await qp.closed, undefined);
  assert.match(errors[0], /no Connect within 20 ms/);
  await t.target.close();
});

test("closing the target closes queue pairs still waiting for their Connect", async () => {
  const t = await startTarget();
  const na = new Association(t.transport, false);
  const qp = await t.transport.connect(na, {
    address: { traddr: "t" },
    admin: true,
    qid: 0,
    qsize: 8,
  });
  await new Promise((r) => setTimeout(r, 0));
  await t.target.close();
  assert.equal(await qp.closed, undefined);
});

test("the controller is destroyed when its admin queue closes, and I/O queues go with it", async () => {
  const t = await startTarget();
  const destroyed: string[] = [];
  t.target.on("controller-destroyed", (e) => destroyed.push(e.reason));
  const { admin, cntlid } = await connectController(t.transport, "t", {
    subnqn: SUBNQN,
    hostid: HOSTID,
  });
  const io = await connectQueue(t.transport, "t", { subnqn: SUBNQN, qid: 1, cntlid });
  await admin.close();
  assert.equal(await io.queue.qp.closed, undefined);
  assert.deepEqual(destroyed, ["admin queue closed"]);
  assert.equal(t.target.controllers.length, 0);
  await t.target.close();
});

// ---------------------------------------------------------------------------------------------
// Connect admission as pure functions: checkConnectCommand() and admitConnect(), table-driven.

const PARAMS: AssociationParams = { ...DEFAULT_ASSOCIATION_PARAMS, sqFlowControl: false };
const OTHER_HOSTNQN = "nqn.2026-01.dev.nvmf:other-host";

interface FakeController extends ConnectableController {
  name: string;
}

function fakeController(check: IoQueueCheck = "ok", hostnqn = HOSTNQN): FakeController {
  return {
    name: `ctrl-${check}`,
    hostnqn,
    hostid: HOSTID,
    destroyed: false,
    checkIoQueue: () => check,
  };
}

function admissionState(
  over: Partial<AdmissionState<FakeController>> = {},
  controllers: Record<string, Map<number, FakeController>> = {},
): AdmissionState<FakeController> {
  const sub = new Subsystem(
    { nqn: SUBNQN, allowedHosts: [HOSTNQN] },
    { serial: "s", model: "m", firmware: "f", maxNamespaces: 8 },
  );
  return {
    params: PARAMS,
    portid: 1,
    exposes: () => true,
    subsystem: (nqn) => nqn === SUBNQN ? sub : undefined,
    controllers: (nqn) => controllers[nqn],
    discoveryKato: 120_000,
    minKato: 0,
    ...over,
  };
}

function connectData(over: Partial<ConnectData> = {}): Uint8Array {
  return encodeConnectData({
    hostid: HOSTID,
    cntlid: CNTLID_DYNAMIC,
    subnqn: SUBNQN,
    hostnqn: HOSTNQN,
    ...over,
  });
}

test("checkConnectCommand() refuses what is not an acceptable Connect, before reading data", () => {
  const connect = (over: { qid?: number; sqsize?: number; recfmt?: number } = {}) =>
    encodeConnect({ cid: 7, qid: 0, sqsize: 31, kato: 0, ...over });
  const notConnect = new Uint8Array(64);
  notConnect[0] = NvmOpcode.READ;
  const cases: {
    name: string;
    sqe: Uint8Array;
    length?: number;
    status?: number;
    ipo?: { data: boolean; offset: number };
    qid?: number;
  }[] = [
    { name: "admin Connect", sqe: connect() },
    { name: "I/O Connect", sqe: connect({ qid: 3, sqsize: 127 }) },
    { name: "not a Connect", sqe: notConnect, status: statusOf(G, INVALID_OPCODE, true) },
    {
      name: "record format 1",
      sqe: connect({ recfmt: 1 }),
      status: statusOf(C, FabricsStatus.CONNECT_INCOMPATIBLE_FORMAT, true),
      qid: 0,
    },
    {
      name: "SQSIZE 0",
      sqe: connect({ sqsize: 0 }),
      status: INVALID_PARAMETERS_STATUS,
      ipo: { data: false, offset: CONNECT_SQSIZE },
      qid: 0,
    },
    {
      name: "admin queue over maxAdminQsize",
      sqe: connect({ sqsize: 32 }),
      status: INVALID_PARAMETERS_STATUS,
      ipo: { data: false, offset: CONNECT_SQSIZE },
      qid: 0,
    },
    {
      name: "I/O queue over maxIoQsize",
      sqe: connect({ qid: 1, sqsize: 128 }),
      status: INVALID_PARAMETERS_STATUS,
      ipo: { data: false, offset: CONNECT_SQSIZE },
      qid: 1,
    },
    {
      name: "data not 1024 bytes",
      sqe: connect(),
      length: 512,
      status: statusOf(G, GenericStatus.DATA_SGL_LENGTH_INVALID, true),
      qid: 0,
    },
  ];
  for (const c of cases) {
    const result = checkConnectCommand(c.sqe, c.length ?? CONNECT_DATA_SIZE, PARAMS);
    if (c.status === undefined) {
      assert.equal(result.kind, "command", c.name);
      if (result.kind === "command") {
        assert.equal(result.qsize, decodeConnect(c.sqe).sqsize + 1, c.name);
      }
      continue;
    }
    assert.equal(result.kind, "reject", c.name);
    if (result.kind !== "reject") continue;
    assert.equal(result.status, c.status, c.name);
    assert.deepEqual(result.ipo, c.ipo, c.name);
    assert.equal(result.qid, c.qid, c.name);
  }
});

test("admitConnect() decides admin Connects: CNTLID, KATO, host access, SQ flow control", () => {
  const command = (over: { qid?: number; kato?: number; cattr?: number } = {}) => {
    const checked = checkConnectCommand(
      encodeConnect({ cid: 1, qid: 0, sqsize: 31, kato: 0, ...over }),
      CONNECT_DATA_SIZE,
      PARAMS,
    );
    assert.equal(checked.kind, "command");
    return checked as Exclude<typeof checked, { kind: "reject" }>;
  };
  const busy = new Map([[1, fakeController()], [2, fakeController()]]);
  const cases: {
    name: string;
    cmd?: { qid?: number; kato?: number; cattr?: number };
    data?: Partial<ConnectData>;
    state?: Partial<AdmissionState<FakeController>>;
    controllers?: Record<string, Map<number, FakeController>>;
    expect: Record<string, unknown>;
  }[] = [
    {
      name: "dynamic model: the lowest free CNTLID",
      controllers: { [SUBNQN]: busy },
      expect: { kind: "admin", cntlid: 3, subnqn: SUBNQN, kato: 0, qsize: 32 },
    },
    {
      name: "dynamic model: a CNTLID other than FFFFh",
      data: { cntlid: 5 },
      expect: {
        kind: "reject",
        status: INVALID_PARAMETERS_STATUS,
        ipo: { data: true, offset: CONNECT_DATA_CNTLID },
      },
    },
    {
      name: "static model: the CNTLID asked for",
      data: { cntlid: 9 },
      state: { params: { ...PARAMS, dynamicControllerModel: false } },
      expect: { kind: "admin", cntlid: 9 },
    },
    {
      name: "static model: FFFEh takes any",
      data: { cntlid: CNTLID_STATIC_ANY },
      state: { params: { ...PARAMS, dynamicControllerModel: false } },
      controllers: { [SUBNQN]: busy },
      expect: { kind: "admin", cntlid: 3 },
    },
    {
      name: "static model: a busy CNTLID",
      data: { cntlid: 2 },
      state: { params: { ...PARAMS, dynamicControllerModel: false } },
      controllers: { [SUBNQN]: busy },
      expect: {
        kind: "reject",
        status: statusOf(C, FabricsStatus.CONNECT_CONTROLLER_BUSY, true),
        ipo: undefined,
      },
    },
    {
      name: "static model: CNTLID out of range",
      data: { cntlid: 0 },
      state: { params: { ...PARAMS, dynamicControllerModel: false } },
      expect: {
        kind: "reject",
        status: INVALID_PARAMETERS_STATUS,
        ipo: { data: true, offset: CONNECT_DATA_CNTLID },
      },
    },
    {
      name: "zero host identifier",
      data: { hostid: new Uint8Array(16) },
      expect: {
        kind: "reject",
        status: INVALID_PARAMETERS_STATUS,
        ipo: { data: true, offset: CONNECT_DATA_HOSTID },
      },
    },
    {
      name: "empty HOSTNQN",
      data: { hostnqn: "" },
      expect: {
        kind: "reject",
        status: INVALID_PARAMETERS_STATUS,
        ipo: { data: true, offset: CONNECT_DATA_HOSTNQN },
      },
    },
    {
      name: "unknown subsystem",
      data: { subnqn: "nqn.2026-01.dev.nvmf:nope" },
      expect: {
        kind: "reject",
        status: INVALID_PARAMETERS_STATUS,
        ipo: { data: true, offset: CONNECT_DATA_SUBNQN },
        subnqn: "nqn.2026-01.dev.nvmf:nope",
        hostnqn: HOSTNQN,
        qid: 0,
      },
    },
    {
      name: "subsystem the port does not serve",
      state: { exposes: () => false },
      expect: {
        kind: "reject",
        status: INVALID_PARAMETERS_STATUS,
        ipo: { data: true, offset: CONNECT_DATA_SUBNQN },
      },
    },
    {
      name: "host not allowed: the answer for an unknown subsystem",
      data: { hostnqn: OTHER_HOSTNQN },
      expect: {
        kind: "reject",
        status: INVALID_PARAMETERS_STATUS,
        ipo: { data: true, offset: CONNECT_DATA_SUBNQN },
      },
    },
    {
      name: "discovery: KATO 0 becomes the discovery KATO",
      data: { subnqn: DISCOVERY_NQN, hostnqn: OTHER_HOSTNQN },
      expect: { kind: "admin", subnqn: DISCOVERY_NQN, subsystem: undefined, kato: 120_000 },
    },
    {
      name: "a KATO under minKato is raised",
      cmd: { kato: 1000 },
      state: { minKato: 5000 },
      expect: { kind: "admin", kato: 5000 },
    },
    {
      name: "CATTR disables SQ flow control where the port allows",
      cmd: { cattr: ConnectAttributes.DISABLE_SQ_FLOW_CONTROL },
      expect: { kind: "admin", sqFlowControl: false },
    },
    {
      name: "the port requires SQ flow control",
      cmd: { cattr: ConnectAttributes.DISABLE_SQ_FLOW_CONTROL },
      state: { params: { ...PARAMS, sqFlowControl: true } },
      expect: { kind: "admin", sqFlowControl: true },
    },
  ];
  for (const c of cases) {
    const result = admitConnect(
      command(c.cmd),
      connectData(c.data),
      admissionState(c.state, c.controllers),
    ) as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(c.expect)) {
      assert.deepEqual(result[key], value, `${c.name}: ${key}`);
    }
  }
});

test("admitConnect() decides I/O queue Connects: a live controller of the same host, a free QID", () => {
  const command = (qid: number) => {
    const checked = checkConnectCommand(
      encodeConnect({ cid: 1, qid, sqsize: 127, kato: 0 }),
      CONNECT_DATA_SIZE,
      PARAMS,
    );
    assert.equal(checked.kind, "command");
    return checked as Exclude<typeof checked, { kind: "reject" }>;
  };
  const ok = fakeController("ok");
  const controllers = {
    [SUBNQN]: new Map<number, FakeController>([
      [1, ok],
      [2, fakeController("not-ready")],
      [3, fakeController("exists")],
      [4, fakeController("invalid-qid")],
      [5, { ...fakeController(), destroyed: true }],
      [6, fakeController("ok", OTHER_HOSTNQN)],
      [7, { ...fakeController(), hostid: new Uint8Array(16).fill(9) }],
    ]),
  };
  const sequence = statusOf(G, GenericStatus.COMMAND_SEQUENCE_ERROR, true);
  const cases: {
    cntlid: number;
    subnqn?: string;
    status?: number;
    ipo?: { data: boolean; offset: number };
  }[] = [
    { cntlid: 1 },
    { cntlid: 2, status: sequence },
    { cntlid: 3, status: sequence },
    {
      cntlid: 4,
      status: INVALID_PARAMETERS_STATUS,
      ipo: { data: false, offset: CONNECT_QID },
    },
    {
      cntlid: 5,
      status: INVALID_PARAMETERS_STATUS,
      ipo: { data: true, offset: CONNECT_DATA_CNTLID },
    },
    {
      cntlid: 6,
      status: INVALID_PARAMETERS_STATUS,
      ipo: { data: true, offset: CONNECT_DATA_HOSTNQN },
    },
    { cntlid: 7 }, // another HOSTID: accepted, as Linux
    {
      cntlid: 8,
      status: INVALID_PARAMETERS_STATUS,
      ipo: { data: true, offset: CONNECT_DATA_CNTLID },
    },
    {
      cntlid: CNTLID_DYNAMIC,
      status: INVALID_PARAMETERS_STATUS,
      ipo: { data: true, offset: CONNECT_DATA_CNTLID },
    },
    {
      cntlid: 1,
      subnqn: DISCOVERY_NQN,
      status: INVALID_PARAMETERS_STATUS,
      ipo: { data: false, offset: CONNECT_QID },
    },
  ];
  for (const c of cases) {
    const name = `CNTLID ${c.cntlid} of ${c.subnqn ?? SUBNQN}`;
    const result = admitConnect(
      command(2),
      connectData({ cntlid: c.cntlid, subnqn: c.subnqn ?? SUBNQN }),
      admissionState({}, controllers),
    );
    if (c.status === undefined) {
      assert.equal(result.kind, "io", name);
      if (result.kind === "io") {
        assert.equal(result.controller, controllers[SUBNQN].get(c.cntlid), name);
        assert.equal(result.hostidDiffers, c.cntlid === 7, name);
        assert.equal(result.qid, 2, name);
        assert.equal(result.qsize, 128, name);
      }
      continue;
    }
    assert.equal(result.kind, "reject", name);
    if (result.kind !== "reject") continue;
    assert.equal(result.status, c.status, name);
    assert.deepEqual(result.ipo, c.ipo, name);
  }
});

test("admitConnect() refuses Connect data that does not decode, naming the field", () => {
  const checked = checkConnectCommand(
    encodeConnect({ cid: 1, qid: 0, sqsize: 31, kato: 0 }),
    CONNECT_DATA_SIZE,
    PARAMS,
  );
  assert.equal(checked.kind, "command");
  if (checked.kind !== "command") return;
  const bytes = connectData();
  bytes.fill(0xff, CONNECT_DATA_SUBNQN, CONNECT_DATA_SUBNQN + 4); // not UTF-8
  const result = admitConnect(checked, bytes, admissionState());
  assert.equal(result.kind, "reject");
  if (result.kind !== "reject") return;
  assert.equal(result.status, INVALID_PARAMETERS_STATUS);
  assert.equal(result.ipo?.data, true);
  assert.equal(result.ipo?.offset, CONNECT_DATA_SUBNQN);
});

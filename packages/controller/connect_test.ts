import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AdminOpcode,
  CNTLID_STATIC_ANY,
  CONNECT_DATA_CNTLID,
  CONNECT_DATA_HOSTID,
  CONNECT_DATA_HOSTNQN,
  CONNECT_DATA_SUBNQN,
  CONNECT_QID,
  CONNECT_SQSIZE,
  ConnectAttributes,
  decodeConnectInvalidParameter,
  decodeStatus,
  DISCOVERY_NQN,
  FabricsStatus,
  FeatureId,
  GenericStatus,
  NvmOpcode,
  Property,
  StatusCodeType,
} from "@nvmf/proto";
import { Association } from "@nvmf/transport";
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

test("Connect from a host that is not allowed gets CONNECT_INVALID_HOST with IATTR and IPO", async () => {
  const t = await startTarget();
  t.subsystem.allowAnyHost = false;
  t.subsystem.allowHost("nqn.2026-01.dev.nvmf:someone-else");
  const { queue, cqe } = await connectQueue(t.transport, "t", { subnqn: SUBNQN });
  assert.deepEqual(statusOfCqe(cqe), {
    sct: StatusCodeType.COMMAND_SPECIFIC,
    sc: FabricsStatus.CONNECT_INVALID_HOST,
    dnr: true,
  });
  assert.equal(cqe.dw0, (1 << 16) | CONNECT_DATA_HOSTNQN);
  assert.equal(await queue.qp.closed, undefined);
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
  const otherId = await connectQueue(t.transport, "t", {
    subnqn: SUBNQN,
    qid: 1,
    cntlid,
    hostid: new Uint8Array(16).fill(0x55),
  });
  assert.deepEqual(decodeConnectInvalidParameter(otherId.cqe), {
    inData: true,
    offset: CONNECT_DATA_HOSTID,
  });
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

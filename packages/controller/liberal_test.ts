// Where the controller is as liberal as Linux's nvmet (issue 13, part 1), and the checks it
// adds where Linux has none (Command ID Conflict). One test per decision.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AdminOpcode,
  decodeStatus,
  GenericStatus,
  NvmeStatusError,
  NvmOpcode,
  Property,
  SQE_DPTR,
  StatusCodeType,
  statusOf,
  SubsystemType,
} from "@nvmf/proto";
import type { Listener, QueuePair, Transport } from "@nvmf/transport";
import { LoopbackTransport } from "@nvmf/transport-loopback";
import { connect, discover } from "@nvmf/host";
import "@nvmf/transport-tcp";
import { RamBackend } from "./backend.ts";
import { isWildcard } from "./_discovery_log.ts";
import { Target } from "./target.ts";
import {
  CC_ENABLE,
  connectController,
  connectQueue,
  HOSTID,
  HOSTNQN,
  startTarget,
  SUBNQN,
} from "./_testing.ts";

function status(cqe: { status: number }) {
  const s = decodeStatus(cqe.status);
  return { sct: s.sct, sc: s.sc, dnr: s.dnr };
}

test("commands that move no data are served whatever their SGL descriptor (all zero)", async () => {
  const t = await startTarget();
  const { queue: admin, cqe } = await connectQueue(t.transport, "t", { subnqn: SUBNQN });
  assert.equal(cqe.status, 0);
  // From here every command crosses with an all-zero data pointer (type 0, length 0), as a
  // third-party host sends Property Set/Get and Keep Alive.
  t.transport.hooks.corrupt = (e) => {
    if (e.capsule.kind === "command") e.capsule.sqe.fill(0, SQE_DPTR, SQE_DPTR + 16);
  };
  assert.equal((await admin.propertySet(Property.CC, CC_ENABLE)).status, 0);
  const csts = await admin.propertyGet(Property.CSTS);
  assert.equal(csts.cqe.status, 0);
  assert.equal(Number(csts.value) & 1, 1, "CSTS.RDY");
  // A command that needs data still fails, on its length.
  const identify = await admin.command({ opcode: AdminOpcode.IDENTIFY, cdw10: 1 });
  assert.deepEqual(status(identify), {
    sct: StatusCodeType.GENERIC,
    sc: GenericStatus.DATA_SGL_LENGTH_INVALID,
    dnr: true,
  });
  // A non-zero length with a bad descriptor stays an error.
  t.transport.hooks.corrupt = (e) => {
    if (e.capsule.kind !== "command") return;
    e.capsule.sqe.fill(0, SQE_DPTR, SQE_DPTR + 16);
    e.capsule.sqe[SQE_DPTR + 8] = 0x10;
  };
  const bad = await admin.propertyGet(Property.CSTS);
  assert.deepEqual(status(bad.cqe), {
    sct: StatusCodeType.GENERIC,
    sc: GenericStatus.SGL_DESCRIPTOR_TYPE_INVALID,
    dnr: true,
  });
  t.transport.hooks.corrupt = undefined;
  await admin.close();
  await t.target.close();
});

test("a CID already in flight on the queue gets COMMAND_ID_CONFLICT", async () => {
  const t = await startTarget();
  const { admin } = await connectController(t.transport, "t", { subnqn: SUBNQN });
  // An Asynchronous Event Request stays outstanding: its CID (77) is in flight.
  const aer = admin.command({ opcode: AdminOpcode.ASYNC_EVENT_REQUEST, cid: 77 });
  await new Promise((r) => setTimeout(r, 10));
  // Our hosts never reuse a CID in flight, so the wire is changed: Keep Alive 78 becomes 77.
  const seen: number[] = [];
  t.transport.hooks.corrupt = (e) => {
    if (e.capsule.kind === "command" && e.capsule.sqe[2] === 78) e.capsule.sqe[2] = 77;
    if (e.capsule.kind === "response") seen.push(e.capsule.cqe[12]);
  };
  void admin.command({ opcode: AdminOpcode.KEEP_ALIVE, cid: 78 }).catch(() => {});
  // The answer carries CID 77, so the host's AER waiter gets it.
  assert.deepEqual(status(await aer), {
    sct: StatusCodeType.GENERIC,
    sc: GenericStatus.COMMAND_ID_CONFLICT,
    dnr: true,
  });
  assert.deepEqual(seen, [77]);
  t.transport.hooks.corrupt = undefined;
  // Other CIDs are served, and a completed command's CID is free again.
  for (const cid of [79, 79]) {
    const ok = await admin.command(
      { opcode: AdminOpcode.IDENTIFY, cid, cdw10: 1 },
      new Uint8Array(4096),
      "controller-to-host",
    );
    assert.equal(ok.status, 0);
  }
  await admin.close();
  await t.target.close();
});

/** A loopback transport whose accepted queue pairs fail the data of Writes with `error`. */
function failingTransport(loop: LoopbackTransport, error: () => Error): Transport {
  const t = Object.create(loop) as Transport;
  t.listen = async (na, address) => {
    const l = await loop.listen(na, address);
    const wrapped: Listener = {
      address: l.address,
      accept: async () => {
        const qp: QueuePair = await l.accept();
        const receive = qp.receiveControllerData.bind(qp);
        qp.receiveControllerData = (cmd, offset, into) =>
          cmd.sqe[0] === NvmOpcode.WRITE && qp.qid !== 0
            ? Promise.reject(error())
            : receive(cmd, offset, into);
        return qp;
      },
      close: () => l.close(),
    };
    return wrapped;
  };
  return t;
}

test("a status the transport fails a transfer with (H2CData digest) completes the command with it", async () => {
  const loop = new LoopbackTransport();
  const target = new Target();
  target.addSubsystem({
    nqn: SUBNQN,
    namespaces: [{ backend: new RamBackend({ size: 1 << 20, blockSize: 512 }) }],
  });
  const transient = statusOf(StatusCodeType.GENERIC, GenericStatus.TRANSIENT_TRANSPORT_ERROR);
  await target.listen(
    failingTransport(
      loop,
      () => new NvmeStatusError(transient, { message: "Data digest error in H2CData" }),
    ),
    { traddr: "t" },
  );
  const { admin, cntlid } = await connectController(loop, "t", { subnqn: SUBNQN });
  const io = await connectQueue(loop, "t", { subnqn: SUBNQN, qid: 1, cntlid });
  const cqe = await io.queue.command(
    { opcode: NvmOpcode.WRITE, nsid: 1, cdw12: 0 },
    new Uint8Array(512),
    "host-to-controller",
  );
  // TRANSIENT_TRANSPORT_ERROR without DNR: the host may retry; the connection stays.
  assert.deepEqual(status(cqe), {
    sct: StatusCodeType.GENERIC,
    sc: GenericStatus.TRANSIENT_TRANSPORT_ERROR,
    dnr: false,
  });
  assert.equal(io.queue.qp.done, false);
  await io.queue.close();
  await admin.close();
  await target.close();
});

test("isWildcard() knows the any addresses", () => {
  for (const a of ["0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0", ""]) {
    assert.equal(isWildcard(a), true, a);
  }
  for (const a of ["127.0.0.1", "::1", "fe80::1", "10.0.0.0", "t"]) {
    assert.equal(isWildcard(a), false, a);
  }
});

test("a port on 0.0.0.0 advertises the address the discovering host reached", async () => {
  const target = new Target();
  target.addSubsystem({
    nqn: SUBNQN,
    namespaces: [{ backend: new RamBackend({ size: 1 << 20, blockSize: 512 }) }],
  });
  const port = await target.listen("tcp", { traddr: "0.0.0.0", trsvcid: "0" });
  assert.equal(port.address.traddr, "0.0.0.0");
  const log = await discover({
    transport: "tcp",
    address: { traddr: "127.0.0.1", trsvcid: port.address.trsvcid },
    hostnqn: HOSTNQN,
    hostid: HOSTID,
  });
  const entries = log.map((e) => [e.subtype, e.traddr, e.trsvcid, e.subnqn]);
  assert.deepEqual(entries, [
    [
      SubsystemType.CURRENT_DISCOVERY,
      "127.0.0.1",
      port.address.trsvcid,
      "nqn.2014-08.org.nvmexpress.discovery",
    ],
    [SubsystemType.NVME, "127.0.0.1", port.address.trsvcid, SUBNQN],
  ]);
  // And the host can connect to what it was told.
  const ctrl = await connect({
    transport: "tcp",
    address: { traddr: log[1].traddr, trsvcid: log[1].trsvcid },
    subnqn: SUBNQN,
    hostnqn: HOSTNQN,
  });
  await ctrl.close();
  await target.close();
});

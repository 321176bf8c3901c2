import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  decodeCc,
  FABRICS_OPCODE,
  FabricsType,
  NvmeStatusError,
  Property,
  uuidToString,
} from "@nvmf/proto";
import { TransportError } from "@nvmf/transport";
import { type LoopbackHooks, LoopbackTransport } from "@nvmf/transport-loopback";
import { commands, opcodeNames, pattern, setup } from "./_fixtures.ts";
import { connect, ControllerError } from "./mod.ts";

// connect(): the set-up steps, their failures, and the association parameters it negotiates.

test("connect() sets the association up as Linux does, in order", async () => {
  const s = await setup({ connect: { ioQueues: 2, kato: 0 } });
  try {
    assert.equal(s.ctrl.state, "live");
    assert.equal(s.ctrl.cdata.subnqn, s.nqn);
    assert.equal(s.ctrl.ioQueueCount, 2);
    const admin = opcodeNames(commands(s.seen, 0));
    const cc = admin.indexOf("PROPERTY_SET");
    assert.deepEqual(admin.slice(0, cc + 1), [
      "CONNECT",
      "PROPERTY_GET",
      "PROPERTY_GET",
      "PROPERTY_SET",
    ]);
    const rest = admin.slice(cc + 1);
    assert.equal(rest[0], "PROPERTY_GET"); // CSTS until RDY
    assert.ok(rest.includes("IDENTIFY"));
    assert.ok(rest.indexOf("SET_FEATURES") > rest.indexOf("IDENTIFY"));
    // CC as written: EN, IOSQES 6, IOCQES 4.
    const ccSqe = commands(s.seen, 0).find((q) =>
      q[0] === FABRICS_OPCODE && q[4] === FabricsType.PROPERTY_SET
    )!;
    const value = decodeCc(new DataView(ccSqe.buffer, ccSqe.byteOffset).getUint32(48, true));
    assert.deepEqual([value.en, value.iosqes, value.iocqes, value.shn], [true, 6, 4, 0]);
    // Each I/O queue has its own connection whose first command is Connect.
    for (const qid of [1, 2]) {
      assert.deepEqual(opcodeNames(commands(s.seen, qid)).slice(0, 1), ["CONNECT"]);
    }
  } finally {
    await s.close();
  }
});

test("without SQ flow control the host is limited by queue depth alone", async () => {
  const s = await setup({ connect: { sqFlowControl: false, queueSize: 4, kato: 0 } });
  try {
    const connect = s.seen.find((e) => e.qid === 1 && e.capsule.kind === "command")!;
    const cattr = (connect.capsule as { sqe: Uint8Array }).sqe[46];
    assert.equal(cattr & 0x04, 0x04, "Connect asks to disable SQ flow control (CATTR bit 2)");
    const ns = await s.ctrl.namespace(1);
    // Many more commands than entries: the host must not wait for an SQHD that never moves.
    const writes = [];
    for (let i = 0; i < 20; i++) writes.push(ns.write(i * 16, pattern(8192, i)));
    await Promise.all(writes);
    for (let i = 0; i < 20; i += 5) assert.deepEqual(await ns.read(i * 16, 16), pattern(8192, i));
  } finally {
    await s.close();
  }
});

test("connect() names the cause of a failure", async () => {
  const transport = new LoopbackTransport();
  await assert.rejects(
    connect({
      transport,
      address: { traddr: "nobody" },
      subnqn: "nqn.2026-01.test:x",
    }),
    (e) => e instanceof TransportError && e.code === "connect",
  );
  const s = await setup();
  try {
    await assert.rejects(
      connect({
        transport: s.transport,
        address: { traddr: s.traddr },
        subnqn: "nqn.2026-01.test:missing",
      }),
      (e) =>
        e instanceof NvmeStatusError && /CONNECT/.test(e.message) &&
        /SUBNQN|INVALID/.test(e.message),
    );
  } finally {
    await s.close();
  }
});

test("the static controller model: CNTLID FFFEh or a chosen one, kept for the I/O queues", async () => {
  const s = await setup({
    listen: { associationParams: { dynamicControllerModel: false } },
    connect: { cntlid: 0xfffe, ioQueues: 2, kato: 0 },
  });
  try {
    assert.equal(s.ctrl.cdata.fcatt & 1, 1);
    const ids = commands(s.seen).filter((q) =>
      q[0] === FABRICS_OPCODE && q[4] === FabricsType.CONNECT
    );
    assert.equal(ids.length, 3);
    const chosen = await connect({
      transport: s.transport,
      address: { traddr: s.traddr },
      subnqn: s.nqn,
      cntlid: 7,
      kato: 0,
    });
    assert.equal(chosen.cntlid, 7);
    await (await chosen.namespace(1)).write(0, new Uint8Array(512));
    await chosen.close();
  } finally {
    await s.close();
  }
  const dynamic = await setup({ connect: { kato: 0 } });
  try {
    await assert.rejects(
      connect({
        transport: dynamic.transport,
        address: { traddr: dynamic.traddr },
        subnqn: dynamic.nqn,
        cntlid: 7,
      }),
      (e) =>
        e instanceof NvmeStatusError && /CNTLID at byte 16 of the Connect data/.test(e.message),
    );
  } finally {
    await dynamic.close();
  }
});

test("connect() fails with ControllerError when CSTS.RDY does not follow CC.EN within CAP.TO", async () => {
  const cids = new Map<number, "cap" | "csts">();
  const hooks: LoopbackHooks = {
    corrupt: (e) => {
      if (e.qid !== 0) return;
      if (e.capsule.kind === "command") {
        const sqe = e.capsule.sqe;
        if (sqe[0] !== FABRICS_OPCODE || sqe[4] !== FabricsType.PROPERTY_GET) return;
        const offset = sqe[44];
        if (offset === Property.CAP) cids.set(sqe[2], "cap");
        else if (offset === Property.CSTS) cids.set(sqe[2], "csts");
        return;
      }
      const cqe = e.capsule.cqe;
      const kind = cids.get(cqe[12]);
      cids.delete(cqe[12]);
      if (kind === "cap") cqe[3] = 0; // CAP.TO 0: wait at most 500 ms
      if (kind === "csts") cqe.fill(0, 0, 4); // never ready
    },
  };
  await assert.rejects(
    setup({ hooks, connect: { kato: 0 } }),
    (e) => e instanceof ControllerError && e.code === "not-ready" && /CSTS\.RDY/.test(e.message),
  );
});

test("connect() without a host identity creates no file, under HOME or XDG_CONFIG_HOME", async () => {
  const home = mkdtempSync(join(tmpdir(), "nvmf-home-"));
  const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
  process.env.HOME = home;
  process.env.XDG_CONFIG_HOME = join(home, ".config");
  try {
    const s = await setup({ connect: { kato: 0 } });
    try {
      assert.equal(
        s.ctrl.hostnqn,
        `nqn.2014-08.org.nvmexpress:uuid:${uuidToString(s.ctrl.hostid)}`,
      );
      const again = await connect({
        transport: s.transport,
        address: { traddr: s.traddr },
        subnqn: s.nqn,
        kato: 0,
      });
      assert.equal(again.hostnqn, s.ctrl.hostnqn, "one identity for the process");
      await again.close();
    } finally {
      await s.close();
    }
    assert.deepEqual(readdirSync(home), []);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(home, { recursive: true, force: true });
  }
});

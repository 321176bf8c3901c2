// ANA over loopback (issue 13, part 2): Identify fields, the ANA log page with and without RGO,
// path statuses for I/O, ANA change events on the ports whose state changed, configuration.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AdminOpcode,
  ANA_LSP_RGO,
  AnaState,
  AsyncEventNotice,
  AsyncEventType,
  type Cqe,
  decodeAnaLog,
  decodeCqe,
  decodeIdentifyController,
  decodeIdentifyNamespace,
  decodeNsIdDescriptors,
  decodeStatus,
  encodeGetLogPage,
  encodeIdentify,
  IdentifyCns,
  LogPageId,
  NvmOpcode,
  PathStatus,
  StatusCodeType,
} from "@nvmf/proto";
import { LoopbackTransport } from "@nvmf/transport-loopback";
import { RamBackend } from "./backend.ts";
import { type AnaStateName, anaStateValue } from "./ana.ts";
import { applyConfig, parseNvmetcliConfig, parseTargetConfig } from "./config.ts";
import { Target } from "./target.ts";
import { connectController, connectQueue, type HostQueue, SUBNQN } from "./_testing.ts";

interface Paths {
  transport: LoopbackTransport;
  target: Target;
  a: { admin: HostQueue; cntlid: number; io: HostQueue };
  b: { admin: HostQueue; cntlid: number; io: HostQueue };
  close(): Promise<void>;
}

/** A subsystem with namespaces 1 (group 1) and 2 (group 2) on ports "a" and "b", a path each. */
async function twoPaths(): Promise<Paths> {
  const transport = new LoopbackTransport();
  const target = new Target();
  target.addSubsystem({
    nqn: SUBNQN,
    namespaces: [
      { backend: new RamBackend({ size: 1 << 20, blockSize: 512 }) },
      { backend: new RamBackend({ size: 1 << 20, blockSize: 512 }), anagrpid: 2 },
    ],
  });
  await target.listen(transport, { traddr: "a" });
  await target.listen(transport, { traddr: "b" });
  const path = async (traddr: string) => {
    const { admin, cntlid } = await connectController(transport, traddr, { subnqn: SUBNQN });
    const { queue } = await connectQueue(transport, traddr, { subnqn: SUBNQN, qid: 1, cntlid });
    return { admin, cntlid, io: queue };
  };
  const a = await path("a");
  const b = await path("b");
  return {
    transport,
    target,
    a,
    b,
    async close() {
      for (const q of [a.io, b.io, a.admin, b.admin]) await q.close();
      await target.close();
    },
  };
}

async function read(q: HostQueue, sqe: Uint8Array, length: number) {
  const data = new Uint8Array(length);
  const cqe = decodeCqe(await q.raw(sqe, data, "controller-to-host"));
  return { cqe, data };
}

async function anaLog(q: HostQueue, options: { rgo?: boolean; rae?: boolean } = {}) {
  const sqe = encodeGetLogPage({
    cid: q.nextCid(),
    lid: LogPageId.ASYMMETRIC_NAMESPACE_ACCESS,
    lsp: options.rgo ? ANA_LSP_RGO : 0,
    rae: options.rae ?? false,
    numd: 1024 / 4,
  });
  const { cqe, data } = await read(q, sqe, 1024);
  assert.equal(cqe.status, 0);
  return decodeAnaLog(data);
}

async function identifyNs(q: HostQueue, nsid: number) {
  const sqe = encodeIdentify({ cid: q.nextCid(), cns: IdentifyCns.NAMESPACE, nsid });
  return decodeIdentifyNamespace((await read(q, sqe, 4096)).data);
}

function readBlock(q: HostQueue, nsid: number): Promise<Cqe> {
  return q.command(
    { opcode: NvmOpcode.READ, nsid, cdw12: 0 },
    new Uint8Array(512),
    "controller-to-host",
  );
}

test("Identify reports ANA as Linux's nvmet: CMIC, ANACAP, ANATT, groups, OAES; ANAGRPID", async () => {
  const p = await twoPaths();
  try {
    const sqe = encodeIdentify({ cid: p.a.admin.nextCid(), cns: IdentifyCns.CONTROLLER });
    const ida = decodeIdentifyController((await read(p.a.admin, sqe, 4096)).data);
    assert.equal(ida.cmic, 0b1011); // multi-port, multi-controller, ANA
    assert.equal(ida.anacap, 0b0101_1111);
    assert.equal(ida.anatt, 10);
    assert.equal(ida.anagrpmax, 128);
    assert.equal(ida.nanagrpid, 128);
    assert.equal(ida.oaes & (1 << 11), 1 << 11);
    // The other path's controller looks like the same subsystem, with another CNTLID.
    const sqeb = encodeIdentify({ cid: p.b.admin.nextCid(), cns: IdentifyCns.CONTROLLER });
    const idb = decodeIdentifyController((await read(p.b.admin, sqeb, 4096)).data);
    assert.notEqual(ida.cntlid, idb.cntlid);
    assert.deepEqual([idb.sn, idb.mn, idb.subnqn, idb.cmic], [
      ida.sn,
      ida.mn,
      ida.subnqn,
      ida.cmic,
    ]);
    for (const nsid of [1, 2]) {
      const na = await identifyNs(p.a.admin, nsid);
      const nb = await identifyNs(p.b.admin, nsid);
      assert.equal(na.anagrpid, nsid);
      assert.deepEqual([nb.anagrpid, nb.nguid, nb.eui64], [na.anagrpid, na.nguid, na.eui64]);
      const descs = async (q: HostQueue) => {
        const s = encodeIdentify({
          cid: q.nextCid(),
          cns: IdentifyCns.NAMESPACE_DESCRIPTOR_LIST,
          nsid,
        });
        return decodeNsIdDescriptors((await read(q, s, 4096)).data);
      };
      assert.deepEqual(await descs(p.b.admin), await descs(p.a.admin));
    }
  } finally {
    await p.close();
  }
});

test("the ANA log page lists each group's state on the reading controller's port", async () => {
  const p = await twoPaths();
  try {
    const before = await anaLog(p.a.admin);
    assert.deepEqual(before, {
      changeCount: 0n,
      groups: [
        { grpid: 1, changeCount: 0n, state: AnaState.OPTIMIZED, nsids: [1] },
        { grpid: 2, changeCount: 0n, state: AnaState.OPTIMIZED, nsids: [2] },
      ],
    });
    p.target.setAnaState({
      nqn: SUBNQN,
      address: { traddr: "a" },
      state: "inaccessible",
      anagrpid: 2,
    });
    const a = await anaLog(p.a.admin);
    assert.equal(a.changeCount, 1n);
    assert.deepEqual(a.groups.map((g) => [g.grpid, g.state, g.changeCount]), [
      [1, AnaState.OPTIMIZED, 0n],
      [2, AnaState.INACCESSIBLE, 1n],
    ]);
    // Port b is untouched.
    assert.deepEqual((await anaLog(p.b.admin)).groups.map((g) => g.state), [1, 1]);
    // RGO: groups only.
    const rgo = await anaLog(p.a.admin, { rgo: true });
    assert.deepEqual(rgo.groups.map((g) => [g.grpid, g.state, g.nsids]), [
      [1, AnaState.OPTIMIZED, []],
      [2, AnaState.INACCESSIBLE, []],
    ]);
    // Every group when none is named, as SPDK.
    p.target.setAnaState({ nqn: SUBNQN, address: { traddr: "b" }, state: "non_optimized" });
    assert.deepEqual((await anaLog(p.b.admin)).groups.map((g) => g.state), [2, 2]);
  } finally {
    await p.close();
  }
});

test("I/O through a path whose group is not accessible gets the SCT 3 status, without DNR", async () => {
  const p = await twoPaths();
  try {
    const cases: [AnaStateName, number | undefined][] = [
      ["inaccessible", PathStatus.ASYMMETRIC_ACCESS_INACCESSIBLE],
      ["persistent_loss", PathStatus.ASYMMETRIC_ACCESS_PERSISTENT_LOSS],
      ["change", PathStatus.ASYMMETRIC_ACCESS_TRANSITION],
      ["non_optimized", undefined],
      ["optimized", undefined],
    ];
    for (const [state, sc] of cases) {
      p.target.setAnaState({ nqn: SUBNQN, address: { traddr: "a" }, state, anagrpid: 1 });
      const cqe = await readBlock(p.a.io, 1);
      if (sc === undefined) assert.equal(cqe.status, 0, state);
      else {
        const s = decodeStatus(cqe.status);
        assert.deepEqual([s.sct, s.sc, s.dnr], [StatusCodeType.PATH_RELATED, sc, false], state);
      }
      // The other group on the same path, and the same group on the other path, are served.
      assert.equal((await readBlock(p.a.io, 2)).status, 0, `${state}: group 2`);
      assert.equal((await readBlock(p.b.io, 1)).status, 0, `${state}: port b`);
      // NUSE through the path, as Linux: 0 where the group is inaccessible or lost.
      const nuse = (await identifyNs(p.a.admin, 1)).nuse;
      const hidden = state === "inaccessible" || state === "persistent_loss";
      assert.equal(nuse, hidden ? 0n : 2048n, `${state}: NUSE`);
    }
  } finally {
    await p.close();
  }
});

test("an ANA change event goes to every controller of the subsystem on the changed port", async () => {
  const p = await twoPaths();
  try {
    const events: Record<string, Cqe | undefined> = { a: undefined, b: undefined };
    const aer = (name: "a" | "b") =>
      p[name].admin.command({ opcode: AdminOpcode.ASYNC_EVENT_REQUEST }).then(
        (c) => events[name] = c,
        () => {}, // an AER still pending when the test closes its queues
      );
    void aer("a");
    void aer("b");
    await new Promise((r) => setTimeout(r, 5));
    p.target.setAnaState({ nqn: SUBNQN, address: { traddr: "a" }, state: "change" });
    await new Promise((r) => setTimeout(r, 5));
    const dw0 = events.a?.dw0;
    assert.ok(dw0 !== undefined, "controller a got an event");
    assert.equal(dw0 & 0x7, AsyncEventType.NOTICE);
    assert.equal((dw0 >>> 8) & 0xff, AsyncEventNotice.ANA_CHANGE);
    assert.equal((dw0 >>> 16) & 0xff, LogPageId.ASYMMETRIC_NAMESPACE_ACCESS);
    assert.equal(events.b, undefined, "port b did not change");
    // Setting the same state again is no change.
    void aer("a");
    await new Promise((r) => setTimeout(r, 5));
    events.a = undefined;
    p.target.setAnaState({ nqn: SUBNQN, address: { traddr: "a" }, state: "change" });
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(events.a, undefined);
    // Masked until the log is read without RAE, then reported again.
    p.target.setAnaState({ nqn: SUBNQN, address: { traddr: "a" }, state: "optimized" });
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(events.a, undefined, "masked: the log was not read");
    await anaLog(p.a.admin);
    p.target.setAnaState({ nqn: SUBNQN, address: { traddr: "a" }, state: "inaccessible" });
    await new Promise((r) => setTimeout(r, 5));
    assert.notEqual(events.a, undefined, "reported again after the log was read");
  } finally {
    await p.close();
  }
});

test("setAnaState() names what it cannot find", async () => {
  const p = await twoPaths();
  try {
    const set = (o: Partial<Parameters<Target["setAnaState"]>[0]>) => () =>
      p.target.setAnaState(
        {
          nqn: SUBNQN,
          address: { traddr: "a" },
          state: "optimized",
          ...o,
        } as Parameters<Target["setAnaState"]>[0],
      );
    assert.throws(set({ nqn: "nqn.2026-01.dev.nvmf:none" }), /no subsystem/);
    assert.throws(set({ address: { traddr: "c" } }), /no port at c serves/);
    assert.throws(set({ anagrpid: 129 }), /anagrpid 129: it must be an integer 1 to 128/);
    assert.throws(set({ state: "fast" as AnaStateName }), /ANA state "fast"/);
  } finally {
    await p.close();
  }
});

test("configuration: our JSON and nvmetcli's ana_groups and ana_grpid", async () => {
  const ours = parseTargetConfig({
    ports: [{ transport: "loopback", traddr: "cfg-a", ana: [{ grpid: 2, state: "inaccessible" }] }],
    subsystems: [{
      nqn: SUBNQN,
      namespaces: [{ ram: "1M" }, { ram: "1M", anagrpid: 2 }],
    }],
  });
  assert.deepEqual(ours.ports[0].ana, [{ grpid: 2, state: "inaccessible" }]);
  assert.throws(
    () => parseTargetConfig({ ports: [{ traddr: "x", ana: [{ state: "fast" }] }] }),
    /ports\[0\]\.ana\[0\]\.state/,
  );
  assert.throws(
    () =>
      parseTargetConfig({
        subsystems: [{ nqn: SUBNQN, namespaces: [{ ram: "1M", anagrpid: 0 }] }],
      }),
    /namespaces\[0\]\.anagrpid/,
  );
  const target = new Target();
  const [port] = await applyConfig(target, ours);
  const sub = target.subsystem(SUBNQN)!;
  assert.deepEqual(sub.namespaces.map((n) => n.anagrpid), [1, 2]);
  assert.equal(sub.ana.states(port.portid)[2], AnaState.INACCESSIBLE);
  assert.equal(sub.ana.states(port.portid)[1], AnaState.OPTIMIZED);
  await target.close();

  const nvmet = parseNvmetcliConfig({
    ports: [{
      portid: 1,
      addr: { trtype: "tcp", adrfam: "ipv4", traddr: "127.0.0.1", trsvcid: "4420" },
      ana_groups: [{ grpid: 1, ana: { state: "optimized" } }, {
        grpid: 2,
        ana: { state: "non-optimized" },
      }],
      subsystems: [SUBNQN],
    }],
    subsystems: [{
      nqn: SUBNQN,
      namespaces: [{ nsid: 1, ana_grpid: 2, device: { path: "/dev/null" }, enable: 1 }],
    }],
  });
  assert.equal(nvmet.subsystems[0].namespaces[0].anagrpid, 2);
  // Optimized is the default, which nvmetcli saves for group 1 always: nothing to set.
  assert.deepEqual(nvmet.ports[0].ana, [{ grpid: 2, state: "non_optimized" }]);
  assert.equal(anaStateValue(nvmet.ports[0].ana![0].state), AnaState.NON_OPTIMIZED);
  assert.throws(
    () =>
      parseNvmetcliConfig({
        ports: [{
          portid: 1,
          addr: { trtype: "tcp", traddr: "1.2.3.4" },
          ana_groups: [{ grpid: 1, ana: { state: "x" } }],
        }],
      }),
    /ports\[0\]\.ana_groups\[0\]\.ana\.state/,
  );
});

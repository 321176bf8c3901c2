import { test } from "node:test";
import assert from "node:assert/strict";
import { cqeStatus, NvmOpcode } from "@nvmf/proto";
import {
  Association,
  type AssociationParams,
  getTransport,
  type Listener,
  type QueuePair,
  QueuePairClosedError,
  TransportError,
} from "@nvmf/transport";
import { runCommand, serveDisk } from "@nvmf/transport/testing";
import { tcp } from "./mod.ts";

interface Setup {
  listener: Listener;
  host: QueuePair;
  ctrl: QueuePair;
}

async function connectPair(options: {
  host?: Partial<AssociationParams>;
  ctrl?: Partial<AssociationParams>;
  ioccsz?: number;
  sqFlowControl?: boolean;
  qsize?: number;
}): Promise<Setup> {
  const listener = await tcp.listen(new Association(tcp, true, options.ctrl), {
    traddr: "127.0.0.1",
    trsvcid: "0",
  });
  const na = new Association(tcp, false, options.host);
  if (options.ioccsz !== undefined) na.update({ ioccsz: options.ioccsz, mdts: 0 });
  const qsize = options.qsize ?? 32;
  const host = await tcp.connect(na, { address: listener.address, admin: false, qid: 1, qsize });
  const ctrl = await listener.accept();
  ctrl.setConnected({
    qid: 1,
    qsize,
    sqFlowControl: options.sqFlowControl ?? na.params.sqFlowControl,
  });
  return { listener, host, ctrl };
}

async function teardown(s: Setup): Promise<void> {
  await s.host.close();
  await s.ctrl.closed;
  await s.listener.close();
}

function pattern(length: number, seed: number): Uint8Array {
  const b = new Uint8Array(length);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

test("getTransport() finds NVMe/TCP by name and TRTYPE 3", () => {
  assert.equal(getTransport("tcp"), tcp);
  assert.equal(getTransport(3), tcp);
});

const SIZES = [1, 511, 4096, 8193, 65536 + 3, 1 << 20, 8 << 20];
const DISK = 9 << 20;

for (const [hdgst, ddgst] of [[false, false], [true, false], [false, true], [true, true]]) {
  for (const pda of [0, 31]) {
    for (const sqFlowControl of [true, false]) {
      const name = `host and controller over TCP: header digest ${hdgst}, data digest ${ddgst}, ` +
        `HPDA/CPDA ${pda}, SQ flow control ${sqFlowControl}, 1 B to 8 MiB`;
      test(name, async () => {
        const s = await connectPair({
          host: { sqFlowControl, tcp: { headerDigests: hdgst, dataDigests: ddgst, pda } as never },
          ctrl: { tcp: { pda: 31 - pda, maxh2cdata: 4096 } as never },
          ioccsz: (64 + 8192) / 16,
        });
        const state = s.host.state().transport;
        assert.deepEqual(
          [state.headerDigests, state.dataDigests, state.rxpda, state.txpda, state.maxh2cdata],
          [hdgst, ddgst, pda, 31 - pda, 4096],
        );
        const disk = new Uint8Array(DISK);
        const served = serveDisk(s.ctrl, disk, { pieces: 3, chunks: 2 });
        let cid = 0;
        for (const size of SIZES) {
          const data = pattern(size, size);
          const offset = size % 4096;
          let cqe = await runCommand(s.host, NvmOpcode.WRITE, ++cid, offset, data);
          assert.equal(cqeStatus(cqe) >> 1, 0, `write ${size}`);
          assert.deepEqual(disk.subarray(offset, offset + size), data, `write ${size}`);
          const back = new Uint8Array(size);
          cqe = await runCommand(s.host, NvmOpcode.READ, ++cid, offset, back);
          assert.equal(cqeStatus(cqe) >> 1, 0, `read ${size}`);
          assert.deepEqual(back, data, `read ${size}`);
        }
        await teardown(s);
        assert.equal(await served, SIZES.length * 2);
      });
    }
  }
}

test("TCP in-capsule sizes: data at and over the in-capsule limit both arrive", async () => {
  for (const icd of [0, 1024, 8192, 16384]) {
    const s = await connectPair({ ioccsz: (64 + icd) / 16, ctrl: { ioInCapsuleData: 16384 } });
    assert.equal(s.host.maxInCapsuleData, icd);
    const disk = new Uint8Array(1 << 20);
    const served = serveDisk(s.ctrl, disk);
    for (const size of [icd, icd + 1]) {
      if (size === 0) continue;
      const data = pattern(size, icd);
      await runCommand(s.host, NvmOpcode.WRITE, size, 0, data);
      assert.deepEqual(disk.subarray(0, size), data, `icd ${icd} size ${size}`);
    }
    await teardown(s);
    await served;
  }
});

test("TCP controller serves concurrent R2Ts beyond MAXR2T by queueing them", async () => {
  const s = await connectPair({ ctrl: { tcp: { maxh2cdata: 4096 } as never } });
  const disk = new Uint8Array(1 << 20);
  const served = serveDisk(s.ctrl, disk, { chunks: 8, concurrent: true });
  const data = pattern(300_000, 5);
  await runCommand(s.host, NvmOpcode.WRITE, 1, 100, data);
  assert.deepEqual(disk.subarray(100, 100 + data.length), data);
  await teardown(s);
  await served;
});

test("TCP carries many commands in flight at once", async () => {
  const s = await connectPair({ ioccsz: (64 + 4096) / 16, qsize: 64 });
  const disk = new Uint8Array(1 << 20);
  const served = serveDisk(s.ctrl, disk);
  const { commandCapsule } = await import("@nvmf/transport");
  const { encodeSqe } = await import("@nvmf/proto");
  const writes: Promise<void>[] = [];
  for (let cid = 0; cid < 48; cid++) {
    writes.push(s.host.transmit(commandCapsule(
      encodeSqe({ opcode: NvmOpcode.WRITE, cid, cdw10: cid * 8192 }),
      pattern(cid % 2 ? 8192 : 4096, cid),
      "host-to-controller",
    )));
  }
  await Promise.all(writes);
  for (let i = 0; i < 48; i++) {
    const rsp = await s.host.receive();
    assert.equal(rsp.kind, "response");
  }
  for (let cid = 0; cid < 48; cid++) {
    const size = cid % 2 ? 8192 : 4096;
    assert.deepEqual(disk.subarray(cid * 8192, cid * 8192 + size), pattern(size, cid));
  }
  await teardown(s);
  assert.equal(await served, 48);
});

test("TCP connect to a closed port fails with a connect error", async () => {
  const l = await tcp.listen(new Association(tcp, true), { traddr: "127.0.0.1", trsvcid: "0" });
  const port = l.address.trsvcid;
  await l.close();
  await assert.rejects(
    tcp.connect(new Association(tcp, false), {
      address: { traddr: "127.0.0.1", trsvcid: port },
      admin: true,
      qid: 0,
      qsize: 8,
    }),
    (e) => e instanceof TransportError && e.code === "connect",
  );
});

test("TCP refuses a trsvcid that is not a port", async () => {
  await assert.rejects(
    tcp.connect(new Association(tcp, false), {
      address: { traddr: "127.0.0.1", trsvcid: "http" },
      admin: true,
      qid: 0,
      qsize: 8,
    }),
    /trsvcid "http"/,
  );
});

test("TCP controller refuses digests it does not allow", async () => {
  const errors: Error[] = [];
  const t = new (tcp.constructor as typeof import("./mod.ts").TcpTransport)({
    onSetupError: (e) => errors.push(e),
  });
  const l = await t.listen(new Association(t, true, { tcp: { headerDigests: false } as never }), {
    traddr: "127.0.0.1",
    trsvcid: "0",
  });
  await assert.rejects(
    t.connect(new Association(t, false, { tcp: { headerDigests: true } as never }), {
      address: l.address,
      admin: true,
      qid: 0,
      qsize: 8,
    }),
    (e) => e instanceof TransportError && e.code === "termreq" && e.fes === 0x06,
  );
  await l.close();
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /digests this controller does not allow/);
});

test("closing the TCP controller end is seen by the host as an orderly close", async () => {
  const s = await connectPair({});
  const pending = s.host.receive();
  await s.ctrl.close();
  await assert.rejects(pending, QueuePairClosedError);
  assert.equal(await s.host.closed, undefined);
  await s.listener.close();
});

test("detach() hands both ends of a live connection to new owners that carry on", async () => {
  const s = await connectPair({ qsize: 8 });
  const disk = new Uint8Array(1 << 16);
  const first = serveDisk(s.ctrl, disk);
  const data = pattern(4096, 42);
  await runCommand(s.host, NvmOpcode.WRITE, 1, 0, data);
  await runCommand(s.host, NvmOpcode.FLUSH, 2);

  const hostOld = s.host;
  const ctrlOld = s.ctrl;
  const h = await hostOld.detach();
  const c = await ctrlOld.detach();
  assert.equal(await hostOld.closed, undefined);
  assert.equal(await first, 2);
  assert.deepEqual([h.state.sqhd, h.state.sqtail, c.state.sqhd], [2, 2, 2]);
  await assert.rejects(
    hostOld.transmit({
      kind: "command",
      sqe: new Uint8Array(64),
      data: undefined,
      direction: undefined,
    }),
  );

  // The host end from what it carries, the controller end from the record's TCP fields.
  const host = tcp.adopt(hostOld.association, h, h.state);
  const ctrl = tcp.adopt(ctrlOld.association, c, {
    ...c.state,
    qid: c.state.qid,
    sqtail: undefined,
    params: tcp.handoffParams(c.state, 0),
  });
  assert.throws(() => tcp.adopt(hostOld.association, h, h.state), /adopted.*already/);
  const second = serveDisk(ctrl, disk);
  const back = new Uint8Array(4096);
  const cqe = await runCommand(host, NvmOpcode.READ, 3, 0, back);
  assert.deepEqual(back, data);
  assert.equal(new DataView(cqe.buffer).getUint16(8, true), 3); // SQHD carried on from 2
  await host.close();
  assert.equal(await ctrl.closed, undefined);
  assert.equal(await second, 1);
  await s.listener.close();
});

test("detach() refuses while a command is in flight", async () => {
  const s = await connectPair({});
  const { commandCapsule } = await import("@nvmf/transport");
  const { encodeSqe } = await import("@nvmf/proto");
  await s.host.transmit(commandCapsule(encodeSqe({ opcode: NvmOpcode.FLUSH, cid: 1 })));
  await assert.rejects(s.host.detach(), /in flight/);
  await teardown(s);
});

test("a discarded carrier closes the socket; adopt() and carrierFrom() check what they get", async () => {
  const s = await connectPair({});
  const h = await s.host.detach();
  assert.throws(
    () =>
      tcp.adopt(s.host.association, { transport: tcp, discard: () => Promise.resolve() }, h.state),
    /not an NVMe\/TCP one/,
  );
  assert.throws(() => tcp.carrierFrom(new Uint8Array(1)), /not a node:net socket/);
  assert.throws(
    () =>
      tcp.adopt(s.host.association, h, {
        ...h.state,
        params: { ...tcp.handoffParams(h.state, 0), rxpda: 6 },
      }),
    RangeError,
  );
  await h.discard();
  assert.equal(await s.ctrl.closed, undefined);
  assert.throws(() => tcp.adopt(s.host.association, h, h.state), /discarded already/);
  await s.listener.close();
});

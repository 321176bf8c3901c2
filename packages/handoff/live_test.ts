// The producers and consumers against live hosts and controllers: handed-off queue pairs carry
// on with I/O in both roles, over NVMe/TCP on 127.0.0.1 and over the loopback transport.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import {
  CNTLID_DYNAMIC,
  CONNECT_DATA_SIZE,
  encodeConnect,
  encodeConnectData,
  FabricsStatus,
  NvmeStatusError,
  ProtocolFieldError,
  SQE_SIZE,
  StatusCodeType,
  TransportType,
} from "@nvmf/proto";
import { RamBackend, Target } from "@nvmf/controller";
import { connect, type HostController } from "@nvmf/host";
import { Association, getTransport, type Listener, QueuePairClosedError } from "@nvmf/transport";
import { tcp } from "@nvmf/transport-tcp";
import { LoopbackTransport } from "@nvmf/transport-loopback";
import { packNvList, unpackNvList } from "./nvlist.ts";
import {
  controllerHandoffFromNvList,
  controllerHandoffToNvList,
  hostHandoffFromNvList,
  hostHandoffToNvList,
} from "./records.ts";
import { adoptHost, handoffHost } from "./host.ts";
import { adoptControllerQpair, handoffControllerQpair } from "./controller.ts";
import { type HandoffConnection, releaseSocket } from "./connection.ts";

const NQN = "nqn.2026-01.dev.nvmf:handoff-live";
const HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:0b7f5c1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e";
const HOSTID = "0b7f5c1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e";

function ramTarget(): Target {
  const target = new Target();
  target.addSubsystem({
    nqn: NQN,
    namespaces: [{ backend: new RamBackend({ size: 8 << 20, blockSize: 512 }) }],
  });
  return target;
}

function pattern(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 7 + seed + (i >> 9)) & 0xff);
}

const hostOptions = {
  subnqn: NQN,
  hostnqn: HOSTNQN,
  hostid: HOSTID,
  asyncEvents: false,
};

/** Settles once `target` has no controller left (it notices a closed connection soon after). */
function allDestroyed(target: Target): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (target.controllers.length > 0) return;
      off();
      resolve();
    };
    const off = target.on("controller-destroyed", check);
    queueMicrotask(check);
  });
}

/** Writes 16 KiB at `lba` and reads it back. */
async function roundTrip(ctrl: HostController, lba: number, seed: number): Promise<void> {
  const ns = await ctrl.namespace(1);
  const data = pattern(16384, seed);
  await ns.write(lba, data);
  assert.deepEqual(await ns.read(lba, 32), data);
}

/** The accept loop of the handoff: Connect read, queue pair handed to `target`. */
function acceptInto(
  listener: Listener,
  target: Target,
  seen: { records: unknown[]; connections: HandoffConnection[] },
): Promise<void> {
  return (async () => {
    for (;;) {
      const qp = await listener.accept().catch(() => undefined);
      if (qp === undefined) return;
      const cmd = await qp.receive();
      assert.equal(cmd.kind, "command");
      if (cmd.kind !== "command") return;
      const data = new Uint8Array(CONNECT_DATA_SIZE);
      await qp.receiveControllerData(cmd, 0, data);
      const handed = await handoffControllerQpair(qp, cmd.sqe, data);
      seen.records.push(handed.record);
      seen.connections.push(handed.connection);
      const bytes = packNvList(controllerHandoffToNvList(handed.record));
      await adoptControllerQpair(
        controllerHandoffFromNvList(unpackNvList(bytes)),
        handed.connection,
        target,
      );
    }
  })();
}

test("handoffHost() records a live TCP association; adoptHost() carries on with its I/O", async () => {
  const target = ramTarget();
  const port = await target.listen("tcp", { traddr: "127.0.0.1", trsvcid: "0" });
  const first = await connect({
    ...hostOptions,
    transport: "tcp",
    address: port.address,
    ioQueues: 2,
  });
  await roundTrip(first, 0, 1);
  const ioccsz = first.cdata.ioccsz;
  const cntlid = first.cntlid;

  const { record, connections } = await handoffHost(first);
  assert.equal(first.state, "handed-off");
  await first.close(); // nothing to do: the connections are the new owner's
  await assert.rejects(first.namespace(1), /the controller is handed-off/);
  assert.equal(connections.length, 3);
  assert.ok(connections.every((c) => c.transport === tcp && c.release !== undefined));

  // prepare_queues_for_handoff()'s fields, from the live association.
  assert.equal(record.trtype, TransportType.TCP);
  assert.equal(record.kato, 5000);
  assert.equal(record.reconnectDelay, 10);
  assert.equal(record.controllerLossTimeout, 600);
  assert.deepEqual(record.cdata, first.cdataBytes);
  const rp = record.rparams;
  assert.deepEqual(
    [rp.hostnqn, rp.numIoQueues, rp.ioQsize, rp.sqFlowControl, rp.headerDigests, rp.dataDigests],
    [HOSTNQN, 2, 128, true, false, false],
  );
  assert.deepEqual([rp.kato, rp.reconnectDelay, rp.controllerLossTimeout], [5000, 10, 600]);
  const queues = [record.admin, ...record.io];
  assert.deepEqual(queues.map((q) => q.fd), [0, 1, 2]);
  for (const q of queues) {
    assert.equal(q.sqhd, q.sqtail); // idle
    assert.equal(q.sqFlowControl, true);
    assert.deepEqual([q.rxpda, q.txpda, q.maxr2t, q.maxh2cdata], [4, 4, 0, 131072]);
  }
  assert.deepEqual(queues.map((q) => q.maxIcd), [8192, ioccsz * 16 - 64, ioccsz * 16 - 64]);
  assert.ok(record.admin.sqtail! > 5); // Connect, CAP, VS, CC, CSTS, Identify, ...

  // Across the wire format, big-endian for a change, then to the new owner.
  const bytes = packNvList(hostHandoffToNvList(record), { bigEndian: true });
  const ctrl = await adoptHost(hostHandoffFromNvList(unpackNvList(bytes)), connections);
  assert.equal(ctrl.state, "live");
  assert.equal(ctrl.cntlid, cntlid);
  assert.deepEqual(ctrl.address, { traddr: "127.0.0.1", trsvcid: port.address.trsvcid });
  assert.equal(ctrl.kato, 5000);
  assert.deepEqual(await (await ctrl.namespace(1)).read(0, 32), pattern(16384, 1));
  await roundTrip(ctrl, 64, 2);
  // The SQ tails went on from the record (no Connect, no Identify on the new owner).
  const { admin, io: [io1, io2] } = ctrl.associationState();
  assert.ok(admin.sqtail > record.admin.sqtail!);
  assert.equal(
    (io1.sqtail - record.io[0].sqtail! + 128) % 128 +
      (io2.sqtail - record.io[1].sqtail! + 128) % 128,
    3, // a read, a write and a read
  );
  await ctrl.close();
  await allDestroyed(target);
  await target.close();
});

test("handoffHost() over loopback without SQ flow control: sqhd = sqtail, no TCP fields", async () => {
  const loop = new LoopbackTransport();
  const target = ramTarget();
  await target.listen(loop, { traddr: "live-nofc" });
  const first = await connect({
    ...hostOptions,
    transport: loop,
    address: { traddr: "live-nofc" },
    sqFlowControl: false,
    ctrlLossTimeout: 0,
    kato: 0,
  });
  await roundTrip(first, 8, 3);
  const { record, connections } = await handoffHost(first);
  assert.equal(record.trtype, TransportType.INTRA_HOST);
  assert.ok(connections.every((c) => c.transport === loop && c.release === undefined));
  assert.deepEqual([record.kato, record.reconnectDelay, record.controllerLossTimeout], [0, 0, 0]);
  assert.equal("headerDigests" in record.rparams, false);
  for (const q of [record.admin, ...record.io]) {
    assert.equal(q.sqFlowControl, false);
    assert.ok(q.sqtail! > 0);
    assert.equal(q.sqhd, q.sqtail); // libnvmf counts responses when flow control is off
    assert.equal(q.fd, undefined);
    assert.equal(q.maxh2cdata, undefined);
  }
  // The nvlist of a loopback qpair has the five transport-independent pairs only.
  const list = hostHandoffToNvList(record);
  const admin = list.pairs.find((p) => p.name === "admin")!.value as { pairs: { name: string }[] };
  assert.deepEqual(admin.pairs.map((p) => p.name), [
    "admin",
    "sq_flow_control",
    "qsize",
    "sqhd",
    "sqtail",
  ]);
  const ctrl = await adoptHost(hostHandoffFromNvList(unpackNvList(packNvList(list))), connections);
  assert.equal(ctrl.kato, 0);
  assert.deepEqual(await (await ctrl.namespace(1)).read(8, 32), pattern(16384, 3));
  await roundTrip(ctrl, 100, 4);
  await ctrl.close();
  await target.close();
});

test("handoffHost() refuses what cannot be handed off, and the controller carries on", async () => {
  const loop = new LoopbackTransport();
  const target = ramTarget();
  await target.listen(loop, { traddr: "live-refuse" });
  const base = { ...hostOptions, transport: loop, address: { traddr: "live-refuse" } };
  const aer = await connect({ ...base, asyncEvents: true });
  await assert.rejects(handoffHost(aer), /Asynchronous Event Requests.*asyncEvents: false/);
  assert.equal(aer.state, "live");
  await roundTrip(aer, 0, 5);
  await aer.close();
  await assert.rejects(handoffHost(aer), /the controller is closed/);
  const adminOnly = await connect({ ...base, ioQueues: 0 });
  await assert.rejects(handoffHost(adminOnly), /no I\/O queues/);
  await adminOnly.close();
  await target.close();
});

test("handoffHost() waits for commands in flight and refuses new ones meanwhile", async () => {
  const loop = new LoopbackTransport({ hooks: { delayMs: 5 } });
  const target = ramTarget();
  await target.listen(loop, { traddr: "live-drain" });
  const first = await connect({
    ...hostOptions,
    transport: loop,
    address: { traddr: "live-drain" },
  });
  const ns = await first.namespace(1);
  const inflight = ns.write(0, pattern(4096, 6));
  const handing = handoffHost(first);
  assert.equal(first.state, "closing");
  await assert.rejects(ns.read(0, 1), QueuePairClosedError);
  await inflight;
  const { record, connections } = await handing;
  const ctrl = await adoptHost(record, connections);
  assert.deepEqual(await (await ctrl.namespace(1)).read(0, 8), pattern(4096, 6));
  await ctrl.close();
  await target.close();
});

test("handoffControllerQpair() hands accepted TCP queue pairs to a target; both roles carry on", async () => {
  const acceptor = await tcp.listen(new Association(tcp, true), {
    traddr: "127.0.0.1",
    trsvcid: "0",
  });
  const worker = ramTarget();
  const port = await worker.listen("tcp", acceptor.address, { accept: false });
  assert.deepEqual(port.address, acceptor.address);
  const seen = {
    records: [] as ReturnType<typeof controllerHandoffFromNvList>[],
    connections: [] as HandoffConnection[],
  };
  const accepting = acceptInto(acceptor, worker, seen);

  const first = await connect({
    ...hostOptions,
    transport: "tcp",
    address: acceptor.address,
    ioQueues: 2,
    queueSize: 64,
  });
  await roundTrip(first, 0, 7);
  // nvmf_handoff_controller_qpair()'s record: the Connect's queue, SQHD 0, no sqtail, fd 0.
  assert.equal(seen.records.length, 3);
  const [admin, io] = seen.records;
  assert.deepEqual(
    [admin.trtype, admin.params.admin, admin.params.qsize, admin.params.sqhd, admin.params.fd],
    [TransportType.TCP, true, 32, 0, 0],
  );
  assert.equal(admin.params.sqtail, undefined);
  assert.deepEqual([io.params.admin, io.params.qsize, io.params.maxIcd], [false, 64, 0]);
  assert.deepEqual([io.params.rxpda, io.params.txpda, io.params.maxr2t], [4, 4, 0]);
  assert.equal(io.cmd.length, SQE_SIZE);
  assert.ok(seen.connections.every((c) => "transport" in c && c.transport === tcp));
  assert.equal(worker.controllers.length, 1);

  // The host hands off too: both ends of every connection have new owners now.
  const { record, connections } = await handoffHost(first);
  const ctrl = await adoptHost(record, connections);
  assert.deepEqual(await (await ctrl.namespace(1)).read(0, 32), pattern(16384, 7));
  await roundTrip(ctrl, 256, 8);
  await ctrl.close();
  await acceptor.close();
  await accepting;
  await allDestroyed(worker);
  await worker.close();
});

test("a released socket is taken up again by the TCP transport, as across processes", async () => {
  // The acceptor takes connections with node:net, so their sockets can be released.
  const association = new Association(tcp, true);
  const worker = ramTarget();
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const trsvcid = String((server.address() as net.AddressInfo).port);
  await worker.listen("tcp", { traddr: "127.0.0.1", trsvcid }, { accept: false });
  const jobs: Promise<void>[] = [];
  server.on("connection", (socket: net.Socket) => {
    jobs.push((async () => {
      const qp = await tcp.acceptSocket(association, socket);
      const cmd = await qp.receive();
      if (cmd.kind !== "command") throw new Error("not a command");
      const data = new Uint8Array(CONNECT_DATA_SIZE);
      await qp.receiveControllerData(cmd, 0, data);
      const { record, connection } = await handoffControllerQpair(qp, cmd.sqe, data);
      const released = await releaseSocket(connection);
      await assert.rejects(releaseSocket(connection), /released/); // once only
      await assert.rejects(releaseSocket(released), /passed here already/);
      await adoptControllerQpair(record, released, worker);
    })());
  });
  const ctrl = await connect({
    ...hostOptions,
    transport: "tcp",
    address: { traddr: "127.0.0.1", trsvcid },
    ioQueues: 1,
  });
  await roundTrip(ctrl, 0, 9);
  await ctrl.close();
  await Promise.all(jobs);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await worker.close();
});

test("releaseSocket() refuses what cannot be passed", async () => {
  const loop = new LoopbackTransport();
  const listener = await loop.listen(new Association(loop, true), { traddr: "live-release" });
  const host = await loop.connect(new Association(loop, false), {
    address: { traddr: "live-release" },
    admin: true,
    qid: 0,
    qsize: 32,
  });
  await assert.rejects(
    releaseSocket(await host.detach()),
    /transport loopback cannot pass its connections/,
  );
  await listener.close();
});

test("adoptControllerQpair() lets the target refuse a Connect it would refuse anyway", async () => {
  const acceptor = await tcp.listen(new Association(tcp, true), {
    traddr: "127.0.0.1",
    trsvcid: "0",
  });
  const worker = ramTarget();
  await worker.listen("tcp", acceptor.address, { accept: false });
  const seen = { records: [], connections: [] };
  const accepting = acceptInto(acceptor, worker, seen);
  await assert.rejects(
    connect({
      ...hostOptions,
      subnqn: "nqn.2026-01.dev.nvmf:nowhere",
      transport: "tcp",
      address: acceptor.address,
    }),
    (e: unknown) =>
      e instanceof NvmeStatusError && e.sct === StatusCodeType.COMMAND_SPECIFIC &&
      e.sc === FabricsStatus.CONNECT_INVALID_PARAMETERS,
  );
  await acceptor.close();
  await accepting;
  await worker.close();
});

test("controller queue pairs hand off over loopback too (trtype 254)", async () => {
  const loop = new LoopbackTransport();
  const acceptor = await loop.listen(new Association(loop, true), { traddr: "live-ctrl" });
  const worker = ramTarget();
  await worker.listen(loop, { traddr: "live-ctrl" }, { accept: false });
  const seen = {
    records: [] as ReturnType<typeof controllerHandoffFromNvList>[],
    connections: [] as HandoffConnection[],
  };
  const accepting = acceptInto(acceptor, worker, seen);
  const ctrl = await connect({ ...hostOptions, transport: loop, address: { traddr: "live-ctrl" } });
  await roundTrip(ctrl, 0, 10);
  assert.deepEqual(seen.records.map((r) => [r.trtype, r.params.fd]), [[254, undefined], [
    254,
    undefined,
  ]]);
  await ctrl.close();
  await acceptor.close();
  await accepting;
  await worker.close();
});

test("the producers and consumers check their arguments", async () => {
  const loop = new LoopbackTransport();
  const acceptor = await loop.listen(new Association(loop, true), { traddr: "live-args" });
  const host = await loop.connect(new Association(loop, false), {
    address: { traddr: "live-args" },
    admin: true,
    qid: 0,
    qsize: 32,
  });
  const qp = await acceptor.accept();
  await assert.rejects(
    handoffControllerQpair(host, new Uint8Array(64), new Uint8Array(1024)),
    TypeError,
  );
  await assert.rejects(
    handoffControllerQpair(qp, new Uint8Array(63), new Uint8Array(1024)),
    RangeError,
  );
  await assert.rejects(
    handoffControllerQpair(qp, new Uint8Array(64), new Uint8Array(1024)),
    ProtocolFieldError,
  );
  assert.equal(qp.done, false); // nothing was detached

  // Adopting needs a port of the record's transport, and a connection of the record's kind.
  const target = ramTarget();
  const d = await qp.detach();
  const record = {
    trtype: TransportType.INTRA_HOST,
    params: { admin: true, sqFlowControl: true, qsize: 32, sqhd: 0 },
    cmd: encodeConnect({ cid: 0, qid: 0, sqsize: 31, kato: 0 }),
    data: encodeConnectData({
      hostid: new Uint8Array(16).fill(1),
      cntlid: CNTLID_DYNAMIC,
      subnqn: NQN,
      hostnqn: HOSTNQN,
    }),
  };
  await assert.rejects(adoptControllerQpair(record, d, target), /no port over transport 254/);
  await target.listen(getTransport("tcp"), { traddr: "127.0.0.1", trsvcid: "0" }, {
    accept: false,
  });
  await assert.rejects(adoptControllerQpair({ ...record, trtype: 3 }, d, target), /"params.fd"/);
  await assert.rejects(
    target.adoptQueuePair(host, record.cmd, record.data),
    /Cannot adopt a host queue pair/,
  );
  await assert.rejects(target.adoptQueuePair(qp, record.cmd, record.data), /no open port/);
  assert.throws(() => loop.adopt(new Association(loop, false), d, record.params), /other role/);
  await host.close();
  await acceptor.close();
  await target.close();
});

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  cqeCid,
  cqeSqhd,
  cqeStatus,
  decodeStatus,
  encodeCqe,
  encodeSqe,
  GenericStatus,
  NvmOpcode,
  SGL_IDENTIFIER,
  SQE_DPTR,
  sqeCid,
} from "@nvmf/proto";
import {
  Association,
  type AssociationParams,
  type CommandCapsule,
  commandCapsule,
  getTransport,
  type Listener,
  type QueuePair,
  QueuePairClosedError,
  responseCapsule,
  TransportError,
} from "@nvmf/transport";
import { SGL_ID_TRANSPORT } from "@nvmf/transport/implement";
import { runCommand, serveDisk } from "@nvmf/transport/testing";
import { loopback, type LoopbackHooks, LoopbackTransport } from "./mod.ts";

// The tiny disk controller and host of @nvmf/transport/testing drive the loopback transport.

const DISK = 1 << 20;

interface Pair {
  transport: LoopbackTransport;
  listener: Listener;
  host: QueuePair;
  ctrl: QueuePair;
}

let nextAddress = 0;

async function pair(
  options: {
    hooks?: LoopbackHooks;
    host?: Partial<AssociationParams>;
    ctrl?: Partial<AssociationParams>;
    admin?: boolean;
    qsize?: number;
    sqFlowControl?: boolean;
    ioccsz?: number;
  } = {},
): Promise<Pair> {
  const transport = new LoopbackTransport({ hooks: options.hooks });
  const traddr = `test-${nextAddress++}`;
  const listener = await transport.listen(new Association(transport, true, options.ctrl), {
    traddr,
  });
  const hostNa = new Association(transport, false, options.host);
  if (options.ioccsz !== undefined) hostNa.update({ ioccsz: options.ioccsz, mdts: 0 });
  const admin = options.admin ?? false;
  const qsize = options.qsize ?? 32;
  const host = await transport.connect(hostNa, {
    address: { traddr },
    admin,
    qid: admin ? 0 : 1,
    qsize,
  });
  const ctrl = await listener.accept();
  ctrl.setConnected({
    qid: admin ? 0 : 1,
    qsize,
    sqFlowControl: options.sqFlowControl ?? hostNa.params.sqFlowControl,
  });
  return { transport, listener, host, ctrl };
}

async function shutdown(p: Pair): Promise<void> {
  await p.host.close();
  await p.ctrl.close();
  await p.listener.close();
}

function pattern(length: number, seed: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

test("getTransport() finds the registered loopback transport by name and TRTYPE", () => {
  assert.equal(getTransport("loopback"), loopback);
  assert.equal(getTransport("LOOPBACK"), loopback);
  assert.equal(getTransport(254), loopback);
});

test("loopback carries a command without data on the admin queue", async () => {
  const p = await pair({ admin: true });
  assert.equal(p.host.admin, true);
  assert.equal(p.ctrl.admin, true);
  const server = serveDisk(p.ctrl, new Uint8Array(DISK));
  const cqe = await runCommand(p.host, NvmOpcode.FLUSH, 1);
  assert.equal(cqeStatus(cqe) >> 1, 0);
  await shutdown(p);
  assert.equal(await server, 1);
});

test("loopback writes in-capsule data and reads it back on an I/O queue", async () => {
  const p = await pair({ ioccsz: (64 + 8192) / 16 });
  assert.equal(p.host.maxInCapsuleData, 8192);
  const disk = new Uint8Array(DISK);
  const seen: number[] = [];
  p.transport.hooks.observe = (e) => {
    if (e.direction === "host-to-controller" && e.capsule.kind === "command") {
      seen.push(e.capsule.sqe[SQE_DPTR + SGL_IDENTIFIER]);
    }
  };
  const server = serveDisk(p.ctrl, disk);
  const data = pattern(4096, 1);
  await runCommand(p.host, NvmOpcode.WRITE, 1, 512, data);
  assert.deepEqual(disk.subarray(512, 512 + 4096), data);
  const back = new Uint8Array(4096);
  await runCommand(p.host, NvmOpcode.READ, 2, 512, back);
  assert.deepEqual(back, data);
  // The write went in the capsule, the read asked for transport data.
  assert.deepEqual(seen, [0x01, SGL_ID_TRANSPORT]);
  await shutdown(p);
  await server;
});

test("loopback fetches data larger than in-capsule in several receiveControllerData calls", async () => {
  const p = await pair({ ioccsz: (64 + 4096) / 16, ctrl: { tcp: { maxh2cdata: 4096 } as never } });
  const disk = new Uint8Array(DISK);
  const server = serveDisk(p.ctrl, disk, { chunks: 3 });
  for (const size of [1, 4097, 65536, 300_001]) {
    const data = pattern(size, size);
    await runCommand(p.host, NvmOpcode.WRITE, 10, 1000, data);
    assert.deepEqual(disk.subarray(1000, 1000 + size), data, `size ${size}`);
  }
  await shutdown(p);
  await server;
});

test("loopback delivers controller data sent in several pieces", async () => {
  const p = await pair();
  const disk = pattern(DISK, 9);
  const server = serveDisk(p.ctrl, disk, { pieces: 5 });
  const back = new Uint8Array(131072);
  await runCommand(p.host, NvmOpcode.READ, 3, 4096, back);
  assert.deepEqual(back, disk.subarray(4096, 4096 + 131072));
  await shutdown(p);
  await server;
});

test("loopback completes a read with the implicit success CQE when SQ flow control is off", async () => {
  const p = await pair({ host: { sqFlowControl: false } });
  assert.equal(p.host.sqFlowControl, false);
  assert.equal(p.ctrl.sqFlowControl, false);
  const disk = pattern(DISK, 3);
  const server = serveDisk(p.ctrl, disk, { pieces: 2 });
  const back = new Uint8Array(8192);
  const cqe = await runCommand(p.host, NvmOpcode.READ, 77, 0, back);
  assert.equal(decodeStatus(cqeStatus(cqe)).sc, 0);
  assert.equal(cqeSqhd(cqe), 0); // synthesized by the host end for SUCCESS: no SQHD
  assert.deepEqual(back, disk.subarray(0, 8192));
  await shutdown(p);
  assert.equal(await server, 1);
});

test("loopback keeps SQ head and tail as FreeBSD's libnvmf does", async () => {
  const p = await pair({ qsize: 4 });
  const server = serveDisk(p.ctrl, new Uint8Array(DISK));
  for (let i = 1; i <= 6; i++) {
    const cqe = await runCommand(p.host, NvmOpcode.FLUSH, i);
    assert.equal(cqeSqhd(cqe), i % 4);
  }
  assert.equal(p.host.sqtail, 6 % 4);
  assert.equal(p.host.sqhd, 6 % 4);
  assert.equal(p.ctrl.sqhd, 6 % 4);
  const state = p.host.state();
  assert.deepEqual(
    { qsize: state.qsize, sqhd: state.sqhd, sqtail: state.sqtail, admin: state.admin },
    { qsize: 4, sqhd: 2, sqtail: 2, admin: false },
  );
  assert.equal(typeof state.transport.maxh2cdata, "number");
  await shutdown(p);
  await server;
});

test("validateCommandCapsule() rejects bad SGLs with the generic status", async () => {
  const p = await pair({ ioccsz: (64 + 8192) / 16 });
  const cases: [string, (sqe: Uint8Array) => void, number][] = [
    [
      "keyed data block",
      (s) => s[SQE_DPTR + SGL_IDENTIFIER] = 0x40,
      GenericStatus.SGL_DESCRIPTOR_TYPE_INVALID,
    ],
    ["offset", (s) => s[SQE_DPTR] = 8, GenericStatus.SGL_OFFSET_INVALID],
    ["length", (s) => s[SQE_DPTR + 8] = 0x10, GenericStatus.DATA_SGL_LENGTH_INVALID],
  ];
  for (const [name, damage, expected] of cases) {
    p.transport.hooks.corrupt = (e) => {
      if (e.capsule.kind === "command") damage(e.capsule.sqe);
    };
    await p.host.transmit(
      commandCapsule(
        encodeSqe({ opcode: NvmOpcode.WRITE, cid: 5 }),
        new Uint8Array(512),
        "host-to-controller",
      ),
    );
    const cmd = await p.ctrl.receive() as CommandCapsule;
    assert.equal(p.ctrl.validateCommandCapsule(cmd), expected, name);
    await p.ctrl.transmit(responseCapsule(encodeCqe({ cid: 5 })));
    await p.host.receive();
  }
  await shutdown(p);
});

test("controller data methods refuse ranges beyond the command's SGL", async () => {
  const p = await pair();
  await p.host.transmit(
    commandCapsule(
      encodeSqe({ opcode: NvmOpcode.READ, cid: 1 }),
      new Uint8Array(512),
      "controller-to-host",
    ),
  );
  const cmd = await p.ctrl.receive() as CommandCapsule;
  await assert.rejects(p.ctrl.sendControllerData(cmd, 256, new Uint8Array(512), true), RangeError);
  await assert.rejects(
    p.host.receiveControllerData(cmd, 0, new Uint8Array(16)),
    /host queue pair/,
  );
  await shutdown(p);
});

test("fetching data for a command whose host buffer is for reading ends the connection, as a TermReq would", async () => {
  const p = await pair();
  await p.host.transmit(
    commandCapsule(
      encodeSqe({ opcode: NvmOpcode.WRITE, cid: 1 }),
      new Uint8Array(512),
      "controller-to-host",
    ),
  );
  const cmd = await p.ctrl.receive() as CommandCapsule;
  await assert.rejects(
    p.ctrl.receiveControllerData(cmd, 0, new Uint8Array(16)),
    (e) => e instanceof TransportError && e.code === "protocol",
  );
  const hostEnd = await p.host.closed;
  assert.ok(hostEnd instanceof TransportError && hostEnd.code === "protocol");
  assert.ok((await p.ctrl.closed) instanceof TransportError);
  await shutdown(p);
});

test("a dropped connection fails both ends and every pending operation", async () => {
  const p = await pair({ hooks: { dropAtCapsule: 3 } });
  const server = serveDisk(p.ctrl, new Uint8Array(DISK));
  await runCommand(p.host, NvmOpcode.FLUSH, 1); // capsules 1 and 2
  await p.host.transmit(commandCapsule(encodeSqe({ opcode: NvmOpcode.FLUSH, cid: 2 }))); // 3: lost
  await assert.rejects(
    p.host.receive(),
    (e) => e instanceof TransportError && e.code === "connection",
  );
  const hostErr = await p.host.closed;
  const ctrlErr = await p.ctrl.closed;
  assert.ok(hostErr instanceof TransportError);
  assert.ok(ctrlErr instanceof TransportError);
  await assert.rejects(p.host.transmit(commandCapsule(new Uint8Array(64))), TransportError);
  assert.equal(await server, 1);
  await shutdown(p);
});

test("an orderly close by the host ends the controller end without an error", async () => {
  const p = await pair();
  const pending = p.ctrl.receive();
  await p.host.close();
  await assert.rejects(pending, QueuePairClosedError);
  assert.equal(await p.ctrl.closed, undefined);
  assert.equal(await p.host.closed, undefined);
  await assert.rejects(p.host.receive(), QueuePairClosedError);
  await p.listener.close();
});

test("closing a listener rejects a pending accept and closes unaccepted connections", async () => {
  const transport = new LoopbackTransport();
  const listener = await transport.listen(new Association(transport, true), { traddr: "l" });
  const host = await transport.connect(new Association(transport, false), {
    address: { traddr: "l" },
    admin: true,
    qid: 0,
    qsize: 8,
  });
  await listener.accept();
  const pending = listener.accept();
  await listener.close();
  await assert.rejects(pending, QueuePairClosedError);
  await assert.rejects(
    transport.connect(new Association(transport, false), {
      address: { traddr: "l" },
      admin: true,
      qid: 0,
      qsize: 8,
    }),
    (e) => e instanceof TransportError && e.code === "connect",
  );
  await host.close();
});

test("listening twice on one address fails", async () => {
  const transport = new LoopbackTransport();
  const l = await transport.listen(new Association(transport, true), { traddr: "x" });
  await assert.rejects(
    transport.listen(new Association(transport, true), { traddr: "x" }),
    /in use/,
  );
  await l.close();
});

test("the delay hook delivers late but in order, and close clears its timers", async () => {
  const order: number[] = [];
  const p = await pair({ hooks: { delayMs: 5 } });
  for (let cid = 1; cid <= 3; cid++) {
    await p.host.transmit(commandCapsule(encodeSqe({ opcode: NvmOpcode.FLUSH, cid })));
  }
  for (let i = 0; i < 3; i++) order.push(sqeCid(((await p.ctrl.receive()) as CommandCapsule).sqe));
  assert.deepEqual(order, [1, 2, 3]);
  await p.host.transmit(commandCapsule(encodeSqe({ opcode: NvmOpcode.FLUSH, cid: 9 })));
  await shutdown(p); // the capsule still in its timer is dropped with the connection
});

test("a corrupted capsule arrives corrupted", async () => {
  const p = await pair({
    hooks: {
      corrupt: (e) => {
        if (e.capsule.kind === "response") {
          return responseCapsule(encodeCqe({ cid: 1, status: 0x0004 }));
        }
      },
    },
  });
  await p.host.transmit(commandCapsule(encodeSqe({ opcode: NvmOpcode.FLUSH, cid: 1 })));
  await p.ctrl.receive();
  await p.ctrl.transmit(responseCapsule(encodeCqe({ cid: 1 })));
  const rsp = await p.host.receive();
  assert.ok(rsp.kind === "response");
  assert.equal(decodeStatus(cqeStatus(rsp.cqe)).sc, GenericStatus.INVALID_FIELD_IN_COMMAND);
  await shutdown(p);
});

test("a host cannot reuse a CID that is in flight", async () => {
  const p = await pair();
  await p.host.transmit(commandCapsule(encodeSqe({ opcode: NvmOpcode.FLUSH, cid: 4 })));
  await assert.rejects(
    p.host.transmit(commandCapsule(encodeSqe({ opcode: NvmOpcode.FLUSH, cid: 4 }))),
    /in flight/,
  );
  await shutdown(p);
});

test("many commands at queue depth 16 over two I/O queues", async () => {
  const transport = new LoopbackTransport();
  const listener = await transport.listen(new Association(transport, true), { traddr: "qd" });
  const disk = new Uint8Array(DISK);
  const servers: Promise<number>[] = [];
  const hosts: QueuePair[] = [];
  for (let qid = 1; qid <= 2; qid++) {
    const na = new Association(transport, false);
    na.update({ ioccsz: (64 + 4096) / 16, mdts: 0 });
    hosts.push(
      await transport.connect(na, { address: { traddr: "qd" }, admin: false, qid, qsize: 32 }),
    );
    const ctrl = await listener.accept();
    ctrl.setConnected({ qid, qsize: 32, sqFlowControl: true });
    servers.push(serveDisk(ctrl, disk));
  }
  let completed = 0;
  const worker = async (host: QueuePair, base: number) => {
    const inflight = new Map<number, Uint8Array>();
    const done: Promise<void>[] = [];
    const reader = (async () => {
      for (let i = 0; i < 200; i++) {
        const rsp = await host.receive();
        assert.ok(rsp.kind === "response");
        assert.ok(inflight.delete(cqeCid(rsp.cqe)));
        completed++;
      }
    })();
    for (let i = 0; i < 200; i++) {
      while (inflight.size >= 16) await new Promise((r) => setTimeout(r, 0));
      const cid = i;
      const data = pattern(4096, i);
      inflight.set(cid, data);
      done.push(host.transmit(
        commandCapsule(
          encodeSqe({ opcode: NvmOpcode.WRITE, cid, cdw10: base + (i % 16) * 4096 }),
          data,
          "host-to-controller",
        ),
      ));
    }
    await Promise.all(done);
    await reader;
  };
  await Promise.all([worker(hosts[0], 0), worker(hosts[1], 65536)]);
  assert.equal(completed, 400);
  for (const h of hosts) await h.close();
  await listener.close();
  assert.deepEqual(await Promise.all(servers), [200, 200]);
});

test("sendControllerData() reports more, sent and success-sent as the kernel does", async () => {
  for (const sqFlowControl of [true, false]) {
    const p = await pair({ host: { sqFlowControl } });
    const into = new Uint8Array(1024);
    await p.host.transmit(
      commandCapsule(encodeSqe({ opcode: NvmOpcode.READ, cid: 1 }), into, "controller-to-host"),
    );
    const cmd = await p.ctrl.receive() as CommandCapsule;
    assert.equal(
      await p.ctrl.sendControllerData(cmd, 0, new Uint8Array(512).fill(1), false),
      "more",
    );
    const last = await p.ctrl.sendControllerData(cmd, 512, new Uint8Array(512).fill(2), true);
    assert.equal(last, sqFlowControl ? "sent" : "success-sent");
    if (sqFlowControl) await p.ctrl.transmit(responseCapsule(encodeCqe({ cid: 1 })));
    assert.equal((await p.host.receive()).kind, "response");
    assert.deepEqual([into[0], into[1023]], [1, 2]);
    await shutdown(p);
  }
});

test("detach() and adopt(): capsules sent meanwhile wait for the new owner; carriers are checked", async () => {
  const p = await pair({ admin: true });
  const disk = new Uint8Array(1 << 14);
  const first = serveDisk(p.ctrl, disk);
  await runCommand(p.host, NvmOpcode.WRITE, 1, 0, pattern(512, 3));
  const h = await p.host.detach();
  assert.equal(await p.host.closed, undefined);
  assert.deepEqual([h.state.sqtail, h.transport], [1, p.transport]);
  assert.deepEqual(p.transport.handoffParams(), {});
  // The controller end goes too, while the host's next command is on its way.
  await p.ctrl.detach().then(async (c) => {
    assert.equal(await first, 1);
    const other = new LoopbackTransport();
    assert.throws(() => other.adopt(p.ctrl.association, c, c.state), /another loopback fabric/);
    assert.throws(() => p.transport.adopt(p.host.association, c, c.state), /other role/);
    const host = p.transport.adopt(p.host.association, h, h.state);
    assert.throws(() => p.transport.adopt(p.host.association, h, h.state), /already/);
    const into = new Uint8Array(512);
    const reading = runCommand(host, NvmOpcode.READ, 2, 0, into);
    const ctrl = p.transport.adopt(p.ctrl.association, c, c.state);
    const second = serveDisk(ctrl, disk);
    const cqe = await reading;
    assert.deepEqual(into, pattern(512, 3));
    assert.equal(cqeSqhd(cqe), 2);
    await host.close();
    assert.equal(await second, 1);
  });
  await p.listener.close();
});

test("a discarded loopback carrier closes the connection in an orderly way", async () => {
  const p = await pair({});
  const h = await p.host.detach();
  await h.discard();
  await h.discard();
  assert.equal(await p.ctrl.closed, undefined);
  assert.throws(() => p.transport.adopt(p.host.association, h, h.state), /discarded/);
  await assert.rejects(p.host.detach(), QueuePairClosedError);
  await p.listener.close();
});

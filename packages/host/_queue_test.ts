import { test } from "node:test";
import assert from "node:assert/strict";
import {
  cqeSqhd,
  encodeCqe,
  encodeSqe,
  NvmOpcode,
  setCqeSqhd,
  sqeCid,
  SQHD_FLOW_CONTROL_DISABLED,
} from "@nvmf/proto";
import {
  Association,
  type Capsule,
  type CommandCapsule,
  type Listener,
  type QueuePair,
  responseCapsule,
  TransportError,
} from "@nvmf/transport";
import { LoopbackTransport } from "@nvmf/transport-loopback";
import { Command, HostQueue, type QueueOwner } from "./_queue.ts";

// HostQueue against a hand-driven controller end: the test decides when each command is
// answered and what SQHD the answer carries.

interface Rig {
  transport: LoopbackTransport;
  listener: Listener;
  queue: HostQueue;
  ctrl: QueuePair;
  owner: RecordingOwner;
  /** Commands the controller end received, in order. */
  received: CommandCapsule[];
}

class RecordingOwner implements QueueOwner {
  failures: number[] = [];
  timeouts: number[] = [];
  stuckCids: number[] = [];
  downs: { error: Error; commands: Command[] }[] = [];
  failed(_q: HostQueue, _c: Command, cqe: Uint8Array): void {
    this.failures.push(cqe[14] | (cqe[15] << 8));
  }
  timedOut(_q: HostQueue, _c: Command, cid: number): void {
    this.timeouts.push(cid);
  }
  stuck(_q: HostQueue, _c: Command, cid: number): void {
    this.stuckCids.push(cid);
  }
  down(_q: HostQueue, error: Error, commands: Command[]): void {
    this.downs.push({ error, commands });
    for (const c of commands) c.reject(error);
  }
}

let next = 0;

async function rig(qsize: number, sqhdAfterConnect: number): Promise<Rig> {
  const transport = new LoopbackTransport();
  const traddr = `queue-${next++}`;
  const listener = await transport.listen(new Association(transport, true), { traddr });
  const qp = await transport.connect(new Association(transport, false), {
    address: { traddr },
    admin: false,
    qid: 1,
    qsize,
  });
  const ctrl = await listener.accept();
  ctrl.setConnected({
    qid: 1,
    qsize,
    sqFlowControl: sqhdAfterConnect !== SQHD_FLOW_CONTROL_DISABLED,
  });
  const owner = new RecordingOwner();
  const queue = new HostQueue(qp, 1, owner);
  queue.setConnected(sqhdAfterConnect);
  const received: CommandCapsule[] = [];
  (async () => {
    for (;;) {
      let c: Capsule;
      try {
        c = await ctrl.receive();
      } catch {
        return;
      }
      if (c.kind === "command") received.push(c);
    }
  })();
  return { transport, listener, queue, ctrl, owner, received };
}

async function done(r: Rig): Promise<void> {
  await r.queue.close();
  await r.ctrl.close();
  await r.listener.close();
}

function flush(): Command {
  const c = new Command();
  c.opcode = NvmOpcode.FLUSH;
  c.nsid = 1;
  return c;
}

/** Lets the loopback deliver what is in flight (it hands capsules over synchronously). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

async function answer(r: Rig, command: CommandCapsule, sqhd?: number, status = 0): Promise<void> {
  const cqe = encodeCqe({ cid: sqeCid(command.sqe), sqid: 1, status });
  if (sqhd === undefined) {
    await r.ctrl.transmit(responseCapsule(cqe));
  } else {
    // Transmit writes the real SQHD; a hook puts the reported one back, as a lagging
    // controller would send it.
    r.transport.hooks.corrupt = (e) => {
      if (e.capsule.kind === "response") setCqeSqhd(e.capsule.cqe, sqhd);
    };
    await r.ctrl.transmit(responseCapsule(cqe));
    r.transport.hooks.corrupt = undefined;
  }
}

test("HostQueue keeps at most qsize - 1 commands outstanding", async () => {
  const r = await rig(4, 0);
  const commands = Array.from({ length: 8 }, flush);
  for (const c of commands) r.queue.submit(c);
  await settle();
  assert.equal(r.received.length, 3);
  assert.equal(r.queue.outstanding, 3);
  assert.equal(r.queue.waiting, 5);
  await answer(r, r.received[1]);
  await commands[1].promise;
  await settle();
  assert.equal(r.received.length, 4, "one slot freed, one more command sent");
  for (let i = 0; i < 8; i++) {
    if (i === 1) continue;
    while (r.received.length <= Math.min(i, 7)) await settle();
    await answer(r, r.received[i]);
  }
  await Promise.all(commands.map((c) => c.promise));
  assert.equal(r.queue.outstanding, 0);
  assert.equal(r.received.length, 8);
  // CIDs stay below qsize - 1: they are slot numbers.
  assert.ok(r.received.every((c) => (sqeCid(c.sqe) & 0xfff) < 3), "slots 0 to 2 only");
  await done(r);
});

test("HostQueue does not send past the SQHD the controller reports", async () => {
  const r = await rig(4, 0);
  const commands = Array.from({ length: 5 }, flush);
  for (const c of commands) r.queue.submit(c);
  await settle();
  assert.equal(r.received.length, 3);
  // Two completions that still report SQHD 0: the SQ looks full (tail 3, head 0).
  await answer(r, r.received[0], 0);
  await answer(r, r.received[1], 0);
  await Promise.all([commands[0].promise, commands[1].promise]);
  await settle();
  assert.equal(r.queue.outstanding, 1);
  assert.equal(r.received.length, 3, "no command while SQTAIL + 1 == SQHD");
  assert.equal(r.queue.waiting, 2);
  // Now the controller says it consumed all three entries.
  await answer(r, r.received[2], 3);
  await commands[2].promise;
  await settle();
  assert.equal(r.received.length, 5);
  assert.equal(r.queue.sqhd, 3);
  await answer(r, r.received[3]);
  await answer(r, r.received[4]);
  await Promise.all(commands.map((c) => c.promise));
  assert.equal(r.queue.sqtail, 5 % 4);
  await done(r);
});

test("HostQueue ignores SQHD when the controller disabled SQ flow control", async () => {
  const r = await rig(4, SQHD_FLOW_CONTROL_DISABLED);
  assert.equal(r.queue.sqFlowControl, false);
  const commands = Array.from({ length: 5 }, flush);
  for (const c of commands) r.queue.submit(c);
  await settle();
  assert.equal(r.received.length, 3);
  await answer(r, r.received[0], 0);
  await answer(r, r.received[1], 0);
  await settle();
  assert.equal(r.received.length, 5, "only the depth limits the queue");
  for (const c of r.received.slice(2)) await answer(r, c);
  await Promise.all(commands.map((c) => c.promise));
  await done(r);
});

test("HostQueue reports error statuses to its owner and resolves successes", async () => {
  const r = await rig(8, 0);
  const ok = flush();
  const bad = flush();
  r.queue.submit(ok);
  r.queue.submit(bad);
  await settle();
  await answer(r, r.received[0]);
  await answer(r, r.received[1], undefined, 0x0004);
  const cqe = await ok.promise;
  assert.equal(cqeSqhd(cqe), 1);
  await settle();
  assert.deepEqual(r.owner.failures, [0x0004]);
  await done(r);
});

test("HostQueue times a command out, keeps its CID until the late CQE, then frees it", async () => {
  const r = await rig(3, 0); // two slots
  const slow = flush();
  slow.timeoutMs = 5;
  const timedOut = new Promise<void>((resolve) => {
    const orig = r.owner.timedOut.bind(r.owner);
    r.owner.timedOut = (q, c, cid) => {
      orig(q, c, cid);
      resolve();
    };
  });
  r.queue.submit(slow);
  await timedOut;
  assert.deepEqual(r.owner.timeouts, [0]);
  assert.equal(r.queue.outstanding, 1, "the CID stays reserved");
  const other = flush();
  r.queue.submit(other);
  await settle();
  assert.equal(sqeCid(r.received[1].sqe), 1, "a new command gets another CID");
  await answer(r, r.received[0]); // the late completion of the timed-out command
  await answer(r, r.received[1]);
  await other.promise;
  assert.equal(r.queue.outstanding, 0);
  await done(r);
});

test("HostQueue hands outstanding and waiting commands to its owner when the connection drops", async () => {
  const r = await rig(3, 0);
  const commands = Array.from({ length: 4 }, flush);
  for (const c of commands) r.queue.submit(c);
  await settle();
  r.transport.hooks.dropAtCapsule = 1;
  await r.ctrl.transmit(responseCapsule(encodeCqe({ cid: 0 }))).catch(() => {});
  for (const c of commands) await assert.rejects(c.promise, TransportError);
  assert.equal(r.owner.downs.length, 1);
  assert.equal(r.owner.downs[0].commands.length, 4);
  assert.ok(r.queue.isDown);
  r.transport.hooks.dropAtCapsule = undefined;
  await done(r);
});

test("HostQueue ends the queue on a CQE whose CID has no command outstanding (as Linux)", async () => {
  const r = await rig(4, 0);
  const c = flush();
  r.queue.submit(c);
  await settle();
  await r.ctrl.transmit(responseCapsule(encodeCqe({ cid: 2 })));
  await assert.rejects(c.promise, (e) => e instanceof TransportError && /CID 2/.test(e.message));
  assert.ok(r.queue.isDown);
  assert.equal(r.owner.downs.length, 1);
  await done(r);
});

test("HostQueue gives a slot's CID a new generation each use, so a stale CQE matches nothing", async () => {
  const r = await rig(3, 0);
  const first = flush();
  r.queue.submit(first);
  await settle();
  await answer(r, r.received[0]);
  await first.promise;
  const second = flush();
  r.queue.submit(second);
  await settle();
  assert.equal(sqeCid(r.received[1].sqe), 0x1000, "slot 0, generation 1");
  await r.ctrl.transmit(responseCapsule(encodeCqe({ cid: 0, sqid: 1 }))); // the old CID again
  await assert.rejects(
    second.promise,
    (e) => e instanceof TransportError && /CID 0,/.test(e.message),
  );
  await done(r);
});

test("HostQueue reports a timed-out command stuck after a second timeout", async () => {
  const r = await rig(3, 0);
  const slow = flush();
  slow.timeoutMs = 5;
  r.queue.submit(slow);
  while (r.owner.stuckCids.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(r.owner.timeouts, [0]);
  assert.deepEqual(r.owner.stuckCids, [0]);
  assert.ok(r.queue.isOutstanding(0), "the CID stays reserved until the owner resets");
  await done(r);
});

test("HostQueue copies a template SQE and writes its CID", async () => {
  const r = await rig(4, 0);
  const c = new Command();
  c.template = encodeSqe({ opcode: NvmOpcode.READ, cid: 0x7777, nsid: 9, cdw10: 42 });
  c.data = new Uint8Array(512);
  c.direction = "controller-to-host";
  r.queue.submit(c);
  await settle();
  const sqe = r.received[0].sqe;
  assert.equal(sqeCid(sqe), 0);
  assert.equal(sqe[4], 9);
  assert.equal(sqe[40], 42);
  await r.ctrl.sendControllerData(r.received[0], 0, new Uint8Array(512).fill(3), true);
  await answer(r, r.received[0]);
  await c.promise;
  assert.equal(c.data[511], 3);
  await done(r);
});

// A third transport, written against the @nvmf/transport contract alone (no loopback or TCP
// class), gets handoff for free: its host association and its controller queue pairs are handed
// off and adopted by @nvmf/handoff, which never learns what transport it holds, and keep working.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CONNECT_DATA_SIZE, cqeCid, sqeCid, TransportType } from "@nvmf/proto";
import {
  Association,
  type Capsule,
  type CommandCapsule,
  type ConnectParams,
  type HandoffCarrier,
  type HandoffParams,
  type Listener,
  type QueuePair,
  QueuePairClosedError,
  type QueuePairHandoff,
  type QueuePairResume,
  type QueuePairState,
  type SendOutcome,
  type Transport,
  type TransportAddress,
  TransportError,
} from "@nvmf/transport";
import {
  BaseQueuePair,
  type BaseQueuePairInit,
  commandSglLength,
  prepareCommandSgl,
  validateCommandSgl,
} from "@nvmf/transport/implement";
import { RamBackend, Target } from "@nvmf/controller";
import { connect, type HostController } from "@nvmf/host";
import { packNvList, unpackNvList } from "./nvlist.ts";
import {
  controllerHandoffFromNvList,
  controllerHandoffToNvList,
  hostHandoffFromNvList,
  hostHandoffToNvList,
} from "./records.ts";
import { adoptHost, handoffHost } from "./host.ts";
import { adoptControllerQpair, handoffControllerQpair } from "./controller.ts";

// ---------------------------------------------------------------------------------------------
// The test double: an in-memory transport. Host commands reach the controller end as a view of
// the host's capsule; data is copied once, either way. The handoff records name transports by
// TRTYPE and know 3 and 254, so it is an intra-host transport (254) of its own, not registered.

/** A command as the controller end receives it. */
class MemoryCommand implements CommandCapsule {
  readonly kind = "command" as const;
  readonly data: undefined = undefined;
  readonly direction: undefined = undefined;
  readonly sqe: Uint8Array;
  constructor(readonly host: CommandCapsule, readonly icd: number) {
    this.sqe = host.sqe;
  }
}

/** One connection: its two ends. */
class Wire {
  host!: MemoryQueuePair;
  controller!: MemoryQueuePair;
  down = false;
  other(end: MemoryQueuePair): MemoryQueuePair {
    return end === this.host ? this.controller : this.host;
  }
  close(by: MemoryQueuePair): void {
    if (this.down) return;
    this.down = true;
    this.other(by).peerClosed();
  }
}

class MemoryQueuePair extends BaseQueuePair {
  wire: Wire;
  readonly fabric: MemoryTransport;
  /** Host: CIDs awaiting their response. */
  readonly #inflight = new Set<number>();
  /** Detached: what arrives waits here for the new owner. */
  parked: Capsule[] | undefined;
  closedWhileParked = false;

  constructor(
    fabric: MemoryTransport,
    association: Association,
    wire: Wire,
    init: BaseQueuePairInit,
  ) {
    super(association, init);
    this.fabric = fabric;
    this.wire = wire;
  }

  protected _transmit(capsule: Capsule): Promise<void> {
    if (this.wire.down) return Promise.reject(this._doneError("transmit"));
    const peer = this.wire.other(this);
    if (capsule.kind === "command") {
      const length = capsule.data?.length ?? 0;
      const icd = prepareCommandSgl(capsule.sqe, length, capsule.direction, this.maxInCapsuleData);
      this.#inflight.add(sqeCid(capsule.sqe));
      peer.arrive(new MemoryCommand(capsule, icd ? length : 0));
    } else {
      peer.arrive(capsule);
    }
    return Promise.resolve();
  }

  arrive(capsule: Capsule): void {
    if (this.parked !== undefined) {
      this.parked.push(capsule);
      return;
    }
    if (capsule.kind === "response") this.#inflight.delete(cqeCid(capsule.cqe));
    this._deliver(capsule);
  }

  peerClosed(): void {
    if (this.parked !== undefined) this.closedWhileParked = true;
    else this._peerClosed();
  }

  protected _close(): Promise<void> {
    this.wire.close(this);
    return Promise.resolve();
  }

  protected _transportState(): Record<string, number | boolean> {
    return {};
  }

  protected _detach(): Promise<QueuePairHandoff> {
    if (this.#inflight.size > 0) {
      return Promise.reject(new Error("Cannot detach the queue pair: commands are in flight"));
    }
    const state = this.state();
    this.parked = [];
    this._handedOff();
    return Promise.resolve(new MemoryHandoff(this, state));
  }

  capsuleDataLength(command: CommandCapsule): number {
    return commandSglLength(command.sqe);
  }

  validateCommandCapsule(command: CommandCapsule): number {
    return validateCommandSgl(command.sqe, (command as MemoryCommand).icd);
  }

  receiveControllerData(command: CommandCapsule, offset: number, into: Uint8Array): Promise<void> {
    const host = (command as MemoryCommand).host;
    into.set(host.data!.subarray(offset, offset + into.length));
    return Promise.resolve();
  }

  sendControllerData(
    command: CommandCapsule,
    offset: number,
    data: Uint8Array,
    last: boolean,
  ): Promise<SendOutcome> {
    (command as MemoryCommand).host.data!.set(data, offset);
    return Promise.resolve(last ? "sent" : "more");
  }
}

class MemoryHandoff implements QueuePairHandoff {
  spent = false;
  constructor(readonly end: MemoryQueuePair, readonly state: QueuePairState) {}
  get transport(): Transport {
    return this.end.fabric;
  }
  discard(): Promise<void> {
    if (!this.spent) {
      this.spent = true;
      this.end.wire.close(this.end);
    }
    return Promise.resolve();
  }
}

class MemoryListener implements Listener {
  readonly #ready: QueuePair[] = [];
  readonly #waiters: { resolve(qp: QueuePair): void; reject(e: Error): void }[] = [];
  closed = false;
  constructor(readonly address: TransportAddress, readonly association: Association) {}
  offer(qp: QueuePair): void {
    const w = this.#waiters.shift();
    if (w) w.resolve(qp);
    else this.#ready.push(qp);
  }
  accept(): Promise<QueuePair> {
    const qp = this.#ready.shift();
    if (qp !== undefined) return Promise.resolve(qp);
    if (this.closed) return Promise.reject(new QueuePairClosedError("Cannot accept: closed"));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }
  close(): Promise<void> {
    this.closed = true;
    for (const w of this.#waiters.splice(0)) w.reject(new QueuePairClosedError("closed"));
    return Promise.resolve();
  }
}

class MemoryTransport implements Transport {
  readonly trtype: number = TransportType.INTRA_HOST;
  readonly name: string = "memory";
  readonly #listeners = new Map<string, MemoryListener>();
  adopted = 0;

  listen(association: Association, address: TransportAddress): Promise<Listener> {
    const listener = new MemoryListener({ ...address }, association);
    this.#listeners.set(address.traddr, listener);
    return Promise.resolve(listener);
  }

  connect(association: Association, params: ConnectParams): Promise<QueuePair> {
    const listener = this.#listeners.get(params.address.traddr);
    if (listener === undefined || listener.closed) {
      return Promise.reject(new TransportError("Cannot connect: nothing listens", "connect"));
    }
    const wire = new Wire();
    wire.host = new MemoryQueuePair(this, association, wire, {
      controller: false,
      admin: params.admin,
      qid: params.qid,
      qsize: params.qsize,
      sqFlowControl: association.params.sqFlowControl,
    });
    wire.controller = new MemoryQueuePair(this, listener.association, wire, {
      controller: true,
      admin: false,
      qsize: 0,
      sqFlowControl: true,
    });
    listener.offer(wire.controller);
    return Promise.resolve(wire.host);
  }

  adopt(association: Association, carrier: HandoffCarrier, resume: QueuePairResume): QueuePair {
    if (!(carrier instanceof MemoryHandoff) || carrier.end.fabric !== this || carrier.spent) {
      throw new TypeError("Cannot adopt the connection: not one of this fabric's");
    }
    carrier.spent = true;
    const old = carrier.end;
    const qp = new MemoryQueuePair(this, association, old.wire, {
      controller: old.controller,
      admin: resume.admin,
      qid: resume.qid,
      qsize: resume.qsize,
      sqFlowControl: resume.sqFlowControl,
      sqhd: resume.sqhd,
      sqtail: resume.sqtail,
    });
    if (old.wire.host === old) old.wire.host = qp;
    else old.wire.controller = qp;
    for (const capsule of old.parked ?? []) qp.arrive(capsule);
    if (old.closedWhileParked) qp.peerClosed();
    this.adopted++;
    return qp;
  }

  handoffParams(): HandoffParams {
    return {};
  }
}

// ---------------------------------------------------------------------------------------------

const NQN = "nqn.2026-01.dev.nvmf:handoff-contract";

function ramTarget(): Target {
  const target = new Target();
  target.addSubsystem({
    nqn: NQN,
    namespaces: [{ backend: new RamBackend({ size: 4 << 20, blockSize: 512 }) }],
  });
  return target;
}

function pattern(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 13 + seed) & 0xff);
}

async function roundTrip(ctrl: HostController, lba: number, seed: number): Promise<void> {
  const ns = await ctrl.namespace(1);
  const data = pattern(8192, seed);
  await ns.write(lba, data);
  assert.deepEqual(await ns.read(lba, 16), data);
}

const hostOptions = { subnqn: NQN, asyncEvents: false };

test("a transport that implements only the contract: its host association is handed off and adopted", async () => {
  const memory = new MemoryTransport();
  const target = ramTarget();
  await target.listen(memory, { traddr: "contract-host" });
  const first = await connect({
    ...hostOptions,
    transport: memory,
    address: { traddr: "contract-host" },
    ioQueues: 2,
  });
  await roundTrip(first, 0, 1);

  const { record, connections } = await handoffHost(first);
  assert.equal(first.state, "handed-off");
  assert.equal(record.trtype, TransportType.INTRA_HOST);
  assert.equal(connections.length, 3);
  assert.ok(connections.every((c) => c.transport === memory && c instanceof MemoryHandoff));
  for (const q of [record.admin, ...record.io]) assert.equal(q.sqhd, q.sqtail);

  const bytes = packNvList(hostHandoffToNvList(record));
  const ctrl = await adoptHost(hostHandoffFromNvList(unpackNvList(bytes)), connections, {
    hostid: first.hostid,
  });
  assert.equal(memory.adopted, 3);
  assert.equal(ctrl.cntlid, first.cntlid);
  assert.deepEqual(await (await ctrl.namespace(1)).read(0, 16), pattern(8192, 1));
  await roundTrip(ctrl, 64, 2);
  await ctrl.close();
  await target.close();
});

test("a transport that implements only the contract: its controller queue pairs are handed to a target", async () => {
  const memory = new MemoryTransport();
  const acceptor = await memory.listen(new Association(memory, true), { traddr: "contract-ctrl" });
  const worker = ramTarget();
  await worker.listen(memory, { traddr: "contract-ctrl" }, { accept: false });
  const handed: number[] = [];
  const accepting = (async () => {
    for (;;) {
      const qp = await acceptor.accept().catch(() => undefined);
      if (qp === undefined) return;
      const cmd = await qp.receive();
      if (cmd.kind !== "command") return;
      const data = new Uint8Array(CONNECT_DATA_SIZE);
      await qp.receiveControllerData(cmd, 0, data);
      const { record, connection } = await handoffControllerQpair(qp, cmd.sqe, data);
      assert.equal(await qp.closed, undefined);
      assert.deepEqual(Object.keys(record.params).sort(), [
        "admin",
        "qsize",
        "sqFlowControl",
        "sqhd",
      ]);
      const bytes = packNvList(controllerHandoffToNvList(record));
      await adoptControllerQpair(
        controllerHandoffFromNvList(unpackNvList(bytes)),
        connection,
        worker,
      );
      handed.push(record.params.qsize);
    }
  })();

  const ctrl = await connect({
    ...hostOptions,
    transport: memory,
    address: { traddr: "contract-ctrl" },
    ioQueues: 1,
    queueSize: 16,
  });
  assert.deepEqual(handed, [32, 16]);
  assert.equal(worker.controllers.length, 1);
  await roundTrip(ctrl, 8, 3);
  await ctrl.close();
  await acceptor.close();
  await accepting;
  await worker.close();
});

test("a carrier nobody adopts is discarded: the peer sees an orderly close", async () => {
  const memory = new MemoryTransport();
  const listener = await memory.listen(new Association(memory, true), { traddr: "discard" });
  const host = await memory.connect(new Association(memory, false), {
    address: { traddr: "discard" },
    admin: true,
    qid: 0,
    qsize: 8,
  });
  const ctrl = await listener.accept();
  const handoff = await ctrl.detach();
  await handoff.discard();
  assert.equal(await host.closed, undefined);
  assert.throws(() => memory.adopt(ctrl.association, handoff, handoff.state), TypeError);
  await listener.close();
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { RamBackend, Target } from "@nvmf/controller";
import {
  AsyncEventIoCommandSpecific,
  AsyncEventType,
  decodeIdentifyNamespace,
  FeatureId,
  GenericStatus,
  LogPageId,
  NvmeStatusError,
  Oncs,
  Rescap,
  ReservationAcquireAction as Acq,
  ReservationNotificationMask,
  ReservationNotificationType as Note,
  ReservationRegisterAction as Reg,
  ReservationReleaseAction as Rel,
  ReservationType as T,
  StatusCodeType,
} from "@nvmf/proto";
import { loopback } from "@nvmf/transport-loopback";
import { connect } from "./connect.ts";
import type { HostController } from "./controller.ts";
import type { AsyncEvent } from "./events.ts";

// Two hosts (different Host Identifiers) against our controller over loopback: the reservation
// commands, the access rules they set up, and the notifications (log page 80h and its event).

const SUBNQN = "nqn.2026-01.dev.nvmf:resv";
const HOST_A = { hostnqn: "nqn.2026-01.dev.nvmf:host-a", hostid: new Uint8Array(16).fill(0xa) };
const HOST_B = { hostnqn: "nqn.2026-01.dev.nvmf:host-b", hostid: new Uint8Array(16).fill(0xb) };
let addr = 0;

async function setup() {
  const target = new Target();
  target.addSubsystem({
    nqn: SUBNQN,
    namespaces: [{ backend: new RamBackend({ size: 1 << 20, blockSize: 512 }) }],
  });
  const traddr = `resv-${addr++}`;
  await target.listen(loopback, { traddr });
  const open = (host: typeof HOST_A) =>
    connect({ transport: loopback, address: { traddr }, subnqn: SUBNQN, ...host });
  const a = await open(HOST_A);
  const b = await open(HOST_B);
  return {
    target,
    a,
    b,
    nsA: await a.namespace(1),
    nsB: await b.namespace(1),
    async close() {
      await a.close();
      await b.close();
      await target.close();
    },
  };
}

async function status(p: Promise<unknown>): Promise<number | "ok"> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (!(e instanceof NvmeStatusError)) throw e;
    assert.equal(e.sct, StatusCodeType.GENERIC);
    return e.sc;
  }
}

const CONFLICT = GenericStatus.RESERVATION_CONFLICT;
const BLOCK = new Uint8Array(512).fill(1);

/** The next reservation event of a controller (the host read log page 80h for it). */
function nextReservationEvent(ctrl: HostController): Promise<AsyncEvent> {
  return new Promise((resolve) => {
    const off = ctrl.on("aen", ({ event }) => {
      if (event.eventType !== AsyncEventType.IO_COMMAND_SPECIFIC_STATUS) return;
      off();
      resolve(event);
    });
  });
}

test("Identify: ONCS reservations, RESCAP the six types and IEKEY 1.3; effects log lists them", async () => {
  const s = await setup();
  try {
    assert.notEqual((await s.a.identify()).oncs & Oncs.RESERVATIONS, 0);
    const id = decodeIdentifyNamespace(await s.a.identifyRaw(0, { nsid: 1 }));
    assert.equal(id.rescap, 0xfe);
    assert.equal(id.rescap & Rescap.PERSIST_THROUGH_POWER_LOSS, 0);
    const effects = await s.a.getLogPage(LogPageId.COMMANDS_SUPPORTED_AND_EFFECTS, {
      length: 4096,
    });
    const iocs = new DataView(effects.buffer, 1024);
    for (const op of [0x0d, 0x0e, 0x11, 0x15]) assert.equal(iocs.getUint32(op * 4, true), 1);
  } finally {
    await s.close();
  }
});

test("register, acquire Write Exclusive: the other host reads but gets Reservation Conflict on writes", async () => {
  const s = await setup();
  try {
    await s.nsA.reservationRegister({ nrkey: 0xan });
    await s.nsA.reservationAcquire({ crkey: 0xan, rtype: T.WRITE_EXCLUSIVE });
    assert.equal(await status(s.nsA.write(0, BLOCK)), "ok");
    assert.deepEqual(await s.nsB.read(0, 1), BLOCK);
    assert.equal(await status(s.nsB.write(0, BLOCK)), CONFLICT);
    assert.equal(await status(s.nsB.writeZeroes(0, 1)), CONFLICT);
    assert.equal(await status(s.nsB.flush()), CONFLICT);
    assert.equal(await status(s.nsB.deallocate(0, 1)), CONFLICT);
    // B registers: still a conflict (Write Exclusive lets only the holder write).
    await s.nsB.reservationRegister({ nrkey: 0xbn });
    assert.equal(await status(s.nsB.write(0, BLOCK)), CONFLICT);
    assert.equal(
      await status(s.nsB.reservationAcquire({ crkey: 0xbn, rtype: T.WRITE_EXCLUSIVE })),
      CONFLICT,
    );
    const report = await s.nsB.reservationReport();
    assert.equal(report.rtype, T.WRITE_EXCLUSIVE);
    assert.equal(report.generation, 2);
    assert.deepEqual(
      report.registrants.map((r) => [r.holder, r.rkey, r.hostid[0]]),
      [[true, 0xan, 0xa], [false, 0xbn, 0xb]],
    );
    // The standard data structure cannot carry 128-bit host identifiers (as Linux).
    assert.equal(
      await status(s.nsB.reservationReport({ extended: false })),
      GenericStatus.HOST_IDENTIFIER_INCONSISTENT_FORMAT,
    );
    await s.nsA.reservationRelease({ crkey: 0xan, rtype: T.WRITE_EXCLUSIVE });
    assert.equal(await status(s.nsB.write(0, BLOCK)), "ok");
  } finally {
    await s.close();
  }
});

test("Exclusive Access - Registrants Only: registrants read and write, the others read nothing", async () => {
  const s = await setup();
  try {
    await s.nsA.reservationRegister({ nrkey: 1n });
    await s.nsA.reservationAcquire({ crkey: 1n, rtype: T.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY });
    assert.equal(await status(s.nsB.read(0, 1)), CONFLICT);
    assert.equal(await status(s.nsB.compare(0, BLOCK)), CONFLICT);
    assert.equal(await status(s.nsB.verify(0, 1)), CONFLICT);
    await s.nsB.reservationRegister({ nrkey: 2n });
    assert.equal(await status(s.nsB.write(0, BLOCK)), "ok");
    assert.deepEqual(await s.nsB.read(0, 1), BLOCK);
    // Wrong keys: conflicts.
    assert.equal(
      await status(s.nsB.reservationRegister({ action: Reg.UNREGISTER, crkey: 9n })),
      CONFLICT,
    );
    assert.equal(await status(s.nsB.reservationRelease({ crkey: 9n, rtype: 4 })), CONFLICT);
    // IEKEY on Acquire is Invalid Field (RESCAP IEKEY 1.3, as Linux).
    assert.equal(
      await status(s.nsB.reservationAcquire({ crkey: 2n, rtype: 4, iekey: true })),
      GenericStatus.INVALID_FIELD_IN_COMMAND,
    );
  } finally {
    await s.close();
  }
});

test("preempt: B takes A's reservation; A's registration goes; A is told on log page 80h", async () => {
  const s = await setup();
  try {
    await s.nsA.reservationRegister({ nrkey: 0xan });
    await s.nsB.reservationRegister({ nrkey: 0xbn });
    await s.nsA.reservationAcquire({ crkey: 0xan, rtype: T.WRITE_EXCLUSIVE });
    const event = nextReservationEvent(s.a);
    await s.nsB.reservationAcquire({
      action: Acq.PREEMPT,
      crkey: 0xbn,
      prkey: 0xan,
      rtype: T.EXCLUSIVE_ACCESS,
    });
    const e = await event;
    assert.equal(e.eventInfo, AsyncEventIoCommandSpecific.RESERVATION_LOG_PAGE_AVAILABLE);
    assert.equal(e.logPage, LogPageId.RESERVATION_NOTIFICATION);
    assert.deepEqual(e.reservations, [
      { count: 1n, type: Note.REGISTRATION_PREEMPTED, available: 0, nsid: 1 },
    ]);
    assert.equal(await status(s.nsA.read(0, 1)), CONFLICT);
    assert.equal(await status(s.nsA.write(0, BLOCK)), CONFLICT);
    const report = await s.nsA.reservationReport();
    assert.equal(report.rtype, T.EXCLUSIVE_ACCESS);
    assert.deepEqual(report.registrants.map((r) => r.hostid[0]), [0xb]);
    // The log is empty now.
    const empty = await s.a.getLogPage(LogPageId.RESERVATION_NOTIFICATION, { length: 64 });
    assert.deepEqual(empty, new Uint8Array(64));
  } finally {
    await s.close();
  }
});

test("preempt and abort of an All Registrants reservation; then clear tells reservation preempted", async () => {
  const s = await setup();
  try {
    await s.nsA.reservationRegister({ nrkey: 1n });
    await s.nsB.reservationRegister({ nrkey: 2n });
    await s.nsA.reservationAcquire({ crkey: 1n, rtype: T.WRITE_EXCLUSIVE_ALL_REGISTRANTS });
    assert.equal(await status(s.nsB.write(0, BLOCK)), "ok"); // every registrant holds it
    const preempted = nextReservationEvent(s.a);
    await s.nsB.reservationAcquire({
      action: Acq.PREEMPT_AND_ABORT,
      crkey: 2n,
      prkey: 0n,
      rtype: T.WRITE_EXCLUSIVE,
    });
    assert.equal((await preempted).reservations?.[0].type, Note.REGISTRATION_PREEMPTED);
    assert.equal(await status(s.nsA.write(0, BLOCK)), CONFLICT);
    await s.nsA.reservationRegister({ nrkey: 3n });
    const cleared = nextReservationEvent(s.a);
    await s.nsB.reservationRelease({ action: Rel.CLEAR, crkey: 2n });
    assert.equal((await cleared).reservations?.[0].type, Note.RESERVATION_PREEMPTED);
    const report = await s.nsA.reservationReport();
    assert.equal(report.rtype, 0);
    assert.deepEqual(report.registrants, []);
    assert.equal(await status(s.nsA.write(0, BLOCK)), "ok");
  } finally {
    await s.close();
  }
});

test("release of Registrants Only notifies; the notification mask (82h) silences it; PTPL (83h) stays off", async () => {
  const s = await setup();
  try {
    await s.nsA.reservationRegister({ nrkey: 1n });
    await s.nsB.reservationRegister({ nrkey: 2n });
    await s.nsA.reservationAcquire({ crkey: 1n, rtype: T.WRITE_EXCLUSIVE_REGISTRANTS_ONLY });
    const released = nextReservationEvent(s.b);
    await s.nsA.reservationRelease({ crkey: 1n, rtype: T.WRITE_EXCLUSIVE_REGISTRANTS_ONLY });
    assert.equal((await released).reservations?.[0].type, Note.RESERVATION_RELEASED);
    // Mask Reservation Released on B's controller: the next release queues nothing for B.
    const mask = ReservationNotificationMask.RESREL;
    assert.equal(
      await s.b.setFeatures(FeatureId.RESERVATION_NOTIFICATION_MASK, mask, { nsid: 1 }),
      mask,
    );
    assert.equal(await s.b.getFeatures(FeatureId.RESERVATION_NOTIFICATION_MASK, { nsid: 1 }), mask);
    assert.equal(
      await status(s.b.setFeatures(FeatureId.RESERVATION_NOTIFICATION_MASK, 1, { nsid: 1 })),
      GenericStatus.INVALID_FIELD_IN_COMMAND,
    );
    await s.nsA.reservationAcquire({ crkey: 1n, rtype: T.WRITE_EXCLUSIVE_REGISTRANTS_ONLY });
    await s.nsA.reservationRelease({ crkey: 1n, rtype: T.WRITE_EXCLUSIVE_REGISTRANTS_ONLY });
    assert.deepEqual(
      await s.b.getLogPage(LogPageId.RESERVATION_NOTIFICATION, { length: 64 }),
      new Uint8Array(64),
    );
    // Reservations do not persist through power loss, and cannot be made to.
    assert.equal(await s.a.getFeatures(FeatureId.RESERVATION_PERSISTENCE, { nsid: 1 }), 0);
    assert.equal(
      await status(s.a.setFeatures(FeatureId.RESERVATION_PERSISTENCE, 1, { nsid: 1 })),
      GenericStatus.INVALID_FIELD_IN_COMMAND,
    );
    assert.equal(
      await status(
        s.nsA.reservationRegister({ action: Reg.REPLACE, crkey: 1n, nrkey: 5n, cptpl: 3 }),
      ),
      GenericStatus.INVALID_FIELD_IN_COMMAND,
    );
    assert.equal(
      await status(s.a.getFeatures(FeatureId.RESERVATION_NOTIFICATION_MASK, { nsid: 9 })),
      GenericStatus.INVALID_NAMESPACE_OR_FORMAT,
    );
  } finally {
    await s.close();
  }
});

test("a host is one registrant across its controllers", async () => {
  const s = await setup();
  const traddr = `resv-${addr - 1}`;
  const a2 = await connect({ transport: loopback, address: { traddr }, subnqn: SUBNQN, ...HOST_A });
  try {
    const nsA2 = await a2.namespace(1);
    await s.nsA.reservationRegister({ nrkey: 7n });
    await nsA2.reservationAcquire({ crkey: 7n, rtype: T.EXCLUSIVE_ACCESS });
    assert.equal(await status(s.nsA.write(0, BLOCK)), "ok");
    assert.equal(await status(s.nsB.read(0, 1)), CONFLICT);
    assert.equal((await s.nsB.reservationReport()).registrants.length, 1);
  } finally {
    await a2.close();
    await s.close();
  }
});

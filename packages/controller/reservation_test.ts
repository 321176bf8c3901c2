import { test } from "node:test";
import assert from "node:assert/strict";
import {
  NvmOpcode,
  ReservationAcquireAction as Acq,
  ReservationNotificationType as Note,
  ReservationRegisterAction as Reg,
  ReservationReleaseAction as Rel,
  ReservationType as T,
} from "@nvmf/proto";
import {
  CommandClass,
  commandClass,
  type HostKey,
  hostKey,
  reservationAllows,
  type ReservationRole,
  ReservationState,
} from "./reservation.ts";

const A = hostKey(new Uint8Array(16).fill(0xa));
const B = hostKey(new Uint8Array(16).fill(0xb));
const C = hostKey(new Uint8Array(16).fill(0xc));

// Base 2.0 8.19, "Command Behavior in the Presence of a Reservation", transcribed row by row:
// for each type, [holder, registrant, non-registrant] for the read group, then the write group.
// Y: the command runs; N: Reservation Conflict.
const SPEC_TABLE: Record<number, { read: string; write: string }> = {
  [T.WRITE_EXCLUSIVE]: { read: "YYY", write: "YNN" },
  [T.EXCLUSIVE_ACCESS]: { read: "YNN", write: "YNN" },
  [T.WRITE_EXCLUSIVE_REGISTRANTS_ONLY]: { read: "YYY", write: "YYN" },
  [T.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY]: { read: "YYN", write: "YYN" },
  [T.WRITE_EXCLUSIVE_ALL_REGISTRANTS]: { read: "YYY", write: "YYN" },
  [T.EXCLUSIVE_ACCESS_ALL_REGISTRANTS]: { read: "YYN", write: "YYN" },
};
const ROLES: ReservationRole[] = ["holder", "registrant", "other"];

test("reservationAllows() follows the specification's table for every type, group and role", () => {
  let checked = 0;
  for (const [rtype, row] of Object.entries(SPEC_TABLE)) {
    for (
      const [cls, cells] of [[CommandClass.READ, row.read], [
        CommandClass.WRITE,
        row.write,
      ]] as const
    ) {
      ROLES.forEach((role, i) => {
        assert.equal(
          reservationAllows(Number(rtype), role, cls),
          cells[i] === "Y",
          `type ${rtype}, class ${cls}, ${role}`,
        );
        checked++;
      });
    }
    // Reservation commands (and anything outside the two groups) are never refused here.
    for (const role of ROLES) {
      assert.equal(reservationAllows(Number(rtype), role, CommandClass.NONE), true);
    }
  }
  assert.equal(checked, 36);
  for (const role of ROLES) {
    assert.equal(reservationAllows(0, role, CommandClass.WRITE), true); // no reservation
  }
});

test("commandClass() puts each NVM opcode in its reservation group", () => {
  for (const op of [NvmOpcode.READ, NvmOpcode.COMPARE, NvmOpcode.VERIFY]) {
    assert.equal(commandClass(op), CommandClass.READ);
  }
  for (
    const op of [
      NvmOpcode.WRITE,
      NvmOpcode.WRITE_ZEROES,
      NvmOpcode.DATASET_MANAGEMENT,
      NvmOpcode.FLUSH,
      NvmOpcode.WRITE_UNCORRECTABLE,
      NvmOpcode.COPY,
    ]
  ) assert.equal(commandClass(op), CommandClass.WRITE);
  for (
    const op of [
      NvmOpcode.RESERVATION_REGISTER,
      NvmOpcode.RESERVATION_REPORT,
      NvmOpcode.RESERVATION_ACQUIRE,
      NvmOpcode.RESERVATION_RELEASE,
    ]
  ) assert.equal(commandClass(op), CommandClass.NONE);
});

/** A namespace with A holding `rtype` (key 0xa), B registered (0xb), C not registered. */
function held(rtype: number): ReservationState {
  const s = new ReservationState();
  assert.equal(s.register(A, { action: Reg.REGISTER, crkey: 0n, nrkey: 0xan }).result, "success");
  assert.equal(s.register(B, { action: Reg.REGISTER, crkey: 0n, nrkey: 0xbn }).result, "success");
  assert.equal(
    s.acquire(A, { action: Acq.ACQUIRE, rtype, crkey: 0xan, prkey: 0n }).result,
    "success",
  );
  return s;
}

test("ReservationState.allows() applies the table to holder, registrant and other hosts", () => {
  for (const [rtype, row] of Object.entries(SPEC_TABLE)) {
    const s = held(Number(rtype));
    const hosts: HostKey[] = [A, B, C];
    hosts.forEach((host, i) => {
      // In the All Registrants types B is a holder too; its cells equal the holder's there.
      assert.equal(s.allows(host, CommandClass.READ), row.read[i] === "Y", `read ${rtype} ${i}`);
      assert.equal(s.allows(host, CommandClass.WRITE), row.write[i] === "Y", `write ${rtype} ${i}`);
    });
  }
});

test("register: again with the same key succeeds, with another conflicts; generation counts", () => {
  const s = new ReservationState();
  assert.equal(s.register(A, { action: Reg.REGISTER, crkey: 0n, nrkey: 1n }).result, "success");
  assert.equal(s.register(A, { action: Reg.REGISTER, crkey: 0n, nrkey: 1n }).result, "success");
  assert.equal(s.register(A, { action: Reg.REGISTER, crkey: 0n, nrkey: 2n }).result, "conflict");
  assert.equal(s.generation, 2);
  assert.equal(s.register(A, { action: 3, crkey: 0n, nrkey: 2n }).result, "invalid-field");
  // PTPL: set (11b) and reserved (01b) refused; clear (10b) accepted (nothing persists).
  assert.equal(
    s.register(B, { action: Reg.REGISTER, cptpl: 3, crkey: 0n, nrkey: 2n }).result,
    "invalid-field",
  );
  assert.equal(
    s.register(B, { action: Reg.REGISTER, cptpl: 1, crkey: 0n, nrkey: 2n }).result,
    "invalid-field",
  );
  assert.equal(
    s.register(B, { action: Reg.REGISTER, cptpl: 2, crkey: 0n, nrkey: 2n }).result,
    "success",
  );
  assert.equal(s.report().ptpls, false);
});

test("unregister and replace need the current key unless IEKEY", () => {
  const s = new ReservationState();
  s.register(A, { action: Reg.REGISTER, crkey: 0n, nrkey: 1n });
  assert.equal(s.register(A, { action: Reg.REPLACE, crkey: 9n, nrkey: 5n }).result, "conflict");
  assert.equal(s.register(A, { action: Reg.REPLACE, crkey: 1n, nrkey: 5n }).result, "success");
  assert.equal(
    s.register(A, { action: Reg.REPLACE, iekey: true, crkey: 0n, nrkey: 6n }).result,
    "success",
  );
  assert.equal(s.report().registrants[0].rkey, 6n);
  assert.equal(
    s.register(B, { action: Reg.UNREGISTER, iekey: true, crkey: 0n, nrkey: 0n }).result,
    "conflict",
  );
  assert.equal(s.register(A, { action: Reg.UNREGISTER, crkey: 5n, nrkey: 0n }).result, "conflict");
  assert.equal(s.register(A, { action: Reg.UNREGISTER, crkey: 6n, nrkey: 0n }).result, "success");
  assert.deepEqual(s.registrants, []);
});

test("acquire: only registrants with their key; the holder again with the same type only", () => {
  const s = new ReservationState();
  assert.equal(
    s.acquire(A, { action: Acq.ACQUIRE, rtype: 1, crkey: 0n, prkey: 0n }).result,
    "conflict",
  );
  s.register(A, { action: Reg.REGISTER, crkey: 0n, nrkey: 1n });
  s.register(B, { action: Reg.REGISTER, crkey: 0n, nrkey: 2n });
  assert.equal(
    s.acquire(A, { action: Acq.ACQUIRE, rtype: 1, crkey: 2n, prkey: 0n }).result,
    "conflict",
  );
  assert.equal(
    s.acquire(A, { action: Acq.ACQUIRE, rtype: 7, crkey: 1n, prkey: 0n }).result,
    "invalid-field",
  );
  assert.equal(
    s.acquire(A, { action: Acq.ACQUIRE, rtype: 0, crkey: 1n, prkey: 0n }).result,
    "invalid-field",
  );
  assert.equal(
    s.acquire(A, { action: Acq.ACQUIRE, iekey: true, rtype: 1, crkey: 1n, prkey: 0n }).result,
    "invalid-field",
  );
  assert.equal(s.acquire(A, { action: 3, rtype: 1, crkey: 1n, prkey: 0n }).result, "invalid-field");
  assert.equal(
    s.acquire(A, { action: Acq.ACQUIRE, rtype: 1, crkey: 1n, prkey: 0n }).result,
    "success",
  );
  assert.equal(
    s.acquire(A, { action: Acq.ACQUIRE, rtype: 1, crkey: 1n, prkey: 0n }).result,
    "success",
  );
  assert.equal(
    s.acquire(A, { action: Acq.ACQUIRE, rtype: 2, crkey: 1n, prkey: 0n }).result,
    "conflict",
  );
  assert.equal(
    s.acquire(B, { action: Acq.ACQUIRE, rtype: 1, crkey: 2n, prkey: 0n }).result,
    "conflict",
  );
  assert.equal(s.rtype, 1);
  // Acquire does not change the generation (Register, Preempt and Clear do).
  assert.equal(s.generation, 2);
});

test("release: holder with the type releases; others have no effect; a wrong type is invalid", () => {
  const s = held(T.WRITE_EXCLUSIVE_REGISTRANTS_ONLY);
  assert.equal(s.release(B, { action: Rel.RELEASE, rtype: 3, crkey: 0xbn }).result, "success");
  assert.equal(s.rtype, 3); // B is not the holder: no effect
  assert.equal(s.release(C, { action: Rel.RELEASE, rtype: 3, crkey: 0n }).result, "conflict");
  assert.equal(s.release(A, { action: Rel.RELEASE, rtype: 3, crkey: 0x1n }).result, "conflict");
  assert.equal(
    s.release(A, { action: Rel.RELEASE, rtype: 1, crkey: 0xan }).result,
    "invalid-field",
  );
  assert.equal(
    s.release(A, { action: Rel.RELEASE, iekey: true, rtype: 3, crkey: 0xan }).result,
    "invalid-field",
  );
  const out = s.release(A, { action: Rel.RELEASE, rtype: 3, crkey: 0xan });
  assert.equal(out.result, "success");
  assert.equal(s.rtype, 0);
  assert.deepEqual(out.notices, [{ host: B, type: Note.RESERVATION_RELEASED }]);
  // Write Exclusive and Exclusive Access release silently.
  const we = held(T.WRITE_EXCLUSIVE);
  assert.deepEqual(we.release(A, { action: Rel.RELEASE, rtype: 1, crkey: 0xan }).notices, []);
});

test("release in an All Registrants type: any registrant releases it", () => {
  const s = held(T.EXCLUSIVE_ACCESS_ALL_REGISTRANTS);
  assert.deepEqual(s.report().registrants.map((r) => r.holder), [true, true]);
  const out = s.release(B, { action: Rel.RELEASE, rtype: 6, crkey: 0xbn });
  assert.equal(out.result, "success");
  assert.equal(s.rtype, 0);
  assert.deepEqual(out.notices, [{ host: A, type: Note.RESERVATION_RELEASED }]);
});

test("clear: everything goes; the others are told reservation preempted", () => {
  const s = held(T.WRITE_EXCLUSIVE);
  s.register(C, { action: Reg.REGISTER, crkey: 0n, nrkey: 0xcn });
  const gen = s.generation;
  const out = s.release(B, { action: Rel.CLEAR, rtype: 0, crkey: 0xbn });
  assert.equal(out.result, "success");
  assert.deepEqual(out.notices, [
    { host: A, type: Note.RESERVATION_PREEMPTED },
    { host: C, type: Note.RESERVATION_PREEMPTED },
  ]);
  assert.deepEqual(s.registrants, []);
  assert.equal(s.rtype, 0);
  assert.equal(s.generation, gen + 1);
});

test("unregister by the holder releases the reservation; Registrants Only tells the others", () => {
  const s = held(T.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY);
  const out = s.register(A, { action: Reg.UNREGISTER, crkey: 0xan, nrkey: 0n });
  assert.equal(s.rtype, 0);
  assert.deepEqual(out.notices, [{ host: B, type: Note.RESERVATION_RELEASED }]);
  const ar = held(T.WRITE_EXCLUSIVE_ALL_REGISTRANTS);
  ar.register(A, { action: Reg.UNREGISTER, crkey: 0xan, nrkey: 0n });
  assert.equal(ar.rtype, T.WRITE_EXCLUSIVE_ALL_REGISTRANTS); // B still holds it
  assert.equal(ar.role(B), "holder");
  ar.register(B, { action: Reg.UNREGISTER, crkey: 0xbn, nrkey: 0n });
  assert.equal(ar.rtype, 0); // the last registrant went
});

test("preempt the holder: the preemptor holds, the holder's registration goes", () => {
  const s = held(T.WRITE_EXCLUSIVE);
  const gen = s.generation;
  const out = s.acquire(B, {
    action: Acq.PREEMPT,
    rtype: T.EXCLUSIVE_ACCESS,
    crkey: 0xbn,
    prkey: 0xan,
  });
  assert.equal(out.result, "success");
  assert.equal(s.rtype, T.EXCLUSIVE_ACCESS);
  assert.equal(s.role(B), "holder");
  assert.equal(s.role(A), "other");
  assert.deepEqual(out.preempted, [A]);
  assert.deepEqual(out.notices, [{ host: A, type: Note.REGISTRATION_PREEMPTED }]);
  assert.equal(s.generation, gen + 1);
});

test("preempt cases: no reservation, another registrant's key, the holder itself, PRKEY 0", () => {
  // No reservation: the registrants with PRKEY go; an unknown PRKEY conflicts.
  const none = new ReservationState();
  none.register(A, { action: Reg.REGISTER, crkey: 0n, nrkey: 1n });
  none.register(B, { action: Reg.REGISTER, crkey: 0n, nrkey: 2n });
  assert.equal(
    none.acquire(A, { action: Acq.PREEMPT, rtype: 1, crkey: 1n, prkey: 9n }).result,
    "conflict",
  );
  assert.deepEqual(
    none.acquire(A, { action: Acq.PREEMPT, rtype: 1, crkey: 1n, prkey: 2n }).preempted,
    [B],
  );
  assert.equal(none.rtype, 0);
  // Held by A; B preempts C (a registrant, not the holder): C goes, A still holds.
  const s = held(T.WRITE_EXCLUSIVE);
  s.register(C, { action: Reg.REGISTER, crkey: 0n, nrkey: 0xcn });
  assert.deepEqual(
    s.acquire(B, { action: Acq.PREEMPT, rtype: 1, crkey: 0xbn, prkey: 0xcn }).preempted,
    [C],
  );
  assert.equal(s.role(A), "holder");
  // PRKEY 0 without an All Registrants reservation: Invalid Field.
  assert.equal(
    s.acquire(B, { action: Acq.PREEMPT, rtype: 1, crkey: 0xbn, prkey: 0n }).result,
    "invalid-field",
  );
  // The holder preempts itself into another type: the others are told released.
  const self = s.acquire(A, { action: Acq.PREEMPT, rtype: 3, crkey: 0xan, prkey: 0xan });
  assert.equal(self.result, "success");
  assert.equal(s.rtype, 3);
  assert.deepEqual(self.notices, [{ host: B, type: Note.RESERVATION_RELEASED }]);
});

test("preempt an All Registrants reservation with PRKEY 0: every other registrant goes", () => {
  const s = held(T.WRITE_EXCLUSIVE_ALL_REGISTRANTS);
  s.register(C, { action: Reg.REGISTER, crkey: 0n, nrkey: 0xcn });
  const out = s.acquire(B, {
    action: Acq.PREEMPT_AND_ABORT,
    rtype: T.WRITE_EXCLUSIVE,
    crkey: 0xbn,
    prkey: 0n,
  });
  assert.equal(out.result, "success");
  assert.deepEqual(out.preempted, [A, C]);
  assert.deepEqual(s.registrants, [B]);
  assert.equal(s.rtype, T.WRITE_EXCLUSIVE);
  assert.equal(s.role(B), "holder");
});

test("report lists every registrant with its key, 16-byte host identifier and holder flag", () => {
  const s = held(T.WRITE_EXCLUSIVE);
  const r = s.report();
  assert.equal(r.rtype, 1);
  assert.equal(r.generation, 2);
  assert.deepEqual(r.registrants.map((x) => [x.cntlid, x.holder, x.rkey]), [
    [0xffff, true, 0xan],
    [0xffff, false, 0xbn],
  ]);
  assert.deepEqual(r.registrants[1].hostid, new Uint8Array(16).fill(0xb));
});

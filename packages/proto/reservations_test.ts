import { test } from "node:test";
import assert from "node:assert/strict";
import { ReservationType } from "./constants.ts";
import { ProtocolFieldError } from "./errors.ts";
import {
  decodeReservationAcquireData,
  decodeReservationCdw10,
  decodeReservationNotification,
  decodeReservationRegisterData,
  decodeReservationReleaseData,
  decodeReservationStatus,
  encodeReservationAcquireData,
  encodeReservationNotification,
  encodeReservationRegisterData,
  encodeReservationReleaseData,
  encodeReservationStatus,
  reservationCdw10,
  reservationStatusSize,
} from "./reservations.ts";

const HOST_A = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const HOST_B = Uint8Array.from({ length: 16 }, (_, i) => 0xb0 + i);

test("reservationCdw10() packs action, IEKEY, RTYPE and CPTPL as nvme-cli does", () => {
  // nvme-cli resv-register: cdw10 = rrega | (iekey << 3) | (cptpl << 30)
  assert.equal(reservationCdw10({ action: 2, iekey: true, cptpl: 3 }), (2 | 8 | (3 << 30)) >>> 0);
  // resv-acquire: racqa | (iekey << 3) | (rtype << 8)
  assert.equal(reservationCdw10({ action: 1, rtype: 6 }), 0x601);
  assert.deepEqual(decodeReservationCdw10(0x601), { action: 1, iekey: false, rtype: 6, cptpl: 0 });
  assert.throws(() => reservationCdw10({ action: 8 }), RangeError);
  assert.throws(() => reservationCdw10({ action: 0, rtype: 256 }), RangeError);
});

test("Reservation Register/Acquire/Release data are little-endian keys", () => {
  const reg = encodeReservationRegisterData({ crkey: 0x0102030405060708n, nrkey: 0xffn });
  assert.deepEqual([...reg.subarray(0, 8)], [8, 7, 6, 5, 4, 3, 2, 1]);
  assert.equal(reg[8], 0xff);
  assert.deepEqual(decodeReservationRegisterData(reg), {
    crkey: 0x0102030405060708n,
    nrkey: 0xffn,
  });
  const acq = encodeReservationAcquireData({ crkey: 1n, prkey: 2n ** 64n - 1n });
  assert.deepEqual(decodeReservationAcquireData(acq), { crkey: 1n, prkey: 2n ** 64n - 1n });
  const rel = encodeReservationReleaseData(0x1234n);
  assert.equal(rel.length, 8);
  assert.equal(decodeReservationReleaseData(rel), 0x1234n);
  assert.throws(() => encodeReservationRegisterData({ nrkey: 2n ** 64n }), RangeError);
  assert.throws(() => decodeReservationAcquireData(new Uint8Array(15)), ProtocolFieldError);
});

test("encodeReservationStatus() lays out the extended data structure as Linux's nvme.h", () => {
  const bytes = encodeReservationStatus({
    generation: 0x01020304,
    rtype: ReservationType.EXCLUSIVE_ACCESS_ALL_REGISTRANTS,
    registrants: [
      { cntlid: 0xffff, holder: true, hostid: HOST_A, rkey: 0xa1n },
      { cntlid: 0xffff, holder: false, hostid: HOST_B, rkey: 0xb1n },
    ],
  }, true);
  assert.equal(bytes.length, 64 + 2 * 64);
  const v = new DataView(bytes.buffer);
  assert.equal(v.getUint32(0, true), 0x01020304); // gen
  assert.equal(bytes[4], 6); // rtype
  assert.equal(v.getUint16(5, true), 2); // regctl
  assert.equal(bytes[9], 0); // ptpls
  // struct nvme_registered_ctrl_ext: cntlid, rcsts, rsvd3[5], rkey, hostid[16], rsvd32[32]
  assert.equal(v.getUint16(64, true), 0xffff);
  assert.equal(bytes[66], 1);
  assert.equal(v.getBigUint64(72, true), 0xa1n);
  assert.deepEqual(bytes.subarray(80, 96), HOST_A);
  assert.equal(bytes[128 + 2], 0);
  assert.deepEqual(bytes.subarray(128 + 16, 128 + 32), HOST_B);
  const back = decodeReservationStatus(bytes, true);
  assert.equal(back.generation, 0x01020304);
  assert.equal(back.regctl, 2);
  assert.deepEqual(back.registrants.map((r) => [r.holder, r.rkey]), [[true, 0xa1n], [
    false,
    0xb1n,
  ]]);
  assert.deepEqual(back.registrants[1].hostid, HOST_B);
  assert.deepEqual(encodeReservationStatus(back, true), bytes);
});

test("the standard Reservation Status has 24-byte entries with an 8-byte host identifier", () => {
  const hostid = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  const bytes = encodeReservationStatus({
    generation: 1,
    rtype: 1,
    registrants: [{ cntlid: 3, holder: true, hostid, rkey: 9n }],
  }, false);
  assert.equal(bytes.length, reservationStatusSize(1, false));
  assert.equal(bytes.length, 48);
  assert.deepEqual(bytes.subarray(24 + 8, 24 + 16), hostid);
  assert.equal(new DataView(bytes.buffer).getBigUint64(24 + 16, true), 9n);
  assert.deepEqual(decodeReservationStatus(bytes, false).registrants[0].hostid, hostid);
  assert.throws(
    () =>
      encodeReservationStatus({
        generation: 0,
        rtype: 0,
        registrants: [{ cntlid: 1, holder: false, hostid: HOST_A, rkey: 0n }],
      }, false),
    RangeError,
  );
});

test("decodeReservationStatus() lists only the registrants that fit, and REGCTL in all", () => {
  const bytes = encodeReservationStatus({
    generation: 5,
    rtype: 0,
    registrants: [
      { cntlid: 0xffff, holder: false, hostid: HOST_A, rkey: 1n },
      { cntlid: 0xffff, holder: false, hostid: HOST_B, rkey: 2n },
    ],
  }, true);
  const cut = decodeReservationStatus(bytes.subarray(0, 64 + 64), true);
  assert.equal(cut.regctl, 2);
  assert.equal(cut.registrants.length, 1);
  assert.throws(() => decodeReservationStatus(bytes.subarray(0, 63), true), ProtocolFieldError);
});

test("the Reservation Notification log page is 64 bytes as Linux's struct nvme_pr_log", () => {
  const page = encodeReservationNotification({ count: 7n, type: 3, available: 2, nsid: 0x11 });
  assert.equal(page.length, 64);
  assert.equal(page[0], 7);
  assert.equal(page[8], 3);
  assert.equal(page[9], 2);
  assert.equal(page[12], 0x11);
  assert.deepEqual(decodeReservationNotification(page), {
    count: 7n,
    type: 3,
    available: 2,
    nsid: 0x11,
  });
  assert.throws(() => decodeReservationNotification(new Uint8Array(15)), ProtocolFieldError);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CommandSpecificStatus,
  FabricsStatus,
  GenericStatus,
  MediaStatus,
  NvmCommandStatus,
  PathStatus,
} from "./constants.ts";
import {
  decodeStatus,
  encodeStatus,
  formatStatus,
  NvmeStatusError,
  statusName,
  statusOf,
  statusSuccess,
} from "./status.ts";

test("decodeStatus() places SC at 8:1, SCT at 11:9, CRD at 13:12, M at 14, DNR at 15", () => {
  assert.deepEqual(decodeStatus(0x0001), { sct: 0, sc: 0, crd: 0, more: false, dnr: false });
  assert.deepEqual(decodeStatus(0x01fe), { sct: 0, sc: 0xff, crd: 0, more: false, dnr: false });
  assert.deepEqual(decodeStatus(0x0e00), { sct: 7, sc: 0, crd: 0, more: false, dnr: false });
  assert.deepEqual(decodeStatus(0x3000), { sct: 0, sc: 0, crd: 3, more: false, dnr: false });
  assert.deepEqual(decodeStatus(0x4000), { sct: 0, sc: 0, crd: 0, more: true, dnr: false });
  assert.deepEqual(decodeStatus(0x8000), { sct: 0, sc: 0, crd: 0, more: false, dnr: true });
  // Linux NVME_SC_CONNECT_INVALID_PARAM (0x182) | NVME_SC_DNR, shifted past the phase tag
  assert.deepEqual(decodeStatus((0x182 << 1) | 0x8000), {
    sct: 1,
    sc: 0x82,
    crd: 0,
    more: false,
    dnr: true,
  });
});

test("encodeStatus(decodeStatus(v)) gives back every 16-bit value without its phase tag", () => {
  for (let v = 0; v <= 0xffff; v++) {
    const s = decodeStatus(v);
    assert.equal(encodeStatus(s), v & 0xfffe);
    assert.equal(statusOf(s.sct, s.sc, s.dnr), v & 0x8ffe);
  }
});

test("encodeStatus() rejects out-of-range SCT, SC and CRD", () => {
  assert.throws(() => encodeStatus({ sct: 8, sc: 0 }), RangeError);
  assert.throws(() => encodeStatus({ sct: -1, sc: 0 }), RangeError);
  assert.throws(() => encodeStatus({ sct: 0, sc: 0x100 }), RangeError);
  assert.throws(() => encodeStatus({ sct: 0, sc: 1.5 }), RangeError);
  assert.throws(() => encodeStatus({ sct: 0, sc: 0, crd: 4 }), RangeError);
  assert.throws(() => statusOf(0, 256), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /SC must be 0 to 255: received 256/);
    return true;
  });
});

test("statusOf() builds the field as Linux spells it", () => {
  assert.equal(statusOf(0, 0x02), 0x02 << 1); // NVME_SC_INVALID_FIELD
  assert.equal(statusOf(1, 0x84, true), (0x184 << 1) | 0x8000); // CONNECT_INVALID_HOST | DNR
  assert.equal(statusOf(2, 0x81), 0x281 << 1); // NVME_SC_READ_ERROR
});

test("statusSuccess() looks at SCT and SC only", () => {
  assert.equal(statusSuccess(0x0000), true);
  assert.equal(statusSuccess(0x0001), true);
  assert.equal(statusSuccess(0xf001), true);
  assert.equal(statusSuccess(0x0002), false);
  assert.equal(statusSuccess(0x0200), false);
  assert.equal(statusSuccess(0x0e00), false);
  assert.equal(statusSuccess(0x01fe), false);
});

const TABLES: [string, Readonly<Record<string, number>>, number, object | undefined][] = [
  ["GenericStatus", GenericStatus, 0, undefined],
  ["CommandSpecificStatus", CommandSpecificStatus, 1, { admin: true, opcode: 0x01 }],
  ["FabricsStatus", FabricsStatus, 1, { opcode: 0x7f }],
  ["NvmCommandStatus", NvmCommandStatus, 1, { admin: false, opcode: 0x01 }],
  ["MediaStatus", MediaStatus, 2, undefined],
  ["PathStatus", PathStatus, 3, undefined],
];

test("statusName() gives back the name of every entry of every status table", () => {
  let n = 0;
  for (const [table, entries, sct, context] of TABLES) {
    for (const [name, sc] of Object.entries(entries)) {
      assert.equal(statusName(sct, sc, context), name, `${table}.${name}`);
      const field = statusOf(sct, sc, true);
      assert.deepEqual(decodeStatus(field), { sct, sc, crd: 0, more: false, dnr: true });
      assert.equal(
        formatStatus(field, context),
        `${name} (sct ${sct}, sc 0x${sc.toString(16).padStart(2, "0")}, dnr)`,
      );
      n++;
    }
  }
  assert.equal(
    n,
    [GenericStatus, CommandSpecificStatus, FabricsStatus, NvmCommandStatus, MediaStatus, PathStatus]
      .reduce((sum, t) => sum + Object.keys(t).length, 0),
  );
});

test("statusName() picks Fabrics or NVM names for SCT 1 values 0x80 to 0xBF by command", () => {
  assert.equal(statusName(1, 0x80, { opcode: 0x7f }), "CONNECT_INCOMPATIBLE_FORMAT");
  assert.equal(statusName(1, 0x80, { fabrics: true }), "CONNECT_INCOMPATIBLE_FORMAT");
  assert.equal(statusName(1, 0x80, { opcode: 0x01 }), "CONFLICTING_ATTRIBUTES");
  assert.equal(statusName(1, 0x80, { opcode: 0x7f, fabrics: false }), "CONFLICTING_ATTRIBUTES");
  assert.equal(statusName(1, 0x83, { admin: false }), "COMMAND_SIZE_LIMIT_EXCEEDED");
  assert.equal(statusName(1, 0x83, { fabrics: true }), "CONNECT_RESTART_DISCOVERY");
  // A Fabrics-only value in an I/O command is reserved; without context the Fabrics name serves.
  assert.equal(statusName(1, 0x91, { opcode: 0x02, admin: false }), "RESERVED");
  assert.equal(statusName(1, 0x91), "AUTHENTICATION_REQUIRED");
  assert.equal(statusName(1, 0x82), "ATTEMPTED_WRITE_TO_READ_ONLY_RANGE");
  // SCT 1 values below 0x80 do not depend on the command.
  assert.equal(statusName(1, 0x01, { opcode: 0x7f }), "INVALID_QUEUE_IDENTIFIER");
});

test("statusName() says RESERVED or VENDOR_SPECIFIC for codes no table names", () => {
  assert.equal(statusName(0, 0x17), "RESERVED");
  assert.equal(statusName(0, 0x7f), "RESERVED");
  assert.equal(statusName(0, 0xbf), "RESERVED");
  assert.equal(statusName(0, 0xc0), "VENDOR_SPECIFIC");
  assert.equal(statusName(0, 0xff), "VENDOR_SPECIFIC");
  assert.equal(statusName(1, 0x04), "RESERVED");
  assert.equal(statusName(1, 0xc3, { opcode: 0x7f }), "VENDOR_SPECIFIC");
  assert.equal(statusName(2, 0x00), "RESERVED");
  assert.equal(statusName(2, 0xfe), "VENDOR_SPECIFIC");
  assert.equal(statusName(3, 0x04), "RESERVED");
  assert.equal(statusName(3, 0xc0), "VENDOR_SPECIFIC");
  for (const sct of [4, 5, 6]) {
    assert.equal(statusName(sct, 0x00), "RESERVED");
    assert.equal(statusName(sct, 0xff), "RESERVED");
  }
  assert.equal(statusName(7, 0x00), "VENDOR_SPECIFIC");
  assert.equal(statusName(7, 0x42), "VENDOR_SPECIFIC");
});

test("formatStatus() writes the name, SCT, SC, then dnr, more and crd when set", () => {
  assert.equal(formatStatus(statusOf(0, 0x82)), "NAMESPACE_NOT_READY (sct 0, sc 0x82)");
  assert.equal(
    formatStatus({ sct: 0, sc: 0x82, crd: 0, more: false, dnr: true }),
    "NAMESPACE_NOT_READY (sct 0, sc 0x82, dnr)",
  );
  assert.equal(
    formatStatus({ sct: 0, sc: 0x82, crd: 2, more: true, dnr: false }),
    "NAMESPACE_NOT_READY (sct 0, sc 0x82, more, crd 2)",
  );
  assert.equal(
    formatStatus(encodeStatus({ sct: 0, sc: 0x82, crd: 1, more: true, dnr: true }) | 1),
    "NAMESPACE_NOT_READY (sct 0, sc 0x82, dnr, more, crd 1)",
  );
  assert.equal(formatStatus(0), "SUCCESS (sct 0, sc 0x00)");
  assert.equal(formatStatus(statusOf(0, 0x0c)), "COMMAND_SEQUENCE_ERROR (sct 0, sc 0x0c)");
  assert.equal(
    formatStatus(statusOf(1, 0x82, true), { opcode: 0x7f }),
    "CONNECT_INVALID_PARAMETERS (sct 1, sc 0x82, dnr)",
  );
  assert.equal(formatStatus(statusOf(7, 0xab)), "VENDOR_SPECIFIC (sct 7, sc 0xab)");
  // The AER the Linux target fails when the admin queue goes away (conn1, last CapsuleResp).
  assert.equal(formatStatus(0x800c), "INTERNAL_ERROR (sct 0, sc 0x06, dnr)");
});

test("NvmeStatusError carries the status, CID and DW0 and says what failed", () => {
  const e = new NvmeStatusError(0x800c, { cid: 0x1f, opcode: 0x0c, admin: true, dw0: 0 });
  assert.ok(e instanceof Error);
  assert.ok(!(e instanceof SyntaxError || e instanceof TypeError || e instanceof RangeError));
  assert.ok(e instanceof NvmeStatusError);
  assert.equal(e.name, "NvmeStatusError");
  assert.equal(e.message, "ASYNC_EVENT_REQUEST failed: INTERNAL_ERROR (sct 0, sc 0x06, dnr)");
  assert.deepEqual(e.status, { sct: 0, sc: 0x06, crd: 0, more: false, dnr: true });
  assert.equal(e.sct, 0);
  assert.equal(e.sc, 0x06);
  assert.equal(e.dnr, true);
  assert.equal(e.cid, 0x1f);
  assert.equal(e.dw0, 0);
  assert.equal(e.opcode, 0x0c);
});

test("NvmeStatusError names the command from the right opcode table", () => {
  const field = statusOf(1, 0x82, true);
  assert.equal(
    new NvmeStatusError(field, { opcode: 0x7f, fctype: 0x01 }).message,
    "CONNECT failed: CONNECT_INVALID_PARAMETERS (sct 1, sc 0x82, dnr)",
  );
  assert.equal(
    new NvmeStatusError(field, { opcode: 0x7f }).message,
    "FABRICS failed: CONNECT_INVALID_PARAMETERS (sct 1, sc 0x82, dnr)",
  );
  assert.equal(
    new NvmeStatusError(field, { opcode: 0x01, admin: false }).message,
    "WRITE failed: ATTEMPTED_WRITE_TO_READ_ONLY_RANGE (sct 1, sc 0x82, dnr)",
  );
  assert.equal(
    new NvmeStatusError(statusOf(0, 0x02), { opcode: 0x06, admin: true }).message,
    "IDENTIFY failed: INVALID_FIELD_IN_COMMAND (sct 0, sc 0x02)",
  );
  assert.equal(
    new NvmeStatusError(statusOf(0, 0x02), { opcode: 0x06 }).message,
    "opcode 0x06 failed: INVALID_FIELD_IN_COMMAND (sct 0, sc 0x02)",
  );
  assert.equal(
    new NvmeStatusError(statusOf(0, 0x01), { opcode: 0x03, admin: true }).message,
    "admin opcode 0x03 failed: INVALID_COMMAND_OPCODE (sct 0, sc 0x01)",
  );
  assert.equal(
    new NvmeStatusError(statusOf(0, 0x01), { opcode: 0x7f, fctype: 0x7e }).message,
    "FABRICS fctype 0x7e failed: INVALID_COMMAND_OPCODE (sct 0, sc 0x01)",
  );
});

test("NvmeStatusError without options uses formatStatus() text; message overrides it", () => {
  const s = { sct: 0, sc: 0x82, crd: 0, more: false, dnr: false };
  const e = new NvmeStatusError(s);
  assert.equal(e.message, "NAMESPACE_NOT_READY (sct 0, sc 0x82)");
  assert.equal(e.cid, undefined);
  assert.equal(e.dw0, undefined);
  assert.equal(e.opcode, undefined);
  s.sc = 0; // the error keeps its own copy
  assert.equal(e.sc, 0x82);
  assert.equal(e.status.sc, 0x82);
  assert.equal(
    new NvmeStatusError(s, { message: "Reject write: read only" }).message,
    "Reject write: read only",
  );
});

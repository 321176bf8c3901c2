import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  AddressFamily,
  AdminOpcode,
  DISCOVERY_NQN,
  LogPageId,
  PduFlags,
  PduType,
  SubsystemType,
  TcpSecurityType,
  TransportRequirements,
  TransportType,
} from "./constants.ts";
import {
  decodeDiscoveryLog,
  decodeDiscoveryLogEntry,
  decodeDiscoveryLogHeader,
  type DiscoveryLogEntry,
  DiscoveryLogEntryOffset,
  encodeDiscoveryLog,
  encodeDiscoveryLogEntry,
  encodeDiscoveryLogHeader,
  tcpTsas,
} from "./discovery.ts";
import { ProtocolFieldError } from "./errors.ts";

// ---------------------------------------------------------------------------------------------
// A test-local walker over the captured NVMe/TCP streams (shared/fixtures/README.md): pairs each
// CapsuleCmd with the C2HData payload reassembled for its CID.

const FIXTURES = new URL("../../../shared/fixtures/", import.meta.url);
const CH_PDO = 3;
const CH_PLEN = 4;
const CAPSULE_SQE = 8;
const C2H_CCCID = 8;
const C2H_DATAO = 12;
const C2H_DATAL = 16;
const SQE_CDW10 = 40;

interface Captured {
  opcode: number;
  cid: number;
  cdw10: number;
  data?: Uint8Array;
}

function load(name: string): Uint8Array {
  const b = readFileSync(new URL(name, FIXTURES));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function* pdus(stream: Uint8Array): Generator<[Uint8Array, DataView]> {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  for (let at = 0; at < stream.length;) {
    const plen = view.getUint32(at + CH_PLEN, true);
    assert.ok(plen >= 8 && at + plen <= stream.length, `PDU at ${at} has PLEN ${plen}`);
    const pdu = stream.subarray(at, at + plen);
    yield [pdu, new DataView(pdu.buffer, pdu.byteOffset, pdu.byteLength)];
    at += plen;
  }
}

function capture(conn: number, variant = "plain"): Captured[] {
  const name = `linux-6.1-${variant}.conn${conn}`;
  const commands: Captured[] = [];
  const open = new Map<number, { cmd: Captured; pieces: [number, Uint8Array][] }>();
  for (const [pdu, v] of pdus(load(`${name}.host-to-controller.bin`))) {
    if (pdu[0] !== PduType.CAPSULE_CMD) continue;
    const cmd: Captured = {
      opcode: pdu[CAPSULE_SQE],
      cid: v.getUint16(CAPSULE_SQE + 2, true),
      cdw10: v.getUint32(CAPSULE_SQE + SQE_CDW10, true),
    };
    assert.ok(!open.has(cmd.cid), `CID ${cmd.cid} reused in ${name}`);
    commands.push(cmd);
    open.set(cmd.cid, { cmd, pieces: [] });
  }
  for (const [pdu, v] of pdus(load(`${name}.controller-to-host.bin`))) {
    if (pdu[0] !== PduType.C2H_DATA) continue;
    const entry = open.get(v.getUint16(C2H_CCCID, true));
    assert.ok(entry !== undefined, "C2HData for an unknown CID");
    const pdo = pdu[CH_PDO];
    entry.pieces.push([
      v.getUint32(C2H_DATAO, true),
      pdu.subarray(pdo, pdo + v.getUint32(C2H_DATAL, true)),
    ]);
    if ((pdu[1] & PduFlags.LAST_PDU) !== 0) {
      const data = new Uint8Array(Math.max(...entry.pieces.map(([o, d]) => o + d.length)));
      for (const [o, d] of entry.pieces) data.set(d, o);
      entry.cmd.data = data;
    }
  }
  return commands;
}

/** The Discovery log page reads of conn0, in order. */
function discoveryReads(variant = "plain"): Uint8Array[] {
  return capture(0, variant)
    .filter((c) =>
      c.opcode === AdminOpcode.GET_LOG_PAGE && (c.cdw10 & 0xff) === LogPageId.DISCOVERY
    )
    .map((c) => {
      assert.ok(c.data !== undefined);
      return c.data;
    });
}

const ascii = (b: Uint8Array) => String.fromCharCode(...b);

// ---------------------------------------------------------------------------------------------
// The Linux 6.1 nvmet Discovery log page

test("decodeDiscoveryLog() reads nvme discover's header-only first read", () => {
  const reads = discoveryReads();
  assert.equal(reads.length, 2); // nvme-cli reads the header, then the whole page
  assert.equal(reads[0].length, 1024);
  const log = decodeDiscoveryLog(reads[0]);
  assert.deepEqual(log.header, { genctr: 2n, numrec: 2n, recfmt: 0 });
  assert.deepEqual(log.entries, []); // NUMREC says 2, but none were transferred
  assert.deepEqual(encodeDiscoveryLog(log.header, log.entries), reads[0]);
});

test("decodeDiscoveryLog() reads the two records of the Linux target", () => {
  const bytes = discoveryReads()[1];
  assert.equal(bytes.length, 3072);
  const { header, entries } = decodeDiscoveryLog(bytes);
  assert.deepEqual(header, { genctr: 2n, numrec: 2n, recfmt: 0 });
  const common = {
    trtype: TransportType.TCP,
    adrfam: AddressFamily.IPV4,
    treq: TransportRequirements.SQ_FLOW_CONTROL_DISABLE,
    portid: 1,
    cntlid: 0xffff, // dynamic controller model
    asqsz: 32, // NVME_AQ_DEPTH
    eflags: 0,
    trsvcid: "14430",
    traddr: "10.0.2.15",
    tsas: new Uint8Array(256),
  };
  assert.deepEqual(entries, [
    { ...common, subtype: SubsystemType.CURRENT_DISCOVERY, subnqn: DISCOVERY_NQN },
    { ...common, subtype: SubsystemType.NVME, subnqn: "nqn.2026-01.test:kernel-target" },
  ]);
  assert.deepEqual(tcpTsas(entries[1].tsas), { sectype: TcpSecurityType.NONE });
  // nvmet pads TRSVCID and TRADDR with NULs, not spaces: what the encoder writes too.
  const e1 = 2048;
  assert.equal(ascii(bytes.subarray(e1 + 32, e1 + 37)), "14430");
  assert.ok(bytes.subarray(e1 + 37, e1 + 64).every((b) => b === 0));
  assert.ok(bytes.subarray(e1 + 512 + 9, e1 + 768).every((b) => b === 0));
  assert.deepEqual(encodeDiscoveryLog(header, entries), bytes);
  assert.deepEqual(encodeDiscoveryLogEntry(entries[1]), bytes.subarray(2048));
  assert.deepEqual(decodeDiscoveryLogEntry(bytes.subarray(1024)), entries[0]);
});

test("decodeDiscoveryLog() round trips the digests capture byte for byte", () => {
  for (const bytes of discoveryReads("digests")) {
    const log = decodeDiscoveryLog(bytes);
    assert.equal(log.header.numrec, 2n);
    assert.deepEqual(encodeDiscoveryLog(log.header, log.entries), bytes);
  }
});

// ---------------------------------------------------------------------------------------------
// Partial pages and malformed input

test("decodeDiscoveryLog() decodes only the whole entries present", () => {
  const full = discoveryReads()[1];
  const copy = new Uint8Array(4096).fill(0xff); // garbage after the part handed over
  copy.set(full);
  for (const [length, count] of [[18, 0], [1024, 0], [2047, 0], [2048, 1], [3071, 1], [3072, 2]]) {
    const log = decodeDiscoveryLog(copy.subarray(0, length));
    assert.equal(log.header.numrec, 2n);
    assert.equal(log.entries.length, count, `${length} bytes`);
  }
  // Never more than NUMREC, even when more bytes follow.
  const more = encodeDiscoveryLog({ numrec: 1n }, [{ subtype: 2 }, { subtype: 3 }]);
  assert.equal(decodeDiscoveryLog(more).entries.length, 1);
});

test("decodeDiscoveryLogHeader() names the field a short read cuts off", () => {
  for (
    const [length, field, offset] of [[0, "GENCTR", 0], [10, "NUMREC", 8], [
      17,
      "RECFMT",
      16,
    ]] as const
  ) {
    assert.throws(
      () => decodeDiscoveryLogHeader(new Uint8Array(length)),
      (e: unknown) => e instanceof ProtocolFieldError && e.field === field && e.offset === offset,
    );
    assert.throws(() => decodeDiscoveryLog(new Uint8Array(length)), ProtocolFieldError);
  }
});

test("decodeDiscoveryLogEntry() names the field a short entry cuts off", () => {
  for (
    const [length, field, offset] of [[0, "TRTYPE", 0], [5, "PORTID", 4], [40, "TRSVCID", 32], [
      300,
      "SUBNQN",
      256,
    ], [1023, "TSAS", 768]] as const
  ) {
    assert.throws(
      () => decodeDiscoveryLogEntry(new Uint8Array(length)),
      (e: unknown) =>
        e instanceof ProtocolFieldError && e.field === field && e.offset === offset &&
        e.message === `Reject Discovery log page entry: need 1024 bytes, received ${length}`,
    );
  }
});

test("decodeDiscoveryLog() rejects an entry's SUBNQN without NUL, at its page offset", () => {
  const bytes = encodeDiscoveryLog({}, [{ subnqn: "nqn.2026-01.test:a" }, { subnqn: "x" }]);
  bytes.fill(0x41, 2048 + 256, 2048 + 512);
  assert.throws(
    () => decodeDiscoveryLog(bytes),
    (e: unknown) =>
      e instanceof ProtocolFieldError && e.field === "SUBNQN" && e.offset === 2048 + 256,
  );
  bytes.fill(0, 2048 + 256, 2048 + 512);
  bytes[2048 + 256] = 0xff; // never valid in UTF-8
  assert.throws(
    () => decodeDiscoveryLog(bytes),
    (e: unknown) => e instanceof ProtocolFieldError && /UTF-8/.test(e.message),
  );
});

test("decodeDiscoveryLogEntry() trims space padding some targets use", () => {
  const bytes = encodeDiscoveryLogEntry({ subnqn: "nqn.2026-01.test:a" });
  bytes.fill(0x20, 32, 64);
  bytes.set([0x34, 0x34, 0x32, 0x30], 32);
  bytes.fill(0x20, 512, 768);
  bytes.set([0x3a, 0x3a, 0x31], 512);
  const e = decodeDiscoveryLogEntry(bytes);
  assert.equal(e.trsvcid, "4420");
  assert.equal(e.traddr, "::1");
  // A field filled to the last byte needs no NUL.
  const full = encodeDiscoveryLogEntry({ trsvcid: "9".repeat(32) });
  assert.equal(decodeDiscoveryLogEntry(full).trsvcid, "9".repeat(32));
});

// ---------------------------------------------------------------------------------------------
// Hand-built pages

test("encodeDiscoveryLogEntry() puts each field at the Fabrics offset", () => {
  const tsas = new Uint8Array(256);
  tsas[0] = TcpSecurityType.TLS_1_3;
  const e: DiscoveryLogEntry = {
    trtype: TransportType.TCP,
    adrfam: AddressFamily.IPV6,
    subtype: SubsystemType.REFERRAL,
    treq: TransportRequirements.REQUIRED,
    portid: 0x1234,
    cntlid: 0x5678,
    asqsz: 0x9abc,
    eflags: 0x0003,
    trsvcid: "8009",
    subnqn: "nqn.2014-08.org.nvmexpress.discovery",
    traddr: "fe80::1",
    tsas,
  };
  const bytes = encodeDiscoveryLogEntry(e);
  const view = new DataView(bytes.buffer);
  assert.deepEqual(bytes.subarray(0, 4), Uint8Array.of(3, 2, 1, 1));
  assert.equal(view.getUint16(4, true), 0x1234);
  assert.equal(view.getUint16(6, true), 0x5678);
  assert.equal(view.getUint16(8, true), 0x9abc);
  assert.equal(view.getUint16(10, true), 3);
  assert.ok(bytes.subarray(12, 32).every((b) => b === 0));
  assert.equal(ascii(bytes.subarray(DiscoveryLogEntryOffset.trsvcid, 36)), "8009");
  assert.equal(ascii(bytes.subarray(512, 519)), "fe80::1");
  assert.equal(bytes[768], TcpSecurityType.TLS_1_3);
  assert.deepEqual(decodeDiscoveryLogEntry(bytes), e);
  assert.deepEqual(tcpTsas(e.tsas), { sectype: TcpSecurityType.TLS_1_3 });
});

test("encodeDiscoveryLog() defaults NUMREC to the entries and writes into a buffer", () => {
  const into = new Uint8Array(4000).fill(0xee);
  const out = encodeDiscoveryLog(
    { genctr: 0xffff_ffff_ffff_ffffn },
    [{ portid: 1 }, { portid: 2 }],
    into,
  );
  assert.equal(out.length, 3072);
  assert.equal(out.buffer, into.buffer);
  assert.deepEqual(decodeDiscoveryLogHeader(out), {
    genctr: 0xffff_ffff_ffff_ffffn,
    numrec: 2n,
    recfmt: 0,
  });
  assert.equal(into[3072], 0xee);
  assert.equal(into[100], 0);
  assert.equal(decodeDiscoveryLog(out).entries[1].portid, 2);
  const header = encodeDiscoveryLogHeader({ numrec: 7n });
  assert.equal(header.length, 1024);
  assert.equal(header[8], 7);
});

test("encodeDiscoveryLog() rejects what does not fit", () => {
  assert.throws(() => encodeDiscoveryLog({}, [{}], new Uint8Array(2047)), RangeError);
  assert.throws(() => encodeDiscoveryLogHeader({ genctr: 1n << 64n }), RangeError);
  assert.throws(() => encodeDiscoveryLogHeader({ numrec: 1 as unknown as bigint }), TypeError);
  assert.throws(() => encodeDiscoveryLogEntry({ portid: 0x10000 }), RangeError);
  assert.throws(() => encodeDiscoveryLogEntry({ trtype: -1 }), RangeError);
  assert.throws(() => encodeDiscoveryLogEntry({ trsvcid: "1".repeat(33) }), RangeError);
  assert.throws(() => encodeDiscoveryLogEntry({ traddr: "a\0b" }), RangeError);
  assert.throws(() => encodeDiscoveryLogEntry({ traddr: "地址" }), RangeError);
  assert.throws(() => encodeDiscoveryLogEntry({ subnqn: "n".repeat(256) }), RangeError);
  assert.throws(() => encodeDiscoveryLogEntry({ tsas: new Uint8Array(257) }), RangeError);
  assert.throws(() => tcpTsas(new Uint8Array(0)), ProtocolFieldError);
});

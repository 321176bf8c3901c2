import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AddressFamily,
  AdminOpcode,
  DISCOVERY_NQN,
  LogPageId,
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
import { collectCommands, loadStream, streamFile, type Variant } from "./_fixtures.ts";
import { SQE_CDW10 } from "./sqe.ts";

// ---------------------------------------------------------------------------------------------
// The captured NVMe/TCP streams (shared/fixtures/README.md), paired by _fixtures.ts.

/** The Discovery log page reads of conn0, in order. */
function discoveryReads(variant: Variant = "plain"): Uint8Array[] {
  const h2c = loadStream(streamFile(variant, 0, "host-to-controller"));
  const c2h = loadStream(streamFile(variant, 0, "controller-to-host"));
  return collectCommands(h2c, c2h)
    // LID is the low byte of CDW10
    .filter((c) =>
      c.opcode === AdminOpcode.GET_LOG_PAGE && c.sqe[SQE_CDW10] === LogPageId.DISCOVERY
    )
    .map((c) => {
      assert.ok(c.c2hData !== undefined);
      return c.c2hData;
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

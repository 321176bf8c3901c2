import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { DISCOVERY_NQN, NQN_MAX_LENGTH, PduType } from "./constants.ts";
import {
  assertNqn,
  generateHostId,
  hostIdFromNqn,
  hostNqnFromId,
  isDiscoveryNqn,
  uuidFromString,
  uuidToString,
  validateNqn,
} from "./nqn.ts";

const UUID_PREFIX = "nqn.2014-08.org.nvmexpress:uuid:";

test("validateNqn() accepts the three forms of Base 4.5", () => {
  for (
    const nqn of [
      DISCOVERY_NQN,
      "nqn.2026-01.test:kernel-target",
      "nqn.2014-08.com.example:nvme:nvm-subsystem-sn-d78432",
      "nqn.2016-06.io.spdk:cnode1",
      "nqn.1992-08.com.netapp:sn.0123456789abcdef:subsystem.x",
      "nqn.2014-08.org.nvmexpress",
      "nqn.2014-08.a-b.c9",
      "nqn.2026-12.test:ünïcödé and spaces",
      `${UUID_PREFIX}0bb7b5ef-3732-4045-8125-dba7e9c1a814`,
      `${UUID_PREFIX}0BB7B5EF-3732-4045-8125-DBA7E9C1A814`,
    ]
  ) {
    assert.equal(validateNqn(nqn), undefined, nqn);
  }
});

test("validateNqn() accepts exactly 223 bytes of UTF-8 and no more", () => {
  const base = "nqn.2026-01.test:";
  const ascii223 = base + "a".repeat(NQN_MAX_LENGTH - base.length);
  assert.equal(validateNqn(ascii223), undefined);
  assert.equal(validateNqn(ascii223 + "a"), "224 bytes of UTF-8 exceed the limit of 223");
  // 222 bytes plus a two-byte character: 223 characters but 224 bytes.
  const utf8 = base + "a".repeat(NQN_MAX_LENGTH - base.length - 1) + "é";
  assert.equal(utf8.length, NQN_MAX_LENGTH);
  assert.equal(validateNqn(utf8), "224 bytes of UTF-8 exceed the limit of 223");
});

test("validateNqn() gives a precise reason for each violation", () => {
  const cases: [string, string][] = [
    ["", 'must start with "nqn."'],
    ["iqn.2026-01.test:x", 'must start with "nqn."'],
    ["NQN.2026-01.test:x", 'must start with "nqn."'],
    ["nqn.2026-01.test:a\0b", "contains a NUL character"],
    ["nqn.test:x", '"test:x" after "nqn." is not a date of the form yyyy-mm'],
    ["nqn.2026-1.test", '"2026-1" after "nqn." is not a date of the form yyyy-mm'],
    ["nqn.26-01.test", '"26-01" after "nqn." is not a date of the form yyyy-mm'],
    ["nqn.2026/01.test", '"2026/01" after "nqn." is not a date of the form yyyy-mm'],
    ["nqn.2026-00.test", 'month 00 of "2026-00" is not 01 to 12'],
    ["nqn.2026-13.test", 'month 13 of "2026-13" is not 01 to 12'],
    ["nqn.2026-01", 'needs a reverse domain name after "2026-01"'],
    ["nqn.2026-01.", 'needs a reverse domain name after "2026-01."'],
    ["nqn.2026-01.:x", 'needs a reverse domain name after "2026-01."'],
    ["nqn.2026-01.com..example", 'reverse domain name "com..example" has an empty label'],
    ["nqn.2026-01.com.:x", 'reverse domain name "com." has an empty label'],
    [
      "nqn.2026-01.-com.example",
      'label "-com" of "-com.example" may hold only letters, digits and inner hyphens',
    ],
    [
      "nqn.2026-01.com-.example",
      'label "com-" of "com-.example" may hold only letters, digits and inner hyphens',
    ],
    [
      "nqn.2026-01.ex_ample",
      'label "ex_ample" of "ex_ample" may hold only letters, digits and inner hyphens',
    ],
    [
      "nqn.2026-01.ex ample",
      'label "ex ample" of "ex ample" may hold only letters, digits and inner hyphens',
    ],
    [
      `nqn.2026-01.${"a".repeat(64)}`,
      `label "${"a".repeat(64)}" of "${"a".repeat(64)}" is longer than 63 characters`,
    ],
    ["nqn.2026-01.com.example:", 'needs a string after the ":" that follows "com.example"'],
    [
      `${UUID_PREFIX}1234`,
      `"1234" after "${UUID_PREFIX}" is not a UUID of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`,
    ],
    [
      `${UUID_PREFIX}0bb7b5ef37324045-8125-dba7e9c1a814`,
      `"0bb7b5ef37324045-8125-dba7e9c1a814" after "${UUID_PREFIX}" is not a UUID of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`,
    ],
    [
      `${UUID_PREFIX}0bb7b5eg-3732-4045-8125-dba7e9c1a814`,
      `"0bb7b5eg-3732-4045-8125-dba7e9c1a814" after "${UUID_PREFIX}" is not a UUID of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`,
    ],
  ];
  for (const [nqn, reason] of cases) assert.equal(validateNqn(nqn), reason, nqn);
  assert.equal(validateNqn(42 as unknown as string), "expected a string, received number");
  assert.equal(validateNqn(`${DISCOVERY_NQN}x`), undefined); // still a valid date-form name
});

test("assertNqn() throws a RangeError naming the field", () => {
  assertNqn("nqn.2026-01.test:kernel-target");
  assertNqn(DISCOVERY_NQN, "subnqn");
  assert.throws(
    () => assertNqn("nqn.2026-13.test", "hostnqn"),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message ===
        'Cannot accept hostnqn "nqn.2026-13.test": month 13 of "2026-13" is not 01 to 12',
  );
  assert.throws(
    () => assertNqn("bad"),
    (e: unknown) => e instanceof RangeError && e.message.startsWith('Cannot accept nqn "bad": '),
  );
});

test("isDiscoveryNqn() matches only the well-known discovery NQN", () => {
  assert.equal(isDiscoveryNqn(DISCOVERY_NQN), true);
  assert.equal(isDiscoveryNqn(`${DISCOVERY_NQN}:x`), false);
  assert.equal(isDiscoveryNqn(DISCOVERY_NQN.toUpperCase()), false);
  assert.equal(isDiscoveryNqn("nqn.2026-01.test:kernel-target"), false);
});

test("generateHostId() makes random version 4 UUIDs", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 64; i++) {
    const id = generateHostId();
    assert.equal(id.length, 16);
    assert.equal(id[6] >> 4, 4, "version 4");
    assert.equal(id[8] >> 6, 2, "RFC variant");
    const s = uuidToString(id);
    assert.equal(validateNqn(hostNqnFromId(id)), undefined);
    seen.add(s);
  }
  assert.equal(seen.size, 64);
});

test("uuidToString() and uuidFromString() convert both ways, with errors", () => {
  const bytes = Uint8Array.of(
    0x0b,
    0xb7,
    0xb5,
    0xef,
    0x37,
    0x32,
    0x40,
    0x45,
    0x81,
    0x25,
    0xdb,
    0xa7,
    0xe9,
    0xc1,
    0xa8,
    0x14,
  );
  assert.equal(uuidToString(bytes), "0bb7b5ef-3732-4045-8125-dba7e9c1a814");
  assert.deepEqual(uuidFromString("0bb7b5ef-3732-4045-8125-dba7e9c1a814"), bytes);
  assert.deepEqual(uuidFromString("0BB7B5EF-3732-4045-8125-DBA7E9C1A814"), bytes);
  assert.equal(uuidToString(new Uint8Array(16).fill(0xff)), "ffffffff-ffff-ffff-ffff-ffffffffffff");
  assert.throws(() => uuidToString(new Uint8Array(15)), RangeError);
  assert.throws(() => uuidToString(new Uint8Array(17)), RangeError);
  assert.throws(() => uuidFromString("0bb7b5ef-3732-4045-8125-dba7e9c1a81"), RangeError);
  assert.throws(() => uuidFromString(""), RangeError);
  assert.throws(() => uuidFromString("0bb7b5ef-3732-4045-8125-dba7e9c1a81z"), TypeError);
  assert.throws(() => uuidFromString("0bb7b5ef-37324-045-8125-dba7e9c1a814"), TypeError);
  assert.throws(() => uuidFromString("0bb7b5ef+3732+4045+8125+dba7e9c1a814"), TypeError);
});

test("hostNqnFromId() and hostIdFromNqn() match the Connect data nvme-cli sent", () => {
  // The first CapsuleCmd after the ICReq of conn1 is the Connect; its data (at PDO) holds HOSTID
  // at byte 0 and HOSTNQN at byte 512 (Fabrics Figure 20).
  const b = readFileSync(
    new URL(
      "../../../shared/fixtures/linux-6.1-plain.conn1.host-to-controller.bin",
      import.meta.url,
    ),
  );
  const stream = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const at = view.getUint32(4, true); // skip the ICReq
  assert.equal(stream[at], PduType.CAPSULE_CMD);
  const data = stream.subarray(at + stream[at + 3], at + view.getUint32(at + 4, true));
  assert.equal(data.length, 1024);
  const hostid = data.slice(0, 16);
  const hostnqn = new TextDecoder().decode(data.subarray(512, 512 + data.subarray(512).indexOf(0)));
  assert.equal(hostnqn, "nqn.2014-08.org.nvmexpress:uuid:0bb7b5ef-3732-4045-8125-dba7e9c1a814");
  assert.equal(validateNqn(hostnqn), undefined);
  assert.deepEqual(hostIdFromNqn(hostnqn), hostid);
  assert.equal(hostNqnFromId(hostid), hostnqn);
});

test("hostIdFromNqn() returns undefined unless the NQN is of the UUID form", () => {
  assert.equal(hostIdFromNqn("nqn.2026-01.test:kernel-target"), undefined);
  assert.equal(hostIdFromNqn(DISCOVERY_NQN), undefined);
  assert.equal(hostIdFromNqn(`${UUID_PREFIX}1234`), undefined);
  assert.equal(hostIdFromNqn(`${UUID_PREFIX}0bb7b5ef-3732-4045-8125-dba7e9c1a814x`), undefined);
  assert.deepEqual(
    hostIdFromNqn(`${UUID_PREFIX}00000000-0000-0000-0000-000000000000`),
    new Uint8Array(16),
  );
  assert.throws(() => hostNqnFromId(new Uint8Array(4)), RangeError);
});

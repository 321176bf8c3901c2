import { test } from "node:test";
import assert from "node:assert/strict";
import { NvmeVersion } from "@nvmf/proto";
import { RamBackend } from "./backend.ts";
import {
  checkNqn,
  Namespace,
  parseIdentifier,
  Subsystem,
  type SubsystemListener,
} from "./subsystem.ts";

const DEFAULTS = { serial: "defaultserial", model: "nvmf", firmware: "0.1.0", maxNamespaces: 16 };
const ram = (blockSize = 512) => new RamBackend({ size: 1 << 20, blockSize });

function recorder(): SubsystemListener & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    namespaceChanged: (_s, nsid) => events.push(`ns ${nsid}`),
    hostsChanged: () => events.push("hosts"),
  };
}

test("parseIdentifier() reads bytes and hex with separators, treats all zeroes as none", () => {
  assert.deepEqual(
    parseIdentifier("d592cdf3-5d1c-44e0-8412-3fcf7d99df27", 16, "uuid")?.slice(0, 4),
    Uint8Array.of(0xd5, 0x92, 0xcd, 0xf3),
  );
  assert.deepEqual(
    parseIdentifier(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 8, "eui64"),
    Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
  );
  assert.equal(parseIdentifier(new Uint8Array(8), 8, "eui64"), undefined);
  assert.equal(parseIdentifier(undefined, 8, "eui64"), undefined);
  assert.throws(() => parseIdentifier("0011", 8, "eui64"), /eui64 "0011": expected 16 hex digits/);
  assert.throws(() => parseIdentifier("zz112233445566778899aabbccddeeff", 16, "nguid"), RangeError);
  assert.throws(() => parseIdentifier(new Uint8Array(4), 8, "eui64"), /expected 8 bytes/);
});

test("checkNqn() accepts names Linux accepts and refuses empty, long or NUL ones", () => {
  checkNqn("testnqn", "nqn");
  checkNqn("nqn.2026-01.dev.nvmf:x", "nqn");
  assert.throws(() => checkNqn("", "nqn"), /empty/);
  assert.throws(() => checkNqn("a".repeat(224), "nqn"), /223 bytes/);
  assert.throws(() => checkNqn("a\0b", "nqn"), /NUL/);
});

test("Namespace derives blocks and shift from its backend and gets a random UUID", () => {
  const ns = new Namespace(3, { backend: ram(4096) });
  assert.equal(ns.blocks, 256);
  assert.equal(ns.blockShift, 12);
  assert.equal(ns.uuid[6] >> 4, 4); // version 4
  assert.deepEqual(ns.nguid, new Uint8Array(16));
  assert.notDeepEqual(new Namespace(3, { backend: ram() }).uuid, ns.uuid);
  assert.equal(
    new Namespace(1, { backend: new RamBackend({ size: 1 << 20, readOnly: true }) }).readOnly,
    true,
  );
  assert.throws(
    () => new Namespace(1, { backend: { ...ram(), blockSize: 100, size: 1000n } as never }),
    /block size 100/,
  );
  assert.throws(
    () => new Namespace(1, { backend: new RamBackend({ size: 100, blockSize: 512 }) }),
    /less than one block/,
  );
});

test("Subsystem hands out the lowest free NSID, refuses taken and out-of-range ones, tells the target", () => {
  const r = recorder();
  const sub = new Subsystem({ nqn: "nqn.2026-01.dev.nvmf:s" }, DEFAULTS, r);
  assert.equal(sub.addNamespace({ backend: ram() }).nsid, 1);
  assert.equal(sub.addNamespace({ nsid: 3, backend: ram() }).nsid, 3);
  assert.equal(sub.addNamespace({ backend: ram() }).nsid, 2);
  assert.throws(() => sub.addNamespace({ nsid: 3, backend: ram() }), /taken/);
  assert.throws(() => sub.addNamespace({ nsid: 17, backend: ram() }), /1 to 16/);
  assert.throws(() => sub.addNamespace({ nsid: 0, backend: ram() }), RangeError);
  assert.deepEqual(sub.namespaces.map((ns) => ns.nsid), [1, 2, 3]);
  assert.equal(sub.removeNamespace(2)?.nsid, 2);
  assert.equal(sub.removeNamespace(2), undefined);
  assert.equal(sub.namespace(2), undefined);
  assert.deepEqual(r.events, ["ns 1", "ns 3", "ns 2", "ns 2"]);
});

test("Subsystem host access: allow any by default, a list when given, changes reported", () => {
  const r = recorder();
  const open = new Subsystem({ nqn: "a" }, DEFAULTS, r);
  assert.equal(open.allowAnyHost, true);
  assert.equal(open.isHostAllowed("anyone"), true);
  const closed = new Subsystem({ nqn: "b", allowedHosts: ["h1"] }, DEFAULTS, r);
  assert.equal(closed.allowAnyHost, false);
  assert.equal(closed.isHostAllowed("h1"), true);
  assert.equal(closed.isHostAllowed("h2"), false);
  closed.allowHost("h2");
  assert.equal(closed.isHostAllowed("h2"), true);
  assert.equal(closed.disallowHost("h1"), true);
  assert.equal(closed.disallowHost("h1"), false);
  assert.deepEqual(closed.allowedHosts, ["h2"]);
  closed.allowAnyHost = true;
  assert.equal(closed.isHostAllowed("h1"), true);
  assert.deepEqual(r.events, ["hosts", "hosts", "hosts"]);
});

test("Subsystem identity: defaults, version and field checks", () => {
  const sub = new Subsystem({ nqn: "x", version: "1.4", firmware: "9.9" }, DEFAULTS);
  assert.equal(sub.serial, "defaultserial");
  assert.equal(sub.model, "nvmf");
  assert.equal(sub.firmware, "9.9");
  assert.equal(sub.version, NvmeVersion.V1_4);
  assert.equal(new Subsystem({ nqn: "x" }, DEFAULTS).version, NvmeVersion.V1_3);
  assert.throws(() => new Subsystem({ nqn: "x", version: "3.0" }, DEFAULTS), /version "3.0"/);
  assert.throws(() => new Subsystem({ nqn: "x", serial: "s".repeat(21) }, DEFAULTS), /serial/);
  assert.throws(() => new Subsystem({ nqn: "x", model: "m\u00e9" }, DEFAULTS), /model/);
  assert.throws(() => new Subsystem({ nqn: "x", firmware: "123456789" }, DEFAULTS), /firmware/);
  assert.throws(() => new Subsystem({ nqn: "" }, DEFAULTS), /empty/);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uuidToString, validateNqn } from "@nvmf/proto";
import {
  defaultConfigDir,
  persistentHostIdentity,
  processHostIdentity,
  resolveHostIdentity,
} from "./identity.ts";

function scratch(): { root: string; system: string; config: string; [Symbol.dispose](): void } {
  const root = mkdtempSync(join(tmpdir(), "nvmf-identity-"));
  return {
    root,
    system: join(root, "etc-nvme"),
    config: join(root, "config", "nvmf"),
    [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }),
  };
}

test("resolveHostIdentity() makes a UUID NQN and its host ID", () => {
  const a = resolveHostIdentity();
  const b = resolveHostIdentity();
  assert.equal(validateNqn(a.hostnqn), undefined);
  assert.equal(a.hostnqn, `nqn.2014-08.org.nvmexpress:uuid:${uuidToString(a.hostid)}`);
  assert.notDeepEqual(a.hostid, b.hostid);
});

test("resolveHostIdentity() takes the host ID from a UUID host NQN and keeps a given one", () => {
  const nqn = "nqn.2014-08.org.nvmexpress:uuid:00112233-4455-6677-8899-aabbccddeeff";
  const derived = resolveHostIdentity({ hostnqn: nqn });
  assert.equal(uuidToString(derived.hostid), "00112233-4455-6677-8899-aabbccddeeff");
  const given = resolveHostIdentity({
    hostnqn: "nqn.2026-01.test:host",
    hostid: "ffeeddcc-bbaa-9988-7766-554433221100",
  });
  assert.equal(given.hostnqn, "nqn.2026-01.test:host");
  assert.equal(uuidToString(given.hostid), "ffeeddcc-bbaa-9988-7766-554433221100");
});

test("resolveHostIdentity() rejects a malformed NQN or host ID", () => {
  assert.throws(
    () => resolveHostIdentity({ hostnqn: "iqn.bad" }),
    /hostnqn|host NQN/i,
  );
  assert.throws(() => resolveHostIdentity({ hostid: "not-a-uuid" }), RangeError);
  assert.throws(
    () => resolveHostIdentity({ hostid: new Uint8Array(15) }),
    /16 bytes/,
  );
});

test("persistentHostIdentity() saves a new identity once and reads it back", () => {
  using dirs = scratch();
  const first = persistentHostIdentity({ systemDir: dirs.system, configDir: dirs.config });
  assert.equal(readFileSync(join(dirs.config, "hostnqn"), "utf8").trim(), first.hostnqn);
  assert.equal(
    readFileSync(join(dirs.config, "hostid"), "utf8").trim(),
    uuidToString(first.hostid),
  );
  const second = persistentHostIdentity({ systemDir: dirs.system, configDir: dirs.config });
  assert.deepEqual(second, first);
});

test("persistentHostIdentity() prefers the system's /etc/nvme pair, as nvme-cli", () => {
  using dirs = scratch();
  mkdirSync(dirs.system, { recursive: true });
  writeFileSync(join(dirs.system, "hostnqn"), "nqn.2026-01.test:system-host\n");
  writeFileSync(join(dirs.system, "hostid"), "01234567-89ab-cdef-0123-456789abcdef\n");
  const id = persistentHostIdentity({ systemDir: dirs.system, configDir: dirs.config });
  assert.equal(id.hostnqn, "nqn.2026-01.test:system-host");
  assert.equal(uuidToString(id.hostid), "01234567-89ab-cdef-0123-456789abcdef");
  assert.throws(() => readFileSync(join(dirs.config, "hostnqn")), "nothing saved");
});

test("persistentHostIdentity() names the file holding a malformed NQN", () => {
  using dirs = scratch();
  mkdirSync(dirs.config, { recursive: true });
  writeFileSync(join(dirs.config, "hostnqn"), "not an nqn\n");
  assert.throws(
    () => persistentHostIdentity({ systemDir: dirs.system, configDir: dirs.config }),
    (e) => e instanceof RangeError && e.message.includes(join(dirs.config, "hostnqn")),
  );
});

test("persistentHostIdentity() keeps a given NQN and Host Identifier without touching files", () => {
  using dirs = scratch();
  const id = persistentHostIdentity({
    hostnqn: "nqn.2026-01.test:host",
    hostid: "ffeeddcc-bbaa-9988-7766-554433221100",
    systemDir: dirs.system,
    configDir: dirs.config,
  });
  assert.equal(id.hostnqn, "nqn.2026-01.test:host");
  assert.throws(() => readFileSync(join(dirs.config, "hostnqn")), "nothing saved");
});

test("processHostIdentity() is made up once and kept for the process", () => {
  const a = processHostIdentity();
  const b = processHostIdentity();
  assert.deepEqual(a, b);
  assert.equal(a.hostnqn, `nqn.2014-08.org.nvmexpress:uuid:${uuidToString(a.hostid)}`);
  a.hostid.fill(0); // a copy: the process's identity stays as it was
  assert.deepEqual(processHostIdentity(), b);
});

test("defaultConfigDir() ends in nvmf", () => {
  assert.match(defaultConfigDir(), /nvmf$/);
});

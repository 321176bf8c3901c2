import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uuidToString, validateNqn } from "@nvmf/proto";
import { defaultConfigDir, resolveHostIdentity } from "./identity.ts";

function scratch(): { root: string; system: string; config: string; [Symbol.dispose](): void } {
  const root = mkdtempSync(join(tmpdir(), "nvmf-identity-"));
  return {
    root,
    system: join(root, "etc-nvme"),
    config: join(root, "config", "nvmf"),
    [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }),
  };
}

test("resolveHostIdentity() without persistence makes a UUID NQN and its host ID", () => {
  const a = resolveHostIdentity({ persist: false });
  const b = resolveHostIdentity({ persist: false });
  assert.equal(validateNqn(a.hostnqn), undefined);
  assert.equal(a.hostnqn, `nqn.2014-08.org.nvmexpress:uuid:${uuidToString(a.hostid)}`);
  assert.notDeepEqual(a.hostid, b.hostid);
});

test("resolveHostIdentity() takes the host ID from a UUID host NQN and keeps a given one", () => {
  const nqn = "nqn.2014-08.org.nvmexpress:uuid:00112233-4455-6677-8899-aabbccddeeff";
  const derived = resolveHostIdentity({ hostnqn: nqn, persist: false });
  assert.equal(uuidToString(derived.hostid), "00112233-4455-6677-8899-aabbccddeeff");
  const given = resolveHostIdentity({
    hostnqn: "nqn.2026-01.test:host",
    hostid: "ffeeddcc-bbaa-9988-7766-554433221100",
    persist: false,
  });
  assert.equal(given.hostnqn, "nqn.2026-01.test:host");
  assert.equal(uuidToString(given.hostid), "ffeeddcc-bbaa-9988-7766-554433221100");
});

test("resolveHostIdentity() rejects a malformed NQN or host ID", () => {
  assert.throws(
    () => resolveHostIdentity({ hostnqn: "iqn.bad", persist: false }),
    /hostnqn|host NQN/i,
  );
  assert.throws(() => resolveHostIdentity({ hostid: "not-a-uuid", persist: false }), RangeError);
  assert.throws(
    () => resolveHostIdentity({ hostid: new Uint8Array(15), persist: false }),
    /16 bytes/,
  );
});

test("resolveHostIdentity() saves a new identity once and reads it back", () => {
  using dirs = scratch();
  const first = resolveHostIdentity({ systemDir: dirs.system, configDir: dirs.config });
  assert.equal(readFileSync(join(dirs.config, "hostnqn"), "utf8").trim(), first.hostnqn);
  assert.equal(
    readFileSync(join(dirs.config, "hostid"), "utf8").trim(),
    uuidToString(first.hostid),
  );
  const second = resolveHostIdentity({ systemDir: dirs.system, configDir: dirs.config });
  assert.deepEqual(second, first);
});

test("resolveHostIdentity() prefers the system's /etc/nvme pair, as nvme-cli", () => {
  using dirs = scratch();
  mkdirSync(dirs.system, { recursive: true });
  writeFileSync(join(dirs.system, "hostnqn"), "nqn.2026-01.test:system-host\n");
  writeFileSync(join(dirs.system, "hostid"), "01234567-89ab-cdef-0123-456789abcdef\n");
  const id = resolveHostIdentity({ systemDir: dirs.system, configDir: dirs.config });
  assert.equal(id.hostnqn, "nqn.2026-01.test:system-host");
  assert.equal(uuidToString(id.hostid), "01234567-89ab-cdef-0123-456789abcdef");
  assert.throws(() => readFileSync(join(dirs.config, "hostnqn")), "nothing saved");
});

test("resolveHostIdentity() names the file holding a malformed NQN", () => {
  using dirs = scratch();
  mkdirSync(dirs.config, { recursive: true });
  writeFileSync(join(dirs.config, "hostnqn"), "not an nqn\n");
  assert.throws(
    () => resolveHostIdentity({ systemDir: dirs.system, configDir: dirs.config }),
    (e) => e instanceof RangeError && e.message.includes(join(dirs.config, "hostnqn")),
  );
});

test("defaultConfigDir() ends in nvmf", () => {
  assert.match(defaultConfigDir(), /nvmf$/);
});

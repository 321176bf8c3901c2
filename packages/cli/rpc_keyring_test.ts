// DH-HMAC-CHAP over JSON-RPC: SPDK's file keyring, nvmf_subsystem_add_host with key names,
// our host over TCP, save_config and its load.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Target } from "@nvmf/controller";
import { connect, ControllerError } from "@nvmf/host";
import { generateDhchapSecret } from "@nvmf/auth";
import "@nvmf/transport-tcp";
import { handleRequest } from "./rpc_server.ts";
import { loadSpdkConfig, rpcMethods, type SpdkConfig } from "./rpc_methods.ts";

const NQN = "nqn.2016-06.io.spdk:cnode1";
const HOST = "nqn.2014-08.org.nvmexpress:uuid:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const KEY = generateDhchapSecret({ hmacId: 1 }).reveal();
const CTRL_KEY = generateDhchapSecret({ hmacId: 2 }).reveal();
const NEW_KEY = generateDhchapSecret().reveal();

type Methods = ReturnType<typeof rpcMethods>;

async function rpc(methods: Methods, method: string, params?: unknown) {
  const request = { jsonrpc: "2.0", id: 1, method, ...(params === undefined ? {} : { params }) };
  return (await handleRequest(methods, request))!;
}

async function ok(methods: Methods, method: string, params?: unknown) {
  const r = await rpc(methods, method, params);
  assert.equal(r.error, undefined, `${method}: ${JSON.stringify(r.error)}`);
  return r.result;
}

/** No secret in a response, whatever it is. */
function noSecret(x: unknown) {
  const text = JSON.stringify(x);
  for (const s of [KEY, CTRL_KEY, NEW_KEY]) {
    assert.ok(!text.includes(s.split(":")[2]), `a secret in ${text}`);
  }
}

function keyFile(dir: string, name: string, secret: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, secret + "\n");
  chmodSync(path, mode);
  return path;
}

async function subsystem(methods: Methods) {
  await ok(methods, "nvmf_create_transport", { trtype: "TCP" });
  await ok(methods, "bdev_malloc_create", { name: "Malloc0", num_blocks: 2048, block_size: 512 });
  await ok(methods, "nvmf_create_subsystem", { nqn: NQN, allow_any_host: false });
  await ok(methods, "nvmf_subsystem_add_ns", { nqn: NQN, namespace: { bdev_name: "Malloc0" } });
  await ok(methods, "nvmf_subsystem_add_listener", {
    nqn: NQN,
    listen_address: { trtype: "TCP", adrfam: "IPv4", traddr: "127.0.0.1", trsvcid: "0" },
  });
}

function host(target: Target, secrets: { dhchapSecret?: string; dhchapCtrlSecret?: string }) {
  return connect({
    transport: "tcp",
    address: { traddr: "127.0.0.1", trsvcid: target.ports[0].address.trsvcid! },
    subnqn: NQN,
    hostnqn: HOST,
    kato: 0,
    ctrlLossTimeout: 0,
    ...secrets,
  });
}

test("keyring: keys from files name a host's DH-HMAC-CHAP secrets; our host authenticates, one without is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nvmf-keyring-"));
  const target = new Target();
  const methods = rpcMethods(target);
  try {
    await subsystem(methods);
    const key0 = keyFile(dir, "key0", KEY);
    const ckey0 = keyFile(dir, "ckey0", CTRL_KEY, 0o400);
    assert.equal(await ok(methods, "keyring_file_add_key", { name: "key0", path: key0 }), true);
    await ok(methods, "keyring_file_add_key", { name: "ckey0", path: ckey0 });
    const keys = await ok(methods, "keyring_get_keys") as { name: string; path: string }[];
    assert.deepEqual(keys.map((k) => [k.name, k.path]), [["key0", key0], ["ckey0", ckey0]]);
    noSecret(keys);

    await ok(methods, "nvmf_subsystem_add_host", {
      nqn: NQN,
      host: HOST,
      dhchap_key: "key0",
      dhchap_ctrlr_key: "ckey0",
    });
    const ctrl = await host(target, { dhchapSecret: KEY, dhchapCtrlSecret: CTRL_KEY });
    const ns = await ctrl.namespace(1);
    const data = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff);
    await ns.write(8, data);
    assert.deepEqual(await ns.read(8, 8), data);
    await ctrl.close();

    await assert.rejects(host(target, {}), (e: unknown) => {
      assert.ok(e instanceof ControllerError, String(e));
      assert.match(e.message, /no DH-HMAC-CHAP secret was given/);
      return true;
    });
    await assert.rejects(host(target, { dhchapSecret: NEW_KEY }), /AUTH_Failure1|authentication/);

    // In use: not removable. Rotated with nvmf_subsystem_set_keys, then free.
    const busy = await rpc(methods, "keyring_file_remove_key", { name: "key0" });
    assert.match(busy.error!.message, /Cannot remove key key0: host .* uses it/);
    const key1 = keyFile(dir, "key1", NEW_KEY);
    await ok(methods, "keyring_file_add_key", { name: "key1", path: key1 });
    await ok(methods, "nvmf_subsystem_set_keys", { nqn: NQN, host: HOST, dhchap_key: "key1" });
    await assert.rejects(host(target, { dhchapSecret: KEY }), /AUTH_Failure1|authentication/);
    const c2 = await host(target, { dhchapSecret: NEW_KEY });
    await c2.close();
    assert.equal(await ok(methods, "keyring_file_remove_key", { name: "key0" }), true);
    assert.equal(await ok(methods, "keyring_file_remove_key", { name: "ckey0" }), true);
    // Removing the host frees its keys.
    await ok(methods, "nvmf_subsystem_remove_host", { nqn: NQN, host: HOST });
    assert.equal(await ok(methods, "keyring_file_remove_key", { name: "key1" }), true);
    assert.deepEqual(await ok(methods, "keyring_get_keys"), []);
  } finally {
    await target.close();
    rmSync(dir, { recursive: true });
  }
});

test("keyring: files and key names refused as SPDK does, with errors that never quote a secret", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nvmf-keyring-"));
  const target = new Target();
  const methods = rpcMethods(target);
  const refused = async (method: string, params: unknown, re: RegExp) => {
    const r = await rpc(methods, method, params);
    assert.ok(r.error !== undefined, `${method} ${JSON.stringify(params)} was accepted`);
    assert.equal(r.error.code, -32602);
    assert.match(r.error.message, re);
    noSecret(r);
  };
  try {
    await subsystem(methods);
    const open = keyFile(dir, "open", KEY, 0o644);
    await refused("keyring_file_add_key", { name: "k", path: open }, /invalid permissions.*0644/);
    const group = keyFile(dir, "group", KEY, 0o640);
    await refused("keyring_file_add_key", { name: "k", path: group }, /invalid permissions/);
    await refused("keyring_file_add_key", { name: "k", path: "key0" }, /not absolute/);
    await refused(
      "keyring_file_add_key",
      { name: "k", path: join(dir, "none") },
      /ENOENT|no such/i,
    );
    // A damaged secret: one character changed, the CRC-32 catches it.
    const bad = KEY.slice(0, 12) + (KEY[12] === "A" ? "B" : "A") + KEY.slice(13);
    await refused(
      "keyring_file_add_key",
      { name: "k", path: keyFile(dir, "bad", bad) },
      /key k .*CRC-32|key k .*base64/,
    );
    await refused("keyring_file_add_key", { name: "k", path: dir }, /not a file/);
    await refused("keyring_file_add_key", { name: "k", path: open, extra: 1 }, /unknown parameter/);
    assert.deepEqual(await ok(methods, "keyring_get_keys"), []);

    await ok(methods, "keyring_file_add_key", { name: "k", path: keyFile(dir, "k", KEY) });
    await refused("keyring_file_add_key", { name: "k", path: keyFile(dir, "k2", KEY) }, /exists/);
    await refused("keyring_file_remove_key", { name: "nope" }, /no such key/);
    await refused(
      "nvmf_subsystem_add_host",
      { nqn: NQN, host: HOST, dhchap_key: "nope" },
      /Unable to find key nope/,
    );
    await refused(
      "nvmf_subsystem_add_host",
      { nqn: NQN, host: HOST, dhchap_ctrlr_key: "k" },
      /dhchap_ctrlr_key needs dhchap_key/,
    );
    await refused("nvmf_subsystem_add_host", { nqn: NQN, host: HOST, psk: "k" }, /psk/);
    await refused(
      "nvmf_subsystem_set_keys",
      { nqn: NQN, host: HOST, dhchap_key: "k" },
      /Unable to find host/,
    );
    // Nothing of the refused calls stayed: the host is not there.
    const subs = await ok(methods, "nvmf_get_subsystems", { nqn: NQN }) as { hosts: unknown[] }[];
    assert.deepEqual(subs[0].hosts, []);
    assert.equal(target.subsystem(NQN)!.hostDhchap(HOST), undefined);
    // A file made world-readable after it was added is refused when applied.
    chmodSync(join(dir, "k"), 0o604);
    await refused(
      "nvmf_subsystem_add_host",
      { nqn: NQN, host: HOST, dhchap_key: "k" },
      /invalid permissions/,
    );
    assert.equal(target.subsystem(NQN)!.hostDhchap(HOST), undefined);
  } finally {
    await target.close();
    rmSync(dir, { recursive: true });
  }
});

test("keyring: save_config writes the keyring and key names, never a secret; --config loads them back", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nvmf-keyring-"));
  const a = new Target();
  const b = new Target();
  try {
    const ma = rpcMethods(a);
    await subsystem(ma);
    const key0 = keyFile(dir, "key0", KEY);
    const ckey0 = keyFile(dir, "ckey0", CTRL_KEY);
    await ok(ma, "keyring_file_add_key", { name: "key0", path: key0 });
    await ok(ma, "keyring_file_add_key", { name: "ckey0", path: ckey0 });
    await ok(ma, "nvmf_subsystem_add_host", {
      nqn: NQN,
      host: HOST,
      dhchap_key: "key0",
      dhchap_ctrlr_key: "ckey0",
    });
    await ok(ma, "nvmf_subsystem_add_host", { nqn: NQN, host: "nqn.2016-06.io.spdk:plain" });
    const saved = await ok(ma, "save_config") as SpdkConfig;
    noSecret(saved);
    assert.deepEqual(saved.subsystems[0], {
      subsystem: "keyring",
      config: [
        { method: "keyring_file_add_key", params: { name: "key0", path: key0 } },
        { method: "keyring_file_add_key", params: { name: "ckey0", path: ckey0 } },
      ],
    });
    const nvmf = saved.subsystems.find((s) => s.subsystem === "nvmf")!.config;
    assert.deepEqual(nvmf.filter((c) => c.method === "nvmf_subsystem_add_host"), [
      {
        method: "nvmf_subsystem_add_host",
        params: { nqn: NQN, host: HOST, dhchap_key: "key0", dhchap_ctrlr_key: "ckey0" },
      },
      {
        method: "nvmf_subsystem_add_host",
        params: { nqn: NQN, host: "nqn.2016-06.io.spdk:plain" },
      },
    ]);

    // Loaded into another target (as the daemon's --config does), keyring first.
    const json = JSON.parse(JSON.stringify(saved)) as SpdkConfig;
    json.subsystems.reverse(); // the order of the file does not matter
    for (const c of json.subsystems.find((s) => s.subsystem === "nvmf")!.config) {
      const la = (c.params as { listen_address?: { trsvcid: string } }).listen_address;
      if (la !== undefined) la.trsvcid = "0"; // the first target holds the port
    }
    const mb = rpcMethods(b);
    await loadSpdkConfig(mb, json);
    const again = await ok(mb, "save_config") as SpdkConfig;
    assert.deepEqual(again.subsystems[0], saved.subsystems[0]);
    const hosts = (c: SpdkConfig) =>
      c.subsystems[2].config.filter((x) => x.method === "nvmf_subsystem_add_host");
    assert.deepEqual(hosts(again), hosts(saved));
    await assert.rejects(host(b, {}), /no DH-HMAC-CHAP secret was given/);
    const ctrl = await host(b, { dhchapSecret: KEY, dhchapCtrlSecret: CTRL_KEY });
    await ctrl.close();
  } finally {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true });
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDhchapSecret } from "@nvmf/auth";
import { main } from "./nvmf.ts";
import { parseDaemonArgs } from "./target.ts";

const KA = "DHHC-1:00:IpktLQLxaeA2eFbEtDT5H6iOegx/TnRKlB2V2oNoU6PtvqeC:";
const KA_HEX = "22992d2d02f169e0367856c4b434f91fa88e7a0c7f4e744a941d95da836853a3";

async function nvmf(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const code = await main(args, { stdout: (t) => out += t, stderr: (t) => err += t });
  return { code, out, err };
}

test("nvmf gen-dhchap-key takes nvme-cli's flags and matches its output", async () => {
  assert.deepEqual(await nvmf("gen-dhchap-key", "--secret", KA_HEX), {
    code: 0,
    out: `${KA}\n`,
    err: "",
  });
  const r = await nvmf("gen-dhchap-key", "-m", "2", "-n", "nqn.2026-01.test:h");
  assert.equal(r.code, 0);
  assert.equal(parseDhchapSecret(r.out.trim()).keyLength, 48);
  assert.equal((await nvmf("gen-dhchap-key", "-m", "1")).code, 2); // --nqn required
  assert.equal((await nvmf("gen-dhchap-key", "-m", "3", "-l", "32", "-n", "x")).code, 2);
  assert.equal((await nvmf("gen-dhchap-key", "-l", "40")).code, 2);
  assert.equal((await nvmf("gen-dhchap-key", "-s", "zz")).code, 2);
});

test("nvmf check-dhchap-key checks and never prints the key", async () => {
  const ok = await nvmf("check-dhchap-key", "-k", KA);
  assert.equal(ok.code, 0);
  assert.match(ok.out, /Key is valid \(HMAC none, 32 bytes/);
  assert.ok(!ok.out.includes("Ipkt"));
  const json = await nvmf("check-dhchap-key", "-k", KA, "-o", "json");
  assert.deepEqual(JSON.parse(json.out), { valid: true, hmac: "none", keyLength: 32 });
  const bad = KA.replace("Ipkt", "Ipku");
  const r = await nvmf("check-dhchap-key", "--key", bad);
  assert.equal(r.code, 1);
  assert.match(r.err, /CRC-32 does not match/);
  assert.ok(!r.err.includes("Ipku") && !r.out.includes("Ipku"));
  const rj = await nvmf("check-dhchap-key", "--key", bad, "-o", "json");
  assert.ok(!rj.out.includes("Ipku"));
});

test("nvmf connect-type commands take -S/-C; a bad secret is refused without quoting it", async () => {
  const r = await nvmf(
    "id-ctrl",
    "-t",
    "loopback",
    "-a",
    "nowhere",
    "-n",
    "nqn.x:y",
    "-S",
    "DHHC-1:00:secretsecret:",
  );
  assert.equal(r.code, 1);
  assert.match(r.err, /dhchapSecret/);
  assert.ok(!r.err.includes("secretsecret"));
});

test("the daemon's --dhchap-* flags apply to the --allow-host before them", () => {
  const o = parseDaemonArgs([
    "--allow-host",
    "nqn.a:1",
    "--dhchap-key",
    KA,
    "--dhchap-hash",
    "hmac(sha512)",
    "--allow-host",
    "nqn.a:2",
    "--allow-host",
    "nqn.a:3",
    "--dhchap-key",
    KA,
    "--dhchap-ctrl-key",
    KA,
    "--dhchap-dhgroup",
    "ffdhe2048",
  ]);
  assert.deepEqual(o.allowHosts, ["nqn.a:1", "nqn.a:2", "nqn.a:3"]);
  assert.deepEqual(o.dhchap, {
    "nqn.a:1": { key: KA, hash: "hmac(sha512)" },
    "nqn.a:3": { key: KA, ctrlKey: KA, dhgroup: "ffdhe2048" },
  });
  assert.throws(() => parseDaemonArgs(["--dhchap-key", KA]), /must follow an --allow-host/);
  assert.throws(
    () => parseDaemonArgs(["--allow-host", "nqn.a:1", "--dhchap-hash", "hmac(sha384)"]),
    /need --dhchap-key/,
  );
  assert.throws(
    () => parseDaemonArgs(["--config", "x.json", "--allow-host", "nqn.a:1", "--dhchap-key", KA]),
    /--config/,
  );
});

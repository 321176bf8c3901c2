// DH-HMAC-CHAP in-band authentication judged by Linux 6.12 (../shared/interop, build-6.12):
// the kernel host authenticates to our target daemon, and @nvmf/host to the kernel target,
// for each hash with the null DH group and every ffdhe group at least once, one- and two-way;
// wrong host and controller secrets are refused in both directions with a clear error.
// Run with `deno test -A interop/auth_test.ts` (part of `deno task test:interop`).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { connect, ControllerError } from "@nvmf/host";
import { generateDhchapSecret } from "@nvmf/auth";
import "@nvmf/transport-tcp";
import { freePort, INTEROP_DIR, KERNEL_TARGET_NQN, run, startOurTarget } from "./_kernel.ts";
import type { OurTarget } from "./_kernel.ts";

const BUILD = `${INTEROP_DIR}build-6.12`;
const HAVE_612 = existsSync(`${BUILD}/vmlinux`) || existsSync(`${BUILD}/vmlinuz`);
const SKIP = HAVE_612 ? false : `the Linux 6.12 interop build is missing (${BUILD}): run ` +
  "KERNEL_PKG=linux-image-6.12.100+deb12-amd64 INTEROP_BUILD=$PWD/../shared/interop/build-6.12 " +
  "bash ../shared/interop/setup.sh";
const ENV = { INTEROP_BUILD: BUILD };
const OUR_NQN = "nqn.2026-01.test:nvmf-auth";
const HOSTID = "6f1d4a52-3c1b-4f7e-9a0d-2b8c5e7f9a11";
const secret = (hh: number) => generateDhchapSecret({ hmacId: hh }).reveal();

interface Case {
  host: string;
  hash: string;
  dhgroup: string;
  key: string;
  ctrlKey?: string;
}

function hostNqn(name: string): string {
  return `nqn.2026-01.test:auth-${name}`;
}

// ---------------------------------------------------------------------------------------------
// The kernel host against our target

const A: Record<string, Case> = {
  sha256: { host: hostNqn("a-sha256"), hash: "hmac(sha256)", dhgroup: "null", key: secret(1) },
  sha384: {
    host: hostNqn("a-sha384"),
    hash: "hmac(sha384)",
    dhgroup: "null",
    key: secret(2),
    ctrlKey: secret(2),
  },
  sha512: { host: hostNqn("a-sha512"), hash: "hmac(sha512)", dhgroup: "null", key: secret(0) },
  ffdhe2048: {
    host: hostNqn("a-ffdhe2048"),
    hash: "hmac(sha512)",
    dhgroup: "ffdhe2048",
    key: secret(3),
    ctrlKey: secret(1),
  },
  ffdhe6144: {
    host: hostNqn("a-ffdhe6144"),
    hash: "hmac(sha256)",
    dhgroup: "ffdhe6144",
    key: secret(1),
  },
};

// A host with a key and no hash or group of its own: the daemon's --dhchap-digests /
// --dhchap-dhgroups (SPDK's nvmf_set_config) choose the strongest allowed the host offers.
const POLICY: Case = {
  host: hostNqn("a-policy"),
  hash: "hmac(sha384)",
  dhgroup: "ffdhe3072",
  key: secret(0),
};

let ours: OurTarget | undefined;

before(async () => {
  if (!HAVE_612) return;
  const args = ["--nqn", OUR_NQN, "--ram", "64M"];
  for (const c of Object.values(A)) {
    args.push("--allow-host", c.host, "--dhchap-key", c.key, "--dhchap-hash", c.hash);
    args.push("--dhchap-dhgroup", c.dhgroup);
    if (c.ctrlKey) args.push("--dhchap-ctrl-key", c.ctrlKey);
  }
  args.push("--allow-host", POLICY.host, "--dhchap-key", POLICY.key);
  args.push("--dhchap-digests", "sha256,sha384", "--dhchap-dhgroups", "null,ffdhe2048,ffdhe3072");
  ours = await startOurTarget(args);
});

after(async () => {
  await ours?.stop();
});

function kernelHost(c: Case, secrets: { key?: string; ctrlKey?: string }, extra: string[] = []) {
  const args = [
    "--port",
    String(ours!.port),
    "--nqn",
    OUR_NQN,
    "--no-discover",
    "--workload",
    `${INTEROP_DIR}workloads/quick.sh`,
    "--hostnqn",
    c.host,
    "--hostid",
    HOSTID,
    ...extra,
  ];
  if (secrets.key) args.push("--dhchap-secret", secrets.key);
  if (secrets.ctrlKey) args.push("--dhchap-ctrl-secret", secrets.ctrlKey);
  return run(`${INTEROP_DIR}run-host.sh`, args, { timeoutMs: 300_000, env: ENV });
}

for (const [name, c] of Object.entries(A)) {
  test(
    `Linux 6.12 host authenticates to our target: ${c.hash} ${c.dhgroup} ${
      c.ctrlKey ? "two-way" : "one-way"
    } (${name})`,
    { skip: SKIP },
    async () => {
      const r = await kernelHost(c, { key: c.key, ctrlKey: c.ctrlKey });
      assert.equal(
        r.code,
        0,
        `run-host exit ${r.code}\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`,
      );
      const log = r.stdout + r.stderr;
      assert.match(log, /authenticated/);
      if (c.ctrlKey) assert.match(log, /controller authenticated/);
    },
  );
}

test(
  "Linux 6.12 host gets the strongest hash and DH group the target's policy allows",
  { skip: SKIP },
  async () => {
    const r = await kernelHost(POLICY, { key: POLICY.key });
    assert.equal(
      r.code,
      0,
      `run-host exit ${r.code}\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`,
    );
    const log = r.stdout + r.stderr;
    assert.match(log, /authenticated with hash hmac\(sha384\) dhgroup ffdhe3072/);
  },
);

test(
  "Linux 6.12 host with a wrong host secret is refused by our target",
  { skip: SKIP },
  async () => {
    const c = A.sha256;
    const before = ours!.output().length;
    const r = await kernelHost(c, { key: secret(1) }, [
      "--kernel-args",
      "nvme_core.admin_timeout=15",
    ]);
    assert.equal(r.code, 100, `run-host exit ${r.code}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout + r.stderr, /rejected|authentication failed|failure/i);
    await ours!.waitFor(/response does not match/, 10_000);
    assert.match(ours!.output().slice(before), /authentication on queue 0 failed/);
  },
);

test(
  "Linux 6.12 host with a wrong controller secret refuses our target",
  { skip: SKIP },
  async () => {
    const c = A.sha384;
    const r = await kernelHost(c, { key: c.key, ctrlKey: secret(2) }, [
      "--kernel-args",
      "nvme_core.admin_timeout=15",
    ]);
    assert.equal(r.code, 100, `run-host exit ${r.code}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout + r.stderr, /controller authentication failed|rejected|failure/i);
  },
);

// ---------------------------------------------------------------------------------------------
// @nvmf/host against the kernel target

const B: Record<string, Case> = {
  sha256: {
    host: hostNqn("b-sha256"),
    hash: "hmac(sha256)",
    dhgroup: "null",
    key: secret(0),
    ctrlKey: secret(1),
  },
  sha384: { host: hostNqn("b-sha384"), hash: "hmac(sha384)", dhgroup: "null", key: secret(2) },
  sha512: { host: hostNqn("b-sha512"), hash: "hmac(sha512)", dhgroup: "null", key: secret(3) },
  ffdhe3072: {
    host: hostNqn("b-ffdhe3072"),
    hash: "hmac(sha384)",
    dhgroup: "ffdhe3072",
    key: secret(2),
    ctrlKey: secret(2),
  },
  ffdhe4096: {
    host: hostNqn("b-ffdhe4096"),
    hash: "hmac(sha256)",
    dhgroup: "ffdhe4096",
    key: secret(1),
  },
  ffdhe8192: {
    host: hostNqn("b-ffdhe8192"),
    hash: "hmac(sha512)",
    dhgroup: "ffdhe8192",
    key: secret(3),
    ctrlKey: secret(3),
  },
};

let kernel: { port: number; pid: string } | undefined;

async function startKernel(): Promise<{ port: number; pid: string }> {
  if (kernel !== undefined) return kernel;
  const port = await freePort();
  const args = ["--port", String(port), "--ready-timeout", "180"];
  for (const c of Object.values(B)) {
    args.push("--allow-host", c.host, "--dhchap-key", c.key, "--dhchap-hash", c.hash);
    args.push("--dhchap-dhgroup", c.dhgroup);
    if (c.ctrlKey) args.push("--dhchap-ctrl-key", c.ctrlKey);
  }
  const r = await run(`${INTEROP_DIR}run-target.sh`, args, { timeoutMs: 240_000, env: ENV });
  const pid = r.stdout.trim();
  if (r.code !== 0 || !/^\d+$/.test(pid)) {
    throw new Error(
      `Cannot boot the 6.12 kernel target (exit ${r.code}):\n${r.stderr.slice(-2000)}`,
    );
  }
  kernel = { port, pid };
  return kernel;
}

after(async () => {
  if (kernel) await run(`${INTEROP_DIR}stop.sh`, [kernel.pid], { timeoutMs: 30_000, env: ENV });
});

function hostOptions(port: number, c: Case) {
  return {
    transport: "tcp",
    address: { traddr: "127.0.0.1", trsvcid: String(port) },
    subnqn: KERNEL_TARGET_NQN,
    hostnqn: c.host,
    hostid: HOSTID,
    ioQueues: 2,
    kato: 30_000, // ffdhe8192 is slow in the emulated kernel: it expires a transaction after KATO
    ctrlLossTimeout: 0,
    adminTimeout: 60_000,
  };
}

for (const [name, c] of Object.entries(B)) {
  test(
    `@nvmf/host authenticates to the Linux 6.12 target: ${c.hash} ${c.dhgroup} ${
      c.ctrlKey ? "two-way" : "one-way"
    } (${name})`,
    { skip: SKIP },
    async () => {
      const { port } = await startKernel();
      const ctrl = await connect({
        ...hostOptions(port, c),
        dhchapSecret: c.key,
        dhchapCtrlSecret: c.ctrlKey,
      });
      try {
        const ns = await ctrl.namespace(1);
        const data = Uint8Array.from({ length: 8192 }, (_, i) => (i * 7) & 0xff);
        await ns.write(8, data);
        assert.deepEqual(await ns.read(8, data.length / ns.blockSize), data);
      } finally {
        await ctrl.close();
      }
    },
  );
}

test(
  "the Linux 6.12 target refuses @nvmf/host with a wrong host secret",
  { skip: SKIP },
  async () => {
    const { port } = await startKernel();
    const c = B.sha384;
    await assert.rejects(
      connect({ ...hostOptions(port, c), adminTimeout: 10_000, dhchapSecret: secret(2) }),
      (e: unknown) => {
        assert.ok(e instanceof ControllerError && e.code === "authentication", String(e));
        assert.match(e.message, /AUTH_Failure1|refused the host secret/);
        return true;
      },
    );
  },
);

test(
  "@nvmf/host refuses the Linux 6.12 target with a wrong controller secret",
  { skip: SKIP },
  async () => {
    const { port } = await startKernel();
    const c = B.sha256;
    await assert.rejects(
      connect({ ...hostOptions(port, c), dhchapSecret: c.key, dhchapCtrlSecret: secret(1) }),
      (e: unknown) => {
        assert.ok(e instanceof ControllerError && e.code === "authentication", String(e));
        assert.match(e.message, /controller authentication failed/);
        return true;
      },
    );
  },
);

// Our target daemon (packages/cli/target.ts) judged by the Linux 6.1 kernel host: nvme-cli discover
// and connect, dd, mkfs.ext4 + mount + fsck, fio verify, with and without digests; a host that
// is not allowed is refused; a host that stops sending keep-alives is disconnected after KATO.
// Run with `deno task test:interop`; needs ../shared/interop/setup.sh to have run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { nvmeErrors, run, runKernelHost, startOurTarget } from "./_kernel.ts";

const NQN = "nqn.2026-01.test:nvmf-target";

for (const digests of [false, true]) {
  test(`Linux host: discover, connect -i 2, dd, mkfs.ext4 + mount + fsck (digests ${digests})`, async () => {
    const target = await startOurTarget(["--nqn", NQN, "--ram", "512M"]);
    try {
      const opts = `-i 2 ${digests ? "-g -G " : ""}--ctrl-loss-tmo=10 --reconnect-delay=2`;
      const r = await runKernelHost(target.port, NQN, "basic.sh", ["--connect-opts", opts]);
      assert.equal(
        r.code,
        0,
        `basic.sh failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`,
      );
      assert.match(r.stdout, /Discovery Log Entry/);
      assert.match(r.stdout, new RegExp(`subnqn: +${NQN}`));
      assert.match(r.stdout, /basic workload PASSED/);
      assert.match(r.stderr, /creating 2 I\/O queues/);
      assert.deepEqual(nvmeErrors(r.stderr), []);
    } finally {
      assert.equal(await target.stop(), 0, `the daemon should exit cleanly:\n${target.output()}`);
    }
  });
}

test("Linux host: a short fio verify job passes", async () => {
  const target = await startOurTarget(["--nqn", NQN, "--ram", "256M"]);
  try {
    const r = await runKernelHost(target.port, NQN, "fio-verify.sh", ["--connect-opts", "-i 2"]);
    assert.equal(
      r.code,
      0,
      `fio-verify.sh failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`,
    );
    assert.deepEqual(nvmeErrors(r.stderr), []);
  } finally {
    await target.stop();
  }
});

test("Linux host: a host NQN that is not allowed is refused", async () => {
  const target = await startOurTarget([
    "--nqn",
    NQN,
    "--ram",
    "64M",
    "--allow-host",
    "nqn.2026-01.test:allowed-host",
  ]);
  try {
    const r = await runKernelHost(target.port, NQN, "quick.sh", [
      "--hostnqn",
      "nqn.2026-01.test:someone-else",
      "--no-discover",
    ]);
    assert.equal(r.code, 100, `connect should fail:\n${r.stdout.slice(-2000)}`);
  } finally {
    await target.stop();
  }
});

test("Linux host: a host that stops sending keep-alives is disconnected after KATO", async () => {
  const target = await startOurTarget(["--nqn", NQN, "--ram", "64M"]);
  const sleeper = await Deno.makeTempFile({ suffix: ".sh" });
  await Deno.writeTextFile(sleeper, "#!/bin/sh\necho connected; sleep 120\n");
  try {
    const host = runKernelHost(target.port, NQN, sleeper, [
      "--no-discover",
      "--connect-opts",
      "-k 5 --ctrl-loss-tmo=5",
      "--timeout",
      "150",
    ]);
    await target.waitFor(new RegExp(`created: .* -> ${NQN}`), 120_000);
    // Freeze the guest: its TCP connection stays open but no keep-alive comes any more.
    const stopped = await run("pkill", ["-STOP", "-f", `qemu-system.*host-${target.port}-`]);
    assert.equal(stopped.code, 0, "the host guest's qemu should be found");
    try {
      await target.waitFor(new RegExp(`${NQN} destroyed: keep alive timeout`), 30_000);
    } finally {
      await run("pkill", ["-CONT", "-f", `qemu-system.*host-${target.port}-`]);
      await run("pkill", ["-KILL", "-f", `qemu-system.*host-${target.port}-`]);
      await host;
    }
  } finally {
    await Deno.remove(sleeper);
    await target.stop();
  }
});

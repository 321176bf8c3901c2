// ANA multipath judged by the Linux 6.1 kernel host: it connects to two ports of our target
// (started here, in this process, so the test flips ANA states with Target.setAnaState), forms
// one subsystem with two paths (`nvme list-subsys`), and a fio verify job runs while the test
// flips one port at a time between optimized and inaccessible: zero I/O errors, no nvme errors
// in dmesg. Run with `deno test -A interop/ana_test.ts`; needs ../shared/interop/setup.sh.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RamBackend, Target } from "@nvmf/controller";
import "@nvmf/transport-tcp";
import { freePort, nvmeErrors, runKernelHost } from "./_kernel.ts";

const NQN = "nqn.2026-01.test:nvmf-ana";
/** Seconds fio runs (the flips happen meanwhile). */
const FIO_SECONDS = 45;

/** The guest workload: connect the second path, show the subsystem, run fio, show it again. */
function workload(port2: number): string {
  return `#!/bin/sh
set -e
echo "### second path"
nvme connect -t tcp -a 10.0.2.2 -s ${port2} -n ${NQN} --ctrl-loss-tmo=10 --reconnect-delay=2
sleep 2
echo "### list-subsys before"
nvme list-subsys
nvme list-subsys "$NVME_NS"
nvme list-subsys -o json "$NVME_NS"
echo "### ana_state before"
for f in /sys/class/nvme/nvme*/nvme*c*n*/ana_state; do echo "$f $(cat $f)"; done
echo "### fio start"
# ana_state of both paths (nvme0, nvme1) each second, printed after fio (whose progress
# lines would swallow them).
( while :; do echo "ana-sample $(cat /sys/class/nvme/nvme*/nvme*c*n*/ana_state | tr '\\n' ' ')"; sleep 1; done ) > /tmp/ana-samples &
SAMPLER=$!
fio --name=ana --filename="$NVME_NS" --ioengine=libaio --direct=1 --rw=randwrite --bs=4k \\
    --bsrange=4k-64k --iodepth=8 --numjobs=1 --size=32M --runtime=${FIO_SECONDS} --time_based \\
    --verify=crc32c --verify_backlog=64 --verify_fatal=1 --do_verify=1 --group_reporting
kill $SAMPLER
cat /tmp/ana-samples
echo "### fio verify PASSED"
echo "### list-subsys after"
nvme list-subsys "$NVME_NS"
grep -h . /sys/block/nvme*/device/nvme*/ana_state 2>/dev/null || true
echo "### ana workload PASSED"
`;
}

test("Linux host: two paths, one subsystem; fio verify through ANA flips of one port at a time", async () => {
  const target = new Target();
  const sub = target.addSubsystem({
    nqn: NQN,
    namespaces: [{
      backend: new RamBackend({ size: 128 << 20, blockSize: 512 }),
      nguid: "6e766d66-616e-6100-0000-000000000001",
    }],
  });
  const [p1, p2] = [await freePort(), await freePort()];
  const a = await target.listen("tcp", { traddr: "127.0.0.1", trsvcid: String(p1) });
  const b = await target.listen("tcp", { traddr: "127.0.0.1", trsvcid: String(p2) });
  // Path b starts non-optimized, so that list-subsys shows two states.
  target.setAnaState({ nqn: NQN, address: b.address, state: "non_optimized" });
  const errors: string[] = [];
  target.on("error", (e) => errors.push(`${e.message}: ${(e.error as Error)?.message}`));
  const file = await Deno.makeTempFile({ suffix: ".sh" });
  await Deno.writeTextFile(file, workload(p2));
  const flips: string[] = [];
  let done = false;
  try {
    const host = runKernelHost(p1, NQN, file, [
      "--fio",
      "--connect-opts",
      "--ctrl-loss-tmo=10 --reconnect-delay=2",
    ]).finally(() => done = true);
    // Both paths have an I/O controller once the second connect is through.
    const connected = () =>
      new Set(target.controllers.filter((c) => c.subnqn === NQN).map((c) => c.portid)).size === 2;
    const deadline = Date.now() + 400_000;
    while (!connected() && !done && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    // fio starts a few seconds after list-subsys; then flip one port at a time, never both.
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await pause(10_000);
    const steps: [typeof a, "optimized" | "inaccessible" | "non_optimized"][] = [
      [a, "inaccessible"],
      [a, "optimized"],
      [b, "inaccessible"],
      [b, "optimized"],
      [a, "inaccessible"],
      [a, "optimized"],
      [b, "inaccessible"],
      [b, "non_optimized"],
    ];
    // Writes served while a port is inaccessible went through the other path.
    const stalled: string[] = [];
    for (const [port, state] of steps) {
      if (done) break;
      target.setAnaState({ nqn: NQN, address: port.address, state });
      flips.push(`${port.address.trsvcid}=${state}`);
      const writes = sub.namespaces[0].stats.writeCommands;
      await pause(4_000);
      if (state === "inaccessible" && !done && sub.namespaces[0].stats.writeCommands === writes) {
        stalled.push(flips.at(-1)!);
      }
    }
    const r = await host;
    const out = r.stdout;
    console.log(`flips during fio: ${flips.join(", ")}`);
    const fio = out.slice(out.indexOf("### fio start"), out.indexOf("### fio verify PASSED"));
    console.log(fio.split("\n").filter((l) => /^\s*(read|write):|err=/.test(l)).join("\n"));
    assert.equal(r.code, 0, `the workload failed:\n${out.slice(-4000)}\n${r.stderr.slice(-3000)}`);
    assert.ok(flips.length >= 6, `only ${flips.length} flips happened during fio: ${flips}`);
    assert.deepEqual(stalled, [], "writes went on through the other path");
    // The kernel saw each path inaccessible at some point (sysfs ana_state, sampled each second).
    const samples = out.split("\n").filter((l) => l.startsWith("ana-sample"));
    assert.ok(samples.some((l) => /^ana-sample inaccessible /.test(l)), samples.join("\n"));
    assert.ok(samples.some((l) => / inaccessible $/.test(l)), samples.join("\n"));
    // One subsystem, two live paths, with their ANA states.
    const before = out.slice(out.indexOf("### list-subsys before"), out.indexOf("### ana_state"));
    const names = new Set([...before.matchAll(/(nvme-subsys\d+) - NQN=(\S+)/g)].map((m) => m[0]));
    assert.equal(names.size, 1, before);
    // Two paths in each of the two text listings.
    assert.equal((before.match(/ \+- nvme\d+ tcp /g) ?? []).length, 4, before);
    assert.match(before, new RegExp(`trsvcid=${p1}\\S* live optimized`), before);
    assert.match(before, new RegExp(`trsvcid=${p2}\\S* live non-optimized`), before);
    assert.match(out, /### fio verify PASSED/);
    assert.match(out, /### ana workload PASSED/);
    assert.doesNotMatch(out, /verify: bad|err=\s*[1-9]|I\/O error/);
    assert.deepEqual(nvmeErrors(r.stderr), []);
    assert.doesNotMatch(r.stderr, /I\/O error|blk_update_request|Buffer I\/O/);
    assert.deepEqual(errors, []);
  } finally {
    done = true;
    await target.close();
    await Deno.remove(file).catch(() => {});
  }
});

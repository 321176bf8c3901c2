// ANA multipath judged by the Linux kernel host (6.1, or the build INTEROP_BUILD names): our
// daemon (packages/cli/target.ts --rpc PATH) is configured over its JSON-RPC socket as SPDK's
// rpc.py does it, with two listeners; the kernel connects to both, forms one subsystem with two
// paths (`nvme list-subsys`), and a fio verify job runs while the test flips one listener at a
// time between optimized and inaccessible with `nvmf_subsystem_listener_set_ana_state` calls:
// zero I/O errors, no nvme errors in dmesg. Run with `deno test -A interop/ana_test.ts`; needs
// ../shared/interop/setup.sh.
import { test } from "node:test";
import assert from "node:assert/strict";
import { freePort, nvmeErrors, runKernelHost } from "./_kernel.ts";
import { rpcOk, startRpcDaemon } from "./_rpc.ts";

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

type AnaState = "optimized" | "non_optimized" | "inaccessible";

test("Linux host: two paths, one subsystem; fio verify through ANA flips over JSON-RPC, one port at a time", async () => {
  const daemon = await startRpcDaemon();
  const socket = daemon.socket;
  const [p1, p2] = [await freePort(), await freePort()];
  // As SPDK's rpc.py sends them: nvmf_subsystem_listener_set_ana_state -n NQN -t tcp
  // -a 127.0.0.1 -f ipv4 -s PORT STATE.
  const setAna = (port: number, state: AnaState) =>
    rpcOk(socket, "nvmf_subsystem_listener_set_ana_state", {
      nqn: NQN,
      listen_address: { trtype: "tcp", traddr: "127.0.0.1", adrfam: "ipv4", trsvcid: String(port) },
      ana_state: state,
    });
  const completedIo = async () => {
    const s = await rpcOk(socket, "nvmf_get_stats") as {
      poll_groups: { completed_nvme_io: number }[];
    };
    return s.poll_groups[0].completed_nvme_io;
  };
  const file = await Deno.makeTempFile({ suffix: ".sh" });
  const flips: string[] = [];
  let done = false;
  try {
    await rpcOk(socket, "nvmf_create_transport", { trtype: "TCP" });
    await rpcOk(socket, "bdev_malloc_create", {
      name: "Malloc0",
      num_blocks: (128 << 20) / 512,
      block_size: 512,
    });
    await rpcOk(socket, "nvmf_create_subsystem", {
      nqn: NQN,
      allow_any_host: true,
      serial_number: "NVMFANA0000000000001",
    });
    await rpcOk(socket, "nvmf_subsystem_add_ns", {
      nqn: NQN,
      namespace: { bdev_name: "Malloc0", nguid: "6E766D66616E61000000000000000001" },
    });
    for (const port of [p1, p2]) {
      await rpcOk(socket, "nvmf_subsystem_add_listener", {
        nqn: NQN,
        listen_address: { trtype: "tcp", traddr: "127.0.0.1", adrfam: "ipv4", trsvcid: `${port}` },
      });
    }
    // Path 2 starts non-optimized, so that list-subsys shows two states.
    await setAna(p2, "non_optimized");
    const listeners = await rpcOk(socket, "nvmf_subsystem_get_listeners", { nqn: NQN }) as {
      address: { trsvcid: string };
      ana_state: string;
    }[];
    assert.deepEqual(listeners.map((l) => [l.address.trsvcid, l.ana_state]), [
      [String(p1), "optimized"],
      [String(p2), "non_optimized"],
    ]);
    await Deno.writeTextFile(file, workload(p2));
    const host = runKernelHost(p1, NQN, file, [
      "--fio",
      "--connect-opts",
      "--ctrl-loss-tmo=10 --reconnect-delay=2",
    ]).finally(() => done = true);
    // Both paths have an I/O queue once the second connect is through.
    const connected = async () => {
      const qpairs = await rpcOk(socket, "nvmf_subsystem_get_qpairs", { nqn: NQN }) as {
        qid: number;
        listen_address?: { trsvcid: string };
      }[];
      return new Set(qpairs.filter((q) => q.qid > 0).map((q) => q.listen_address?.trsvcid))
        .size === 2;
    };
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const deadline = Date.now() + 400_000;
    while (!done && Date.now() < deadline && !await connected()) await pause(200);
    // fio starts a few seconds after list-subsys; then flip one port at a time, never both.
    await pause(10_000);
    const steps: [number, AnaState][] = [
      [p1, "inaccessible"],
      [p1, "optimized"],
      [p2, "inaccessible"],
      [p2, "optimized"],
      [p1, "inaccessible"],
      [p1, "optimized"],
      [p2, "inaccessible"],
      [p2, "non_optimized"],
    ];
    // I/O served while a port is inaccessible went through the other path.
    const stalled: string[] = [];
    for (const [port, state] of steps) {
      if (done) break;
      assert.equal(await setAna(port, state), true);
      flips.push(`${port}=${state}`);
      const before = await completedIo();
      await pause(4_000);
      if (state === "inaccessible" && !done && await completedIo() === before) {
        stalled.push(flips.at(-1)!);
      }
    }
    const r = await host;
    const out = r.stdout;
    console.log(`flips during fio (JSON-RPC): ${flips.join(", ")}`);
    const fio = out.slice(out.indexOf("### fio start"), out.indexOf("### fio verify PASSED"));
    console.log(fio.split("\n").filter((l) => /^\s*(read|write):|err=/.test(l)).join("\n"));
    assert.equal(r.code, 0, `the workload failed:\n${out.slice(-4000)}\n${r.stderr.slice(-3000)}`);
    assert.ok(flips.length >= 6, `only ${flips.length} flips happened during fio: ${flips}`);
    assert.deepEqual(stalled, [], "I/O went on through the other path");
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
  } finally {
    done = true;
    const code = await daemon.stop();
    await Deno.remove(file).catch(() => {});
    // The daemon logged no target error (they go to its stderr) and exited cleanly.
    const errors = daemon.stderr().split("\n").filter((l) => /target:|error/i.test(l));
    assert.deepEqual(errors, [], daemon.stderr());
    assert.equal(code, 0, `the daemon should exit cleanly:\n${daemon.stdout().slice(-3000)}`);
  }
});

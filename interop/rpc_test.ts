// Our target daemon configured over its JSON-RPC socket the way SPDK's scripts/rpc.py does it
// (SPDK's NVMe-oF quick start), judged by the Linux 6.1 kernel host: it connects; a namespace
// added over RPC while it is connected shows in `nvme list` without a reconnect, and one
// removed disappears. Run with `deno test -A interop/rpc_test.ts`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { freePort, nvmeErrors, REPO_DIR, runKernelHost } from "./_kernel.ts";
import { rpcPy } from "./_rpc.ts";

const NQN = "nqn.2016-06.io.spdk:cnode1";

async function ok(socket: string, method: string, params?: Record<string, unknown>) {
  const r = await rpcPy(socket, method, params);
  assert.equal(r.error, undefined, `${method}: ${JSON.stringify(r.error)}`);
  return r.result;
}

test("Linux host: SPDK quick start over JSON-RPC, then a namespace added and removed live", async () => {
  const dir = await Deno.makeTempDir();
  const socket = `${dir}/rpc.sock`;
  const port = await freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO_DIR}packages/cli/target.ts`, "--rpc", socket],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const d = new TextDecoder();
    for await (const c of s) out += d.decode(c, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const waitFor = async (re: RegExp, ms: number) => {
    const deadline = Date.now() + ms;
    while (!re.test(out)) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${re}:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  try {
    await waitFor(/JSON-RPC on/, 30_000);
    // scripts/rpc.py nvmf_create_transport -t TCP -u 16384 -m 8 -c 8192
    await ok(socket, "nvmf_create_transport", {
      trtype: "TCP",
      io_unit_size: 16384,
      max_qpairs_per_ctrlr: 8,
      in_capsule_data_size: 8192,
      no_srq: false,
      c2h_success: true,
    });
    // scripts/rpc.py bdev_malloc_create -b Malloc0 64 512
    assert.equal(
      await ok(socket, "bdev_malloc_create", {
        name: "Malloc0",
        num_blocks: 131072,
        block_size: 512,
      }),
      "Malloc0",
    );
    // scripts/rpc.py nvmf_create_subsystem nqn.2016-06.io.spdk:cnode1 -a -s SPDK00000000000001 -d SPDK_Controller1
    await ok(socket, "nvmf_create_subsystem", {
      nqn: NQN,
      serial_number: "SPDK00000000000001",
      model_number: "SPDK_Controller1",
      allow_any_host: true,
      max_namespaces: 0,
      min_cntlid: 1,
      max_cntlid: 65519,
    });
    // scripts/rpc.py nvmf_subsystem_add_ns nqn.2016-06.io.spdk:cnode1 Malloc0
    assert.equal(
      await ok(socket, "nvmf_subsystem_add_ns", { nqn: NQN, namespace: { bdev_name: "Malloc0" } }),
      1,
    );
    // scripts/rpc.py nvmf_subsystem_add_listener nqn.2016-06.io.spdk:cnode1 -t tcp -a 127.0.0.1 -s PORT
    await ok(socket, "nvmf_subsystem_add_listener", {
      nqn: NQN,
      listen_address: { trtype: "tcp", traddr: "127.0.0.1", trsvcid: String(port) },
    });
    await ok(socket, "bdev_malloc_create", { name: "Malloc1", num_blocks: 65536, block_size: 512 });

    const host = runKernelHost(port, NQN, `${REPO_DIR}interop/workloads/rpc-live-ns.sh`, [
      "--no-discover",
      "--connect-opts",
      "-i 1",
      "--timeout",
      "240",
    ]);
    let hostDone = false;
    void host.finally(() => hostDone = true);
    const live = (async () => {
      await waitFor(new RegExp(`created: .* -> ${NQN.replace(/\./g, "\\.")}`), 200_000);
      // The kernel connects its I/O queue right after the admin queue; give it a moment.
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(
        await ok(socket, "nvmf_subsystem_add_ns", {
          nqn: NQN,
          namespace: { bdev_name: "Malloc1", nsid: 2 },
        }),
        2,
      );
      await waitFor(/-> nqn\.2014-08\.org\.nvmexpress\.discovery/, 120_000);
      await ok(socket, "nvmf_subsystem_remove_ns", { nqn: NQN, nsid: 2 });
    })();
    const r = await host;
    await Promise.race([live, new Promise((res) => setTimeout(res, 1000))]).catch(() => {});
    assert.equal(
      r.code,
      0,
      `workload failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}\n${out.slice(-2000)}`,
    );
    assert.ok(hostDone);
    assert.match(r.stdout, /namespace 2 appeared/);
    assert.match(r.stdout, /rpc live namespace workload PASSED/);
    assert.match(r.stdout, /SPDK_Controller1/);
    assert.deepEqual(nvmeErrors(r.stderr), []);
    const qpairs = await ok(socket, "nvmf_get_stats") as { poll_groups: { io_qpairs: number }[] };
    assert.ok(qpairs.poll_groups[0].io_qpairs >= 1);
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // gone
    }
    const status = await child.status;
    await pumps;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    assert.equal(status.code, 0, `the daemon should exit cleanly:\n${out}`);
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main, parseDaemonArgs, UsageError } from "./target.ts";
import { rpcCall } from "./rpc.ts";

test("parseDaemonArgs() reads --rpc, --metrics and --log-format and names a bad one", () => {
  const o = parseDaemonArgs([
    "--rpc",
    "/tmp/x.sock",
    "--metrics",
    "127.0.0.1:0",
    "--log-format",
    "json",
  ]);
  assert.equal(o.rpc, "/tmp/x.sock");
  assert.equal(o.metrics, "127.0.0.1:0");
  assert.equal(o.logFormat, "json");
  assert.throws(
    () => parseDaemonArgs(["--log-format", "xml"]),
    (e) => e instanceof UsageError && /--log-format/.test(e.message),
  );
  assert.throws(
    () => parseDaemonArgs(["--metrics", "nope"]),
    (e) => e instanceof UsageError && /--metrics/.test(e.message),
  );
});

test("the daemon loads SPDK's save_config form, serves --rpc, logs JSON lines", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nvmf-daemon-rpc-"));
  const sock = join(dir, "rpc.sock");
  const config = join(dir, "spdk.json");
  await writeFile(
    config,
    JSON.stringify({
      subsystems: [
        { subsystem: "sock", config: [] },
        {
          subsystem: "bdev",
          config: [
            { method: "bdev_set_options", params: { bdev_io_pool_size: 65535 } },
            {
              method: "bdev_malloc_create",
              params: { name: "Malloc0", num_blocks: 2048, block_size: 512 },
            },
          ],
        },
        {
          subsystem: "nvmf",
          config: [
            { method: "nvmf_create_transport", params: { trtype: "TCP", io_unit_size: 8192 } },
            {
              method: "nvmf_create_subsystem",
              params: { nqn: "nqn.2016-06.io.spdk:cnode1", allow_any_host: true },
            },
            {
              method: "nvmf_subsystem_add_ns",
              params: { nqn: "nqn.2016-06.io.spdk:cnode1", namespace: { bdev_name: "Malloc0" } },
            },
            {
              method: "nvmf_subsystem_add_listener",
              params: {
                nqn: "nqn.2016-06.io.spdk:cnode1",
                listen_address: {
                  trtype: "TCP",
                  adrfam: "IPv4",
                  traddr: "127.0.0.1",
                  trsvcid: "0",
                },
              },
            },
          ],
        },
      ],
    }),
  );
  const out: string[] = [];
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => stop = resolve);
  const running = main(["--config", config, "--rpc", sock, "--log-format", "json"], {
    out: (l) => out.push(l),
    err: (l) => out.push(l),
  }, stopped);
  try {
    for (let i = 0; i < 100 && !out.some((l) => l.includes("JSON-RPC on")); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const r = await rpcCall(sock, "nvmf_get_subsystems", { nqn: "nqn.2016-06.io.spdk:cnode1" });
    const subs = r.result as { namespaces: { bdev_name: string }[]; listen_addresses: unknown[] }[];
    assert.equal(subs[0].namespaces[0].bdev_name, "Malloc0");
    assert.equal(subs[0].listen_addresses.length, 1);
    for (const line of out) {
      const entry = JSON.parse(line);
      assert.equal(typeof entry.time, "string");
      assert.equal(typeof entry.event, "string");
    }
    assert.ok(out.some((l) => JSON.parse(l).event === "transport-options-ignored"));
  } finally {
    stop();
    assert.equal(await running, 0);
    await rm(dir, { recursive: true });
  }
});

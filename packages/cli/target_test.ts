import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@nvmf/controller";
import { CNTLID_DYNAMIC, decodeCqe, encodeConnect, encodeConnectData } from "@nvmf/proto";
import { Association, commandCapsule, getTransport } from "@nvmf/transport";
import {
  buildConfig,
  DEFAULT_NQN,
  isNvmetcliConfig,
  main,
  parseDaemonArgs,
  USAGE,
  UsageError,
} from "./target.ts";

function usageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e) => e instanceof UsageError && pattern.test(e.message));
}

test("parseDaemonArgs() defaults: TCP, no namespaces given, any host", () => {
  const o = parseDaemonArgs([]);
  assert.deepEqual(o, {
    listen: [],
    transport: "tcp",
    nqn: undefined,
    namespaces: [],
    blockSize: undefined,
    prefault: false,
    allowHosts: [],
    dhchap: {},
    config: undefined,
    noDigests: false,
    requireSqFlowControl: false,
    limits: {},
    quiet: false,
    help: false,
  });
});

test("--prefault prefaults the RAM namespaces of the flags, not the files", async () => {
  const o = parseDaemonArgs(["--ram", "1M", "--file", "/a.img", "--prefault"]);
  assert.equal(o.prefault, true);
  const config = await buildConfig(o);
  assert.deepEqual(config.subsystems[0].namespaces.map((ns) => ns.prefault), [true, undefined]);
  assert.equal(
    (await buildConfig(parseDaemonArgs(["--ram", "1M"]))).subsystems[0].namespaces[0].prefault,
    undefined,
  );
});

test("--dhchap-digests / --dhchap-dhgroups set the target-wide policy; wrong names are named", async () => {
  const o = parseDaemonArgs([
    "--dhchap-digests",
    "sha384, sha512",
    "--dhchap-dhgroups",
    "ffdhe2048",
  ]);
  assert.deepEqual(o.dhchapPolicy, { digests: ["sha384", "sha512"], dhgroups: ["ffdhe2048"] });
  assert.deepEqual((await buildConfig(o)).target.dhchapPolicy, o.dhchapPolicy);
  assert.deepEqual(parseDaemonArgs(["--dhchap-dhgroups", "null"]).dhchapPolicy, {
    dhgroups: ["null"],
  });
  assert.equal(parseDaemonArgs([]).dhchapPolicy, undefined);
  usageError(
    () => parseDaemonArgs(["--dhchap-digests", "sha1"]),
    /--dhchap-digests sha1: expected sha256/,
  );
  usageError(
    () => parseDaemonArgs(["--dhchap-dhgroups", "ffdhe1024"]),
    /--dhchap-dhgroups ffdhe1024/,
  );
  usageError(
    () => parseDaemonArgs(["--dhchap-digests", ","]),
    /--dhchap-digests: give one or more/,
  );
});

test("--prefault refuses RAM namespaces larger than the machine's memory", async () => {
  await assert.rejects(
    buildConfig(parseDaemonArgs(["--ram", "64T", "--prefault"])),
    (e) =>
      e instanceof UsageError &&
      /--prefault: the RAM namespaces .* exceed this machine's memory/.test(e.message),
  );
});

test("parseDaemonArgs() keeps repeatable flags and namespaces in command line order", () => {
  const o = parseDaemonArgs([
    "--listen",
    "127.0.0.1:4420",
    "--listen",
    "[::1]:4421",
    "--file",
    "/a.img",
    "--ram",
    "512M",
    "--file",
    "/b.img",
    "--nqn",
    "nqn.2026-01.dev.nvmf:x",
    "--block-size",
    "4096",
    "--allow-host",
    "h1",
    "--allow-host",
    "h2",
    "--transport",
    "loopback",
    "--no-digests",
    "--require-sq-flow-control",
    "-q",
  ]);
  assert.deepEqual(o.listen, ["127.0.0.1:4420", "[::1]:4421"]);
  assert.deepEqual(o.namespaces, [{ file: "/a.img" }, { ram: "512M" }, { file: "/b.img" }]);
  assert.equal(o.nqn, "nqn.2026-01.dev.nvmf:x");
  assert.equal(o.blockSize, 4096);
  assert.deepEqual(o.allowHosts, ["h1", "h2"]);
  assert.equal(o.transport, "loopback");
  assert.equal(o.noDigests, true);
  assert.equal(o.requireSqFlowControl, true);
  assert.equal(o.quiet, true);
});

test("parseDaemonArgs() names the flag that is wrong", () => {
  usageError(
    () => parseDaemonArgs(["--block-size", "1024"]),
    /^--block-size 1024: must be 512 or 4096$/,
  );
  usageError(() => parseDaemonArgs(["--ram", "lots"]), /^--ram lots: not a size/);
  usageError(() => parseDaemonArgs(["--listen", "1.2.3.4:70000"]), /^--listen 1\.2\.3\.4:70000/);
  usageError(() => parseDaemonArgs(["--transport", "rdma"]), /^--transport rdma/);
  usageError(() => parseDaemonArgs(["--bogus"]), /bogus/);
  usageError(() => parseDaemonArgs(["--nqn"]), /nqn/);
  usageError(() => parseDaemonArgs(["extra"]), /extra/);
  usageError(
    () => parseDaemonArgs(["--config", "c.json", "--ram", "1G"]),
    /^--ram: cannot be combined with --config$/,
  );
});

test("buildConfig() with no flags serves 1 GiB of RAM on 127.0.0.1:4420", async () => {
  const config = await buildConfig(parseDaemonArgs([]));
  assert.deepEqual(config.ports, [{
    transport: "tcp",
    traddr: "127.0.0.1",
    trsvcid: "4420",
    associationParams: {},
  }]);
  assert.equal(config.subsystems[0].nqn, DEFAULT_NQN);
  assert.equal(config.subsystems[0].allowAnyHost, true);
  assert.deepEqual(config.subsystems[0].namespaces, [{ ram: 1n << 30n, blockSize: 512 }]);
});

test("buildConfig() from flags: namespaces, hosts, knobs", async () => {
  const config = await buildConfig(parseDaemonArgs([
    "--ram",
    "64M",
    "--file",
    "/img",
    "--block-size",
    "4096",
    "--allow-host",
    "h",
    "--listen",
    "0.0.0.0:4421",
    "--no-digests",
    "--require-sq-flow-control",
  ]));
  assert.deepEqual(config.subsystems[0].namespaces, [
    { ram: 64n << 20n, blockSize: 4096 },
    { file: "/img", blockSize: 4096 },
  ]);
  assert.equal(config.subsystems[0].allowAnyHost, false);
  assert.deepEqual(config.subsystems[0].allowedHosts, ["h"]);
  assert.deepEqual(config.ports[0].associationParams, {
    tcp: { headerDigests: false, dataDigests: false },
    sqFlowControl: true,
  });
});

test("buildConfig() reads our config and nvmetcli's, and names bad fields", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nvmf-daemon-"));
  try {
    const ours = join(dir, "ours.json");
    await writeFile(
      ours,
      JSON.stringify({
        ports: [{ address: "127.0.0.1:4500" }],
        subsystems: [{ nqn: "nqn.2026-01.dev.nvmf:c", namespaces: [{ ram: "8M" }] }],
      }),
    );
    const a = await buildConfig(parseDaemonArgs(["--config", ours]));
    assert.equal(a.ports.length, 1);
    assert.equal(a.ports[0].trsvcid, "4500");
    const b = await buildConfig(parseDaemonArgs(["--config", ours, "--listen", "127.0.0.1:4501"]));
    assert.deepEqual(b.ports.map((p) => p.trsvcid), ["4500", "4501"]);
    const nvmetcli = join(dir, "config.json");
    await writeFile(
      nvmetcli,
      JSON.stringify({
        hosts: [],
        ports: [],
        subsystems: [{
          nqn: "testnqn",
          attr: { allow_any_host: "1" },
          namespaces: [],
          allowed_hosts: [],
        }],
      }),
    );
    const c = await buildConfig(parseDaemonArgs(["--config", nvmetcli]));
    assert.equal(c.subsystems[0].nqn, "testnqn");
    assert.equal(c.ports[0].trsvcid, "4420"); // no ports: the default one
    const bad = join(dir, "bad.json");
    await writeFile(
      bad,
      JSON.stringify({ subsystems: [{ nqn: "x", namespaces: [{ ram: "1Q" }] }] }),
    );
    await assert.rejects(
      buildConfig(parseDaemonArgs(["--config", bad])),
      (e) => e instanceof ConfigError && e.path === "subsystems[0].namespaces[0].ram",
    );
    const notJson = join(dir, "not.json");
    await writeFile(notJson, "{");
    await assert.rejects(buildConfig(parseDaemonArgs(["--config", notJson])), UsageError);
    await assert.rejects(
      buildConfig(parseDaemonArgs(["--config", join(dir, "none.json")])),
      UsageError,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("isNvmetcliConfig() tells the formats apart", () => {
  assert.equal(isNvmetcliConfig({ ports: [{ addr: {} }] }), true);
  assert.equal(isNvmetcliConfig({ subsystems: [{ nqn: "x", attr: {} }] }), true);
  assert.equal(isNvmetcliConfig({ ports: [{ address: "a:1" }] }), false);
  assert.equal(isNvmetcliConfig(null), false);
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

test("main() prints usage for --help and exits 2 with one line for bad flags or config", async () => {
  const help = capture();
  assert.equal(await main(["--help"], help.io), 0);
  assert.deepEqual(help.out, [USAGE]);
  const bad = capture();
  assert.equal(await main(["--ram", "1X"], bad.io), 2);
  assert.deepEqual(bad.err, ["target: --ram 1X: not a size like 512M or 1G"]);
  const missing = capture();
  assert.equal(
    await main([
      "--transport",
      "loopback",
      "--listen",
      "daemon-missing",
      "--file",
      "/nonexistent/x.img",
    ], missing.io),
    2,
  );
  assert.equal(missing.err.length, 1);
  assert.match(
    missing.err[0],
    /^target: Cannot use config field subsystems\[0\]\.namespaces\[0\]\.file: /,
  );
  const busy = capture();
  assert.equal(
    await main(
      ["--transport", "loopback", "--listen", "daemon-busy", "--listen", "daemon-busy"],
      busy.io,
    ),
    1,
  );
  assert.match(busy.err[0], /ports\[1\]/);
});

test("main() serves until stopped, logs controllers, and shuts down cleanly", async () => {
  const c = capture();
  let started!: () => void;
  const ready = new Promise<void>((resolve) => started = resolve);
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => stop = resolve);
  const io = {
    out: (line: string) => {
      c.out.push(line);
      if (line.includes("listening")) started();
    },
    err: c.io.err,
  };
  const running = main(
    ["--transport", "loopback", "--listen", "daemon-run", "--ram", "4M"],
    io,
    stopped,
  );
  await ready;
  assert.match(c.out[0], /port 1 listening on loopback daemon-run:4420/);
  assert.ok(c.out.some((l) => l.includes(`subsystem ${DEFAULT_NQN} (any host)`)));
  assert.ok(c.out.some((l) => l.includes("nsid 1: 4 MiB, 512-byte blocks")));
  // Connect an admin queue by hand.
  const loopback = getTransport("loopback");
  const host = await loopback.connect(new Association(loopback, false), {
    address: { traddr: "daemon-run" },
    admin: true,
    qid: 0,
    qsize: 32,
  });
  const data = encodeConnectData({
    hostid: new Uint8Array(16).fill(1),
    cntlid: CNTLID_DYNAMIC,
    subnqn: DEFAULT_NQN,
    hostnqn: "nqn.2026-01.dev.nvmf:daemon-test-host",
  });
  await host.transmit(
    commandCapsule(
      encodeConnect({ cid: 1, qid: 0, sqsize: 31, kato: 0 }),
      data,
      "host-to-controller",
    ),
  );
  const rsp = await host.receive();
  assert.ok(rsp.kind === "response");
  assert.equal(decodeCqe(rsp.cqe).status, 0);
  stop();
  assert.equal(await running, 0);
  assert.equal(await host.closed, undefined);
  assert.ok(
    c.out.some((l) => /controller 1 created: nqn.2026-01.dev.nvmf:daemon-test-host/.test(l)),
  );
  assert.ok(c.out.some((l) => /controller 1 .* destroyed: port closed/.test(l)), c.out.join("\n"));
  assert.equal(c.out.at(-1), "nvmf target: stopped");
  assert.deepEqual(c.err, []);
});

test("parseDaemonArgs() reads the limit flags into the target options; bad values name the flag", async () => {
  const o = parseDaemonArgs([
    "--max-connections",
    "100",
    "--max-connections-per-address",
    "10",
    "--max-controllers",
    "4",
    "--max-queues",
    "8",
    "--connect-timeout",
    "2000",
  ]);
  assert.deepEqual(o.limits, {
    maxConnections: 100,
    maxConnectionsPerAddress: 10,
    maxControllersPerSubsystem: 4,
    maxQueues: 8,
    connectTimeout: 2000,
  });
  const config = await buildConfig(o);
  assert.equal(config.target.maxConnections, 100);
  assert.equal(config.target.connectTimeout, 2000);
  for (
    const bad of [["--max-queues", "0"], ["--max-connections", "-1"], ["--connect-timeout", "1s"]]
  ) {
    assert.throws(
      () => parseDaemonArgs(bad),
      (e) => e instanceof UsageError && e.message.includes(bad[0]),
    );
  }
});

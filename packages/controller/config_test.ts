import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LoopbackTransport } from "@nvmf/transport-loopback";
import { registerTransport } from "@nvmf/transport";
import {
  applyConfig,
  ConfigError,
  parseListenAddress,
  parseNvmetcliConfig,
  parseSize,
  parseTargetConfig,
} from "./config.ts";
import { Target } from "./target.ts";
import type { RamBackend } from "./backend.ts";

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    assert.match(e.message, /^Cannot use config/);
    return e.path;
  }
  assert.fail("expected a ConfigError");
}

test("parseSize() reads byte counts and binary units", () => {
  assert.equal(parseSize("512"), 512n);
  assert.equal(parseSize(4096), 4096n);
  assert.equal(parseSize("512M"), 512n << 20n);
  assert.equal(parseSize("1G"), 1n << 30n);
  assert.equal(parseSize("2GiB"), 2n << 30n);
  assert.equal(parseSize("3gb"), 3n << 30n);
  assert.equal(parseSize("1T"), 1n << 40n);
  assert.equal(parseSize("1P"), 1n << 50n);
  for (const bad of ["", "0", "-1G", "1.5G", "1X", "G"]) {
    assert.throws(() => parseSize(bad), RangeError, bad);
  }
  assert.throws(() => parseSize(0.5), RangeError);
});

test("parseListenAddress() splits IPv4, IPv6 and bare addresses", () => {
  assert.deepEqual(parseListenAddress("127.0.0.1:4420"), { traddr: "127.0.0.1", trsvcid: "4420" });
  assert.deepEqual(parseListenAddress("[fe80::1]:8009"), { traddr: "fe80::1", trsvcid: "8009" });
  assert.deepEqual(parseListenAddress("::1"), { traddr: "::1", trsvcid: "4420" });
  assert.deepEqual(parseListenAddress("host"), { traddr: "host", trsvcid: "4420" });
  for (const bad of ["1.2.3.4:99999", ":4420", "1.2.3.4:x", "[::1]:"]) {
    assert.throws(() => parseListenAddress(bad), RangeError, bad);
  }
});

test("parseTargetConfig() reads our format with defaults", () => {
  const config = parseTargetConfig({
    target: { model: "m", maxTransferSize: "2M", maxQueues: 8 },
    ports: [
      { address: "0.0.0.0:4420", subsystems: ["nqn.2026-01.dev.nvmf:a"] },
      {
        transport: "loopback",
        traddr: "x",
        portid: 9,
        associationParams: { sqFlowControl: true, tcp: { dataDigests: false } },
      },
    ],
    subsystems: [{
      nqn: "nqn.2026-01.dev.nvmf:a",
      allowedHosts: ["nqn.2026-01.dev.nvmf:h"],
      namespaces: [
        { ram: "1G", blockSize: 4096, nguid: "0123456789abcdef0123456789abcdef" },
        { nsid: 5, file: "/dev/sdb", readOnly: true },
      ],
    }],
  });
  assert.deepEqual(config.target, { model: "m", maxTransferSize: 2 << 20, maxQueues: 8 });
  assert.deepEqual(config.ports[0], {
    transport: "tcp",
    traddr: "0.0.0.0",
    trsvcid: "4420",
    subsystems: ["nqn.2026-01.dev.nvmf:a"],
  });
  assert.equal(config.ports[1].transport, "loopback");
  assert.equal(config.ports[1].portid, 9);
  assert.equal(config.ports[1].associationParams?.sqFlowControl, true);
  assert.equal(config.subsystems[0].namespaces[0].ram, 1n << 30n);
  assert.equal(config.subsystems[0].namespaces[1].file, "/dev/sdb");
  assert.deepEqual(parseTargetConfig({}), { target: {}, ports: [], subsystems: [] });
});

test("parseTargetConfig() errors name the field's path", () => {
  const ns = (n: unknown) => ({ subsystems: [{ nqn: "a", namespaces: [{ ram: "1G" }, n] }] });
  assert.equal(
    fieldOf(() => parseTargetConfig(ns({ ram: "1X" }))),
    "subsystems[0].namespaces[1].ram",
  );
  assert.equal(fieldOf(() => parseTargetConfig(ns({}))), "subsystems[0].namespaces[1].ram");
  assert.equal(
    fieldOf(() => parseTargetConfig(ns({ ram: "1G", file: "/x" }))),
    "subsystems[0].namespaces[1].file",
  );
  assert.equal(
    fieldOf(() => parseTargetConfig(ns({ ram: "1G", blockSize: 1000 }))),
    "subsystems[0].namespaces[1].blockSize",
  );
  assert.equal(
    fieldOf(() => parseTargetConfig(ns({ ram: "1G", sizee: 1 }))),
    "subsystems[0].namespaces[1].sizee",
  );
  assert.equal(fieldOf(() => parseTargetConfig({ subsystems: [{}] })), "subsystems[0].nqn");
  assert.equal(
    fieldOf(() => parseTargetConfig({ subsystems: [{ nqn: "a", version: "9" }] })),
    "subsystems[0].version",
  );
  assert.equal(
    fieldOf(() => parseTargetConfig({ ports: [{ address: "nowhere:port" }] })),
    "ports[0].address",
  );
  assert.equal(fieldOf(() => parseTargetConfig({ ports: [{}] })), "ports[0].address");
  assert.equal(
    fieldOf(() =>
      parseTargetConfig({ ports: [{ traddr: "a", associationParams: { maxIoQsize: 1 } }] })
    ),
    "ports[0].associationParams.maxIoQsize",
  );
  assert.equal(
    fieldOf(() => parseTargetConfig({ ports: [{ traddr: "a", subsystems: ["b"] }] })),
    "ports[0].subsystems[0]",
  );
  assert.equal(
    fieldOf(() => parseTargetConfig({ subsystems: [{ nqn: "a" }, { nqn: "a" }] })),
    "subsystems[1].nqn",
  );
  assert.equal(
    fieldOf(() => parseTargetConfig({ target: { maxQueues: "x" } })),
    "target.maxQueues",
  );
  assert.equal(fieldOf(() => parseTargetConfig({ extra: 1 })), "extra");
  assert.equal(fieldOf(() => parseTargetConfig([])), "");
});

/** The shape `nvmetcli save` writes (nvmetcli's own tcp.json sample, with a loop port added). */
const NVMETCLI = {
  hosts: [{ nqn: "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001" }],
  ports: [
    {
      addr: {
        adrfam: "ipv4",
        traddr: "192.168.122.33",
        treq: "not specified",
        trsvcid: "4420",
        trtype: "tcp",
      },
      ana_groups: [{ ana: { state: "optimized" }, grpid: 1 }],
      param: { inline_data_size: "16384", pi_enable: "0" },
      portid: 1,
      referrals: [],
      subsystems: ["nvmet-always"],
    },
    {
      addr: { adrfam: "", traddr: "", treq: "not specified", trsvcid: "", trtype: "loop" },
      portid: 2,
      referrals: [],
      subsystems: ["nvmet-always", "restricted"],
    },
  ],
  subsystems: [
    {
      allowed_hosts: [],
      attr: {
        allow_any_host: "1",
        cntlid_max: "65519",
        cntlid_min: "1",
        model: "Linux",
        pi_enable: "0",
        serial: "123456789abcdef",
        version: "1.3",
      },
      namespaces: [
        {
          ana_grpid: 1,
          device: {
            nguid: "00000000-0000-0000-0000-000000000000",
            path: "/dev/nvme0n1",
            uuid: "d592cdf3-5d1c-44e0-8412-3fcf7d99df27",
          },
          enable: 1,
          nsid: 1,
        },
        { ana_grpid: 1, device: { path: "/dev/nvme1n1" }, enable: 0, nsid: 2 },
      ],
      nqn: "nvmet-always",
    },
    {
      allowed_hosts: ["nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001"],
      attr: { allow_any_host: "0", version: "1.3.0", firmware: "6.1.0" },
      namespaces: [],
      nqn: "restricted",
    },
  ],
};

test("parseTargetConfig() takes a DH-HMAC-CHAP policy and names a wrong entry", () => {
  const c = parseTargetConfig({
    target: { dhchapPolicy: { digests: ["sha512"] } },
    subsystems: [],
  });
  assert.deepEqual(c.target.dhchapPolicy, { digests: ["sha512"] });
  assert.equal(
    fieldOf(() =>
      parseTargetConfig({ target: { dhchapPolicy: { dhgroups: ["ffdhe1"] } }, subsystems: [] })
    ),
    "target.dhchapPolicy.dhgroups",
  );
  assert.equal(
    fieldOf(() => parseTargetConfig({ target: { dhchapPolicy: { digests: [] } }, subsystems: [] })),
    "target.dhchapPolicy.digests",
  );
});

test("parseTargetConfig() takes prefault for RAM namespaces only", () => {
  const c = parseTargetConfig({
    subsystems: [{ nqn: "x", namespaces: [{ ram: "1M", prefault: true }] }],
  });
  assert.equal(c.subsystems[0].namespaces[0].prefault, true);
  assert.equal(
    fieldOf(() =>
      parseTargetConfig({
        subsystems: [{ nqn: "x", namespaces: [{ file: "/a", prefault: true }] }],
      })
    ),
    "subsystems[0].namespaces[0].prefault",
  );
});

test("parseNvmetcliConfig() maps ports, subsystems, namespaces and hosts", () => {
  const config = parseNvmetcliConfig(NVMETCLI);
  assert.deepEqual(config.ports[0], {
    transport: "tcp",
    traddr: "192.168.122.33",
    trsvcid: "4420",
    portid: 1,
    associationParams: { ioInCapsuleData: 16384 },
    subsystems: ["nvmet-always"],
  });
  assert.deepEqual(config.ports[1], {
    transport: "loopback",
    traddr: "nvmet-loop-2",
    portid: 2,
    subsystems: ["nvmet-always", "restricted"],
  });
  const [always, restricted] = config.subsystems;
  assert.equal(always.nqn, "nvmet-always");
  assert.equal(always.allowAnyHost, true);
  assert.equal(always.serial, "123456789abcdef");
  assert.equal(always.model, "Linux");
  assert.equal(always.version, "1.3");
  assert.deepEqual(always.namespaces, [
    { nsid: 1, file: "/dev/nvme0n1", uuid: "d592cdf3-5d1c-44e0-8412-3fcf7d99df27" },
  ]);
  assert.equal(restricted.allowAnyHost, false);
  assert.deepEqual(restricted.allowedHosts, [NVMETCLI.hosts[0].nqn]);
  assert.equal(restricted.firmware, "6.1.0");
  assert.equal(restricted.version, "1.3");
});

test("parseNvmetcliConfig() errors name the field it cannot use", () => {
  const clone = () => JSON.parse(JSON.stringify(NVMETCLI));
  const rdma = clone();
  rdma.ports[0].addr.trtype = "rdma";
  assert.equal(fieldOf(() => parseNvmetcliConfig(rdma)), "ports[0].addr.trtype");
  const tls = clone();
  tls.ports[0].addr.treq = "required";
  assert.equal(fieldOf(() => parseNvmetcliConfig(tls)), "ports[0].addr.treq");
  const noPath = clone();
  delete noPath.subsystems[0].namespaces[0].device.path;
  assert.equal(
    fieldOf(() => parseNvmetcliConfig(noPath)),
    "subsystems[0].namespaces[0].device.path",
  );
  const passthru = clone();
  passthru.subsystems[0].passthru = [{ enable: 1, device: { path: "/dev/nvme0" } }];
  assert.equal(fieldOf(() => parseNvmetcliConfig(passthru)), "subsystems[0].passthru");
  const dangling = clone();
  dangling.ports[0].subsystems = ["nope"];
  assert.equal(fieldOf(() => parseNvmetcliConfig(dangling)), "ports[0].subsystems[0]");
  const badNsid = clone();
  badNsid.subsystems[0].namespaces[0].nsid = "one";
  assert.equal(fieldOf(() => parseNvmetcliConfig(badNsid)), "subsystems[0].namespaces[0].nsid");
  const noTraddr = clone();
  noTraddr.ports[0].addr.traddr = "";
  assert.equal(fieldOf(() => parseNvmetcliConfig(noTraddr)), "ports[0].addr.traddr");
  const version = clone();
  version.subsystems[0].attr.version = "0.9";
  assert.equal(fieldOf(() => parseNvmetcliConfig(version)), "subsystems[0].attr.version");
  assert.equal(fieldOf(() => parseNvmetcliConfig({ subsystems: "x" })), "subsystems");
});

test("applyConfig() opens RAM and file namespaces, adds subsystems and listens", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nvmf-config-"));
  const path = join(dir, "disk.img");
  await writeFile(path, new Uint8Array(1 << 20));
  const fabric = new LoopbackTransport();
  Object.defineProperty(fabric, "name", { value: "config-test-loop" });
  Object.defineProperty(fabric, "trtype", { value: 201 });
  registerTransport(fabric);
  try {
    const config = parseTargetConfig({
      ports: [{ transport: "config-test-loop", traddr: "apply", portid: 3 }],
      subsystems: [{
        nqn: "nqn.2026-01.dev.nvmf:apply",
        namespaces: [{ ram: "1M", prefault: true }, { file: path, blockSize: 512, readOnly: true }],
      }],
    });
    const target = new Target(config.target);
    const ports = await applyConfig(target, config);
    assert.equal(ports[0].portid, 3);
    const sub = target.subsystem("nqn.2026-01.dev.nvmf:apply")!;
    assert.equal((sub.namespaces[0].backend as RamBackend).allocatedBytes, 1 << 20, "prefaulted");
    assert.deepEqual(sub.namespaces.map((ns) => [ns.nsid, ns.blockSize, ns.readOnly]), [[
      1,
      512,
      false,
    ], [2, 512, true]]);
    await target.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("applyConfig() undoes what it did when a step fails, and names the field", async () => {
  const fabric = new LoopbackTransport();
  Object.defineProperty(fabric, "name", { value: "config-test-loop2" });
  Object.defineProperty(fabric, "trtype", { value: 202 });
  registerTransport(fabric);
  const config = parseTargetConfig({
    ports: [{ transport: "config-test-loop2", traddr: "busy" }, {
      transport: "config-test-loop2",
      traddr: "busy",
    }],
    subsystems: [{ nqn: "nqn.2026-01.dev.nvmf:undo", namespaces: [{ ram: "1M" }] }],
  });
  const target = new Target();
  await assert.rejects(
    applyConfig(target, config),
    (e) => e instanceof ConfigError && e.path === "ports[1]",
  );
  assert.deepEqual(target.subsystems, []);
  assert.deepEqual(target.ports, []);
  const missing = parseTargetConfig({
    subsystems: [{
      nqn: "nqn.2026-01.dev.nvmf:missing",
      namespaces: [{ file: "/nonexistent/disk.img" }],
    }],
  });
  await assert.rejects(
    applyConfig(target, missing),
    (e) => e instanceof ConfigError && e.path === "subsystems[0].namespaces[0].file",
  );
  await target.close();
});

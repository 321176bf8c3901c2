import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RamBackend, Target } from "@nvmf/controller";
import { Fes } from "@nvmf/proto";
import { TransportError } from "@nvmf/transport";
import { type CliIo, describeError, main, parseSize } from "./nvmf.ts";

// The tool against our controller in this process, over the registered loopback transport
// (`-t loopback`), with output captured.

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(args: string[]): Promise<Run> {
  let out = "";
  let err = "";
  const io: CliIo = { stdout: (t) => out += t, stderr: (t) => err += t, progress: false };
  // No host identity files in tests: give one.
  const code = await main(args, io);
  return { code, out, err };
}

const HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-4333-8444-555555555555";
let serial = 0;

async function withTarget(
  fn: (t: { conn: string[]; nqn: string; target: Target }) => Promise<void>,
): Promise<void> {
  const target = new Target();
  const nqn = `nqn.2026-01.test.cli:s${serial++}`;
  const traddr = `cli-test-${serial}`;
  target.addSubsystem({
    nqn,
    namespaces: [{ backend: new RamBackend({ size: 2 << 20, blockSize: 512 }) }],
    allowAnyHost: true,
  });
  const port = await target.listen("loopback", { traddr });
  try {
    await fn({ conn: ["-t", "loopback", "-a", traddr, "-q", HOSTNQN], nqn, target });
  } finally {
    await port.close();
    await target.close();
  }
}

function scratch(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "nvmf-cli-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

test("nvmf help lists every subcommand and says --block-count counts blocks from 1", async () => {
  const r = await run(["help"]);
  assert.equal(r.code, 0);
  for (
    const c of [
      "discover",
      "list",
      "id-ctrl",
      "id-ns",
      "get-log",
      "get-feature",
      "read",
      "write",
      "flush",
      "compare",
      "perf",
    ]
  ) {
    assert.match(r.out, new RegExp(`^  ${c} `, "m"));
  }
  assert.match(
    r.out,
    /--block-count N\s+number of blocks: 1 for one block \(not nvme-cli's 0's based value\)/,
  );
  for (
    const flag of [
      "-t, --transport",
      "-a, --traddr",
      "-s, --trsvcid",
      "-n, --nqn",
      "-q, --hostnqn",
      "-I, --hostid",
      "-g, --hdr-digest",
      "-G, --data-digest",
      "-i, --nr-io-queues",
      "-Q, --queue-size",
      "-k, --keep-alive-tmo",
      "-o, --output-format",
    ]
  ) {
    assert.ok(r.out.includes(flag), flag);
  }
  const perf = await run(["perf", "--help"]);
  assert.equal(perf.code, 0);
  assert.match(perf.out, /--rw MODE\s+read, write, randread, randwrite or randrw/);
});

test("nvmf usage errors exit 2 and say what is wrong", async () => {
  const none = await run([]);
  assert.equal(none.code, 2);
  const unknown = await run(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /no such command/);
  const flag = await run(["id-ctrl", "--bogus"]);
  assert.equal(flag.code, 2);
  assert.match(flag.err, /bogus/);
  const addr = await run(["id-ctrl", "-t", "loopback", "-n", "nqn.2026-01.test:x"]);
  assert.equal(addr.code, 2);
  assert.match(addr.err, /-a\/--traddr is required/);
  const nqn = await run(["id-ctrl", "-t", "loopback", "-a", "x"]);
  assert.equal(nqn.code, 2);
  assert.match(nqn.err, /-n\/--nqn/);
  const transport = await run(["discover", "-t", "carrier-pigeon", "-a", "x"]);
  assert.equal(transport.code, 2);
  assert.match(transport.err, /carrier-pigeon/);
  const format = await run(["discover", "-o", "yaml", "-a", "x"]);
  assert.equal(format.code, 2);
  const rw = await run([
    "perf",
    "-t",
    "loopback",
    "-a",
    "x",
    "-n",
    "nqn.2026-01.test:x",
    "--rw",
    "sideways",
  ]);
  assert.equal(rw.code, 2);
});

test("nvmf names the cause when the controller cannot be reached or refuses", async () => {
  const nobody = await run([
    "id-ctrl",
    "-t",
    "loopback",
    "-a",
    "nobody-here",
    "-n",
    "nqn.2026-01.test:x",
    "-q",
    HOSTNQN,
  ]);
  assert.equal(nobody.code, 1);
  assert.match(nobody.err, /nothing listens there/);
  await withTarget(async ({ conn }) => {
    const wrong = await run(["id-ctrl", ...conn, "-n", "nqn.2026-01.test:not-there"]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /CONNECT failed: CONNECT_/);
  });
});

test("describeError() names a TermReq's FES and a refused connection", () => {
  const termreq = new TransportError("Received C2HTermReq", "termreq", {
    fes: Fes.HEADER_DIGEST_ERROR,
    fei: 0,
  });
  assert.match(describeError(termreq), /FES 0x03: Header digest error/);
  const refused = new TransportError("Cannot connect to 127.0.0.1:1", "connect", {
    cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
  });
  assert.match(describeError(refused), /connection refused/);
});

test("parseSize() reads sizes as fio does", () => {
  assert.equal(parseSize("512"), 512);
  assert.equal(parseSize("4k"), 4096);
  assert.equal(parseSize("4KiB"), 4096);
  assert.equal(parseSize("1m"), 1 << 20);
  assert.equal(parseSize("2G"), 2 * 2 ** 30);
  assert.throws(() => parseSize("lots"), /expected a size/);
  assert.throws(() => parseSize("0"), /positive/);
});

test("nvmf discover and list show the subsystem and its namespace", async () => {
  await withTarget(async ({ conn, nqn }) => {
    const d = await run(["discover", ...conn]);
    assert.equal(d.code, 0, d.err);
    assert.match(d.out, /Discovery Log Number of Records \d+, Generation counter \d+/);
    assert.ok(d.out.includes(`subnqn:  ${nqn}`));
    const dj = await run(["discover", ...conn, "-o", "json"]);
    const parsed = JSON.parse(dj.out);
    assert.ok(
      parsed.entries.some((e: { subnqn: string; subtype: string }) =>
        e.subnqn === nqn && e.subtype === "nvme subsystem"
      ),
    );
    const l = await run(["list", ...conn]);
    assert.equal(l.code, 0, l.err);
    assert.ok(l.out.includes(nqn));
    assert.match(l.out, /namespace 1: 4096 blocks of 512 bytes \(2\.00 MiB\)/);
    const lj = JSON.parse((await run(["list", ...conn, "-o", "json"])).out);
    const sub = lj.subsystems.find((s: { subnqn: string }) => s.subnqn === nqn);
    assert.equal(sub.namespaces[0].blockSize, 512);
  });
});

test("nvmf id-ctrl, id-ns, get-log and get-feature", async () => {
  await withTarget(async ({ conn, nqn }) => {
    const c = await run(["id-ctrl", ...conn, "-n", nqn]);
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /^mn\s+: \S/m);
    assert.ok(c.out.includes(`subnqn    : ${nqn}`));
    const cj = JSON.parse((await run(["id-ctrl", ...conn, "-n", nqn, "-o", "json"])).out);
    assert.equal(cj.subnqn, nqn);
    const n = await run(["id-ns", ...conn, "-n", nqn, "--namespace-id", "1"]);
    assert.equal(n.code, 0, n.err);
    assert.match(n.out, /^nsze\s+: 4096$/m);
    assert.match(n.out, /lbads:9 rp:0 \(in use\)/);
    const missing = await run(["id-ns", ...conn, "-n", nqn, "--namespace-id", "9"]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /not active/);
    const log = JSON.parse(
      (await run([
        "get-log",
        ...conn,
        "-n",
        nqn,
        "--log-id",
        "2",
        "--log-len",
        "512",
        "-o",
        "json",
      ])).out,
    );
    assert.equal(log.data.length, 1024);
    const badLen = await run(["get-log", ...conn, "-n", nqn, "--log-id", "2", "--log-len", "6"]);
    assert.equal(badLen.code, 2);
    const f = await run(["get-feature", ...conn, "-n", nqn, "--feature-id", "7"]);
    assert.equal(f.code, 0, f.err);
    assert.match(f.out, /get-feature:0x07 \(NUMBER_OF_QUEUES\), current value: 0x[0-9a-f]{8}/);
  });
});

test("nvmf write, read, compare and flush with data files", async () => {
  using tmp = scratch();
  await withTarget(async ({ conn, nqn }) => {
    const src = join(tmp.dir, "in.bin");
    const dst = join(tmp.dir, "out.bin");
    const data = new Uint8Array(3 * 512 + 100).map((_, i) => (i * 31) & 0xff);
    writeFileSync(src, data);
    const w = await run(["write", ...conn, "-n", nqn, "--start-block", "7", "--data", src]);
    assert.equal(w.code, 0, w.err);
    assert.match(w.out, /write: Success, 4 blocks at LBA 7/);
    const r = await run([
      "read",
      ...conn,
      "-n",
      nqn,
      "--start-block",
      "7",
      "--block-count",
      "4",
      "--data",
      dst,
    ]);
    assert.equal(r.code, 0, r.err);
    const back = new Uint8Array(readFileSync(dst));
    assert.equal(back.length, 4 * 512);
    assert.deepEqual(back.subarray(0, data.length), data);
    assert.deepEqual(back.subarray(data.length), new Uint8Array(4 * 512 - data.length));
    const one = await run(["read", ...conn, "-n", nqn, "--start-block", "7", "--block-count", "1"]);
    assert.equal(
      one.out.split("\n").filter((l) => l !== "").length,
      32,
      "one block: 32 lines of 16 bytes",
    );
    const same = await run(["compare", ...conn, "-n", nqn, "--start-block", "7", "--data", src]);
    assert.equal(same.code, 0, same.err);
    writeFileSync(src, data.map((b) => b ^ 1));
    const differ = await run(["compare", ...conn, "-n", nqn, "--start-block", "7", "--data", src]);
    assert.equal(differ.code, 1);
    assert.match(differ.err, /COMPARE_FAILURE/);
    const fl = await run(["flush", ...conn, "-n", nqn]);
    assert.equal(fl.code, 0, fl.err);
    const beyond = await run([
      "read",
      ...conn,
      "-n",
      nqn,
      "--start-block",
      "4095",
      "--block-count",
      "2",
    ]);
    assert.equal(beyond.code, 1);
    assert.match(beyond.err, /namespace 1 has 4096/);
    const noData = await run(["write", ...conn, "-n", nqn, "--start-block", "0"]);
    assert.equal(noData.code, 2);
  });
});

test("nvmf perf runs fio-like workloads with verify and reports latency percentiles", async () => {
  await withTarget(async ({ conn, nqn }) => {
    const j = await run([
      "perf",
      ...conn,
      "-n",
      nqn,
      "--rw",
      "randrw",
      "--bs",
      "4k",
      "--iodepth",
      "8",
      "--num-queues",
      "2",
      "--size",
      "1m",
      "--verify",
      "-o",
      "json",
    ]);
    assert.equal(j.code, 0, j.err);
    const result = JSON.parse(j.out);
    assert.equal(result.numQueues, 2);
    assert.equal(result.read.ios + result.write.ios, 256);
    assert.equal(result.verify.error, null);
    for (const k of ["p50", "p90", "p99", "p99_9", "max"]) {
      assert.equal(typeof result.read.latencyUs[k], "number");
    }
    const read = await run([
      "perf",
      ...conn,
      "-n",
      nqn,
      "--rw",
      "read",
      "--bs",
      "8k",
      "--iodepth",
      "4",
      "--size",
      "256k",
      "--verify",
    ]);
    assert.equal(read.code, 0, read.err);
    assert.match(read.out, /read : IOPS=\d+, BW=/);
    assert.match(
      read.out,
      /percentiles \(usec\): 50th=[\d.]+, 90th=[\d.]+, 99th=[\d.]+, 99\.9th=[\d.]+/,
    );
    assert.match(read.out, /verify: 32 reads checked, no errors/);
    const timed = await run([
      "perf",
      ...conn,
      "-n",
      nqn,
      "--rw",
      "randwrite",
      "--runtime",
      "0.05",
      "--iodepth",
      "2",
    ]);
    assert.equal(timed.code, 0, timed.err);
    assert.match(timed.out, /write: IOPS=/);
    const badBs = await run(["perf", ...conn, "-n", nqn, "--bs", "100"]);
    assert.equal(badBs.code, 2);
  });
});

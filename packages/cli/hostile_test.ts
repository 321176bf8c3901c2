// The nvmf tool against a hostile controller (issue #15): one line naming what the controller
// did wrong, exit code 1, never a stack trace, never a success printed for a confused transfer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdminOpcode, NvmOpcode } from "@nvmf/proto";
import { HOSTILE_NQN, type HostileScript, hostileTcp } from "../host/_hostile.ts";
import { type CliIo, main } from "./nvmf.ts";

const HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-4333-8444-555555555555";

async function nvmf(
  script: HostileScript,
  args: (conn: string[]) => string[],
): Promise<{ code: number; out: string; err: string }> {
  const h = await hostileTcp(script);
  try {
    let out = "";
    let err = "";
    const io: CliIo = { stdout: (t) => out += t, stderr: (t) => err += t, progress: false };
    const conn = [
      "-t",
      "tcp",
      "-a",
      "127.0.0.1",
      "-s",
      h.address.trsvcid!,
      "-q",
      HOSTNQN,
      "--ctrl-loss-tmo",
      "0",
    ];
    const code = await main(args(conn), io);
    return { code, out, err };
  } finally {
    await h.close();
  }
}

function oneLine(r: { code: number; out: string; err: string }, cause: RegExp): void {
  assert.equal(r.code, 1, `exit code ${r.code}: ${r.err}`);
  const lines = r.err.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `one line, got: ${r.err}`);
  assert.doesNotMatch(r.err, /^\s+at /m, "no stack trace");
  assert.match(lines[0], cause);
  assert.doesNotMatch(r.out, /Success/);
}

let identifies = 0;
const cases: [string, HostileScript, (conn: string[]) => string[], RegExp][] = [
  [
    "id-ctrl with short Identify data",
    {
      // The first Identify (at connect) is whole; the one id-ctrl sends is short.
      fault: (c, _p, r) =>
        c.opcode === AdminOpcode.IDENTIFY && identifies++ % 2 === 1
          ? [{ kind: "data", data: r.data!.subarray(0, 512) }, { kind: "cqe" }]
          : undefined,
    },
    (conn) => ["id-ctrl", ...conn, "-n", HOSTILE_NQN],
    /512 of 4096 bytes: DATA_TRANSFER_ERROR/,
  ],
  ["read with half its data", {
    fault: (c, _p, r) =>
      c.qid > 0 && c.opcode === NvmOpcode.READ
        ? [{ kind: "data", data: r.data!.subarray(0, 256), last: false }, { kind: "cqe" }]
        : undefined,
  }, (conn) => [
    "read",
    ...conn,
    "-n",
    HOSTILE_NQN,
    "--start-block",
    "0",
    "--block-count",
    "1",
  ], /256 of 512 bytes/],
  ["read answered for an unknown CID", {
    fault: (c) =>
      c.qid > 0 && c.opcode === NvmOpcode.READ
        ? [{ kind: "data" }, { kind: "cqe", cid: c.cid + 9 }]
        : undefined,
  }, (conn) => [
    "read",
    ...conn,
    "-n",
    HOSTILE_NQN,
    "--start-block",
    "0",
    "--block-count",
    "1",
  ], /CID \d+, which has no command outstanding/],
  [
    "discover with a generation counter that always moves",
    {
      genctr: (n) => BigInt(n),
    },
    (conn) => ["discover", ...conn],
    /changed during 10 reads/,
  ],
  ["read from a namespace whose LBA data size is 2^63", {
    nsdata: { lbaf: [{ ms: 0, lbads: 63, rp: 0 }] },
  }, (conn) => [
    "read",
    ...conn,
    "-n",
    HOSTILE_NQN,
    "--start-block",
    "0",
    "--block-count",
    "1",
  ], /LBA data size 2\^63 bytes/],
];

for (const [what, script, args, cause] of cases) {
  test(`nvmf against a hostile controller: ${what} exits 1 with one line`, async () => {
    const r = await nvmf(script, args);
    if (what.startsWith("discover")) {
      // discover reports per subsystem; the discovery controller itself failing exits 1.
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.err + r.out, cause);
      return;
    }
    oneLine(r, cause);
  });
}

test("nvmf write to a controller that answers success without fetching the data exits 1", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nvmf-hostile-"));
  try {
    const src = join(dir, "in.bin");
    writeFileSync(src, new Uint8Array(64 * 1024).fill(7));
    const r = await nvmf({
      fault: (c) => c.qid > 0 && c.opcode === NvmOpcode.WRITE ? [{ kind: "cqe" }] : undefined,
    }, (conn) => ["write", ...conn, "-n", HOSTILE_NQN, "--start-block", "0", "--data", src]);
    oneLine(r, /fetching 0 of 65536 bytes: DATA_TRANSFER_ERROR/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

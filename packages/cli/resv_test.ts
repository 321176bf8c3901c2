import { test } from "node:test";
import assert from "node:assert/strict";
import { RamBackend, Target } from "@nvmf/controller";
import { type CliIo, main } from "./nvmf.ts";

// nvmf resv-* against our controller in this process over loopback, two hosts (host IDs).

const HOST_A = ["-q", "nqn.2026-01.test.cli:resv-a", "-I", "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"];
const HOST_B = ["-q", "nqn.2026-01.test.cli:resv-b", "-I", "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"];

async function run(args: string[]) {
  let out = "";
  let err = "";
  const io: CliIo = { stdout: (t) => out += t, stderr: (t) => err += t, progress: false };
  const code = await main(args, io);
  return { code, out, err };
}

test("nvmf resv-register/acquire/report/release with nvme-cli's flags; the other host conflicts", async () => {
  const target = new Target();
  const nqn = "nqn.2026-01.test.cli:resv";
  target.addSubsystem({
    nqn,
    namespaces: [{ backend: new RamBackend({ size: 1 << 20, blockSize: 512 }) }],
  });
  await target.listen("loopback", { traddr: "cli-resv" });
  const conn = ["-t", "loopback", "-a", "cli-resv", "-n", nqn, "--namespace-id", "1"];
  try {
    let r = await run(["resv-register", ...conn, ...HOST_A, "--nrkey", "0xabc", "-r", "0"]);
    assert.deepEqual([r.code, r.out, r.err], [0, "NVME Reservation Register: Success\n", ""]);
    r = await run([
      "resv-acquire",
      ...conn,
      ...HOST_A,
      "-c",
      "0xabc",
      "--rtype",
      "1",
      "--racqa",
      "0",
    ]);
    assert.equal(r.code, 0, r.err);
    r = await run(["resv-report", ...conn, ...HOST_B, "--eds", "-o", "json"]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), {
      gen: 1,
      rtype: 1,
      regctl: 1,
      ptpls: 0,
      regctlext: [{
        cntlid: 0xffff,
        rcsts: 1,
        rkey: 0xabc,
        hostid: "aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaaa",
      }],
    });
    r = await run(["resv-report", ...conn, ...HOST_B, "-e"]);
    assert.match(r.out, /^NVME Reservation status:\n\ngen {7}: 1\nrtype {5}: 1\n/);
    assert.match(r.out, /rkey {7}: 0xabc\n/);
    // Host B: a wrong key conflicts; writing conflicts.
    r = await run(["resv-acquire", ...conn, ...HOST_B, "-c", "1", "--rtype", "1"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /RESERVATION_ACQUIRE failed: RESERVATION_CONFLICT \(sct 0, sc 0x83, dnr/);
    r = await run(["flush", ...conn, ...HOST_B]);
    assert.equal(r.code, 1);
    assert.match(r.err, /RESERVATION_CONFLICT/);
    // PTPL cannot be set.
    r = await run(["resv-register", ...conn, ...HOST_B, "--nrkey", "5", "-p", "3"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /INVALID_FIELD/);
    r = await run([
      "resv-release",
      ...conn,
      ...HOST_A,
      "-c",
      "0xabc",
      "--rtype",
      "1",
      "-o",
      "json",
    ]);
    assert.deepEqual(JSON.parse(r.out), { result: "success", command: "Reservation Release" });
    r = await run(["flush", ...conn, ...HOST_B]);
    assert.equal(r.code, 0, r.err);
    r = await run(["resv-release", ...conn, ...HOST_A, "-c", "0xabc", "--rrela", "1"]);
    assert.equal(r.code, 0, r.err);
    // Usage errors: exit 2, naming the flag.
    r = await run(["resv-acquire", ...conn, ...HOST_A, "-c", "1"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--rtype is required/);
    r = await run(["resv-register", ...conn, ...HOST_A, "--nrkey=-1"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--nrkey -1/);
    r = await run(["resv-register", ...conn, ...HOST_A, "--nrkey", "0x10000000000000000"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /a key is 0 to 2\^64 - 1/);
  } finally {
    await target.close();
  }
});

test("nvmf help resv-register documents nvme-cli's flags", async () => {
  const r = await run(["help", "resv-register"]);
  assert.equal(r.code, 0);
  for (const flag of ["--crkey", "--nrkey", "--rrega", "--cptpl", "--iekey", "--rtype"]) {
    assert.match(r.out, new RegExp(flag));
  }
});

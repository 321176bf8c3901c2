import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { connect } from "@nvmf/host";
import { generateHostId, hostNqnFromId } from "@nvmf/proto";
import { startTarget, SUBNQN } from "./minimal_target.ts";

test("the minimal target serves its RAM namespace to @nvmf/host over TCP", async () => {
  const lines: string[] = [];
  const target = await startTarget(0, (line) => lines.push(line));
  try {
    assert.deepEqual(lines, [`nvme connect -t tcp -a 127.0.0.1 -s ${target.port} -n ${SUBNQN}`]);
    const ctrl = await connect({
      transport: "tcp",
      address: { traddr: "127.0.0.1", trsvcid: String(target.port) },
      subnqn: SUBNQN,
      hostnqn: hostNqnFromId(generateHostId()),
    });
    try {
      const ns = await ctrl.namespace(1);
      assert.equal(ns.size, 64 * 2 ** 20);
      const data = new Uint8Array(ns.blockSize * 8).fill(0x3c);
      await ns.write(100, data);
      assert.deepEqual(await ns.read(100, 8), data);
    } finally {
      await ctrl.close();
    }
  } finally {
    await target.close();
  }
});

test("the minimal target, run as a program, prints the connect line and stops on SIGINT", async () => {
  const script = new URL("./minimal_target.ts", import.meta.url).pathname;
  const args = "Deno" in globalThis ? ["run", "-A", script, "0"] : [script, "0"];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const exited = new Promise<number | null>((resolve) => {
    child.stdout.on("data", (chunk) => {
      if (out === "" && String(chunk).includes("\n")) child.kill("SIGINT");
      out += chunk;
    });
    child.on("close", resolve);
  });
  const code = await exited;
  assert.match(
    out,
    /^nvme connect -t tcp -a 127\.0\.0\.1 -s \d+ -n nqn\.2026-01\.dev\.nvmf\.example:minimal\nstopped\n$/,
  );
  // Deno's node:child_process reports a child that handled the SIGINT it was sent as killed
  // by it (code null); Node and Bun report its exit code, 0.
  assert.ok(code === 0 || code === null, `exit code ${code}`);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { rawPump, rawRequestResponse } from "./raw.ts";

// The raw loops are split into ends (pumpWrite/pumpRead, serveRequests/driveRequests) so that
// two_process.ts can put one end in a child process; in one process they still measure.
test("the raw pump and request/response loops move data and stop after their window", async () => {
  const timing = { warmup: 0.02, seconds: 0.1 };
  const p = await rawPump("stream", timing);
  assert.ok(p.bytes > 0 && p.gbPerSec > 0);
  for (const qd of [1, 4]) {
    const r = await rawRequestResponse("stream", qd, timing);
    assert.ok(r.ops > 0, `qd ${qd}`);
    assert.ok(r.p50Us > 0 && r.p99Us >= r.p50Us);
  }
});

// raw_peer.ts runs both ends as their own processes on whichever runtime runs this test (the
// two-process table's raw rows, `deno run -A` or `bun run`): the server prints its port and
// stops when its standard input closes; the driver prints its result as JSON.
test("raw_peer.ts serves and drives as two processes, and the server stops with its stdin", async () => {
  const { spawn, execFile } = await import("node:child_process");
  const process = (await import("node:process")).default;
  const peer = new URL("./raw_peer.ts", import.meta.url).pathname;
  const pre = "Deno" in globalThis ? ["run", "-A"] : ["run"];
  for (const mode of [["rr", "4"], ["pump"]]) {
    const server = spawn(process.execPath, [...pre, peer, "serve", ...mode], {
      stdio: ["pipe", "pipe", "ignore"],
    });
    const exited = new Promise<number | null>((resolve) => server.on("exit", resolve));
    const port = await new Promise<number>((resolve, reject) => {
      let text = "";
      server.stdout!.on("data", (d: Uint8Array) => {
        text += new TextDecoder().decode(d);
        const line = text.split("\n")[0];
        if (text.includes("\n")) resolve(JSON.parse(line).port);
      });
      server.on("exit", () => reject(new Error("raw_peer serve exited early")));
    });
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [...pre, peer, "drive", ...mode, String(port), "0.02", "0.1"],
        { timeout: 30_000 },
        (err, stdout) => err ? reject(err) : resolve(String(stdout)),
      )
    );
    const result = JSON.parse(out);
    if (mode[0] === "rr") assert.ok(result.ops > 0 && result.p50Us > 0, out);
    else assert.ok(result.bytes > 0 && result.gbPerSec > 0, out);
    server.stdin!.end();
    assert.equal(await exited, 0);
  }
});

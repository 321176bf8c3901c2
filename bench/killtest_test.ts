// The kill test's short variant: 5 cycles (4 SIGKILL, then SIGTERM) of the target daemon on a
// file namespace under a verified random-write workload. `deno task killtest` runs 100.
// Deno only: it spawns the daemon with `deno run`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runKillTest } from "./killtest.ts";

// deno-lint-ignore no-explicit-any
const onDeno = typeof (globalThis as any).Deno?.Command === "function";

test("kill -9 at random moments loses no acknowledged write and tears no block", {
  skip: !onDeno,
}, async () => {
  const r = await runKillTest({ cycles: 5, blocks: 1024, iodepth: 16, maxRunMs: 400 });
  assert.deepEqual(r.problems, []);
  assert.equal(r.lost, 0);
  assert.equal(r.torn, 0);
  assert.equal(r.cycles, 5);
  assert.ok(r.acknowledged > 0, "some writes were acknowledged");
  assert.equal(r.blocksChecked, 6 * 1024);
  assert.equal(r.sigterm.code, 0, "SIGTERM exits 0");
  assert.ok(r.sigterm.ms < 10_000, `SIGTERM took ${r.sigterm.ms} ms`);
});

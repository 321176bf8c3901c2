// The soak's short variant: 8 hosts (associations in this process), 2 I/O queues each, 32 I/Os
// in flight, verified random read/write on a file namespace of our target daemon, for 20 s.
// `deno task soak` runs 64 hosts for 10 minutes and judges RSS flat (8 MiB + 5 %); ten seconds
// of second half are too short for that (one GC cycle is tens of MiB), so here RSS must stay
// within 64 MiB of where the second half began. Deno only: it spawns the daemon.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSoak, soakFailures } from "./soak.ts";

// deno-lint-ignore no-explicit-any
const onDeno = typeof (globalThis as any).Deno?.Command === "function";

test("soak: 8 hosts x 20 s, no miscompare, no error, RSS bounded, no host starved", {
  skip: !onDeno,
}, async () => {
  const r = await runSoak({ hosts: 8, seconds: 20, regionBytes: 1 << 20 });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(soakFailures(r, 64 << 20), []);
  assert.equal(r.hostIops.length, 8);
  assert.ok(r.verified > 0, "reads were verified");
});

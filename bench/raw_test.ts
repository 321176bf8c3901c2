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

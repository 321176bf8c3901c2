// The interop harness itself: a run whose guest kernel crashed while booting is told apart from
// a run that failed on its own (those are the tests' to judge).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { guestCrashedBooting } from "./_kernel.ts";

test("guestCrashedBooting() is true only for a failed run whose guest panicked before results", () => {
  const dir = mkdtempSync(join(tmpdir(), "nvmf-interop-"));
  try {
    const out = `interop: accel=tcg ... run dir: ${dir}\n`;
    writeFileSync(
      join(dir, "console.txt"),
      "[    2.112877] Oops: int3: 0000 [#2] PREEMPT SMP NOPTI\n" +
        "[    2.113203] Kernel panic - not syncing: Fatal exception in interrupt\n",
    );
    writeFileSync(join(dir, "results.log"), "");
    assert.equal(guestCrashedBooting({ code: 1, stdout: "", stderr: out }), true);
    assert.equal(guestCrashedBooting({ code: 0, stdout: "", stderr: out }), false, "it passed");
    assert.equal(guestCrashedBooting({ code: 1, stdout: "", stderr: "no dir" }), false);
    writeFileSync(join(dir, "results.log"), "connect: ok\n");
    assert.equal(guestCrashedBooting({ code: 100, stdout: out, stderr: "" }), false, "the job ran");
    writeFileSync(join(dir, "results.log"), "");
    writeFileSync(join(dir, "console.txt"), "nvme nvme0: qid 0: authentication failed\n");
    assert.equal(guestCrashedBooting({ code: 100, stdout: out, stderr: "" }), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { TransportType } from "@nvmf/proto";
import { hostHandoffFromNvList, unpackNvList } from "@nvmf/handoff";
import { main, runHandoffDemo, writeHostHandoff } from "./handoff.ts";

for (const worker of ["same-process", "process"] as const) {
  test(`the handoff demo carries on through new owners (worker: ${worker})`, async () => {
    const lines: string[] = [];
    const result = await runHandoffDemo({ worker, print: (line) => lines.push(line) });
    assert.equal(result.matched, true, lines.join("\n"));
    assert.equal(result.worker, worker);
    assert.equal(result.handedToWorker, 3); // the admin queue and two I/O queues
    if (worker === "process") assert.notEqual(result.workerPid, process.pid);
    else assert.equal(result.workerPid, process.pid);
    assert.equal(result.queues.length, 3);
    for (const q of result.queues) assert.equal(q.sqhd, q.sqtail);
    assert.ok(result.hostNvlistBytes > 4096 + 1024);
    const text = lines.join("\n");
    for (const step of ["host: handed off", "new owner: took controller", "identical", "done:"]) {
      assert.ok(text.includes(step), step);
    }
  });
}

test("--out writes the packed host handoff nvlist of a live loopback association", async () => {
  const file = join(tmpdir(), `nvmf-handoff-test-${process.pid}-${Date.now()}.nvlist`);
  try {
    const lines: string[] = [];
    const record = await writeHostHandoff(file, (line) => lines.push(line));
    const read = hostHandoffFromNvList(unpackNvList(new Uint8Array(readFileSync(file))));
    assert.deepEqual(read, record);
    assert.equal(read.trtype, TransportType.INTRA_HOST);
    assert.equal(read.admin.fd, undefined);
    assert.match(lines[0], /wrote the \d+-byte host handoff nvlist \(trtype 254\)/);
  } finally {
    rmSync(file, { force: true });
  }
});

test("main() refuses unknown flags", async () => {
  assert.equal(await main(["--bogus"]), 2);
  assert.equal(await main(["--out"]), 2);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { runDemo } from "./loopback.ts";

test("the loopback demo connects, identifies, writes, reads back and compares", async () => {
  const lines: string[] = [];
  const result = await runDemo((line) => lines.push(line), "demo-test");
  assert.equal(result.matched, true);
  assert.equal(result.blockSize, 512);
  assert.equal(result.blocks, (16 << 20) / 512);
  assert.equal(result.bytes, 65536);
  const text = lines.join("\n");
  for (
    const step of [
      "controller:",
      "host: connected",
      "identify controller",
      "identify namespace 1",
      "write:",
      "read back: 65536 bytes, identical",
      "compare (controller side): match",
      "host: shut down",
    ]
  ) {
    assert.ok(text.includes(step), step);
  }
});

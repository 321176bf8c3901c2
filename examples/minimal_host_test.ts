import { test } from "node:test";
import assert from "node:assert/strict";
import { RamBackend, Target } from "@nvmf/controller";
import "@nvmf/transport-loopback";
import { runHost } from "./minimal_host.ts";

test("the minimal host identifies, writes a block and reads it back over loopback", async () => {
  const target = new Target();
  target.addSubsystem({
    nqn: "nqn.2026-01.dev.nvmf.example:host-test",
    namespaces: [{ backend: new RamBackend({ size: 1n << 20n, blockSize: 512 }) }],
    allowAnyHost: true,
  });
  await target.listen("loopback", { traddr: "minimal-host-test" });
  try {
    const lines: string[] = [];
    const same = await runHost({
      transport: "loopback",
      address: { traddr: "minimal-host-test" },
      subnqn: "nqn.2026-01.dev.nvmf.example:host-test",
    }, (line) => lines.push(line));
    assert.equal(same, true);
    assert.match(lines[0], /^controller \d+: model "/);
    assert.equal(lines[1], "namespace 1: 2048 blocks of 512 bytes");
    assert.equal(lines[2], "wrote LBA 0 and read it back: same");
  } finally {
    await target.close();
  }
});

// Deno's op and resource sanitizers over the loopback transport's lifecycle: no timer, promise
// or resource may outlive a test. node:test cases are not sanitized under Deno, so these use
// Deno.test with the sanitizers on; under Bun this file defines nothing.
import assert from "node:assert/strict";
import { encodeSqe, NvmOpcode } from "@nvmf/proto";
import { Association, commandCapsule, QueuePairClosedError, TransportError } from "@nvmf/transport";
import { runCommand, serveDisk } from "@nvmf/transport/testing";
import { LoopbackTransport } from "./mod.ts";

// deno-lint-ignore no-explicit-any
const deno = (globalThis as any).Deno;

function sanitized(name: string, fn: () => Promise<void>): void {
  deno?.test({ name, sanitizeOps: true, sanitizeResources: true, sanitizeExit: true, fn });
}

async function open(t: LoopbackTransport, traddr: string) {
  const listener = await t.listen(new Association(t, true), { traddr });
  const host = await t.connect(new Association(t, false), {
    address: { traddr },
    admin: false,
    qid: 1,
    qsize: 16,
  });
  const ctrl = await listener.accept();
  ctrl.setConnected({ qid: 1, qsize: 16, sqFlowControl: true });
  return { listener, host, ctrl };
}

sanitized("loopback: I/O then an orderly close leaves nothing behind", async () => {
  const t = new LoopbackTransport();
  const { listener, host, ctrl } = await open(t, "s1");
  const served = serveDisk(ctrl, new Uint8Array(65536));
  await runCommand(host, NvmOpcode.WRITE, 1, 0, new Uint8Array(20000));
  await runCommand(host, NvmOpcode.READ, 2, 0, new Uint8Array(20000));
  await host.close();
  assert.equal(await served, 2);
  await listener.close();
});

sanitized("loopback: the delay hook's timers die with the connection", async () => {
  const t = new LoopbackTransport({ hooks: { delayMs: 50 } });
  const { listener, host, ctrl } = await open(t, "s2");
  for (let cid = 0; cid < 4; cid++) {
    await host.transmit(commandCapsule(encodeSqe({ opcode: NvmOpcode.FLUSH, cid })));
  }
  await host.close();
  await ctrl.closed;
  await listener.close();
});

sanitized(
  "loopback: a dropped connection rejects every waiter and leaves nothing behind",
  async () => {
    const t = new LoopbackTransport({ hooks: { dropAtCapsule: 2 } });
    const { listener, host, ctrl } = await open(t, "s3");
    const first = ctrl.receive();
    await host.transmit(commandCapsule(encodeSqe({ opcode: NvmOpcode.FLUSH, cid: 1 })));
    assert.equal((await first).kind, "command");
    const second = assert.rejects(ctrl.receive(), TransportError);
    await host.transmit(commandCapsule(encodeSqe({ opcode: NvmOpcode.FLUSH, cid: 2 }))); // dropped
    await second;
    await assert.rejects(host.receive(), TransportError);
    assert.ok((await host.closed) instanceof TransportError);
    assert.ok((await ctrl.closed) instanceof TransportError);
    await listener.close();
  },
);

sanitized("loopback: closing a listener rejects a pending accept", async () => {
  const t = new LoopbackTransport();
  const listener = await t.listen(new Association(t, true), { traddr: "s4" });
  const pending = listener.accept();
  await listener.close();
  await assert.rejects(pending, QueuePairClosedError);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  encodeSqe,
  GenericStatus,
  NvmeStatusError,
  NvmOpcode,
  setCqeStatus,
  SGL_IDENTIFIER,
  SQE_DPTR,
  StatusCodeType,
  statusOf,
} from "@nvmf/proto";
import { SGL_ID_IN_CAPSULE, SGL_ID_TRANSPORT } from "@nvmf/transport/implement";
import { commands, pattern, setup, snapshot } from "./_fixtures.ts";

// Namespace I/O against our controller over loopback: the commands, MDTS splits, queue depth,
// statuses and retries.

test("namespace I/O: write, read, compare, flush, write zeroes, deallocate, verify", async () => {
  const s = await setup();
  try {
    const ns = await s.ctrl.namespace(1);
    assert.equal(ns.blockSize, 512);
    assert.equal(ns.blocks, (4 << 20) / 512);
    const data = pattern(8 * 512, 1);
    await ns.write(10, data);
    assert.deepEqual(await ns.read(10, 8), data);
    const into = new Uint8Array(1024);
    assert.equal(await ns.read(12n, into), into);
    assert.deepEqual(into, data.subarray(1024, 2048));
    assert.equal(await ns.compare(10, data), true);
    assert.equal(await ns.compare(10, pattern(8 * 512, 2)), false);
    await ns.flush();
    await ns.writeZeroes(11, 2);
    const z = await ns.read(10, 4);
    assert.deepEqual(z.subarray(512, 1536), new Uint8Array(1024));
    assert.deepEqual(z.subarray(0, 512), data.subarray(0, 512));
    await ns.deallocate([{ lba: 100, blocks: 8 }, { lba: 200, blocks: 1 }]);
    await ns.verify(0, 64);
    await assert.rejects(ns.read(ns.blocks - 1, 2), RangeError);
    await assert.rejects(ns.write(0, new Uint8Array(100)), /whole number/);
    const names = commands(s.seen, 1).map((q) => q[0]);
    for (
      const op of [
        NvmOpcode.WRITE,
        NvmOpcode.READ,
        NvmOpcode.COMPARE,
        NvmOpcode.FLUSH,
        NvmOpcode.WRITE_ZEROES,
        NvmOpcode.DATASET_MANAGEMENT,
        NvmOpcode.VERIFY,
      ]
    ) {
      assert.ok(names.includes(op), `opcode ${op} sent`);
    }
  } finally {
    await s.close();
  }
});

test("transfers larger than MDTS are split, and data goes in the capsule only when it fits", async () => {
  const s = await setup({ size: 8 << 20 });
  try {
    const ns = await s.ctrl.namespace(1);
    const mdts = s.ctrl.maxTransferSize;
    assert.ok(Number.isFinite(mdts), "the controller reports an MDTS");
    const icd = (s.ctrl.cdata.ioccsz * 16) - 64;
    const size = mdts * 2 + 4096;
    const data = pattern(size, 3);
    s.seen.length = 0;
    await ns.write(0, data);
    const writes = commands(s.seen, 1).filter((q) => q[0] === NvmOpcode.WRITE);
    assert.equal(writes.length, 3);
    assert.deepEqual(await ns.read(0, size / 512), data);
    const reads = commands(s.seen, 1).filter((q) => q[0] === NvmOpcode.READ);
    assert.equal(reads.length, 3);
    assert.ok(reads.every((q) => q[SQE_DPTR + SGL_IDENTIFIER] === SGL_ID_TRANSPORT));
    // A write that fits IOCCSZ goes in the capsule; a larger one is fetched by the controller.
    s.seen.length = 0;
    await ns.write(0, pattern(512, 4));
    await ns.write(0, pattern(Math.ceil((icd + 1) / 512) * 512, 5));
    const ids = commands(s.seen, 1).map((q) => q[SQE_DPTR + SGL_IDENTIFIER]);
    assert.deepEqual(ids, [icd >= 512 ? SGL_ID_IN_CAPSULE : SGL_ID_TRANSPORT, SGL_ID_TRANSPORT]);
  } finally {
    await s.close();
  }
});

test("I/O respects the queue depth and spreads over the I/O queues", async () => {
  const s = await setup({ connect: { ioQueues: 3, queueSize: 4, kato: 0 } });
  try {
    assert.equal(s.ctrl.ioQueueSize, 4);
    const inflight = new Map<number, number>();
    let worst = 0;
    s.transport.hooks.observe = (e) => {
      if (e.qid === 0) return;
      const n = (inflight.get(e.qid) ?? 0) + (e.capsule.kind === "command" ? 1 : -1);
      inflight.set(e.qid, n);
      worst = Math.max(worst, n);
      s.seen.push(snapshot(e));
    };
    const ns = await s.ctrl.namespace(1);
    const writes = [];
    for (let i = 0; i < 60; i++) writes.push(ns.write(i * 4, pattern(2048, i)));
    await Promise.all(writes);
    assert.ok(worst <= 3, `at most qsize - 1 = 3 in flight per queue, saw ${worst}`);
    const perQueue = [1, 2, 3].map((qid) =>
      commands(s.seen, qid).filter((q) => q[0] === NvmOpcode.WRITE).length
    );
    assert.equal(perQueue.reduce((a, b) => a + b), 60);
    assert.ok(perQueue.every((n) => n > 0), `every queue used: ${perQueue}`);
    for (let i = 0; i < 60; i += 7) assert.deepEqual(await ns.read(i * 4, 4), pattern(2048, i));
  } finally {
    await s.close();
  }
});

test("a status error carries the decoded NVMe status", async () => {
  const s = await setup();
  try {
    await assert.rejects(
      s.ctrl.ioCommand(encodeSqe({ opcode: 0x7e, nsid: 1 })),
      (e) =>
        e instanceof NvmeStatusError && e.sct === StatusCodeType.GENERIC &&
        e.sc === GenericStatus.INVALID_COMMAND_OPCODE && /INVALID_COMMAND_OPCODE/.test(e.message),
    );
    await assert.rejects(s.ctrl.namespace(77), /not active|INVALID/);
  } finally {
    await s.close();
  }
});

test("I/O failing without DNR is retried; with DNR it fails at once", async () => {
  const s = await setup();
  try {
    const ns = await s.ctrl.namespace(1);
    let rewrite = 0;
    let dnr = false;
    s.transport.hooks.corrupt = (e) => {
      if (e.capsule.kind !== "response" || e.qid !== 1 || rewrite === 0) return;
      rewrite--;
      setCqeStatus(
        e.capsule.cqe,
        statusOf(StatusCodeType.GENERIC, GenericStatus.NAMESPACE_NOT_READY, dnr),
      );
    };
    s.seen.length = 0;
    rewrite = 2;
    await ns.read(0, 1);
    assert.equal(commands(s.seen, 1).filter((q) => q[0] === NvmOpcode.READ).length, 3);
    s.seen.length = 0;
    rewrite = 1;
    dnr = true;
    await assert.rejects(
      ns.read(0, 1),
      (e) => e instanceof NvmeStatusError && e.dnr && e.sc === GenericStatus.NAMESPACE_NOT_READY,
    );
    assert.equal(commands(s.seen, 1).filter((q) => q[0] === NvmOpcode.READ).length, 1);
  } finally {
    await s.close();
  }
});

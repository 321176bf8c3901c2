// Bad input is normal input: a connected host sends thousands of random admin and I/O commands
// (random opcodes and fields, random data of random direction and size) and every one must get a
// completion; the target must stay healthy and leak no controller. A fixed-seed PRNG keeps every
// run the same; a failing case prints its seed and index.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AdminOpcode, encodeSqe, FABRICS_OPCODE, NvmOpcode } from "@nvmf/proto";
import type { DataDirection } from "@nvmf/transport";
import { connectController, connectQueue, startTarget, SUBNQN } from "./_testing.ts";

/** xorshift32: small, fast and the same everywhere. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const ADMIN = Object.values(AdminOpcode);
const NVM = Object.values(NvmOpcode);

function randomCommand(next: () => number, admin: boolean, cid: number) {
  const r = () => next();
  const opcodes = admin ? ADMIN : NVM;
  // Mostly known opcodes (so the decoding paths run), sometimes anything at all.
  let opcode = r() % 4 === 0 ? r() & 0xff : opcodes[r() % opcodes.length];
  // Fabrics commands (Property Set can reset the controller; Disconnect ends the queue) have
  // tests of their own; here they would end the association after a few commands.
  if (opcode === FABRICS_OPCODE) opcode = AdminOpcode.IDENTIFY;
  // An AER would only complete on an event, and Keep Alive/Abort are tested elsewhere.
  if (opcode === AdminOpcode.ASYNC_EVENT_REQUEST) opcode = AdminOpcode.GET_FEATURES;
  const small = () => (r() % 3 === 0 ? r() : r() & 0xff);
  const sqe = encodeSqe({
    opcode,
    cid,
    fuse: r() % 16 === 0 ? r() & 3 : 0,
    nsid: [0, 1, 2, 0xffffffff, r()][r() % 5],
    cdw10: small(),
    cdw11: small(),
    cdw12: r() % 2 ? r() & 0x3f : r(),
    cdw13: small(),
    cdw14: small(),
    cdw15: small(),
  });
  const sizes = [0, 1, 511, 512, 4096, 8192, 65536];
  const size = sizes[r() % sizes.length];
  let data: Uint8Array | undefined;
  let direction: DataDirection | undefined;
  if (size > 0) {
    data = new Uint8Array(size);
    for (let i = 0; i < size; i += 97) data[i] = r() & 0xff;
    direction = r() % 2 ? "host-to-controller" : "controller-to-host";
  }
  return { sqe, data, direction };
}

for (const seed of [1, 2, 3]) {
  test(`the controller completes ${2000} random commands (seed ${seed}) and stays healthy`, async () => {
    const t = await startTarget({}, {}, [512, 4096]);
    const open = async () => {
      const { admin, cntlid } = await connectController(t.transport, "t", { subnqn: SUBNQN });
      const { queue: io, cqe } = await connectQueue(t.transport, "t", {
        subnqn: SUBNQN,
        qid: 1,
        cntlid,
      });
      assert.equal(cqe.status, 0);
      return { admin, io };
    };
    let { admin, io } = await open();
    const next = prng(seed);
    let completed = 0;
    let ended = 0;
    for (let i = 0; i < 2000; i++) {
      const queue = i % 2 === 0 ? admin : io;
      const { sqe, data, direction } = randomCommand(next, queue === admin, queue.nextCid());
      const outcome = await Promise.race([
        queue.raw(sqe, data, direction).then(() => "completed"),
        queue.qp.closed.then((e) => e === undefined ? "closed" : `ended: ${e.code}`),
        new Promise<string>((resolve) => {
          const timer = setTimeout(() => resolve("no answer"), 5000);
          (timer as { unref?: () => void }).unref?.();
        }),
      ]);
      if (outcome === "completed") {
        completed++;
        continue;
      }
      // The one way a command may end an association: data that contradicts its own SGL, which
      // NVMe/TCP answers with a TermReq. Then the host connects again, as Linux's would.
      assert.equal(
        outcome,
        "ended: protocol",
        `seed ${seed} command ${i} (opcode 0x${sqe[0].toString(16)})`,
      );
      ended++;
      await admin.close();
      await io.close();
      ({ admin, io } = await open());
    }
    assert.equal(completed + ended, 2000);
    assert.ok(completed > 1900, `only ${completed} of 2000 completed`);
    // The target still serves a fresh association.
    const again = await connectController(t.transport, "t", { subnqn: SUBNQN });
    const ok = await again.admin.command(
      { opcode: AdminOpcode.IDENTIFY, cdw10: 1 },
      new Uint8Array(4096),
      "controller-to-host",
    );
    assert.equal(ok.status >> 1, 0);
    await again.admin.close();
    await admin.close();
    await io.close();
    await t.target.close();
    assert.deepEqual(t.errors, []);
    assert.equal(t.target.controllers.length, 0);
  });
}

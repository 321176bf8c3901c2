import { test } from "node:test";
import assert from "node:assert/strict";
import { RamBackend, Target } from "@nvmf/controller";
import { AdminOpcode, GenericStatus, NvmeStatusError, NvmOpcode, Oncs } from "@nvmf/proto";
import type { Listener, QueuePair, Transport } from "@nvmf/transport";
import { LoopbackTransport } from "@nvmf/transport-loopback";
import { connect } from "./mod.ts";

// Optional NVM commands are checked against ONCS before they are sent (issue 13): against a
// controller without Compare (Linux's target), `compare` says so and sends nothing.

/** A loopback fabric whose controller reports ONCS `oncs` in Identify Controller. */
function withOncs(loop: LoopbackTransport, oncs: number): Transport {
  const t = Object.create(loop) as Transport;
  t.listen = async (na, address) => {
    const l = await loop.listen(na, address);
    const wrapped: Listener = {
      address: l.address,
      accept: async () => {
        const qp: QueuePair = await l.accept();
        const send = qp.sendControllerData.bind(qp);
        qp.sendControllerData = (cmd, offset, data, last) => {
          if (cmd.sqe[0] === AdminOpcode.IDENTIFY && cmd.sqe[40] === 1 && qp.qid === 0) {
            data = data.slice();
            data[520] = oncs;
            data[521] = oncs >>> 8;
          }
          return send(cmd, offset, data, last);
        };
        return qp;
      },
      close: () => l.close(),
    };
    return wrapped;
  };
  return t;
}

test("optional commands the controller's ONCS lacks fail before anything is sent", async () => {
  // I/O commands sent, by opcode (read as they cross: SQE buffers are reused).
  const seen: number[] = [];
  const loop = new LoopbackTransport({
    hooks: {
      observe: (e) => {
        if (e.capsule.kind === "command" && e.qid !== 0) seen.push(e.capsule.sqe[0]);
      },
    },
  });
  const target = new Target();
  const nqn = "nqn.2026-01.test.host:oncs";
  target.addSubsystem({
    nqn,
    namespaces: [{ backend: new RamBackend({ size: 1 << 20, blockSize: 512 }) }],
  });
  await target.listen(withOncs(loop, Oncs.DATASET_MANAGEMENT), { traddr: "oncs" });
  const ctrl = await connect({ transport: loop, address: { traddr: "oncs" }, subnqn: nqn });
  try {
    assert.equal(ctrl.cdata.oncs, Oncs.DATASET_MANAGEMENT);
    const ns = await ctrl.namespace(1);
    const before = seen.length;
    const data = new Uint8Array(512);
    for (
      const [name, run, text] of [
        ["compare", () => ns.compare(0, data), /does not support Compare \(ONCS bit 0/],
        ["write zeroes", () => ns.writeZeroes(0, 1), /does not support Write Zeroes/],
        ["verify", () => ns.verify(0, 1), /does not support Verify/],
      ] as const
    ) {
      await assert.rejects(run(), (e) => {
        assert.ok(e instanceof NvmeStatusError, name);
        assert.equal(e.sc, GenericStatus.INVALID_COMMAND_OPCODE);
        assert.match(e.message, text);
        return true;
      });
    }
    assert.equal(seen.length, before, "nothing was sent");
    // A supported one goes out.
    await ns.deallocate(0, 1);
    assert.deepEqual(seen.slice(before), [NvmOpcode.DATASET_MANAGEMENT]);
  } finally {
    await ctrl.close();
    await target.close();
  }
});

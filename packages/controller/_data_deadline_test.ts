import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeSqe, NvmOpcode, SGL_IDENTIFIER, SglSubtype, SglType, SQE_DPTR } from "@nvmf/proto";
import type { CommandCapsule, QueuePair } from "@nvmf/transport";
import { DataTimeoutError, receiveWithin } from "./_data_deadline.ts";

/** A queue pair whose data for each command arrives when the test says. */
function fakeQueuePair() {
  const arrivals: (() => void)[] = [];
  const qp = {
    receiveControllerData: () => new Promise<void>((resolve) => arrivals.push(resolve)),
  } as unknown as QueuePair;
  return { qp, arrivals };
}

function command(inCapsule: boolean): CommandCapsule {
  const sqe = encodeSqe({ opcode: NvmOpcode.WRITE, cid: 1, nsid: 1 });
  sqe[SQE_DPTR + SGL_IDENTIFIER] = inCapsule
    ? (SglType.DATA_BLOCK << 4) | SglSubtype.OFFSET
    : (SglType.TRANSPORT_DATA_BLOCK << 4) | SglSubtype.TRANSPORT_SPECIFIC;
  return { kind: "command", sqe } as unknown as CommandCapsule;
}

test("receiveWithin(): each transfer has its own deadline under the one shared timer", async () => {
  const { qp, arrivals } = fakeQueuePair();
  const into = new Uint8Array(8);
  const t0 = performance.now();
  const slow = receiveWithin(qp, command(false), into, 5_000);
  const stuck = receiveWithin(qp, command(false), into, 50); // earlier deadline, added later
  const quick = receiveWithin(qp, command(false), into, 60);
  arrivals[2](); // the third one's data comes
  await quick;
  await assert.rejects(
    stuck,
    (e) => e instanceof DataTimeoutError && /8-byte.*50 ms/.test(e.message),
  );
  const ms = performance.now() - t0;
  assert.ok(ms >= 45 && ms < 2_000, `the 50 ms deadline passed after ${ms} ms`);
  arrivals[0](); // long before its own deadline
  await slow;
});

test("receiveWithin(): in-capsule data and no deadline wait without a timer", async () => {
  const { qp, arrivals } = fakeQueuePair();
  const into = new Uint8Array(8);
  const a = receiveWithin(qp, command(true), into, 10);
  const b = receiveWithin(qp, command(false), into, 0);
  await new Promise((resolve) => setTimeout(resolve, 40));
  arrivals[0]();
  arrivals[1]();
  await Promise.all([a, b]);
});

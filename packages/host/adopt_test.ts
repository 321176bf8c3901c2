import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeDiscoveryLogEntry } from "@nvmf/proto";
import { setup } from "./_fixtures.ts";
import { adopt } from "./mod.ts";

// The host's half of a handoff: associationState(), handoff() and adopt().

test("associationState() gives what a handoff needs", async () => {
  const s = await setup({ connect: { ioQueues: 2, asyncEvents: false, kato: 0 } });
  try {
    const st = s.ctrl.associationState();
    assert.equal(st.admin.qid, 0);
    assert.deepEqual(st.io.map((q) => q.qid), [1, 2]);
    assert.equal(st.cdata.length, 4096);
    const dle = decodeDiscoveryLogEntry(st.discoveryEntry);
    assert.equal(dle.subnqn, s.nqn);
    assert.equal(dle.traddr, s.traddr);
    assert.equal(dle.trtype, s.transport.trtype);
    assert.equal(st.io[0].state().sqhd, st.io[0].state().sqtail);
  } finally {
    await s.close();
  }
});

test("adopt() refuses queue pairs of the wrong role and Identify data of the wrong size", async () => {
  const s = await setup({ connect: { ioQueues: 1, asyncEvents: false, kato: 0 } });
  try {
    const st = s.ctrl.associationState();
    const base = { address: { traddr: s.traddr }, subnqn: s.nqn, kato: 0 };
    await assert.rejects(
      adopt({ ...base, admin: st.io[0], io: [], cdata: st.cdata }),
      (e) => e instanceof TypeError && /not a host admin queue pair/.test(e.message),
    );
    await assert.rejects(
      adopt({ ...base, admin: st.admin, io: [st.admin], cdata: st.cdata }),
      TypeError,
    );
    await assert.rejects(
      adopt({ ...base, admin: st.admin, io: st.io, cdata: st.cdata.subarray(0, 512) }),
      (e) => e instanceof RangeError && /512 bytes, not 4096/.test(e.message),
    );
    assert.equal(s.ctrl.state, "live", "nothing was taken from the live controller");
  } finally {
    await s.close();
  }
});

test("handoff() refuses a controller that posts Asynchronous Event Requests", async () => {
  const s = await setup({ connect: { kato: 0 } });
  try {
    await assert.rejects(
      s.ctrl.handoff(),
      (e) => e instanceof TypeError && /asyncEvents/.test(e.message),
    );
    assert.equal(s.ctrl.state, "live");
  } finally {
    await s.close();
  }
});

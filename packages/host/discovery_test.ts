import { test } from "node:test";
import assert from "node:assert/strict";
import { RamBackend } from "@nvmf/controller";
import { AdminOpcode, DISCOVERY_NQN, LogPageId, SubsystemType } from "@nvmf/proto";
import { setup } from "./_fixtures.ts";
import { connect, connectEntry, discover } from "./mod.ts";

// discover() and connectEntry(), and a discovery controller association.

test("discover() reads the whole log page and starts over when GENCTR moves", async () => {
  const s = await setup({ connect: { kato: 0 } });
  try {
    let logReads = 0;
    let added = false;
    const observe = s.transport.hooks.observe!;
    s.transport.hooks.observe = (e) => {
      observe(e);
      if (e.capsule.kind !== "command" || e.capsule.sqe[0] !== AdminOpcode.GET_LOG_PAGE) return;
      if (e.capsule.sqe[40] !== LogPageId.DISCOVERY) return;
      logReads++;
      if (logReads === 2 && !added) {
        added = true; // between reading the entries and re-reading the header
        s.target.addSubsystem({
          nqn: `${s.nqn}-late`,
          namespaces: [{ backend: new RamBackend({ size: 1 << 20, blockSize: 512 }) }],
          allowAnyHost: true,
        });
      }
    };
    const entries = await discover({
      transport: s.transport,
      address: { traddr: s.traddr },
    });
    assert.ok(logReads >= 5, `the log was read again (${logReads} reads)`);
    const nqns = entries.filter((e) => e.subtype === SubsystemType.NVME).map((e) => e.subnqn);
    assert.ok(nqns.includes(s.nqn));
    assert.ok(nqns.includes(`${s.nqn}-late`));
  } finally {
    await s.close();
  }
});

test("a discovery controller association, and connectEntry() to one of its entries", async () => {
  const s = await setup({ connect: { kato: 0 } });
  try {
    const d = await connect({
      transport: s.transport,
      address: { traddr: s.traddr },
      subnqn: DISCOVERY_NQN,
    });
    assert.equal(d.discovery, true);
    assert.equal(d.ioQueueCount, 0);
    assert.equal(d.kato, 0);
    const log = await d.getDiscoveryLog();
    await d.close();
    assert.equal(log.header.numrec, BigInt(log.entries.length));
    const entry = log.entries.find((e) => e.subnqn === s.nqn)!;
    assert.equal(entry.traddr, s.traddr);
    const ctrl = await connectEntry(entry, {
      transport: s.transport,
      kato: 0,
    });
    assert.equal(ctrl.cdata.subnqn, s.nqn);
    await ctrl.close();
  } finally {
    await s.close();
  }
});

// The host against a hostile or broken controller (issue #15, part 1): each family of
// misbehaviour, over NVMe/TCP and over the loopback where it applies. Every case must end the
// affected command or association with a typed error within its timeout, and never hand data
// from a confused transfer to the caller as good.
import { test } from "node:test";
import assert from "node:assert/strict";
import "@nvmf/transport-tcp";
import {
  HOSTILE_BLOCK,
  HOSTILE_NQN,
  HOSTILE_TRANSPORTS,
  type HostileController,
  type HostileScript,
  hostileTcp,
} from "./_hostile.ts";
import { connect, type ConnectOptions, type HostController } from "./mod.ts";

/** Short timeouts: every case ends in a few hundred ms. */
function options(h: HostileController, extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return {
    transport: h.transport,
    address: h.address,
    subnqn: HOSTILE_NQN,
    kato: 0,
    adminTimeout: 300,
    commandTimeout: 300,
    ctrlLossTimeout: 0,
    reconnectDelay: 10,
    maxRetries: 0,
    asyncEvents: false,
    ...extra,
  };
}

async function withHostile(
  start: (script?: HostileScript) => Promise<HostileController>,
  script: HostileScript,
  body: (h: HostileController) => Promise<void>,
): Promise<void> {
  const h = await start(script);
  try {
    await body(h);
  } finally {
    await h.close();
  }
}

async function closeQuietly(ctrl: HostController | undefined): Promise<void> {
  await ctrl?.close().catch(() => {});
}

for (const { name, start } of HOSTILE_TRANSPORTS) {
  test(`hostile harness over ${name}: a well-behaved script connects, reads and writes`, async () => {
    await withHostile(start, {}, async (h) => {
      const ctrl = await connect(options(h));
      try {
        const ns = await ctrl.namespace(1);
        assert.equal(ns.blockSize, HOSTILE_BLOCK);
        const data = await ns.read(3n, 2);
        assert.equal(data[0], 3);
        assert.equal(data[HOSTILE_BLOCK], 4);
        await ns.write(0n, new Uint8Array(64 * 1024));
        await ns.write(0n, new Uint8Array(512));
      } finally {
        await ctrl.close();
      }
    });
  });
}
void hostileTcp;
void closeQuietly;

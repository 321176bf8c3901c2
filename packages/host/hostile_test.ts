// The host against a hostile or broken controller (issue #15, part 1): each family of
// misbehaviour, over NVMe/TCP and over the loopback where it applies. Every case must end the
// affected command or association with a typed error within its timeout, and never hand data
// from a confused transfer to the caller as good. docs/RELIABILITY.md lists the families.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AdminOpcode,
  DISCOVERY_NQN,
  encodePdu,
  FabricsType,
  Fes,
  GenericStatus,
  NvmeStatusError,
  NvmOpcode,
  PduType,
  Property,
  StatusCodeType,
  statusOf,
} from "@nvmf/proto";
import { TransportError } from "@nvmf/transport";
import "@nvmf/transport-tcp";
import {
  HOSTILE_BLOCK,
  HOSTILE_NQN,
  HOSTILE_TRANSPORTS,
  type HostileCommand,
  type HostileController,
  type HostileScript,
  hostileTcp,
  type Reply,
  type Step,
} from "./_hostile.ts";
import {
  CommandTimeoutError,
  connect,
  type ConnectOptions,
  ControllerError,
  ControllerLostError,
  type HostController,
} from "./mod.ts";

type Start = (script?: HostileScript) => Promise<HostileController>;
const BOTH = HOSTILE_TRANSPORTS;

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

/** A fault that applies only once `armed` is set (after connect), or always. */
function armed(
  fault: (c: HostileCommand, plan: Step[], reply: Reply) => Step[] | undefined,
): { script: HostileScript; arm(): void } {
  let on = false;
  return {
    script: { fault: (c, plan, reply) => on ? fault(c, plan, reply) : undefined },
    arm: () => on = true,
  };
}

async function withHostile(
  start: Start,
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

/** Awaits a rejection, checks it, and that it came within `bound` ms. */
async function rejects(
  work: Promise<unknown>,
  check: { type: new (...a: never[]) => Error; message?: RegExp; code?: string },
  bound = 3000,
): Promise<Error> {
  const t0 = performance.now();
  let error: unknown;
  try {
    await work;
  } catch (e) {
    error = e;
  }
  const elapsed = performance.now() - t0;
  assert.ok(error !== undefined, "expected an error, the operation succeeded");
  assert.ok(
    error instanceof check.type,
    `expected ${check.type.name}, got ${(error as Error)?.name}: ${(error as Error)?.message}`,
  );
  if (check.message) assert.match((error as Error).message, check.message);
  if (check.code) assert.equal((error as { code?: string }).code, check.code);
  assert.ok(elapsed < bound, `took ${elapsed} ms`);
  return error as Error;
}

const isIo = (c: HostileCommand, opcode: number) => c.qid > 0 && c.opcode === opcode;
const isAdmin = (c: HostileCommand, opcode: number) => c.qid === 0 && c.opcode === opcode;
const isFabrics = (c: HostileCommand, fctype: number) => c.opcode === 0x7f && c.fctype === fctype;
const DATA_TRANSFER = /DATA_TRANSFER_ERROR/;

async function live(h: HostileController, extra: Partial<ConnectOptions> = {}) {
  const ctrl = await connect(options(h, extra));
  return ctrl;
}

async function closeQuietly(ctrl: HostController | undefined): Promise<void> {
  await ctrl?.close().catch(() => {});
}

// ---------------------------------------------------------------------------------------------
// The harness itself

for (const { name, start } of BOTH) {
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

// ---------------------------------------------------------------------------------------------
// ICResp (TCP): malformed, truncated, a TermReq instead, silence, one byte every 100 ms

const icrespCases: [string, () => Uint8Array | "silence", RegExp][] = [
  ["a truncated ICResp", () => goodIcResp().subarray(0, 64), /closed|ICResp/],
  ["an ICResp with PLEN 200", () => {
    const b = goodIcResp();
    new DataView(b.buffer).setUint32(4, 200, true);
    return b;
  }, /PLEN/],
  ["an ICResp with PFV 1", () => {
    const b = goodIcResp();
    b[8] = 1;
    return b;
  }, /PFV/],
  ["an ICResp with MAXH2CDATA 0", () => {
    const b = goodIcResp();
    new DataView(b.buffer).setUint32(12, 0, true);
    return b;
  }, /MAXH2CDATA/],
  ["a TermReq instead of the ICResp", () =>
    encodePdu({
      type: PduType.C2H_TERM_REQ,
      fes: Fes.UNSUPPORTED_PARAMETER,
      fei: 0,
      data: new Uint8Array(8),
    }, { hdgst: false, ddgst: false, pda: 0 }), /TermReq/],
  [
    "a CapsuleResp instead of the ICResp",
    () =>
      encodePdu({ type: PduType.CAPSULE_RESP, cqe: new Uint8Array(16) }, {
        hdgst: false,
        ddgst: false,
        pda: 0,
      }),
    /Expected ICResp/,
  ],
  ["an ICResp whose PLEN is a gigabyte", () => {
    const b = goodIcResp();
    new DataView(b.buffer).setUint32(4, 1 << 30, true);
    return b;
  }, /PLEN/],
  ["silence instead of the ICResp", () => "silence", /Aborted|Timed out/],
];

function goodIcResp(): Uint8Array {
  return encodePdu({
    type: PduType.IC_RESP,
    pfv: 0,
    cpda: 0,
    hdgst: false,
    ddgst: false,
    maxh2cdata: 131072,
  }, { hdgst: false, ddgst: false, pda: 0 });
}

for (const [what, icresp, message] of icrespCases) {
  test(`hostile ICResp over tcp: ${what} fails connect() with a TransportError`, async () => {
    await withHostile(hostileTcp, { icresp }, async (h) => {
      await rejects(
        connect(options(h, { signal: AbortSignal.timeout(300) })),
        { type: TransportError, message },
      );
    });
  });
}

test("hostile ICResp over tcp: one byte every 100 ms ends with the connect signal", async () => {
  const trickle = goodIcResp();
  await withHostile(hostileTcp, {
    icresp: () => trickle.subarray(0, 1),
  }, async (h) => {
    await rejects(
      connect(options(h, { signal: AbortSignal.timeout(250) })),
      { type: TransportError, message: /Aborted/ },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Connect

for (const { name, start } of BOTH) {
  test(`hostile Connect over ${name}: a reserved CNTLID (FFFFh) in the response is refused`, async () => {
    await withHostile(start, {
      fault: (c) =>
        isFabrics(c, FabricsType.CONNECT) && c.qid === 0
          ? [{ kind: "cqe", dw0: 0xffff }]
          : undefined,
    }, async (h) => {
      await rejects(connect(options(h)), { type: ControllerError, message: /CNTLID/ });
    });
  });

  test(`hostile Connect over ${name}: an I/O queue's CNTLID other than the admin queue's is refused`, async () => {
    await withHostile(start, {
      fault: (c) =>
        isFabrics(c, FabricsType.CONNECT) && c.qid > 0 ? [{ kind: "cqe", dw0: 7 }] : undefined,
    }, async (h) => {
      await rejects(connect(options(h)), { type: ControllerError, message: /CNTLID 7/ });
    });
  });

  test(`hostile Connect over ${name}: a static CNTLID asked for and another given is refused`, async () => {
    await withHostile(start, {}, async (h) => {
      await rejects(connect(options(h, { cntlid: 5 })), {
        type: ControllerError,
        message: /CNTLID 1.*5|asked for 5/,
      });
    });
  });

  test(`hostile Connect over ${name}: no answer fails connect() with a timeout`, async () => {
    await withHostile(start, {
      fault: (c) => isFabrics(c, FabricsType.CONNECT) ? [] : undefined,
    }, async (h) => {
      await rejects(connect(options(h)), { type: CommandTimeoutError, message: /CONNECT/ });
    });
  });

  test(`hostile Connect over ${name}: a reset instead of the answer fails connect()`, async () => {
    await withHostile(start, {
      fault: (c) => isFabrics(c, FabricsType.CONNECT) ? [{ kind: "reset" }] : undefined,
    }, async (h) => {
      await rejects(connect(options(h)), { type: Error, message: /closed|CONNECT|down/ });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Properties and enabling: absurd CAP, CSTS.CFS, RDY that never comes

for (const { name, start } of BOTH) {
  test(`hostile CAP over ${name}: MQES 0 is refused`, async () => {
    await withHostile(start, { cap: { mqes: 0 } }, async (h) => {
      await rejects(connect(options(h)), { type: ControllerError, message: /I\/O queues hold/ });
    });
  });

  test(`hostile CAP over ${name}: no NVM command set is refused`, async () => {
    await withHostile(start, { cap: { css: 0 } }, async (h) => {
      await rejects(connect(options(h)), { type: ControllerError, message: /CSS/ });
    });
  });

  test(`hostile CSTS over ${name}: RDY that never comes ends at CAP.TO (TO 0: 500 ms)`, async () => {
    await withHostile(start, {
      cap: { to: 0 },
      fault: (c, _plan, reply) =>
        isFabrics(c, FabricsType.PROPERTY_GET) && c.property === Property.CSTS
          ? [{ kind: "cqe", dw0: reply.dw0 & ~1 }]
          : undefined,
    }, async (h) => {
      await rejects(connect(options(h)), { type: ControllerError, code: "not-ready" });
    });
  });

  test(`hostile CSTS over ${name}: CFS fails the enable`, async () => {
    await withHostile(start, {
      fault: (c) =>
        isFabrics(c, FabricsType.PROPERTY_GET) && c.property === Property.CSTS
          ? [{ kind: "cqe", dw0: 2 }]
          : undefined,
    }, async (h) => {
      await rejects(connect(options(h)), { type: ControllerError, code: "fatal" });
    });
  });

  test(`hostile Property Get over ${name}: no answer fails connect() with a timeout`, async () => {
    await withHostile(start, {
      fault: (c) => isFabrics(c, FabricsType.PROPERTY_GET) ? [] : undefined,
    }, async (h) => {
      await rejects(connect(options(h)), { type: CommandTimeoutError, message: /PROPERTY_GET/ });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// CQE fields: unknown, duplicate and stale CIDs, wrong SQID and SQHD

for (const { name, start } of BOTH) {
  test(`hostile CQE over ${name}: a completion for an unknown CID is a transport error`, async () => {
    const s = armed((c) =>
      isIo(c, NvmOpcode.READ) ? [{ kind: "data" }, { kind: "cqe", cid: c.cid + 40 }] : undefined
    );
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        const ns = await ctrl.namespace(1);
        s.arm();
        await rejects(ns.read(0n, 8), { type: TransportError, message: /CID|command/ });
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile CQE over ${name}: a repeated completion ends the association, not a later command`, async () => {
    let reads = 0;
    const s = armed((c) => {
      if (!isIo(c, NvmOpcode.READ)) return undefined;
      if (++reads === 1) return [{ kind: "data" }, { kind: "cqe" }, { kind: "cqe" }];
      return [];
    });
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        const ns = await ctrl.namespace(1);
        s.arm();
        const first = await ns.read(2n, 8);
        assert.equal(first[0], 2, "the first read is whole");
        // Rejected with the transport error, or given up (ctrlLossTimeout 0) because of it.
        const e = await rejects(ns.read(0n, 8), { type: Error });
        assert.ok(e instanceof TransportError || e instanceof ControllerLostError, e.name);
        const why = e instanceof ControllerLostError ? (e.cause as Error) : e;
        assert.match(why.message, /CID \d+, which has no command outstanding/);
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile CQE over ${name}: a stale completion (the previous command's CID) is refused`, async () => {
    let last = -1;
    const s = armed((c) => {
      if (!isIo(c, NvmOpcode.READ)) return undefined;
      const prev = last;
      last = c.cid;
      if (prev < 0) return undefined;
      return [{ kind: "data" }, { kind: "cqe", cid: prev }];
    });
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        const ns = await ctrl.namespace(1);
        s.arm();
        await ns.read(0n, 8);
        await rejects(ns.read(0n, 8), { type: TransportError, message: /CID/ });
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile CQE over ${name}: a wrong SQID is a transport error`, async () => {
    const s = armed((c) =>
      isIo(c, NvmOpcode.READ) ? [{ kind: "data" }, { kind: "cqe", sqid: 9 }] : undefined
    );
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        const ns = await ctrl.namespace(1);
        s.arm();
        await rejects(ns.read(0n, 8), { type: TransportError, message: /SQID 9/ });
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile CQE over ${name}: an SQHD past the SQ tail is a transport error`, async () => {
    const s = armed((c) =>
      isIo(c, NvmOpcode.READ) ? [{ kind: "data" }, { kind: "cqe", sqhd: 77 }] : undefined
    );
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        const ns = await ctrl.namespace(1);
        s.arm();
        await rejects(ns.read(0n, 8), { type: TransportError, message: /SQHD 77/ });
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });
}

test("hostile CQE over tcp: a bad header digest is fatal: TermReq FES 3", async () => {
  const s = armed((c) =>
    isIo(c, NvmOpcode.READ) ? [{ kind: "data" }, { kind: "cqe", badDigest: true }] : undefined
  );
  await withHostile(hostileTcp, s.script, async (h) => {
    const ctrl = await live(h, { headerDigests: true });
    try {
      const ns = await ctrl.namespace(1);
      s.arm();
      await rejects(ns.read(0n, 8), { type: TransportError, message: /HEADER_DIGEST|digest/i });
    } finally {
      await closeQuietly(ctrl);
    }
  });
});

test("hostile CQE over tcp: a TermReq instead of a completion ends the association", async () => {
  const s = armed((c) =>
    isIo(c, NvmOpcode.READ)
      ? [{
        kind: "raw",
        bytes: encodePdu({
          type: PduType.C2H_TERM_REQ,
          fes: Fes.PDU_SEQUENCE_ERROR,
          fei: 0,
          data: new Uint8Array(8),
        }, { hdgst: false, ddgst: false, pda: 0 }),
      }]
      : undefined
  );
  await withHostile(hostileTcp, s.script, async (h) => {
    const ctrl = await live(h);
    try {
      const ns = await ctrl.namespace(1);
      s.arm();
      await rejects(ns.read(0n, 8), { type: TransportError, code: "termreq" });
    } finally {
      await closeQuietly(ctrl);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// C2HData: short, none, beyond the buffer, out of order, overlapping, without LAST_PDU, SUCCESS
// while SQ flow control is on, for a CID with nothing outstanding, wrong digest, huge PLEN

const half = (r: Reply) => r.data!.subarray(0, r.data!.length / 2);

for (const { name, start } of BOTH) {
  test(`hostile C2HData over ${name}: Identify data short then success is a data transfer error`, async () => {
    const s = armed((c, _p, r) =>
      isAdmin(c, AdminOpcode.IDENTIFY)
        ? [{ kind: "data", data: r.data!.subarray(0, 512) }, { kind: "cqe" }]
        : undefined
    );
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        s.arm();
        const e = await rejects(ctrl.identify(), { type: NvmeStatusError, message: /512 of 4096/ });
        assert.equal((e as NvmeStatusError).sc, GenericStatus.DATA_TRANSFER_ERROR);
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile C2HData over ${name}: Identify with no data then success is a data transfer error`, async () => {
    const s = armed((c) => isAdmin(c, AdminOpcode.IDENTIFY) ? [{ kind: "cqe" }] : undefined);
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        s.arm();
        await rejects(ctrl.identify(), { type: NvmeStatusError, message: /0 of 4096/ });
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile C2HData over ${name}: a read with half its data then success is a data transfer error`, async () => {
    const s = armed((c, _p, r) =>
      isIo(c, NvmOpcode.READ)
        ? [{ kind: "data", data: half(r), last: false }, { kind: "cqe" }]
        : undefined
    );
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        const ns = await ctrl.namespace(1);
        s.arm();
        await rejects(ns.read(0n, 8), { type: NvmeStatusError, message: DATA_TRANSFER });
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile C2HData over ${name}: out of order is a transport error`, async () => {
    const s = armed((c, _p, r) =>
      isIo(c, NvmOpcode.READ)
        ? [
          { kind: "data", offset: 2048, data: r.data!.subarray(2048), last: false },
          { kind: "data", offset: 0, data: half(r) },
          { kind: "cqe" },
        ]
        : undefined
    );
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        const ns = await ctrl.namespace(1);
        s.arm();
        await rejects(ns.read(0n, 8), { type: TransportError, message: /offset 2048/ });
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile C2HData over ${name}: overlapping pieces are a transport error`, async () => {
    const s = armed((c, _p, r) =>
      isIo(c, NvmOpcode.READ)
        ? [
          { kind: "data", offset: 0, data: r.data!.subarray(0, 3072), last: false },
          { kind: "data", offset: 2048, data: r.data!.subarray(2048) },
          { kind: "cqe" },
        ]
        : undefined
    );
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        const ns = await ctrl.namespace(1);
        s.arm();
        await rejects(ns.read(0n, 8), { type: TransportError, message: /offset 2048/ });
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile C2HData over ${name}: all the data without LAST_PDU, then success, is accepted`, async () => {
    const s = armed((c) =>
      isIo(c, NvmOpcode.READ) ? [{ kind: "data", last: false }, { kind: "cqe" }] : undefined
    );
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        const ns = await ctrl.namespace(1);
        s.arm();
        const data = await ns.read(5n, 8);
        assert.equal(data[0], 5);
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });
}

test("hostile C2HData over tcp: more than the buffer holds is a transport error (FES 4)", async () => {
  const s = armed((c) =>
    isAdmin(c, AdminOpcode.IDENTIFY)
      ? [{ kind: "data", data: new Uint8Array(8192) }, { kind: "cqe" }]
      : undefined
  );
  await withHostile(hostileTcp, s.script, async (h) => {
    const ctrl = await live(h);
    try {
      s.arm();
      const e = await rejects(ctrl.identify(), { type: TransportError, message: /beyond/ });
      assert.equal((e as TransportError).fes, Fes.DATA_TRANSFER_OUT_OF_RANGE);
    } finally {
      await closeQuietly(ctrl);
    }
  });
});

test("hostile C2HData over tcp: SUCCESS while SQ flow control is on is a transport error", async () => {
  const s = armed((c) => isIo(c, NvmOpcode.READ) ? [{ kind: "data", success: true }] : undefined);
  await withHostile(hostileTcp, s.script, async (h) => {
    const ctrl = await live(h);
    try {
      const ns = await ctrl.namespace(1);
      s.arm();
      await rejects(ns.read(0n, 8), { type: TransportError, message: /SUCCESS/ });
    } finally {
      await closeQuietly(ctrl);
    }
  });
});

test("hostile C2HData over tcp: SUCCESS without LAST_PDU is a transport error", async () => {
  const s = armed((c) =>
    isIo(c, NvmOpcode.READ) ? [{ kind: "data", success: true, last: false }] : undefined
  );
  await withHostile(hostileTcp, s.script, async (h) => {
    const ctrl = await live(h, { sqFlowControl: false });
    try {
      const ns = await ctrl.namespace(1);
      s.arm();
      await rejects(ns.read(0n, 8), { type: TransportError, message: /SUCCESS|fes 1, fei 1/ });
    } finally {
      await closeQuietly(ctrl);
    }
  });
});

test("hostile C2HData over tcp: SUCCESS after half the data is a data transfer error", async () => {
  const s = armed((c, _p, r) =>
    isIo(c, NvmOpcode.READ) ? [{ kind: "data", data: half(r), success: true }] : undefined
  );
  await withHostile(hostileTcp, s.script, async (h) => {
    const ctrl = await live(h, { sqFlowControl: false });
    try {
      const ns = await ctrl.namespace(1);
      s.arm();
      await rejects(ns.read(0n, 8), { type: NvmeStatusError, message: /2048 of 4096/ });
    } finally {
      await closeQuietly(ctrl);
    }
  });
});

test("hostile C2HData over tcp: data for a CID with nothing outstanding is a transport error", async () => {
  const s = armed((c) =>
    isIo(c, NvmOpcode.READ) ? [{ kind: "data", cid: c.cid + 33 }, { kind: "cqe" }] : undefined
  );
  await withHostile(hostileTcp, s.script, async (h) => {
    const ctrl = await live(h);
    try {
      const ns = await ctrl.namespace(1);
      s.arm();
      await rejects(ns.read(0n, 8), { type: TransportError, message: /C2HData for command/ });
    } finally {
      await closeQuietly(ctrl);
    }
  });
});

test("hostile C2HData over tcp: data for a write is a transport error", async () => {
  const s = armed((c) =>
    isIo(c, NvmOpcode.WRITE)
      ? [{ kind: "data", data: new Uint8Array(512) }, { kind: "cqe" }]
      : undefined
  );
  await withHostile(hostileTcp, s.script, async (h) => {
    const ctrl = await live(h);
    try {
      const ns = await ctrl.namespace(1);
      s.arm();
      await rejects(ns.write(0n, new Uint8Array(512)), {
        type: TransportError,
        message: /expects no data/,
      });
    } finally {
      await closeQuietly(ctrl);
    }
  });
});

test("hostile C2HData over tcp: a wrong data digest fails the command with DATA_TRANSFER_ERROR", async () => {
  const s = armed((c) =>
    isIo(c, NvmOpcode.READ) ? [{ kind: "data", badDigest: true }, { kind: "cqe" }] : undefined
  );
  await withHostile(hostileTcp, s.script, async (h) => {
    const ctrl = await live(h, { dataDigests: true });
    try {
      const ns = await ctrl.namespace(1);
      s.arm();
      await rejects(ns.read(0n, 8), { type: NvmeStatusError, message: DATA_TRANSFER });
    } finally {
      await closeQuietly(ctrl);
    }
  });
});

test("hostile C2HData over tcp: a PLEN of a gigabyte is refused before anything is allocated", async () => {
  const s = armed((c) =>
    isIo(c, NvmOpcode.READ) ? [{ kind: "data", plen: 1 << 30 }, { kind: "cqe" }] : undefined
  );
  await withHostile(hostileTcp, s.script, async (h) => {
    const ctrl = await live(h);
    try {
      const ns = await ctrl.namespace(1);
      s.arm();
      await rejects(ns.read(0n, 8), { type: TransportError, message: /DATAL|PLEN|beyond/ });
    } finally {
      await closeQuietly(ctrl);
    }
  });
});

test("hostile C2HData over tcp: a reset in the middle of a PDU is a connection error", async () => {
  const s = armed((c, _p, r) => {
    if (!isIo(c, NvmOpcode.READ)) return undefined;
    const pdu = encodePdu({
      type: PduType.C2H_DATA,
      cccid: c.cid,
      ttag: 0,
      datao: 0,
      datal: r.data!.length,
      last: true,
      success: false,
      data: r.data!,
    }, { hdgst: false, ddgst: false, pda: 0 });
    return [{ kind: "raw", bytes: pdu.subarray(0, 100) }, { kind: "wait", ms: 20 }, {
      kind: "reset",
    }];
  });
  await withHostile(hostileTcp, s.script, async (h) => {
    const ctrl = await live(h);
    try {
      const ns = await ctrl.namespace(1);
      s.arm();
      await rejects(ns.read(0n, 8), { type: TransportError, code: "connection" });
    } finally {
      await closeQuietly(ctrl);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// R2T: a write answered without its data, R2T for a read, beyond the write, unknown CID, TTAGs

const BIG_WRITE = 64 * 1024;

for (const { name, start } of BOTH) {
  test(`hostile R2T over ${name}: a write answered success without any R2T is a data transfer error`, async () => {
    const s = armed((c) => isIo(c, NvmOpcode.WRITE) ? [{ kind: "cqe" }] : undefined);
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        const ns = await ctrl.namespace(1);
        s.arm();
        await rejects(ns.write(0n, new Uint8Array(BIG_WRITE)), {
          type: NvmeStatusError,
          message: /0 of 65536/,
        });
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile R2T over ${name}: a write answered success after half its data is a data transfer error`, async () => {
    const s = armed((c) =>
      isIo(c, NvmOpcode.WRITE)
        ? [{ kind: "r2t", length: BIG_WRITE / 2 }, { kind: "cqe" }]
        : undefined
    );
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        const ns = await ctrl.namespace(1);
        s.arm();
        await rejects(ns.write(0n, new Uint8Array(BIG_WRITE)), {
          type: NvmeStatusError,
          message: /32768 of 65536/,
        });
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });
}

const r2tCases: [string, (c: HostileCommand) => Step[] | undefined, RegExp][] = [
  [
    "an R2T for a read",
    (c) => isIo(c, NvmOpcode.READ) ? [{ kind: "r2t", length: 512 }, { kind: "cqe" }] : undefined,
    /no data to fetch/,
  ],
  [
    "an R2T beyond the write's length",
    (c) =>
      isIo(c, NvmOpcode.WRITE)
        ? [{ kind: "r2t", offset: 0, length: BIG_WRITE + 4096 }, { kind: "cqe" }]
        : undefined,
    /beyond/,
  ],
  [
    "an R2T for an unknown CID",
    (c) =>
      isIo(c, NvmOpcode.WRITE) ? [{ kind: "r2t", cid: c.cid + 50 }, { kind: "cqe" }] : undefined,
    /no data to fetch/,
  ],
  [
    "an R2T of length 0",
    (c) => isIo(c, NvmOpcode.WRITE) ? [{ kind: "r2t", length: 0 }, { kind: "cqe" }] : undefined,
    /beyond/,
  ],
  [
    "R2Ts out of order",
    (c) =>
      isIo(c, NvmOpcode.WRITE)
        ? [{ kind: "r2t", offset: BIG_WRITE / 2 }, {
          kind: "r2t",
          offset: 0,
          length: BIG_WRITE / 2,
        }, { kind: "cqe" }]
        : undefined,
    /offset 32768/,
  ],
];
for (const [what, fault, message] of r2tCases) {
  test(`hostile R2T over tcp: ${what} is a transport error`, async () => {
    const s = armed(fault);
    await withHostile(hostileTcp, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        const ns = await ctrl.namespace(1);
        s.arm();
        const op = fault({ qid: 1, opcode: NvmOpcode.READ } as HostileCommand) !== undefined
          ? ns.read(0n, 8)
          : ns.write(0n, new Uint8Array(BIG_WRITE));
        await rejects(op, { type: TransportError, message });
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });
}

test("hostile R2T over tcp: TTAG games (the same TTAG twice, FFFFh) are echoed; the data is served", async () => {
  const s = armed((c) =>
    isIo(c, NvmOpcode.WRITE)
      ? [
        { kind: "r2t", offset: 0, length: BIG_WRITE / 2, ttag: 0xffff },
        { kind: "r2t", offset: BIG_WRITE / 2, ttag: 0xffff },
        { kind: "cqe" },
      ]
      : undefined
  );
  await withHostile(hostileTcp, s.script, async (h) => {
    const ctrl = await live(h);
    try {
      const ns = await ctrl.namespace(1);
      s.arm();
      await ns.write(0n, new Uint8Array(BIG_WRITE));
    } finally {
      await closeQuietly(ctrl);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Silence, one byte every 100 ms, keep-alives never answered, timed-out commands escalated

for (const { name, start } of BOTH) {
  test(`hostile silence over ${name}: an unanswered Identify times out`, async () => {
    const s = armed((c) => isAdmin(c, AdminOpcode.IDENTIFY) ? [] : undefined);
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h);
      try {
        s.arm();
        await rejects(ctrl.identify(), { type: CommandTimeoutError, message: /IDENTIFY/ });
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile keep-alive over ${name}: keep-alives never answered end the association`, async () => {
    await withHostile(start, {
      fault: (c) => isAdmin(c, AdminOpcode.KEEP_ALIVE) ? [] : undefined,
    }, async (h) => {
      const ctrl = await live(h, { kato: 200 });
      try {
        const lost = new Promise<Error>((resolve) => ctrl.on("lost", (e) => resolve(e.error)));
        const error = await lost;
        assert.ok(error instanceof ControllerLostError);
        assert.match(String((error.cause as Error)?.message), /keep the association alive/);
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile escalation over ${name}: a read Abort cannot stop is reset away and its CID reclaimed`, async () => {
    let silent = true;
    const s = armed((c) => {
      if (isIo(c, NvmOpcode.READ) && silent) return [];
      if (isAdmin(c, AdminOpcode.ABORT)) return [{ kind: "cqe", dw0: 1 }]; // not aborted
      return undefined;
    });
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h, { ctrlLossTimeout: 5000, queueSize: 2 });
      try {
        const ns = await ctrl.namespace(1);
        s.arm();
        const reconnected = new Promise<void>((resolve) => ctrl.on("reconnected", () => resolve()));
        await rejects(ns.read(0n, 8), { type: CommandTimeoutError });
        silent = false;
        await reconnected;
        // The queue holds one command: its only CID is free again.
        const data = await ns.read(7n, 1);
        assert.equal(data[0], 7);
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile escalation over ${name}: a read whose Abort is never answered is reset away`, async () => {
    let silent = true;
    const s = armed((c) => {
      if (isIo(c, NvmOpcode.READ) && silent) return [];
      if (isAdmin(c, AdminOpcode.ABORT)) return [];
      return undefined;
    });
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h, { ctrlLossTimeout: 5000, queueSize: 2 });
      try {
        const ns = await ctrl.namespace(1);
        s.arm();
        const reconnected = new Promise<void>((resolve) => ctrl.on("reconnected", () => resolve()));
        await rejects(ns.read(0n, 8), { type: CommandTimeoutError });
        silent = false;
        await reconnected;
        const data = await ns.read(9n, 1);
        assert.equal(data[0], 9);
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile shutdown over ${name}: a silent controller does not hold close() for the admin timeout`, async () => {
    const s = armed((c) => c.opcode === 0x7f ? [] : undefined);
    await withHostile(start, s.script, async (h) => {
      const ctrl = await live(h, { adminTimeout: 60_000, shutdownTimeout: 200 });
      s.arm();
      const t0 = performance.now();
      await ctrl.close().catch(() => {});
      assert.equal(ctrl.state, "closed");
      assert.ok(performance.now() - t0 < 2000, `close() took ${performance.now() - t0} ms`);
    });
  });
}

test("hostile trickle over tcp: a completion one byte every 100 ms times out", async () => {
  const s = armed((c) => {
    if (!isAdmin(c, AdminOpcode.IDENTIFY)) return undefined;
    return [{ kind: "raw", bytes: new Uint8Array(24), byteDelayMs: 100 }];
  });
  await withHostile(hostileTcp, s.script, async (h) => {
    const ctrl = await live(h);
    try {
      s.arm();
      await rejects(ctrl.identify(), { type: CommandTimeoutError });
    } finally {
      await closeQuietly(ctrl);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Identify Namespace and the discovery log

for (const { name, start } of BOTH) {
  for (const lbads of [63, 0, 8, 40]) {
    test(`hostile Identify Namespace over ${name}: LBA data size 2^${lbads} is a clear error`, async () => {
      await withHostile(start, { nsdata: { lbaf: [{ ms: 0, lbads, rp: 0 }] } }, async (h) => {
        const ctrl = await live(h);
        try {
          await rejects(ctrl.namespace(1), { type: ControllerError, message: /LBA data size/ });
        } finally {
          await closeQuietly(ctrl);
        }
      });
    });
  }

  test(`hostile discovery over ${name}: a generation counter that changes on every read ends`, async () => {
    await withHostile(start, { genctr: (n) => BigInt(n) }, async (h) => {
      const ctrl = await connect(options(h, { subnqn: DISCOVERY_NQN }));
      try {
        await rejects(ctrl.getDiscoveryLog(), { type: ControllerError, message: /changed/ });
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });

  test(`hostile discovery over ${name}: a short log page is a data transfer error`, async () => {
    const s = armed((c, _p, r) =>
      isAdmin(c, AdminOpcode.GET_LOG_PAGE)
        ? [{ kind: "data", data: r.data!.subarray(0, 512) }, { kind: "cqe" }]
        : undefined
    );
    await withHostile(start, s.script, async (h) => {
      const ctrl = await connect(options(h, { subnqn: DISCOVERY_NQN }));
      try {
        s.arm();
        await rejects(ctrl.getDiscoveryLog(), { type: NvmeStatusError, message: DATA_TRANSFER });
      } finally {
        await closeQuietly(ctrl);
      }
    });
  });
}

// A command that timed out is answered to its caller at once, who may reuse the buffer; the
// controller may still move that command's data afterwards. The buffer must be left alone.
test("hostile C2HData over tcp: data after the read timed out does not land in the caller's buffer", async () => {
  let late = false;
  const h = await hostileTcp({
    fault: (c, plan) =>
      late && c.opcode === NvmOpcode.READ ? [{ kind: "wait", ms: 250 }, ...plan] : undefined,
  });
  const ctrl = await connect(options(h, { adminTimeout: 2000, commandTimeout: 150 }));
  try {
    const ns = await ctrl.namespace(1);
    late = true;
    const buf = new Uint8Array(8 * HOSTILE_BLOCK);
    await assert.rejects(ns.read(0, buf), CommandTimeoutError);
    buf.fill(0xee); // reused for something else
    await until(() => h.commands.some((c) => c.opcode === AdminOpcode.ABORT), 2000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the late data has come by now
    assert.equal(buf.findIndex((b) => b !== 0xee), -1, "the late data went elsewhere");
  } finally {
    await ctrl.close().catch(() => {});
    await h.close();
  }
});

test("hostile R2T over tcp: a write answered after its timeout sends what the buffer held then", async () => {
  let late = false;
  const h = await hostileTcp({
    fault: (c, plan) =>
      late && c.opcode === NvmOpcode.WRITE ? [{ kind: "wait", ms: 250 }, ...plan] : undefined,
  });
  const ctrl = await connect(options(h, { adminTimeout: 2000, commandTimeout: 150 }));
  try {
    const ns = await ctrl.namespace(1);
    late = true;
    const buf = new Uint8Array(64 * HOSTILE_BLOCK).fill(0x5a); // beyond in-capsule data: R2T
    await assert.rejects(ns.write(0, buf), CommandTimeoutError);
    buf.fill(0xee); // reused for something else
    const write = h.commands.find((c) => c.opcode === NvmOpcode.WRITE)!;
    await until(() => write.h2c.reduce((n, d) => n + d.length, 0) === buf.length, 2000);
    for (const d of write.h2c) assert.ok(d.every((b) => b === 0x5a), "the bytes of the write");
  } finally {
    await ctrl.close().catch(() => {});
    await h.close();
  }
});

test("hostile split read over tcp: a failed part is reported once every part let go of the buffer", async () => {
  const lba = (c: HostileCommand) =>
    new DataView(c.sqe.buffer, c.sqe.byteOffset).getUint32(40, true);
  const h = await hostileTcp({
    cdata: { mdts: 1 }, // 8 KiB a command: 16 blocks
    fault: (c, plan) => {
      if (c.opcode !== NvmOpcode.READ) return undefined;
      // The first part fails at once, the second is slow (the harness serves them in order).
      if (lba(c) !== 0) return [{ kind: "wait", ms: 200 }, ...plan];
      return [{
        kind: "cqe",
        status: statusOf(StatusCodeType.GENERIC, GenericStatus.INTERNAL_ERROR, true),
      }];
    },
  });
  const ctrl = await connect(options(h, { adminTimeout: 2000, commandTimeout: 2000 }));
  try {
    const ns = await ctrl.namespace(1);
    const buf = new Uint8Array(32 * HOSTILE_BLOCK);
    const t0 = Date.now();
    await assert.rejects(ns.read(0, buf));
    assert.ok(Date.now() - t0 >= 150, "not before the slow part was done");
    buf.fill(0xee);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(buf.findIndex((b) => b !== 0xee), -1);
  } finally {
    await ctrl.close().catch(() => {});
    await h.close();
  }
});

async function until(ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

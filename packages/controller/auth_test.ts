// DH-HMAC-CHAP: the controller against @nvmf/host over loopback, and against hostile raw hosts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, ControllerError } from "@nvmf/host";
import {
  AdminOpcode,
  AUTH_SECP_NVME,
  AUTH_SPSP_DHCHAP,
  type AuthMessage,
  type Cqe,
  decodeAuthMessage,
  encodeAuthReceive,
  encodeAuthSend,
  encodeChallenge,
  encodeNegotiate,
  encodeReply,
  encodeSuccess2,
  FabricsStatus,
  Property,
  StatusCodeType,
} from "@nvmf/proto";
import { decodeCqe } from "@nvmf/proto";
import { generateDhchapSecret } from "@nvmf/auth";
import { connectQueue, HOSTNQN, type HostQueue, startTarget, SUBNQN } from "./_testing.ts";
import { parseNvmetcliConfig, parseTargetConfig } from "./config.ts";

const KEY = generateDhchapSecret({ hmacId: 1 }).reveal();
const CTRL_KEY = generateDhchapSecret({ hmacId: 2 }).reveal();
const OTHER = generateDhchapSecret().reveal();

async function authTarget(keys: { hash?: string; dhgroup?: string; ctrlKey?: string } = {}) {
  const t = await startTarget();
  t.subsystem.setHostDhchap(HOSTNQN, { key: KEY, ...keys });
  return t;
}

function hostOptions(t: Awaited<ReturnType<typeof startTarget>>) {
  return {
    transport: t.transport,
    address: { traddr: "t" },
    subnqn: SUBNQN,
    hostnqn: HOSTNQN,
    ioQueues: 2,
    ctrlLossTimeout: 0,
  };
}

const CASES = [
  { hash: "hmac(sha256)", dhgroup: "null", bidi: false },
  { hash: "hmac(sha256)", dhgroup: "null", bidi: true },
  { hash: "hmac(sha384)", dhgroup: "null", bidi: true },
  { hash: "hmac(sha512)", dhgroup: "null", bidi: false },
  { hash: "hmac(sha384)", dhgroup: "ffdhe2048", bidi: true },
  { hash: "hmac(sha512)", dhgroup: "ffdhe3072", bidi: false },
  { hash: "hmac(sha256)", dhgroup: "ffdhe4096", bidi: true },
];

for (const c of CASES) {
  test(`@nvmf/host authenticates every queue: ${c.hash} ${c.dhgroup} ${c.bidi ? "bidirectional" : "unidirectional"}`, async () => {
    const t = await authTarget({
      hash: c.hash,
      dhgroup: c.dhgroup,
      ctrlKey: c.bidi ? CTRL_KEY : undefined,
    });
    const ctrl = await connect({
      ...hostOptions(t),
      dhchapSecret: KEY,
      dhchapCtrlSecret: c.bidi ? CTRL_KEY : undefined,
    });
    const ns = await ctrl.namespace(1);
    const data = Uint8Array.from({ length: 4096 }, (_, i) => i & 0xff);
    await ns.write(0, data);
    assert.deepEqual(await ns.read(0, 8), data);
    await ctrl.close();
    await t.target.close();
    assert.deepEqual(t.errors, []);
  });
}

test("@nvmf/host with a wrong host secret is refused: AUTH_Failure1, the controller goes", async () => {
  const t = await authTarget();
  const destroyed: string[] = [];
  t.target.on("controller-destroyed", (e) => destroyed.push(e.reason));
  await assert.rejects(connect({ ...hostOptions(t), dhchapSecret: OTHER }), (e: unknown) => {
    assert.ok(e instanceof ControllerError && e.code === "authentication", String(e));
    assert.match(e.message, /AUTH_Failure1: FAILED/);
    assert.ok(!e.message.includes(OTHER.slice(10, 30)));
    return true;
  });
  await until(() => destroyed.length === 1);
  assert.match(destroyed[0], /response does not match|admin queue closed/);
  await t.target.close();
});

test("@nvmf/host with a wrong controller secret refuses the controller", async () => {
  const t = await authTarget({ ctrlKey: CTRL_KEY });
  const destroyed: string[] = [];
  t.target.on("controller-destroyed", (e) => destroyed.push(e.reason));
  await assert.rejects(
    connect({ ...hostOptions(t), dhchapSecret: KEY, dhchapCtrlSecret: OTHER }),
    (e: unknown) => {
      assert.ok(e instanceof ControllerError && e.code === "authentication", String(e));
      assert.match(e.message, /controller authentication failed/);
      return true;
    },
  );
  await until(() => destroyed.length === 1);
  await t.target.close();
});

test("@nvmf/host without a secret, or a controller secret the target lacks, is refused", async () => {
  const t = await authTarget();
  await assert.rejects(connect(hostOptions(t)), /no DH-HMAC-CHAP secret was given/);
  await assert.rejects(
    connect({ ...hostOptions(t), dhchapSecret: KEY, dhchapCtrlSecret: CTRL_KEY }),
    /AUTH_Failure1/,
  );
  // A host without a key configured connects as before, with or without a secret.
  t.subsystem.setHostDhchap(HOSTNQN, undefined);
  const ctrl = await connect({ ...hostOptions(t), dhchapSecret: KEY });
  await ctrl.close();
  await t.target.close();
});

async function until(f: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(f());
}

// ---------------------------------------------------------------------------------------------
// Hostile hosts: raw capsules

const AUTH_REQUIRED_SC = FabricsStatus.AUTHENTICATION_REQUIRED;

function sct(cqe: Cqe): [number, number] {
  return [(cqe.status >> 9) & 7, (cqe.status >> 1) & 0xff];
}

async function authSend(q: HostQueue, message: Uint8Array): Promise<Cqe> {
  const sqe = encodeAuthSend({
    cid: q.nextCid(),
    secp: AUTH_SECP_NVME,
    spsp0: AUTH_SPSP_DHCHAP,
    spsp1: AUTH_SPSP_DHCHAP,
    tl: message.length,
  });
  return decodeCqe(await q.raw(sqe, message, "host-to-controller"));
}

async function authReceive(q: HostQueue): Promise<{ cqe: Cqe; m: AuthMessage }> {
  const sqe = encodeAuthReceive({
    cid: q.nextCid(),
    secp: AUTH_SECP_NVME,
    spsp0: AUTH_SPSP_DHCHAP,
    spsp1: AUTH_SPSP_DHCHAP,
    al: 4096,
  });
  const data = new Uint8Array(4096);
  const cqe = decodeCqe(await q.raw(sqe, data, "controller-to-host"));
  return { cqe, m: decodeAuthMessage(data) };
}

async function everythingRefused(q: HostQueue): Promise<void> {
  const get = await q.propertyGet(Property.CAP);
  assert.deepEqual(sct(get.cqe), [StatusCodeType.COMMAND_SPECIFIC, AUTH_REQUIRED_SC]);
  assert.deepEqual(sct(await q.propertySet(Property.CC, 1)), [1, AUTH_REQUIRED_SC]);
  const id = await q.command(
    { opcode: AdminOpcode.IDENTIFY, cdw10: 1 },
    new Uint8Array(4096),
    "controller-to-host",
  );
  assert.deepEqual(sct(id), [1, AUTH_REQUIRED_SC]);
  assert.deepEqual(sct(await q.command({ opcode: AdminOpcode.KEEP_ALIVE })), [1, AUTH_REQUIRED_SC]);
}

test("Connect sets ATR and every other command gets Authentication Required", async () => {
  const t = await authTarget();
  const { queue, cqe } = await connectQueue(t.transport, "t", { subnqn: SUBNQN, kato: 5000 });
  assert.equal(cqe.status, 0);
  assert.equal(cqe.dw0 >>> 16, 0x0002); // AUTHREQ.ATR
  await everythingRefused(queue);
  // An I/O queue cannot join an unauthenticated (never enabled) controller.
  const io = await connectQueue(t.transport, "t", {
    subnqn: SUBNQN,
    qid: 1,
    cntlid: cqe.dw0 & 0xffff,
  });
  assert.notEqual(io.cqe.status, 0);
  await io.queue.close();
  await queue.close();
  await t.target.close();
});

test("hostile sequences never authenticate: out-of-order, forged, replayed messages end the queue", async () => {
  const t = await authTarget({ ctrlKey: CTRL_KEY });
  const sequences: ((q: HostQueue) => Promise<void>)[] = [
    // Success2 straight away.
    async (q) => {
      assert.equal((await authSend(q, encodeSuccess2(0))).status, 0);
    },
    // A Reply with no Challenge.
    async (q) => {
      await authSend(
        q,
        encodeReply({
          tid: 0,
          cvalid: false,
          seqnum: 1,
          response: new Uint8Array(32),
          challenge: new Uint8Array(32),
          dhValue: new Uint8Array(0),
        }),
      );
    },
    // Negotiate, Challenge, a zero response, then Success2.
    async (q) => {
      await authSend(q, encodeNegotiate({ tid: 0 }));
      const { m } = await authReceive(q);
      assert.equal(m.kind, "challenge");
      await authSend(
        q,
        encodeReply({
          tid: 0,
          cvalid: false,
          seqnum: 1,
          response: new Uint8Array(32),
          challenge: new Uint8Array(32),
          dhValue: new Uint8Array(0),
        }),
      );
      await authSend(q, encodeSuccess2(0));
    },
    // The controller's own Challenge sent back as if it were a message of the host.
    async (q) => {
      await authSend(q, encodeNegotiate({ tid: 0 }));
      const { m } = await authReceive(q);
      assert.ok(m.kind === "challenge");
      await authSend(q, encodeChallenge(m));
    },
    // Negotiate offering no usable hash, then a forged Success2.
    async (q) => {
      await authSend(q, encodeNegotiate({ tid: 0, hashIds: [9] }));
      await authSend(q, encodeSuccess2(0));
    },
    // A Negotiate without the configured DH group (downgrade), then garbage.
    async (q) => {
      await authSend(q, encodeNegotiate({ tid: 0, dhgroupIds: [] }));
      await authSend(q, Uint8Array.of(1, 0x55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    },
  ];
  for (const [i, sequence] of sequences.entries()) {
    const { queue } = await connectQueue(t.transport, "t", { subnqn: SUBNQN, kato: 5000 });
    await sequence(queue);
    await everythingRefused(queue);
    // The next Authentication Receive carries AUTH_Failure1, and then the queue ends.
    const { m } = await authReceive(queue);
    assert.equal(m.kind, "failure1", `sequence ${i}`);
    await queue.qp.closed;
    await queue.close();
  }
  await t.target.close();
});

test("a stalled transaction ends the queue after KATO", async () => {
  const t = await authTarget();
  const destroyed: string[] = [];
  t.target.on("controller-destroyed", (e) => destroyed.push(e.reason));
  const { queue } = await connectQueue(t.transport, "t", { subnqn: SUBNQN, kato: 300 });
  await authSend(queue, encodeNegotiate({ tid: 0 }));
  await queue.qp.closed;
  await until(() => destroyed.length === 1);
  assert.match(destroyed[0], /expired/);
  await queue.close();
  await t.target.close();
});

test("a config with keys never admits an unauthenticated host (JSON config and nvmetcli)", async () => {
  const json = parseTargetConfig({
    subsystems: [{ nqn: SUBNQN, allowAnyHost: true, dhchap: { [HOSTNQN]: { key: KEY } } }],
  });
  assert.equal(json.subsystems[0].dhchap?.[HOSTNQN].key, KEY);
  const nvmetcli = parseNvmetcliConfig({
    hosts: [{
      nqn: HOSTNQN,
      dhchap: { key: KEY, ctrl_key: "", hash: "hmac(sha256)", dhgroup: "null" },
    }],
    ports: [],
    subsystems: [{ nqn: SUBNQN, allowed_hosts: [HOSTNQN], attr: { allow_any_host: "0" } }],
  });
  assert.deepEqual(nvmetcli.subsystems[0].dhchap, {
    [HOSTNQN]: { key: KEY, hash: "hmac(sha256)", dhgroup: "null" },
  });
  for (const config of [json, nvmetcli]) {
    const t = await startTarget();
    const { namespaces: _, ...options } = config.subsystems[0];
    t.subsystem.setHostDhchap(HOSTNQN, options.dhchap![HOSTNQN]);
    const { queue, cqe } = await connectQueue(t.transport, "t", { subnqn: SUBNQN, kato: 5000 });
    assert.equal(cqe.dw0 >>> 16, 0x0002);
    await everythingRefused(queue);
    await queue.close();
    await assert.rejects(connect(hostOptions(t)), ControllerError);
    await t.target.close();
  }
});

test("nvmetcli host attributes are never dropped: unknown ones are refused, bad secrets named", () => {
  assert.throws(
    () => parseNvmetcliConfig({ hosts: [{ nqn: HOSTNQN, dhchap: { key: KEY, tls: "x" } }] }),
    /hosts\[0\]\.dhchap\.tls/,
  );
  assert.throws(
    () => parseNvmetcliConfig({ hosts: [{ nqn: HOSTNQN, attr: { tls_key: "x" } }] }),
    /hosts\[0\]\.attr\.tls_key/,
  );
  assert.throws(
    () => parseNvmetcliConfig({ hosts: [{ nqn: HOSTNQN, psk: "x" }] }),
    /psk/,
  );
  const flat = parseNvmetcliConfig({
    hosts: [{ nqn: HOSTNQN, attr: { dhchap_key: KEY, dhchap_dhgroup: "ffdhe2048" } }],
    subsystems: [{ nqn: SUBNQN }],
  });
  assert.deepEqual(flat.subsystems[0].dhchap, { [HOSTNQN]: { key: KEY, dhgroup: "ffdhe2048" } });
  assert.throws(
    () =>
      parseTargetConfig({
        subsystems: [{ nqn: SUBNQN, dhchap: { [HOSTNQN]: { key: KEY, salt: 1 } } }],
      }),
    /salt/,
  );
});

test("Subsystem.setHostDhchap() names bad fields and never quotes a secret", async () => {
  const t = await startTarget();
  const bad = KEY.slice(0, -3) + "AA:";
  for (
    const [keys, pattern] of [
      [{ key: bad }, /dhchap_key of host .*: its CRC-32 does not match|base64/],
      [{ key: KEY, ctrlKey: "nope" }, /dhchap_ctrl_key/],
      [{ key: KEY, hash: "md5" }, /dhchap_hash "md5"/],
      [{ key: KEY, dhgroup: "ffdhe1024" }, /dhchap_dhgroup "ffdhe1024"/],
      [{ key: "" }, /dhchap_key is missing/],
    ] as const
  ) {
    assert.throws(() => t.subsystem.setHostDhchap(HOSTNQN, keys), (e: unknown) => {
      assert.match((e as Error).message, pattern);
      assert.ok(!(e as Error).message.includes(KEY.slice(10, 30)));
      return true;
    });
  }
  await t.target.close();
});

// SPDK's nvmf_set_config: a host whose hash and DH group are not configured gets the strongest
// the target allows that the host offers; a configured host keeps its own (Linux).
test("a DH-HMAC-CHAP policy picks the strongest allowed hash and group the host offers", async () => {
  const t = await startTarget();
  t.subsystem.setHostDhchap(HOSTNQN, { key: KEY });
  t.target.setDhchapPolicy({ digests: ["sha256", "sha384"], dhgroups: ["null", "ffdhe2048"] });
  const challenge = async (offer: { hashIds?: number[]; dhgroupIds?: number[] }) => {
    const { queue } = await connectQueue(t.transport, "t", { subnqn: SUBNQN, kato: 5000 });
    assert.equal((await authSend(queue, encodeNegotiate({ tid: 3, ...offer }))).status, 0);
    const { m } = await authReceive(queue);
    await queue.close();
    return m;
  };
  // Everything offered: SHA-384 (ID 2) and ffdhe2048 (ID 1), the strongest allowed.
  let m = await challenge({});
  assert.ok(m.kind === "challenge", m.kind);
  assert.deepEqual([m.hashId, m.dhgroupId], [2, 1]);
  // Only weaker ones offered: SHA-256 and the null group.
  m = await challenge({ hashIds: [1, 3], dhgroupIds: [0, 4] });
  assert.ok(m.kind === "challenge", m.kind);
  assert.deepEqual([m.hashId, m.dhgroupId], [1, 0]);
  // Nothing allowed offered: AUTH_Failure1 with Hash / DH Group Unusable.
  m = await challenge({ hashIds: [3] });
  assert.ok(m.kind === "failure1", m.kind);
  assert.equal(m.explanation, 4); // Hash Function Unusable
  m = await challenge({ dhgroupIds: [5] });
  assert.ok(m.kind === "failure1", m.kind);
  assert.equal(m.explanation, 5); // DH Group Unusable
  // A host with its own hash and group configured keeps them, whatever the policy.
  t.subsystem.setHostDhchap(HOSTNQN, { key: KEY, hash: "hmac(sha512)", dhgroup: "ffdhe3072" });
  m = await challenge({});
  assert.ok(m.kind === "challenge", m.kind);
  assert.deepEqual([m.hashId, m.dhgroupId], [3, 2]);
  // No policy again: Linux's defaults for an unconfigured host.
  t.subsystem.setHostDhchap(HOSTNQN, { key: KEY });
  t.target.setDhchapPolicy(undefined);
  m = await challenge({});
  assert.ok(m.kind === "challenge", m.kind);
  assert.deepEqual([m.hashId, m.dhgroupId], [1, 0]);
  await t.target.close();
});

test("@nvmf/host authenticates under a policy with a DH group: I/O on every queue", async () => {
  const t = await startTarget();
  t.subsystem.setHostDhchap(HOSTNQN, { key: KEY, ctrlKey: CTRL_KEY });
  t.target.setDhchapPolicy({ digests: ["sha512"], dhgroups: ["ffdhe2048"] });
  const ctrl = await connect({ ...hostOptions(t), dhchapSecret: KEY, dhchapCtrlSecret: CTRL_KEY });
  const ns = await ctrl.namespace(1);
  const data = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff);
  await ns.write(8, data);
  assert.deepEqual(await ns.read(8, 8), data);
  await ctrl.close();
  await t.target.close();
  assert.deepEqual(t.errors, []);
});

test("Target.setDhchapPolicy() refuses unknown names and empty lists, naming the field", async () => {
  const t = await startTarget();
  assert.throws(
    () => t.target.setDhchapPolicy({ digests: ["sha1"] }),
    (e) => e instanceof RangeError && /dhchap_digests "sha1"/.test(e.message),
  );
  assert.throws(
    () => t.target.setDhchapPolicy({ dhgroups: [] }),
    (e) => e instanceof RangeError && /dhchap_dhgroups: give one or more/.test(e.message),
  );
  assert.equal(t.target.dhchapPolicy, undefined, "a refused policy changes nothing");
  await t.target.close();
});

test("a controller keeps one DH key pair per group: queues may negotiate different groups", async () => {
  const { ControllerAuth, parseDhchapHostKeys } = await import("./_auth.ts");
  const ca = new ControllerAuth(parseDhchapHostKeys({ key: KEY }, HOSTNQN), HOSTNQN, SUBNQN);
  const first = ca.keyPair(1);
  const other = ca.keyPair(2);
  assert.notEqual(other, first);
  assert.equal(ca.keyPair(1), first, "a queue's challenge and reply use the same pair");
  assert.equal(ca.keyPair(2), other);
});

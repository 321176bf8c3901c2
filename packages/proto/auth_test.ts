import { test } from "node:test";
import assert from "node:assert/strict";
import { collectCommands, loadStream } from "./_fixtures.ts";
import {
  type AuthMessage,
  decodeAuthMessage,
  encodeChallenge,
  encodeFailure,
  encodeNegotiate,
  encodeReply,
  encodeSuccess1,
  encodeSuccess2,
  NEGOTIATE_SIZE,
} from "./auth.ts";
import { FabricsType } from "./constants.ts";
import { ProtocolFieldError } from "./errors.ts";
import { decodeAuthReceive, decodeAuthSend, fabricsType } from "./fabrics.ts";

/** The four Linux 6.12 captures of fixtures/auth, with their queues. */
const AUTH_CAPTURES = [
  { name: "linux-6.12-auth-sha256-null-bidi", conns: [0, 1] },
  { name: "linux-6.12-auth-sha512-null-unidir", conns: [0, 1] },
  { name: "linux-6.12-auth-sha384-ffdhe3072-bidi", conns: [0, 1] },
  { name: "linux-6.12-auth-sha256-null-wrong-secret", conns: [0] },
];

/** Each AUTH message of one captured queue, in order, with its raw bytes. */
function messages(name: string, conn: number): { raw: Uint8Array; m: AuthMessage }[] {
  const h2c = loadStream(`auth/${name}.conn${conn}.host-to-controller.bin`);
  const c2h = loadStream(`auth/${name}.conn${conn}.controller-to-host.bin`);
  const out: { raw: Uint8Array; m: AuthMessage }[] = [];
  for (const c of collectCommands(h2c, c2h)) {
    if (c.opcode !== 0x7f) continue;
    const type = fabricsType(c.sqe);
    if (type === FabricsType.AUTHENTICATION_SEND) {
      assert.equal(c.data!.length, decodeAuthSend(c.sqe).tl);
      out.push({ raw: c.data!, m: decodeAuthMessage(c.data!) });
    } else if (type === FabricsType.AUTHENTICATION_RECEIVE && c.c2hData !== undefined) {
      assert.equal(c.c2hData.length, decodeAuthReceive(c.sqe).al);
      out.push({ raw: c.c2hData, m: decodeAuthMessage(c.c2hData) });
    }
  }
  return out;
}

function encode(m: AuthMessage): Uint8Array {
  switch (m.kind) {
    case "negotiate":
      return encodeNegotiate(m);
    case "challenge":
      return encodeChallenge(m);
    case "reply":
      return encodeReply(m);
    case "success1":
      return encodeSuccess1(m);
    case "success2":
      return encodeSuccess2(m.tid);
    default:
      return encodeFailure(m);
  }
}

test("decodeAuthMessage() reads every message of the Linux 6.12 captures, and encoders give the same bytes", () => {
  const flows: string[] = [];
  for (const { name, conns } of AUTH_CAPTURES) {
    for (const conn of conns) {
      const list = messages(name, conn);
      flows.push(`${name}.${conn}: ${list.map((x) => x.m.kind).join(",")}`);
      for (const { raw, m } of list) {
        assert.equal(m.tid, conn, "T_ID is the queue's number in these captures");
        const again = encode(m);
        // Authentication Receive data is the message then zeros up to AL.
        assert.deepEqual(raw.subarray(0, again.length), again);
        assert.ok(raw.subarray(again.length).every((b) => b === 0));
      }
    }
  }
  assert.deepEqual(flows, [
    "linux-6.12-auth-sha256-null-bidi.0: negotiate,challenge,reply,success1,success2",
    "linux-6.12-auth-sha256-null-bidi.1: negotiate,challenge,reply,success1,success2",
    "linux-6.12-auth-sha512-null-unidir.0: negotiate,challenge,reply,success1",
    "linux-6.12-auth-sha512-null-unidir.1: negotiate,challenge,reply,success1",
    "linux-6.12-auth-sha384-ffdhe3072-bidi.0: negotiate,challenge,reply,success1,success2",
    "linux-6.12-auth-sha384-ffdhe3072-bidi.1: negotiate,challenge,reply,success1,success2",
    "linux-6.12-auth-sha256-null-wrong-secret.0: negotiate,challenge,reply,failure1",
  ]);
});

test("decodeAuthMessage() gives the Linux 6.12 fields: negotiate, challenge with DH value, failure1", () => {
  const ffdhe = messages("linux-6.12-auth-sha384-ffdhe3072-bidi", 0).map((x) => x.m);
  assert.deepEqual(ffdhe[0], {
    kind: "negotiate",
    tid: 0,
    scC: 0,
    napd: 1,
    authid: 1,
    hashIds: [1, 2, 3],
    dhgroupIds: [0, 1, 2, 3, 4, 5],
  });
  const c = ffdhe[1];
  assert.ok(c.kind === "challenge");
  assert.deepEqual([c.hashId, c.dhgroupId, c.challenge.length, c.dhValue.length], [2, 2, 48, 384]);
  const r = ffdhe[2];
  assert.ok(r.kind === "reply");
  assert.deepEqual([r.cvalid, r.response.length, r.dhValue.length], [true, 48, 384]);
  const s1 = ffdhe[3];
  assert.ok(s1.kind === "success1" && s1.rvalid && s1.response.length === 48);
  const wrong = messages("linux-6.12-auth-sha256-null-wrong-secret", 0).map((x) => x.m);
  assert.deepEqual(wrong[3], { kind: "failure1", tid: 0, reason: 1, explanation: 1 });
  const unidir = messages("linux-6.12-auth-sha512-null-unidir", 0).map((x) => x.m);
  const ur = unidir[2];
  assert.ok(ur.kind === "reply" && !ur.cvalid && ur.seqnum !== 0);
  assert.ok(ur.challenge.every((b) => b === 0));
  const us1 = unidir[3];
  assert.ok(us1.kind === "success1" && !us1.rvalid && us1.response.length === 64);
});

function throwsField(f: () => unknown, field: string): void {
  assert.throws(f, (e: unknown) => e instanceof ProtocolFieldError && e.field === field);
}

test("decodeAuthMessage() names the field of malformed messages", () => {
  throwsField(() => decodeAuthMessage(new Uint8Array(4)), "AUTH_Type");
  throwsField(() => decodeAuthMessage(Uint8Array.of(7, 0, 0, 0, 0, 0, 0, 0)), "AUTH_Type");
  throwsField(() => decodeAuthMessage(Uint8Array.of(0, 9, 0, 0, 0, 0, 0, 0)), "AUTH_Id");
  throwsField(() => decodeAuthMessage(new Uint8Array(20)), "NAPD"); // short negotiate
  const neg = encodeNegotiate({ tid: 0 });
  neg[10] = 31;
  throwsField(() => decodeAuthMessage(neg), "HALEN");
  neg[10] = 3;
  neg[11] = 200;
  throwsField(() => decodeAuthMessage(neg), "DHLEN");
  const ch = encodeChallenge({
    tid: 0,
    hashId: 1,
    dhgroupId: 0,
    seqnum: 1,
    challenge: new Uint8Array(32),
    dhValue: new Uint8Array(0),
  });
  ch[10] = 0xff; // DHVLEN past the end
  throwsField(() => decodeAuthMessage(ch), "DHVLEN");
  throwsField(() => decodeAuthMessage(ch.subarray(0, 12)), "AUTH_Id");
  const s1 = encodeSuccess1({ tid: 0, rvalid: false, response: new Uint8Array(32) });
  throwsField(() => decodeAuthMessage(s1.subarray(0, 40)), "HL");
  throwsField(() => decodeAuthMessage(Uint8Array.of(1, 0x55, ...new Uint8Array(14))), "AUTH_Id");
  assert.throws(() => encodeNegotiate({ tid: 0x10000 }), RangeError);
  assert.throws(
    () =>
      encodeReply({
        tid: 0,
        cvalid: true,
        seqnum: 1,
        response: new Uint8Array(32),
        challenge: new Uint8Array(48),
        dhValue: new Uint8Array(0),
      }),
    RangeError,
  );
  assert.equal(encodeNegotiate({ tid: 0 }).length, NEGOTIATE_SIZE);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type AuthMessage, decodeAuthMessage } from "@nvmf/proto";
import { DhchapDhGroupId, FabricsType } from "@nvmf/proto";
import { fabricsType } from "@nvmf/proto";
import { collectCommands, loadStream } from "../proto/_fixtures.ts";
import { crc32, DhchapSecret, generateDhchapSecret, parseDhchapSecret } from "./secret.ts";
import { checkPublicValue, DH_GROUPS, dhGroupByName, DhKeyPair } from "./dh.ts";
import { FFDHE_PRIMES } from "./_ffdhe.ts";
import {
  augmentedChallenge,
  dhchapResponse,
  hashById,
  hashByName,
  randomSeqnum,
  responsesEqual,
} from "./dhchap.ts";

const HOSTNQN = "nqn.2026-01.test:auth-host";
const SUBNQN = "nqn.2026-01.test:kernel-target";
// The secrets of shared/fixtures/auth/README.md.
const KA = "DHHC-1:00:IpktLQLxaeA2eFbEtDT5H6iOegx/TnRKlB2V2oNoU6PtvqeC:";
const KAC = "DHHC-1:01:18atyBYX2CfQ5LkKweH3mi1GEYBEIWdzKDoOfeDuCMb/6KFt:";
const KD =
  "DHHC-1:03:/oVVNvtv9RgkWW+yTUOibQSO71qbFR+LxnjCOrZpE54NEdYMP+5c/Nri/nUqFwiiZy05A5qMCDMIfAVaBnW89yJySsY=:";
const KB = "DHHC-1:02:KYVaGoSnOuO8WcQgF9Q/ahjGOl0t+dGRFGSotLzYs9uWsHEyk4igxRTuHnve1PAWm5G5Xg==:";
const KBC = "DHHC-1:02:nkHtBNybhJ/z/n1dF3dmD5Rqyfu6g/zPl3rtE/5Gf3UHAZZWv48p37rv/A6NKhjhEcJC2w==:";
const KW = "DHHC-1:00:vvVk0fhkHJK+7yyJ/UB4lAibasOZNr3kAfwc2Udfn1nQgr2d:";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));

function messages(name: string, conn: number): AuthMessage[] {
  const h2c = loadStream(`auth/${name}.conn${conn}.host-to-controller.bin`);
  const c2h = loadStream(`auth/${name}.conn${conn}.controller-to-host.bin`);
  const out: AuthMessage[] = [];
  for (const c of collectCommands(h2c, c2h)) {
    if (c.opcode !== 0x7f) continue;
    const t = fabricsType(c.sqe);
    if (t === FabricsType.AUTHENTICATION_SEND) out.push(decodeAuthMessage(c.data!));
    if (t === FabricsType.AUTHENTICATION_RECEIVE && c.c2hData) {
      out.push(decodeAuthMessage(c.c2hData));
    }
  }
  return out;
}

test("parseDhchapSecret() reads the fixtures' secrets: hh, key, CRC-32", () => {
  const cases: [string, number, string][] = [
    [KA, 0, "22992d2d02f169e0367856c4b434f91fa88e7a0c7f4e744a941d95da836853a3"],
    [KAC, 1, "d7c6adc81617d827d0e4b90ac1e1f79a2d46118044216773283a0e7de0ee08c6"],
    [
      KD,
      3,
      "fe855536fb6ff51824596fb24d43a26d048eef5a9b151f8bc678c23ab669139e0d11d60c3fee5cfcdae2fe752a1708a2672d39039a8c0833087c055a0675bcf7",
    ],
    [
      KB,
      2,
      "29855a1a84a73ae3bc59c42017d43f6a18c63a5d2df9d1911464a8b4bcd8b3db96b071329388a0c514ee1e7bded4f016",
    ],
    [
      KBC,
      2,
      "9e41ed04dc9b849ff3fe7d5d1777660f946ac9fbba83fccf977aed13fe467f7507019656bf8f29dfbaeffc0e8d2a18e1",
    ],
    [KW, 0, "bef564d1f8641c92beef2c89fd407894089b6ac39936bde401fc1cd9475f9f59"],
  ];
  for (const [text, hh, key] of cases) {
    const s = parseDhchapSecret(text);
    assert.equal(s.hmacId, hh);
    assert.equal(hex(s.key()), key);
    assert.equal(s.reveal(), text);
    assert.equal(new DhchapSecret(unhex(key), hh).reveal(), text);
  }
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  // Without the trailing colon, as nvme-cli takes it.
  assert.equal(hex(parseDhchapSecret(KA.slice(0, -1)).key()), cases[0][2]);
});

test("parseDhchapSecret() refuses malformed secrets without quoting them", () => {
  const bad = [
    "",
    "DHHC-2:00:IpktLQLxaeA2eFbEtDT5H6iOegx/TnRKlB2V2oNoU6PtvqeC:",
    "DHHC-1:0:IpktLQLxaeA2eFbEtDT5H6iOegx/TnRKlB2V2oNoU6PtvqeC:",
    "DHHC-1:04:IpktLQLxaeA2eFbEtDT5H6iOegx/TnRKlB2V2oNoU6PtvqeC:",
    "DHHC-1:00:IpktLQLxaeA2eFbEtDT5H6iOegx/TnRKlB2V2oNoU6PtvqeD:", // CRC
    "DHHC-1:00:Ipkt*QLxaeA2eFbEtDT5H6iOegx/TnRKlB2V2oNoU6PtvqeC:", // not base64
    "DHHC-1:00:AAAAAAAA:", // too short
    "DHHC-1:00:IpktLQLxaeA2eFbEtDT5H6iOegx/TnRKlB2V2oNoU6PtvqeC:x",
  ];
  for (const text of bad) {
    assert.throws(() => parseDhchapSecret(text, "dhchap_key"), (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /^Cannot parse dhchap_key: /);
      if (text.length > 12) assert.ok(!e.message.includes(text.slice(10, 20)), e.message);
      return true;
    });
  }
});

test("DhchapSecret never shows its key in strings, JSON or inspection", async () => {
  const s = parseDhchapSecret(KA);
  const b64 = KA.split(":")[2];
  const { inspect } = await import("node:util");
  for (const shown of [String(s), `${s}`, JSON.stringify({ s }), inspect(s), inspect({ s })]) {
    assert.ok(!shown.includes(b64), shown);
    assert.ok(!shown.includes("22992d2d"), shown);
  }
  assert.equal(JSON.stringify({ s }), '{"s":"DHHC-1:00:<redacted>:"}');
});

test("DhchapSecret.transform() gives the fixtures' Kc and Kh", () => {
  assert.equal(
    hex(parseDhchapSecret(KAC).transform(SUBNQN)),
    "d83e356ec503d558ddc8116555b2a184e5145d7eae5283969fff71ea0acb41dd",
  );
  assert.equal(hex(parseDhchapSecret(KA).transform(HOSTNQN)), hex(parseDhchapSecret(KA).key()));
  assert.equal(parseDhchapSecret(KD).transform(HOSTNQN).length, 64);
  assert.equal(parseDhchapSecret(KB).transform(HOSTNQN).length, 48);
});

test("generateDhchapSecret() makes checked secrets; with an NQN the key is pre-transformed", () => {
  for (const hh of [0, 1, 2, 3]) {
    const s = generateDhchapSecret({ hmacId: hh });
    assert.equal(s.keyLength, [32, 32, 48, 64][hh]);
    assert.equal(parseDhchapSecret(s.reveal()).reveal(), s.reveal());
  }
  const key = unhex("22992d2d02f169e0367856c4b434f91fa88e7a0c7f4e744a941d95da836853a3");
  assert.equal(generateDhchapSecret({ key }).reveal(), KA);
  const t = generateDhchapSecret({ key, hmacId: 1, nqn: HOSTNQN });
  assert.equal(hex(t.key()), hex(new DhchapSecret(key, 1).transform(HOSTNQN)));
  assert.throws(() => generateDhchapSecret({ key, keyLength: 48 }), RangeError);
});

test("dhchapResponse() recomputes R1 and R2 of every null-DH capture, on each queue", () => {
  const runs = [
    { name: "linux-6.12-auth-sha256-null-bidi", host: KA, ctrl: KAC, conns: [0, 1] },
    { name: "linux-6.12-auth-sha512-null-unidir", host: KD, ctrl: undefined, conns: [0, 1] },
  ];
  let checked = 0;
  for (const run of runs) {
    for (const conn of run.conns) {
      const [, c, r, s1] = messages(run.name, conn);
      assert.ok(c.kind === "challenge" && r.kind === "reply" && s1.kind === "success1");
      const kh = parseDhchapSecret(run.host).transform(HOSTNQN);
      const base = { hashId: c.hashId, tid: c.tid, hostnqn: HOSTNQN, subnqn: SUBNQN };
      const r1 = dhchapResponse({
        ...base,
        key: kh,
        challenge: c.challenge,
        seqnum: c.seqnum,
        role: "host",
      });
      assert.ok(responsesEqual(r1, r.response), `${run.name} ${conn} R1`);
      checked++;
      if (run.ctrl !== undefined) {
        assert.ok(r.cvalid && s1.rvalid);
        const r2 = dhchapResponse({
          ...base,
          key: parseDhchapSecret(run.ctrl).transform(SUBNQN),
          challenge: r.challenge,
          seqnum: r.seqnum,
          role: "controller",
        });
        assert.ok(responsesEqual(r2, s1.response), `${run.name} ${conn} R2`);
        checked++;
      } else assert.ok(!r.cvalid && !s1.rvalid);
    }
  }
  assert.equal(checked, 6);
  // The README's vector.
  const [, c] = messages("linux-6.12-auth-sha256-null-bidi", 0);
  assert.ok(c.kind === "challenge");
  assert.equal(c.seqnum, 1213954388);
});

test("dhchapResponse() of the wrong-secret capture matches KW, not the target's KA", () => {
  const [, c, r, f] = messages("linux-6.12-auth-sha256-null-wrong-secret", 0);
  assert.ok(c.kind === "challenge" && r.kind === "reply" && f.kind === "failure1");
  const input = {
    hashId: c.hashId,
    tid: c.tid,
    hostnqn: HOSTNQN,
    subnqn: SUBNQN,
    challenge: c.challenge,
    seqnum: c.seqnum,
    role: "host" as const,
  };
  const withKw = dhchapResponse({ ...input, key: parseDhchapSecret(KW).transform(HOSTNQN) });
  const withKa = dhchapResponse({ ...input, key: parseDhchapSecret(KA).transform(HOSTNQN) });
  assert.ok(responsesEqual(withKw, r.response));
  assert.ok(!responsesEqual(withKa, r.response));
});

test("the ffdhe3072 capture: values are 384 bytes, accepted by checkPublicValue, same controller value on both queues", () => {
  const q0 = messages("linux-6.12-auth-sha384-ffdhe3072-bidi", 0);
  const q1 = messages("linux-6.12-auth-sha384-ffdhe3072-bidi", 1);
  const c0 = q0[1], c1 = q1[1], r0 = q0[2], r1 = q1[2];
  assert.ok(c0.kind === "challenge" && c1.kind === "challenge");
  assert.ok(r0.kind === "reply" && r1.kind === "reply");
  assert.equal(c0.dhgroupId, DhchapDhGroupId.FFDHE3072);
  assert.equal(hashById(c0.hashId)!.length, c0.challenge.length);
  for (const v of [c0.dhValue, c1.dhValue, r0.dhValue, r1.dhValue]) {
    assert.equal(checkPublicValue(DhchapDhGroupId.FFDHE3072, v), undefined);
  }
  assert.deepEqual(c0.dhValue, c1.dhValue); // one key pair per controller
  assert.notDeepEqual(r0.dhValue, r1.dhValue); // one per host queue
  // Our key pair's shared value with the captured host value is a 384-byte number < p.
  const mine = new DhKeyPair(DhchapDhGroupId.FFDHE3072);
  const shared = mine.sharedValue(r0.dhValue);
  assert.equal(shared.length, 384);
  assert.equal(augmentedChallenge(c0.hashId, shared, c0.challenge).length, 48);
});

test("checkPublicValue() refuses 0, 1, p-1, p and wrong lengths", () => {
  for (const g of DH_GROUPS.slice(1)) {
    const p = BigInt(`0x${FFDHE_PRIMES[g.id - 1]}`);
    const bytes = (n: bigint) => unhex(n.toString(16).padStart(g.size * 2, "0"));
    assert.equal(bytes(p).length, g.size);
    for (const y of [0n, 1n, p - 1n, p]) assert.match(checkPublicValue(g.id, bytes(y))!, /range/);
    assert.equal(checkPublicValue(g.id, bytes(2n)), undefined);
    assert.match(checkPublicValue(g.id, new Uint8Array(g.size - 1))!, /bytes/);
    assert.match(checkPublicValue(g.id, new Uint8Array(g.size + 1))!, /bytes/);
    // RFC 7919 primes: the top and bottom 64 bits are all ones.
    assert.ok(FFDHE_PRIMES[g.id - 1].startsWith("ffffffffffffffff"));
    assert.ok(FFDHE_PRIMES[g.id - 1].endsWith("ffffffffffffffff"));
    assert.equal(FFDHE_PRIMES[g.id - 1].length, g.size * 2);
  }
  assert.match(checkPublicValue(0, new Uint8Array(0))!, /no DH values/);
  assert.throws(() => new DhKeyPair(0), RangeError);
});

// Bun's createDiffieHellman takes minutes for the big primes (see dh.ts): BigInt both sides there.
const ON_BUN = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

test("DhKeyPair agrees with itself across implementations (node:crypto and BigInt), every group", () => {
  for (const g of DH_GROUPS.slice(1)) {
    const a = new DhKeyPair(g.id, ON_BUN);
    const b = new DhKeyPair(g.id, true);
    assert.equal(a.publicValue.length, g.size);
    assert.equal(b.publicValue.length, g.size);
    assert.deepEqual(a.sharedValue(b.publicValue), b.sharedValue(a.publicValue));
    assert.throws(() => a.sharedValue(new Uint8Array(g.size)), /out of range/);
  }
  assert.equal(dhGroupByName("FFDHE4096")?.id, 3);
  assert.equal(dhGroupByName("null")?.size, 0);
  assert.equal(dhGroupByName("ffdhe1024"), undefined);
});

test("hashByName() knows Linux's and nvme-cli's names", () => {
  assert.equal(hashByName("hmac(sha256)")?.id, 1);
  assert.equal(hashByName("sha384")?.length, 48);
  assert.equal(hashByName("HMAC(SHA512)")?.digest, "sha512");
  assert.equal(hashByName("md5"), undefined);
  const s = randomSeqnum();
  assert.ok(s > 0 && s <= 0x7fffffff);
  assert.ok(!responsesEqual(new Uint8Array(32), new Uint8Array(31)));
});

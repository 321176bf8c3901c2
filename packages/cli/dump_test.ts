import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodePdu, encodeSqe, NvmOpcode, PduType } from "@nvmf/proto";
import { type DumpIo, dumpPdus, formatDumpEntry, main } from "./dump.ts";

const PLAIN = { hdgst: false, ddgst: false, pda: 0 };
const DIGESTS = { hdgst: true, ddgst: true, pda: 0 };

/** An ICReq, then a Write with 512 bytes of in-capsule data, digests on. */
function stream(): Uint8Array {
  const icreq = encodePdu(
    { type: PduType.IC_REQ, pfv: 0, hpda: 0, hdgst: true, ddgst: true, maxr2t: 0 },
    PLAIN,
  );
  const sqe = encodeSqe({ opcode: NvmOpcode.WRITE, cid: 7, nsid: 1 });
  const cmd = encodePdu(
    { type: PduType.CAPSULE_CMD, sqe, data: new Uint8Array(512).fill(0xa5) },
    DIGESTS,
  );
  const out = new Uint8Array(icreq.length + cmd.length);
  out.set(icreq);
  out.set(cmd, icreq.length);
  return out;
}

function capture(): { io: DumpIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, out, err };
}

test("dumpPdus() decodes each PDU and judges each digest", () => {
  const { entries, bad, error } = dumpPdus(stream());
  assert.equal(error, undefined);
  assert.equal(bad, 0);
  assert.deepEqual(entries.map((e) => e.type), ["ICReq", "CapsuleCmd"]);
  const cmd = entries[1];
  assert.equal(cmd.offset, 128);
  assert.deepEqual(cmd.flags, ["HDGSTF", "DDGSTF"]);
  assert.equal(cmd.hdgst, "ok");
  assert.equal(cmd.ddgst, "ok");
  assert.equal(cmd.fields.cid, 7);
  assert.equal(cmd.fields.icd, 512);
  assert.match(formatDumpEntry(cmd), /CapsuleCmd .*cid=7 .*\[hdgst ok, ddgst ok\]$/);
});

test("dumpPdus() counts a wrong data digest and stops at a truncated PDU", () => {
  const bytes = stream();
  bytes[bytes.length - 1] ^= 0xff;
  const wrong = dumpPdus(bytes);
  assert.equal(wrong.bad, 1);
  assert.match(wrong.entries[1].ddgst ?? "", /^BAD \(received 0x/);
  const cut = dumpPdus(bytes.subarray(0, 200));
  assert.equal(cut.entries.length, 1);
  assert.match(cut.error ?? "", /Cannot dump PDU at offset 128: PLEN \d+ runs past the end/);
});

test("dumpPdus() with --digests none calls a PDU with digest flags malformed", () => {
  const { entries, error } = dumpPdus(stream(), "none");
  assert.equal(entries.length, 1);
  assert.match(error ?? "", /^Cannot dump PDU at offset 128: /);
});

test("main() prints each PDU and a summary, or JSON, and exits 1 on a wrong digest", () => {
  const dir = mkdtempSync(join(tmpdir(), "nvmf-dump-"));
  try {
    const file = join(dir, "h2c.bin");
    writeFileSync(file, stream());
    const text = capture();
    assert.equal(main([file], text.io), 0);
    assert.equal(text.out.length, 3);
    assert.match(text.out[2], /^2 PDUs in \d+ bytes: ICReq 1, CapsuleCmd 1$/);
    assert.deepEqual(text.err, []);

    const json = capture();
    assert.equal(main([file, "--json"], json.io), 0);
    const parsed = JSON.parse(json.out.join("\n"));
    // No Connect announced a queue: opcode 0x01 is read as the admin queue's.
    assert.equal(parsed[1].fields.opcode, "0x01");
    assert.equal(parsed[1].fields.name, "CREATE_IO_SQ");

    const bytes = stream();
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(file, bytes);
    const bad = capture();
    assert.equal(main([file], bad.io), 1);
    assert.match(bad.err[0], /^Found 1 wrong digest in /);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("main() exits 1 on a bad argument or an unreadable file, 0 on --help", () => {
  const none = capture();
  assert.equal(main([], none.io), 1);
  assert.match(none.err[0], /^Give exactly one stream file: got 0/);
  const mode = capture();
  assert.equal(main(["x.bin", "--digests", "some"], mode.io), 1);
  assert.match(mode.err[0], /^Choose --digests from auto, none, header, data, both: got "some"/);
  const missing = capture();
  assert.equal(main([join(tmpdir(), "nvmf-dump-no-such-file.bin")], missing.io), 1);
  assert.match(missing.err[0], /^Cannot read /);
  const help = capture();
  assert.equal(main(["--help"], help.io), 0);
  assert.match(help.out[0], /^Usage: deno task dump FILE/);
});

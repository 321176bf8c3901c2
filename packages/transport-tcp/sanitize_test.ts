// Deno's op and resource sanitizers over the TCP transport's lifecycle: every socket, read,
// write and timer of a test is finished when it ends — after an orderly close, a TermReq, a
// failed handshake and a closed listener. node:test cases are not sanitized under Deno, so these
// use Deno.test with the sanitizers on; under Bun this file defines nothing.
import assert from "node:assert/strict";
import { encodePdu, NvmOpcode, PduType } from "@nvmf/proto";
import { Association, TransportError } from "@nvmf/transport";
import { runCommand, serveDisk } from "@nvmf/transport/testing";
import { TcpTransport } from "./mod.ts";
import { PduReader } from "./reader.ts";
import { dial } from "./stream.ts";

// deno-lint-ignore no-explicit-any
const deno = (globalThis as any).Deno;

function sanitized(name: string, fn: () => Promise<void>): void {
  deno?.test({ name, sanitizeOps: true, sanitizeResources: true, sanitizeExit: true, fn });
}

const PLAIN = { hdgst: false, ddgst: false, pda: 0 };

sanitized("TCP: I/O with digests then an orderly close leaves no socket or op behind", async () => {
  const t = new TcpTransport();
  const listener = await t.listen(new Association(t, true), { traddr: "127.0.0.1", trsvcid: "0" });
  const host = await t.connect(
    new Association(t, false, { tcp: { headerDigests: true, dataDigests: true } as never }),
    { address: listener.address, admin: false, qid: 1, qsize: 16 },
  );
  const ctrl = await listener.accept();
  ctrl.setConnected({ qid: 1, qsize: 16, sqFlowControl: true });
  const served = serveDisk(ctrl, new Uint8Array(1 << 20));
  await runCommand(host, NvmOpcode.WRITE, 1, 0, new Uint8Array(300_000));
  await runCommand(host, NvmOpcode.READ, 2, 0, new Uint8Array(300_000));
  await host.close();
  assert.equal(await ctrl.closed, undefined);
  assert.equal(await served, 2);
  await listener.close();
});

sanitized("TCP: a TermReq ends both ends without leaks", async () => {
  const t = new TcpTransport();
  const listener = await t.listen(new Association(t, true), { traddr: "127.0.0.1", trsvcid: "0" });
  const raw = await dial("127.0.0.1", Number(listener.address.trsvcid));
  const reader = new PduReader(raw, 4096);
  await raw.writev([
    encodePdu(
      { type: PduType.IC_REQ, pfv: 0, hpda: 0, hdgst: false, ddgst: false, maxr2t: 0 },
      PLAIN,
    ),
  ]);
  await reader.fill(128);
  reader.start += 128;
  const ctrl = await listener.accept();
  await raw.writev([new Uint8Array([0x0a, 0, 24, 0, 24, 0, 0, 0, ...new Uint8Array(16)])]);
  assert.ok((await ctrl.closed) instanceof TransportError);
  while (await reader.fill(8)) reader.start = reader.end; // drain the TermReq until EOF
  raw.close();
  await listener.close();
});

sanitized("TCP: a refused handshake and a closed listener leave nothing behind", async () => {
  const t = new TcpTransport();
  const listener = await t.listen(
    new Association(t, true, { tcp: { dataDigests: false } as never }),
    { traddr: "127.0.0.1", trsvcid: "0" },
  );
  await assert.rejects(
    t.connect(new Association(t, false, { tcp: { dataDigests: true } as never }), {
      address: listener.address,
      admin: true,
      qid: 0,
      qsize: 8,
    }),
    TransportError,
  );
  const pending = assert.rejects(listener.accept());
  await listener.close();
  await pending;
});

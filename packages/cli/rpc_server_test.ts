import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  handleValue,
  RPC_REQUEST_MAX,
  RpcConnection,
  RpcError,
  RpcErrorCode,
  type RpcMethods,
  serveRpc,
} from "./rpc_server.ts";

const state = { calls: 0 };
const methods: RpcMethods = {
  echo: (params) => params ?? null,
  count: () => ++state.calls,
  fail: () => {
    throw new RpcError(RpcErrorCode.INVALID_PARAMS, "Invalid parameters: x");
  },
};

function connection() {
  const out: unknown[] = [];
  const conn = new RpcConnection(
    (v) => handleValue(methods, v),
    (text) => {
      assert.ok(text.endsWith("\n"));
      out.push(JSON.parse(text));
    },
  );
  return { conn, out };
}

const enc = (s: string) => new TextEncoder().encode(s);

test("RpcConnection answers a request split over many writes once it is complete", async () => {
  const { conn, out } = connection();
  const text = JSON.stringify(
    { jsonrpc: "2.0", method: "echo", id: 1, params: { a: '}{"' } },
    null,
    2,
  );
  for (let i = 0; i < text.length; i += 3) {
    assert.equal(await conn.receive(enc(text.slice(i, i + 3))), true);
    if (i + 3 < text.length) assert.equal(out.length, 0);
  }
  assert.deepEqual(out, [{ jsonrpc: "2.0", id: 1, result: { a: '}{"' } }]);
});

test("RpcConnection answers two requests in one write, in order", async () => {
  const { conn, out } = connection();
  const a = JSON.stringify({ jsonrpc: "2.0", method: "echo", id: "a", params: [1] });
  const b = JSON.stringify({ jsonrpc: "2.0", method: "echo", id: "b", params: [2] });
  await conn.receive(enc(a + "\n" + b));
  assert.deepEqual(out.map((r) => (r as { id: string }).id), ["a", "b"]);
});

test("RpcConnection answers a batch with an array of responses, notifications left out", async () => {
  const { conn, out } = connection();
  await conn.receive(enc(JSON.stringify([
    { jsonrpc: "2.0", method: "echo", id: 1, params: [1] },
    { jsonrpc: "2.0", method: "echo", params: [2] },
    { jsonrpc: "2.0", method: "nope", id: 3 },
  ])));
  assert.deepEqual(out, [[
    { jsonrpc: "2.0", id: 1, result: [1] },
    { jsonrpc: "2.0", id: 3, error: { code: -32601, message: "Method not found: nope" } },
  ]]);
});

test("RpcConnection answers bad JSON with -32700 and closes", async () => {
  const { conn, out } = connection();
  assert.equal(await conn.receive(enc('{"jsonrpc": "2.0", "method": x}')), false);
  assert.equal((out[0] as { error: { code: number } }).error.code, -32700);
  assert.equal((out[0] as { id: unknown }).id, null);
  assert.equal(conn.closed, true);
});

test("RpcConnection answers invalid UTF-8 with -32700", async () => {
  const { conn, out } = connection();
  const bytes = Uint8Array.of(...enc('{"jsonrpc":"2.0","method":"'), 0xff, ...enc('","id":1}'));
  assert.equal(await conn.receive(bytes), false);
  assert.equal((out[0] as { error: { code: number } }).error.code, -32700);
});

test("RpcConnection refuses a request over 32 KiB with -32700 without buffering more", async () => {
  const { conn, out } = connection();
  const big = enc(
    '{"jsonrpc":"2.0","method":"echo","id":1,"params":["' + "x".repeat(RPC_REQUEST_MAX),
  );
  assert.equal(await conn.receive(big), false);
  assert.match((out[0] as { error: { message: string } }).error.message, /too long/);
  assert.equal(await conn.receive(enc("more")), false);
  assert.equal(out.length, 1);
});

test("RpcConnection keeps serving after many requests: the buffer is reused", async () => {
  const { conn, out } = connection();
  const one = JSON.stringify({ jsonrpc: "2.0", method: "echo", id: 1, params: ["y".repeat(1000)] });
  for (let i = 0; i < 100; i++) await conn.receive(enc(one));
  assert.equal(out.length, 100);
});

test("handleValue(): -32600 for invalid requests, -32601 unknown method, -32602 from a method", async () => {
  const code = async (v: unknown) =>
    ((await handleValue(methods, v)) as { error?: { code: number } }).error?.code;
  assert.equal(await code({ method: "echo", id: 1 }), -32600); // no jsonrpc
  assert.equal(await code({ jsonrpc: "2.0", method: 5, id: 1 }), -32600);
  assert.equal(await code({ jsonrpc: "2.0", method: "echo", id: {} }), -32600);
  assert.equal(await code({ jsonrpc: "2.0", method: "echo", id: 1, params: 3 }), -32600);
  assert.equal(await code({ jsonrpc: "2.0", method: "echo", id: 1, extra: 1 }), -32600);
  assert.equal(await code(42), -32600);
  assert.equal(await code([]), -32600);
  assert.equal(await code({ jsonrpc: "2.0", method: "toString", id: 1 }), -32601);
  assert.equal(await code({ jsonrpc: "2.0", method: "fail", id: 1 }), -32602);
  // A notification that fails is answered with id null, as SPDK does.
  const r = await handleValue(methods, { jsonrpc: "2.0", method: "fail" }) as { id: unknown };
  assert.equal(r.id, null);
  assert.equal(await handleValue(methods, { jsonrpc: "2.0", method: "echo" }), undefined);
});

test("serveRpc() serves a Unix socket: requests in one write and split, answered in order", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nvmf-rpc-"));
  const path = join(dir, "rpc.sock");
  const server = await serveRpc(path, methods);
  try {
    const text = await new Promise<string>((resolve, reject) => {
      const s = connect(path);
      let got = "";
      s.on("connect", () => {
        const a = JSON.stringify({ jsonrpc: "2.0", method: "echo", id: 1, params: ["a"] }, null, 2);
        s.write(a + "\n" + a.slice(0, 10));
        setTimeout(() => s.write(a.slice(10).replace('"id": 1', '"id": 2')), 20);
      });
      s.on("data", (c) => {
        got += c.toString();
        if (got.split("\n").length === 3) {
          s.end();
          resolve(got);
        }
      });
      s.on("error", reject);
    });
    assert.deepEqual(text.trim().split("\n").map((l) => JSON.parse(l).id), [1, 2]);
  } finally {
    await server.close();
    await rm(dir, { recursive: true });
  }
});

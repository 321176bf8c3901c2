import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { dial, listen, streamFromSocket } from "./stream.ts";
import type { ByteStream } from "./stream.ts";

/** A batch much larger than the socket buffers: small and large chunks, each byte numbered. */
function batch(): { chunks: Uint8Array[]; total: number } {
  const sizes = [24, 131072, 24, 8, 131072, 4096, 24, 24, 24, 65536, 65537, 1, 262144];
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (let round = 0; round < 8; round++) {
    for (const size of sizes) {
      const c = new Uint8Array(size);
      for (let i = 0; i < size; i++) c[i] = (n + i) % 251;
      n += size;
      chunks.push(c);
    }
  }
  return { chunks, total: n };
}

async function readAll(s: ByteStream, total: number): Promise<Uint8Array> {
  const got = new Uint8Array(total);
  let at = 0;
  const into = new Uint8Array(50_000); // reads that do not line up with the chunks
  while (at < total) {
    const n = await s.read(into);
    if (n === 0) break;
    got.set(into.subarray(0, n), at);
    at += n;
  }
  assert.equal(at, total);
  return got;
}

function check(got: Uint8Array): void {
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== i % 251) assert.fail(`byte ${i} is ${got[i]}, not ${i % 251}`);
  }
}

// On Bun the node:net stream writes chunk by chunk and waits for drain (no vectored write there);
// on Deno dial/listen use Deno's sockets. Either way a batch of several MiB (more than the
// socket buffers hold) arrives whole and in order, and writev settles only after it all went.
test("writev of a batch larger than the socket buffers arrives whole and in order", async () => {
  const l = await listen("127.0.0.1", 0);
  const [b, a] = await Promise.all([l.accept(), dial("127.0.0.1", l.local.port)]);
  l.close();
  const { chunks, total } = batch();
  const [got] = await Promise.all([readAll(b, total), a.writev(chunks)]);
  check(got);
  a.close();
  b.close();
});

test("a node:net stream's writev of a large batch arrives whole and in order", async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
  const socket = net.connect(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  const a = streamFromSocket(socket);
  const b = streamFromSocket(await accepted);
  const { chunks, total } = batch();
  const [got] = await Promise.all([readAll(b, total), a.writev(chunks)]);
  check(got);
  a.close();
  b.close();
  server.close();
});

test("a node:net stream's writev rejects once the peer is gone", async () => {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const socket = net.connect(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  const a = streamFromSocket(socket);
  const big = new Uint8Array(1 << 20);
  let failed: unknown;
  try {
    for (let i = 0; i < 64; i++) await a.writev([big, big.subarray(0, 24), big]);
  } catch (e) {
    failed = e;
  }
  assert.ok(failed instanceof Error, "writing to a closed peer ends with an error");
  a.close();
  server.close();
});

// A batch written after the stream closed (the host went away while a batch was gathered)
// rejects: on Bun a closed socket takes a write without a drain or close event to wait for.
test("writev of a large batch after close() rejects instead of waiting for ever", async () => {
  for (const kind of ["stream", "node:net"] as const) {
    let a: ByteStream;
    let b: ByteStream;
    let server: net.Server | undefined;
    if (kind === "stream") {
      const l = await listen("127.0.0.1", 0);
      [b, a] = await Promise.all([l.accept(), dial("127.0.0.1", l.local.port)]);
      l.close();
    } else {
      server = net.createServer();
      await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as net.AddressInfo;
      const accepted = new Promise<net.Socket>((resolve) => server!.once("connection", resolve));
      const socket = net.connect(port, "127.0.0.1");
      await new Promise((resolve) => socket.once("connect", resolve));
      a = streamFromSocket(socket);
      b = streamFromSocket(await accepted);
    }
    a.close();
    await new Promise((resolve) => setTimeout(resolve, 50)); // its close event has gone out
    const big = new Uint8Array(100_000);
    const outcome = await Promise.race([
      a.writev([big, big]).then(() => "settled", () => "rejected"),
      new Promise((resolve) => setTimeout(() => resolve("hung"), 2_000)),
    ]);
    assert.equal(outcome, "rejected", kind);
    b.close();
    server?.close();
  }
});

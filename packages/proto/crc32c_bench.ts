// Compares our CRC32C with hash-wasm (WebAssembly) and @node-rs/crc32 (native addon, SIMD/SSE4.2)
// on an NVMe/TCP page (4 KiB) and a large data PDU (128 KiB).
// Run: deno bench -A packages/proto/crc32c_bench.ts   (@node-rs/crc32 needs --allow-ffi)
// The numbers and the choice are in README.md, section "CRC32C".
import { crc32c } from "./crc32c.ts";
// Bench-only dependencies, kept out of deno.json/package.json on purpose.
// deno-lint-ignore no-import-prefix
import { createCRC32 } from "npm:hash-wasm@^4.12.0";
// deno-lint-ignore no-import-prefix
import { crc32c as nodeRsCrc32c } from "npm:@node-rs/crc32@^1.10.0";

const CASTAGNOLI_REFLECTED = 0x82f63b78;
const wasm = await createCRC32(CASTAGNOLI_REFLECTED);

function filled(size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + 7) & 0xff;
  return b;
}

function wasmCrc32c(data: Uint8Array): number {
  wasm.init();
  wasm.update(data);
  return parseInt(wasm.digest("hex"), 16);
}

for (const [label, size] of [["4 KiB", 4096], ["128 KiB", 128 * 1024]] as const) {
  const data = filled(size);
  const expected = crc32c(data);
  if (wasmCrc32c(data) !== expected || nodeRsCrc32c(data) !== expected) {
    throw new Error(`Cannot compare CRC32C implementations: results differ on ${label}`);
  }
  let sink = 0;
  Deno.bench({ name: `nvmf crc32c ${label}`, group: label, baseline: true, n: 2000 }, () => {
    sink ^= crc32c(data);
  });
  Deno.bench({ name: `hash-wasm crc32c ${label}`, group: label, n: 2000 }, () => {
    sink ^= wasmCrc32c(data);
  });
  Deno.bench({ name: `@node-rs/crc32 crc32c ${label}`, group: label, n: 2000 }, () => {
    sink ^= nodeRsCrc32c(data);
  });
  Deno.bench({ name: `(sink ${label})`, group: "sink", n: 1 }, () => {
    if (sink === -1) throw new Error("Cannot happen: sink");
  });
}

/**
 * CRC32C candidates at the sizes NVMe/TCP digests (a PDU header, a 4 KiB page, a 128 KiB data
 * PDU): the portable TypeScript one of `@nvmf/proto`, the native `@node-rs/crc32` called
 * directly, and `crc32c()` with the native one behind `setCrc32cImplementation` (what the
 * daemon and the tool run: the hook's size check, a subarray and the N-API call). Runs on Deno
 * (`deno run -A bench/crc32c.ts`) and Bun (`bun run bench/crc32c.ts`); ns per call and GB/s,
 * best of five rounds.
 *
 * @module
 */

import { crc32c, setCrc32cImplementation } from "@nvmf/proto";
import { NATIVE_CRC32C_MIN, useFastCrc32c } from "../packages/cli/fast_crc32c.ts";

const SIZES = [72, 256, 1024, 4096, 128 * 1024];

function filled(size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + 7) & 0xff;
  return b;
}

function time(fn: (d: Uint8Array) => number, data: Uint8Array): number {
  const n = Math.max(200, Math.floor(4e7 / (data.length + 256)));
  let best = Infinity;
  let sink = 0;
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sink ^= fn(data);
    best = Math.min(best, ((performance.now() - t0) * 1e6) / n);
  }
  if (sink === 0.5) console.log("");
  return best;
}

let native: ((d: Uint8Array, c?: number) => number) | undefined;
for (const specifier of ["@node-rs/crc32", "npm:@node-rs/crc32@^1.10.8"]) {
  try {
    native = (await import(specifier)).crc32c;
    break;
  } catch (e) {
    console.log(`${specifier} does not load: ${(e as Error).message.split("\n")[0]}`);
  }
}
const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";
console.log(`runtime: ${runtime}; native threshold ${NATIVE_CRC32C_MIN} bytes`);
console.log("| size | TypeScript | @node-rs/crc32 direct | crc32c() via hook |");
console.log("| ---: | ---: | ---: | ---: |");
for (const size of SIZES) {
  const data = filled(size);
  setCrc32cImplementation(undefined);
  const ts = time((d) => crc32c(d), data);
  const direct = native === undefined ? NaN : time((d) => native!(d), data);
  const which = await useFastCrc32c();
  const hook = which.startsWith("native") ? time((d) => crc32c(d), data) : NaN;
  setCrc32cImplementation(undefined);
  const f = (ns: number) =>
    Number.isNaN(ns) ? "-" : `${ns.toFixed(0)} ns (${(size / ns).toFixed(2)} GB/s)`;
  console.log(`| ${size} | ${f(ts)} | ${f(direct)} | ${f(hook)} |`);
}

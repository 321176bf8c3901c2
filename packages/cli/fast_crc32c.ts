/**
 * The CRC32C of the target daemon and the `nvmf` tool: the CPU's CRC32 instruction through the
 * native `@node-rs/crc32` addon (N-API, prebuilt per platform) when it loads, else, silently,
 * the portable TypeScript one of `@nvmf/proto`. Libraries never load native code on their own;
 * these two programs call {@linkcode useFastCrc32c} once at start.
 *
 * On Deno the addon needs `--allow-ffi`, `--allow-env`, `--allow-read` and `--allow-sys` (all in
 * `-A`) and a `node_modules` holding the platform package; without those permissions it is not
 * tried (no permission prompt). On Bun it loads when installed. `NVMF_CRC32C=typescript` keeps the
 * TypeScript one (for comparisons). docs/PERFORMANCE.md has the measurements behind the choice.
 *
 * @example Usage
 * ```ts
 * import { useFastCrc32c } from "./fast_crc32c.ts";
 * import { crc32c, setCrc32cImplementation } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * const which = await useFastCrc32c();
 * assert.match(which, /^(native|typescript)/);
 * assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
 * setCrc32cImplementation(undefined);
 * ```
 *
 * @module
 */

import process from "node:process";
import { setCrc32cImplementation } from "@nvmf/proto";

/** Inputs from this size go to the native CRC (smaller ones cost less in TypeScript). */
export const NATIVE_CRC32C_MIN = 512;

function granted(): boolean {
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  if (deno?.permissions?.querySync === undefined) return true; // Bun, Node: no permissions
  return ["ffi", "env", "read", "sys"].every((name) =>
    deno.permissions.querySync({ name }).state === "granted"
  );
}

/**
 * Puts the native CRC32C behind `crc32c`/`crc32cRange` of `@nvmf/proto` when it loads and
 * checks out; keeps the TypeScript one otherwise. Never throws.
 *
 * @returns `native (@node-rs/crc32)`, or `typescript (REASON)`.
 */
export async function useFastCrc32c(): Promise<string> {
  if (!granted()) return "typescript (no permission to load native code)";
  if (process.env.NVMF_CRC32C === "typescript") return "typescript (NVMF_CRC32C)";
  try {
    const mod = await import("@node-rs/crc32");
    const native = mod.crc32c ?? mod.default?.crc32c;
    if (typeof native !== "function") return "typescript (no crc32c in @node-rs/crc32)";
    const impl = (data: Uint8Array, crc: number) => native(data, crc);
    return setCrc32cImplementation(impl, NATIVE_CRC32C_MIN)
      ? "native (@node-rs/crc32)"
      : "typescript (@node-rs/crc32 gave wrong digests)";
  } catch (e) {
    return `typescript (${(e as Error)?.name ?? "error"} loading @node-rs/crc32)`;
  }
}

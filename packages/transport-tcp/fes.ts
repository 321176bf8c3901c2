/**
 * How NVMe/TCP Fatal Error Status values are named in our errors.
 *
 * @module
 */

import { Fes, nameOf } from "@nvmf/proto";

/**
 * Names an FES as its constant, e.g. `HEADER_DIGEST_ERROR`, or `FES 0x42` when unknown.
 *
 * @param fes The Fatal Error Status.
 * @returns The name.
 * @example Usage
 * ```ts
 * import { fesLabel } from "@nvmf/transport-tcp";
 * import assert from "node:assert/strict";
 * assert.equal(fesLabel(3), "HEADER_DIGEST_ERROR");
 * assert.equal(fesLabel(0x42), "FES 0x42");
 * ```
 */
export function fesLabel(fes: number): string {
  return nameOf(Fes, fes) ?? `FES 0x${fes.toString(16)}`;
}

/**
 * The nvlist builders: {@linkcode nvList} and one constructor a pair type ({@linkcode nvBool},
 * {@linkcode nvNumber}, ...), in libnv's order of types.
 *
 * @example Usage
 * ```ts
 * import { nvBool, nvList, nvNumber } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * const list = nvList([nvBool("admin", true), nvNumber("qsize", 32)]);
 * assert.equal(list.pairs[1].value, 32n);
 * ```
 *
 * @module
 */

import { toU64 } from "./_nvlist_wire.ts";
import {
  type NvBinaryPair,
  type NvBoolArrayPair,
  type NvBoolPair,
  type NvDescriptorArrayPair,
  type NvDescriptorPair,
  type NvList,
  type NvNullPair,
  type NvNumberArrayPair,
  type NvNumberPair,
  type NvNvListArrayPair,
  type NvNvListPair,
  type NvPair,
  type NvStringArrayPair,
  type NvStringPair,
  NvType,
} from "./nvlist_types.ts";

/**
 * Creates an nvlist.
 *
 * @param pairs Its pairs, in order.
 * @param flags {@linkcode NvFlag.IGNORE_CASE} and/or {@linkcode NvFlag.NO_UNIQUE}.
 * @returns The list (it holds `pairs` itself, not a copy).
 * @example Usage
 * ```ts
 * import { nvList, nvNull } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvList([nvNull("x")]), { flags: 0, pairs: [{ name: "x", type: 1, value: null }] });
 * ```
 */
export function nvList(pairs: NvPair[] = [], flags = 0): NvList {
  return { flags, pairs };
}

/**
 * Creates a NULL pair.
 *
 * @param name Pair name.
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { NvType, nvNull } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvNull("x").type, NvType.NULL);
 * ```
 */
export function nvNull(name: string): NvNullPair {
  return { name, type: NvType.NULL, value: null };
}

/**
 * Creates a BOOL pair.
 *
 * @param name Pair name.
 * @param value The value.
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvBool } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvBool("admin", true).value, true);
 * ```
 */
export function nvBool(name: string, value: boolean): NvBoolPair {
  return { name, type: NvType.BOOL, value };
}

/**
 * Creates a NUMBER pair.
 *
 * @param name Pair name.
 * @param value The value, 0 to 2^64 - 1; a `number` must be a safe integer.
 * @returns The pair, its value a `bigint`.
 * @example Usage
 * ```ts
 * import { nvNumber } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvNumber("qsize", 32).value, 32n);
 * ```
 */
export function nvNumber(name: string, value: bigint | number): NvNumberPair {
  return { name, type: NvType.NUMBER, value: toU64(value, name) };
}

/**
 * Creates a STRING pair.
 *
 * @param name Pair name.
 * @param value The value; it must not contain NUL.
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvString } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvString("hostnqn", "nqn.x").value, "nqn.x");
 * ```
 */
export function nvString(name: string, value: string): NvStringPair {
  return { name, type: NvType.STRING, value };
}

/**
 * Creates an NVLIST pair.
 *
 * @param name Pair name.
 * @param value The nested list.
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvList, nvNvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvNvList("params", nvList()).value, { flags: 0, pairs: [] });
 * ```
 */
export function nvNvList(name: string, value: NvList): NvNvListPair {
  return { name, type: NvType.NVLIST, value };
}

/**
 * Creates a DESCRIPTOR pair.
 *
 * @param name Pair name.
 * @param fd Index of the descriptor in the array sent beside the buffer.
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvDescriptor } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvDescriptor("s", 0).value, { fd: 0 });
 * ```
 */
export function nvDescriptor(name: string, fd: number): NvDescriptorPair {
  return { name, type: NvType.DESCRIPTOR, value: { fd } };
}

/**
 * Creates a BINARY pair.
 *
 * @param name Pair name.
 * @param value The bytes (libnv needs at least one); held, not copied.
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvBinary } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvBinary("cmd", new Uint8Array(64)).value.length, 64);
 * ```
 */
export function nvBinary(name: string, value: Uint8Array): NvBinaryPair {
  return { name, type: NvType.BINARY, value };
}

/**
 * Creates a BOOL_ARRAY pair.
 *
 * @param name Pair name.
 * @param value The items (at least one).
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvBoolArray } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvBoolArray("ba", [true]).value, [true]);
 * ```
 */
export function nvBoolArray(name: string, value: boolean[]): NvBoolArrayPair {
  return { name, type: NvType.BOOL_ARRAY, value };
}

/**
 * Creates a NUMBER_ARRAY pair.
 *
 * @param name Pair name.
 * @param value The items (at least one), each 0 to 2^64 - 1.
 * @returns The pair, its items `bigint`s.
 * @example Usage
 * ```ts
 * import { nvNumberArray } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvNumberArray("na", [1, 2n]).value, [1n, 2n]);
 * ```
 */
export function nvNumberArray(name: string, value: (bigint | number)[]): NvNumberArrayPair {
  return { name, type: NvType.NUMBER_ARRAY, value: value.map((v) => toU64(v, name)) };
}

/**
 * Creates a STRING_ARRAY pair.
 *
 * @param name Pair name.
 * @param value The items (at least one), none containing NUL.
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvStringArray } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvStringArray("sa", ["a", ""]).value, ["a", ""]);
 * ```
 */
export function nvStringArray(name: string, value: string[]): NvStringArrayPair {
  return { name, type: NvType.STRING_ARRAY, value };
}

/**
 * Creates an NVLIST_ARRAY pair.
 *
 * @param name Pair name.
 * @param value The lists (at least one).
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvList, nvNvListArray } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvNvListArray("io", [nvList(), nvList()]).value.length, 2);
 * ```
 */
export function nvNvListArray(name: string, value: NvList[]): NvNvListArrayPair {
  return { name, type: NvType.NVLIST_ARRAY, value };
}

/**
 * Creates a DESCRIPTOR_ARRAY pair.
 *
 * @param name Pair name.
 * @param fds Indices of the descriptors in the array sent beside the buffer (at least one).
 * @returns The pair.
 * @example Usage
 * ```ts
 * import { nvDescriptorArray } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvDescriptorArray("fds", [1, 2]).value, [{ fd: 1 }, { fd: 2 }]);
 * ```
 */
export function nvDescriptorArray(name: string, fds: number[]): NvDescriptorArrayPair {
  return { name, type: NvType.DESCRIPTOR_ARRAY, value: fds.map((fd) => ({ fd })) };
}

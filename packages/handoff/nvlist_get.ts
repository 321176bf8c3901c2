/**
 * The nvlist accessors: {@linkcode nvFind} finds a pair as libnv's `nvlist_find()` does, and the
 * typed getters ({@linkcode nvGetBool}, {@linkcode nvGetNumber}, ...) return a value or throw an
 * {@linkcode NvFieldError} naming the field.
 *
 * @example Usage
 * ```ts
 * import { nvGetNumber, nvList, nvNumber } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvGetNumber(nvList([nvNumber("qsize", 32)]), "qsize"), 32n);
 * assert.throws(() => nvGetNumber(nvList(), "qsize"), /"qsize": missing NUMBER/);
 * ```
 *
 * @module
 */

import { nameKey } from "./_nvlist_wire.ts";
import { NvFieldError } from "./nvlist_errors.ts";
import {
  type NvList,
  type NvPair,
  NvType,
  type NvTypeCode,
  nvTypeName,
  type NvValueOf,
} from "./nvlist_types.ts";

/**
 * Finds a pair the way libnv's `nvlist_find()` does: the first with this name (compared as
 * `strcasecmp` when the list has IGNORE_CASE) and, if `type` is given, this type.
 *
 * @param list The list to search (not its children).
 * @param name The name.
 * @param type Only a pair of this type matches, if given.
 * @returns The pair, or `undefined`.
 * @example Usage
 * ```ts
 * import { NvType, nvFind, nvList, nvNumber } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * const list = nvList([nvNumber("qsize", 2)]);
 * assert.equal(nvFind(list, "qsize", NvType.NUMBER)?.value, 2n);
 * assert.equal(nvFind(list, "qsize", NvType.BOOL), undefined);
 * ```
 */
export function nvFind<T extends NvTypeCode>(
  list: NvList,
  name: string,
  type?: T,
): Extract<NvPair, { type: T }> | undefined {
  const key = nameKey(name, list.flags);
  for (const pair of list.pairs) {
    if (type !== undefined && pair.type !== type) continue;
    if (nameKey(pair.name, list.flags) === key) return pair as Extract<NvPair, { type: T }>;
  }
  return undefined;
}

function fieldPath(where: string, name: string): string {
  return where === "" ? name : `${where}.${name}`;
}

/**
 * Returns the value of the pair named `name` of type `type`, throwing if there is none.
 *
 * @param list The list.
 * @param name The name.
 * @param type The type the caller needs.
 * @param where Path of `list` for error messages, e.g. `"rparams"`.
 * @returns The value.
 * @throws {NvFieldError} The pair is missing or has another type.
 * @example Usage
 * ```ts
 * import { NvType, nvGetTyped, nvList, nvString } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvGetTyped(nvList([nvString("s", "x")]), "s", NvType.STRING), "x");
 * assert.throws(() => nvGetTyped(nvList([nvString("s", "x")]), "s", NvType.NUMBER), /STRING/);
 * ```
 */
export function nvGetTyped<T extends NvTypeCode>(
  list: NvList,
  name: string,
  type: T,
  where = "",
): NvValueOf<T> {
  const pair = nvFind(list, name, type);
  if (pair !== undefined) return pair.value as NvValueOf<T>;
  const other = nvFind(list, name);
  const want = nvTypeName(type);
  if (other === undefined) throw new NvFieldError(fieldPath(where, name), `missing ${want}`);
  throw new NvFieldError(
    fieldPath(where, name),
    `want ${want}, found ${nvTypeName(other.type)}`,
  );
}

/**
 * Returns a BOOL value.
 *
 * @param list The list.
 * @param name The name.
 * @param where Path of `list` for error messages.
 * @returns The value.
 * @throws {NvFieldError} The pair is missing or not a BOOL.
 * @example Usage
 * ```ts
 * import { nvBool, nvGetBool, nvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvGetBool(nvList([nvBool("admin", true)]), "admin"), true);
 * ```
 */
export function nvGetBool(list: NvList, name: string, where = ""): boolean {
  return nvGetTyped(list, name, NvType.BOOL, where);
}

/**
 * Returns a NUMBER value.
 *
 * @param list The list.
 * @param name The name.
 * @param where Path of `list` for error messages.
 * @returns The value.
 * @throws {NvFieldError} The pair is missing or not a NUMBER.
 * @example Usage
 * ```ts
 * import { nvGetNumber, nvList, nvNumber } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvGetNumber(nvList([nvNumber("qsize", 32)]), "qsize"), 32n);
 * ```
 */
export function nvGetNumber(list: NvList, name: string, where = ""): bigint {
  return nvGetTyped(list, name, NvType.NUMBER, where);
}

/**
 * Returns a STRING value.
 *
 * @param list The list.
 * @param name The name.
 * @param where Path of `list` for error messages.
 * @returns The value.
 * @throws {NvFieldError} The pair is missing or not a STRING.
 * @example Usage
 * ```ts
 * import { nvGetString, nvList, nvString } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvGetString(nvList([nvString("hostnqn", "nqn.x")]), "hostnqn"), "nqn.x");
 * ```
 */
export function nvGetString(list: NvList, name: string, where = ""): string {
  return nvGetTyped(list, name, NvType.STRING, where);
}

/**
 * Returns a BINARY value.
 *
 * @param list The list.
 * @param name The name.
 * @param where Path of `list` for error messages.
 * @returns The bytes (the list's own, not a copy).
 * @throws {NvFieldError} The pair is missing or not a BINARY.
 * @example Usage
 * ```ts
 * import { nvBinary, nvGetBinary, nvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvGetBinary(nvList([nvBinary("cmd", new Uint8Array(64))]), "cmd").length, 64);
 * ```
 */
export function nvGetBinary(list: NvList, name: string, where = ""): Uint8Array {
  return nvGetTyped(list, name, NvType.BINARY, where);
}

/**
 * Returns a nested NVLIST.
 *
 * @param list The list.
 * @param name The name.
 * @param where Path of `list` for error messages.
 * @returns The nested list.
 * @throws {NvFieldError} The pair is missing or not an NVLIST.
 * @example Usage
 * ```ts
 * import { nvGetNvList, nvList, nvNvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.deepEqual(nvGetNvList(nvList([nvNvList("params", nvList())]), "params").pairs, []);
 * ```
 */
export function nvGetNvList(list: NvList, name: string, where = ""): NvList {
  return nvGetTyped(list, name, NvType.NVLIST, where);
}

/**
 * Returns an NVLIST_ARRAY.
 *
 * @param list The list.
 * @param name The name.
 * @param where Path of `list` for error messages.
 * @returns The lists.
 * @throws {NvFieldError} The pair is missing or not an NVLIST_ARRAY.
 * @example Usage
 * ```ts
 * import { nvGetNvListArray, nvList, nvNvListArray } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.equal(nvGetNvListArray(nvList([nvNvListArray("io", [nvList()])]), "io").length, 1);
 * ```
 */
export function nvGetNvListArray(list: NvList, name: string, where = ""): NvList[] {
  return nvGetTyped(list, name, NvType.NVLIST_ARRAY, where);
}

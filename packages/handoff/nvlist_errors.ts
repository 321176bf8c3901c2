/**
 * The errors of `@nvmf/handoff/nvlist`: {@linkcode NvListError} when packed bytes do not parse,
 * {@linkcode NvFieldError} when a parsed list lacks a field its reader needs.
 *
 * @example Usage
 * ```ts
 * import { NvListError, unpackNvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.throws(() => unpackNvList(Uint8Array.of(0x6c)), SyntaxError);
 * assert.throws(() => unpackNvList(Uint8Array.of(0x6c)), NvListError);
 * ```
 *
 * @module
 */

/**
 * A packed nvlist cannot be unpacked: names the field and its byte offset in the buffer. A
 * `SyntaxError`, as the bytes do not parse.
 *
 * @example Usage
 * ```ts
 * import { NvListError, unpackNvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.throws(() => unpackNvList(new Uint8Array(3)), (e: unknown) => {
 *   assert.ok(e instanceof NvListError);
 *   assert.ok(e instanceof SyntaxError);
 *   assert.equal(e.offset, 0);
 *   return true;
 * });
 * ```
 */
export class NvListError extends SyntaxError {
  /** Byte offset, in the whole buffer, of the field that is wrong. */
  readonly offset: number;
  /** What is wrong, without the offset, e.g. `"unknown pair type 0"`. */
  readonly reason: string;

  /**
   * Creates the error.
   *
   * @param reason What is wrong with the field.
   * @param offset Byte offset of the field in the buffer.
   */
  constructor(reason: string, offset: number) {
    super(`Cannot unpack nvlist at byte ${offset}: ${reason}`);
    this.name = "NvListError";
    this.offset = offset;
    this.reason = reason;
  }
}

/**
 * A field of an nvlist is missing, has the wrong type, or holds a value the reader cannot use;
 * the records throw it too for a record field that breaks a rule. A `TypeError`: the list or
 * record passed does not have the shape its reader or writer needs.
 *
 * @example Usage
 * ```ts
 * import { NvFieldError, nvGetBool, nvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 * assert.throws(() => nvGetBool(nvList([]), "admin"), (e: unknown) => {
 *   assert.ok(e instanceof NvFieldError);
 *   assert.ok(e instanceof TypeError);
 *   assert.equal(e.field, "admin");
 *   return true;
 * });
 * ```
 */
export class NvFieldError extends TypeError {
  /** Path of the field, e.g. `"rparams.io_qsize"` or `"io[1].qsize"`. */
  readonly field: string;
  /** What is wrong with it. */
  readonly reason: string;

  /**
   * Creates the error.
   *
   * @param field Path of the field.
   * @param reason What is wrong with it.
   */
  constructor(field: string, reason: string) {
    super(`Cannot use nvlist field "${field}": ${reason}`);
    this.name = "NvFieldError";
    this.field = field;
    this.reason = reason;
  }
}

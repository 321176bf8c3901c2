/**
 * Errors the protocol codecs throw for malformed input received from a peer.
 *
 * A decoder that finds a field it cannot accept throws {@linkcode ProtocolFieldError}, a
 * `SyntaxError` (the bytes do not parse), naming the field and its byte offset so that the
 * caller can report it (as the FEI of an NVMe/TCP TermReq, or the IPO of a Connect response;
 * FreeBSD reports `offsetof(field)` the same way). Mistakes of
 * the calling code (a buffer too short to hold the structure it passes, a value out of range for
 * an encoder) are `RangeError`s instead.
 *
 * @example Usage
 * ```ts
 * import { ProtocolFieldError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new ProtocolFieldError("Reject SUBNQN: no NUL within 256 bytes", "SUBNQN", 256);
 * assert.equal(e.field, "SUBNQN");
 * assert.equal(e.offset, 256);
 * ```
 *
 * @module
 */

/**
 * A field of a received structure holds a value the decoder cannot accept: a `SyntaxError`, as
 * the bytes received do not parse into the structure.
 *
 * @example Usage
 * ```ts
 * import { ProtocolFieldError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new ProtocolFieldError("Reject ATTRIB: size 3 is reserved", "ATTRIB", 40);
 * assert.ok(e instanceof SyntaxError);
 * assert.equal(e.name, "ProtocolFieldError");
 * assert.equal(e.offset, 40);
 * ```
 */
export class ProtocolFieldError extends SyntaxError {
  /** Spec name of the offending field, e.g. `"SUBNQN"`. */
  readonly field: string;
  /** Byte offset of the field within the structure that was decoded. */
  readonly offset: number;

  /**
   * Creates the error.
   *
   * @param message Sentence case, action first, detail after a colon, no final period.
   * @param field Spec name of the offending field.
   * @param offset Byte offset of the field within its structure.
   */
  constructor(message: string, field: string, offset: number) {
    super(message);
    this.name = "ProtocolFieldError";
    this.field = field;
    this.offset = offset;
  }
}

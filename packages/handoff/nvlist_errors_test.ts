import { test } from "node:test";
import assert from "node:assert/strict";
import { NvFieldError, NvListError } from "./nvlist_errors.ts";

test("NvListError is a SyntaxError carrying the offset and reason", () => {
  const e = new NvListError("bad nvlist header magic 0x6d (want 0x6c)", 0);
  assert.ok(e instanceof NvListError);
  assert.ok(e instanceof SyntaxError);
  assert.ok(e instanceof Error);
  assert.equal(e.name, "NvListError");
  assert.equal(e.offset, 0);
  assert.equal(e.reason, "bad nvlist header magic 0x6d (want 0x6c)");
  assert.equal(
    e.message,
    "Cannot unpack nvlist at byte 0: bad nvlist header magic 0x6d (want 0x6c)",
  );
});

test("NvFieldError is a TypeError carrying the field and reason", () => {
  const e = new NvFieldError("io[1].qsize", "missing NUMBER");
  assert.ok(e instanceof NvFieldError);
  assert.ok(e instanceof TypeError);
  assert.ok(e instanceof Error);
  assert.equal(e.name, "NvFieldError");
  assert.equal(e.field, "io[1].qsize");
  assert.equal(e.reason, "missing NUMBER");
  assert.equal(e.message, 'Cannot use nvlist field "io[1].qsize": missing NUMBER');
});

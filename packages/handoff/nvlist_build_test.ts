import { test } from "node:test";
import assert from "node:assert/strict";
import { nvNumber, nvNumberArray } from "./nvlist_build.ts";

test("nvNumber() and nvNumberArray() take u64 values only", () => {
  assert.equal(nvNumber("n", 2n ** 64n - 1n).value, 2n ** 64n - 1n);
  assert.throws(() => nvNumber("n", -1), RangeError);
  assert.throws(() => nvNumber("n", 1.5), RangeError);
  assert.throws(() => nvNumber("n", 2n ** 64n), RangeError);
  assert.throws(() => nvNumberArray("n", [2 ** 53]), RangeError);
});

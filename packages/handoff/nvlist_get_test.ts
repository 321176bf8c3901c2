import { test } from "node:test";
import assert from "node:assert/strict";
import {
  nvBinary,
  nvBool,
  nvList,
  nvNumber,
  nvNvList,
  nvNvListArray,
  nvString,
} from "./nvlist_build.ts";
import { NvFieldError } from "./nvlist_errors.ts";
import {
  nvFind,
  nvGetBinary,
  nvGetBool,
  nvGetNumber,
  nvGetNvList,
  nvGetNvListArray,
  nvGetString,
} from "./nvlist_get.ts";

test("getters name the missing or mistyped field", () => {
  const list = nvList([
    nvBool("admin", true),
    nvNumber("qsize", 32),
    nvString("hostnqn", "nqn.x"),
    nvBinary("cmd", new Uint8Array(64)),
    nvNvList("params", nvList([nvNumber("sqhd", 1)])),
    nvNvListArray("io", [nvList()]),
  ]);
  assert.equal(nvGetBool(list, "admin"), true);
  assert.equal(nvGetNumber(list, "qsize"), 32n);
  assert.equal(nvGetString(list, "hostnqn"), "nqn.x");
  assert.equal(nvGetBinary(list, "cmd").length, 64);
  assert.equal(nvGetNumber(nvGetNvList(list, "params"), "sqhd"), 1n);
  assert.equal(nvGetNvListArray(list, "io").length, 1);
  assert.equal(nvFind(list, "ADMIN"), undefined);
  assert.throws(() => nvGetNumber(list, "sqtail", "params"), (e: unknown) => {
    assert.ok(e instanceof NvFieldError);
    assert.ok(e instanceof TypeError);
    assert.equal(e.field, "params.sqtail");
    assert.equal(e.message, 'Cannot use nvlist field "params.sqtail": missing NUMBER');
    return true;
  });
  assert.throws(() => nvGetNumber(list, "admin"), (e: unknown) => {
    assert.ok(e instanceof NvFieldError);
    assert.equal(e.reason, "want NUMBER, found BOOL");
    return true;
  });
});

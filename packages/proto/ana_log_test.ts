import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ANA_LOG_HEADER_SIZE,
  AnaGroupOffset,
  AnaState,
  decodeAnaLog,
  encodeAnaLog,
  ProtocolFieldError,
} from "./mod.ts";

// The layout of Base 2.0 Figure 232/233, checked byte by byte.
test("encodeAnaLog() lays out the header and descriptors as Base 5.16.1.13", () => {
  const page = encodeAnaLog({
    changeCount: 0x0102n,
    groups: [
      { grpid: 1, changeCount: 5n, state: AnaState.OPTIMIZED, nsids: [1, 3] },
      { grpid: 2, changeCount: 6n, state: AnaState.CHANGE, nsids: [] },
    ],
  });
  assert.equal(page.length, ANA_LOG_HEADER_SIZE + 32 + 8 + 32);
  assert.deepEqual([...page.subarray(0, 16)], [2, 1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
  const g1 = 16;
  assert.deepEqual([...page.subarray(g1, g1 + 8)], [1, 0, 0, 0, 2, 0, 0, 0]);
  assert.equal(page[g1 + AnaGroupOffset.CHGCNT], 5);
  assert.equal(page[g1 + AnaGroupOffset.STATE], AnaState.OPTIMIZED);
  assert.deepEqual([...page.subarray(g1 + 32, g1 + 40)], [1, 0, 0, 0, 3, 0, 0, 0]);
  const g2 = g1 + 40;
  assert.equal(page[g2], 2);
  assert.equal(page[g2 + AnaGroupOffset.STATE], 0x0f);
});

test("RGO leaves the NSIDs out and every descriptor says 0", () => {
  const log = {
    changeCount: 1n,
    groups: [{ grpid: 1, changeCount: 1n, state: AnaState.INACCESSIBLE, nsids: [1, 2, 3] }],
  };
  const page = encodeAnaLog(log, true);
  assert.equal(page.length, 48);
  assert.deepEqual(decodeAnaLog(page).groups[0].nsids, []);
  assert.deepEqual(decodeAnaLog(encodeAnaLog(log)), log);
});

test("decodeAnaLog() refuses truncated pages, naming the field", () => {
  const page = encodeAnaLog({
    changeCount: 0n,
    groups: [{ grpid: 1, changeCount: 0n, state: 1, nsids: [1, 2] }],
  });
  assert.throws(() => decodeAnaLog(page.subarray(0, 8)), ProtocolFieldError);
  assert.throws(() => decodeAnaLog(page.subarray(0, 40)), /descriptor 0: the page ends/);
  assert.throws(() => decodeAnaLog(page.subarray(0, 50)), /its 2 NSIDs run past/);
  assert.throws(
    () =>
      encodeAnaLog({
        changeCount: 0n,
        groups: [{ grpid: 0, changeCount: 0n, state: 1, nsids: [] }],
      }),
    RangeError,
  );
});

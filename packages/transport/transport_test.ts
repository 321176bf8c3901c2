import { test } from "node:test";
import assert from "node:assert/strict";
import { getTransport, registeredTransports, registerTransport, type Transport } from "./mod.ts";

test("getTransport() names the registered transports when it finds none", () => {
  registerTransport({ trtype: 202, name: "reg-test" } as Transport);
  assert.throws(
    () => getTransport("nope"),
    /Cannot find transport "nope": registered are .*reg-test \(202\)/,
  );
  assert.throws(() => getTransport(1), /trtype 1 \(RDMA\)/);
});

test("registerTransport() replaces a transport of the same TRTYPE", () => {
  const a = { trtype: 203, name: "first" } as Transport;
  const b = { trtype: 203, name: "second" } as Transport;
  registerTransport(a);
  registerTransport(b);
  assert.equal(getTransport(203), b);
  assert.equal(registeredTransports().filter((t) => t.trtype === 203).length, 1);
});

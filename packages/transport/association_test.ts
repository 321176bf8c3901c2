import { test } from "node:test";
import assert from "node:assert/strict";
import { Association, DEFAULT_ASSOCIATION_PARAMS, type Transport } from "./mod.ts";

const fake = { trtype: 201, name: "fake-assoc" } as Transport;

test("Association fills defaults and keeps given parameters", () => {
  const na = new Association(fake, false, {
    sqFlowControl: false,
    tcp: { headerDigests: true } as never,
  });
  assert.equal(na.params.sqFlowControl, false);
  assert.equal(na.params.tcp.headerDigests, true);
  assert.equal(na.params.tcp.maxh2cdata, DEFAULT_ASSOCIATION_PARAMS.tcp.maxh2cdata);
  assert.equal(na.params.maxIoQsize, DEFAULT_ASSOCIATION_PARAMS.maxIoQsize);
  assert.ok(Object.isFrozen(na.params));
});

test("Association rejects out-of-range parameters naming them", () => {
  const bad: [object, RegExp][] = [
    [{ tcp: { pda: 32 } }, /tcp\.pda 32/],
    [{ tcp: { pda: -1 } }, /tcp\.pda/],
    [{ tcp: { maxr2t: 0 } }, /tcp\.maxr2t 0/],
    [{ tcp: { maxh2cdata: 4095 } }, /tcp\.maxh2cdata 4095/],
    [{ tcp: { maxh2cdata: 4098 } }, /tcp\.maxh2cdata 4098/],
    [{ maxAdminQsize: 1 }, /maxAdminQsize 1/],
    [{ maxIoQsize: 65537 }, /maxIoQsize 65537/],
    [{ ioInCapsuleData: 100 }, /ioInCapsuleData 100/],
  ];
  for (const [params, message] of bad) {
    assert.throws(() => new Association(fake, true, params as never), message);
  }
});

test("Association.update() derives I/O in-capsule data from IOCCSZ", () => {
  const na = new Association(fake, false);
  assert.equal(na.maxInCapsuleData(false), 0);
  assert.equal(na.maxInCapsuleData(true), 8192);
  na.update({ ioccsz: 1028, mdts: 5, sgls: 0x100005, maxcmd: 128 });
  assert.equal(na.maxInCapsuleData(false), 16384);
  assert.equal(na.mdts, 5);
  assert.equal(na.sgls, 0x100005);
  assert.equal(na.maxcmd, 128);
  assert.throws(() => na.update({ ioccsz: 3, mdts: 0 }), /IOCCSZ 3/);
});

test("a controller association offers its own I/O in-capsule size", () => {
  const na = new Association(fake, true, { ioInCapsuleData: 4096 });
  assert.equal(na.maxInCapsuleData(false), 4096);
});

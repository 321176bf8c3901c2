import { test } from "node:test";
import assert from "node:assert/strict";
import {
  GenericStatus,
  Psdt,
  SGL_IDENTIFIER,
  SQE_DPTR,
  SQE_FLAGS,
  sqePsdt,
  sqeSglLength,
} from "@nvmf/proto";
import {
  commandSglLength,
  isInCapsuleCommand,
  prepareCommandSgl,
  SGL_ID_IN_CAPSULE,
  SGL_ID_TRANSPORT,
  validateCommandSgl,
} from "./sgl.ts";

test("SGL identifiers are the ones Linux nvme-tcp sends", () => {
  assert.equal(SGL_ID_IN_CAPSULE, 0x01);
  assert.equal(SGL_ID_TRANSPORT, 0x5a);
});

test("prepareCommandSgl() chooses in-capsule data only for writes that fit", () => {
  const sqe = new Uint8Array(64).fill(0xee);
  sqe[SQE_FLAGS] = 0x01; // FUSE bits must survive
  assert.equal(prepareCommandSgl(sqe, 8192, "host-to-controller", 8192), true);
  assert.equal(sqe[SQE_FLAGS], 0x41);
  assert.equal(sqePsdt(sqe), Psdt.SGL_MPTR_CONTIGUOUS);
  assert.equal(sqeSglLength(sqe), 8192);
  assert.deepEqual([...sqe.subarray(SQE_DPTR, SQE_DPTR + 8)], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...sqe.subarray(SQE_DPTR + 12, SQE_DPTR + 15)], [0, 0, 0]);
  assert.equal(isInCapsuleCommand(sqe), true);
  assert.equal(prepareCommandSgl(sqe, 8193, "host-to-controller", 8192), false);
  assert.equal(sqe[SQE_DPTR + SGL_IDENTIFIER], SGL_ID_TRANSPORT);
  assert.equal(prepareCommandSgl(sqe, 0, undefined, 8192), false);
  assert.equal(commandSglLength(sqe), 0);
  assert.equal(sqe[SQE_DPTR + SGL_IDENTIFIER], SGL_ID_TRANSPORT);
});

test("validateCommandSgl() follows FreeBSD's checks in order", () => {
  const sqe = new Uint8Array(64);
  prepareCommandSgl(sqe, 100, "host-to-controller", 8192);
  assert.equal(validateCommandSgl(sqe, 100), GenericStatus.SUCCESS);
  assert.equal(validateCommandSgl(sqe, 99), GenericStatus.DATA_SGL_LENGTH_INVALID);
  prepareCommandSgl(sqe, 100, "controller-to-host", 8192);
  assert.equal(validateCommandSgl(sqe, 0), GenericStatus.SUCCESS);
  assert.equal(validateCommandSgl(sqe, 4), GenericStatus.INVALID_FIELD_IN_COMMAND);
  sqe[SQE_DPTR] = 1;
  assert.equal(validateCommandSgl(sqe, 0), GenericStatus.SGL_OFFSET_INVALID);
  sqe[SQE_DPTR + SGL_IDENTIFIER] = 0x00; // Data Block, Address subtype
  assert.equal(validateCommandSgl(sqe, 0), GenericStatus.SGL_DESCRIPTOR_TYPE_INVALID);
});

test("validateCommandSgl() ignores the descriptor of a command that moves no data", () => {
  const zero = new Uint8Array(64);
  assert.equal(validateCommandSgl(zero, 0), GenericStatus.SUCCESS);
  zero[SQE_DPTR + SGL_IDENTIFIER] = 0x40; // keyed data block, length 0
  zero[SQE_DPTR] = 8; // and an address: nothing is moved, so nothing is read there
  assert.equal(validateCommandSgl(zero, 0), GenericStatus.SUCCESS);
  // Data arrived without a length: still an error.
  assert.equal(validateCommandSgl(zero, 16), GenericStatus.SGL_DESCRIPTOR_TYPE_INVALID);
  // A length with a bad descriptor: still an error.
  zero[SQE_DPTR + 8] = 1;
  assert.equal(validateCommandSgl(zero, 0), GenericStatus.SGL_DESCRIPTOR_TYPE_INVALID);
});

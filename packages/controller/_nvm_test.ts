import { test } from "node:test";
import assert from "node:assert/strict";
import {
  encodeSqe,
  GenericStatus,
  NvmOpcode,
  SQE_CDW10,
  SQE_CDW11,
  SQE_CDW12,
  StatusCodeType,
  statusOf,
} from "@nvmf/proto";
import type { CommandCapsule, QueuePair } from "@nvmf/transport";
import { lbaRange } from "./_nvm.ts";
import { RamBackend } from "./backend.ts";
import { Namespace } from "./subsystem.ts";

const status = (sc: number) => statusOf(StatusCodeType.GENERIC, sc, true);

test("lbaRange() decodes SLBA and NLB and checks MDTS, the data length and NSZE in order", () => {
  // 100 blocks of 512 bytes; MDTS 4096 bytes (8 blocks).
  const ns = new Namespace(1, { backend: new RamBackend({ size: 100 * 512, blockSize: 512 }) });
  const cases: {
    name: string;
    slba: number;
    nlb: number;
    data: number;
    transfers: boolean;
    expect: number;
  }[] = [
    { name: "read of 8 blocks", slba: 0, nlb: 8, data: 4096, transfers: true, expect: 8 },
    { name: "last block", slba: 99, nlb: 1, data: 512, transfers: true, expect: 1 },
    {
      name: "over MDTS",
      slba: 0,
      nlb: 9,
      data: 4608,
      transfers: true,
      expect: -status(GenericStatus.INVALID_FIELD_IN_COMMAND),
    },
    {
      name: "data shorter than NLB blocks",
      slba: 0,
      nlb: 2,
      data: 512,
      transfers: true,
      expect: -status(GenericStatus.DATA_SGL_LENGTH_INVALID),
    },
    {
      name: "past NSZE",
      slba: 99,
      nlb: 2,
      data: 1024,
      transfers: true,
      expect: -status(GenericStatus.LBA_OUT_OF_RANGE),
    },
    {
      name: "SLBA beyond 2^32",
      slba: 2 ** 32,
      nlb: 1,
      data: 512,
      transfers: true,
      expect: -status(GenericStatus.LBA_OUT_OF_RANGE),
    },
    {
      name: "write zeroes past MDTS is fine",
      slba: 0,
      nlb: 100,
      data: 0,
      transfers: false,
      expect: 100,
    },
    {
      name: "write zeroes with data",
      slba: 0,
      nlb: 1,
      data: 512,
      transfers: false,
      expect: -status(GenericStatus.DATA_SGL_LENGTH_INVALID),
    },
    {
      name: "verify past NSZE",
      slba: 50,
      nlb: 51,
      data: 0,
      transfers: false,
      expect: -status(GenericStatus.LBA_OUT_OF_RANGE),
    },
  ];
  for (const c of cases) {
    const sqe = encodeSqe({ opcode: NvmOpcode.READ, cid: 1, nsid: 1 });
    const view = new DataView(sqe.buffer, sqe.byteOffset, sqe.byteLength);
    view.setUint32(SQE_CDW10, c.slba % 2 ** 32, true);
    view.setUint32(SQE_CDW11, Math.floor(c.slba / 2 ** 32), true);
    view.setUint32(SQE_CDW12, c.nlb - 1, true);
    const cmd: CommandCapsule = { kind: "command", sqe, data: undefined, direction: undefined };
    const qp = { capsuleDataLength: () => c.data } as unknown as QueuePair;
    assert.equal(lbaRange(qp, cmd, ns, 4096, c.transfers), c.expect, c.name);
  }
});

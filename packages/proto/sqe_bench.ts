/**
 * Micro benchmarks of the SQE and CQE codecs: the whole-record `encode*`/`decode*` (setup and
 * admin paths) and the in-place accessors that hosts, controllers and transports call per
 * command.
 *
 * Run: `deno bench packages/proto/sqe_bench.ts` (or `deno task bench` for everything).
 *
 * @module
 */

import { NvmOpcode } from "./constants.ts";
import {
  cqeCid,
  cqeSqhd,
  cqeStatus,
  decodeCqe,
  encodeCqe,
  setCqeCid,
  setCqeSqhd,
  setCqeStatus,
} from "./cqe.ts";
import {
  decodeSqe,
  encodeSqe,
  setSqeCdw,
  setSqeCid,
  sqeCdw,
  sqeCid,
  sqeOpcode,
  sqeSglLength,
  sqeSglType,
  transportSgl,
} from "./sqe.ts";

const read = {
  opcode: NvmOpcode.READ,
  psdt: 1,
  cid: 7,
  nsid: 1,
  dptr: transportSgl(4096),
  cdw10: 1234,
  cdw11: 0,
  cdw12: 7,
};
const sqe = encodeSqe(read);
const into = new Uint8Array(64);
const cqe = encodeCqe({ cid: 7, sqid: 1, sqhd: 3 });
const cqeInto = new Uint8Array(16);
let sink = 0;
let n = 0;

Deno.bench({ name: "encodeSqe, new array", group: "SQE" }, () => {
  sink ^= encodeSqe(read)[0];
});
Deno.bench({ name: "encodeSqe, into", group: "SQE" }, () => {
  sink ^= encodeSqe(read, into)[0];
});
Deno.bench({ name: "decodeSqe", group: "SQE" }, () => {
  sink ^= decodeSqe(sqe).cid;
});
Deno.bench({ name: "accessors: opcode, CID, CDW10-12, SGL type and length", group: "SQE" }, () => {
  sink ^= sqeOpcode(sqe) + sqeCid(sqe) + sqeCdw(sqe, 10) + sqeCdw(sqe, 11) + sqeCdw(sqe, 12) +
    sqeSglType(sqe) + sqeSglLength(sqe);
});
Deno.bench({ name: "setters: CID, CDW10-12", group: "SQE" }, () => {
  n = (n + 1) & 0xffff;
  setSqeCid(into, n);
  setSqeCdw(into, 10, n);
  setSqeCdw(into, 11, 0);
  setSqeCdw(into, 12, 7);
  sink ^= into[2];
});

Deno.bench({ name: "encodeCqe, new array", group: "CQE" }, () => {
  sink ^= encodeCqe({ cid: 7, sqid: 1 })[12];
});
Deno.bench({ name: "encodeCqe, into", group: "CQE" }, () => {
  sink ^= encodeCqe({ cid: 7, sqid: 1 }, cqeInto)[12];
});
Deno.bench({ name: "decodeCqe", group: "CQE" }, () => {
  sink ^= decodeCqe(cqe).cid;
});
Deno.bench({ name: "accessors: CID, SQHD, status", group: "CQE" }, () => {
  sink ^= cqeCid(cqe) + cqeSqhd(cqe) + cqeStatus(cqe);
});
Deno.bench({ name: "setters: CID, SQHD, status", group: "CQE" }, () => {
  n = (n + 1) & 0xffff;
  setCqeCid(cqeInto, n);
  setCqeSqhd(cqeInto, n);
  setCqeStatus(cqeInto, 0);
  sink ^= cqeInto[12];
});

Deno.bench({ name: "(sink)", group: "sink", n: 1 }, () => {
  if (sink === 0.5) throw new Error("Cannot happen: sink");
});

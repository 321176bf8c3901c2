/**
 * Micro benchmarks of the NVMe/TCP PDU codecs on the paths a queue pair runs per PDU: the
 * receive-side header read and check, the allocation-free header writers of the send path, and
 * the whole-PDU encoder and decoder (used by tools and tests, not per PDU) for comparison.
 * Digests off and on, where they change the work.
 *
 * Run: `deno bench packages/proto/tcp_pdu_bench.ts` (or `deno task bench` for everything).
 *
 * @module
 */

import { PduType } from "./constants.ts";
import { encodeCqe } from "./cqe.ts";
import { encodeSqe, transportSgl } from "./sqe.ts";
import {
  checkPduHeader,
  type CommonHeader,
  type DataHeader,
  decodePdu,
  encodePdu,
  type PduLimits,
  type PduOptions,
  readCommonHeader,
  writeCapsuleCmdHeader,
  writeCapsuleResp,
  writeDataHeader,
} from "./tcp_pdu.ts";

const PLAIN: PduOptions = { hdgst: false, ddgst: false, pda: 0 };
const DIGESTS: PduOptions = { hdgst: true, ddgst: true, pda: 0 };

const sqe = encodeSqe({ opcode: 0x02, psdt: 1, cid: 7, nsid: 1, dptr: transportSgl(4096) });
const cqe = encodeCqe({ cid: 7, sqid: 1, sqhd: 3 });
const page = new Uint8Array(4096).fill(0x5a);
const stage = new Uint8Array(64 * 1024);
const stageView = new DataView(stage.buffer);
const c2h: DataHeader = {
  type: PduType.C2H_DATA,
  cccid: 7,
  ttag: 0,
  datao: 0,
  datal: 4096,
  last: true,
  success: false,
};

// Received PDUs as a host sees them: a C2HData header and a CapsuleResp, digests off and on.
const rxC2h = encodePdu({ ...c2h, data: page }, PLAIN);
const rxC2hDigest = encodePdu({ ...c2h, data: page }, DIGESTS);
const rxResp = encodePdu({ type: PduType.CAPSULE_RESP, cqe }, PLAIN);
const rxRespDigest = encodePdu({ type: PduType.CAPSULE_RESP, cqe }, DIGESTS);
const rxCmd = encodePdu({ type: PduType.CAPSULE_CMD, sqe }, PLAIN);
const ch: CommonHeader = { pduType: 0, flags: 0, hlen: 0, pdo: 0, plen: 0 };
const hostLimits = (hdgst: boolean): PduLimits => ({
  role: "host",
  hdgst,
  ddgst: hdgst,
  rxpda: 0,
  maxDataLength: 0xffffffff,
  fei: 0,
});
const plainLimits = hostLimits(false);
const digestLimits = hostLimits(true);

let sink = 0;

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

const rxC2hView = viewOf(rxC2h);
const rxC2hDigestView = viewOf(rxC2hDigest);
const rxRespView = viewOf(rxResp);

Deno.bench({ name: "readCommonHeader + checkPduHeader, C2HData", group: "receive" }, () => {
  readCommonHeader(rxC2hView, 0, ch);
  sink ^= checkPduHeader(ch, plainLimits) + ch.plen;
});
Deno.bench(
  { name: "readCommonHeader + checkPduHeader, C2HData, digests", group: "receive" },
  () => {
    readCommonHeader(rxC2hDigestView, 0, ch);
    sink ^= checkPduHeader(ch, digestLimits) + ch.plen;
  },
);
Deno.bench({ name: "readCommonHeader + checkPduHeader, CapsuleResp", group: "receive" }, () => {
  readCommonHeader(rxRespView, 0, ch);
  sink ^= checkPduHeader(ch, plainLimits) + ch.plen;
});

let at = 0;
/** Writes at a moving offset, as the staging buffer of a queue pair fills. */
function next(n: number): number {
  const here = at;
  at = at + n > stage.length - 256 ? 0 : at + n;
  return here;
}

Deno.bench({ name: "writeCapsuleCmdHeader", group: "send" }, () => {
  sink ^= writeCapsuleCmdHeader(stageView, next(72), sqe, 0, PLAIN);
});
Deno.bench({ name: "writeCapsuleCmdHeader, header digest", group: "send" }, () => {
  sink ^= writeCapsuleCmdHeader(stageView, next(76), sqe, 0, DIGESTS);
});
Deno.bench({ name: "writeDataHeader, C2HData 4 KiB", group: "send" }, () => {
  sink ^= writeDataHeader(stageView, next(24), c2h, PLAIN);
});
Deno.bench({ name: "writeDataHeader, C2HData 4 KiB, header digest", group: "send" }, () => {
  sink ^= writeDataHeader(stageView, next(28), c2h, DIGESTS);
});
Deno.bench({ name: "writeCapsuleResp", group: "send" }, () => {
  sink ^= writeCapsuleResp(stageView, next(24), cqe, PLAIN);
});
Deno.bench({ name: "writeCapsuleResp, header digest", group: "send" }, () => {
  sink ^= writeCapsuleResp(stageView, next(28), cqe, DIGESTS);
});

Deno.bench({ name: "decodePdu CapsuleCmd", group: "whole PDU" }, () => {
  sink ^= decodePdu(rxCmd).type;
});
Deno.bench({ name: "decodePdu CapsuleResp, header digest", group: "whole PDU" }, () => {
  sink ^= decodePdu(rxRespDigest).type;
});
Deno.bench({ name: "decodePdu C2HData 4 KiB", group: "whole PDU" }, () => {
  sink ^= decodePdu(rxC2h).type;
});
Deno.bench({ name: "decodePdu C2HData 4 KiB, digests", group: "whole PDU" }, () => {
  sink ^= decodePdu(rxC2hDigest).type;
});
Deno.bench({ name: "encodePdu CapsuleResp", group: "whole PDU" }, () => {
  sink ^= encodePdu({ type: PduType.CAPSULE_RESP, cqe }, PLAIN).length;
});
Deno.bench({ name: "encodePdu C2HData 4 KiB", group: "whole PDU" }, () => {
  sink ^= encodePdu({ ...c2h, data: page }, PLAIN).length;
});
Deno.bench({ name: "encodePdu C2HData 4 KiB, digests", group: "whole PDU" }, () => {
  sink ^= encodePdu({ ...c2h, data: page }, DIGESTS).length;
});

Deno.bench({ name: "(sink)", group: "sink", n: 1 }, () => {
  if (sink === 0.5) throw new Error("Cannot happen: sink");
});

// The Real Bytes requirement: every PDU Linux 6.1 sent in shared/fixtures decodes, re-encodes
// byte for byte, passes checkPduHeader and carries valid digests; counts match the README.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FABRICS_OPCODE, FabricsType, NvmOpcode, PduFlags, PduType } from "./constants.ts";
import {
  CH_FLAGS,
  checkPduHeader,
  type CommonHeader,
  decodePdu,
  encodePdu,
  type IcReq,
  type IcResp,
  type Pdu,
  type PduLimits,
  pduTypeName,
  readCommonHeader,
} from "./tcp_pdu.ts";
import {
  collectCommands,
  CONNECTIONS,
  type Direction,
  loadStream,
  splitPdus,
  streamFile,
  type Variant,
  VARIANTS,
} from "./_fixtures.ts";

/** PDU counts per stream from shared/fixtures/README.md, the same for both variants. */
const COUNTS: Record<number, Record<Direction, Record<string, number>>> = {
  0: {
    "host-to-controller": { ICReq: 1, CapsuleCmd: 16 },
    "controller-to-host": { ICResp: 1, CapsuleResp: 16, C2HData: 4 },
  },
  1: {
    "host-to-controller": { ICReq: 1, CapsuleCmd: 28 },
    "controller-to-host": { ICResp: 1, CapsuleResp: 28, C2HData: 15 },
  },
  2: {
    "host-to-controller": { ICReq: 1, CapsuleCmd: 13, H2CData: 2 },
    "controller-to-host": { ICResp: 1, CapsuleResp: 13, C2HData: 7, R2T: 2 },
  },
};

interface Connection {
  h2c: Uint8Array[];
  c2h: Uint8Array[];
  icreq: IcReq;
  icresp: IcResp;
}

function connection(variant: Variant, conn: number): Connection {
  const h2c = splitPdus(loadStream(streamFile(variant, conn, "host-to-controller")));
  const c2h = splitPdus(loadStream(streamFile(variant, conn, "controller-to-host")));
  const icreq = decodePdu(h2c[0]);
  const icresp = decodePdu(c2h[0]);
  assert.equal(icreq.type, PduType.IC_REQ);
  assert.equal(icresp.type, PduType.IC_RESP);
  return { h2c, c2h, icreq, icresp };
}

function count(pdus: Pdu[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pdus) out[pduTypeName(p.type)] = (out[pduTypeName(p.type)] ?? 0) + 1;
  return out;
}

for (const variant of VARIANTS) {
  for (const conn of CONNECTIONS) {
    test(`fixtures ${variant} conn${conn}: every PDU decodes, re-encodes byte for byte and counts match`, () => {
      const c = connection(variant, conn);
      const hdgst = c.icresp.hdgst;
      const ddgst = c.icresp.ddgst;
      for (
        const [dir, pdus, pda] of [
          ["host-to-controller", c.h2c, c.icresp.cpda],
          ["controller-to-host", c.c2h, c.icreq.hpda],
        ] as const
      ) {
        const decoded: Pdu[] = [];
        pdus.forEach((bytes, i) => {
          // After the IC exchange, hold the flags to the negotiated digests.
          const pdu = i === 0 ? decodePdu(bytes) : decodePdu(bytes, { hdgst, ddgst });
          decoded.push(pdu);
          const again = encodePdu(pdu, { hdgst, ddgst, pda });
          assert.deepEqual(again, bytes, `${dir} PDU ${i} (${pduTypeName(pdu.type)})`);
        });
        assert.deepEqual(count(decoded), COUNTS[conn][dir], dir);
      }
    });

    test(`fixtures ${variant} conn${conn}: checkPduHeader() accepts every PDU after the IC exchange`, () => {
      const c = connection(variant, conn);
      const ch: CommonHeader = { pduType: 0, flags: 0, hlen: 0, pdo: 0, plen: 0 };
      for (
        const [role, pdus, rxpda] of [
          ["controller", c.h2c, c.icresp.cpda],
          ["host", c.c2h, c.icreq.hpda],
        ] as const
      ) {
        const limits: PduLimits = {
          role,
          hdgst: c.icresp.hdgst,
          ddgst: c.icresp.ddgst,
          rxpda,
          maxDataLength: c.icresp.maxh2cdata,
          fei: 0,
        };
        for (const bytes of pdus.slice(1)) {
          readCommonHeader(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, ch);
          assert.equal(checkPduHeader(ch, limits), 0, `${role} ${pduTypeName(ch.pduType)}`);
        }
        // The ICReq/ICResp itself is not acceptable once the connection is up.
        readCommonHeader(new DataView(pdus[0].buffer, pdus[0].byteOffset, 8), 0, ch);
        assert.notEqual(checkPduHeader(ch, limits), 0);
      }
    });
  }
}

test("fixtures: ICReq and ICResp carry the parameters Linux 6.1 negotiates", () => {
  for (const variant of VARIANTS) {
    for (const conn of CONNECTIONS) {
      const c = connection(variant, conn);
      // nvme discover does not pass -g -G, so the discovery connection has no digests.
      const digests = variant === "digests" && conn !== 0;
      assert.deepEqual(c.icreq, {
        type: PduType.IC_REQ,
        pfv: 0,
        hpda: 0,
        hdgst: digests,
        ddgst: digests,
        maxr2t: 0,
      });
      assert.deepEqual(c.icresp, {
        type: PduType.IC_RESP,
        pfv: 0,
        cpda: 0,
        hdgst: digests,
        ddgst: digests,
        maxh2cdata: 0x400000,
      });
    }
  }
});

test("fixtures: the digests capture has 108 valid header and 28 valid data digests", () => {
  let headers = 0;
  let datas = 0;
  for (const conn of CONNECTIONS) {
    const c = connection("digests", conn);
    for (const bytes of [...c.h2c, ...c.c2h]) {
      const flags = bytes[CH_FLAGS];
      if (flags & PduFlags.HDGSTF) headers++;
      if (flags & PduFlags.DDGSTF) datas++;
      // decodePdu verifies both digests by default; corrupting one byte must be caught.
      decodePdu(bytes);
      if (flags & PduFlags.DDGSTF) {
        const bad = bytes.slice();
        bad[bad.length - 5] ^= 1; // last data byte
        assert.throws(() => decodePdu(bad), { name: "DataDigestError" });
      }
      if (flags & PduFlags.HDGSTF) {
        const bad = bytes.slice();
        bad[9] ^= 1;
        assert.throws(() => decodePdu(bad), { name: "PduError", message: /header digest/ });
      }
    }
  }
  assert.equal(headers, 108);
  assert.equal(datas, 28);
});

test("fixtures: plain and digests streams carry the same commands and data", () => {
  for (const conn of CONNECTIONS) {
    const [plain, digests] = VARIANTS.map((v) =>
      collectCommands(
        loadStream(streamFile(v, conn, "host-to-controller")),
        loadStream(streamFile(v, conn, "controller-to-host")),
      )
    );
    assert.equal(plain.length, digests.length);
    plain.forEach((p, i) => {
      const d = digests[i];
      assert.equal(p.opcode, d.opcode, `conn${conn} command ${i}`);
      assert.equal(p.data?.length, d.data?.length);
      assert.equal(p.c2hData?.length, d.c2hData?.length);
      assert.ok(p.cqe !== undefined && d.cqe !== undefined, "every command completed");
    });
  }
});

test("collectCommands() pairs the I/O queue's writes and reads with their data", () => {
  for (const variant of VARIANTS) {
    const cmds = collectCommands(
      loadStream(streamFile(variant, 2, "host-to-controller")),
      loadStream(streamFile(variant, 2, "controller-to-host")),
    );
    assert.equal(cmds.length, 13);
    const connect = cmds[0];
    assert.equal(connect.opcode, FABRICS_OPCODE);
    assert.equal(connect.sqe[4], FabricsType.CONNECT);
    assert.equal(connect.data?.length, 1024);
    assert.ok(connect.inCapsule);
    const writes = cmds.filter((c) => c.opcode === NvmOpcode.WRITE);
    assert.deepEqual(writes.map((c) => [c.data?.length, c.inCapsule]), [
      [4096, true],
      [8192, true],
      [65536, false],
      [1048576, false],
    ]);
    // Each size is written at LBA 0, then read back: the read returns what was written.
    for (const w of writes) {
      const r = cmds.slice(cmds.indexOf(w)).find((x) => x.opcode === NvmOpcode.READ);
      assert.ok(r, `read-back of ${w.data?.length} bytes`);
      assert.equal(r.c2hData?.length, w.data?.length);
      assert.deepEqual(r.c2hData, w.data);
    }
    assert.equal(cmds[cmds.length - 1].opcode, NvmOpcode.FLUSH);
  }
});

test("collectCommands() gives each CQE to the command with its CID", () => {
  const cmds = collectCommands(
    loadStream(streamFile("plain", 1, "host-to-controller")),
    loadStream(streamFile("plain", 1, "controller-to-host")),
  );
  assert.equal(cmds.length, 28);
  for (const c of cmds) {
    assert.ok(c.cqe);
    assert.equal(c.cqe[12] | (c.cqe[13] << 8), c.cid);
  }
  const connectData = cmds[0].data!;
  // Connect data (Fabrics 3.3): SUBNQN at byte 256.
  const subnqn = new TextDecoder().decode(connectData.subarray(256, 512)).replace(/\0+$/, "");
  assert.equal(subnqn, "nqn.2026-01.test:kernel-target");
});

/**
 * Private test helper: loads the captured Linux NVMe/TCP streams of `shared/fixtures` (see its
 * README.md), splits them into PDUs and pairs each command with its data and completion.
 *
 * The fixtures live beside the repository (`../../../shared/fixtures/` from this file), in CI
 * too. Reads use `node:fs` so that the helper runs under both Deno and Bun.
 *
 * @example Usage
 * ```ts ignore
 * import { collectCommands, loadStream, streamFile } from "./_fixtures.ts";
 * const h2c = loadStream(streamFile("plain", 0, "host-to-controller"));
 * const c2h = loadStream(streamFile("plain", 0, "controller-to-host"));
 * console.log(collectCommands(h2c, c2h).length); // 16
 * ```
 *
 * @module
 */

import { readFileSync } from "node:fs";
import { PduType } from "./constants.ts";
import { CQE_CID } from "./cqe.ts";
import { SQE_CID, SQE_OPCODE } from "./sqe.ts";
import { CH_PLEN, CH_SIZE, type DataPdu, decodePdu } from "./tcp_pdu.ts";

/** Directory of the captured fixtures. */
export const FIXTURES_DIR: URL = new URL("../../../shared/fixtures/", import.meta.url);

/** The two captures: without digests, and with header and data digests (`-g -G`). */
export type Variant = "plain" | "digests";
/** The two byte streams of a connection. */
export type Direction = "host-to-controller" | "controller-to-host";

/** The variants captured. */
export const VARIANTS: readonly Variant[] = ["plain", "digests"];
/** The connections captured: 0 discovery, 1 admin queue, 2 I/O queue. */
export const CONNECTIONS: readonly number[] = [0, 1, 2];

/**
 * Returns the file name of one captured stream.
 *
 * @param variant Plain or digests capture.
 * @param conn Connection number, 0 to 2.
 * @param direction Which byte stream of the connection.
 * @returns E.g. `linux-6.1-plain.conn0.host-to-controller.bin`.
 */
export function streamFile(variant: Variant, conn: number, direction: Direction): string {
  return `linux-6.1-${variant}.conn${conn}.${direction}.bin`;
}

/**
 * Reads a fixture file into a plain `Uint8Array` (not a Node Buffer, so that deep equality
 * against other arrays behaves).
 *
 * @param name File name inside the fixtures directory.
 * @returns Its bytes.
 */
export function loadStream(name: string): Uint8Array {
  const b = readFileSync(new URL(name, FIXTURES_DIR));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Splits a byte stream of whole PDUs at their PLENs.
 *
 * @param bytes The stream.
 * @returns One view per PDU.
 * @throws {Error} If a PLEN is below 8 or runs past the end.
 */
export function splitPdus(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < CH_SIZE) {
      throw new Error(`Cannot split stream at ${at}: ${bytes.length - at} bytes left`);
    }
    const plen = view.getUint32(at + CH_PLEN, true);
    if (plen < CH_SIZE || at + plen > bytes.length) {
      throw new Error(`Cannot split stream at ${at}: PLEN ${plen} with ${bytes.length - at} left`);
    }
    out.push(bytes.subarray(at, at + plen));
    at += plen;
  }
  return out;
}

/** One command of a connection with everything the captures show of it. */
export interface CollectedCommand {
  /** The 64-byte SQE. */
  sqe: Uint8Array;
  /** CID from the SQE. */
  cid: number;
  /** OPC from the SQE. */
  opcode: number;
  /** Host-to-controller data: in-capsule, or H2CData reassembled by DATAO. */
  data?: Uint8Array;
  /** True when `data` came in the capsule. */
  inCapsule: boolean;
  /** Controller-to-host data, C2HData reassembled by DATAO. */
  c2hData?: Uint8Array;
  /** The CQE; undefined when the command completed by C2HData SUCCESS or never completed. */
  cqe?: Uint8Array;
  /** The command completed with C2HData SUCCESS (no CapsuleResp). */
  success: boolean;
}

interface Pending {
  cmd: CollectedCommand;
  h2c: DataPdu[];
  c2h: DataPdu[];
  done: boolean;
}

function reassemble(pieces: DataPdu[], what: string): Uint8Array {
  pieces.sort((a, b) => a.datao - b.datao);
  let length = 0;
  for (const p of pieces) {
    if (p.datao !== length) throw new Error(`Cannot reassemble ${what}: gap at ${length}`);
    length += p.datal;
  }
  const out = new Uint8Array(length);
  for (const p of pieces) out.set(p.data, p.datao);
  return out;
}

/**
 * Pairs each CapsuleCmd of a connection, in order, with its host data (in-capsule or H2CData),
 * its C2HData and its CapsuleResp. PDUs are decoded with digests checked. A CID is taken by
 * the earliest of its commands not yet completed, as a CID is not reused before completion.
 *
 * @param h2c The host-to-controller stream.
 * @param c2h The controller-to-host stream.
 * @returns The commands in submission order.
 */
export function collectCommands(h2c: Uint8Array, c2h: Uint8Array): CollectedCommand[] {
  const all: Pending[] = [];
  const byCid = new Map<number, Pending[]>();
  for (const bytes of splitPdus(h2c)) {
    const pdu = decodePdu(bytes);
    if (pdu.type === PduType.CAPSULE_CMD) {
      const cid = pdu.sqe[SQE_CID] | (pdu.sqe[SQE_CID + 1] << 8);
      const p: Pending = {
        cmd: {
          sqe: pdu.sqe,
          cid,
          opcode: pdu.sqe[SQE_OPCODE],
          data: pdu.data,
          inCapsule: pdu.data !== undefined,
          success: false,
        },
        h2c: [],
        c2h: [],
        done: false,
      };
      all.push(p);
      const list = byCid.get(cid) ?? [];
      list.push(p);
      byCid.set(cid, list);
    } else if (pdu.type === PduType.H2C_DATA) {
      const list = byCid.get(pdu.cccid);
      if (list === undefined) throw new Error(`Cannot pair H2CData: no command ${pdu.cccid}`);
      list[list.length - 1].h2c.push(pdu);
    }
  }
  const open = (cid: number, what: string): Pending => {
    const p = byCid.get(cid)?.find((q) => !q.done);
    if (p === undefined) throw new Error(`Cannot pair ${what}: no open command ${cid}`);
    return p;
  };
  for (const bytes of splitPdus(c2h)) {
    const pdu = decodePdu(bytes);
    if (pdu.type === PduType.C2H_DATA) {
      const p = open(pdu.cccid, "C2HData");
      p.c2h.push(pdu);
      if (pdu.success) {
        p.cmd.success = true;
        p.done = true;
      }
    } else if (pdu.type === PduType.CAPSULE_RESP) {
      const p = open(pdu.cqe[CQE_CID] | (pdu.cqe[CQE_CID + 1] << 8), "CapsuleResp");
      p.cmd.cqe = pdu.cqe;
      p.done = true;
    }
  }
  for (const p of all) {
    if (p.h2c.length !== 0) p.cmd.data = reassemble(p.h2c, `H2CData of CID ${p.cmd.cid}`);
    if (p.c2h.length !== 0) p.cmd.c2hData = reassemble(p.c2h, `C2HData of CID ${p.cmd.cid}`);
  }
  return all.map((p) => p.cmd);
}

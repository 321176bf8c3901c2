/**
 * Prints every NVMe/TCP PDU of a captured byte stream (one direction of one connection, e.g.
 * `shared/fixtures/linux-6.1-plain.conn0.host-to-controller.bin`): offset, type, flags,
 * HLEN/PDO/PLEN, the key fields of each type and a verdict on each digest.
 *
 * ```sh
 * deno run -A examples/pdu_dump.ts FILE [--digests auto|none|header|data|both] [--json]
 * ```
 *
 * `--digests auto` (the default) trusts each PDU's HDGSTF/DDGSTF; the other values say what was
 * negotiated, and a PDU whose flags disagree is malformed. Exits 1 on a bad argument, an
 * unreadable file, a malformed PDU or a wrong digest.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  AdminOpcode,
  CH_PLEN,
  CH_SIZE,
  CONNECT_QID,
  cqeCid,
  cqeStatus,
  crc32cRange,
  decodePdu,
  FABRICS_FCTYPE,
  FABRICS_OPCODE,
  FabricsType,
  formatStatus,
  formatTermReq,
  nameOf,
  NvmOpcode,
  type Pdu,
  PduError,
  PduFlags,
  PduType,
  pduTypeName,
  ProtocolFieldError,
  sqeCid,
  sqeNsid,
} from "@nvmf/proto";

const USAGE =
  "Usage: deno run -A examples/pdu_dump.ts FILE [--digests auto|none|header|data|both] [--json]";

const DIGEST_MODES = ["auto", "none", "header", "data", "both"] as const;
type DigestMode = typeof DIGEST_MODES[number];

/** One dumped PDU, as printed with --json. */
interface Entry {
  offset: number;
  type: string;
  flags: string[];
  hlen: number;
  pdo: number;
  plen: number;
  fields: Record<string, string | number | boolean>;
  hdgst?: string;
  ddgst?: string;
}

/** A message for the user, printed without a stack trace. */
class UsageError extends Error {}

function hex(n: number, width = 2): string {
  return "0x" + n.toString(16).padStart(width, "0");
}

function flagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(PduFlags)) if (flags & bit) out.push(name);
  return out;
}

function parse(argv: string[]): { file: string; mode: DigestMode; json: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        digests: { type: "string", default: "auto" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    throw new UsageError(`Cannot parse arguments: ${(e as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (positionals.length !== 1) {
    throw new UsageError(`Give exactly one stream file: got ${positionals.length}\n${USAGE}`);
  }
  const mode = values.digests as DigestMode;
  if (!DIGEST_MODES.includes(mode)) {
    throw new UsageError(
      `Choose --digests from ${DIGEST_MODES.join(", ")}: got "${values.digests}"\n${USAGE}`,
    );
  }
  return { file: positionals[0], mode, json: values.json };
}

/** Opcode name: Fabrics commands by FCTYPE, others by the queue a Connect announced. */
function opcodeName(sqe: Uint8Array, qid: number | undefined): string {
  const opc = sqe[0];
  if (opc === FABRICS_OPCODE) {
    return `FABRICS/${nameOf(FabricsType, sqe[FABRICS_FCTYPE]) ?? hex(sqe[FABRICS_FCTYPE])}`;
  }
  const table = qid === undefined || qid === 0 ? AdminOpcode : NvmOpcode;
  return nameOf(table, opc) ?? "unknown";
}

function describe(pdu: Pdu, state: { qid?: number }): Record<string, string | number | boolean> {
  switch (pdu.type) {
    case PduType.IC_REQ:
      return {
        pfv: pdu.pfv,
        hpda: pdu.hpda,
        hdgst: pdu.hdgst,
        ddgst: pdu.ddgst,
        maxr2t: pdu.maxr2t, // 0's based
      };
    case PduType.IC_RESP:
      return {
        pfv: pdu.pfv,
        cpda: pdu.cpda,
        hdgst: pdu.hdgst,
        ddgst: pdu.ddgst,
        maxh2cdata: pdu.maxh2cdata,
      };
    case PduType.H2C_TERM_REQ:
    case PduType.C2H_TERM_REQ:
      return { fes: hex(pdu.fes), fei: pdu.fei, text: formatTermReq(pdu) };
    case PduType.CAPSULE_CMD: {
      const sqe = pdu.sqe;
      const out: Record<string, string | number | boolean> = {
        cid: sqeCid(sqe),
        opcode: hex(sqe[0]),
        name: opcodeName(sqe, state.qid),
      };
      if (sqe[0] === FABRICS_OPCODE) {
        out.fctype = hex(sqe[FABRICS_FCTYPE]);
        if (sqe[FABRICS_FCTYPE] === FabricsType.CONNECT) {
          state.qid = sqe[CONNECT_QID] | (sqe[CONNECT_QID + 1] << 8);
          out.qid = state.qid;
        }
      } else {
        out.nsid = sqeNsid(sqe);
      }
      out.icd = pdu.data?.length ?? 0;
      return out;
    }
    case PduType.CAPSULE_RESP:
      return { cid: cqeCid(pdu.cqe), status: formatStatus(cqeStatus(pdu.cqe)) };
    case PduType.H2C_DATA:
    case PduType.C2H_DATA:
      return {
        cccid: pdu.cccid,
        ttag: pdu.ttag,
        datao: pdu.datao,
        datal: pdu.datal,
      };
    case PduType.R2T:
      return { cccid: pdu.cccid, ttag: pdu.ttag, r2to: pdu.r2to, r2tl: pdu.r2tl };
  }
}

function verdict(bytes: Uint8Array, from: number, to: number, at: number): string {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const received = v.getUint32(at, true);
  const computed = crc32cRange(bytes, from, to);
  return received === computed
    ? "ok"
    : `BAD (received ${hex(received, 8)}, computed ${hex(computed, 8)})`;
}

interface Dump {
  entries: Entry[];
  bad: number;
  /** Why dumping stopped early: a malformed PDU or a truncated stream. */
  error?: string;
}

function dump(stream: Uint8Array, mode: DigestMode): Dump {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const hdgst = mode === "auto" ? undefined : mode === "header" || mode === "both";
  const ddgst = mode === "auto" ? undefined : mode === "data" || mode === "both";
  const entries: Entry[] = [];
  const state: { qid?: number } = {};
  let bad = 0;
  let at = 0;
  while (at < stream.length) {
    const left = stream.length - at;
    if (left < CH_SIZE) {
      return { entries, bad, error: `Cannot dump PDU at offset ${at}: only ${left} bytes left` };
    }
    const plen = view.getUint32(at + CH_PLEN, true);
    if (plen > left) {
      const error = `Cannot dump PDU at offset ${at}: PLEN ${plen} runs past the end ` +
        `(${left} bytes left)`;
      return { entries, bad, error };
    }
    const bytes = stream.subarray(at, at + Math.max(plen, CH_SIZE));
    let pdu: Pdu;
    try {
      // IC PDUs come before digests are on; hold the rest to what --digests says. Digests
      // are not verified here: each gets its own verdict below.
      const ic = bytes[0] === PduType.IC_REQ || bytes[0] === PduType.IC_RESP;
      pdu = decodePdu(bytes, {
        hdgst: ic ? undefined : hdgst,
        ddgst: ic ? undefined : ddgst,
        verifyDigests: false,
      });
    } catch (e) {
      if (e instanceof ProtocolFieldError) {
        const fes = e instanceof PduError ? `, FES ${hex(e.fes)}` : "";
        const error = `Cannot dump PDU at offset ${at}: ${e.message} ` +
          `[field ${e.field} at byte ${e.offset}${fes}]`;
        return { entries, bad, error };
      }
      throw e;
    }
    const flags = bytes[1];
    const hlen = bytes[2];
    const pdo = bytes[3];
    const entry: Entry = {
      offset: at,
      type: pduTypeName(pdu.type),
      flags: flagNames(flags),
      hlen,
      pdo,
      plen,
      fields: describe(pdu, state),
    };
    if (flags & PduFlags.HDGSTF) {
      entry.hdgst = verdict(bytes, 0, hlen, hlen);
      if (entry.hdgst !== "ok") bad++;
    }
    if (flags & PduFlags.DDGSTF) {
      entry.ddgst = verdict(bytes, pdo, plen - 4, plen - 4);
      if (entry.ddgst !== "ok") bad++;
    }
    entries.push(entry);
    at += plen;
  }
  return { entries, bad };
}

function line(e: Entry): string {
  const fields = Object.entries(e.fields)
    .filter(([k]) => k !== "text")
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  const digests = [
    e.hdgst === undefined ? "" : `hdgst ${e.hdgst}`,
    e.ddgst === undefined ? "" : `ddgst ${e.ddgst}`,
  ].filter((s) => s !== "").join(", ");
  const text = typeof e.fields.text === "string" ? `  ${e.fields.text}` : "";
  return `${String(e.offset).padStart(8)}  ${e.type.padEnd(11)} ` +
    `flags=${e.flags.join("|") || "-"} hlen=${e.hlen} pdo=${e.pdo} plen=${e.plen}  ${fields}` +
    (digests === "" ? "" : `  [${digests}]`) + text;
}

function main(argv: string[]): number {
  const { file, mode, json } = parse(argv);
  let stream: Uint8Array;
  try {
    const b = readFileSync(file);
    stream = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new UsageError(`Cannot read ${file}: ${(e as Error).message}`);
  }
  const { entries, bad, error } = dump(stream, mode);
  if (json) {
    console.log(`[\n${entries.map((e) => "  " + JSON.stringify(e)).join(",\n")}\n]`);
  } else {
    for (const e of entries) console.log(line(e));
    const counts = new Map<string, number>();
    for (const e of entries) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
    const summary = [...counts].map(([t, n]) => `${t} ${n}`).join(", ");
    const n = entries.length;
    console.log(
      `${n} PDU${n === 1 ? "" : "s"} in ${stream.length} bytes${summary ? ": " + summary : ""}`,
    );
  }
  if (error !== undefined) {
    console.error(error);
    return 1;
  }
  if (bad !== 0) {
    console.error(`Found ${bad} wrong digest${bad === 1 ? "" : "s"} in ${file}`);
    return 1;
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    console.error(e.message);
    process.exitCode = 1;
  } else {
    throw e;
  }
}

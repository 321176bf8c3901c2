/**
 * Prints every NVMe/TCP PDU of a captured byte stream (one direction of one connection, e.g.
 * `shared/fixtures/linux-6.1-plain.conn0.host-to-controller.bin`): offset, type, flags,
 * HLEN/PDO/PLEN, the key fields of each type and a verdict on each digest.
 *
 * ```sh
 * deno task dump FILE [--digests auto|none|header|data|both] [--json]
 * deno run -A jsr:@nvmf/cli/dump FILE [--digests auto|none|header|data|both] [--json]
 * ```
 *
 * `--digests auto` (the default) trusts each PDU's HDGSTF/DDGSTF; the other values say what was
 * negotiated, and a PDU whose flags disagree is malformed. Exits 1 on a bad argument, an
 * unreadable file, a malformed PDU or a wrong digest. {@linkcode dumpPdus} is the same dump on
 * bytes in memory, {@linkcode formatDumpEntry} the line it prints for each PDU.
 *
 * @example Usage
 * ```ts
 * import { dumpPdus, formatDumpEntry } from "@nvmf/cli/dump";
 * import { encodePdu, PduType } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 *
 * const icreq = encodePdu(
 *   { type: PduType.IC_REQ, pfv: 0, hpda: 0, hdgst: false, ddgst: false, maxr2t: 0 },
 *   { hdgst: false, ddgst: false, pda: 0 },
 * );
 * const { entries, bad, error } = dumpPdus(icreq);
 * assert.equal(entries[0].type, "ICReq");
 * assert.equal(entries[0].plen, 128);
 * assert.equal(bad, 0);
 * assert.equal(error, undefined);
 * assert.match(formatDumpEntry(entries[0]), /hlen=128 pdo=0 plen=128/);
 * ```
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
import { hex } from "@nvmf/proto/bytes";

const USAGE = "Usage: deno task dump FILE [--digests auto|none|header|data|both] [--json]";

/**
 * What the stream's digests are: `auto` trusts each PDU's HDGSTF/DDGSTF; the others say what
 * was negotiated (`header`, `data`, `both` or `none`), and a PDU whose flags disagree is malformed.
 */
export type DigestMode = "auto" | "none" | "header" | "data" | "both";
/** Every {@linkcode DigestMode}, as `--digests` accepts them. */
export const DIGEST_MODES: readonly DigestMode[] = ["auto", "none", "header", "data", "both"];

/** One dumped PDU, as printed with --json. */
export interface DumpEntry {
  /** Offset of the PDU in the stream. */
  offset: number;
  /** PDU type name, e.g. `CapsuleCmd`. */
  type: string;
  /** Names of the flags set, e.g. `HDGSTF`. */
  flags: string[];
  /** HLEN: header length. */
  hlen: number;
  /** PDO: data offset, 0 without data. */
  pdo: number;
  /** PLEN: the whole PDU length. */
  plen: number;
  /** The key fields of the type (CID, opcode and name, status, FES, ...). */
  fields: Record<string, string | number | boolean>;
  /** The header digest verdict, `ok` or what differs, when HDGSTF is set. */
  hdgst?: string;
  /** The data digest verdict, when DDGSTF is set. */
  ddgst?: string;
}

/** A message for the user, printed without a stack trace. */
class UsageError extends TypeError {}

/** Where {@linkcode main} writes. */
export interface DumpIo {
  /** Normal output, a line at a time. */
  out(line: string): void;
  /** Errors, a line at a time. */
  err(line: string): void;
}

const consoleIo: DumpIo = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

function flagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(PduFlags)) if (flags & bit) out.push(name);
  return out;
}

function parse(argv: string[]): { file: string; mode: DigestMode; json: boolean } | undefined {
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
  if (values.help) return undefined;
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

/** What {@linkcode dumpPdus} found. */
export interface PduDump {
  /** The PDUs, in stream order, up to the first that cannot be decoded. */
  entries: DumpEntry[];
  /** How many digests were wrong. */
  bad: number;
  /** Why dumping stopped early: a malformed PDU or a truncated stream. */
  error?: string;
}

/**
 * Decodes every PDU of one direction of an NVMe/TCP connection. Digests are not enforced: each
 * gets a verdict of its own. Dumping stops at the first malformed or truncated PDU.
 *
 * @param stream The bytes, from the first PDU (an ICReq or ICResp) on.
 * @param mode What the digests are; `auto` (the default) trusts each PDU's flags.
 * @returns The PDUs, the count of wrong digests and why dumping stopped early, if it did.
 * @example Usage
 * ```ts
 * import { dumpPdus } from "@nvmf/cli/dump";
 * import assert from "node:assert/strict";
 * const { entries, error } = dumpPdus(Uint8Array.of(0, 0, 128, 0));
 * assert.equal(entries.length, 0);
 * assert.match(error ?? "", /only 4 bytes left/);
 * ```
 */
export function dumpPdus(stream: Uint8Array, mode: DigestMode = "auto"): PduDump {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const hdgst = mode === "auto" ? undefined : mode === "header" || mode === "both";
  const ddgst = mode === "auto" ? undefined : mode === "data" || mode === "both";
  const entries: DumpEntry[] = [];
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
    const entry: DumpEntry = {
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

/**
 * Formats one dumped PDU as the tool prints it: offset, type, flags, HLEN/PDO/PLEN, the fields,
 * the digest verdicts.
 *
 * @param e The PDU, from {@linkcode dumpPdus}.
 * @returns One line.
 * @example Usage
 * ```ts
 * import { formatDumpEntry } from "@nvmf/cli/dump";
 * import assert from "node:assert/strict";
 * const e = { offset: 0, type: "ICReq", flags: [], hlen: 128, pdo: 0, plen: 128, fields: { pfv: 0 } };
 * assert.equal(formatDumpEntry(e), "       0  ICReq       flags=- hlen=128 pdo=0 plen=128  pfv=0");
 * ```
 */
export function formatDumpEntry(e: DumpEntry): string {
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

/**
 * Runs the tool: dumps the file named in `argv` to `io`.
 *
 * @param argv The arguments after the script name: `FILE [--digests MODE] [--json]`.
 * @param io Where to print; the console unless given.
 * @returns The exit status: 0, or 1 for a bad argument, an unreadable file, a malformed PDU or a
 * wrong digest.
 * @example Usage
 * ```ts
 * import { main } from "@nvmf/cli/dump";
 * import assert from "node:assert/strict";
 * const out: string[] = [];
 * assert.equal(main(["--help"], { out: (l) => out.push(l), err: (l) => out.push(l) }), 0);
 * assert.match(out[0], /^Usage: deno task dump FILE/);
 * ```
 */
export function main(argv: string[], io: DumpIo = consoleIo): number {
  let args;
  try {
    args = parse(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(e.message);
      return 1;
    }
    throw e;
  }
  if (args === undefined) {
    io.out(USAGE);
    return 0;
  }
  const { file, mode, json } = args;
  let stream: Uint8Array;
  try {
    const b = readFileSync(file);
    stream = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    io.err(`Cannot read ${file}: ${(e as Error).message}`);
    return 1;
  }
  const { entries, bad, error } = dumpPdus(stream, mode);
  if (json) {
    io.out(`[\n${entries.map((e) => "  " + JSON.stringify(e)).join(",\n")}\n]`);
  } else {
    for (const e of entries) io.out(formatDumpEntry(e));
    const counts = new Map<string, number>();
    for (const e of entries) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
    const summary = [...counts].map(([t, n]) => `${t} ${n}`).join(", ");
    const n = entries.length;
    io.out(
      `${n} PDU${n === 1 ? "" : "s"} in ${stream.length} bytes${summary ? ": " + summary : ""}`,
    );
  }
  if (error !== undefined) {
    io.err(error);
    return 1;
  }
  if (bad !== 0) {
    io.err(`Found ${bad} wrong digest${bad === 1 ? "" : "s"} in ${file}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) {
  process.exitCode = main(process.argv.slice(2));
}

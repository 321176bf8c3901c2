/**
 * The Discovery log page (NVMe over Fabrics 1.1, 5.3; Linux `struct nvmf_disc_rsp_page_hdr` and
 * `struct nvmf_disc_rsp_page_entry`): a 1024-byte header, then one 1024-byte entry per subsystem
 * port or referral, the entry `i` at byte `1024 + i * 1024`.
 *
 * Strings as Linux nvmet writes them: TRSVCID (32 bytes) and TRADDR (256 bytes) are ASCII padded
 * with NULs (nvmet copies them from the zero-filled port configuration); decoding stops at the
 * first NUL and also trims trailing spaces, which some targets pad with. SUBNQN is UTF-8 and NUL
 * terminated in 256 bytes. Encoding pads all three with NULs, so `encode(decode(bytes))` gives
 * back what Linux sent, byte for byte.
 *
 * @example Usage
 * ```ts
 * import { decodeDiscoveryLog, encodeDiscoveryLog } from "@nvmf/proto/discovery";
 * import assert from "node:assert/strict";
 * const bytes = encodeDiscoveryLog({ genctr: 3n }, [
 *   { trtype: 3, adrfam: 1, subtype: 2, trsvcid: "4420", traddr: "10.0.0.1", subnqn: "nqn.2026-01.test:a" },
 * ]);
 * assert.equal(bytes.length, 2048);
 * const { header, entries } = decodeDiscoveryLog(bytes);
 * assert.equal(header.numrec, 1n);
 * assert.equal(entries[0].traddr, "10.0.0.1");
 * assert.deepEqual(encodeDiscoveryLog(header, entries), bytes);
 * ```
 *
 * @module
 */

import { dataView, SPACE, target, ubig, uint, utf8Decoder, utf8Encoder } from "./_bytes.ts";
import { LogPageSize, NQN_FIELD_SIZE } from "./constants.ts";
import { ProtocolFieldError } from "./errors.ts";

/** The Discovery log page header (Fabrics Figure 37). */
export interface DiscoveryLogHeader {
  /** GENCTR: generation counter, changes whenever the log page changes. */
  genctr: bigint;
  /** NUMREC: number of records the controller has, which may exceed the entries transferred. */
  numrec: bigint;
  /** RECFMT: record format, 0. */
  recfmt: number;
}

/** Byte offsets of the Discovery log page header fields. */
export const DiscoveryLogHeaderOffset: Readonly<Record<keyof DiscoveryLogHeader, number>> = Object
  .freeze({ genctr: 0, numrec: 8, recfmt: 16 });

/** One Discovery log page entry (Fabrics Figure 38). */
export interface DiscoveryLogEntry {
  /** TRTYPE: transport type, one of `TransportType`. */
  trtype: number;
  /** ADRFAM: address family, one of `AddressFamily`. */
  adrfam: number;
  /** SUBTYPE: subsystem type, one of `SubsystemType`. */
  subtype: number;
  /** TREQ: transport requirements, bits of `TransportRequirements`. */
  treq: number;
  /** PORTID: NVM subsystem port ID. */
  portid: number;
  /** CNTLID: controller ID; FFFFh for the dynamic controller model. */
  cntlid: number;
  /** ASQSZ: admin maximum submission queue size. */
  asqsz: number;
  /** EFLAGS: entry flags, bits of `DiscoveryEntryFlags`. */
  eflags: number;
  /** TRSVCID: transport service identifier (the TCP port), ASCII, 32 bytes. */
  trsvcid: string;
  /** SUBNQN: the subsystem NQN, UTF-8, NUL terminated in 256 bytes. */
  subnqn: string;
  /** TRADDR: transport address (an IP address for TCP), ASCII, 256 bytes. */
  traddr: string;
  /** TSAS: transport specific address subtype, 256 raw bytes; see {@linkcode tcpTsas}. */
  tsas: Uint8Array;
}

/** Byte offsets of the Discovery log page entry fields. */
export const DiscoveryLogEntryOffset: Readonly<Record<keyof DiscoveryLogEntry, number>> = Object
  .freeze({
    trtype: 0,
    adrfam: 1,
    subtype: 2,
    treq: 3,
    portid: 4,
    cntlid: 6,
    asqsz: 8,
    eflags: 10,
    trsvcid: 32,
    subnqn: 256,
    traddr: 512,
    tsas: 768,
  });

/** Size of TRSVCID in bytes. */
export const TRSVCID_SIZE = 32;
/** Size of TRADDR in bytes. */
export const TRADDR_SIZE = 256;
/** Size of TSAS in bytes. */
export const TSAS_SIZE = 256;

const ENTRY_FIELD_SIZE: Readonly<Record<keyof DiscoveryLogEntry, number>> = {
  trtype: 1,
  adrfam: 1,
  subtype: 1,
  treq: 1,
  portid: 2,
  cntlid: 2,
  asqsz: 2,
  eflags: 2,
  trsvcid: TRSVCID_SIZE,
  subnqn: NQN_FIELD_SIZE,
  traddr: TRADDR_SIZE,
  tsas: TSAS_SIZE,
};
const HEADER_SIZE = LogPageSize.DISCOVERY_HEADER;
const ENTRY_SIZE = LogPageSize.DISCOVERY_ENTRY;
// The header's fields end at byte 18; a shorter read cannot even hold RECFMT.
const HEADER_FIELDS_END = DiscoveryLogHeaderOffset.recfmt + 2;

/** The TCP transport specific address subtype (NVMe/TCP 1.0, 8.1.1, Figure 9). */
export interface TcpTsas {
  /** SECTYPE: security type, one of `TcpSecurityType`. */
  sectype: number;
}

/** Byte offset of SECTYPE in a TCP TSAS. */
export const TCP_TSAS_SECTYPE = 0;

/**
 * Reads the TCP fields of an entry's TSAS.
 *
 * @param tsas The 256 TSAS bytes of an entry whose TRTYPE is TCP.
 * @returns SECTYPE.
 * @throws {ProtocolFieldError} When `tsas` is empty.
 * @example Usage
 * ```ts
 * import { tcpTsas } from "@nvmf/proto/discovery";
 * import assert from "node:assert/strict";
 * assert.deepEqual(tcpTsas(new Uint8Array(256)), { sectype: 0 });
 * ```
 */
export function tcpTsas(tsas: Uint8Array): TcpTsas {
  if (tsas.length <= TCP_TSAS_SECTYPE) {
    throw new ProtocolFieldError("Reject TSAS: no SECTYPE byte", "SECTYPE", TCP_TSAS_SECTYPE);
  }
  return { sectype: tsas[TCP_TSAS_SECTYPE] };
}

/**
 * Decodes the Discovery log page header.
 *
 * @param bytes The start of the log page; the 18 bytes of GENCTR, NUMREC and RECFMT must be there.
 * @returns GENCTR, NUMREC and RECFMT.
 * @throws {ProtocolFieldError} When `bytes` ends before RECFMT does.
 * @example Usage
 * ```ts
 * import { decodeDiscoveryLogHeader } from "@nvmf/proto/discovery";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array(1024);
 * bytes[8] = 2;
 * assert.deepEqual(decodeDiscoveryLogHeader(bytes), { genctr: 0n, numrec: 2n, recfmt: 0 });
 * ```
 */
export function decodeDiscoveryLogHeader(bytes: Uint8Array): DiscoveryLogHeader {
  if (bytes.length < HEADER_FIELDS_END) {
    const o = DiscoveryLogHeaderOffset;
    const [field, at] = bytes.length < o.numrec
      ? ["GENCTR", o.genctr]
      : bytes.length < o.recfmt
      ? ["NUMREC", o.numrec]
      : ["RECFMT", o.recfmt];
    throw new ProtocolFieldError(
      `Reject Discovery log page header: need ${HEADER_FIELDS_END} bytes, received ${bytes.length}`,
      field,
      at,
    );
  }
  const view = dataView(bytes);
  return {
    genctr: view.getBigUint64(DiscoveryLogHeaderOffset.genctr, true),
    numrec: view.getBigUint64(DiscoveryLogHeaderOffset.numrec, true),
    recfmt: view.getUint16(DiscoveryLogHeaderOffset.recfmt, true),
  };
}

/**
 * Encodes the 1024-byte Discovery log page header, reserved bytes zero.
 *
 * @param header The fields; absent ones are zero.
 * @param into Where to write, at least 1024 bytes; a new array when absent.
 * @returns The 1024 bytes written: `into` itself when it is exactly 1024 bytes long, else a view
 * of its start.
 * @throws {RangeError} When `into` is too short or a value does not fit its field.
 * @example Usage
 * ```ts
 * import { encodeDiscoveryLogHeader } from "@nvmf/proto/discovery";
 * import assert from "node:assert/strict";
 * const bytes = encodeDiscoveryLogHeader({ genctr: 1n, numrec: 2n });
 * assert.equal(bytes.length, 1024);
 * assert.equal(bytes[8], 2);
 * ```
 */
export function encodeDiscoveryLogHeader(
  header: Partial<DiscoveryLogHeader>,
  into?: Uint8Array,
): Uint8Array {
  const [bytes] = target(into, HEADER_SIZE, "Discovery log page header");
  writeHeader(bytes, header);
  return bytes;
}

/**
 * Decodes one 1024-byte Discovery log page entry.
 *
 * @param bytes The entry; at least 1024 bytes.
 * @returns The fields, strings trimmed, TSAS copied.
 * @throws {ProtocolFieldError} When `bytes` is shorter than 1024 bytes, or SUBNQN has no NUL or is
 * not UTF-8.
 * @example Usage
 * ```ts
 * import { decodeDiscoveryLogEntry, encodeDiscoveryLogEntry } from "@nvmf/proto/discovery";
 * import assert from "node:assert/strict";
 * const e = decodeDiscoveryLogEntry(encodeDiscoveryLogEntry({ trsvcid: "4420", cntlid: 0xffff }));
 * assert.equal(e.trsvcid, "4420");
 * assert.equal(e.cntlid, 0xffff);
 * ```
 */
export function decodeDiscoveryLogEntry(bytes: Uint8Array): DiscoveryLogEntry {
  if (bytes.length < ENTRY_SIZE) {
    const o = DiscoveryLogEntryOffset;
    const cut = (Object.keys(o) as (keyof DiscoveryLogEntry)[])
      .find((k) => o[k] + ENTRY_FIELD_SIZE[k] > bytes.length) ?? "tsas";
    throw new ProtocolFieldError(
      `Reject Discovery log page entry: need ${ENTRY_SIZE} bytes, received ${bytes.length}`,
      cut.toUpperCase(),
      o[cut],
    );
  }
  return readEntry(bytes, dataView(bytes), 0);
}

/**
 * Encodes one 1024-byte Discovery log page entry, reserved bytes zero.
 *
 * @param entry The fields; absent numbers are zero, absent strings empty, absent TSAS zero.
 * @param into Where to write, at least 1024 bytes; a new array when absent.
 * @returns The 1024 bytes written: `into` itself when it is exactly 1024 bytes long, else a view
 * of its start.
 * @throws {RangeError} When `into` is too short or a value does not fit its field.
 * @throws {TypeError} When a value has the wrong type.
 * @example Usage
 * ```ts
 * import { encodeDiscoveryLogEntry } from "@nvmf/proto/discovery";
 * import assert from "node:assert/strict";
 * const bytes = encodeDiscoveryLogEntry({ trtype: 3, trsvcid: "4420" });
 * assert.equal(bytes[0], 3);
 * assert.equal(new TextDecoder().decode(bytes.subarray(32, 36)), "4420");
 * ```
 */
export function encodeDiscoveryLogEntry(
  entry: Partial<DiscoveryLogEntry>,
  into?: Uint8Array,
): Uint8Array {
  const [bytes, view] = target(into, ENTRY_SIZE, "Discovery log page entry");
  writeEntry(bytes, view, 0, entry, 0);
  return bytes;
}

/** A decoded Discovery log page: the header and the entries present in the bytes. */
export interface DiscoveryLog {
  /** The header. */
  header: DiscoveryLogHeader;
  /** The whole entries present, at most NUMREC of them. */
  entries: DiscoveryLogEntry[];
}

/**
 * Decodes a Discovery log page, or the part of it a host read: the header, then as many whole
 * entries as both NUMREC and the length of `bytes` allow. Nothing past the end is read.
 *
 * @param bytes The log page from offset 0: at least the 18 header bytes, usually 1024 plus a
 * multiple of 1024.
 * @returns The header and the entries present.
 * @throws {ProtocolFieldError} When the header is cut short, or an entry's SUBNQN is malformed
 * (the offset is then from the start of the page).
 * @example Usage
 * ```ts
 * import { decodeDiscoveryLog } from "@nvmf/proto/discovery";
 * import assert from "node:assert/strict";
 * const head = new Uint8Array(1024);
 * head[8] = 5; // NUMREC 5, but no entry was transferred
 * const log = decodeDiscoveryLog(head);
 * assert.equal(log.header.numrec, 5n);
 * assert.equal(log.entries.length, 0);
 * ```
 */
export function decodeDiscoveryLog(bytes: Uint8Array): DiscoveryLog {
  const header = decodeDiscoveryLogHeader(bytes);
  const present = bytes.length > HEADER_SIZE
    ? Math.floor((bytes.length - HEADER_SIZE) / ENTRY_SIZE)
    : 0;
  const count = header.numrec < BigInt(present) ? Number(header.numrec) : present;
  const view = dataView(bytes);
  const entries: DiscoveryLogEntry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push(readEntry(bytes, view, HEADER_SIZE + i * ENTRY_SIZE));
  }
  return { header, entries };
}

/**
 * Encodes a Discovery log page: the header, then the entries.
 *
 * @param header The header; NUMREC defaults to the number of entries (a controller whose host
 * asked for fewer bytes than the page holds passes the full count and fewer entries).
 * @param entries The entries to write.
 * @param into Where to write, at least `1024 + entries.length * 1024` bytes; a new array when
 * absent.
 * @returns The bytes written: `into` itself when it has exactly that length, else a view of its
 * start.
 * @throws {RangeError} When `into` is too short or a value does not fit its field.
 * @throws {TypeError} When a value has the wrong type.
 * @example Usage
 * ```ts
 * import { encodeDiscoveryLog } from "@nvmf/proto/discovery";
 * import assert from "node:assert/strict";
 * const bytes = encodeDiscoveryLog({ genctr: 7n }, [{ subtype: 3 }, { subtype: 2 }]);
 * assert.equal(bytes.length, 3072);
 * assert.equal(bytes[8], 2); // NUMREC
 * assert.equal(bytes[2048 + 2], 2); // entry 1 SUBTYPE
 * ```
 */
export function encodeDiscoveryLog(
  header: Partial<DiscoveryLogHeader>,
  entries: readonly Partial<DiscoveryLogEntry>[],
  into?: Uint8Array,
): Uint8Array {
  const size = HEADER_SIZE + entries.length * ENTRY_SIZE;
  const [bytes, view] = target(into, size, "Discovery log page");
  writeHeader(bytes, { ...header, numrec: header.numrec ?? BigInt(entries.length) });
  for (let i = 0; i < entries.length; i++) {
    writeEntry(bytes, view, HEADER_SIZE + i * ENTRY_SIZE, entries[i], i);
  }
  return bytes;
}

function writeHeader(bytes: Uint8Array, h: Partial<DiscoveryLogHeader>): void {
  const view = dataView(bytes);
  const o = DiscoveryLogHeaderOffset;
  view.setBigUint64(o.genctr, ubig(h.genctr, 64, "GENCTR"), true);
  view.setBigUint64(o.numrec, ubig(h.numrec, 64, "NUMREC"), true);
  view.setUint16(o.recfmt, uint(h.recfmt, 0xffff, "RECFMT"), true);
}

function readEntry(bytes: Uint8Array, view: DataView, at: number): DiscoveryLogEntry {
  const o = DiscoveryLogEntryOffset;
  return {
    trtype: view.getUint8(at + o.trtype),
    adrfam: view.getUint8(at + o.adrfam),
    subtype: view.getUint8(at + o.subtype),
    treq: view.getUint8(at + o.treq),
    portid: view.getUint16(at + o.portid, true),
    cntlid: view.getUint16(at + o.cntlid, true),
    asqsz: view.getUint16(at + o.asqsz, true),
    eflags: view.getUint16(at + o.eflags, true),
    trsvcid: readAscii(bytes, at + o.trsvcid, TRSVCID_SIZE),
    subnqn: readNqn(bytes, at + o.subnqn),
    traddr: readAscii(bytes, at + o.traddr, TRADDR_SIZE),
    tsas: bytes.slice(at + o.tsas, at + o.tsas + TSAS_SIZE),
  };
}

function writeEntry(
  bytes: Uint8Array,
  view: DataView,
  at: number,
  e: Partial<DiscoveryLogEntry>,
  index: number,
): void {
  const o = DiscoveryLogEntryOffset;
  const label = (field: string) => `entry ${index} ${field}`;
  view.setUint8(at + o.trtype, uint(e.trtype, 0xff, label("TRTYPE")));
  view.setUint8(at + o.adrfam, uint(e.adrfam, 0xff, label("ADRFAM")));
  view.setUint8(at + o.subtype, uint(e.subtype, 0xff, label("SUBTYPE")));
  view.setUint8(at + o.treq, uint(e.treq, 0xff, label("TREQ")));
  view.setUint16(at + o.portid, uint(e.portid, 0xffff, label("PORTID")), true);
  view.setUint16(at + o.cntlid, uint(e.cntlid, 0xffff, label("CNTLID")), true);
  view.setUint16(at + o.asqsz, uint(e.asqsz, 0xffff, label("ASQSZ")), true);
  view.setUint16(at + o.eflags, uint(e.eflags, 0xffff, label("EFLAGS")), true);
  writeAscii(bytes, at + o.trsvcid, TRSVCID_SIZE, e.trsvcid, label("TRSVCID"));
  writeNqn(bytes, at + o.subnqn, e.subnqn, label("SUBNQN"));
  writeAscii(bytes, at + o.traddr, TRADDR_SIZE, e.traddr, label("TRADDR"));
  if (e.tsas !== undefined) {
    if (!(e.tsas instanceof Uint8Array)) {
      throw new TypeError(`Cannot encode ${label("TSAS")}: expected a Uint8Array`);
    }
    if (e.tsas.length > TSAS_SIZE) {
      throw new RangeError(
        `Cannot encode ${label("TSAS")}: ${e.tsas.length} bytes exceed ${TSAS_SIZE}`,
      );
    }
    bytes.set(e.tsas, at + o.tsas);
  }
}

function readAscii(bytes: Uint8Array, at: number, size: number): string {
  const field = bytes.subarray(at, at + size);
  let end = field.indexOf(0);
  if (end < 0) end = size;
  while (end > 0 && field[end - 1] === SPACE) end--;
  return String.fromCharCode(...field.subarray(0, end));
}

function writeAscii(
  bytes: Uint8Array,
  at: number,
  size: number,
  value: string | undefined,
  label: string,
): void {
  if (value === undefined) return;
  if (typeof value !== "string") {
    throw new TypeError(`Cannot encode ${label}: expected a string, received ${typeof value}`);
  }
  if (value.length > size) {
    throw new RangeError(`Cannot encode ${label}: ${value.length} characters exceed ${size}`);
  }
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0 || code > 0xff) {
      throw new RangeError(
        `Cannot encode ${label}: character ${i} is NUL or not a single byte (U+${
          code.toString(16).padStart(4, "0")
        })`,
      );
    }
    bytes[at + i] = code;
  }
}

function readNqn(bytes: Uint8Array, at: number): string {
  const field = bytes.subarray(at, at + NQN_FIELD_SIZE);
  const nul = field.indexOf(0);
  if (nul < 0) {
    throw new ProtocolFieldError(
      `Reject SUBNQN: no NUL within ${NQN_FIELD_SIZE} bytes`,
      "SUBNQN",
      at,
    );
  }
  try {
    return utf8Decoder.decode(field.subarray(0, nul));
  } catch {
    throw new ProtocolFieldError("Reject SUBNQN: not valid UTF-8", "SUBNQN", at);
  }
}

function writeNqn(bytes: Uint8Array, at: number, value: string | undefined, label: string): void {
  if (value === undefined) return;
  if (typeof value !== "string") {
    throw new TypeError(`Cannot encode ${label}: expected a string, received ${typeof value}`);
  }
  const field = bytes.subarray(at, at + NQN_FIELD_SIZE - 1); // room for the NUL
  const { read, written } = utf8Encoder.encodeInto(value, field);
  if (read < value.length) {
    throw new RangeError(`Cannot encode ${label}: more than ${NQN_FIELD_SIZE - 1} bytes of UTF-8`);
  }
  if (field.subarray(0, written).includes(0)) {
    throw new RangeError(`Cannot encode ${label}: contains a NUL character`);
  }
}

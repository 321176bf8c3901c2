/**
 * The handoff records of FreeBSD's nvmf: the nvlists libnvmf packs to hand queue pairs and host
 * associations to the kernel (sys/dev/nvmf/nvmf.h documents their fields), as typed records
 * with zod schemas, nvlist codecs and JSON forms.
 *
 * | Record | nvlist | Built by (libnvmf) | Checked by (kernel) |
 * | --- | --- | --- | --- |
 * | {@linkcode QpairHandoff} | qpair handoff | `nvmf_kernel_handoff_params()`, `tcp_kernel_handoff_params()` | `nvmf_validate_qpair_nvlist()`, `tcp_allocate_qpair()` |
 * | {@linkcode ReconnectParams} | `NVMF_RECONNECT_PARAMS` | `prepare_queues_for_handoff()` | `nvmf_copyin_handoff()` |
 * | {@linkcode HostHandoff} | `NVMF_HANDOFF_HOST`, `NVMF_RECONNECT_HOST` | `prepare_queues_for_handoff()` | `nvmf_copyin_handoff()` |
 * | {@linkcode ControllerHandoff} | controller qpair handoff | `nvmf_handoff_controller_qpair()` | `nvmft_handoff()` |
 * | {@linkcode ConnectionStatus} | `NVMF_CONNECTION_STATUS` | kernel `nvmf_connection_status()` | — |
 *
 * `xxxToNvList()` validates a record and builds the nvlist with libnvmf's field names, types and
 * insertion order, so that `packNvList()` gives libnvmf's bytes. `xxxFromNvList()` reads the
 * fields (a missing or mistyped one is an {@linkcode NvFieldError} naming it) and applies the
 * same validation: the kernel's checks, plus the invariants libnvmf keeps when it builds the
 * list (each rule below names its source). Pairs the kernel does not read are ignored.
 * `xxxToJson()`/`xxxFromJson()` give JSON-safe forms: BINARY fields become lowercase hex.
 *
 * Record properties are the nvlist names in camelCase (`sq_flow_control` is `sqFlowControl`);
 * {@linkcode NvFieldError.field} always names the nvlist field, e.g. `io[1].qsize`. NUMBER
 * fields are `number`s, bounded by the C types the kernel keeps them in.
 *
 * @example Usage
 * ```ts
 * import { packNvList, unpackNvList } from "@nvmf/handoff/nvlist";
 * import { qpairHandoffFromNvList, qpairHandoffToNvList, type QpairHandoff } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 *
 * const qp: QpairHandoff = {
 *   admin: true, sqFlowControl: false, qsize: 32, sqhd: 5, sqtail: 7,
 *   fd: 3, rxpda: 4, txpda: 4, headerDigests: true, dataDigests: false,
 *   maxr2t: 1, maxh2cdata: 131072, maxIcd: 8192,
 * };
 * const bytes = packNvList(qpairHandoffToNvList(qp, "host"));
 * assert.deepEqual(qpairHandoffFromNvList(unpackNvList(bytes), "host"), qp);
 * assert.throws(() => qpairHandoffToNvList({ ...qp, sqhd: 32 }, "host"), /"sqhd"/);
 * ```
 *
 * @module
 */

import { z } from "zod";
import {
  ADMIN_QUEUE_MAX_ENTRIES,
  ADMIN_QUEUE_MIN_ENTRIES,
  CONNECT_DATA_SIZE,
  CONNECT_DATA_SUBNQN,
  CONNECT_QID,
  DiscoveryLogEntryOffset,
  IDENTIFY_DATA_SIZE,
  IdentifyControllerOffset,
  IO_QUEUE_MAX_ENTRIES,
  IO_QUEUE_MIN_ENTRIES,
  IO_QUEUES_MAX,
  LogPageSize,
  NQN_FIELD_SIZE,
  NQN_MAX_LENGTH,
  SQE_SIZE,
  TCP_MAXH2CDATA_MIN,
  TCP_PDA_MAX,
  TransportType,
} from "@nvmf/proto";
import {
  nvBinary,
  nvBool,
  NvFieldError,
  nvFind,
  nvGetBinary,
  nvGetBool,
  nvGetNumber,
  nvGetNvList,
  nvGetNvListArray,
  nvGetString,
  type NvList,
  nvList,
  nvNumber,
  nvNvList,
  nvNvListArray,
  type NvPair,
  nvString,
} from "./nvlist.ts";
import { bytesToHex as toHex, HEX_BYTES, hexToBytes as fromHex } from "@nvmf/proto/bytes";

// ---------------------------------------------------------------------------------------------
// Shared pieces

const U32_MAX = 0xffff_ffff;
/** Largest descriptor number: the kernel's `fget()` takes an `int`. */
const FD_MAX = 0x7fff_ffff;
/** Largest PDU data alignment in bytes, (PDA + 1) * 4 (TCP 3.6.2.2), as libnvmf stores it. */
const PDA_ALIGNMENT_MAX = (TCP_PDA_MAX + 1) * 4;
const NSEC_PER_SEC = 1_000_000_000;

/** Which side of the association a qpair handoff list belongs to. */
export type HandoffSide = "host" | "controller";

/** One problem {@linkcode RecordSchema.safeParse} found. */
export interface RecordIssue {
  /** Path of the offending property, e.g. `["io", 1, "qsize"]`. */
  readonly path: readonly PropertyKey[];
  /** What is wrong with it. */
  readonly message: string;
}

/** What {@linkcode RecordSchema.safeParse} returns. */
export type RecordParseResult<T> =
  | { success: true; data: T }
  | { success: false; error: { issues: readonly RecordIssue[] } };

/**
 * The exported schemas: zod schemas, typed by the two methods most callers need so that the
 * public types do not depend on zod's. Cast to `z.ZodType<T>` to compose one with zod.
 */
export interface RecordSchema<T> {
  /** Validates `value`, throwing a `ZodError` when it is invalid. */
  parse(value: unknown): T;
  /** Validates `value` without throwing. */
  safeParse(value: unknown): RecordParseResult<T>;
}

function uint(max: number, why: string): z.ZodNumber {
  return z.number().int("must be an integer").min(0, `must be 0 to ${max}${why}`).max(
    max,
    `must be 0 to ${max}${why}`,
  );
}

const u32 = (): z.ZodNumber => uint(U32_MAX, "");

function bytes(size: number, what: string): z.ZodType<Uint8Array> {
  return z.instanceof(Uint8Array).superRefine((b, ctx) => {
    if (b.length !== size) {
      ctx.addIssue({ code: "custom", message: `must be ${size} bytes (${what}), not ${b.length}` });
    }
  });
}

function camelToWire(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function fieldName(where: string, path: readonly PropertyKey[]): string {
  let name = where;
  for (const seg of path) {
    if (typeof seg === "number") name += `[${seg}]`;
    else name += name === "" ? camelToWire(String(seg)) : `.${camelToWire(String(seg))}`;
  }
  return name === "" ? "(record)" : name;
}

function check<T>(schema: RecordSchema<T>, value: unknown, where = ""): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new NvFieldError(fieldName(where, issue.path), issue.message);
}

function path(where: string, name: string): string {
  return where === "" ? name : `${where}.${name}`;
}

/** A NUMBER field as a JavaScript number; the schema bounds it afterwards. */
function num(list: NvList, name: string, where: string): number {
  const v = nvGetNumber(list, name, where);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new NvFieldError(path(where, name), `${v} is out of range`);
  }
  return Number(v);
}

/** An optional NUMBER field (`dnvlist_get_number()`); present with another type is an error. */
function optNum(list: NvList, name: string, where: string): number | undefined {
  return nvFind(list, name) === undefined ? undefined : num(list, name, where);
}

function optNumber(name: string, value: number | undefined): NvPair[] {
  return value === undefined ? [] : [nvNumber(name, value)];
}

function optBool(name: string, value: boolean | undefined): NvPair[] {
  return value === undefined ? [] : [nvBool(name, value)];
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The length of the NQN in a 256-byte NQN field, as the kernel's `nvmf_nqn_valid()` needs it:
 * 1 to {@linkcode NQN_MAX_LENGTH} bytes before the NUL; -1 if there is no NUL.
 */
function nqnLength(field: Uint8Array): number {
  const nul = field.indexOf(0);
  return nul < 0 ? -1 : nul;
}

const hexString = (): z.ZodType<string> =>
  z.string().regex(HEX_BYTES, "must be a string of hex byte pairs");

// ---------------------------------------------------------------------------------------------
// Qpair handoff

/**
 * A queue pair handed to the kernel: the transport-independent fields of
 * `nvmf_kernel_handoff_params()` and the TCP fields of `tcp_kernel_handoff_params()`.
 *
 * The TCP fields are present exactly when the list belongs to a TCP association (trtype 3, the
 * only transport FreeBSD's kernel takes). This package also accepts the intra-host transport
 * (trtype 254, `@nvmf/transport-loopback`), whose lists carry only the transport-independent
 * fields, so that an association of any of our transports can be recorded.
 */
export interface QpairHandoff {
  /** `admin`: the admin queue (QID 0). */
  admin: boolean;
  /** `sq_flow_control`: SQ flow control is on (SQHD is tracked). */
  sqFlowControl: boolean;
  /** `qsize`: entries, 2 to 4096 for the admin queue, 2 to 65536 for I/O queues. */
  qsize: number;
  /** `sqhd`: the submission queue head, below `qsize`. */
  sqhd: number;
  /** `sqtail`: the submission queue tail, below `qsize`; host side only. */
  sqtail?: number;
  /**
   * `fd` (TCP): the connected socket. In FreeBSD a descriptor of the handing process; here the
   * index of the connection in the array handed over beside the nvlist, as libnv's
   * `nvlist_send()` numbers the descriptors it passes.
   */
  fd?: number;
  /** `rxpda` (TCP): alignment of received PDU data in bytes, (our PDA + 1) * 4. */
  rxpda?: number;
  /** `txpda` (TCP): alignment of transmitted PDU data in bytes, (the peer's PDA + 1) * 4. */
  txpda?: number;
  /** `header_digests` (TCP): header digests are on. */
  headerDigests?: boolean;
  /** `data_digests` (TCP): data digests are on. */
  dataDigests?: boolean;
  /** `maxr2t` (TCP): MAXR2T, outstanding R2Ts per command, 0's based. */
  maxr2t?: number;
  /** `maxh2cdata` (TCP): MAXH2CDATA, the controller's limit on H2CData PDU data. */
  maxh2cdata?: number;
  /** `max_icd` (TCP): largest in-capsule data the host sends; libnvmf's controller side sends 0. */
  maxIcd?: number;
}

/** The transport types a record may name: TCP (FreeBSD's) and intra-host (ours). */
const TRTYPES: readonly number[] = [TransportType.TCP, TransportType.INTRA_HOST];
const TRTYPE_MESSAGE =
  `must be ${TransportType.TCP} (TCP) or ${TransportType.INTRA_HOST} (intra-host)`;

/** The TCP fields of a qpair list, in libnvmf's order. */
const TCP_FIELDS = [
  "fd",
  "rxpda",
  "txpda",
  "headerDigests",
  "dataDigests",
  "maxr2t",
  "maxh2cdata",
  "maxIcd",
] as const;

const qpairObject = z.object({
  admin: z.boolean(),
  sqFlowControl: z.boolean(),
  qsize: u32(),
  sqhd: uint(0xffff, " (libnvmf keeps it in a uint16_t)"),
  sqtail: uint(0xffff, " (libnvmf keeps it in a uint16_t)").optional(),
  fd: uint(FD_MAX, " (a descriptor is an int)").optional(),
  rxpda: uint(PDA_ALIGNMENT_MAX, ", (PDA + 1) * 4 bytes (TCP 3.6.2.2)").optional(),
  txpda: uint(PDA_ALIGNMENT_MAX, ", (PDA + 1) * 4 bytes (TCP 3.6.2.2)").optional(),
  headerDigests: z.boolean().optional(),
  dataDigests: z.boolean().optional(),
  maxr2t: u32().optional(),
  maxh2cdata: u32().optional(),
  maxIcd: u32().optional(),
});

/**
 * Adds the issues of one qpair record under `at`: the kernel's `nvmf_validate_qpair_nvlist()`
 * rules, the side's `sqtail` rule and the transport's fields. Returns whether it found any.
 */
function qpairIssues(
  q: QpairHandoff,
  side: HandoffSide,
  trtype: number,
  ctx: z.RefinementCtx,
  at: (string | number)[],
): boolean {
  let found = false;
  const add = (field: string, message: string) => {
    issue(ctx, [...at, field], message);
    found = true;
  };
  // nvmf_validate_qpair_nvlist()
  const [min, max] = q.admin
    ? [ADMIN_QUEUE_MIN_ENTRIES, ADMIN_QUEUE_MAX_ENTRIES]
    : [IO_QUEUE_MIN_ENTRIES, IO_QUEUE_MAX_ENTRIES];
  if (q.qsize < min || q.qsize > max) {
    add(
      "qsize",
      `${q.qsize} is outside ${min} to ${max} for ${q.admin ? "an admin" : "an I/O"} queue`,
    );
    return found;
  }
  if (q.sqhd > q.qsize - 1) add("sqhd", `${q.sqhd} is not below qsize ${q.qsize}`);
  if (side === "host") {
    if (q.sqtail === undefined) add("sqtail", "missing on the host side");
    else if (q.sqtail > q.qsize - 1) add("sqtail", `${q.sqtail} is not below qsize ${q.qsize}`);
  } else if (q.sqtail !== undefined) {
    add("sqtail", "is host only (libnvmf's controller side does not send it)");
  }
  if (trtype === TransportType.TCP) {
    for (const f of TCP_FIELDS) {
      if (q[f] === undefined) add(f, "missing from a TCP qpair list");
    }
    // 7.4.10.3 (NVMe-oF 1.1; TCP 3.6.2.3): libnvmf refuses anything else in ICResp/its params.
    const m = q.maxh2cdata;
    if (m !== undefined && (m < TCP_MAXH2CDATA_MIN || m % 4 !== 0)) {
      add("maxh2cdata", `${m} is not a multiple of 4 of at least ${TCP_MAXH2CDATA_MIN}`);
    }
  } else if (trtype === TransportType.INTRA_HOST) {
    for (const f of TCP_FIELDS) {
      if (q[f] !== undefined) add(f, `is TCP only (trtype ${trtype} lists have none)`);
    }
  }
  return found;
}

function qpairSchema(side: HandoffSide, trtype: number): z.ZodType<QpairHandoff> {
  return qpairObject.superRefine((q, ctx) => {
    qpairIssues(q, side, trtype, ctx, []);
  });
}

const QPAIR_SCHEMAS: Record<string, z.ZodType<QpairHandoff>> = {};
for (const side of ["host", "controller"] as const) {
  for (const trtype of TRTYPES) QPAIR_SCHEMAS[`${side}${trtype}`] = qpairSchema(side, trtype);
}

/** Schema of a host-side TCP {@linkcode QpairHandoff}: `sqtail` and the TCP fields required. */
export const HostQpairHandoffSchema: RecordSchema<QpairHandoff> =
  QPAIR_SCHEMAS[`host${TransportType.TCP}`];

function checkTrtype(trtype: number): void {
  if (!TRTYPES.includes(trtype)) throw new NvFieldError("trtype", `${trtype} ${TRTYPE_MESSAGE}`);
}

function qpairCheck(
  record: unknown,
  side: HandoffSide,
  trtype: number,
  where = "",
): QpairHandoff {
  checkTrtype(trtype);
  return check(QPAIR_SCHEMAS[`${side}${trtype}`], record, where);
}

function qpairList(q: QpairHandoff): NvList {
  return nvList([
    nvBool("admin", q.admin),
    nvBool("sq_flow_control", q.sqFlowControl),
    nvNumber("qsize", q.qsize),
    nvNumber("sqhd", q.sqhd),
    ...optNumber("sqtail", q.sqtail),
    ...optNumber("fd", q.fd),
    ...optNumber("rxpda", q.rxpda),
    ...optNumber("txpda", q.txpda),
    ...optBool("header_digests", q.headerDigests),
    ...optBool("data_digests", q.dataDigests),
    ...optNumber("maxr2t", q.maxr2t),
    ...optNumber("maxh2cdata", q.maxh2cdata),
    ...optNumber("max_icd", q.maxIcd),
  ]);
}

function qpairRead(
  list: NvList,
  side: HandoffSide,
  trtype: number,
  where: string,
): QpairHandoff {
  const q: QpairHandoff = {
    admin: nvGetBool(list, "admin", where),
    sqFlowControl: nvGetBool(list, "sq_flow_control", where),
    qsize: num(list, "qsize", where),
    sqhd: num(list, "sqhd", where),
  };
  // The kernel reads sqtail only on the host side; a controller list's is ignored.
  if (side === "host") q.sqtail = num(list, "sqtail", where);
  // Only TCP lists have (and only TCP readers read) the transport's fields.
  if (trtype === TransportType.TCP) {
    q.fd = num(list, "fd", where);
    q.rxpda = num(list, "rxpda", where);
    q.txpda = num(list, "txpda", where);
    q.headerDigests = nvGetBool(list, "header_digests", where);
    q.dataDigests = nvGetBool(list, "data_digests", where);
    q.maxr2t = num(list, "maxr2t", where);
    q.maxh2cdata = num(list, "maxh2cdata", where);
    q.maxIcd = num(list, "max_icd", where);
  }
  return qpairCheck(q, side, trtype, where);
}

/**
 * Builds the qpair handoff nvlist: admin, sq_flow_control, qsize, sqhd, sqtail (host only), and
 * for TCP fd, rxpda, txpda, header_digests, data_digests, maxr2t, maxh2cdata, max_icd.
 *
 * @param record The queue pair.
 * @param side `"host"` (with `sqtail`) or `"controller"` (without).
 * @param trtype The association's transport: 3 (TCP, the default; its fields required) or 254
 * (intra-host; transport-independent fields only).
 * @returns The nvlist, in libnvmf's order.
 * @throws {NvFieldError} A field breaks the kernel's or libnvmf's rules; names it.
 * @example Usage
 * ```ts
 * import { qpairHandoffToNvList } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * const list = qpairHandoffToNvList({
 *   admin: false, sqFlowControl: false, qsize: 128, sqhd: 0, fd: 3, rxpda: 4, txpda: 4,
 *   headerDigests: true, dataDigests: false, maxr2t: 1, maxh2cdata: 131072, maxIcd: 0,
 * }, "controller");
 * assert.equal(list.pairs.length, 12);
 * assert.equal(list.pairs[2].name, "qsize");
 * const loopback = { admin: true, sqFlowControl: true, qsize: 32, sqhd: 3, sqtail: 3 };
 * assert.equal(qpairHandoffToNvList(loopback, "host", 254).pairs.length, 5);
 * ```
 */
export function qpairHandoffToNvList(
  record: QpairHandoff,
  side: HandoffSide,
  trtype: number = TransportType.TCP,
): NvList {
  return qpairList(qpairCheck(record, side, trtype));
}

/**
 * Reads a qpair handoff nvlist.
 *
 * @param list The nvlist, e.g. from `unpackNvList()`.
 * @param side `"host"` (`sqtail` required) or `"controller"`.
 * @param trtype 3 (TCP, the default: its fields are read) or 254 (they are ignored).
 * @returns The validated record.
 * @throws {NvFieldError} A field is missing, mistyped or out of range; names it.
 * @example Usage
 * ```ts
 * import { nvList, nvBool } from "@nvmf/handoff/nvlist";
 * import { qpairHandoffFromNvList } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * assert.throws(() => qpairHandoffFromNvList(nvList([nvBool("admin", true)]), "host"),
 *   /"sq_flow_control": missing BOOL/);
 * ```
 */
export function qpairHandoffFromNvList(
  list: NvList,
  side: HandoffSide,
  trtype: number = TransportType.TCP,
): QpairHandoff {
  checkTrtype(trtype);
  return qpairRead(list, side, trtype, "");
}

/** The JSON form of a {@linkcode QpairHandoff}: the same fields (all JSON-safe already). */
export type QpairHandoffJson = QpairHandoff;

/**
 * Returns the JSON form of a qpair handoff, validated.
 *
 * @param record The queue pair.
 * @param side Which side it belongs to.
 * @param trtype 3 (TCP, the default) or 254.
 * @returns A JSON-safe copy.
 * @throws {NvFieldError} A field is invalid.
 * @example Usage
 * ```ts
 * import { qpairHandoffToJson } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * const q = { admin: true, sqFlowControl: true, qsize: 2, sqhd: 1, sqtail: 1, fd: 0, rxpda: 4,
 *   txpda: 4, headerDigests: false, dataDigests: false, maxr2t: 0, maxh2cdata: 4096, maxIcd: 8192 };
 * assert.equal(JSON.parse(JSON.stringify(qpairHandoffToJson(q, "host"))).qsize, 2);
 * ```
 */
export function qpairHandoffToJson(
  record: QpairHandoff,
  side: HandoffSide,
  trtype: number = TransportType.TCP,
): QpairHandoffJson {
  return { ...qpairCheck(record, side, trtype) };
}

/**
 * Reads the JSON form of a qpair handoff.
 *
 * @param json Parsed JSON.
 * @param side Which side it belongs to.
 * @param trtype 3 (TCP, the default) or 254.
 * @returns The validated record.
 * @throws {NvFieldError} A field is missing or invalid.
 * @example Usage
 * ```ts
 * import { qpairHandoffFromJson } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * assert.throws(() => qpairHandoffFromJson({ admin: "yes" }, "host"), /"admin"/);
 * ```
 */
export function qpairHandoffFromJson(
  json: unknown,
  side: HandoffSide,
  trtype: number = TransportType.TCP,
): QpairHandoff {
  return qpairCheck(json, side, trtype);
}

// ---------------------------------------------------------------------------------------------
// Reconnect parameters

/**
 * What the kernel keeps to reconnect a host association (`NVMF_RECONNECT_PARAMS`), built by
 * libnvmf's `prepare_queues_for_handoff()`.
 */
export interface ReconnectParams {
  /** `dle`: the 1024-byte Discovery log entry of the controller (struct nvme_discovery_log_entry). */
  dle: Uint8Array;
  /** `hostnqn`: the host NQN used to connect. */
  hostnqn: string;
  /** `num_io_queues`: how many I/O queues the association has, 1 to 65535. */
  numIoQueues: number;
  /** `kato`: Keep Alive Timeout in milliseconds (optional). */
  kato?: number;
  /** `reconnect_delay`: seconds between reconnect attempts (optional). */
  reconnectDelay?: number;
  /** `controller_loss_timeout`: seconds before giving the controller up (optional). */
  controllerLossTimeout?: number;
  /** `io_qsize`: entries of each I/O queue, 2 to 65536. */
  ioQsize: number;
  /** `sq_flow_control`: SQ flow control was asked for. */
  sqFlowControl: boolean;
  /**
   * `header_digests` (TCP): header digests were asked for. Present exactly when the TRTYPE of
   * `dle` is TCP: libnvmf adds the digest fields for TCP only.
   */
  headerDigests?: boolean;
  /** `data_digests` (TCP): data digests were asked for; present as `headerDigests` is. */
  dataDigests?: boolean;
}

const reconnectParams: z.ZodType<ReconnectParams> = z.object({
  dle: bytes(LogPageSize.DISCOVERY_ENTRY, "a Discovery log entry"),
  hostnqn: z.string().refine((s) => {
    const n = new TextEncoder().encode(s);
    return n.length >= 1 && n.length <= NQN_MAX_LENGTH && !n.includes(0);
  }, `must be 1 to ${NQN_MAX_LENGTH} bytes of UTF-8 without NUL (an NQN)`),
  numIoQueues: z.number().int("must be an integer").min(1, "must be at least 1").max(
    IO_QUEUES_MAX,
    `must be at most ${IO_QUEUES_MAX}`,
  ),
  kato: u32().optional(),
  reconnectDelay: u32().optional(),
  controllerLossTimeout: u32().optional(),
  ioQsize: z.number().int("must be an integer").min(
    IO_QUEUE_MIN_ENTRIES,
    `must be ${IO_QUEUE_MIN_ENTRIES} to ${IO_QUEUE_MAX_ENTRIES}`,
  ).max(IO_QUEUE_MAX_ENTRIES, `must be ${IO_QUEUE_MIN_ENTRIES} to ${IO_QUEUE_MAX_ENTRIES}`),
  sqFlowControl: z.boolean(),
  headerDigests: z.boolean().optional(),
  dataDigests: z.boolean().optional(),
}).superRefine((r, ctx) => {
  // prepare_queues_for_handoff(): the digest fields exist for TCP only.
  const tcp = r.dle[DiscoveryLogEntryOffset.trtype] === TransportType.TCP;
  for (const f of ["headerDigests", "dataDigests"] as const) {
    if (tcp && r[f] === undefined) issue(ctx, [f], "missing while the dle's TRTYPE is TCP");
    if (!tcp && r[f] !== undefined) issue(ctx, [f], "is TCP only, and the dle's TRTYPE is not");
  }
});

/** Schema of {@linkcode ReconnectParams}. */
export const ReconnectParamsSchema: RecordSchema<ReconnectParams> = reconnectParams;

function rparamsList(r: ReconnectParams): NvList {
  return nvList([
    nvBinary("dle", r.dle),
    nvString("hostnqn", r.hostnqn),
    nvNumber("num_io_queues", r.numIoQueues),
    ...optNumber("kato", r.kato),
    ...optNumber("reconnect_delay", r.reconnectDelay),
    ...optNumber("controller_loss_timeout", r.controllerLossTimeout),
    nvNumber("io_qsize", r.ioQsize),
    nvBool("sq_flow_control", r.sqFlowControl),
    ...optBool("header_digests", r.headerDigests),
    ...optBool("data_digests", r.dataDigests),
  ]);
}

function rparamsRead(list: NvList, where: string): ReconnectParams {
  const r: ReconnectParams = {
    dle: nvGetBinary(list, "dle", where),
    hostnqn: nvGetString(list, "hostnqn", where),
    numIoQueues: num(list, "num_io_queues", where),
    ioQsize: num(list, "io_qsize", where),
    sqFlowControl: nvGetBool(list, "sq_flow_control", where),
  };
  // The digest fields are read for a TCP dle only, as the kernel's TCP code reads them.
  if (r.dle[DiscoveryLogEntryOffset.trtype] === TransportType.TCP) {
    r.headerDigests = nvGetBool(list, "header_digests", where);
    r.dataDigests = nvGetBool(list, "data_digests", where);
  }
  const kato = optNum(list, "kato", where);
  const reconnectDelay = optNum(list, "reconnect_delay", where);
  const controllerLossTimeout = optNum(list, "controller_loss_timeout", where);
  if (kato !== undefined) r.kato = kato;
  if (reconnectDelay !== undefined) r.reconnectDelay = reconnectDelay;
  if (controllerLossTimeout !== undefined) r.controllerLossTimeout = controllerLossTimeout;
  return check(ReconnectParamsSchema, r, where);
}

/**
 * Builds the reconnect parameters nvlist: dle, hostnqn, num_io_queues, kato, reconnect_delay,
 * controller_loss_timeout, io_qsize, sq_flow_control, header_digests, data_digests (the optional
 * numbers only when set, the digests only for a TCP dle).
 *
 * @param record The parameters.
 * @returns The nvlist, in libnvmf's order.
 * @throws {NvFieldError} A field is invalid; names it.
 * @example Usage
 * ```ts
 * import { reconnectParamsToNvList } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * const dle = new Uint8Array(1024);
 * dle[0] = 3; // TRTYPE TCP: the digest fields follow
 * const list = reconnectParamsToNvList({
 *   dle, hostnqn: "nqn.2014-08.org.nvmexpress:uuid:1", numIoQueues: 1,
 *   ioQsize: 128, sqFlowControl: false, headerDigests: false, dataDigests: false,
 * });
 * assert.deepEqual(list.pairs.map((p) => p.name).slice(0, 4), ["dle", "hostnqn", "num_io_queues", "io_qsize"]);
 * assert.equal(list.pairs.at(-1)?.name, "data_digests");
 * ```
 */
export function reconnectParamsToNvList(record: ReconnectParams): NvList {
  return rparamsList(check(ReconnectParamsSchema, record));
}

/**
 * Reads a reconnect parameters nvlist (what `NVMF_RECONNECT_PARAMS` returns).
 *
 * @param list The nvlist.
 * @returns The validated record.
 * @throws {NvFieldError} A field is missing, mistyped or invalid; names it.
 * @example Usage
 * ```ts
 * import { nvList } from "@nvmf/handoff/nvlist";
 * import { reconnectParamsFromNvList } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * assert.throws(() => reconnectParamsFromNvList(nvList()), /"dle": missing BINARY/);
 * ```
 */
export function reconnectParamsFromNvList(list: NvList): ReconnectParams {
  return rparamsRead(list, "");
}

/** The JSON form of {@linkcode ReconnectParams}: `dle` as lowercase hex. */
export type ReconnectParamsJson = Omit<ReconnectParams, "dle"> & {
  /** `dle` as 2048 hex digits. */
  dle: string;
};

const ReconnectParamsJsonSchema = z.looseObject({ dle: hexString() });

/**
 * Returns the JSON form of reconnect parameters, validated.
 *
 * @param record The parameters.
 * @returns A JSON-safe copy, `dle` in hex.
 * @throws {NvFieldError} A field is invalid.
 * @example Usage
 * ```ts
 * import { reconnectParamsToJson } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * const dle = new Uint8Array(1024);
 * dle[0] = 254; // TRTYPE intra-host: no digest fields
 * const json = reconnectParamsToJson({
 *   dle, hostnqn: "nqn.h", numIoQueues: 1, ioQsize: 2, sqFlowControl: true,
 * });
 * assert.equal(json.dle.length, 2048);
 * ```
 */
export function reconnectParamsToJson(record: ReconnectParams): ReconnectParamsJson {
  const r = check(ReconnectParamsSchema, record);
  return { ...r, dle: toHex(r.dle) };
}

function rparamsFromJson(json: unknown, where: string): ReconnectParams {
  const j = check(ReconnectParamsJsonSchema, json, where);
  return check(ReconnectParamsSchema, { ...j, dle: fromHex(j.dle) }, where);
}

/**
 * Reads the JSON form of reconnect parameters.
 *
 * @param json Parsed JSON.
 * @returns The validated record.
 * @throws {NvFieldError} A field is missing or invalid.
 * @example Usage
 * ```ts
 * import { reconnectParamsFromJson } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * assert.throws(() => reconnectParamsFromJson({ dle: "zz" }), /"dle"/);
 * ```
 */
export function reconnectParamsFromJson(json: unknown): ReconnectParams {
  return rparamsFromJson(json, "");
}

// ---------------------------------------------------------------------------------------------
// Host handoff

/**
 * An established host association handed to the kernel (`NVMF_HANDOFF_HOST`, and
 * `NVMF_RECONNECT_HOST` for a new association of an existing controller).
 */
export interface HostHandoff {
  /** `trtype`: the transport type, TCP (the only one FreeBSD's nvmf has). */
  trtype: number;
  /** `kato`: Keep Alive Timeout in milliseconds; 0 or absent turns keep-alive off. */
  kato?: number;
  /** `reconnect_delay`: seconds between reconnect attempts; 0 or absent for none. */
  reconnectDelay?: number;
  /** `controller_loss_timeout`: seconds before the controller is given up; 0 or absent: never. */
  controllerLossTimeout?: number;
  /** `rparams`: what the kernel keeps for a later reconnect. */
  rparams: ReconnectParams;
  /** `admin`: the admin queue pair (host side, idle). */
  admin: QpairHandoff;
  /** `io`: the I/O queue pairs (host side, idle), `rparams.numIoQueues` of them. */
  io: QpairHandoff[];
  /** `cdata`: the controller's 4096-byte Identify Controller data. */
  cdata: Uint8Array;
}

function issue(ctx: z.RefinementCtx, p: (string | number)[], message: string): void {
  ctx.addIssue({ code: "custom", path: p, message });
}

const trtypeSchema = (): z.ZodNumber =>
  z.number().refine((t) => TRTYPES.includes(t), TRTYPE_MESSAGE) as unknown as z.ZodNumber;

const hostHandoff: z.ZodType<HostHandoff> = z.object({
  trtype: trtypeSchema(),
  kato: u32().optional(),
  reconnectDelay: u32().optional(),
  controllerLossTimeout: u32().optional(),
  rparams: reconnectParams,
  admin: qpairObject,
  io: z.array(qpairObject),
  cdata: bytes(IDENTIFY_DATA_SIZE, "Identify Controller data"),
}).superRefine((h, ctx) => {
  // Each queue on its own (nvmf_validate_qpair_nvlist()) before how they fit together.
  let bad = qpairIssues(h.admin, "host", h.trtype, ctx, ["admin"]);
  h.io.forEach((q, i) => bad = qpairIssues(q, "host", h.trtype, ctx, ["io", i]) || bad);
  if (bad) return;
  if (!h.admin.admin) issue(ctx, ["admin", "admin"], "must be true for the admin queue");
  // libnvmf hands off idle queues only (is_queue_pair_idle(), EBUSY).
  if (h.admin.sqhd !== h.admin.sqtail) {
    issue(ctx, ["admin", "sqtail"], `${h.admin.sqtail} differs from sqhd ${h.admin.sqhd}: busy`);
  }
  if (h.io.length < 1 || h.io.length !== h.rparams.numIoQueues) {
    issue(
      ctx,
      ["io"],
      `${h.io.length} queues, rparams.num_io_queues says ${h.rparams.numIoQueues}`,
    );
  }
  h.io.forEach((q, i) => {
    if (q.admin) issue(ctx, ["io", i, "admin"], "must be false for an I/O queue");
    if (q.qsize !== h.rparams.ioQsize) {
      issue(
        ctx,
        ["io", i, "qsize"],
        `${q.qsize} differs from rparams.io_qsize ${h.rparams.ioQsize}`,
      );
    }
    if (q.sqhd !== q.sqtail) {
      issue(ctx, ["io", i, "sqtail"], `${q.sqtail} differs from sqhd ${q.sqhd}: busy`);
    }
  });
  // prepare_queues_for_handoff(): "Ensure trtype matches."
  const dleTrtype = h.rparams.dle[DiscoveryLogEntryOffset.trtype];
  if (dleTrtype !== h.trtype) {
    issue(ctx, ["rparams", "dle"], `TRTYPE ${dleTrtype} differs from trtype ${h.trtype}`);
  }
  const dleNqn = h.rparams.dle.subarray(
    DiscoveryLogEntryOffset.subnqn,
    DiscoveryLogEntryOffset.subnqn + NQN_FIELD_SIZE,
  );
  const cdataNqn = h.cdata.subarray(
    IdentifyControllerOffset.subnqn,
    IdentifyControllerOffset.subnqn + NQN_FIELD_SIZE,
  );
  if (!equalBytes(dleNqn, cdataNqn)) {
    issue(ctx, ["cdata"], "SUBNQN differs from the SUBNQN of rparams.dle");
  }
});

/** Schema of {@linkcode HostHandoff}: the checks of the kernel's `nvmf_copyin_handoff()`. */
export const HostHandoffSchema: RecordSchema<HostHandoff> = hostHandoff;

/**
 * Builds the host handoff nvlist: trtype, kato, reconnect_delay, controller_loss_timeout,
 * rparams, admin, io (an NVLIST_ARRAY), cdata, as libnvmf's `prepare_queues_for_handoff()`.
 *
 * @param record The association.
 * @returns The nvlist; `packNvList()` it for the ioctl.
 * @throws {NvFieldError} A field breaks the kernel's or libnvmf's rules; names it.
 * @example Usage
 * ```ts
 * import { hostHandoffFromNvList, hostHandoffToNvList, type HostHandoff, type QpairHandoff } from "@nvmf/handoff/records";
 * import { packNvList, unpackNvList } from "@nvmf/handoff/nvlist";
 * import assert from "node:assert/strict";
 *
 * const qp: QpairHandoff = {
 *   admin: false, sqFlowControl: false, qsize: 128, sqhd: 1, sqtail: 1, fd: 4, rxpda: 4,
 *   txpda: 4, headerDigests: false, dataDigests: false, maxr2t: 0, maxh2cdata: 65536, maxIcd: 8192,
 * };
 * const dle = new Uint8Array(1024);
 * dle[0] = 3; // TRTYPE TCP; SUBNQN (all zero here) must match the one in cdata
 * const handoff: HostHandoff = {
 *   trtype: 3, kato: 120000,
 *   rparams: { dle, hostnqn: "nqn.2014-08.org.nvmexpress:uuid:1", numIoQueues: 1, ioQsize: 128,
 *     sqFlowControl: false, headerDigests: false, dataDigests: false },
 *   admin: { ...qp, admin: true, qsize: 32 }, io: [qp], cdata: new Uint8Array(4096),
 * };
 * const bytes = packNvList(hostHandoffToNvList(handoff));
 * assert.deepEqual(hostHandoffFromNvList(unpackNvList(bytes)), handoff);
 * assert.throws(() => hostHandoffToNvList({ ...handoff, io: [qp, qp] }), /"io": 2 queues/);
 * ```
 */
export function hostHandoffToNvList(record: HostHandoff): NvList {
  const h = check(HostHandoffSchema, record);
  return nvList([
    nvNumber("trtype", h.trtype),
    ...optNumber("kato", h.kato),
    ...optNumber("reconnect_delay", h.reconnectDelay),
    ...optNumber("controller_loss_timeout", h.controllerLossTimeout),
    nvNvList("rparams", rparamsList(h.rparams)),
    nvNvList("admin", qpairList(h.admin)),
    nvNvListArray("io", h.io.map(qpairList)),
    nvBinary("cdata", h.cdata),
  ]);
}

/**
 * Reads a host handoff nvlist with the kernel's `nvmf_copyin_handoff()` checks.
 *
 * @param list The nvlist.
 * @returns The validated record.
 * @throws {NvFieldError} A field is missing, mistyped or invalid; names it (e.g. `io[1].qsize`).
 * @example Usage
 * ```ts
 * import { nvList, nvNumber } from "@nvmf/handoff/nvlist";
 * import { hostHandoffFromNvList } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * assert.throws(() => hostHandoffFromNvList(nvList([nvNumber("trtype", 3)])), /"rparams": missing NVLIST/);
 * ```
 */
export function hostHandoffFromNvList(list: NvList): HostHandoff {
  const trtype = num(list, "trtype", "");
  checkTrtype(trtype);
  const kato = optNum(list, "kato", "");
  const reconnectDelay = optNum(list, "reconnect_delay", "");
  const controllerLossTimeout = optNum(list, "controller_loss_timeout", "");
  const h: HostHandoff = {
    trtype,
    rparams: rparamsRead(nvGetNvList(list, "rparams"), "rparams"),
    admin: qpairRead(nvGetNvList(list, "admin"), "host", trtype, "admin"),
    io: nvGetNvListArray(list, "io").map((q, i) => qpairRead(q, "host", trtype, `io[${i}]`)),
    cdata: nvGetBinary(list, "cdata"),
  };
  if (kato !== undefined) h.kato = kato;
  if (reconnectDelay !== undefined) h.reconnectDelay = reconnectDelay;
  if (controllerLossTimeout !== undefined) h.controllerLossTimeout = controllerLossTimeout;
  return check(HostHandoffSchema, h);
}

/** The JSON form of a {@linkcode HostHandoff}: `cdata` and `rparams.dle` as lowercase hex. */
export type HostHandoffJson = Omit<HostHandoff, "rparams" | "cdata"> & {
  /** `rparams` in JSON form. */
  rparams: ReconnectParamsJson;
  /** `cdata` as 8192 hex digits. */
  cdata: string;
};

const HostHandoffJsonSchema = z.looseObject({ cdata: hexString() });

/**
 * Returns the JSON form of a host handoff, validated.
 *
 * @param record The association.
 * @returns A JSON-safe copy.
 * @throws {NvFieldError} A field is invalid.
 * @example Usage
 * ```ts
 * import { hostHandoffFromJson, hostHandoffToJson, type HostHandoff } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * const qp = { admin: true, sqFlowControl: false, qsize: 32, sqhd: 0, sqtail: 0, fd: 3, rxpda: 4,
 *   txpda: 4, headerDigests: false, dataDigests: false, maxr2t: 0, maxh2cdata: 4096, maxIcd: 8192 };
 * const handoff: HostHandoff = {
 *   trtype: 3, admin: qp, io: [{ ...qp, admin: false }], cdata: new Uint8Array(4096),
 *   rparams: { dle: Uint8Array.of(3, ...new Uint8Array(1023)), hostnqn: "nqn.h", numIoQueues: 1,
 *     ioQsize: 32, sqFlowControl: false, headerDigests: false, dataDigests: false },
 * };
 * const json = hostHandoffToJson(handoff);
 * assert.equal(json.rparams.dle.slice(0, 4), "0300");
 * assert.deepEqual(hostHandoffFromJson(JSON.parse(JSON.stringify(json))), handoff);
 * ```
 */
export function hostHandoffToJson(record: HostHandoff): HostHandoffJson {
  const h = check(HostHandoffSchema, record);
  return {
    ...h,
    rparams: { ...h.rparams, dle: toHex(h.rparams.dle) },
    admin: { ...h.admin },
    io: h.io.map((q) => ({ ...q })),
    cdata: toHex(h.cdata),
  };
}

/**
 * Reads the JSON form of a host handoff.
 *
 * @param json Parsed JSON.
 * @returns The validated record.
 * @throws {NvFieldError} A field is missing or invalid.
 * @example Usage
 * ```ts
 * import { hostHandoffFromJson } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * assert.throws(() => hostHandoffFromJson({ cdata: "0" }), /"cdata"/);
 * ```
 */
export function hostHandoffFromJson(json: unknown): HostHandoff {
  const j = check(HostHandoffJsonSchema, json);
  const rparams = rparamsFromJson(j.rparams, "rparams");
  return check(HostHandoffSchema, { ...j, rparams, cdata: fromHex(j.cdata) });
}

// ---------------------------------------------------------------------------------------------
// Controller handoff

/** A controller queue pair handed to the kernel target after CONNECT (`nvmft_handoff()`). */
export interface ControllerHandoff {
  /** `trtype`: the transport type, TCP. */
  trtype: number;
  /** `params`: the queue pair (controller side, no `sqtail`). */
  params: QpairHandoff;
  /** `cmd`: the 64-byte Fabrics CONNECT command (struct nvmf_fabric_connect_cmd). */
  cmd: Uint8Array;
  /** `data`: the 1024-byte CONNECT data (struct nvmf_fabric_connect_data). */
  data: Uint8Array;
}

const controllerHandoff: z.ZodType<ControllerHandoff> = z.object({
  trtype: trtypeSchema(),
  params: qpairObject,
  cmd: bytes(SQE_SIZE, "a CONNECT SQE"),
  data: bytes(CONNECT_DATA_SIZE, "CONNECT data"),
}).superRefine((c, ctx) => {
  if (qpairIssues(c.params, "controller", c.trtype, ctx, ["params"])) return;
  // nvmf_nqn_valid(data->subnqn)
  const len = nqnLength(c.data.subarray(CONNECT_DATA_SUBNQN, CONNECT_DATA_SUBNQN + NQN_FIELD_SIZE));
  if (len < 1 || len > NQN_MAX_LENGTH) {
    issue(ctx, ["data"], `SUBNQN is not 1 to ${NQN_MAX_LENGTH} bytes ended by a NUL`);
  }
  // nvmft_handoff_admin_queue() wants QID 0, nvmft_handoff_io_queue() anything else.
  const qid = c.cmd[CONNECT_QID] | (c.cmd[CONNECT_QID + 1] << 8);
  if ((qid === 0) !== c.params.admin) {
    issue(ctx, ["cmd"], `QID ${qid} does not match params.admin ${c.params.admin}`);
  }
});

/** Schema of {@linkcode ControllerHandoff}: the checks of the kernel's `nvmft_handoff()`. */
export const ControllerHandoffSchema: RecordSchema<ControllerHandoff> = controllerHandoff;

/**
 * Builds the controller qpair handoff nvlist: trtype, params, cmd, data, as libnvmf's
 * `nvmf_handoff_controller_qpair()`.
 *
 * @param record The queue pair and its CONNECT.
 * @returns The nvlist.
 * @throws {NvFieldError} A field breaks the kernel's rules; names it.
 * @example Usage
 * ```ts
 * import { controllerHandoffToNvList } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * const params = { admin: true, sqFlowControl: true, qsize: 32, sqhd: 0, fd: 3, rxpda: 4,
 *   txpda: 4, headerDigests: false, dataDigests: false, maxr2t: 0, maxh2cdata: 131072, maxIcd: 0 };
 * const data = new Uint8Array(1024);
 * data.set(new TextEncoder().encode("nqn.2026-01.test:a"), 256); // SUBNQN
 * const list = controllerHandoffToNvList({ trtype: 3, params, cmd: new Uint8Array(64), data });
 * assert.deepEqual(list.pairs.map((p) => p.name), ["trtype", "params", "cmd", "data"]);
 * assert.throws(() => controllerHandoffToNvList({ trtype: 3, params, cmd: new Uint8Array(64),
 *   data: new Uint8Array(1024) }), /"data": SUBNQN/);
 * ```
 */
export function controllerHandoffToNvList(record: ControllerHandoff): NvList {
  const c = check(ControllerHandoffSchema, record);
  return nvList([
    nvNumber("trtype", c.trtype),
    nvNvList("params", qpairList(c.params)),
    nvBinary("cmd", c.cmd),
    nvBinary("data", c.data),
  ]);
}

/**
 * Reads a controller qpair handoff nvlist.
 *
 * @param list The nvlist.
 * @returns The validated record.
 * @throws {NvFieldError} A field is missing, mistyped or invalid; names it.
 * @example Usage
 * ```ts
 * import { nvList, nvNumber } from "@nvmf/handoff/nvlist";
 * import { controllerHandoffFromNvList } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * assert.throws(() => controllerHandoffFromNvList(nvList([nvNumber("trtype", 3)])), /"params"/);
 * ```
 */
export function controllerHandoffFromNvList(list: NvList): ControllerHandoff {
  const trtype = num(list, "trtype", "");
  checkTrtype(trtype);
  return check(ControllerHandoffSchema, {
    trtype,
    params: qpairRead(nvGetNvList(list, "params"), "controller", trtype, "params"),
    cmd: nvGetBinary(list, "cmd"),
    data: nvGetBinary(list, "data"),
  });
}

/** The JSON form of a {@linkcode ControllerHandoff}: `cmd` and `data` as lowercase hex. */
export type ControllerHandoffJson = Omit<ControllerHandoff, "cmd" | "data"> & {
  /** `cmd` as 128 hex digits. */
  cmd: string;
  /** `data` as 2048 hex digits. */
  data: string;
};

const ControllerHandoffJsonSchema = z.looseObject({ cmd: hexString(), data: hexString() });

/**
 * Returns the JSON form of a controller handoff, validated.
 *
 * @param record The queue pair and its CONNECT.
 * @returns A JSON-safe copy.
 * @throws {NvFieldError} A field is invalid.
 * @example Usage
 * ```ts
 * import { controllerHandoffToJson } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * const params = { admin: false, sqFlowControl: false, qsize: 128, sqhd: 0, fd: 3, rxpda: 4,
 *   txpda: 4, headerDigests: true, dataDigests: false, maxr2t: 1, maxh2cdata: 131072, maxIcd: 0 };
 * const cmd = new Uint8Array(64);
 * cmd[42] = 1; // QID 1
 * const data = new Uint8Array(1024);
 * data[256] = 0x6e; // SUBNQN "n"
 * const json = controllerHandoffToJson({ trtype: 3, params, cmd, data });
 * assert.equal(json.cmd.length, 128);
 * assert.equal(json.data.slice(512, 514), "6e");
 * ```
 */
export function controllerHandoffToJson(record: ControllerHandoff): ControllerHandoffJson {
  const c = check(ControllerHandoffSchema, record);
  return { ...c, params: { ...c.params }, cmd: toHex(c.cmd), data: toHex(c.data) };
}

/**
 * Reads the JSON form of a controller handoff.
 *
 * @param json Parsed JSON.
 * @returns The validated record.
 * @throws {NvFieldError} A field is missing or invalid.
 * @example Usage
 * ```ts
 * import { controllerHandoffFromJson } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * assert.throws(() => controllerHandoffFromJson({ cmd: "00", data: "" }), /"trtype"|"params"|"cmd"/);
 * ```
 */
export function controllerHandoffFromJson(json: unknown): ControllerHandoff {
  const j = check(ControllerHandoffJsonSchema, json);
  return check(ControllerHandoffSchema, { ...j, cmd: fromHex(j.cmd), data: fromHex(j.data) });
}

// ---------------------------------------------------------------------------------------------
// Connection status

/** What `NVMF_CONNECTION_STATUS` reports about a host's association (kernel `nvmf_connection_status()`). */
export interface ConnectionStatus {
  /** `connected`: an association is up. */
  connected: boolean;
  /** `last_disconnect`: when the last association was lost (a struct timespec). */
  lastDisconnect: {
    /** `tv_sec`: seconds since the Epoch. */
    tvSec: number;
    /** `tv_nsec`: nanoseconds, 0 to 999999999. */
    tvNsec: number;
  };
}

/** Schema of {@linkcode ConnectionStatus}. */
export const ConnectionStatusSchema: RecordSchema<ConnectionStatus> = z.object({
  connected: z.boolean(),
  lastDisconnect: z.object({
    tvSec: uint(Number.MAX_SAFE_INTEGER, ""),
    tvNsec: uint(NSEC_PER_SEC - 1, " (nanoseconds)"),
  }),
});

/**
 * Builds the connection status nvlist: connected, then last_disconnect { tv_sec, tv_nsec }.
 *
 * @param record The status.
 * @returns The nvlist, in the kernel's order.
 * @throws {NvFieldError} A field is invalid; names it.
 * @example Usage
 * ```ts
 * import { connectionStatusToNvList } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * const list = connectionStatusToNvList({ connected: true, lastDisconnect: { tvSec: 0, tvNsec: 0 } });
 * assert.deepEqual(list.pairs.map((p) => p.name), ["connected", "last_disconnect"]);
 * ```
 */
export function connectionStatusToNvList(record: ConnectionStatus): NvList {
  const s = check(ConnectionStatusSchema, record);
  return nvList([
    nvBool("connected", s.connected),
    nvNvList(
      "last_disconnect",
      nvList([
        nvNumber("tv_sec", s.lastDisconnect.tvSec),
        nvNumber("tv_nsec", s.lastDisconnect.tvNsec),
      ]),
    ),
  ]);
}

/**
 * Reads a connection status nvlist.
 *
 * @param list The nvlist.
 * @returns The validated record.
 * @throws {NvFieldError} A field is missing, mistyped or invalid; names it.
 * @example Usage
 * ```ts
 * import { nvBool, nvList } from "@nvmf/handoff/nvlist";
 * import { connectionStatusFromNvList } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * assert.throws(() => connectionStatusFromNvList(nvList([nvBool("connected", false)])),
 *   /"last_disconnect": missing NVLIST/);
 * ```
 */
export function connectionStatusFromNvList(list: NvList): ConnectionStatus {
  const ts = nvGetNvList(list, "last_disconnect");
  return check(ConnectionStatusSchema, {
    connected: nvGetBool(list, "connected"),
    lastDisconnect: {
      tvSec: num(ts, "tv_sec", "last_disconnect"),
      tvNsec: num(ts, "tv_nsec", "last_disconnect"),
    },
  });
}

/** The JSON form of a {@linkcode ConnectionStatus}: the same fields. */
export type ConnectionStatusJson = ConnectionStatus;

/**
 * Returns the JSON form of a connection status, validated.
 *
 * @param record The status.
 * @returns A JSON-safe copy.
 * @throws {NvFieldError} A field is invalid.
 * @example Usage
 * ```ts
 * import { connectionStatusToJson } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * const s = { connected: false, lastDisconnect: { tvSec: 1700000000, tvNsec: 5 } };
 * assert.deepEqual(connectionStatusToJson(s), s);
 * ```
 */
export function connectionStatusToJson(record: ConnectionStatus): ConnectionStatusJson {
  const s = check(ConnectionStatusSchema, record);
  return { connected: s.connected, lastDisconnect: { ...s.lastDisconnect } };
}

/**
 * Reads the JSON form of a connection status.
 *
 * @param json Parsed JSON.
 * @returns The validated record.
 * @throws {NvFieldError} A field is missing or invalid.
 * @example Usage
 * ```ts
 * import { connectionStatusFromJson } from "@nvmf/handoff/records";
 * import assert from "node:assert/strict";
 * assert.throws(() => connectionStatusFromJson({ connected: true, lastDisconnect: { tvSec: 0, tvNsec: 1e9 } }),
 *   /"last_disconnect.tv_nsec"/);
 * ```
 */
export function connectionStatusFromJson(json: unknown): ConnectionStatus {
  return check(ConnectionStatusSchema, json);
}

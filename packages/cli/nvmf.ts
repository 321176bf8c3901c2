/**
 * `nvmf`: an NVMe over Fabrics host on the command line, in nvme-cli's style, built on
 * `@nvmf/host`. It talks to a controller directly (no kernel driver): discover subsystems, list
 * them with their namespaces, identify, read log pages and features, read, write, flush and
 * compare blocks, register and acquire reservations (`resv-*`), and measure performance with
 * fio's workload names.
 *
 * ```sh
 * deno task nvmf discover -t tcp -a 192.0.2.10
 * deno task nvmf id-ctrl -t tcp -a 192.0.2.10 -n nqn.2026-01.test:disk
 * deno task nvmf perf -t tcp -a 192.0.2.10 -n nqn.2026-01.test:disk \
 *   --rw randrw --bs 4k --iodepth 32 --num-queues 2 --runtime 10 --verify
 * ```
 *
 * `deno task nvmf help` (or `nvmf help`, installed from `jsr:@nvmf/cli`) lists every subcommand and flag. The exit code is 0 on
 * success, 1 when the operation failed (the message names the cause: connection refused, a
 * TermReq and its FES, an NVMe status), 2 for a usage error.
 *
 * @module
 */

import { readFileSync, writeFileSync } from "node:fs";
import { parseSize as parseBytes } from "@nvmf/controller";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  CommandTimeoutError,
  connect,
  type ConnectOptions,
  ControllerError,
  ControllerLostError,
  type HostController,
  type Namespace,
  persistentHostIdentity,
} from "@nvmf/host";
import {
  AddressFamily,
  blockSize,
  DISCOVERY_NQN,
  type DiscoveryLogEntry,
  FeatureId,
  FeatureSelect,
  fesName,
  type IdentifyController,
  type IdentifyNamespace,
  lbaFormatIndex,
  nameOf,
  NsIdType,
  NVME_TCP_DISCOVERY_PORT,
  NVME_TCP_PORT,
  NvmeStatusError,
  ProtocolFieldError,
  SubsystemType,
  TcpSecurityType,
  tcpTsas,
  TransportRequirements,
  TransportType,
  uuidToString,
} from "@nvmf/proto";
import { bytesToHex } from "@nvmf/proto/bytes";
import {
  getTransport,
  QueuePairClosedError,
  type Transport,
  TransportError,
} from "@nvmf/transport";
import "@nvmf/transport-tcp";
import "@nvmf/transport-loopback";
import { DHCHAP_USAGE, dhchapCommand } from "./dhchap.ts";
import { runPerf, RW_MODES, type RwMode } from "./perf.ts";
import { PerfProgressLine } from "./perf_progress.ts";
import { RESV_COMMANDS, RESV_HELP, RESV_OPTIONS, resvArgs, resvHandlers } from "./resv.ts";
import { listSubsys } from "./list_subsys.ts";
import { useFastCrc32c } from "./fast_crc32c.ts";

/** Where the tool writes: stdout for results, stderr for progress and errors. */
export interface CliIo {
  /** Writes to standard output. */
  stdout(text: string): void;
  /** Writes to standard error. */
  stderr(text: string): void;
  /** Whether stderr is a terminal (the perf progress line is shown only then). */
  progress?: boolean;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  progress: process.stderr.isTTY === true,
};

/** A mistake on the command line: exit code 2 and the usage hint. */
class UsageError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

// ---------------------------------------------------------------------------------------------
// Flags

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  transport: { type: "string", short: "t" },
  traddr: { type: "string", short: "a" },
  trsvcid: { type: "string", short: "s" },
  nqn: { type: "string", short: "n" },
  hostnqn: { type: "string", short: "q" },
  hostid: { type: "string", short: "I" },
  "hdr-digest": { type: "boolean", short: "g" },
  "data-digest": { type: "boolean", short: "G" },
  "nr-io-queues": { type: "string", short: "i" },
  "queue-size": { type: "string", short: "Q" },
  "keep-alive-tmo": { type: "string", short: "k" },
  "dhchap-secret": { type: "string", short: "S" },
  "dhchap-ctrl-secret": { type: "string", short: "C" },
  "reconnect-delay": { type: "string" },
  "ctrl-loss-tmo": { type: "string" },
  "output-format": { type: "string", short: "o" },
  "namespace-id": { type: "string" },
  "start-block": { type: "string" },
  "block-count": { type: "string" },
  data: { type: "string" },
  "log-id": { type: "string" },
  "log-len": { type: "string" },
  "log-offset": { type: "string" },
  lsp: { type: "string" },
  rae: { type: "boolean" },
  "feature-id": { type: "string" },
  sel: { type: "string" },
  cdw11: { type: "string" },
  rw: { type: "string" },
  bs: { type: "string" },
  iodepth: { type: "string" },
  "num-queues": { type: "string" },
  runtime: { type: "string" },
  "ramp-time": { type: "string" },
  "time-based": { type: "boolean" },
  size: { type: "string" },
  verify: { type: "boolean" },
  rwmixread: { type: "string" },
  ...RESV_OPTIONS,
} as const;

type Flags = {
  [K in keyof typeof OPTIONS]?: typeof OPTIONS[K]["type"] extends "boolean" ? boolean : string;
};

const CONNECTION_HELP = `Connection (nvme-cli's flags):
  -t, --transport TYPE        tcp (default) or loopback
  -a, --traddr ADDR           controller address (TCP: IP address or host name)
  -s, --trsvcid SVCID         service ID: TCP port (default 4420, 8009 for discovery)
  -n, --nqn NQN               subsystem NQN (not for discover and list)
  -q, --hostnqn NQN           host NQN (default: /etc/nvme/hostnqn or ~/.config/nvmf/hostnqn)
  -I, --hostid UUID           host identifier (default: /etc/nvme/hostid or ~/.config/nvmf/hostid)
  -g, --hdr-digest            NVMe/TCP header digests
  -G, --data-digest           NVMe/TCP data digests
  -i, --nr-io-queues N        I/O queues (default 1)
  -Q, --queue-size N          entries per I/O queue (default 128)
  -k, --keep-alive-tmo SEC    keep-alive timeout in seconds (default 5; 0 turns it off)
  -S, --dhchap-secret KEY     DH-HMAC-CHAP host secret DHHC-1:hh:...: (when the target asks)
  -C, --dhchap-ctrl-secret KEY  controller secret: authenticate the controller too
      --reconnect-delay SEC   seconds between reconnect attempts (default 10)
      --ctrl-loss-tmo SEC     seconds before a lost controller is given up (default 600)
  -o, --output-format FMT     normal (default) or json
  -h, --help                  this help`;

const COMMANDS: Record<string, { summary: string; usage: string }> = {
  discover: {
    summary: "read the Discovery log page of a discovery controller",
    usage: "discover -a ADDR [-s SVCID]",
  },
  list: {
    summary: "list the subsystems a discovery controller knows, with their namespaces",
    usage: "list -a ADDR [-s SVCID]",
  },
  "id-ctrl": { summary: "Identify Controller", usage: "id-ctrl -a ADDR -n NQN" },
  "id-ns": {
    summary: "Identify Namespace and its identification descriptors",
    usage: "id-ns -a ADDR -n NQN [--namespace-id NSID]",
  },
  "get-log": {
    summary: "Get Log Page, any LID",
    usage:
      "get-log -a ADDR -n NQN --log-id LID --log-len BYTES [--log-offset BYTES] [--lsp N] [--rae] [--namespace-id NSID]",
  },
  "get-feature": {
    summary: "Get Features",
    usage:
      "get-feature -a ADDR -n NQN --feature-id FID [--sel 0-3] [--cdw11 VALUE] [--namespace-id NSID]",
  },
  read: {
    summary: "read blocks (to --data FILE, else a hex dump)",
    usage:
      "read -a ADDR -n NQN [--namespace-id NSID] --start-block LBA --block-count N [--data FILE]",
  },
  write: {
    summary: "write blocks from --data FILE (the last block padded with zeros)",
    usage:
      "write -a ADDR -n NQN [--namespace-id NSID] --start-block LBA [--block-count N] --data FILE",
  },
  flush: { summary: "Flush a namespace", usage: "flush -a ADDR -n NQN [--namespace-id NSID]" },
  compare: {
    summary: "compare blocks with --data FILE (exit 1 on a miscompare)",
    usage:
      "compare -a ADDR -n NQN [--namespace-id NSID] --start-block LBA [--block-count N] --data FILE",
  },
  "list-subsys": {
    summary: "connect every path of a subsystem and show the paths and their ANA states",
    usage: "list-subsys -a ADDR[,ADDR...] [-s SVCID[,SVCID...]] -n NQN [--namespace-id NSID]",
  },
  perf: {
    summary: "measure IOPS, bandwidth and latency with a fio-like workload",
    usage:
      "perf -a ADDR -n NQN [--namespace-id NSID] [--rw read|write|randread|randwrite|randrw] [--bs 4k] [--iodepth 32] [--num-queues N] [--runtime SEC [--ramp-time SEC] [--time-based] | --size BYTES] [--verify] [--rwmixread PCT]",
  },
  ...RESV_COMMANDS,
};

const IO_HELP = `Namespace I/O flags:
      --namespace-id NSID     namespace (default 1)
      --start-block LBA       first logical block
      --block-count N         number of blocks: 1 for one block (not nvme-cli's 0's based value)
      --data FILE             file to write from, compare with, or read into`;

const PERF_HELP = `perf flags (as fio):
      --rw MODE               read, write, randread, randwrite or randrw (default randread)
      --bs SIZE               block size per I/O, e.g. 512, 4k, 128k (default 4k)
      --iodepth N             I/Os in flight (default 32)
      --num-queues N          I/O queues (overrides -i)
      --runtime SEC           run this long (measured)
      --ramp-time SEC         run this long first without counting (fio's ramp_time)
      --time-based            with --runtime, run the whole runtime even past --size bytes
      --size SIZE             region to use, from block 0 (default the namespace); the run
                              ends after this many bytes (with --runtime, whichever comes
                              first, unless --time-based)
      --rwmixread PCT         share of reads in randrw (default 50)
      --verify                write a checkable pattern and check every read of it`;

function helpText(command?: string): string {
  if (command !== undefined && DHCHAP_USAGE[command] !== undefined) return DHCHAP_USAGE[command];
  if (command !== undefined && COMMANDS[command] !== undefined) {
    const c = COMMANDS[command];
    let text = `nvmf ${command}: ${c.summary}\n\nUsage: nvmf ${c.usage}\n\n${CONNECTION_HELP}\n`;
    if (["read", "write", "compare", "flush", "id-ns", "perf"].includes(command)) {
      text += `\n${IO_HELP}\n`;
    }
    if (command === "perf") text += `\n${PERF_HELP}\n`;
    if (command.startsWith("resv-")) text += `\n${RESV_HELP}\n`;
    return text;
  }
  const list = Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
    .join("\n") +
    "\n  gen-dhchap-key   make a DH-HMAC-CHAP secret (nvme-cli's flags)" +
    "\n  check-dhchap-key check a DH-HMAC-CHAP secret";
  return `nvmf: an NVMe over Fabrics host, in nvme-cli's style

Usage: nvmf COMMAND [flags]    (deno task nvmf COMMAND ...)

Commands:
${list}
  help [COMMAND]  this text, or a command's

${CONNECTION_HELP}

${IO_HELP}

${PERF_HELP}

Exit codes: 0 success, 1 failure (the message names the cause), 2 usage error.
`;
}

// ---------------------------------------------------------------------------------------------
// Parsing helpers

function intFlag(flags: Flags, name: keyof Flags, min: number, max: number): number | undefined {
  const raw = flags[name];
  if (raw === undefined || typeof raw === "boolean") return undefined;
  const value = raw.startsWith("0x") || raw.startsWith("0X")
    ? Number.parseInt(raw, 16)
    : Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`Cannot use --${name} ${raw}: expected an integer ${min} to ${max}`);
  }
  return value;
}

function numberFlag(flags: Flags, name: keyof Flags): number | undefined {
  const raw = flags[name];
  if (raw === undefined || typeof raw === "boolean") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new UsageError(`Cannot use --${name} ${raw}: expected a number >= 0`);
  }
  return value;
}

/**
 * Parses a size for a flag: `@nvmf/controller`'s `parseSize` (a whole number with an optional
 * K, M, G, T or P, binary: `4k`, `4KiB`, `1m`, `512`), as a number of bytes.
 *
 * @param text The size.
 * @param flag The flag, for the message.
 * @returns Bytes.
 * @example Usage
 * ```ts
 * import { parseSize } from "@nvmf/cli";
 * import assert from "node:assert/strict";
 * assert.equal(parseSize("4k"), 4096);
 * assert.equal(parseSize("1MiB"), 1 << 20);
 * ```
 */
export function parseSize(text: string, flag = "size"): number {
  let bytes: bigint;
  try {
    bytes = parseBytes(text, `--${flag}`);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new UsageError(`Cannot use --${flag} ${text}: it must be a positive size below 2^53`);
  }
  return Number(bytes);
}

function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(2)} ${units[i]}`;
}

function hexDump(data: Uint8Array): string {
  const lines: string[] = [];
  for (let at = 0; at < data.length; at += 16) {
    const row = data.subarray(at, at + 16);
    const hex = bytesToHex(row).replace(/(..)(?!$)/g, "$1 ");
    const text = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join(
      "",
    );
    lines.push(`${at.toString(16).padStart(6, "0")}: ${hex.padEnd(47)}  "${text}"`);
  }
  return lines.join("\n") + "\n";
}

/** JSON with bigints as decimal strings and byte arrays as hex. */
function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) => {
      if (typeof v === "bigint") return v.toString();
      if (v instanceof Uint8Array) return bytesToHex(v);
      return v;
    },
    2,
  ) + "\n";
}

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * Says what went wrong, naming the cause: the transport's reason (connection refused, a TermReq
 * and its FES), the NVMe status, a timeout.
 *
 * @param error What was thrown.
 * @returns One line of text.
 * @example Usage
 * ```ts
 * import { describeError } from "@nvmf/cli";
 * import { ProtocolFieldError } from "@nvmf/proto";
 * import assert from "node:assert/strict";
 * assert.equal(describeError(new RangeError("Cannot use NSID 0")), "Cannot use NSID 0");
 * assert.equal(describeError(new Error("boom")), "Error: boom");
 * assert.match(describeError(new ProtocolFieldError("Reject FLBAS: 9", "FLBAS", 26)), /^The controller sent malformed data/);
 * ```
 */
export function describeError(error: unknown): string {
  if (error instanceof TransportError) {
    let text = error.message;
    if (error.fes !== undefined && !/FES/.test(text)) {
      text += ` (TermReq FES 0x${error.fes.toString(16).padStart(2, "0")}: ${fesName(error.fes)}` +
        (error.fei !== undefined ? `, FEI ${error.fei}` : "") + ")";
    }
    const cause = (error as { cause?: unknown }).cause;
    const code = (cause as { code?: unknown } | undefined)?.code;
    if (code === "ECONNREFUSED" || (cause instanceof Error && cause.name === "ConnectionRefused")) {
      if (!/refused/i.test(text)) text += ": connection refused";
    } else if (cause instanceof Error && !text.includes(cause.message)) {
      text += `: ${cause.message}`;
    }
    return text;
  }
  if (error instanceof NvmeStatusError) return error.message;
  // Bytes from the controller that do not decode (Identify, log pages): say whose they are.
  if (error instanceof ProtocolFieldError) {
    return `The controller sent malformed data: ${error.message}`;
  }
  if (error instanceof ControllerLostError) {
    const cause = (error as { cause?: unknown }).cause;
    return cause === undefined ? error.message : `${error.message}: ${describeError(cause)}`;
  }
  if (
    error instanceof CommandTimeoutError || error instanceof ControllerError ||
    error instanceof QueuePairClosedError || error instanceof RangeError ||
    error instanceof TypeError
  ) {
    return error.message;
  }
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

// ---------------------------------------------------------------------------------------------
// Connecting

function connectOptions(
  flags: Flags,
  subnqn: string | undefined,
  forDiscovery: boolean,
): ConnectOptions {
  const transportName = flags.transport ?? "tcp";
  let transport;
  try {
    transport = getTransport(/^\d+$/.test(transportName) ? Number(transportName) : transportName);
  } catch (e) {
    throw new UsageError(`Cannot use -t ${transportName}: ${(e as Error).message}`);
  }
  if (flags.traddr === undefined) throw new UsageError("Cannot connect: -a/--traddr is required");
  if (!forDiscovery && subnqn === undefined) {
    throw new UsageError("Cannot connect: -n/--nqn (the subsystem NQN) is required");
  }
  const tcp = transport.trtype === TransportType.TCP;
  const trsvcid = flags.trsvcid ??
    (tcp ? String(forDiscovery ? NVME_TCP_DISCOVERY_PORT : NVME_TCP_PORT) : undefined);
  const seconds = (name: keyof Flags) => {
    const v = numberFlag(flags, name);
    return v === undefined ? undefined : v * 1000;
  };
  const ctrlLoss = numberFlag(flags, "ctrl-loss-tmo");
  // As nvme-cli: /etc/nvme, else the tool's own pair under ~/.config/nvmf, made on first use.
  const identity = persistentHostIdentity({ hostnqn: flags.hostnqn, hostid: flags.hostid });
  return {
    transport,
    address: { traddr: flags.traddr, trsvcid },
    subnqn: forDiscovery ? DISCOVERY_NQN : subnqn!,
    hostnqn: identity.hostnqn,
    hostid: identity.hostid,
    headerDigests: flags["hdr-digest"] ?? false,
    dataDigests: flags["data-digest"] ?? false,
    ioQueues: forDiscovery ? undefined : intFlag(flags, "nr-io-queues", 0, 65535),
    queueSize: intFlag(flags, "queue-size", 2, 65536),
    kato: forDiscovery ? undefined : seconds("keep-alive-tmo"),
    reconnectDelay: seconds("reconnect-delay"),
    ctrlLossTimeout: ctrlLoss === undefined ? undefined : ctrlLoss * 1000,
    dhchapSecret: flags["dhchap-secret"],
    dhchapCtrlSecret: flags["dhchap-ctrl-secret"],
  };
}

async function withController<T>(
  flags: Flags,
  overrides: Partial<ConnectOptions>,
  run: (ctrl: HostController) => Promise<T>,
): Promise<T> {
  const options = { ...connectOptions(flags, flags.nqn, false), ...overrides };
  const ctrl = await connect(options);
  try {
    return await run(ctrl);
  } finally {
    await ctrl.close().catch(() => {});
  }
}

function nsidOf(flags: Flags): number {
  return intFlag(flags, "namespace-id", 1, 0xfffffffe) ?? 1;
}

async function openNamespace(ctrl: HostController, flags: Flags): Promise<Namespace> {
  return await ctrl.namespace(nsidOf(flags));
}

// ---------------------------------------------------------------------------------------------
// discover, list

function trtypeName(t: number): string {
  return ({
    [TransportType.TCP]: "tcp",
    [TransportType.RDMA]: "rdma",
    [TransportType.FC]: "fc",
    [
      TransportType.INTRA_HOST
    ]: "loop",
  } as Record<number, string>)[t] ?? `unrecognized (${t})`;
}

function adrfamName(a: number): string {
  return ({
    [AddressFamily.IPV4]: "ipv4",
    [AddressFamily.IPV6]: "ipv6",
    [AddressFamily.IB]: "infiniband",
    [
      AddressFamily.FC
    ]: "fibre-channel",
    [AddressFamily.INTRA_HOST]: "loop",
  } as Record<number, string>)[a] ??
    `unrecognized (${a})`;
}

function subtypeName(s: number): string {
  return ({
    [SubsystemType.REFERRAL]: "discovery subsystem referral",
    [SubsystemType.NVME]: "nvme subsystem",
    [SubsystemType.CURRENT_DISCOVERY]: "current discovery subsystem",
  } as Record<number, string>)[s] ?? `unrecognized (${s})`;
}

function treqName(t: number): string {
  const secure = ["not specified", "required", "not required", "reserved"][
    t & TransportRequirements.SECURE_CHANNEL_MASK
  ];
  return (t & TransportRequirements.SQ_FLOW_CONTROL_DISABLE) !== 0
    ? `${secure}, sq flow control disable supported`
    : secure;
}

function entryJson(e: DiscoveryLogEntry): Record<string, unknown> {
  return {
    trtype: trtypeName(e.trtype),
    adrfam: adrfamName(e.adrfam),
    subtype: subtypeName(e.subtype),
    treq: treqName(e.treq),
    portid: e.portid,
    trsvcid: e.trsvcid,
    subnqn: e.subnqn,
    traddr: e.traddr,
    eflags: e.eflags,
    cntlid: e.cntlid,
    asqsz: e.asqsz,
    ...(e.trtype === TransportType.TCP
      ? { sectype: nameOf(TcpSecurityType, tcpTsas(e.tsas).sectype)?.toLowerCase() ?? "unknown" }
      : {}),
  };
}

async function cmdDiscover(flags: Flags, io: CliIo, json: boolean): Promise<number> {
  const ctrl = await connect(connectOptions(flags, undefined, true));
  let log;
  try {
    log = await ctrl.getDiscoveryLog();
  } finally {
    await ctrl.close().catch(() => {});
  }
  if (json) {
    io.stdout(toJson({
      genctr: log.header.genctr,
      records: log.entries.length,
      entries: log.entries.map(entryJson),
    }));
    return 0;
  }
  let text =
    `Discovery Log Number of Records ${log.entries.length}, Generation counter ${log.header.genctr}\n`;
  log.entries.forEach((e, i) => {
    text += `=====Discovery Log Entry ${i}======\n`;
    for (const [k, v] of Object.entries(entryJson(e))) text += `${(k + ":").padEnd(9)}${v}\n`;
  });
  io.stdout(text);
  return 0;
}

async function cmdList(flags: Flags, io: CliIo, json: boolean): Promise<number> {
  const base = connectOptions(flags, undefined, true);
  const dctrl = await connect(base);
  let log;
  try {
    log = await dctrl.getDiscoveryLog();
  } finally {
    await dctrl.close().catch(() => {});
  }
  const subsystems: Record<string, unknown>[] = [];
  let failures = 0;
  for (const e of log.entries) {
    if (e.subtype !== SubsystemType.NVME) continue;
    const where = `${trtypeName(e.trtype)} ${e.traddr}${e.trsvcid ? ":" + e.trsvcid : ""}`;
    const item: Record<string, unknown> = { subnqn: e.subnqn, address: where };
    try {
      const ctrl = await connect({
        ...base,
        transport: e.trtype === (base.transport as Transport).trtype
          ? base.transport
          : getTransport(e.trtype),
        address: { traddr: e.traddr, trsvcid: e.trsvcid || undefined, adrfam: e.adrfam },
        subnqn: e.subnqn,
        cntlid: e.cntlid,
        ioQueues: 0,
        kato: 0,
        asyncEvents: false,
      });
      try {
        const c = ctrl.cdata;
        item.controller = { cntlid: ctrl.cntlid, model: c.mn, serial: c.sn, firmware: c.fr };
        const namespaces = [];
        for (const nsid of await ctrl.activeNamespaces()) {
          const ns = await ctrl.identifyNamespace(nsid);
          const bs = blockSize(ns);
          namespaces.push({ nsid, blocks: ns.nsze, blockSize: bs, bytes: ns.nsze * BigInt(bs) });
        }
        item.namespaces = namespaces;
      } finally {
        await ctrl.close().catch(() => {});
      }
    } catch (err) {
      failures++;
      item.error = describeError(err);
    }
    subsystems.push(item);
  }
  if (json) {
    io.stdout(toJson({ subsystems }));
  } else {
    let text = "";
    for (const s of subsystems) {
      text += `${s.subnqn} (${s.address})\n`;
      if (s.error !== undefined) {
        text += `  error: ${s.error}\n`;
        continue;
      }
      const c = s.controller as Record<string, unknown>;
      text += `  controller ${c.cntlid}: ${c.model} (serial ${c.serial}, firmware ${c.firmware})\n`;
      for (const n of s.namespaces as Record<string, bigint | number>[]) {
        text += `  namespace ${n.nsid}: ${n.blocks} blocks of ${n.blockSize} bytes (${
          formatBytes(Number(n.bytes))
        })\n`;
      }
    }
    if (subsystems.length === 0) text += "No NVM subsystems in the Discovery log page\n";
    io.stdout(text);
  }
  return failures === 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// id-ctrl, id-ns, get-log, get-feature

function idCtrlText(c: IdentifyController): string {
  const skip = new Set(["psd", "vs", "fguid"]);
  let text = "NVME Identify Controller:\n";
  for (const [k, v] of Object.entries(c)) {
    if (skip.has(k)) continue;
    const value = typeof v === "number" && k !== "cntlid" && k !== "mdts" && v > 9
      ? `0x${v.toString(16)}`
      : String(v);
    text += `${k.padEnd(10)}: ${value}\n`;
  }
  text += `${"fguid".padEnd(10)}: ${bytesToHex(c.fguid)}\n`;
  return text;
}

async function cmdIdCtrl(flags: Flags, io: CliIo, json: boolean): Promise<number> {
  const c = await withController(
    flags,
    { ioQueues: 0, asyncEvents: false },
    (ctrl) => ctrl.identify(),
  );
  io.stdout(json ? toJson({ ...c, psd: c.psd, vs: undefined }) : idCtrlText(c));
  return 0;
}

function descriptorJson(d: { nidt: number; nid: Uint8Array }): Record<string, unknown> {
  const type = nameOf(NsIdType, d.nidt)?.toLowerCase() ?? `type ${d.nidt}`;
  const value = d.nidt === NsIdType.UUID ? uuidToString(d.nid) : bytesToHex(d.nid);
  return { type, value };
}

async function cmdIdNs(flags: Flags, io: CliIo, json: boolean): Promise<number> {
  const nsid = nsidOf(flags);
  const [ns, descriptors] = await withController(
    flags,
    { ioQueues: 0, asyncEvents: false },
    async (ctrl) => {
      const id = await ctrl.identifyNamespace(nsid);
      let list: { nidt: number; nid: Uint8Array }[] = [];
      try {
        list = await ctrl.namespaceDescriptors(nsid);
      } catch (e) {
        if (!(e instanceof NvmeStatusError)) throw e;
      }
      return [id, list] as const;
    },
  );
  if (ns.nsze === 0n) {
    throw new RangeError(`Cannot identify namespace ${nsid}: it is not active`);
  }
  if (json) {
    io.stdout(toJson({ nsid, ...ns, descriptors: descriptors.map(descriptorJson) }));
    return 0;
  }
  const current = lbaFormatIndex(ns);
  let text = `NVME Identify Namespace ${nsid}:\n`;
  for (
    const k of [
      "nsze",
      "ncap",
      "nuse",
      "nsfeat",
      "nlbaf",
      "flbas",
      "mc",
      "dpc",
      "dps",
      "nmic",
      "dlfeat",
    ] as const
  ) {
    text += `${k.padEnd(8)}: ${(ns as IdentifyNamespace)[k]}\n`;
  }
  text += `${"nguid".padEnd(8)}: ${bytesToHex(ns.nguid)}\n${"eui64".padEnd(8)}: ${
    bytesToHex(ns.eui64)
  }\n`;
  for (let i = 0; i <= ns.nlbaf && i < ns.lbaf.length; i++) {
    const f = ns.lbaf[i];
    text += `lbaf ${String(i).padStart(2)} : ms:${f.ms} lbads:${f.lbads} rp:${f.rp}${
      i === current ? " (in use)" : ""
    }\n`;
  }
  for (const d of descriptors) {
    const j = descriptorJson(d);
    text += `${String(j.type).padEnd(8)}: ${j.value}\n`;
  }
  io.stdout(text);
  return 0;
}

async function cmdGetLog(flags: Flags, io: CliIo, json: boolean): Promise<number> {
  const lid = intFlag(flags, "log-id", 0, 255);
  if (lid === undefined) throw new UsageError("Cannot read a log page: --log-id is required");
  const length = intFlag(flags, "log-len", 4, 2 ** 32);
  if (length === undefined) throw new UsageError("Cannot read a log page: --log-len is required");
  if (length % 4 !== 0) {
    throw new UsageError(`Cannot use --log-len ${length}: it must be a multiple of 4 (dwords)`);
  }
  const offset = intFlag(flags, "log-offset", 0, Number.MAX_SAFE_INTEGER) ?? 0;
  if (offset % 4 !== 0) {
    throw new UsageError(`Cannot use --log-offset ${offset}: it must be a multiple of 4`);
  }
  const data = await withController(
    flags,
    { ioQueues: 0, asyncEvents: false },
    (ctrl) =>
      ctrl.getLogPage(lid, {
        length,
        offset,
        lsp: intFlag(flags, "lsp", 0, 127),
        rae: flags.rae ?? false,
        nsid: intFlag(flags, "namespace-id", 0, 0xffffffff),
      }),
  );
  if (json) {
    io.stdout(toJson({ lid, offset, length, data: bytesToHex(data) }));
  } else {
    io.stdout(
      `Log page 0x${lid.toString(16).padStart(2, "0")}, ${length} bytes at offset ${offset}:\n`,
    );
    io.stdout(hexDump(data));
  }
  return 0;
}

async function cmdGetFeature(flags: Flags, io: CliIo, json: boolean): Promise<number> {
  const fid = intFlag(flags, "feature-id", 0, 255);
  if (fid === undefined) throw new UsageError("Cannot get a feature: --feature-id is required");
  const sel = intFlag(flags, "sel", 0, 3) ?? FeatureSelect.CURRENT;
  const value = await withController(
    flags,
    { ioQueues: 0, asyncEvents: false },
    (ctrl) =>
      ctrl.getFeatures(fid, {
        sel,
        cdw11: intFlag(flags, "cdw11", 0, 0xffffffff),
        nsid: intFlag(flags, "namespace-id", 0, 0xffffffff),
      }),
  );
  const name = nameOf(FeatureId, fid) ?? "unknown";
  const selName = nameOf(FeatureSelect, sel)?.toLowerCase() ?? String(sel);
  if (json) {
    io.stdout(toJson({ fid, name, sel: selName, value }));
  } else {
    io.stdout(
      `get-feature:0x${fid.toString(16).padStart(2, "0")} (${name}), ${selName} value: 0x${
        value.toString(16).padStart(8, "0")
      }\n`,
    );
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// read, write, flush, compare

function startBlock(flags: Flags): number {
  const lba = intFlag(flags, "start-block", 0, Number.MAX_SAFE_INTEGER);
  if (lba === undefined) throw new UsageError("Cannot do I/O: --start-block is required");
  return lba;
}

function readData(flags: Flags, what: string): Uint8Array {
  if (flags.data === undefined) throw new UsageError(`Cannot ${what}: --data FILE is required`);
  try {
    return new Uint8Array(readFileSync(flags.data));
  } catch (e) {
    throw new UsageError(`Cannot ${what}: cannot read ${flags.data}: ${(e as Error).message}`);
  }
}

/** The blocks to write or compare: the file, padded with zeros to whole blocks. */
function blocksFrom(
  data: Uint8Array,
  ns: Namespace,
  count: number | undefined,
  what: string,
): Uint8Array {
  const bs = ns.blockSize;
  const blocks = count ?? Math.ceil(data.length / bs);
  if (blocks === 0) throw new UsageError(`Cannot ${what}: the data file is empty`);
  if (data.length > blocks * bs) {
    throw new UsageError(
      `Cannot ${what} ${blocks} blocks: the data file holds ${data.length} bytes, more than ${
        blocks * bs
      }`,
    );
  }
  if (data.length === blocks * bs) return data;
  const padded = new Uint8Array(blocks * bs);
  padded.set(data);
  return padded;
}

async function cmdRead(flags: Flags, io: CliIo, json: boolean): Promise<number> {
  const lba = startBlock(flags);
  const count = intFlag(flags, "block-count", 1, 2 ** 32);
  if (count === undefined) throw new UsageError("Cannot read: --block-count is required");
  const data = await withController(flags, { asyncEvents: false }, async (ctrl) => {
    const ns = await openNamespace(ctrl, flags);
    return await ns.read(lba, count);
  });
  if (flags.data !== undefined) {
    writeFileSync(flags.data, data);
    if (!json) {
      io.stdout(`read: Success, ${count} blocks (${data.length} bytes) to ${flags.data}\n`);
    }
  } else if (!json) {
    io.stdout(hexDump(data));
  }
  if (json) {
    io.stdout(toJson({
      result: "success",
      startBlock: lba,
      blockCount: count,
      bytes: data.length,
      ...(flags.data === undefined ? { data: bytesToHex(data) } : { file: flags.data }),
    }));
  }
  return 0;
}

async function cmdWrite(flags: Flags, io: CliIo, json: boolean): Promise<number> {
  const lba = startBlock(flags);
  const count = intFlag(flags, "block-count", 1, 2 ** 32);
  const file = readData(flags, "write");
  const written = await withController(flags, { asyncEvents: false }, async (ctrl) => {
    const ns = await openNamespace(ctrl, flags);
    const data = blocksFrom(file, ns, count, "write");
    await ns.write(lba, data);
    return data.length / ns.blockSize;
  });
  io.stdout(
    json
      ? toJson({ result: "success", startBlock: lba, blockCount: written })
      : `write: Success, ${written} blocks at LBA ${lba}\n`,
  );
  return 0;
}

async function cmdFlush(flags: Flags, io: CliIo, json: boolean): Promise<number> {
  const nsid = nsidOf(flags);
  await withController(flags, { asyncEvents: false }, async (ctrl) => {
    await (await ctrl.namespace(nsid)).flush();
  });
  io.stdout(json ? toJson({ result: "success", nsid }) : `flush: Success, namespace ${nsid}\n`);
  return 0;
}

async function cmdCompare(flags: Flags, io: CliIo, json: boolean): Promise<number> {
  const lba = startBlock(flags);
  const count = intFlag(flags, "block-count", 1, 2 ** 32);
  const file = readData(flags, "compare");
  const [same, blocks] = await withController(flags, { asyncEvents: false }, async (ctrl) => {
    const ns = await openNamespace(ctrl, flags);
    const data = blocksFrom(file, ns, count, "compare");
    return [await ns.compare(lba, data), data.length / ns.blockSize] as const;
  });
  if (json) {
    io.stdout(
      toJson({ result: same ? "success" : "miscompare", startBlock: lba, blockCount: blocks }),
    );
  } else if (same) {
    io.stdout(`compare: Success, ${blocks} blocks at LBA ${lba} match\n`);
  } else {
    io.stderr(
      `nvmf: compare: COMPARE_FAILURE (sct 2, sc 0x85): the ${blocks} blocks at LBA ${lba} differ from ${flags.data}\n`,
    );
  }
  return same ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// perf
//
// The measuring loop, runPerf, is perf.ts: the benchmark suite (bench/e2e.ts) measures with it.

async function cmdPerf(flags: Flags, io: CliIo, json: boolean): Promise<number> {
  const rw = (flags.rw ?? "randread") as RwMode;
  if (!RW_MODES.includes(rw)) {
    throw new UsageError(`Cannot use --rw ${flags.rw}: expected one of ${RW_MODES.join(", ")}`);
  }
  const bs = flags.bs === undefined ? 4096 : parseSize(flags.bs, "bs");
  const iodepth = intFlag(flags, "iodepth", 1, 65536) ?? 32;
  const numQueues = intFlag(flags, "num-queues", 1, 65535) ??
    intFlag(flags, "nr-io-queues", 1, 65535) ?? 1;
  const runtimeSec = numberFlag(flags, "runtime");
  const rampTimeSec = numberFlag(flags, "ramp-time");
  const timeBased = flags["time-based"] ?? false;
  const sizeFlag = flags.size === undefined ? undefined : parseSize(flags.size, "size");
  const rwmixread = intFlag(flags, "rwmixread", 0, 100) ?? 50;
  const verify = flags.verify ?? false;
  const queueSize = intFlag(flags, "queue-size", 2, 65536) ??
    Math.max(128, Math.ceil(iodepth / numQueues) + 1);

  return await withController(flags, { ioQueues: numQueues, queueSize }, async (ctrl) => {
    const ns = await openNamespace(ctrl, flags);
    if (bs % ns.blockSize !== 0) {
      throw new UsageError(
        `Cannot use --bs ${bs}: it must be a multiple of the ${ns.blockSize}-byte block`,
      );
    }
    const region = Math.min(sizeFlag ?? ns.size, ns.size);
    if (Math.floor(region / bs) < 1) {
      throw new UsageError(`Cannot run: the region of ${region} bytes holds no ${bs}-byte I/O`);
    }
    if (verify && !json && (rw === "read" || rw === "randread")) {
      io.stderr(
        `perf: writing ${formatBytes(Math.floor(region / bs) * bs)} of verify pattern first\n`,
      );
    }
    // On a terminal, a live line of IOPS, bandwidth and time, rewritten in place (fio's).
    const line = io.progress
      ? new PerfProgressLine(
        (t) => io.stderr(t),
        runtimeSec === undefined ? undefined : runtimeSec + (rampTimeSec ?? 0),
      )
      : undefined;
    const r = await runPerf(ns, {
      rw,
      bs,
      iodepth,
      regionBytes: region,
      runtimeSec,
      // fio: with a runtime, the run also ends after --size bytes unless it is time based.
      limitBytes: runtimeSec === undefined || timeBased ? undefined : (sizeFlag ?? Infinity),
      rampTimeSec,
      rwmixread,
      verify,
      progress: line === undefined ? undefined : (p) => line.update(p),
    }).finally(() => line?.end());
    const result = {
      rw: r.rw,
      bs: r.bs,
      iodepth: r.iodepth,
      numQueues: ctrl.ioQueueCount,
      nsid: ns.nsid,
      regionBytes: r.regionBytes,
      runtimeSec: r.runtimeSec,
      rampTimeSec: r.rampTimeSec,
      latencySampleEvery: r.latencySampleEvery,
      read: r.read,
      write: r.write,
      cpuUsPerIo: r.cpuUsPerIo,
      ...(r.verify !== undefined ? { verify: r.verify } : {}),
    };
    if (json) {
      io.stdout(toJson(result));
    } else {
      let text =
        `perf: rw=${rw} bs=${formatBytes(bs)} iodepth=${iodepth} queues=${result.numQueues} ` +
        `region=${formatBytes(result.regionBytes)} runtime=${r.runtimeSec.toFixed(2)}s` +
        `${r.rampTimeSec > 0 ? ` ramp=${r.rampTimeSec}s` : ""}\n`;
      for (const dir of ["read", "write"] as const) {
        const s = result[dir];
        if (s.ios === 0) continue;
        const l = s.latencyUs;
        const f = (n: number) => n.toFixed(1);
        text +=
          `  ${dir.padEnd(5)}: IOPS=${Math.round(s.iops)}, BW=${
            formatBytes(s.bandwidthBytesPerSec)
          }/s ` +
          `(${formatBytes(s.bytes)} in ${s.ios} I/Os)\n` +
          `    lat (usec): min=${f(l.min)}, avg=${f(l.mean)}, max=${f(l.max)}\n` +
          `    percentiles (usec): 50th=${f(l.p50)}, 90th=${f(l.p90)}, 99th=${f(l.p99)}, 99.9th=${
            f(l.p99_9)
          }\n`;
      }
      if (r.latencySampleEvery > 1) {
        text += `  (latency of every ${r.latencySampleEvery}th I/O; rates count all)\n`;
      }
      text += `  cpu: ${r.cpuUsPerIo.toFixed(2)} us per I/O\n`;
      if (r.verify !== undefined) {
        text += `  verify: ${r.verify.checked} reads checked, ${
          r.verify.error === null ? "no errors" : "FAILED"
        }\n`;
      }
      io.stdout(text);
    }
    if (r.verify?.error) {
      io.stderr(`nvmf: perf: ${r.verify.error}\n`);
      return 1;
    }
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------
// main

const HANDLERS: Record<string, (flags: Flags, io: CliIo, json: boolean) => Promise<number>> = {
  discover: cmdDiscover,
  list: cmdList,
  "id-ctrl": cmdIdCtrl,
  "id-ns": cmdIdNs,
  "get-log": cmdGetLog,
  "get-feature": cmdGetFeature,
  read: cmdRead,
  write: cmdWrite,
  flush: cmdFlush,
  compare: cmdCompare,
  perf: cmdPerf,
  ...resvHandlers({
    withController: (flags, run) => withController(flags as Flags, {}, run),
    nsid: (flags) => nsidOf(flags as Flags),
    usage: (message) => new UsageError(message),
    json: toJson,
  }),
  "list-subsys": async (flags, io, json) => {
    const request = { options: connectOptions(flags, flags.nqn, false), nsid: nsidOf(flags), json };
    try {
      io.stdout(await listSubsys(request));
    } catch (e) {
      if (e instanceof RangeError && /^Cannot (pair|list)/.test(e.message)) {
        throw new UsageError(e.message);
      }
      throw e;
    }
    return 0;
  },
};

/**
 * Runs the tool: parses `args` (the subcommand first), does the work, writes to `io`.
 *
 * @param args The command line after the program name.
 * @param io Where output goes; the process's stdout and stderr unless given.
 * @returns The exit code: 0 success, 1 failure, 2 usage error.
 * @example Usage
 * ```ts
 * import { main } from "@nvmf/cli";
 * import assert from "node:assert/strict";
 * let out = "";
 * const code = await main(["help"], { stdout: (t) => out += t, stderr: () => {} });
 * assert.equal(code, 0);
 * assert.match(out, /discover/);
 * ```
 */
export async function main(args: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    io.stdout(helpText(rest[0]));
    return command === undefined ? 2 : 0;
  }
  if (DHCHAP_USAGE[command] !== undefined) return await dhchapCommand(command, rest, io);
  const handler = HANDLERS[command];
  if (handler === undefined) {
    io.stderr(`nvmf: Cannot run "${command}": no such command; see "nvmf help"\n`);
    return 2;
  }
  let flags: Flags;
  try {
    const parsed = parseArgs({
      args: resvArgs(command, rest),
      options: OPTIONS,
      strict: true,
      allowPositionals: false,
    });
    flags = parsed.values as Flags;
  } catch (e) {
    io.stderr(`nvmf ${command}: ${(e as Error).message}\n${usageLine(command)}`);
    return 2;
  }
  if (flags.help) {
    io.stdout(helpText(command));
    return 0;
  }
  const format = flags["output-format"] ?? "normal";
  if (format !== "normal" && format !== "json") {
    io.stderr(`nvmf ${command}: Cannot use -o ${format}: expected normal or json\n`);
    return 2;
  }
  try {
    return await handler(flags, io, format === "json");
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`nvmf ${command}: ${e.message}\n${usageLine(command)}`);
      return 2;
    }
    io.stderr(`nvmf ${command}: ${describeError(e)}\n`);
    return 1;
  }
}

function usageLine(command: string): string {
  return `Usage: nvmf ${
    COMMANDS[command]?.usage ?? "COMMAND [flags]"
  } (see "nvmf help ${command}")\n`;
}

if (import.meta.main) {
  // The CPU's CRC32 instruction for digests when the native addon loads (fast_crc32c.ts).
  await useFastCrc32c();
  process.exitCode = await main(process.argv.slice(2));
}

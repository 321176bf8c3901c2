/**
 * The NVMe over Fabrics target daemon, like FreeBSD's nvmfd or Linux's nvmet configured with
 * nvmetcli: `deno task target [flags]` from a checkout, `deno run -A jsr:@nvmf/cli/target [flags]`
 * without one (or `deno install -g -A -n nvmf-target jsr:@nvmf/cli/target`, then `nvmf-target`).
 *
 * ```
 * --listen ADDR:PORT     listen here (repeatable; default 127.0.0.1:4420)
 * --transport NAME       tcp (default) or loopback
 * --nqn NQN              the subsystem NQN (default nqn.2026-01.dev.nvmf:target)
 * --ram SIZE             a RAM namespace, e.g. 512M or 1G (repeatable)
 * --file PATH            a file or block device namespace (repeatable)
 * --block-size N         512 (default) or 4096, for --ram and --file namespaces
 * --allow-host NQN       allow only these hosts (repeatable; default any host)
 * --config FILE          our JSON config, the JSON `nvmetcli save` writes, or SPDK's
 *                        save_config JSON (its calls are replayed)
 * --rpc PATH             serve SPDK-compatible JSON-RPC on this Unix socket (default: none;
 *                        SPDK's rpc.py uses /var/tmp/spdk.sock); alone, starts empty
 * --metrics ADDR:PORT    serve Prometheus metrics at http://ADDR:PORT/metrics
 * --log-format FORMAT    text (default) or json (one object per line)
 * --no-digests           refuse NVMe/TCP header and data digests
 * --require-sq-flow-control   refuse hosts that ask to disable SQ flow control
 * --max-connections N    connections held at once, 0 for no limit (default 16384)
 * --max-connections-per-address N   the same from one address (default 0, no limit)
 * --max-controllers N    controllers per subsystem (default 65519)
 * --max-queues N         I/O queues per controller (default 128)
 * --connect-timeout MS   time for ICReq, then for Connect (default 5000)
 * --quiet                print only errors
 * --help                 this text
 * ```
 *
 * Namespaces get NSIDs in the order their flags appear. With no flags it serves a 1 GiB RAM
 * namespace on 127.0.0.1:4420 with discovery and prints how to connect. SIGINT and SIGTERM shut
 * it down cleanly: no new connections, commands in progress complete (up to 2 s), every
 * association is closed, file namespaces are flushed (`fsync`), and it exits with status 0
 * (1 when that took over 10 s). A bad flag, size or config prints one line naming the problem and exits
 * with status 2.
 *
 * {@linkcode main} runs the daemon in-process (until a promise settles, for tests);
 * {@linkcode parseDaemonArgs} reads its command line, and `buildConfig` turns that into the
 * `TargetConfig` that `applyConfig` of `@nvmf/controller` serves.
 *
 * @example Usage
 * ```ts
 * import { buildConfig, parseDaemonArgs } from "@nvmf/cli/target";
 * import assert from "node:assert/strict";
 *
 * const options = parseDaemonArgs(["--ram", "64M", "--listen", "127.0.0.1:4420"]);
 * assert.deepEqual(options.namespaces, [{ ram: "64M" }]);
 * const config = await buildConfig(options);
 * assert.equal(config.subsystems[0].nqn, "nqn.2026-01.dev.nvmf:target");
 * assert.equal(config.subsystems[0].namespaces[0].ram, 64n << 20n);
 * assert.equal(config.ports[0].trsvcid, "4420");
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import { readFile } from "node:fs/promises";
import { totalmem } from "node:os";
import {
  applyConfig,
  ConfigError,
  type DhchapHostKeys,
  type DhchapPolicy,
  type NamespaceConfig,
  parseListenAddress,
  parseNvmetcliConfig,
  parseSize,
  parseTargetConfig,
  type Port,
  Target,
  type TargetConfig,
} from "@nvmf/controller";
import { formatStatus } from "@nvmf/proto";
import { dhGroupByName, hashByName } from "@nvmf/auth";
import "@nvmf/transport-tcp";
import { type LogFormat, makeLogger } from "./log.ts";
import { serveMetrics } from "./metrics.ts";
import { isSpdkConfig, loadSpdkConfig, rpcMethods, type SpdkConfig } from "./rpc_methods.ts";
import { serveRpc } from "./rpc_server.ts";
import "@nvmf/transport-loopback";
import { useFastCrc32c } from "./fast_crc32c.ts";

/** The subsystem NQN served when `--nqn` is not given. */
export const DEFAULT_NQN = "nqn.2026-01.dev.nvmf:target";
/** Where the daemon listens when neither `--listen` nor a config says. */
export const DEFAULT_LISTEN = "127.0.0.1:4420";
/** The RAM namespace served when no namespace is given. */
export const DEFAULT_RAM = "1G";

/** A command line mistake; the daemon prints the message and exits with status 2. */
export class UsageError extends TypeError {
  /**
   * Makes the error.
   *
   * @param message What is wrong, naming the flag.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The daemon's flags, parsed. */
export interface DaemonOptions {
  /** Addresses to listen on, as given. */
  listen: string[];
  /** Transport name. */
  transport: string;
  /** Subsystem NQN. */
  nqn: string | undefined;
  /** Namespaces in flag order. */
  namespaces: { ram?: string; file?: string }[];
  /** Block size of the flag namespaces. */
  blockSize: number | undefined;
  /** Allocate and touch every RAM namespace's memory before listening. */
  prefault: boolean;
  /** Allowed host NQNs (empty: any). */
  allowHosts: string[];
  /** DH-HMAC-CHAP keys of the allowed hosts, from the flags after each `--allow-host`. */
  dhchap: Record<string, DhchapHostKeys>;
  /** `--dhchap-digests` / `--dhchap-dhgroups`: the target-wide policy, when given. */
  dhchapPolicy?: DhchapPolicy;
  /** Config file path. */
  config: string | undefined;
  /** Refuse digests. */
  noDigests: boolean;
  /** Refuse disabling SQ flow control. */
  requireSqFlowControl: boolean;
  /** Limits given as flags (`--max-connections` and friends), by `TargetOptions` name. */
  limits: DaemonLimits;
  /** Print only errors. */
  quiet: boolean;
  /** Print usage. */
  help: boolean;
  /** JSON-RPC socket path. */
  rpc?: string;
  /** Metrics address, as given. */
  metrics?: string;
  /** Log format. */
  logFormat?: LogFormat;
}

/** The target limits the daemon's flags set. */
export interface DaemonLimits {
  /** `--max-connections`. */
  maxConnections?: number;
  /** `--max-connections-per-address`. */
  maxConnectionsPerAddress?: number;
  /** `--max-controllers`. */
  maxControllersPerSubsystem?: number;
  /** `--max-queues`. */
  maxQueues?: number;
  /** `--connect-timeout`. */
  connectTimeout?: number;
}

const LIMIT_FLAGS: readonly [string, keyof DaemonLimits, number, number][] = [
  ["max-connections", "maxConnections", 0, 2 ** 31],
  ["max-connections-per-address", "maxConnectionsPerAddress", 0, 2 ** 31],
  ["max-controllers", "maxControllersPerSubsystem", 1, 0xffef],
  ["max-queues", "maxQueues", 1, 65535],
  ["connect-timeout", "connectTimeout", 1, 2 ** 31],
];

/** The usage text. */
export const USAGE = `Usage: deno task target [flags]
  --listen ADDR:PORT       listen here (repeatable; default ${DEFAULT_LISTEN})
  --transport NAME         tcp (default) or loopback
  --nqn NQN                the subsystem NQN (default ${DEFAULT_NQN})
  --ram SIZE               a RAM namespace, e.g. 512M or 1G (repeatable)
  --file PATH              a file or block device namespace (repeatable)
  --block-size N           512 (default) or 4096
  --prefault               allocate and touch the memory of the RAM namespaces of the flags
                           and of our JSON config at start, so first writes run as fast as
                           rewrites (takes their full size at once; not for bdevs over RPC)
  --allow-host NQN         allow only these hosts (repeatable; default any host)
    --dhchap-key SECRET    after --allow-host: that host must authenticate (DH-HMAC-CHAP)
    --dhchap-ctrl-key SECRET  the controller's secret, for bidirectional authentication
    --dhchap-hash H        hmac(sha256) (default), hmac(sha384) or hmac(sha512)
    --dhchap-dhgroup G     null (default), ffdhe2048, ffdhe3072, ffdhe4096, ffdhe6144, ffdhe8192
  --dhchap-digests LIST    for hosts without --dhchap-hash: the hashes allowed, e.g. sha384,sha512;
  --dhchap-dhgroups LIST   ... and groups, e.g. ffdhe2048,ffdhe3072: the strongest allowed that the
                           host offers is used, as SPDK's nvmf_set_config (a list left out: all)
  --config FILE            our JSON config, the JSON nvmetcli save writes, or SPDK's
                           save_config JSON (its calls are replayed)
  --rpc PATH               serve SPDK-compatible JSON-RPC on this Unix socket (default:
                           none; SPDK's rpc.py uses /var/tmp/spdk.sock); with no namespace,
                           listen or config flag the target starts empty
  --metrics ADDR:PORT      serve Prometheus metrics at http://ADDR:PORT/metrics
  --log-format FORMAT      text (default) or json (one object per line)
  --no-digests             refuse NVMe/TCP header and data digests
  --require-sq-flow-control  refuse hosts that ask to disable SQ flow control
  --max-connections N      connections held at once, 0 for no limit (default 16384)
  --max-connections-per-address N  the same from one address (default 0, no limit)
  --max-controllers N      controllers per subsystem (default 65519)
  --max-queues N           I/O queues per controller (default 128)
  --connect-timeout MS     time for ICReq, then for Connect (default 5000)
  --quiet                  print only errors
  --help                   show this text`;

/**
 * Parses the daemon's command line.
 *
 * @param argv The arguments after the script name.
 * @returns The options.
 * @throws {UsageError} Naming the flag that is wrong.
 * @example Usage
 * ```ts
 * import { parseDaemonArgs } from "@nvmf/cli/target";
 * import assert from "node:assert/strict";
 * const o = parseDaemonArgs(["--ram", "1G", "--file", "/tmp/a.img", "--block-size", "4096"]);
 * assert.deepEqual(o.namespaces, [{ ram: "1G" }, { file: "/tmp/a.img" }]);
 * assert.equal(o.blockSize, 4096);
 * ```
 */
export function parseDaemonArgs(argv: string[]): DaemonOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      tokens: true,
      options: {
        listen: { type: "string", multiple: true },
        transport: { type: "string" },
        nqn: { type: "string" },
        ram: { type: "string", multiple: true },
        file: { type: "string", multiple: true },
        "block-size": { type: "string" },
        prefault: { type: "boolean" },
        "allow-host": { type: "string", multiple: true },
        "dhchap-key": { type: "string", multiple: true },
        "dhchap-ctrl-key": { type: "string", multiple: true },
        "dhchap-hash": { type: "string", multiple: true },
        "dhchap-dhgroup": { type: "string", multiple: true },
        "dhchap-digests": { type: "string" },
        "dhchap-dhgroups": { type: "string" },
        config: { type: "string" },
        "no-digests": { type: "boolean" },
        "require-sq-flow-control": { type: "boolean" },
        "max-connections": { type: "string" },
        "max-connections-per-address": { type: "string" },
        "max-controllers": { type: "string" },
        "max-queues": { type: "string" },
        "connect-timeout": { type: "string" },
        quiet: { type: "boolean", short: "q" },
        rpc: { type: "string" },
        metrics: { type: "string" },
        "log-format": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
  const v = parsed.values;
  const namespaces: { ram?: string; file?: string }[] = [];
  const dhchap = dhchapFlags(parsed.tokens ?? []);
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== "option" || token.value === undefined) continue;
    if (token.name === "ram") {
      try {
        parseSize(token.value);
      } catch {
        throw new UsageError(`--ram ${token.value}: not a size like 512M or 1G`);
      }
      namespaces.push({ ram: token.value });
    } else if (token.name === "file") {
      namespaces.push({ file: token.value });
    }
  }
  let blockSize: number | undefined;
  if (v["block-size"] !== undefined) {
    blockSize = Number(v["block-size"]);
    if (blockSize !== 512 && blockSize !== 4096) {
      throw new UsageError(`--block-size ${v["block-size"]}: must be 512 or 4096`);
    }
  }
  for (const address of v.listen ?? []) {
    try {
      parseListenAddress(address);
    } catch {
      throw new UsageError(`--listen ${address}: expected ADDR:PORT, e.g. ${DEFAULT_LISTEN}`);
    }
  }
  const limits: DaemonLimits = {};
  for (const [flag, key, min, max] of LIMIT_FLAGS) {
    const text = (v as Record<string, unknown>)[flag] as string | undefined;
    if (text === undefined) continue;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) {
      throw new UsageError(`--${flag} ${text}: must be an integer ${min} to ${max}`);
    }
    limits[key] = n;
  }
  const transport = v.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "loopback") {
    throw new UsageError(`--transport ${transport}: must be tcp or loopback`);
  }
  if (v.metrics !== undefined) {
    try {
      if (!/:\d+$/.test(v.metrics)) throw new RangeError("no port");
      parseListenAddress(v.metrics);
    } catch {
      throw new UsageError(`--metrics ${v.metrics}: expected ADDR:PORT, e.g. 127.0.0.1:9100`);
    }
  }
  let dhchapPolicy: DhchapPolicy | undefined;
  if (v["dhchap-digests"] !== undefined || v["dhchap-dhgroups"] !== undefined) {
    const list = (text: string | undefined) =>
      text === undefined ? undefined : text.split(",").map((x) => x.trim()).filter((x) => x);
    dhchapPolicy = {
      ...(v["dhchap-digests"] !== undefined ? { digests: list(v["dhchap-digests"]) } : {}),
      ...(v["dhchap-dhgroups"] !== undefined ? { dhgroups: list(v["dhchap-dhgroups"]) } : {}),
    };
    for (
      const [flag, names, known] of [
        ["dhchap-digests", dhchapPolicy.digests, (n: string) => hashByName(n) !== undefined],
        ["dhchap-dhgroups", dhchapPolicy.dhgroups, (n: string) => dhGroupByName(n) !== undefined],
      ] as const
    ) {
      if (names === undefined) continue;
      if (names.length === 0) throw new UsageError(`--${flag}: give one or more, comma-separated`);
      const unknown = names.find((n) => !known(n));
      if (unknown !== undefined) {
        throw new UsageError(
          `--${flag} ${unknown}: ` +
            (flag === "dhchap-digests"
              ? "expected sha256, sha384 or sha512"
              : "expected null, ffdhe2048, ffdhe3072, ffdhe4096, ffdhe6144 or ffdhe8192"),
        );
      }
    }
  }
  const logFormat = v["log-format"] ?? "text";
  if (logFormat !== "text" && logFormat !== "json") {
    throw new UsageError(`--log-format ${logFormat}: must be text or json`);
  }
  if (v.rpc === "") throw new UsageError("--rpc: needs a socket path");
  if (v.config !== undefined) {
    const clash = [
      "nqn",
      "ram",
      "file",
      "block-size",
      "allow-host",
      "dhchap-key",
      "dhchap-ctrl-key",
      "dhchap-hash",
      "dhchap-dhgroup",
    ].find((name) => (v as Record<string, unknown>)[name] !== undefined);
    if (clash !== undefined) {
      throw new UsageError(`--${clash}: cannot be combined with --config`);
    }
  }
  return {
    listen: v.listen ?? [],
    transport,
    nqn: v.nqn,
    namespaces,
    blockSize,
    prefault: v.prefault ?? false,
    allowHosts: v["allow-host"] ?? [],
    dhchap,
    ...(dhchapPolicy !== undefined ? { dhchapPolicy } : {}),
    config: v.config,
    noDigests: v["no-digests"] ?? false,
    requireSqFlowControl: v["require-sq-flow-control"] ?? false,
    limits,
    quiet: v.quiet ?? false,
    help: v.help ?? false,
    ...(v.rpc === undefined ? {} : { rpc: v.rpc }),
    ...(v.metrics === undefined ? {} : { metrics: v.metrics }),
    ...(v["log-format"] === undefined ? {} : { logFormat }),
  };
}

const DHCHAP_FLAGS: Record<string, keyof DhchapHostKeys> = {
  "dhchap-key": "key",
  "dhchap-ctrl-key": "ctrlKey",
  "dhchap-hash": "hash",
  "dhchap-dhgroup": "dhgroup",
};

/** The `--dhchap-*` flags, each for the `--allow-host` before it (as run-target.sh takes them). */
function dhchapFlags(
  tokens: { kind: string; name?: string; value?: string }[],
): Record<string, DhchapHostKeys> {
  const out: Record<string, Partial<DhchapHostKeys>> = {};
  let host: string | undefined;
  for (const token of tokens) {
    if (token.kind !== "option" || token.value === undefined) continue;
    if (token.name === "allow-host") {
      host = token.value;
      continue;
    }
    const field = DHCHAP_FLAGS[token.name ?? ""];
    if (field === undefined) continue;
    if (host === undefined) throw new UsageError(`--${token.name}: must follow an --allow-host`);
    const keys = out[host] ??= {};
    if (keys[field] !== undefined) {
      throw new UsageError(`--${token.name}: given twice for host ${host}`);
    }
    keys[field] = token.value;
  }
  for (const [nqn, keys] of Object.entries(out)) {
    if (keys.key === undefined) {
      throw new UsageError(`--allow-host ${nqn}: the --dhchap-* flags need --dhchap-key`);
    }
  }
  return out as Record<string, DhchapHostKeys>;
}

/**
 * Tells the two config formats apart: `nvmetcli save` output has `hosts`, subsystem `attr`
 * or port `addr` objects.
 *
 * @param json The parsed config file.
 * @returns True for an nvmetcli file.
 * @example Usage
 * ```ts
 * import { isNvmetcliConfig } from "@nvmf/cli/target";
 * import assert from "node:assert/strict";
 * assert.equal(isNvmetcliConfig({ hosts: [], ports: [], subsystems: [] }), true);
 * assert.equal(isNvmetcliConfig({ subsystems: [{ nqn: "x" }] }), false);
 * ```
 */
export function isNvmetcliConfig(json: unknown): boolean {
  if (typeof json !== "object" || json === null) return false;
  const o = json as Record<string, unknown>;
  if ("hosts" in o) return true;
  const some = (list: unknown, key: string) =>
    Array.isArray(list) && list.some((x) => typeof x === "object" && x !== null && key in x);
  return some(o.subsystems, "attr") || some(o.ports, "addr");
}

/**
 * Builds the configuration the flags describe: from `--config`, or a subsystem of the flag
 * namespaces (a 1 GiB RAM one when none is given), plus the `--listen` ports.
 *
 * @param options The parsed flags.
 * @returns The configuration.
 * @throws {ConfigError} When the config file is wrong (the message names the field).
 * @throws {UsageError} When the config file cannot be read or is not JSON.
 * @ignore Exported for tests and embedders; its type is `TargetConfig` of `@nvmf/controller`.
 * @example Usage
 * ```ts
 * import { buildConfig, parseDaemonArgs } from "@nvmf/cli/target";
 * import assert from "node:assert/strict";
 * const config = await buildConfig(parseDaemonArgs([]));
 * assert.equal(config.subsystems[0].namespaces[0].ram, 1n << 30n);
 * assert.equal(config.ports[0].trsvcid, "4420");
 * ```
 */
export async function buildConfig(options: DaemonOptions): Promise<TargetConfig> {
  let config: TargetConfig;
  if (options.config !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(await readFile(options.config)));
    } catch (e) {
      throw new UsageError(`--config ${options.config}: ${(e as Error).message.split("\n")[0]}`);
    }
    if (isSpdkConfig(json)) {
      config = { target: {}, ports: [], subsystems: [], spdk: json } as TargetConfig;
    } else {
      config = isNvmetcliConfig(json) ? parseNvmetcliConfig(json) : parseTargetConfig(json);
    }
  } else if (
    options.rpc !== undefined && options.namespaces.length === 0 && options.nqn === undefined &&
    options.listen.length === 0 && options.allowHosts.length === 0
  ) {
    // Configured over RPC, as SPDK's nvmf_tgt: nothing until told.
    return { target: {}, ports: [], subsystems: [] };
  } else {
    const specs = options.namespaces.length > 0 ? options.namespaces : [{ ram: DEFAULT_RAM }];
    const namespaces: NamespaceConfig[] = specs.map((s) =>
      s.ram !== undefined
        ? { ram: parseSize(s.ram), blockSize: options.blockSize ?? 512 }
        : { file: s.file!, blockSize: options.blockSize ?? 512 }
    );
    config = {
      target: {},
      ports: [],
      subsystems: [{
        nqn: options.nqn ?? DEFAULT_NQN,
        allowAnyHost: options.allowHosts.length === 0,
        allowedHosts: options.allowHosts,
        namespaces,
        ...(Object.keys(options.dhchap).length > 0 ? { dhchap: options.dhchap } : {}),
      }],
    };
  }
  config.target = { ...config.target, ...options.limits };
  if (options.dhchapPolicy !== undefined) config.target.dhchapPolicy = options.dhchapPolicy;
  if (options.prefault) {
    let bytes = 0n;
    for (const s of config.subsystems) {
      for (const ns of s.namespaces) if (ns.ram !== undefined) bytes += ns.ram;
    }
    if (bytes > BigInt(totalmem())) {
      throw new UsageError(
        `--prefault: the RAM namespaces (${bytes} bytes) exceed this machine's memory (${totalmem()} bytes)`,
      );
    }
    for (const s of config.subsystems) {
      for (const ns of s.namespaces) if (ns.ram !== undefined) ns.prefault = true;
    }
  }
  const spdk = (config as { spdk?: unknown }).spdk !== undefined;
  const listen = options.listen.length > 0 || config.ports.length > 0 || spdk
    ? options.listen
    : [DEFAULT_LISTEN];
  for (const address of listen) {
    config.ports.push({ transport: options.transport, ...parseListenAddress(address) });
  }
  for (const port of config.ports) {
    const params = { ...port.associationParams };
    if (options.noDigests) {
      params.tcp = { ...params.tcp, headerDigests: false, dataDigests: false } as never;
    }
    if (options.requireSqFlowControl) params.sqFlowControl = true;
    port.associationParams = params;
  }
  return config;
}

function humanSize(bytes: bigint): string {
  for (const [unit, shift] of [["T", 40n], ["G", 30n], ["M", 20n], ["K", 10n]] as const) {
    if (bytes >= 1n << shift && bytes % (1n << shift) === 0n) return `${bytes >> shift} ${unit}iB`;
  }
  return `${bytes} bytes`;
}

/**
 * The lines the daemon prints once it serves: ports, subsystems and how to connect.
 *
 * @param target The running target.
 * @param ports Its ports.
 * @returns The lines.
 * @ignore Exported for embedders; its types are `Target` and `Port` of `@nvmf/controller`.
 * @example Usage
 * ```ts
 * import { describeTarget } from "@nvmf/cli/target";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 * const target = new Target();
 * target.addSubsystem({ nqn: "nqn.2026-01.dev.nvmf:describe", namespaces: [{ backend: new RamBackend({ size: 1 << 20 }) }] });
 * const port = await target.listen("loopback", { traddr: "describe" });
 * assert.ok(describeTarget(target, [port]).some((l) => l.includes("nqn.2026-01.dev.nvmf:describe")));
 * await target.close();
 * ```
 */
export function describeTarget(target: Target, ports: readonly Port[]): string[] {
  const lines: string[] = [];
  for (const port of ports) {
    const a = port.address;
    const where = a.trsvcid === undefined ? a.traddr : `${a.traddr}:${a.trsvcid}`;
    lines.push(`nvmf target: port ${port.portid} listening on ${port.transport.name} ${where}`);
  }
  for (const sub of target.subsystems) {
    const ns = sub.namespaces.map((n) =>
      `nsid ${n.nsid}: ${humanSize(n.backend.size)}, ${n.blockSize}-byte blocks${
        n.readOnly ? ", read-only" : ""
      }`
    );
    const hosts = sub.allowAnyHost ? "any host" : `hosts ${sub.allowedHosts.join(", ")}`;
    const auth = sub.dhchapHosts.length > 0
      ? `; DH-HMAC-CHAP from ${sub.dhchapHosts.join(", ")}`
      : "";
    lines.push(`  subsystem ${sub.nqn} (${hosts}${auth})`);
    for (const line of ns) lines.push(`    ${line}`);
  }
  for (const port of ports) {
    if (port.address.traddr === "0.0.0.0" || port.address.traddr === "::") {
      lines.push(
        `  note: port ${port.portid} listens on all addresses; its discovery log entries name ${port.address.traddr}, so connect to one of this machine's addresses`,
      );
    }
  }
  const tcp = ports.filter((p) => p.transport.name === "tcp");
  if (tcp.length > 0) {
    lines.push("Connect from Linux (nvme-cli):");
    for (const port of tcp) {
      const a = port.address;
      const where = `-t tcp -a ${a.traddr} -s ${a.trsvcid ?? "4420"}`;
      lines.push(`  nvme discover ${where}`);
      for (const sub of target.subsystems) {
        if (port.exposes(sub.nqn)) lines.push(`  nvme connect ${where} -n ${sub.nqn}`);
      }
    }
  }
  return lines;
}

/** Where the daemon writes. */
export interface DaemonIo {
  /** Normal output, a line at a time. */
  out(line: string): void;
  /** Errors, a line at a time. */
  err(line: string): void;
}

const consoleIo: DaemonIo = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/**
 * Runs the daemon: parses the flags, builds and starts the target, waits for `stop` (by
 * default SIGINT or SIGTERM), then closes everything.
 *
 * @param argv The arguments after the script name.
 * @param io Where to print.
 * @param stop Settles when the daemon should stop; default the first SIGINT or SIGTERM.
 * @returns The exit status: 0, 1 when the target could not start, 2 for bad flags or config.
 * @example Usage
 * ```ts
 * import { main } from "@nvmf/cli/target";
 * import assert from "node:assert/strict";
 * const err: string[] = [];
 * assert.equal(await main(["--block-size", "1000"], { out: () => {}, err: (l) => err.push(l) }), 2);
 * assert.match(err[0], /--block-size/);
 * ```
 */
export async function main(
  argv: string[],
  io: DaemonIo = consoleIo,
  stop?: Promise<unknown>,
): Promise<number> {
  let options: DaemonOptions;
  let config: TargetConfig;
  try {
    options = parseDaemonArgs(argv);
    if (options.help) {
      io.out(USAGE);
      return 0;
    }
    config = await buildConfig(options);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError || e instanceof RangeError) {
      io.err(`target: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const target = new Target(config.target);
  const logger = makeLogger(options.logFormat ?? "text", (line, level) => {
    if (level === "error") io.err(line);
    else if (!options.quiet) io.out(line);
  });
  const log = (line: string) => logger("info", "message", { text: line }, line);
  target.on("controller-created", (e) => {
    logger(
      "info",
      "controller-created",
      { ...e },
      `controller ${e.cntlid} created: ${e.hostnqn} -> ${e.subnqn} (port ${e.portid})`,
    );
  });
  target.on("controller-destroyed", (e) => {
    logger(
      "info",
      "controller-destroyed",
      { ...e },
      `controller ${e.cntlid} of ${e.subnqn} destroyed: ${e.reason}`,
    );
  });
  target.on("connect-rejected", (e) => {
    const status = formatStatus(e.status, { fabrics: true });
    logger(
      "info",
      "connect-rejected",
      { ...e, status },
      `connect rejected on port ${e.portid}: ${e.reason} (${status})`,
    );
  });
  target.on("error", (e) => {
    const why = (e.error as Error)?.message ?? String(e.error);
    logger("error", "error", { message: e.message, error: why }, `target: ${e.message}: ${why}`);
  });
  const rpcLog = (level: "info" | "warn", event: string, fields: Record<string, unknown>) =>
    logger(level, event, fields);
  const methods = rpcMethods(target, rpcLog);
  target.on("notice", (e) => {
    logger("info", "notice", { message: e.message }, `notice: ${e.message}`);
  });
  let ports: Port[];
  try {
    const spdk = (config as { spdk?: SpdkConfig }).spdk;
    if (spdk !== undefined) {
      await loadSpdkConfig(methods, spdk, rpcLog);
      // The flags win over the file's nvmf_set_config (SPDK's save_config always has one).
      if (options.dhchapPolicy !== undefined) target.setDhchapPolicy(options.dhchapPolicy);
    }
    ports = await applyConfig(target, config);
    if (spdk !== undefined) ports = [...target.ports];
  } catch (e) {
    await target.close();
    io.err(`target: ${(e as Error).message}`);
    return e instanceof ConfigError && !e.path.startsWith("ports") ? 2 : 1;
  }
  const services = await startServices(target, options, methods, io, log);
  if (services === undefined) {
    await target.close();
    return 1;
  }
  for (const line of describeTarget(target, ports)) log(line);
  await (stop ?? signalled());
  log("nvmf target: shutting down");
  await services.close();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = await Promise.race([
    target.close().then(() => true),
    new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), SHUTDOWN_LIMIT_MS)),
  ]);
  clearTimeout(timer);
  if (!closed) {
    io.err(`target: shutdown took over ${SHUTDOWN_LIMIT_MS} ms; exiting anyway`);
    return 1;
  }
  log("nvmf target: stopped");
  return 0;
}

/** Starts the --rpc and --metrics servers; undefined (after printing why) when one fails. */
async function startServices(
  target: Target,
  options: DaemonOptions,
  methods: ReturnType<typeof rpcMethods>,
  io: DaemonIo,
  log: (line: string) => void,
): Promise<{ close(): Promise<void> } | undefined> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    if (options.rpc !== undefined) {
      const rpc = await serveRpc(options.rpc, methods);
      closers.push(() => rpc.close());
      log(`nvmf target: JSON-RPC on ${options.rpc}`);
    }
    if (options.metrics !== undefined) {
      const { traddr, trsvcid } = parseListenAddress(options.metrics);
      const metrics = await serveMetrics(target, traddr, Number(trsvcid));
      closers.push(() => metrics.close());
      log(`nvmf target: metrics on http://${traddr}:${metrics.port}/metrics`);
    }
  } catch (e) {
    await close();
    io.err(`target: ${(e as Error).message}`);
    return undefined;
  }
  return { close };
}
/** The longest a shutdown may take before the daemon exits anyway, ms. */
const SHUTDOWN_LIMIT_MS = 10_000;

/** Settles on the first SIGINT or SIGTERM, then stops listening for them. */
function signalled(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(signal);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}

if (import.meta.main) {
  // The CPU's CRC32 instruction for digests when the native addon loads (fast_crc32c.ts).
  await useFastCrc32c();
  process.exit(await main(process.argv.slice(2)));
}

/**
 * Target configuration as JSON: our own format ({@linkcode parseTargetConfig}), the file
 * Linux's `nvmetcli save` writes to /etc/nvmet/config.json ({@linkcode parseNvmetcliConfig}),
 * and {@linkcode applyConfig} to build subsystems, namespaces and ports from either. Both
 * parsers validate with zod and throw a {@linkcode ConfigError} that names the offending field
 * by its path, e.g. `subsystems[0].namespaces[1].ram`.
 *
 * Our format:
 *
 * ```json
 * {
 *   "target": { "model": "nvmf", "maxTransferSize": "1M" },
 *   "ports": [{ "transport": "tcp", "address": "0.0.0.0:4420", "ana": [{ "grpid": 1, "state": "optimized" }] }],
 *   "subsystems": [{
 *     "nqn": "nqn.2026-01.dev.nvmf:disk",
 *     "allowedHosts": ["nqn.2014-08.org.nvmexpress:uuid:..."],
 *     "namespaces": [{ "ram": "1G", "blockSize": 4096, "anagrpid": 1 }, { "file": "/var/lib/disk.img", "readOnly": true }]
 *   }]
 * }
 * ```
 *
 * @module
 */

import { z } from "zod";
import type { AssociationParams, TcpAssociationParams } from "@nvmf/transport";
import {
  type DhchapHostKeys,
  type DhchapPolicy,
  DhchapPolicyError,
  parseDhchapPolicy,
} from "./_auth.ts";
import { ANA_GROUP_MAX, type AnaStateName, anaStateValue } from "./ana.ts";
import { FileBackend, type NamespaceBackend, RamBackend } from "./backend.ts";
import type { ListenOptions, Port } from "./port.ts";
import type { Target, TargetOptions } from "./target.ts";
import type { NamespaceOptions, SubsystemOptions } from "./subsystem.ts";

/**
 * A configuration field that failed validation, or that could not be used (a file that does
 * not open, a port that cannot listen). It is a `TypeError`: the configuration, already parsed
 * from JSON, is of the wrong shape; JSON that does not parse stays `JSON.parse`'s `SyntaxError`.
 *
 * @example Usage
 * ```ts
 * import { ConfigError } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * const e = new ConfigError("ports[0].address", "required");
 * assert.equal(e.message, "Cannot use config field ports[0].address: required");
 * assert.ok(e instanceof TypeError);
 * ```
 */
export class ConfigError extends TypeError {
  /** Path of the field, e.g. `subsystems[0].namespaces[1].ram` (empty for the whole file). */
  readonly path: string;

  /**
   * Makes the error; the message reads `Cannot use config field <path>: <problem>`.
   *
   * @param path Path of the field.
   * @param problem What is wrong with it.
   */
  constructor(path: string, problem: string) {
    super(
      path === "" ? `Cannot use config: ${problem}` : `Cannot use config field ${path}: ${problem}`,
    );
    this.name = "ConfigError";
    this.path = path;
  }
}

/**
 * One namespace of a {@linkcode SubsystemConfig}: RAM (`ram`) or a file (`file`), with the
 * NSID, identifiers and read-only flag of {@linkcode NamespaceOptions}.
 */
export interface NamespaceConfig extends Omit<NamespaceOptions, "backend"> {
  /** RAM namespace size in bytes. */
  ram?: bigint;
  /** Path of a regular file or block device. */
  file?: string;
  /** Logical block size (default 512 for RAM; see `FileBackend.open` for files). */
  blockSize?: number;
  /**
   * RAM only: allocate and touch all of the namespace's memory when it is set up
   * ({@linkcode RamBackend.prefault}), so first writes run as fast as rewrites.
   */
  prefault?: boolean;
}

/**
 * One subsystem of a {@linkcode TargetConfig}: the fields of {@linkcode SubsystemOptions},
 * with namespaces described rather than opened.
 */
export interface SubsystemConfig extends Omit<SubsystemOptions, "namespaces"> {
  /** Namespaces. */
  namespaces: NamespaceConfig[];
}

/**
 * One port of a {@linkcode TargetConfig}: where to listen, and the port ID, subsystems and
 * association parameters of {@linkcode ListenOptions}.
 */
export interface PortConfig
  extends Pick<ListenOptions, "portid" | "subsystems" | "associationParams"> {
  /** Transport name (`"tcp"`, `"loopback"`). */
  transport: string;
  /** Transport address (IP address for TCP). */
  traddr: string;
  /** Service ID (TCP port). */
  trsvcid?: string;
  /** ANA states of groups on this port, for every subsystem it serves (default optimized). */
  ana?: PortAnaConfig[];
}

/** The ANA state of one group on a port ({@linkcode PortConfig.ana}). */
export interface PortAnaConfig {
  /** ANA group ID (default 1). */
  grpid: number;
  /** The state (SPDK's names; Linux's `non-optimized` spelling is accepted too). */
  state: AnaStateName;
}

/** A validated configuration, ready for {@linkcode applyConfig}. */
export interface TargetConfig {
  /** Options for `new Target(...)`. */
  target: TargetOptions;
  /** Ports to listen on. */
  ports: PortConfig[];
  /** Subsystems with their namespaces. */
  subsystems: SubsystemConfig[];
}

const SIZE_UNITS: Readonly<Record<string, bigint>> = {
  "": 1n,
  K: 1n << 10n,
  M: 1n << 20n,
  G: 1n << 30n,
  T: 1n << 40n,
  P: 1n << 50n,
};

/**
 * Parses a size: a byte count, or a whole number with a binary unit K, M, G, T or P (KiB,
 * MiB... and KB, MB... mean the same). The one size parser of the package, for configuration
 * files and command lines.
 *
 * @param value `"512M"`, `"1G"`, `"4096"` or a number of bytes.
 * @param field What the size is, for the message (a config field, a flag); default `size`.
 * @returns Bytes.
 * @throws {RangeError} Naming `field`, when it is not a size or is zero.
 * @example Usage
 * ```ts
 * import { parseSize } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * assert.equal(parseSize("512M"), 536870912n);
 * assert.equal(parseSize("1TiB"), 1n << 40n);
 * assert.throws(() => parseSize("1X", "--ram"), /Cannot use --ram "1X"/);
 * ```
 */
export function parseSize(value: string | number | bigint, field = "size"): bigint {
  let bytes: bigint | undefined;
  if (typeof value === "bigint") bytes = value;
  else if (typeof value === "number") {
    bytes = Number.isSafeInteger(value) ? BigInt(value) : undefined;
  } else {
    const m = /^\s*(\d+)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(value);
    if (m !== null) bytes = BigInt(m[1]) * SIZE_UNITS[m[2].toUpperCase()];
  }
  const shown = JSON.stringify(String(value));
  if (bytes === undefined || bytes < 0n) {
    throw new RangeError(
      `Cannot use ${field} ${shown}: expected a size like 4096, 512M or 1G (K, M, G, T or P)`,
    );
  }
  if (bytes === 0n) {
    throw new RangeError(`Cannot use ${field} ${shown}: it must be a positive size`);
  }
  return bytes;
}

/**
 * Splits `ADDR:PORT` (`[v6]:PORT` for IPv6) into a transport address and service ID.
 *
 * @param value The address, e.g. `127.0.0.1:4420` or `[::1]:4420`; without a port, 4420.
 * @returns TRADDR and TRSVCID.
 * @throws {RangeError} When the port is not 0 to 65535 or the address is empty.
 * @example Usage
 * ```ts
 * import { parseListenAddress } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseListenAddress("[::1]:4421"), { traddr: "::1", trsvcid: "4421" });
 * assert.deepEqual(parseListenAddress("10.0.0.1"), { traddr: "10.0.0.1", trsvcid: "4420" });
 * ```
 */
export function parseListenAddress(value: string): { traddr: string; trsvcid: string } {
  let host = value;
  let port = "4420";
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (v6 !== null) {
    host = v6[1];
    port = v6[2] ?? port;
  } else if (value.startsWith("[")) {
    host = "";
  } else {
    const colon = value.lastIndexOf(":");
    if (colon >= 0 && value.indexOf(":") === colon) {
      host = value.slice(0, colon);
      port = value.slice(colon + 1);
    }
  }
  if (host === "" || !/^\d+$/.test(port) || Number(port) > 65535) {
    throw new RangeError(
      `Cannot use address ${JSON.stringify(value)}: expected ADDR:PORT with a port 0 to 65535`,
    );
  }
  return { traddr: host, trsvcid: String(Number(port)) };
}

// ---------------------------------------------------------------------------------------------
// zod plumbing

/**
 * Validators keyed by exactly the fields of `T` (with `satisfies`): a field is declared once,
 * in the TypeScript type, and the schema fails to compile until it covers it.
 */
type FieldSchemas<T> = { [K in keyof Required<T>]: z.ZodType };

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

function toConfigError(error: z.ZodError): ConfigError {
  const issue = error.issues[0];
  const path = [...issue.path];
  let problem = issue.message;
  if (issue.code === "unrecognized_keys") {
    path.push(issue.keys[0]);
    problem = "unknown field";
  } else if (issue.code === "invalid_type" && issue.input === undefined) {
    problem = "required";
  }
  return new ConfigError(formatPath(path), problem);
}

function parseWith<T>(schema: z.ZodType<T>, json: unknown): T {
  const result = schema.safeParse(json);
  if (!result.success) throw toConfigError(result.error);
  return result.data;
}

const size = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseSize(value);
  } catch {
    ctx.addIssue({
      code: "custom",
      message: `${JSON.stringify(value)} is not a size like 512M or 1G`,
    });
    return z.NEVER;
  }
});

const blockSize = z.number().int().refine((n) => n >= 512 && (n & (n - 1)) === 0, {
  message: "must be a power of two from 512 (512 or 4096)",
});

const tcpParams = z.object(
  {
    pda: z.number().int().min(0).max(31).optional(),
    headerDigests: z.boolean().optional(),
    dataDigests: z.boolean().optional(),
    maxr2t: z.number().int().min(1).optional(),
    maxh2cdata: z.number().int().min(4096).optional(),
  } satisfies FieldSchemas<TcpAssociationParams>,
).strict();

const associationParams = z.object(
  {
    sqFlowControl: z.boolean().optional(),
    dynamicControllerModel: z.boolean().optional(),
    maxAdminQsize: z.number().int().min(2).max(65536).optional(),
    maxIoQsize: z.number().int().min(2).max(65536).optional(),
    ioInCapsuleData: z.number().int().min(0).multipleOf(16).optional(),
    tcp: tcpParams.optional(),
  } satisfies FieldSchemas<AssociationParams>,
).strict();

const namespaceSchema = z.object(
  {
    nsid: z.number().int().min(1).max(0xfffffffe).optional(),
    ram: size.optional(),
    file: z.string().min(1).optional(),
    blockSize: blockSize.optional(),
    prefault: z.boolean().optional(),
    readOnly: z.boolean().optional(),
    nguid: z.string().optional(),
    eui64: z.string().optional(),
    uuid: z.string().optional(),
    anagrpid: z.number().int().min(1).max(ANA_GROUP_MAX).optional(),
  } satisfies FieldSchemas<NamespaceConfig>,
).strict().superRefine((ns, ctx) => {
  if (ns.prefault === true && ns.file !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["prefault"],
      message: "only a RAM namespace can be prefaulted",
    });
  }
  if ((ns.ram === undefined) === (ns.file === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ns.ram === undefined ? ["ram"] : ["file"],
      message: "give exactly one of ram (a size) or file (a path)",
    });
  }
});

const nqn = z.string().min(1).max(223);

const subsystemSchema = z.object(
  {
    nqn,
    serial: z.string().max(20).optional(),
    model: z.string().max(40).optional(),
    firmware: z.string().max(8).optional(),
    version: z.enum(["1.2", "1.3", "1.4", "2.0"]).optional(),
    allowAnyHost: z.boolean().optional(),
    allowedHosts: z.array(nqn).optional(),
    namespaces: z.array(namespaceSchema).default([]),
    dhchap: z.record(
      nqn,
      z.object({
        key: z.string(),
        ctrlKey: z.string().optional(),
        hash: z.string().optional(),
        dhgroup: z.string().optional(),
      }).strict(),
    ).optional(),
  } satisfies FieldSchemas<SubsystemConfig>,
).strict();

const anaState = z.string().transform((value, ctx) => {
  try {
    anaStateValue(value);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
    return z.NEVER;
  }
  return value.replace(/-/g, "_") as AnaStateName;
});

const portAna = z.object({
  grpid: z.number().int().min(1).max(ANA_GROUP_MAX).default(1),
  state: anaState,
}).strict();

const portSchema = z.object({
  transport: z.string().min(1).default("tcp"),
  address: z.string().optional(),
  traddr: z.string().min(1).optional(),
  trsvcid: z.string().regex(/^\d+$/, "must be a port number").optional(),
  portid: z.number().int().min(1).max(65535).optional(),
  subsystems: z.array(nqn).optional(),
  associationParams: associationParams.optional(),
  ana: z.array(portAna).optional(),
}).strict().transform((p, ctx) => {
  let traddr = p.traddr;
  let trsvcid = p.trsvcid;
  if (p.address !== undefined) {
    try {
      ({ traddr, trsvcid } = parseListenAddress(p.address));
    } catch (e) {
      ctx.addIssue({ code: "custom", path: ["address"], message: (e as Error).message });
      return z.NEVER;
    }
  }
  if (traddr === undefined) {
    ctx.addIssue({ code: "custom", path: ["address"], message: "give address or traddr" });
    return z.NEVER;
  }
  const port: PortConfig = { transport: p.transport, traddr };
  if (trsvcid !== undefined) port.trsvcid = trsvcid;
  if (p.portid !== undefined) port.portid = p.portid;
  if (p.subsystems !== undefined) port.subsystems = p.subsystems;
  if (p.associationParams !== undefined) {
    port.associationParams = p.associationParams as Partial<AssociationParams>;
  }
  if (p.ana !== undefined) port.ana = p.ana;
  return port;
});

const dhchapPolicySchema = z.object(
  {
    digests: z.array(z.string()).optional(),
    dhgroups: z.array(z.string()).optional(),
  } satisfies FieldSchemas<DhchapPolicy>,
).strict().superRefine((policy, ctx) => {
  try {
    parseDhchapPolicy(policy);
  } catch (e) {
    if (!(e instanceof DhchapPolicyError)) throw e;
    ctx.addIssue({ code: "custom", path: [e.field], message: e.detail });
  }
});

const targetSchema = z.object(
  {
    serialPrefix: z.string().max(20).optional(),
    model: z.string().max(40).optional(),
    firmware: z.string().max(8).optional(),
    maxQueues: z.number().int().min(1).max(65535).optional(),
    maxNamespaces: z.number().int().min(1).optional(),
    maxTransferSize: size.optional(),
    discoveryKato: z.number().int().min(0).optional(),
    minKato: z.number().int().min(0).optional(),
    connectTimeout: z.number().int().min(1).optional(),
    maxConnections: z.number().int().min(0).optional(),
    maxConnectionsPerAddress: z.number().int().min(0).optional(),
    maxControllersPerSubsystem: z.number().int().min(1).max(0xffef).optional(),
    dataTimeout: z.number().int().min(1).optional(),
    associationParams: associationParams.optional(),
    dhchapPolicy: dhchapPolicySchema.optional(),
  } satisfies FieldSchemas<TargetOptions>,
).strict();

const configSchema = z.object({
  target: targetSchema.default({}),
  ports: z.array(portSchema).default([]),
  subsystems: z.array(subsystemSchema).default([]),
}).strict();

function checkReferences(config: TargetConfig): void {
  const nqns = new Set<string>();
  config.subsystems.forEach((s, i) => {
    if (nqns.has(s.nqn)) throw new ConfigError(`subsystems[${i}].nqn`, `${s.nqn} appears twice`);
    nqns.add(s.nqn);
  });
  config.ports.forEach((p, i) => {
    p.subsystems?.forEach((nqn, j) => {
      if (!nqns.has(nqn)) {
        throw new ConfigError(`ports[${i}].subsystems[${j}]`, `no subsystem ${nqn} is configured`);
      }
    });
  });
}

/**
 * Validates our JSON configuration (see the module documentation for its shape).
 *
 * @param json The parsed JSON.
 * @returns The configuration, sizes as bytes.
 * @throws {ConfigError} Naming the first field that is wrong.
 * @example Usage
 * ```ts
 * import { ConfigError, parseTargetConfig } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * const config = parseTargetConfig({
 *   ports: [{ address: "127.0.0.1:4420" }],
 *   subsystems: [{ nqn: "nqn.2026-01.dev.nvmf:a", namespaces: [{ ram: "1G" }] }],
 * });
 * assert.equal(config.subsystems[0].namespaces[0].ram, 1n << 30n);
 * assert.throws(
 *   () => parseTargetConfig({ subsystems: [{ nqn: "x", namespaces: [{ ram: "lots" }] }] }),
 *   (e) => e instanceof ConfigError && e.path === "subsystems[0].namespaces[0].ram",
 * );
 * ```
 */
export function parseTargetConfig(json: unknown): TargetConfig {
  const parsed = parseWith(configSchema, json);
  const { maxTransferSize, associationParams, ...rest } = parsed.target;
  const target: TargetOptions = { ...rest };
  if (maxTransferSize !== undefined) target.maxTransferSize = Number(maxTransferSize);
  if (associationParams !== undefined) {
    target.associationParams = associationParams as Partial<AssociationParams>;
  }
  const config: TargetConfig = {
    target,
    ports: parsed.ports,
    subsystems: parsed.subsystems.map((s) => ({
      ...s,
      namespaces: s.namespaces.map((ns) => ({ ...ns })),
    })),
  };
  checkReferences(config);
  return config;
}

// ---------------------------------------------------------------------------------------------
// nvmetcli (nvmet/nvme.py: Root.dump(), attribute groups written as strings)

const attr = z.union([z.string(), z.number()]).transform((v) => String(v));

const nvmetNamespace = z.looseObject({
  nsid: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]),
  ana_grpid: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]).optional(),
  enable: z.union([z.number(), z.string()]).optional(),
  device: z.looseObject({
    path: z.string().optional(),
    uuid: z.string().optional(),
    nguid: z.string().optional(),
    eui64: z.string().optional(),
  }).optional(),
});

const nvmetSubsystem = z.looseObject({
  nqn,
  attr: z.looseObject({
    allow_any_host: attr.optional(),
    serial: attr.optional(),
    model: attr.optional(),
    firmware: attr.optional(),
    version: attr.optional(),
  }).optional(),
  allowed_hosts: z.array(z.string()).optional(),
  namespaces: z.array(nvmetNamespace).optional(),
  passthru: z.array(z.looseObject({ enable: z.union([z.number(), z.string()]).optional() }))
    .optional(),
});

const nvmetPort = z.looseObject({
  portid: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]),
  addr: z.looseObject({
    trtype: z.string().optional(),
    adrfam: z.string().optional(),
    traddr: z.string().optional(),
    trsvcid: attr.optional(),
    treq: z.string().optional(),
    tsas: z.string().optional(),
  }).optional(),
  param: z.looseObject({
    inline_data_size: attr.optional(),
    max_queue_size: attr.optional(),
  }).optional(),
  subsystems: z.array(z.string()).optional(),
  ana_groups: z.array(z.looseObject({
    grpid: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]),
    ana: z.looseObject({ state: z.string().optional() }).optional(),
  })).optional(),
});

// A host entry: nvmetcli dumps the configfs attributes dhchap_key, dhchap_ctrl_key, dhchap_hash
// and dhchap_dhgroup as the group "dhchap" ({ key, ctrl_key, hash, dhgroup }); the flat
// "attr": { dhchap_key, ... } form is read too. Anything else is refused (never ignored: a
// dropped key would admit the host without authentication).
const nvmetHost = z.object({
  nqn: z.string(),
  dhchap: z.record(z.string(), attr).optional(),
  attr: z.record(z.string(), attr).optional(),
}).strict();

const nvmetConfig = z.looseObject({
  hosts: z.array(nvmetHost).optional(),
  ports: z.array(nvmetPort).optional(),
  subsystems: z.array(nvmetSubsystem).optional(),
});

function enabled(value: number | string | undefined): boolean {
  return value === undefined || String(value) === "1";
}

const NVMET_DHCHAP: Record<string, keyof DhchapHostKeys> = {
  key: "key",
  ctrl_key: "ctrlKey",
  hash: "hash",
  dhgroup: "dhgroup",
};

/** The DH-HMAC-CHAP keys of nvmetcli's host entries, by host NQN; unknown fields refused. */
function nvmetcliHostKeys(
  hosts: { nqn: string; dhchap?: Record<string, string>; attr?: Record<string, string> }[],
): Map<string, DhchapHostKeys> {
  const out = new Map<string, DhchapHostKeys>();
  hosts.forEach((h, i) => {
    const fields: [string, string, string][] = [];
    for (const [k, v] of Object.entries(h.dhchap ?? {})) fields.push([`dhchap.${k}`, k, v]);
    for (const [k, v] of Object.entries(h.attr ?? {})) {
      if (!k.startsWith("dhchap_")) {
        throw new ConfigError(`hosts[${i}].attr.${k}`, "this host attribute is not supported");
      }
      fields.push([`attr.${k}`, k.slice("dhchap_".length), v]);
    }
    const keys: Partial<DhchapHostKeys> = {};
    for (const [where, name, value] of fields) {
      const field = NVMET_DHCHAP[name];
      if (field === undefined) {
        throw new ConfigError(`hosts[${i}].${where}`, "this host attribute is not supported");
      }
      if (value !== "") keys[field] = value;
    }
    if (keys.key === undefined) {
      if (keys.ctrlKey !== undefined) {
        throw new ConfigError(`hosts[${i}].dhchap`, "dhchap_ctrl_key needs dhchap_key");
      }
      return;
    }
    out.set(h.nqn, keys as DhchapHostKeys);
  });
  return out;
}

/**
 * Converts the JSON that Linux's `nvmetcli save` writes (/etc/nvmet/config.json) into a
 * {@linkcode TargetConfig}: subsystems with their attributes and allowed hosts; enabled
 * namespaces as file backends (`device.path`, with `uuid` and `nguid`; the block size follows
 * Linux: a block device's logical block size, 4096 for a regular file); ports of transport
 * `tcp` (and `loop`, served by our loopback transport) with their subsystems, in-capsule data
 * size and queue size; hosts' DH-HMAC-CHAP keys (`dhchap_key`, `dhchap_ctrl_key`, `dhchap_hash`,
 * `dhchap_dhgroup`), required by every subsystem. ANA groups, referrals and reservations are
 * ignored; any other host attribute is refused.
 *
 * @param json The parsed JSON.
 * @returns The configuration.
 * @throws {ConfigError} Naming the field that cannot be used (e.g. an RDMA port).
 * @example Usage
 * ```ts
 * import { parseNvmetcliConfig } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * const config = parseNvmetcliConfig({
 *   hosts: [],
 *   ports: [{
 *     addr: { adrfam: "ipv4", traddr: "192.168.122.33", treq: "not specified", trsvcid: "4420", trtype: "tcp" },
 *     param: { inline_data_size: "16384" }, portid: 1, referrals: [], subsystems: ["testnqn"],
 *   }],
 *   subsystems: [{
 *     allowed_hosts: [], attr: { allow_any_host: "1", serial: "123456789abcdef", model: "Linux", version: "1.3" },
 *     namespaces: [{ device: { nguid: "00000000-0000-0000-0000-000000000000", path: "/dev/nvme0n1", uuid: "d592cdf3-5d1c-44e0-8412-3fcf7d99df27" }, enable: 1, nsid: 1 }],
 *     nqn: "testnqn",
 *   }],
 * });
 * assert.equal(config.ports[0].trsvcid, "4420");
 * assert.equal(config.subsystems[0].namespaces[0].file, "/dev/nvme0n1");
 * ```
 */
export function parseNvmetcliConfig(json: unknown): TargetConfig {
  const parsed = parseWith(nvmetConfig, json);
  const subsystems: SubsystemConfig[] = [];
  (parsed.subsystems ?? []).forEach((s, i) => {
    const at = `subsystems[${i}]`;
    if ((s.passthru ?? []).some((p) => enabled(p.enable))) {
      throw new ConfigError(`${at}.passthru`, "passthru subsystems are not supported");
    }
    const a = s.attr ?? {};
    const sub: SubsystemConfig = { nqn: s.nqn, namespaces: [] };
    if (a.allow_any_host !== undefined) sub.allowAnyHost = a.allow_any_host === "1";
    else sub.allowAnyHost = (s.allowed_hosts ?? []).length === 0;
    if ((s.allowed_hosts ?? []).length > 0) sub.allowedHosts = [...s.allowed_hosts!];
    if (a.serial !== undefined && a.serial !== "") sub.serial = a.serial;
    if (a.model !== undefined && a.model !== "") sub.model = a.model;
    if (a.firmware !== undefined && a.firmware !== "") sub.firmware = a.firmware;
    if (a.version !== undefined) {
      const m = /^(\d+)\.(\d+)(?:\.\d+)?$/.exec(a.version);
      const version = m === null ? a.version : `${m[1]}.${m[2]}`;
      if (!["1.2", "1.3", "1.4", "2.0"].includes(version)) {
        throw new ConfigError(`${at}.attr.version`, `version ${a.version} is not supported`);
      }
      sub.version = version;
    }
    (s.namespaces ?? []).forEach((n, j) => {
      if (!enabled(n.enable)) return;
      const path = n.device?.path;
      if (path === undefined || path === "") {
        throw new ConfigError(`${at}.namespaces[${j}].device.path`, "required");
      }
      const ns: NamespaceConfig = { nsid: n.nsid, file: path };
      if (n.ana_grpid !== undefined) {
        if (n.ana_grpid < 1 || n.ana_grpid > ANA_GROUP_MAX) {
          throw new ConfigError(
            `${at}.namespaces[${j}].ana_grpid`,
            `${n.ana_grpid} is not 1 to ${ANA_GROUP_MAX}`,
          );
        }
        if (n.ana_grpid !== 1) ns.anagrpid = n.ana_grpid; // 1: the default, saved always
      }
      for (const key of ["uuid", "nguid", "eui64"] as const) {
        const value = n.device?.[key];
        if (value !== undefined && value !== "" && /[1-9a-f]/i.test(value)) ns[key] = value;
      }
      sub.namespaces.push(ns);
    });
    subsystems.push(sub);
  });
  const keys = nvmetcliHostKeys(parsed.hosts ?? []);
  // Stricter than Linux (which asks only linked hosts): a host with a key must authenticate to
  // every subsystem, so that allow_any_host never lets it in without.
  if (keys.size > 0) { for (const sub of subsystems) sub.dhchap = Object.fromEntries(keys); }
  const ports: PortConfig[] = [];
  (parsed.ports ?? []).forEach((p, i) => {
    const at = `ports[${i}]`;
    const addr = p.addr ?? {};
    const trtype = addr.trtype ?? "";
    let port: PortConfig;
    if (trtype === "tcp") {
      if (addr.traddr === undefined || addr.traddr === "") {
        throw new ConfigError(`${at}.addr.traddr`, "required for a tcp port");
      }
      port = { transport: "tcp", traddr: addr.traddr, trsvcid: addr.trsvcid || "4420" };
      if (addr.treq === "required") {
        throw new ConfigError(
          `${at}.addr.treq`,
          "a required secure channel (TLS) is not supported",
        );
      }
      if (addr.tsas !== undefined && addr.tsas !== "" && addr.tsas !== "none") {
        throw new ConfigError(`${at}.addr.tsas`, `${addr.tsas} (TLS) is not supported`);
      }
    } else if (trtype === "loop") {
      port = { transport: "loopback", traddr: addr.traddr || `nvmet-loop-${p.portid}` };
    } else {
      throw new ConfigError(
        `${at}.addr.trtype`,
        `transport ${JSON.stringify(trtype)} is not supported: use tcp or loop`,
      );
    }
    if (p.portid >= 1 && p.portid <= 65535) port.portid = p.portid;
    const params: Partial<AssociationParams> = {};
    const inline = Number(p.param?.inline_data_size ?? -1);
    if (Number.isInteger(inline) && inline >= 0) params.ioInCapsuleData = inline - (inline % 16);
    const queue = Number(p.param?.max_queue_size ?? -1);
    if (Number.isInteger(queue) && queue >= 2) params.maxIoQsize = Math.min(queue, 65536);
    if (Object.keys(params).length > 0) port.associationParams = params;
    port.subsystems = [...(p.subsystems ?? [])];
    // nvmetcli: "ana_groups": [{ "grpid": 1, "ana": { "state": "optimized" } }]
    (p.ana_groups ?? []).forEach((g, k) => {
      const where = `${at}.ana_groups[${k}]`;
      if (g.grpid < 1 || g.grpid > ANA_GROUP_MAX) {
        throw new ConfigError(`${where}.grpid`, `${g.grpid} is not 1 to ${ANA_GROUP_MAX}`);
      }
      const state = g.ana?.state ?? "optimized";
      try {
        anaStateValue(state);
      } catch (e) {
        throw new ConfigError(`${where}.ana.state`, (e as Error).message);
      }
      if (state === "optimized") return; // the default: nvmetcli saves group 1 so always
      (port.ana ??= []).push({ grpid: g.grpid, state: state.replace(/-/g, "_") as AnaStateName });
    });
    ports.push(port);
  });
  const config: TargetConfig = { target: {}, ports, subsystems };
  checkReferences(config);
  return config;
}

/**
 * Builds what a configuration describes on a target: opens the namespace backends, adds the
 * subsystems and listens on the ports. The target's own options (`config.target`) are for its
 * constructor. When a step fails, everything this call made is undone before the error is
 * thrown.
 *
 * @param target The target.
 * @param config A configuration from {@linkcode parseTargetConfig} or
 *   {@linkcode parseNvmetcliConfig}.
 * @returns The ports, in configuration order.
 * @throws {Error} When a file cannot be opened or a port cannot listen; the message names the
 *   configuration field.
 * @example Usage
 * ```ts
 * import { applyConfig, parseTargetConfig, Target } from "@nvmf/controller";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 * const config = parseTargetConfig({
 *   ports: [{ transport: "loopback", traddr: "apply-doc" }],
 *   subsystems: [{ nqn: "nqn.2026-01.dev.nvmf:apply", namespaces: [{ ram: "64M" }] }],
 * });
 * const target = new Target(config.target);
 * const ports = await applyConfig(target, config);
 * assert.equal(ports[0].address.traddr, "apply-doc");
 * assert.equal(target.subsystem("nqn.2026-01.dev.nvmf:apply")?.namespaces.length, 1);
 * await target.close();
 * ```
 */
export async function applyConfig(target: Target, config: TargetConfig): Promise<Port[]> {
  const backends: NamespaceBackend[] = [];
  const added: string[] = [];
  const ports: Port[] = [];
  try {
    for (let i = 0; i < config.subsystems.length; i++) {
      const s = config.subsystems[i];
      const namespaces: NamespaceOptions[] = [];
      for (let j = 0; j < s.namespaces.length; j++) {
        const ns = s.namespaces[j];
        const at = `subsystems[${i}].namespaces[${j}]`;
        let backend: NamespaceBackend;
        try {
          if (ns.ram !== undefined) {
            const ram = new RamBackend({ size: ns.ram, blockSize: ns.blockSize ?? 512 });
            if (ns.prefault === true) await ram.prefault();
            backend = ram;
          } else {
            backend = await FileBackend.open(ns.file!, {
              blockSize: ns.blockSize,
              readOnly: ns.readOnly,
            });
          }
        } catch (e) {
          throw new ConfigError(`${at}.${ns.ram !== undefined ? "ram" : "file"}`, message(e));
        }
        backends.push(backend);
        namespaces.push({
          nsid: ns.nsid,
          backend,
          anagrpid: ns.anagrpid,
          readOnly: ns.readOnly,
          nguid: ns.nguid,
          eui64: ns.eui64,
          uuid: ns.uuid,
        });
      }
      try {
        target.addSubsystem({ ...s, namespaces });
      } catch (e) {
        throw new ConfigError(`subsystems[${i}]`, message(e));
      }
      added.push(s.nqn);
    }
    for (let i = 0; i < config.ports.length; i++) {
      const p = config.ports[i];
      let port: Port;
      try {
        port = await target.listen(p.transport, { traddr: p.traddr, trsvcid: p.trsvcid }, {
          subsystems: p.subsystems,
          associationParams: p.associationParams,
          portid: p.portid,
        });
        ports.push(port);
      } catch (e) {
        throw new ConfigError(`ports[${i}]`, message(e));
      }
      for (const { grpid, state } of p.ana ?? []) {
        for (const sub of target.subsystems) {
          if (!port.exposes(sub.nqn)) continue;
          target.setAnaState({ nqn: sub.nqn, address: port.address, state, anagrpid: grpid });
        }
      }
    }
    return ports;
  } catch (e) {
    for (const port of ports) await port.close().catch(() => {});
    for (const nqn of added) await target.removeSubsystem(nqn).catch(() => {});
    for (const backend of backends) await backend.close?.().catch(() => {});
    throw e;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

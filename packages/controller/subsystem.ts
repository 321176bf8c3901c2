/**
 * Subsystems and namespaces: what a target serves. A {@linkcode Subsystem} has an NQN, the
 * identity strings its controllers report (serial, model, firmware revision), the hosts
 * allowed to connect, and {@linkcode Namespace}s, each a {@linkcode NamespaceBackend} with an
 * NSID, identifiers (NGUID, EUI-64, UUID) and a read-only flag.
 *
 * Subsystems are made by `Target.addSubsystem`; adding or removing a namespace tells every
 * live controller of the subsystem (a namespace-attribute-changed event and the Changed
 * Namespace List), and changing the allowed hosts changes the discovery log.
 *
 * @module
 */

import { DISCOVERY_NQN, NQN_MAX_LENGTH, NSID_BROADCAST, NvmeVersion, UUID_SIZE } from "@nvmf/proto";
import { type DhchapHostKeys, type DhchapHostSettings, parseDhchapHostKeys } from "./_auth.ts";
import { fromHex } from "./_bytes.ts";
import { ANA_DEFAULT_GROUP, AnaGroups, checkAnaGroup } from "./ana.ts";
import type { NamespaceBackend } from "./backend.ts";
import { NamespaceMetrics } from "./metrics.ts";
import { ReservationState } from "./reservation.ts";

/** How a namespace is added. */
export interface NamespaceOptions {
  /** NSID, 1 to the target's `maxNamespaces`; default the lowest free one. */
  nsid?: number;
  /** Where the blocks live. */
  backend: NamespaceBackend;
  /** NGUID: 16 bytes, or 32 hex digits (dashes allowed, as in a UUID). Default none. */
  nguid?: Uint8Array | string;
  /** EUI-64: 8 bytes, or 16 hex digits (dashes or colons allowed). Default none. */
  eui64?: Uint8Array | string;
  /** UUID: 16 bytes or the usual string form. Default a random (version 4) UUID. */
  uuid?: Uint8Array | string;
  /** Refuse writes; also true when the backend is read-only. */
  readOnly?: boolean;
  /** ANA group ID, 1 to 128. Default 1 (as Linux's nvmet). */
  anagrpid?: number;
}

/** I/O counters of a namespace, for the SMART / Health log. */
export interface NamespaceStats {
  /** Read, Compare and Verify commands completed. */
  readCommands: number;
  /** Write and Write Zeroes commands completed. */
  writeCommands: number;
  /** Bytes read by hosts. */
  bytesRead: number;
  /** Bytes written by hosts. */
  bytesWritten: number;
}

/**
 * A namespace of a subsystem, made by {@linkcode Subsystem.addNamespace}.
 *
 * @example Usage
 * ```ts
 * import { RamBackend, Target } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * const target = new Target();
 * const sub = target.addSubsystem({ nqn: "nqn.2026-01.dev.nvmf:ns-doc" });
 * const ns = sub.addNamespace({ backend: new RamBackend({ size: 1 << 20, blockSize: 4096 }) });
 * assert.equal(ns.nsid, 1);
 * assert.equal(ns.blocks, 256);
 * assert.equal(ns.uuid.length, 16);
 * await target.close();
 * ```
 */
export class Namespace {
  /** Namespace ID. */
  readonly nsid: number;
  /** The storage. */
  readonly backend: NamespaceBackend;
  /** NGUID, 16 bytes (all zero when none). */
  readonly nguid: Uint8Array;
  /** EUI-64, 8 bytes (all zero when none). */
  readonly eui64: Uint8Array;
  /** UUID, 16 bytes. */
  readonly uuid: Uint8Array;
  /** Whether writes are refused (reported as write protected). */
  readonly readOnly: boolean;
  /** ANA group ID. */
  readonly anagrpid: number;
  /** Logical block size in bytes. */
  readonly blockSize: number;
  /** Log2 of the block size (LBADS). */
  readonly blockShift: number;
  /** Size in blocks (NSZE), as a number. */
  readonly blocks: number;
  /** I/O metrics: commands, bytes, errors by status, latency (`--metrics` exposes them). */
  readonly metrics: NamespaceMetrics = new NamespaceMetrics();
  /** I/O counters. */
  readonly stats: NamespaceStats = {
    readCommands: 0,
    writeCommands: 0,
    bytesRead: 0,
    bytesWritten: 0,
  };
  /** Its reservation: registrants, holder, type (Base 8.19). */
  readonly reservation: ReservationState = new ReservationState();

  /**
   * Makes a namespace; {@linkcode Subsystem.addNamespace} is the way to add one.
   *
   * @param nsid Its NSID.
   * @param options Backend, identifiers, read-only.
   * @throws {RangeError} When the block size is not a power of two from 512, the backend holds
   *   less than one block, or an identifier is malformed.
   */
  constructor(nsid: number, options: NamespaceOptions) {
    const backend = options.backend;
    const blockSize = backend.blockSize;
    if (!Number.isInteger(blockSize) || blockSize < 512 || (blockSize & (blockSize - 1)) !== 0) {
      throw new RangeError(
        `Cannot add namespace ${nsid}: block size ${blockSize} is not a power of two from 512`,
      );
    }
    const blocks = backend.size / BigInt(blockSize);
    if (blocks < 1n) {
      throw new RangeError(
        `Cannot add namespace ${nsid}: ${backend.size} bytes is less than one block`,
      );
    }
    this.nsid = nsid;
    this.backend = backend;
    this.blockSize = blockSize;
    this.blockShift = Math.log2(blockSize);
    this.blocks = Number(blocks);
    this.readOnly = (options.readOnly ?? false) || (backend.readOnly ?? false);
    this.nguid = parseIdentifier(options.nguid, 16, "nguid") ?? new Uint8Array(16);
    this.eui64 = parseIdentifier(options.eui64, 8, "eui64") ?? new Uint8Array(8);
    this.uuid = parseIdentifier(options.uuid, UUID_SIZE, "uuid") ?? randomUuid();
    this.anagrpid = checkAnaGroup(options.anagrpid ?? ANA_DEFAULT_GROUP);
  }
}

/**
 * Parses a namespace identifier given as bytes or hex digits (separators `-` and `:` are
 * ignored). All-zero identifiers count as absent.
 *
 * @param value Bytes or a hex string.
 * @param size Expected byte count.
 * @param field Name for the error message.
 * @returns The bytes (a copy), or undefined when absent or all zero.
 * @throws {RangeError} When it has the wrong size or holds something other than hex digits.
 * @example Usage
 * ```ts
 * import { parseIdentifier } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseIdentifier("00:11:22:33:44:55:66:77", 8, "eui64"), Uint8Array.of(0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77));
 * assert.equal(parseIdentifier("00000000-0000-0000-0000-000000000000", 16, "nguid"), undefined);
 * ```
 */
export function parseIdentifier(
  value: Uint8Array | string | undefined,
  size: number,
  field: string,
): Uint8Array | undefined {
  if (value === undefined) return undefined;
  let bytes: Uint8Array;
  if (typeof value === "string") {
    const parsed = fromHex(value.replace(/[-:]/g, ""));
    if (parsed === undefined || parsed.length !== size) {
      throw new RangeError(
        `Cannot use ${field} ${JSON.stringify(value)}: expected ${size * 2} hex digits`,
      );
    }
    bytes = parsed;
  } else {
    if (value.length !== size) {
      throw new RangeError(`Cannot use ${field}: expected ${size} bytes, received ${value.length}`);
    }
    bytes = value.slice();
  }
  return bytes.some((b) => b !== 0) ? bytes : undefined;
}

function randomUuid(): Uint8Array {
  const bytes = new Uint8Array(UUID_SIZE);
  crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40; // RFC 9562 version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
  return bytes;
}

/** How a subsystem is added. */
export interface SubsystemOptions {
  /** The subsystem NQN (any name up to 223 bytes but the discovery NQN). */
  nqn: string;
  /** Serial number reported by Identify Controller (up to 20 ASCII characters). */
  serial?: string;
  /** Model number (up to 40 ASCII characters). */
  model?: string;
  /** Firmware revision (up to 8 ASCII characters). */
  firmware?: string;
  /** NVMe version its controllers report, `"1.3"`, `"1.4"` or `"2.0"` (default 1.3, as Linux). */
  version?: string;
  /** Let any host connect (default true unless `allowedHosts` is given). */
  allowAnyHost?: boolean;
  /** Host NQNs allowed to connect when not `allowAnyHost`. */
  allowedHosts?: readonly string[];
  /** Namespaces to add right away. */
  namespaces?: readonly NamespaceOptions[];
  /** DH-HMAC-CHAP keys by host NQN: such a host must authenticate on every queue. */
  dhchap?: Readonly<Record<string, DhchapHostKeys>>;
}

/** What a subsystem tells the target it belongs to. */
export interface SubsystemListener {
  /** A namespace was added or removed. */
  namespaceChanged(subsystem: Subsystem, nsid: number): void;
  /** The hosts allowed to connect changed. */
  hostsChanged(subsystem: Subsystem): void;
}

/** Limits and defaults a target gives its subsystems. */
export interface SubsystemDefaults {
  /** Serial number when none is given. */
  serial: string;
  /** Model number when none is given. */
  model: string;
  /** Firmware revision when none is given. */
  firmware: string;
  /** Largest NSID (Identify Controller NN). */
  maxNamespaces: number;
}

const VERSIONS: Readonly<Record<string, number>> = {
  "1.2": NvmeVersion.V1_2,
  "1.3": NvmeVersion.V1_3,
  "1.4": NvmeVersion.V1_4,
  "2.0": NvmeVersion.V2_0,
};

/**
 * Checks a subsystem or host NQN the way Linux's nvmet and FreeBSD's nvmfd do: a non-empty
 * name of at most 223 bytes of UTF-8 without NUL (stricter rules of NVMe Base 4.5 are not
 * enforced, so that configurations such as `testnqn` keep working).
 *
 * @param nqn The name.
 * @param field What it is, for the message.
 * @throws {RangeError} When it is empty, too long or holds a NUL.
 * @example Usage
 * ```ts
 * import { checkNqn } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * checkNqn("testnqn", "nqn");
 * assert.throws(() => checkNqn("", "nqn"), RangeError);
 * ```
 */
export function checkNqn(nqn: string, field: string): void {
  if (typeof nqn !== "string" || nqn.length === 0) {
    throw new RangeError(`Cannot use ${field} ${JSON.stringify(nqn)}: it is empty`);
  }
  const length = new TextEncoder().encode(nqn).length;
  if (length > NQN_MAX_LENGTH || nqn.includes("\0")) {
    throw new RangeError(
      `Cannot use ${field} ${
        JSON.stringify(nqn)
      }: it must be at most ${NQN_MAX_LENGTH} bytes without NUL`,
    );
  }
}

function checkAscii(value: string, max: number, field: string): string {
  if (!/^[\x20-\x7e]*$/.test(value) || value.length > max) {
    throw new RangeError(
      `Cannot use ${field} ${
        JSON.stringify(value)
      }: it must be at most ${max} printable ASCII characters`,
    );
  }
  return value;
}

/**
 * An NVM subsystem: identity, host access and namespaces. Made by `Target.addSubsystem`.
 *
 * @example Usage
 * ```ts
 * import { RamBackend, Target } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * const target = new Target();
 * const sub = target.addSubsystem({
 *   nqn: "nqn.2026-01.dev.nvmf:doc",
 *   allowedHosts: ["nqn.2026-01.dev.nvmf:host-a"],
 *   namespaces: [{ backend: new RamBackend({ size: 1 << 20 }) }],
 * });
 * assert.equal(sub.isHostAllowed("nqn.2026-01.dev.nvmf:host-a"), true);
 * assert.equal(sub.isHostAllowed("nqn.2026-01.dev.nvmf:host-b"), false);
 * assert.deepEqual(sub.namespaces.map((ns) => ns.nsid), [1]);
 * await target.close();
 * ```
 */
export class Subsystem {
  /** The subsystem NQN. */
  readonly nqn: string;
  /** Serial number. */
  readonly serial: string;
  /** Model number. */
  readonly model: string;
  /** Firmware revision. */
  readonly firmware: string;
  /** NVMe version its controllers report (VS and Identify VER). */
  readonly version: number;
  /** Metrics of I/O commands that named no active namespace (each fails Invalid Namespace). */
  readonly metrics: NamespaceMetrics = new NamespaceMetrics();
  /** ANA groups: each group's state on each port. */
  readonly ana: AnaGroups = new AnaGroups();
  readonly #listener: SubsystemListener | undefined;
  readonly #maxNamespaces: number;
  readonly #namespaces = new Map<number, Namespace>();
  readonly #allowedHosts = new Set<string>();
  readonly #dhchap = new Map<string, DhchapHostSettings>();
  #allowAnyHost: boolean;
  #sorted: Namespace[] | undefined;

  /**
   * Makes a subsystem; `Target.addSubsystem` is the way to add one.
   *
   * @param options NQN, identity, hosts, namespaces.
   * @param defaults The target's defaults and limits.
   * @param listener Told about namespace and host changes.
   * @throws {RangeError} When a field is malformed (the message names it).
   */
  constructor(
    options: SubsystemOptions,
    defaults: SubsystemDefaults,
    listener?: SubsystemListener,
  ) {
    checkNqn(options.nqn, "subsystem NQN");
    if (options.nqn === DISCOVERY_NQN) {
      throw new RangeError(`Cannot add subsystem ${options.nqn}: it is the discovery NQN`);
    }
    this.nqn = options.nqn;
    this.serial = checkAscii(options.serial ?? defaults.serial, 20, "serial");
    this.model = checkAscii(options.model ?? defaults.model, 40, "model");
    this.firmware = checkAscii(options.firmware ?? defaults.firmware, 8, "firmware");
    const version = VERSIONS[options.version ?? "1.3"];
    if (version === undefined) {
      throw new RangeError(
        `Cannot use version ${JSON.stringify(options.version)}: supported are ${
          Object.keys(VERSIONS).join(", ")
        }`,
      );
    }
    this.version = version;
    this.#maxNamespaces = defaults.maxNamespaces;
    for (const host of options.allowedHosts ?? []) {
      checkNqn(host, "allowed host NQN");
      this.#allowedHosts.add(host);
    }
    this.#allowAnyHost = options.allowAnyHost ?? this.#allowedHosts.size === 0;
    for (const [host, keys] of Object.entries(options.dhchap ?? {})) this.setHostDhchap(host, keys);
    for (const ns of options.namespaces ?? []) this.addNamespace(ns);
    this.#listener = listener;
  }

  /** Whether any host may connect. */
  get allowAnyHost(): boolean {
    return this.#allowAnyHost;
  }

  /** Lets any host connect (true) or only the allowed ones (false). */
  set allowAnyHost(value: boolean) {
    if (this.#allowAnyHost === value) return;
    this.#allowAnyHost = value;
    this.#listener?.hostsChanged(this);
  }

  /** The host NQNs allowed when not `allowAnyHost`. */
  get allowedHosts(): string[] {
    return [...this.#allowedHosts];
  }

  /**
   * Allows a host to connect.
   *
   * @param hostnqn The host NQN.
   */
  allowHost(hostnqn: string): void {
    checkNqn(hostnqn, "allowed host NQN");
    if (this.#allowedHosts.has(hostnqn)) return;
    this.#allowedHosts.add(hostnqn);
    this.#listener?.hostsChanged(this);
  }

  /**
   * Withdraws a host's permission to connect (its live controllers stay).
   *
   * @param hostnqn The host NQN.
   * @returns True when it was allowed.
   */
  disallowHost(hostnqn: string): boolean {
    if (!this.#allowedHosts.delete(hostnqn)) return false;
    this.#listener?.hostsChanged(this);
    return true;
  }

  /**
   * Requires DH-HMAC-CHAP from a host on every queue of its new controllers (or, with
   * `undefined`, no longer). The secrets are checked now; errors name the field, never the
   * secret.
   *
   * @param hostnqn The host NQN.
   * @param keys The host's key and options, or undefined to remove them.
   * @throws {RangeError} If the NQN or a field is malformed.
   */
  setHostDhchap(hostnqn: string, keys: DhchapHostKeys | undefined): void {
    checkNqn(hostnqn, "host NQN");
    if (keys === undefined) this.#dhchap.delete(hostnqn);
    else this.#dhchap.set(hostnqn, parseDhchapHostKeys(keys, hostnqn));
  }

  /**
   * A host's DH-HMAC-CHAP settings.
   *
   * @param hostnqn The host NQN.
   * @returns The settings, or undefined when the host need not authenticate.
   */
  hostDhchap(hostnqn: string): DhchapHostSettings | undefined {
    return this.#dhchap.get(hostnqn);
  }

  /** The host NQNs that must authenticate. */
  get dhchapHosts(): string[] {
    return [...this.#dhchap.keys()];
  }

  /**
   * Whether a host may connect.
   *
   * @param hostnqn The host NQN from the Connect data.
   * @returns True when allowed.
   */
  isHostAllowed(hostnqn: string): boolean {
    return this.#allowAnyHost || this.#allowedHosts.has(hostnqn);
  }

  /** The namespaces, by increasing NSID. */
  get namespaces(): readonly Namespace[] {
    this.#sorted ??= [...this.#namespaces.values()].sort((a, b) => a.nsid - b.nsid);
    return this.#sorted;
  }

  /** The largest NSID a namespace may have (Identify Controller NN). */
  get maxNamespaces(): number {
    return this.#maxNamespaces;
  }

  /**
   * The namespace with an NSID.
   *
   * @param nsid The NSID.
   * @returns It, or undefined when none is active.
   */
  namespace(nsid: number): Namespace | undefined {
    return this.#namespaces.get(nsid);
  }

  /**
   * Adds a namespace; live controllers get a namespace-attribute-changed event.
   *
   * @param options Backend, NSID, identifiers, read-only.
   * @returns The namespace.
   * @throws {RangeError} When the NSID is taken or out of range, or a field is malformed.
   */
  addNamespace(options: NamespaceOptions): Namespace {
    let nsid = options.nsid;
    if (nsid === undefined) {
      nsid = 1;
      while (this.#namespaces.has(nsid)) nsid++;
    }
    if (
      !Number.isInteger(nsid) || nsid < 1 || nsid > this.#maxNamespaces || nsid >= NSID_BROADCAST
    ) {
      throw new RangeError(
        `Cannot add namespace ${nsid} to ${this.nqn}: an NSID must be 1 to ${this.#maxNamespaces}`,
      );
    }
    if (this.#namespaces.has(nsid)) {
      throw new RangeError(`Cannot add namespace ${nsid} to ${this.nqn}: the NSID is taken`);
    }
    const ns = new Namespace(nsid, options);
    this.#namespaces.set(nsid, ns);
    this.#sorted = undefined;
    this.#listener?.namespaceChanged(this, nsid);
    return ns;
  }

  /**
   * Removes a namespace; live controllers get a namespace-attribute-changed event. Its backend
   * is not closed: that is the caller's (`ns.backend.close?.()`).
   *
   * @param nsid The NSID.
   * @returns The removed namespace, or undefined when there was none.
   */
  removeNamespace(nsid: number): Namespace | undefined {
    const ns = this.#namespaces.get(nsid);
    if (ns === undefined) return undefined;
    this.#namespaces.delete(nsid);
    this.#sorted = undefined;
    this.#listener?.namespaceChanged(this, nsid);
    return ns;
  }
}

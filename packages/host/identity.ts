/**
 * The host's identity: its NQN and its 128-bit Host Identifier (NVM Express Base 2.0, 4.5 and
 * 5.27.1.25), the HOSTNQN and HOSTID of every Connect.
 *
 * Like nvme-cli, a host that is not told its identity reads `/etc/nvme/hostnqn` and
 * `/etc/nvme/hostid`; failing those it uses its own pair under `$XDG_CONFIG_HOME/nvmf/`
 * (`~/.config/nvmf/`), created on first use, so that a controller sees the same host every
 * time. With `persist: false` nothing is read or written: what is missing is made up for this
 * run.
 *
 * @example Usage
 * ```ts
 * import { resolveHostIdentity } from "@nvmf/host";
 * import assert from "node:assert/strict";
 * const id = resolveHostIdentity({
 *   hostnqn: "nqn.2014-08.org.nvmexpress:uuid:00010203-0405-0607-0809-0a0b0c0d0e0f",
 *   persist: false,
 * });
 * assert.deepEqual(id.hostid, Uint8Array.from({ length: 16 }, (_, i) => i));
 * ```
 *
 * @module
 */

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  generateHostId,
  hostIdFromNqn,
  hostNqnFromId,
  UUID_SIZE,
  uuidFromString,
  uuidToString,
  validateNqn,
} from "@nvmf/proto";

/** A host NQN and Host Identifier. */
export interface HostIdentity {
  /** The host NQN. */
  hostnqn: string;
  /** The 16-byte Host Identifier. */
  hostid: Uint8Array;
}

/** Options of {@linkcode resolveHostIdentity}. */
export interface HostIdentityOptions {
  /** The host NQN to use. */
  hostnqn?: string;
  /** The Host Identifier to use: 16 bytes, or a UUID string. */
  hostid?: Uint8Array | string;
  /**
   * Whether to read the system's and the user's saved identity and save a new one (default
   * true). False touches no file.
   */
  persist?: boolean;
  /** Where the user's pair lives; `$XDG_CONFIG_HOME/nvmf` (or `~/.config/nvmf`) unless given. */
  configDir?: string;
  /** Where the system's pair lives, as nvme-cli keeps it; `/etc/nvme` unless given. */
  systemDir?: string;
}

/**
 * The directory holding the user's saved host identity: `$XDG_CONFIG_HOME/nvmf`, or
 * `~/.config/nvmf` when XDG_CONFIG_HOME is not set.
 *
 * @returns The path.
 * @example Usage
 * ```ts
 * import { defaultConfigDir } from "@nvmf/host";
 * import assert from "node:assert/strict";
 * assert.match(defaultConfigDir(), /nvmf$/);
 * ```
 */
export function defaultConfigDir(): string {
  const xdg = process.env.XDG_CONFIG_HOME;
  return join(xdg !== undefined && xdg !== "" ? xdg : join(homedir(), ".config"), "nvmf");
}

function readTrimmed(path: string): string | undefined {
  try {
    const text = readFileSync(path, "utf8").trim();
    return text === "" ? undefined : text;
  } catch {
    return undefined;
  }
}

function checkNqn(nqn: string, from: string): string {
  const reason = validateNqn(nqn);
  if (reason !== undefined) {
    throw new RangeError(`Cannot use host NQN ${JSON.stringify(nqn)} from ${from}: ${reason}`);
  }
  return nqn;
}

function parseHostId(value: Uint8Array | string, from: string): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== UUID_SIZE) {
      throw new RangeError(
        `Cannot use the host ID from ${from}: it must be ${UUID_SIZE} bytes, received ${value.length}`,
      );
    }
    return value.slice();
  }
  try {
    return uuidFromString(value.trim());
  } catch (e) {
    throw new RangeError(
      `Cannot use host ID ${JSON.stringify(value)} from ${from}: it is not a UUID`,
      { cause: e },
    );
  }
}

/**
 * Works out the host NQN and Host Identifier: the ones given, else (when persisting) the system's
 * (`/etc/nvme`), else the user's saved pair, else new ones, saved for next time. A missing Host
 * Identifier is taken from a host NQN of the UUID form when there is one, and a missing host NQN
 * is made from the Host Identifier (`nqn.2014-08.org.nvmexpress:uuid:<hostid>`).
 *
 * @param options What is known, and whether to use files.
 * @returns The identity.
 * @throws {RangeError} When a given or saved NQN or Host Identifier is malformed (the message
 * names where it came from).
 * @example Usage
 * ```ts
 * import { resolveHostIdentity } from "@nvmf/host";
 * import assert from "node:assert/strict";
 * const id = resolveHostIdentity({ persist: false });
 * assert.match(id.hostnqn, /^nqn\.2014-08\.org\.nvmexpress:uuid:/);
 * assert.equal(id.hostid.length, 16);
 * ```
 */
export function resolveHostIdentity(options: HostIdentityOptions = {}): HostIdentity {
  let hostnqn = options.hostnqn === undefined
    ? undefined
    : checkNqn(options.hostnqn, "the options");
  let hostid = options.hostid === undefined
    ? undefined
    : parseHostId(options.hostid, "the options");
  if (hostid === undefined && hostnqn !== undefined) hostid = hostIdFromNqn(hostnqn);
  if (options.persist === false) {
    hostid ??= generateHostId();
    hostnqn ??= hostNqnFromId(hostid);
    return { hostnqn, hostid };
  }
  const dirs = [options.systemDir ?? "/etc/nvme", options.configDir ?? defaultConfigDir()];
  for (const dir of dirs) {
    if (hostnqn !== undefined && hostid !== undefined) break;
    if (hostnqn === undefined) {
      const path = join(dir, "hostnqn");
      const text = readTrimmed(path);
      if (text !== undefined) hostnqn = checkNqn(text, path);
    }
    if (hostid === undefined) {
      const path = join(dir, "hostid");
      const text = readTrimmed(path);
      if (text !== undefined) hostid = parseHostId(text, path);
      else if (hostnqn !== undefined) hostid = hostIdFromNqn(hostnqn);
    }
  }
  if (hostnqn !== undefined && hostid !== undefined) return { hostnqn, hostid };
  hostid ??= generateHostId();
  hostnqn ??= hostNqnFromId(hostid);
  const dir = options.configDir ?? defaultConfigDir();
  // A read-only home or a file that appeared meanwhile is no error: this run's identity holds.
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    return { hostnqn, hostid };
  }
  for (const [name, text] of [["hostnqn", hostnqn], ["hostid", uuidToString(hostid)]]) {
    try {
      writeFileSync(join(dir, name), text + "\n", { flag: "wx" });
    } catch {
      // Kept as it is.
    }
  }
  return { hostnqn, hostid };
}

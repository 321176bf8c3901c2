/**
 * The host's identity: its NQN and its 128-bit Host Identifier (NVM Express Base 2.0, 4.5 and
 * 5.27.1.25), the HOSTNQN and HOSTID of every Connect.
 *
 * Two ways to get one, and only the second touches files:
 * - {@linkcode resolveHostIdentity} completes what it is given in memory: a missing Host
 *   Identifier comes from a host NQN of the UUID form, a missing host NQN from the Host
 *   Identifier, and whatever is still missing is made up. `connect()` does this; given neither,
 *   it uses one identity made up once per process.
 * - {@linkcode persistentHostIdentity} is what a tool calls to be the same host every time, as
 *   nvme-cli is: it reads `/etc/nvme/hostnqn` and `/etc/nvme/hostid`, failing those its own pair
 *   under `$XDG_CONFIG_HOME/nvmf/` (`~/.config/nvmf/`), and creates that pair on first use.
 *
 * @example Usage
 * ```ts
 * import { resolveHostIdentity } from "@nvmf/host";
 * import assert from "node:assert/strict";
 * const id = resolveHostIdentity({
 *   hostnqn: "nqn.2014-08.org.nvmexpress:uuid:00010203-0405-0607-0809-0a0b0c0d0e0f",
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

/** Options of {@linkcode resolveHostIdentity}: what is known of the identity. */
export interface HostIdentityOptions {
  /** The host NQN to use. */
  hostnqn?: string;
  /** The Host Identifier to use: 16 bytes, or a UUID string. */
  hostid?: Uint8Array | string;
}

/** Options of {@linkcode persistentHostIdentity}: what is known, and where the files are. */
export interface PersistentHostIdentityOptions extends HostIdentityOptions {
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
 * Completes a host identity in memory, touching no file: the NQN and Host Identifier given;
 * a missing Host Identifier taken from a host NQN of the UUID form (else made up), a missing
 * host NQN made from the Host Identifier (`nqn.2014-08.org.nvmexpress:uuid:<hostid>`). Given
 * neither, a new identity is made up on each call.
 *
 * @param options What is known.
 * @returns The identity.
 * @throws {RangeError} When the given NQN or Host Identifier is malformed.
 * @example Usage
 * ```ts
 * import { resolveHostIdentity } from "@nvmf/host";
 * import assert from "node:assert/strict";
 * const id = resolveHostIdentity();
 * assert.match(id.hostnqn, /^nqn\.2014-08\.org\.nvmexpress:uuid:/);
 * assert.equal(id.hostid.length, 16);
 * ```
 */
export function resolveHostIdentity(options: HostIdentityOptions = {}): HostIdentity {
  let { hostnqn, hostid } = given(options);
  hostid ??= generateHostId();
  hostnqn ??= hostNqnFromId(hostid);
  return { hostnqn, hostid };
}

let processIdentity: HostIdentity | undefined;

/**
 * The identity of a host that was given none: made up on first use, the same for the rest of
 * the process, kept in memory only. What `connect()` uses without `hostnqn` and `hostid`.
 *
 * @returns A copy of the identity.
 */
export function processHostIdentity(): HostIdentity {
  processIdentity ??= resolveHostIdentity();
  return { hostnqn: processIdentity.hostnqn, hostid: processIdentity.hostid.slice() };
}

function given(options: HostIdentityOptions): { hostnqn?: string; hostid?: Uint8Array } {
  const hostnqn = options.hostnqn === undefined
    ? undefined
    : checkNqn(options.hostnqn, "the options");
  let hostid = options.hostid === undefined
    ? undefined
    : parseHostId(options.hostid, "the options");
  if (hostid === undefined && hostnqn !== undefined) hostid = hostIdFromNqn(hostnqn);
  return { hostnqn, hostid };
}

/**
 * The identity a tool keeps across runs, as nvme-cli does: the NQN and Host Identifier given,
 * else the system's (`/etc/nvme/hostnqn`, `/etc/nvme/hostid`), else the user's saved pair
 * (`$XDG_CONFIG_HOME/nvmf/`), else new ones, which it saves there for next time (creating the
 * directory). A read-only home is no error: the new identity then holds for this run. A missing
 * Host Identifier is taken from a host NQN of the UUID form when there is one, and a missing host
 * NQN is made from the Host Identifier. The `nvmf` tool calls this; `connect()` never does.
 *
 * @param options What is known, and where the files are.
 * @returns The identity.
 * @throws {RangeError} When a given or saved NQN or Host Identifier is malformed (the message
 * names where it came from).
 * @example Usage
 * ```ts
 * import { persistentHostIdentity } from "@nvmf/host";
 * import assert from "node:assert/strict";
 * import { mkdtempSync, readFileSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const root = mkdtempSync(join(tmpdir(), "nvmf-identity-doc-"));
 * const dirs = { systemDir: join(root, "etc"), configDir: join(root, "config") };
 * const first = persistentHostIdentity(dirs);
 * assert.equal(readFileSync(join(dirs.configDir, "hostnqn"), "utf8"), first.hostnqn + "\n");
 * assert.equal(persistentHostIdentity(dirs).hostnqn, first.hostnqn);
 * rmSync(root, { recursive: true });
 * ```
 */
export function persistentHostIdentity(
  options: PersistentHostIdentityOptions = {},
): HostIdentity {
  let { hostnqn, hostid } = given(options);
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

/**
 * SPDK's file keyring over JSON-RPC, for DH-HMAC-CHAP: `keyring_file_add_key` names a file
 * holding a `DHHC-1:...` secret, `keyring_get_keys` lists names and paths (never a secret),
 * `keyring_file_remove_key` forgets a key no host uses, and the keys are named by
 * `nvmf_subsystem_add_host`'s `dhchap_key` / `dhchap_ctrlr_key` and `nvmf_subsystem_set_keys`,
 * which apply them with `Subsystem.setHostDhchap`.
 *
 * As SPDK's `keyring_file` module: the path must be absolute, and the file must belong to
 * the daemon's user and be readable by it alone (no group or other permission bits: mode
 * 0600 or 0400), else the call is refused; the file is read again each time a key is applied,
 * so a rotated secret takes effect with `nvmf_subsystem_set_keys`. Unlike SPDK, a key a host
 * uses cannot be removed (SPDK marks it removed and keeps it until released). The hash and DH
 * group of such a host are chosen by `nvmf_set_config`'s `dhchap_digests` / `dhchap_dhgroups`
 * (`Target.setDhchapPolicy`: the strongest allowed that the host offers, as SPDK); before that
 * call, Linux's defaults, `hmac(sha256)` and `null`.
 *
 * @example Usage
 * ```ts
 * import { keyringOf } from "@nvmf/cli/rpc-keyring";
 * import { Target } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * const target = new Target();
 * assert.deepEqual(keyringOf(target).list(), []);
 * await target.close();
 * ```
 *
 * @module
 */

import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import process from "node:process";
import { parseDhchapSecret } from "@nvmf/auth";
import type { Target } from "@nvmf/controller";

/** A key of the keyring: its name and the file holding the secret. */
export interface KeyringKey {
  /** The key's name. */
  name: string;
  /** The absolute path of the file holding it. */
  path: string;
}

/** The key names a host must authenticate with. */
export interface HostKeyNames {
  /** `dhchap_key`: the host's secret. */
  key: string;
  /** `dhchap_ctrlr_key`: the controller's secret, for bidirectional authentication. */
  ctrlrKey?: string;
}

/** The file keyring of a target, and the key names its hosts use. */
export class Keyring {
  readonly #keys = new Map<string, string>();
  readonly #hosts = new Map<string, HostKeyNames>();
  readonly #target: Target;

  /**
   * An empty keyring.
   *
   * @param target The target whose hosts use the keys.
   */
  constructor(target: Target) {
    this.#target = target;
  }

  /**
   * Adds a key, as `keyring_file_add_key`: the file must exist, be owned by this user, have
   * no group or other permission bits, and hold a well-formed secret.
   *
   * @param name The key's name.
   * @param path The file's absolute path.
   * @returns Settles when the key is added.
   * @throws {RangeError} If the name is taken or the file is refused (the message never
   * quotes the secret).
   */
  async add(name: string, path: string): Promise<void> {
    if (this.#keys.has(name)) throw new RangeError(`Cannot add key ${name}: it exists already`);
    await readSecret(name, path);
    this.#keys.set(name, path);
  }

  /**
   * Removes a key, as `keyring_file_remove_key`.
   *
   * @param name The key's name.
   * @throws {RangeError} If there is no such key, or a host uses it.
   */
  remove(name: string): void {
    if (!this.#keys.has(name)) throw new RangeError(`Cannot remove key ${name}: no such key`);
    const user = this.#users(name)[0];
    if (user !== undefined) {
      throw new RangeError(
        `Cannot remove key ${name}: host ${user.host} of ${user.nqn} uses it`,
      );
    }
    this.#keys.delete(name);
  }

  /**
   * The keys, by name.
   *
   * @returns Names and paths.
   */
  list(): KeyringKey[] {
    return [...this.#keys].map(([name, path]) => ({ name, path }));
  }

  /**
   * How many hosts use a key.
   *
   * @param name The key's name.
   * @returns The count.
   */
  users(name: string): number {
    return this.#users(name).length;
  }

  /**
   * Requires DH-HMAC-CHAP from a host with named keys (read now from their files), or with
   * `undefined` no longer.
   *
   * @param nqn The subsystem.
   * @param host The host NQN.
   * @param names The key names, or undefined.
   * @returns Settles when applied.
   * @throws {RangeError} If the subsystem or a key is missing or a file is refused.
   */
  async setHostKeys(nqn: string, host: string, names: HostKeyNames | undefined): Promise<void> {
    const sub = this.#target.subsystem(nqn);
    if (sub === undefined) throw new RangeError(`Unable to find subsystem with NQN ${nqn}`);
    if (names === undefined) {
      sub.setHostDhchap(host, undefined);
      this.#hosts.delete(hostId(nqn, host));
      return;
    }
    const key = await this.#read(names.key, "dhchap_key");
    const ctrlKey = names.ctrlrKey === undefined
      ? undefined
      : await this.#read(names.ctrlrKey, "dhchap_ctrlr_key");
    sub.setHostDhchap(host, { key, ctrlKey });
    this.#hosts.set(hostId(nqn, host), { ...names });
  }

  /**
   * The key names a host uses, if it was given keys from this keyring and still has them.
   *
   * @param nqn The subsystem.
   * @param host The host NQN.
   * @returns The names, or undefined.
   */
  hostKeys(nqn: string, host: string): HostKeyNames | undefined {
    const id = hostId(nqn, host);
    const names = this.#hosts.get(id);
    if (names === undefined) return undefined;
    const sub = this.#target.subsystem(nqn);
    if (
      sub === undefined || sub.hostDhchap(host) === undefined ||
      !sub.allowedHosts.includes(host)
    ) {
      this.#hosts.delete(id); // the host or its subsystem went
      return undefined;
    }
    return names;
  }

  #users(name: string): { nqn: string; host: string }[] {
    const out: { nqn: string; host: string }[] = [];
    for (const id of [...this.#hosts.keys()]) {
      const [nqn, host] = id.split("\0");
      const names = this.hostKeys(nqn, host);
      if (names?.key === name || names?.ctrlrKey === name) out.push({ nqn, host });
    }
    return out;
  }

  async #read(name: string, field: string): Promise<string> {
    const path = this.#keys.get(name);
    if (path === undefined) throw new RangeError(`Unable to find key ${name} (${field})`);
    return await readSecret(name, path);
  }
}

function hostId(nqn: string, host: string): string {
  return `${nqn}\0${host}`;
}

async function readSecret(name: string, path: string): Promise<string> {
  if (!path.startsWith("/")) {
    throw new RangeError(`Cannot add key ${name}: path ${path} is not absolute`);
  }
  const st = statSync(path); // ENOENT and the like are the caller's mistake
  if (!st.isFile()) throw new RangeError(`Cannot use key ${name}: ${path} is not a file`);
  const uid = process.getuid?.();
  if ((st.mode & 0o077) !== 0 || (uid !== undefined && st.uid !== uid)) {
    throw new RangeError(
      `Cannot use key ${name}: invalid permissions for key file ${path}: 0${
        (st.mode & 0o777).toString(8)
      } owned by uid ${st.uid} (it must be readable by its owner, this user, only)`,
    );
  }
  if (st.size > 4096) throw new RangeError(`Cannot use key ${name}: ${path} is too large`);
  const text = (await readFile(path, "utf8")).trim();
  parseDhchapSecret(text, `key ${name} (${path})`); // never quotes the secret
  return text;
}

const keyrings = new WeakMap<Target, Keyring>();

/**
 * The keyring of a target, made empty on first use.
 *
 * @param target The target.
 * @returns Its keyring.
 */
export function keyringOf(target: Target): Keyring {
  let k = keyrings.get(target);
  if (k === undefined) keyrings.set(target, k = new Keyring(target));
  return k;
}

/**
 * Named block devices: the backends a target's namespaces can be made from by name, as SPDK's
 * bdev layer names them (`Malloc0`, `AIO0`). A {@linkcode BdevRegistry} holds them: `malloc`
 * bdevs are RAM ({@linkcode RamBackend}), `aio` bdevs a regular file or block device
 * ({@linkcode FileBackend}). A bdev in use by a namespace cannot be deleted.
 *
 * @module
 */

import { FileBackend, type NamespaceBackend, RamBackend } from "./backend.ts";
import { parseIdentifier } from "./subsystem.ts";

/** The kinds of bdev: RAM or a file. */
export type BdevKind = "malloc" | "aio";

/** A named block device. */
export interface Bdev {
  /** Its unique name. */
  readonly name: string;
  /** RAM (`malloc`) or a file or block device (`aio`). */
  readonly kind: BdevKind;
  /** The storage. */
  readonly backend: NamespaceBackend;
  /** UUID, 16 bytes. */
  readonly uuid: Uint8Array;
  /** For `aio`: the path opened. */
  readonly filename?: string;
}

/** Options of {@linkcode BdevRegistry.createMalloc}. */
export interface MallocBdevOptions {
  /** Unique name. */
  name: string;
  /** Size in blocks. */
  numBlocks: number;
  /** Block size in bytes, a power of two from 512 (default 512). */
  blockSize?: number;
  /** UUID (default random). */
  uuid?: string;
}

/** Options of {@linkcode BdevRegistry.createAio}. */
export interface AioBdevOptions {
  /** Unique name. */
  name: string;
  /** Path of a regular file or block device. */
  filename: string;
  /** Block size in bytes (default: see `FileBackend.open`). */
  blockSize?: number;
  /** Open read-only. */
  readOnly?: boolean;
  /** UUID (default random). */
  uuid?: string;
}

const NAME_MAX = 255;

function checkName(name: string): void {
  if (typeof name !== "string" || name.length === 0 || name.length > NAME_MAX) {
    throw new RangeError(
      `Cannot use bdev name ${JSON.stringify(name)}: it must be 1 to ${NAME_MAX} characters`,
    );
  }
}

function newUuid(given: string | undefined): Uint8Array {
  const parsed = parseIdentifier(given, 16, "uuid");
  if (parsed !== undefined) return parsed;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40; // RFC 9562 version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  return bytes;
}

/**
 * Named block devices of a target (`target.bdevs`).
 *
 * @example Usage
 * ```ts
 * import { BdevRegistry } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * const bdevs = new BdevRegistry();
 * const bdev = bdevs.createMalloc({ name: "Malloc0", numBlocks: 2048, blockSize: 512 });
 * assert.equal(bdev.backend.size, 1048576n);
 * assert.equal(bdevs.get("Malloc0"), bdev);
 * await bdevs.delete("Malloc0");
 * assert.equal(bdevs.list().length, 0);
 * ```
 */
export class BdevRegistry {
  readonly #bdevs = new Map<string, Bdev>();
  readonly #inUse: (backend: NamespaceBackend) => string | undefined;

  /**
   * Makes an empty registry.
   *
   * @param inUse Tells who uses a backend (for refusing deletes), undefined when nobody.
   */
  constructor(inUse: (backend: NamespaceBackend) => string | undefined = () => undefined) {
    this.#inUse = inUse;
  }

  /**
   * The bdev with a name.
   *
   * @param name Its name.
   * @returns It, or undefined.
   */
  get(name: string): Bdev | undefined {
    return this.#bdevs.get(name);
  }

  /**
   * The bdevs, in the order they were made.
   *
   * @returns The list.
   */
  list(): Bdev[] {
    return [...this.#bdevs.values()];
  }

  /**
   * The bdev whose backend this is.
   *
   * @param backend A namespace's backend.
   * @returns The bdev, or undefined when the backend was not made here.
   */
  byBackend(backend: NamespaceBackend): Bdev | undefined {
    for (const bdev of this.#bdevs.values()) if (bdev.backend === backend) return bdev;
    return undefined;
  }

  /**
   * Makes a RAM bdev (sparse: only written blocks take memory).
   *
   * @param options Name, size, block size, UUID.
   * @returns The bdev.
   * @throws {RangeError} When the name is taken or a field is out of range.
   */
  createMalloc(options: MallocBdevOptions): Bdev {
    checkName(options.name);
    if (this.#bdevs.has(options.name)) {
      throw new RangeError(`Cannot create bdev ${options.name}: the name is taken`);
    }
    const blockSize = options.blockSize ?? 512;
    if (!Number.isSafeInteger(options.numBlocks) || options.numBlocks < 1) {
      throw new RangeError(
        `Cannot create bdev ${options.name}: num_blocks ${options.numBlocks} is not a positive integer`,
      );
    }
    const uuid = newUuid(options.uuid);
    const backend = new RamBackend({
      size: BigInt(options.numBlocks) * BigInt(blockSize),
      blockSize,
    });
    const bdev: Bdev = { name: options.name, kind: "malloc", backend, uuid };
    this.#bdevs.set(bdev.name, bdev);
    return bdev;
  }

  /**
   * Opens a file or block device as a bdev.
   *
   * @param options Name, path, block size, read-only, UUID.
   * @returns The bdev.
   * @throws {RangeError} When the name is taken or a field is out of range.
   * @throws {Error} When the file cannot be opened.
   */
  async createAio(options: AioBdevOptions): Promise<Bdev> {
    checkName(options.name);
    if (this.#bdevs.has(options.name)) {
      throw new RangeError(`Cannot create bdev ${options.name}: the name is taken`);
    }
    const uuid = newUuid(options.uuid);
    const backend = await FileBackend.open(options.filename, {
      blockSize: options.blockSize,
      readOnly: options.readOnly,
    });
    if (this.#bdevs.has(options.name)) { // made meanwhile
      await backend.close();
      throw new RangeError(`Cannot create bdev ${options.name}: the name is taken`);
    }
    const bdev: Bdev = {
      name: options.name,
      kind: "aio",
      backend,
      uuid,
      filename: options.filename,
    };
    this.#bdevs.set(bdev.name, bdev);
    return bdev;
  }

  /**
   * Deletes a bdev and closes its backend.
   *
   * @param name Its name.
   * @param kind When given, the bdev must be of this kind.
   * @returns Settles when closed.
   * @throws {RangeError} When there is no such bdev (of that kind) or a namespace uses it.
   */
  async delete(name: string, kind?: BdevKind): Promise<void> {
    const bdev = this.#bdevs.get(name);
    if (bdev === undefined || (kind !== undefined && bdev.kind !== kind)) {
      throw new RangeError(
        `Cannot delete bdev ${name}: no ${kind ?? ""}${kind ? " " : ""}bdev has that name`,
      );
    }
    const user = this.#inUse(bdev.backend);
    if (user !== undefined) {
      throw new RangeError(
        `Cannot delete bdev ${name}: it is namespace ${user}; remove that first`,
      );
    }
    this.#bdevs.delete(name);
    await bdev.backend.close?.();
  }

  /**
   * Closes every bdev's backend and forgets them (the target does when it closes).
   *
   * @returns Settles when closed.
   */
  async close(): Promise<void> {
    const all = [...this.#bdevs.values()];
    this.#bdevs.clear();
    for (const bdev of all) await bdev.backend.close?.().catch(() => {});
  }
}

/**
 * Native multipath, as Linux's `drivers/nvme/host/multipath.c`: one subsystem reached through
 * several ports (one controller per path) used as one. {@linkcode connectMultipath} connects
 * every path and checks they are the same subsystem; {@linkcode MultipathSubsystem.namespace}
 * gives a {@linkcode MultipathNamespace} whose I/O goes where the namespace's ANA group is
 * optimized (round robin among those), else non-optimized.
 *
 * Each path's ANA log page (LID 0Ch) is read at connect, on every ANA change event, after a
 * reconnect, and after a path status. A command that fails with a path status (SCT 3: ANA
 * inaccessible, persistent loss, transition), on a broken connection or by timing out is sent
 * again on another path without the caller seeing it; when no path is usable (every group
 * changing, every connection reconnecting), I/O waits up to ANATT (Identify Controller, at
 * least `noPathTimeout`) for one, as Linux requeues it. Errors of the command itself (an LBA
 * out of range, a media error) surface at once.
 *
 * @example Usage
 * ```ts
 * import { connectMultipath } from "@nvmf/host";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import "@nvmf/transport-loopback";
 * import assert from "node:assert/strict";
 * const target = new Target();
 * const subnqn = "nqn.2026-01.example:mpath-doc";
 * target.addSubsystem({ nqn: subnqn, namespaces: [{ backend: new RamBackend({ size: 1 << 20 }) }] });
 * await target.listen("loopback", { traddr: "mp-a" });
 * await target.listen("loopback", { traddr: "mp-b" });
 * const sub = await connectMultipath({
 *   transport: "loopback",
 *   paths: [{ traddr: "mp-a" }, { traddr: "mp-b" }],
 *   subnqn,
 * });
 * const ns = await sub.namespace(1);
 * await ns.write(0, new Uint8Array(512).fill(7));
 * assert.equal((await ns.read(0, 1))[0], 7);
 * assert.deepEqual(sub.paths.map((p) => p.anaState(ns.anagrpid)), ["optimized", "optimized"]);
 * await sub.close();
 * await target.close();
 * ```
 *
 * @module
 */

import {
  AnaState,
  AsyncEventNotice,
  AsyncEventType,
  blockSize as lbaBlockSize,
  Cmic,
  decodeAnaLog,
  encodeSqe,
  type IdentifyNamespace,
  LogPageId,
  NvmeStatusError,
  NvmOpcode,
  PathStatus,
  RwControl,
  StatusCodeType,
} from "@nvmf/proto";
import type { DataDirection, TransportAddress } from "@nvmf/transport";
import { connect } from "./connect.ts";
import type { HostController } from "./controller.ts";
import type { ConnectOptions } from "./options.ts";

/** ANA states by name, as `nvme list-subsys` prints them. */
export type PathAnaState =
  | "optimized"
  | "non-optimized"
  | "inaccessible"
  | "persistent-loss"
  | "change"
  | "unknown";

const STATE_NAMES: Readonly<Record<number, PathAnaState>> = {
  [AnaState.OPTIMIZED]: "optimized",
  [AnaState.NON_OPTIMIZED]: "non-optimized",
  [AnaState.INACCESSIBLE]: "inaccessible",
  [AnaState.PERSISTENT_LOSS]: "persistent-loss",
  [AnaState.CHANGE]: "change",
};

/** Options of {@linkcode connectMultipath}: those of `connect`, with several addresses. */
export interface MultipathOptions extends Omit<ConnectOptions, "address"> {
  /** One address per path (port) of the subsystem. */
  paths: TransportAddress[];
  /**
   * Ms an I/O waits for a usable path when there is none, at least (ANATT applies when
   * longer). Default 10000.
   */
  noPathTimeout?: number;
}

/** How long to wait between looks for a usable path, ms. */
const NO_PATH_POLL_MS = 50;
/** Most blocks one command carries (NLB is 16 bits, 0's based). */
const NLB_MAX = 0x10000;

/** One path: a controller of the subsystem through one port, and its ANA states. */
export class MultipathPath {
  /** The address it was connected at. */
  readonly address: TransportAddress;
  /** The controller; undefined when the path never connected. */
  readonly controller: HostController | undefined;
  /** Why the path did not connect, when it did not. */
  readonly error: Error | undefined;
  #groups = new Map<number, number>();
  #changeCount = -1n;
  #refreshing: Promise<void> | undefined;
  #again = false;

  /**
   * Made by {@linkcode connectMultipath}.
   *
   * @param address Where the path leads.
   * @param controller Its controller, when it connected.
   * @param error Why it did not connect, when it did not.
   */
  constructor(address: TransportAddress, controller?: HostController, error?: Error) {
    this.address = address;
    this.controller = controller;
    this.error = error;
  }

  /** Its controller's state (`"live"`, `"reconnecting"`, ...), or `"unconnected"`. */
  get state(): string {
    return this.controller?.state ?? "unconnected";
  }

  /** True when commands can be sent now. */
  get live(): boolean {
    return this.controller?.state === "live";
  }

  /** Controller ID of the path's controller (-1 when unconnected). */
  get cntlid(): number {
    return this.live || this.controller?.state === "reconnecting" ? this.controller!.cntlid : -1;
  }

  /** Change count of the ANA log page last read (-1 before the first). */
  get anaChangeCount(): bigint {
    return this.#changeCount;
  }

  /**
   * The ANA state of a group on this path, as last read.
   *
   * @param grpid The ANA group ID (0: the controller does not report ANA).
   * @returns Its name.
   */
  anaState(grpid: number): PathAnaState {
    if (grpid === 0) return this.controller === undefined ? "unknown" : "optimized";
    return STATE_NAMES[this.#groups.get(grpid) ?? -1] ?? "unknown";
  }

  /**
   * The raw state of a group on this path.
   *
   * @param grpid The ANA group ID (0: no ANA).
   * @returns An `AnaState` value (OPTIMIZED without ANA), 0 when unknown.
   */
  stateOf(grpid: number): number {
    if (grpid === 0) return AnaState.OPTIMIZED;
    return this.#groups.get(grpid) ?? 0;
  }

  /**
   * Records what a path status says of a group until the log is read again.
   *
   * @param grpid The ANA group ID.
   * @param sc The path-related status code (SCT 3).
   */
  noteStatus(grpid: number, sc: number): void {
    if (grpid === 0) return;
    const state = sc === PathStatus.ASYMMETRIC_ACCESS_INACCESSIBLE
      ? AnaState.INACCESSIBLE
      : sc === PathStatus.ASYMMETRIC_ACCESS_PERSISTENT_LOSS
      ? AnaState.PERSISTENT_LOSS
      : AnaState.CHANGE;
    this.#groups.set(grpid, state);
  }

  /**
   * Reads the ANA log page again (one read at a time; a request during a read reads again
   * after it).
   *
   * @returns Settles when the states are current; never rejects (a failed read keeps the old
   *   states).
   */
  refresh(): Promise<void> {
    if (this.#refreshing !== undefined) {
      this.#again = true;
      return this.#refreshing;
    }
    this.#refreshing = this.#read().finally(() => {
      this.#refreshing = undefined;
      if (this.#again) {
        this.#again = false;
        void this.refresh();
      }
    });
    return this.#refreshing;
  }

  async #read(): Promise<void> {
    const ctrl = this.controller;
    if (ctrl === undefined || !this.live) return;
    const cdata = ctrl.cdata;
    if ((cdata.cmic & Cmic.ANA) === 0) return;
    // As Linux's nvme_mpath_init_identify: the header, NANAGRPID descriptors, MNAN NSIDs.
    const nsids = cdata.mnan || cdata.nn;
    let length = 16 + cdata.nanagrpid * 32 + nsids * 4;
    length = Math.min(length, ctrl.maxTransferSize) & ~3;
    try {
      const log = decodeAnaLog(
        await ctrl.getLogPage(LogPageId.ASYMMETRIC_NAMESPACE_ACCESS, { length }),
      );
      const groups = new Map<number, number>();
      for (const g of log.groups) groups.set(g.grpid, g.state);
      this.#groups = groups;
      this.#changeCount = log.changeCount;
    } catch {
      // The path went down meanwhile: its reconnect reads the log again.
    }
  }
}

/** What `nvme list-subsys` shows of a path. */
export interface PathDescription {
  /** Transport address. */
  traddr: string;
  /** Service ID. */
  trsvcid: string | undefined;
  /** Controller ID. */
  cntlid: number;
  /** Controller state: live, reconnecting, ... */
  state: string;
  /** ANA state of the namespace's group (or of group 1 when no namespace is given). */
  anaState: PathAnaState;
}

/**
 * A subsystem reached through several paths. Made by {@linkcode connectMultipath}.
 */
export class MultipathSubsystem {
  /** The subsystem NQN. */
  readonly subnqn: string;
  /** The paths, in the order given. */
  readonly paths: readonly MultipathPath[];
  readonly #noPathTimeout: number;
  readonly #offs: (() => void)[] = [];
  #rr = 0;
  #closed = false;

  /**
   * Made by {@linkcode connectMultipath}.
   *
   * @param subnqn The subsystem NQN.
   * @param paths The paths.
   * @param noPathTimeout Ms to wait for a usable path, at least.
   */
  constructor(subnqn: string, paths: MultipathPath[], noPathTimeout: number) {
    this.subnqn = subnqn;
    this.paths = paths;
    this.#noPathTimeout = noPathTimeout;
    for (const path of paths) {
      const ctrl = path.controller;
      if (ctrl === undefined) continue;
      this.#offs.push(
        ctrl.on("aen", ({ event }) => {
          if (
            event.eventType === AsyncEventType.NOTICE &&
            event.eventInfo === AsyncEventNotice.ANA_CHANGE
          ) void path.refresh();
        }),
        ctrl.on("reconnected", () => void path.refresh()),
      );
    }
  }

  /** Model, serial and firmware as the first live path's controller reports them. */
  get identity(): { model: string; serial: string; firmware: string } | undefined {
    const ctrl = this.paths.find((p) => p.live)?.controller;
    if (ctrl === undefined) return undefined;
    return { model: ctrl.cdata.mn, serial: ctrl.cdata.sn, firmware: ctrl.cdata.fr };
  }

  /**
   * The paths as `nvme list-subsys` lists them.
   *
   * @param grpid The ANA group to show the state of (default 1).
   * @returns One entry per path.
   */
  describe(grpid = 1): PathDescription[] {
    return this.paths.map((p) => ({
      traddr: p.address.traddr,
      trsvcid: p.address.trsvcid,
      cntlid: p.cntlid,
      state: p.state,
      anaState: p.live ? p.anaState(grpid) : "unknown",
    }));
  }

  /**
   * Reads every live path's ANA log page again.
   *
   * @returns Settles when done.
   */
  async refresh(): Promise<void> {
    await Promise.all(this.paths.map((p) => p.refresh()));
  }

  /**
   * A namespace of the subsystem, for I/O over every path.
   *
   * @param nsid The NSID.
   * @returns The namespace.
   * @throws {RangeError} When no live path has an active namespace with that NSID.
   */
  async namespace(nsid: number): Promise<MultipathNamespace> {
    let last: unknown;
    for (const path of this.paths) {
      if (!path.live) continue;
      try {
        const info = await path.controller!.identifyNamespace(nsid);
        if (info.nsze === 0n) break;
        return new MultipathNamespace(this, nsid, info);
      } catch (e) {
        last = e;
      }
    }
    throw new RangeError(`Cannot use namespace ${nsid} of ${this.subnqn}: no path has it`, {
      cause: last,
    });
  }

  /**
   * Closes every path. Idempotent.
   *
   * @returns Settles when every controller is closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#offs.splice(0)) off();
    await Promise.all(this.paths.map((p) => p.controller?.close().catch(() => {})));
  }

  /**
   * The path for I/O to a group now: a live one where it is optimized (round robin), else
   * where it is non-optimized.
   *
   * @param grpid The ANA group ID.
   * @returns The path, or undefined when none is usable.
   */
  pick(grpid: number): MultipathPath | undefined {
    const n = this.paths.length;
    let fallback: MultipathPath | undefined;
    const start = this.#rr;
    this.#rr = (start + 1) % n;
    for (let i = 0; i < n; i++) {
      const path = this.paths[(start + i) % n];
      if (!path.live) continue;
      const state = path.stateOf(grpid);
      if (state === AnaState.OPTIMIZED) return path;
      if (state === AnaState.NON_OPTIMIZED) fallback ??= path;
    }
    return fallback;
  }

  /**
   * Sends one command, failing over as Linux's multipath does; see the module doc.
   *
   * @param grpid The namespace's ANA group.
   * @param sqe The SQE.
   * @param data Its data.
   * @param direction Which way.
   * @returns The CQE.
   */
  async submit(
    grpid: number,
    sqe: Uint8Array,
    data: Uint8Array | undefined,
    direction: DataDirection | undefined,
  ): Promise<Uint8Array> {
    let waitedSince: number | undefined;
    let last: unknown;
    for (;;) {
      if (this.#closed) throw new TypeError(`Cannot send I/O to ${this.subnqn}: it is closed`);
      const path = this.pick(grpid);
      if (path === undefined) {
        const now = performance.now();
        waitedSince ??= now;
        if (now - waitedSince > this.#waitLimit()) {
          throw new Error(
            `Cannot send I/O to ${this.subnqn}: no usable path within ${
              Math.round(now - waitedSince)
            } ms`,
            { cause: last },
          );
        }
        // Look again: ANA logs may have changed without an event reaching us yet.
        await Promise.all([
          new Promise((r) => setTimeout(r, NO_PATH_POLL_MS)),
          this.refresh(),
        ]);
        continue;
      }
      try {
        return await path.controller!.ioCommand(sqe, data, direction);
      } catch (e) {
        last = e;
        if (e instanceof NvmeStatusError) {
          if (e.sct !== StatusCodeType.PATH_RELATED) throw e; // the command's own error
          path.noteStatus(grpid, e.sc);
          void path.refresh();
          continue;
        }
        if (e instanceof RangeError || e instanceof TypeError) throw e;
        // The connection broke, the command timed out, or the controller was given up: the
        // path's controller reconnects by itself; try another path.
        continue;
      }
    }
  }

  #waitLimit(): number {
    let anatt = 0;
    for (const p of this.paths) {
      if (p.live) anatt = Math.max(anatt, p.controller!.cdata.anatt * 1000);
    }
    return Math.max(anatt, this.#noPathTimeout);
  }
}

/** A namespace over every path of a {@linkcode MultipathSubsystem}. */
export class MultipathNamespace {
  /** The subsystem. */
  readonly subsystem: MultipathSubsystem;
  /** NSID. */
  readonly nsid: number;
  /** Identify Namespace as read when the handle was made. */
  readonly info: IdentifyNamespace;
  /** ANA group ID (0 when the controller does not report ANA). */
  readonly anagrpid: number;
  /** Logical block size in bytes. */
  readonly blockSize: number;
  /** Capacity in blocks. */
  readonly blocks: number;
  readonly #maxBlocks: number;

  /**
   * Made by {@linkcode MultipathSubsystem.namespace}.
   *
   * @param subsystem The subsystem.
   * @param nsid The NSID.
   * @param info Its Identify Namespace data.
   */
  constructor(subsystem: MultipathSubsystem, nsid: number, info: IdentifyNamespace) {
    this.subsystem = subsystem;
    this.nsid = nsid;
    this.info = info;
    this.anagrpid = info.anagrpid;
    this.blockSize = lbaBlockSize(info);
    this.blocks = Number(info.nsze);
    let mdts = Infinity;
    for (const p of subsystem.paths) {
      if (p.controller !== undefined && p.controller.state !== "closed") {
        try {
          mdts = Math.min(mdts, p.controller.maxTransferSize);
        } catch {
          // not live now
        }
      }
    }
    const fit = Math.floor((Number.isFinite(mdts) ? mdts : 1 << 20) / this.blockSize);
    this.#maxBlocks = Math.max(1, Math.min(NLB_MAX, fit));
  }

  #check(what: string, lba: number, blocks: number): void {
    if (!Number.isSafeInteger(lba) || lba < 0 || !Number.isInteger(blocks) || blocks < 1) {
      throw new RangeError(`Cannot ${what} ${blocks} blocks at LBA ${lba}: not a valid range`);
    }
    if (lba + blocks > this.blocks) {
      throw new RangeError(
        `Cannot ${what} blocks ${lba} to ${
          lba + blocks - 1
        }: namespace ${this.nsid} has ${this.blocks}`,
      );
    }
  }

  #rw(opcode: number, lba: number, blocks: number, data: Uint8Array, fua: boolean) {
    const parts: Promise<Uint8Array>[] = [];
    const direction: DataDirection = opcode === NvmOpcode.READ
      ? "controller-to-host"
      : "host-to-controller";
    for (let done = 0; done < blocks; done += this.#maxBlocks) {
      const n = Math.min(this.#maxBlocks, blocks - done);
      const at = lba + done;
      const sqe = encodeSqe({
        opcode,
        nsid: this.nsid,
        cdw10: at % 0x100000000,
        cdw11: Math.floor(at / 0x100000000),
        cdw12: ((n - 1) | (fua ? RwControl.FUA : 0)) >>> 0,
      });
      const buf = data.subarray(done * this.blockSize, (done + n) * this.blockSize);
      parts.push(this.subsystem.submit(this.anagrpid, sqe, buf, direction));
    }
    return Promise.all(parts);
  }

  /**
   * Reads blocks through the best path.
   *
   * @param lba The first LBA.
   * @param blocks How many.
   * @returns The data.
   */
  async read(lba: number, blocks: number): Promise<Uint8Array> {
    this.#check("read", lba, blocks);
    const data = new Uint8Array(blocks * this.blockSize);
    await this.#rw(NvmOpcode.READ, lba, blocks, data, false);
    return data;
  }

  /**
   * Writes whole blocks through the best path.
   *
   * @param lba The first LBA.
   * @param data Whole blocks.
   * @param options FUA.
   * @returns Settles when written.
   */
  async write(lba: number, data: Uint8Array, options: { fua?: boolean } = {}): Promise<void> {
    if (data.length === 0 || data.length % this.blockSize !== 0) {
      throw new RangeError(
        `Cannot write ${data.length} bytes: not a whole number of ${this.blockSize}-byte blocks`,
      );
    }
    this.#check("write", lba, data.length / this.blockSize);
    await this.#rw(NvmOpcode.WRITE, lba, data.length / this.blockSize, data, options.fua ?? false);
  }

  /**
   * Flushes the volatile write cache through the best path.
   *
   * @returns Settles when flushed.
   */
  async flush(): Promise<void> {
    await this.subsystem.submit(
      this.anagrpid,
      encodeSqe({ opcode: NvmOpcode.FLUSH, nsid: this.nsid }),
      undefined,
      undefined,
    );
  }
}

/**
 * Connects every path of a subsystem and makes one {@linkcode MultipathSubsystem} of them.
 * Paths that do not connect are kept (their `error` says why) as long as one does.
 *
 * @param options Those of `connect`, with `paths` instead of `address`.
 * @returns The subsystem.
 * @throws {Error} When no path connects (with every path's error), or the paths are not one
 *   subsystem (another SUBNQN, or a controller that does not say it shares the subsystem).
 */
export async function connectMultipath(options: MultipathOptions): Promise<MultipathSubsystem> {
  const { paths: addresses, noPathTimeout, ...rest } = options;
  if (addresses.length === 0) {
    throw new RangeError("Cannot connect a multipath subsystem: no paths");
  }
  const settled = await Promise.allSettled(
    addresses.map((address) => connect({ ...rest, address })),
  );
  const paths = settled.map((r, i) =>
    r.status === "fulfilled"
      ? new MultipathPath(addresses[i], r.value)
      : new MultipathPath(addresses[i], undefined, r.reason as Error)
  );
  const live = paths.filter((p) => p.controller !== undefined);
  const fail = async (message: string): Promise<never> => {
    await Promise.all(live.map((p) => p.controller!.close().catch(() => {})));
    throw new Error(message, { cause: paths.map((p) => p.error).filter(Boolean) });
  };
  if (live.length === 0) {
    return fail(
      `Cannot connect ${options.subnqn} through any of its ${addresses.length} paths: ${
        paths.map((p) => p.error?.message).join("; ")
      }`,
    );
  }
  for (const p of live) {
    const cdata = p.controller!.cdata;
    if (cdata.subnqn !== "" && cdata.subnqn !== options.subnqn) {
      return fail(
        `Cannot use ${p.address.traddr} as a path of ${options.subnqn}: its controller belongs to ${cdata.subnqn}`,
      );
    }
    if (live.length > 1 && (cdata.cmic & Cmic.MULTI_CONTROLLER) === 0) {
      return fail(
        `Cannot use ${p.address.traddr} as a path of ${options.subnqn}: CMIC says the subsystem has one controller`,
      );
    }
  }
  const sub = new MultipathSubsystem(options.subnqn, paths, noPathTimeout ?? 10_000);
  await sub.refresh();
  return sub;
}

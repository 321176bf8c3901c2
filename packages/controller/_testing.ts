/**
 * Private test helper: a minimal host that speaks raw capsules to the controller over a
 * transport (the loopback one in tests), so that every field the controller returns can be
 * checked. Not the real `@nvmf/host`.
 *
 * @example Usage
 * ```ts ignore
 * const { admin, cntlid } = await connectController(loopback, "addr", { subnqn });
 * const cqe = await admin.command({ opcode: AdminOpcode.KEEP_ALIVE });
 * await admin.close();
 * ```
 *
 * @module
 */

import {
  CcBits,
  CNTLID_DYNAMIC,
  type Cqe,
  CQE_SIZE_LOG2,
  CstsBits,
  decodeCqe,
  encodeConnect,
  encodeConnectData,
  encodePropertyGet,
  encodePropertySet,
  encodeSqe,
  Property,
  propertyGetValue,
  type Sqe,
  SQE_SIZE_LOG2,
} from "@nvmf/proto";
import {
  Association,
  commandCapsule,
  type DataDirection,
  type QueuePair,
  type Transport,
  type TransportAddress,
} from "@nvmf/transport";
import { LoopbackTransport } from "@nvmf/transport-loopback";
import { RamBackend } from "./backend.ts";
import type { Subsystem } from "./subsystem.ts";
import type { ListenOptions, Port } from "./port.ts";
import { Target, type TargetOptions } from "./target.ts";

/** A host identifier for tests. */
export const HOSTID: Uint8Array = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
/** A host NQN for tests. */
export const HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:01020304-0506-0708-090a-0b0c0d0e0f10";

/** What a test Connect sends. */
export interface TestConnect {
  /** SUBNQN. */
  subnqn: string;
  /** HOSTNQN (default {@linkcode HOSTNQN}). */
  hostnqn?: string;
  /** HOSTID (default {@linkcode HOSTID}). */
  hostid?: Uint8Array;
  /** QID (default 0). */
  qid?: number;
  /** Queue size in entries (default 32). */
  qsize?: number;
  /** SQSIZE as sent, when it should not follow `qsize`. */
  sqsize?: number;
  /** KATO ms (default 0). */
  kato?: number;
  /** CNTLID (default FFFFh). */
  cntlid?: number;
  /** CATTR (default 0). */
  cattr?: number;
  /** RECFMT (default 0). */
  recfmt?: number;
  /** Host SQ flow control (default true). */
  sqFlowControl?: boolean;
}

/** A host end of a queue pair: submits commands and routes completions by CID. */
export class HostQueue {
  /** The queue pair. */
  readonly qp: QueuePair;
  readonly #waiting = new Map<number, (cqe: Uint8Array) => void>();
  #cid = 0;
  #reader: Promise<void>;

  /**
   * Wraps a connected host queue pair.
   *
   * @param qp The queue pair.
   */
  constructor(qp: QueuePair) {
    this.qp = qp;
    this.#reader = this.#read();
  }

  async #read(): Promise<void> {
    for (;;) {
      let capsule;
      try {
        capsule = await this.qp.receive();
      } catch {
        return;
      }
      if (capsule.kind !== "response") continue;
      const cid = capsule.cqe[12] | (capsule.cqe[13] << 8);
      const waiter = this.#waiting.get(cid);
      this.#waiting.delete(cid);
      waiter?.(capsule.cqe);
    }
  }

  /** A fresh CID. */
  nextCid(): number {
    this.#cid = (this.#cid + 1) % 0xffff;
    return this.#cid;
  }

  /**
   * Submits a command and waits for its completion.
   *
   * @param sqe SQE fields (CID filled in unless given).
   * @param data Data buffer.
   * @param direction Its direction.
   * @returns The decoded CQE.
   */
  async command(sqe: Partial<Sqe>, data?: Uint8Array, direction?: DataDirection): Promise<Cqe> {
    const bytes = encodeSqe({ ...sqe, cid: sqe.cid ?? this.nextCid() });
    return decodeCqe(await this.raw(bytes, data, direction));
  }

  /**
   * Submits raw SQE bytes and waits for the completion.
   *
   * @param sqe The 64 bytes (CID set).
   * @param data Data buffer.
   * @param direction Its direction.
   * @returns The raw CQE.
   */
  raw(sqe: Uint8Array, data?: Uint8Array, direction?: DataDirection): Promise<Uint8Array> {
    const cid = sqe[2] | (sqe[3] << 8);
    const done = new Promise<Uint8Array>((resolve, reject) => {
      this.#waiting.set(cid, resolve);
      this.qp.closed.then(() => {
        if (this.#waiting.delete(cid)) {
          reject(new Error(`Queue closed before CID ${cid} completed`));
        }
      });
    });
    return this.qp.transmit(commandCapsule(sqe, data, direction)).then(() => done);
  }

  /**
   * Property Get.
   *
   * @param offset The property.
   * @returns Its value and the CQE.
   */
  async propertyGet(offset: number): Promise<{ value: bigint; cqe: Cqe }> {
    const raw = await this.raw(encodePropertyGet({ cid: this.nextCid(), offset }));
    return { value: propertyGetValue(raw), cqe: decodeCqe(raw) };
  }

  /**
   * Property Set.
   *
   * @param offset The property.
   * @param value The value.
   * @returns The CQE.
   */
  async propertySet(offset: number, value: number): Promise<Cqe> {
    return decodeCqe(
      await this.raw(encodePropertySet({ cid: this.nextCid(), offset, value: BigInt(value) })),
    );
  }

  /** Closes the queue pair. */
  async close(): Promise<void> {
    await this.qp.close();
    await this.#reader;
  }
}

/**
 * Connects a queue pair and sends a Connect.
 *
 * @param transport The transport.
 * @param address The listener address (a loopback name, or a transport address).
 * @param options The Connect fields.
 * @returns The queue and the Connect CQE.
 * @example Usage
 * ```ts ignore
 * const { queue, cqe } = await connectQueue(t.transport, "t", { subnqn: SUBNQN, qid: 1, cntlid });
 * assert.equal(cqe.status, 0);
 * ```
 */
export async function connectQueue(
  transport: Transport,
  address: TransportAddress | string,
  options: TestConnect,
): Promise<{ queue: HostQueue; cqe: Cqe }> {
  const qid = options.qid ?? 0;
  const qsize = options.qsize ?? 32;
  const na = new Association(transport, false, { sqFlowControl: options.sqFlowControl ?? true });
  na.update({ ioccsz: (64 + 8192) / 16, mdts: 0 });
  const qp = await transport.connect(na, {
    address: typeof address === "string" ? { traddr: address } : address,
    admin: qid === 0,
    qid,
    qsize,
  });
  const queue = new HostQueue(qp);
  const sqe = encodeConnect({
    cid: queue.nextCid(),
    recfmt: options.recfmt ?? 0,
    qid,
    sqsize: options.sqsize ?? qsize - 1,
    cattr: options.cattr ?? 0,
    kato: options.kato ?? 0,
  });
  const data = encodeConnectData({
    hostid: options.hostid ?? HOSTID,
    cntlid: options.cntlid ?? CNTLID_DYNAMIC,
    subnqn: options.subnqn,
    hostnqn: options.hostnqn ?? HOSTNQN,
  });
  const cqe = decodeCqe(await queue.raw(sqe, data, "host-to-controller"));
  return { queue, cqe };
}

/** The CC value Linux's host writes to enable an I/O controller (CSS 110b, 4 KiB pages). */
export const CC_ENABLE: number = CcBits.EN | (0b110 << CcBits.CSS_SHIFT) |
  (SQE_SIZE_LOG2 << CcBits.IOSQES_SHIFT) | (CQE_SIZE_LOG2 << CcBits.IOCQES_SHIFT);

/**
 * Connects an admin queue and enables the controller, as Linux's host does.
 *
 * @param transport The transport.
 * @param address The listener address (a loopback name, or a transport address).
 * @param options The Connect fields.
 * @returns The admin queue and the controller ID.
 * @example Usage
 * ```ts ignore
 * const { admin, cntlid } = await connectController(t.transport, "t", { subnqn: SUBNQN });
 * ```
 */
export async function connectController(
  transport: Transport,
  address: TransportAddress | string,
  options: TestConnect,
): Promise<{ admin: HostQueue; cntlid: number }> {
  const { queue, cqe } = await connectQueue(transport, address, options);
  if (cqe.status !== 0) throw new Error(`Connect failed with status ${cqe.status.toString(16)}`);
  await queue.propertySet(Property.CC, CC_ENABLE & ~CcBits.EN);
  await queue.propertySet(Property.CC, CC_ENABLE);
  const { value } = await queue.propertyGet(Property.CSTS);
  if ((Number(value) & CstsBits.RDY) === 0) throw new Error("Controller not ready");
  return { admin: queue, cntlid: cqe.dw0 & 0xffff };
}

/** The subsystem NQN {@linkcode startTarget} serves. */
export const SUBNQN = "nqn.2026-01.dev.nvmf:test";

/** A target on a private loopback fabric, for one test. */
export interface TestTarget {
  /** The loopback fabric. */
  transport: LoopbackTransport;
  /** The target. */
  target: Target;
  /** Its subsystem {@linkcode SUBNQN}. */
  subsystem: Subsystem;
  /** Its port, at loopback address `"t"`. */
  port: Port;
  /** Errors the target reported. */
  errors: string[];
}

/**
 * Starts a target with one subsystem ({@linkcode SUBNQN}, a 1 MiB RAM namespace of 512-byte
 * blocks unless `namespaces` says otherwise) on a fresh loopback fabric.
 *
 * @param options Target options.
 * @param listen Port options.
 * @param blockSizes Block sizes of the RAM namespaces to add, NSID 1 upwards.
 * @returns The pieces.
 * @example Usage
 * ```ts ignore
 * const t = await startTarget({ maxQueues: 4 }, {}, [512, 4096]);
 * await t.target.close();
 * ```
 */
export async function startTarget(
  options: TargetOptions = {},
  listen: ListenOptions = {},
  blockSizes: number[] = [512],
): Promise<TestTarget> {
  const transport = new LoopbackTransport();
  const target = new Target(options);
  const errors: string[] = [];
  target.on("error", (e) => errors.push(`${e.message}: ${(e.error as Error)?.message}`));
  const subsystem = target.addSubsystem({
    nqn: SUBNQN,
    namespaces: blockSizes.map((blockSize) => ({
      backend: new RamBackend({ size: 1 << 20, blockSize }),
    })),
  });
  const port = await target.listen(transport, { traddr: "t" }, listen);
  return { transport, target, subsystem, port, errors };
}

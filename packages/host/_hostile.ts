/**
 * A hostile controller for tests (private, not published): a scripted NVMe controller that
 * behaves well by default and misbehaves where a test's script says so, at any step of an
 * association — ICResp, Connect, Property Get/Set, enabling, Identify, I/O queue creation, I/O,
 * keep-alive, shutdown, discovery.
 *
 * Two ways to reach it:
 * - {@linkcode hostileTcp}: a raw NVMe/TCP server on 127.0.0.1 that writes PDUs with the
 *   `@nvmf/proto` codecs (or any bytes a script gives), so that it can send what no correct
 *   controller would: truncated PDUs, wrong digests, a PLEN of a gigabyte, one byte at a time.
 * - {@linkcode hostileLoopback}: a controller on a loopback fabric that scripts capsules through
 *   the controller end of the transport contract (wrong CIDs, SQIDs, SQHDs, short data, no data).
 *
 * A command's answer is a list of {@linkcode Step}s: by default its data (C2HData, or an R2T to
 * fetch the host's), then its CQE. A script's `fault` gets the command and that default plan and
 * returns another plan: an empty one says nothing at all.
 *
 * @module
 */

import {
  AdminOpcode,
  CONNECT_CATTR,
  CONNECT_QID,
  CONNECT_SQSIZE,
  ConnectAttributes,
  connectResponseDw0,
  CQE_SQHD,
  CQE_SQID,
  crc32c,
  decodeCc,
  decodePdu,
  encodeCap,
  encodeCqe,
  encodeCsts,
  encodeDiscoveryLog,
  encodeIdentifyController,
  encodeIdentifyNamespace,
  encodeNsIdList,
  encodePdu,
  encodeVs,
  FABRICS_OPCODE,
  FabricsType,
  FeatureId,
  IdentifyCns,
  LogPageId,
  NvmOpcode,
  type Pdu,
  type PduOptions,
  PduType,
  PROP_OFST,
  PROP_VALUE,
  Property,
  propertyGetResponseDw,
  SglSupport,
  sqeCdw,
  sqeCid,
  SQHD_FLOW_CONTROL_DISABLED,
} from "@nvmf/proto";
import { Association, type CommandCapsule, type QueuePair } from "@nvmf/transport";
import { commandSglLength, isInCapsuleCommand } from "@nvmf/transport/implement";
import { LoopbackTransport } from "@nvmf/transport-loopback";
import { type ByteStream, listen } from "@nvmf/transport-tcp/stream";

/** The subsystem NQN the hostile controller answers to. */
export const HOSTILE_NQN = "nqn.2026-01.dev.nvmf:hostile";
/** Logical block size of its namespace. */
export const HOSTILE_BLOCK = 512;
/** Blocks of its namespace. */
export const HOSTILE_BLOCKS = 2048;

/** A command as the hostile controller received it. */
export interface HostileCommand {
  /** Queue it came on. */
  qid: number;
  /** Its SQE. */
  sqe: Uint8Array;
  /** CID. */
  cid: number;
  /** Opcode. */
  opcode: number;
  /** FCTYPE of a Fabrics command. */
  fctype: number | undefined;
  /** SGL length: the bytes the command moves. */
  length: number;
  /** Which way its data goes, as its opcode says (undefined when it moves none). */
  direction: "c2h" | "h2c" | undefined;
  /** Its data came in the capsule. */
  inCapsule: boolean;
  /** 1-based count of commands on its connection. */
  index: number;
  /** The Property Get/Set offset of a Fabrics property command. */
  property: number | undefined;
  /** TCP: the H2CData payloads received for it after an R2T, in order. */
  h2c: Uint8Array[];
}

/** What the well-behaved controller answers. */
export interface Reply {
  /** Status field (SCT/SC), 0 for success. */
  status: number;
  /** DW0. */
  dw0: number;
  /** DW1. */
  dw1: number;
  /** Controller-to-host data, exactly the command's length. */
  data: Uint8Array | undefined;
}

/** One thing the hostile controller does while answering a command. */
export type Step =
  /** C2HData (loopback: `sendControllerData`); defaults: the reply's data, at 0, LAST_PDU. */
  | {
    kind: "data";
    offset?: number;
    data?: Uint8Array;
    last?: boolean;
    success?: boolean;
    cid?: number;
    /** TCP: corrupt the data digest. */
    badDigest?: boolean;
    /** TCP: PLEN to write instead of the true one. */
    plen?: number;
  }
  /** R2T and the H2CData it brings (loopback: `receiveControllerData`). */
  | { kind: "r2t"; offset?: number; length?: number; cid?: number; ttag?: number }
  /** The CQE; defaults from the reply, SQHD from the queue's flow control. */
  | {
    kind: "cqe";
    status?: number;
    dw0?: number;
    dw1?: number;
    cid?: number;
    sqid?: number;
    sqhd?: number;
    /** TCP: corrupt the header digest. */
    badDigest?: boolean;
  }
  /** TCP only: raw bytes, optionally one at a time with a pause between. */
  | { kind: "raw"; bytes: Uint8Array; byteDelayMs?: number }
  /** Pause. */
  | { kind: "wait"; ms: number }
  /** Break the connection (TCP: close the socket; loopback: close the queue pair). */
  | { kind: "reset" };

/** What a test scripts. */
export interface HostileScript {
  /**
   * The plan for a command: return undefined for the default one, [] for silence.
   *
   * @param command The command.
   * @param plan The default plan.
   * @param reply What a well-behaved controller answers.
   */
  fault?: (command: HostileCommand, plan: Step[], reply: Reply) => Step[] | undefined;
  /** TCP: bytes to send instead of the ICResp ("silence" for none); undefined: a good ICResp. */
  icresp?: () => Uint8Array | "silence" | undefined;
  /** Identify Controller fields over the defaults. */
  cdata?: Record<string, unknown>;
  /** Identify Namespace fields over the defaults. */
  nsdata?: Record<string, unknown>;
  /** CAP fields over the defaults. */
  cap?: Record<string, unknown>;
  /** The discovery log's generation counter, asked for each read (default 1). */
  genctr?: (read: number) => bigint;
}

/** A running hostile controller. */
export interface HostileController {
  /** Where it listens. */
  address: { traddr: string; trsvcid?: string };
  /** The transport to reach it with (the loopback fabric), or "tcp". */
  transport: LoopbackTransport | "tcp";
  /** Every command received, in order. */
  commands: HostileCommand[];
  /** Stops it and closes every connection. */
  close(): Promise<void>;
}

/** The NVMe controller behind both transports: registers and a small namespace. */
class Model {
  cc = 0;
  readonly script: HostileScript;
  discoveryReads = 0;

  constructor(script: HostileScript) {
    this.script = script;
  }

  /** The data pattern of the namespace: byte i of LBA l is (l + i) & 0xff. */
  static pattern(lba: number, blocks: number): Uint8Array {
    const out = new Uint8Array(blocks * HOSTILE_BLOCK);
    for (let b = 0; b < blocks; b++) {
      for (let i = 0; i < HOSTILE_BLOCK; i++) out[b * HOSTILE_BLOCK + i] = (lba + b + i) & 0xff;
    }
    return out;
  }

  reply(c: HostileCommand, cntlid: number): Reply {
    const r: Reply = { status: 0, dw0: 0, dw1: 0, data: undefined };
    const sqe = c.sqe;
    if (c.opcode === FABRICS_OPCODE) {
      if (c.fctype === FabricsType.CONNECT) r.dw0 = connectResponseDw0(cntlid);
      else if (c.fctype === FabricsType.PROPERTY_GET) {
        [r.dw0, r.dw1] = propertyGetResponseDw(this.property(c.property!));
      } else if (c.fctype === FabricsType.PROPERTY_SET) {
        if (c.property === Property.CC) {
          this.cc = new DataView(sqe.buffer, sqe.byteOffset).getUint32(PROP_VALUE, true);
        }
      }
      return r;
    }
    if (c.qid === 0) {
      switch (c.opcode) {
        case AdminOpcode.IDENTIFY: {
          const cns = sqeCdw(sqe, 10) & 0xff;
          if (cns === IdentifyCns.CONTROLLER) {
            r.data = encodeIdentifyController({
              cntlid,
              subnqn: HOSTILE_NQN,
              mdts: 5,
              sgls: SglSupport.SUPPORTED_NO_ALIGNMENT,
              ioccsz: 4 + 4096 / 16,
              iorcsz: 1,
              maxcmd: 128,
              nn: 1,
              kas: 1,
              ...this.script.cdata,
            } as never);
          } else if (cns === IdentifyCns.NAMESPACE) {
            r.data = encodeIdentifyNamespace({
              nsze: BigInt(HOSTILE_BLOCKS),
              ncap: BigInt(HOSTILE_BLOCKS),
              nuse: BigInt(HOSTILE_BLOCKS),
              nlbaf: 0,
              flbas: 0,
              lbaf: [{ ms: 0, lbads: 9, rp: 0 }],
              ...this.script.nsdata,
            } as never);
          } else if (cns === IdentifyCns.ACTIVE_NAMESPACE_LIST) {
            r.data = encodeNsIdList([1]);
          } else {
            r.data = new Uint8Array(4096);
          }
          break;
        }
        case AdminOpcode.SET_FEATURES:
          if ((sqeCdw(sqe, 10) & 0xff) === FeatureId.NUMBER_OF_QUEUES) r.dw0 = sqeCdw(sqe, 11);
          break;
        case AdminOpcode.GET_LOG_PAGE: {
          const lid = sqeCdw(sqe, 10) & 0xff;
          const offset = sqeCdw(sqe, 12) + sqeCdw(sqe, 13) * 2 ** 32;
          if (lid === LogPageId.DISCOVERY) {
            const genctr = this.script.genctr?.(this.discoveryReads++) ?? 1n;
            const page = encodeDiscoveryLog({ genctr }, [{
              trtype: 3,
              adrfam: 1,
              subtype: 2,
              traddr: "127.0.0.1",
              trsvcid: "4420",
              subnqn: HOSTILE_NQN,
              cntlid: 0xffff,
            }]);
            const out = new Uint8Array(c.length);
            out.set(page.subarray(offset, offset + c.length));
            r.data = out;
          } else {
            r.data = new Uint8Array(c.length);
          }
          break;
        }
        default:
          if (c.direction === "c2h") r.data = new Uint8Array(c.length);
      }
      return r;
    }
    if (c.opcode === NvmOpcode.READ) {
      const lba = sqeCdw(sqe, 10);
      r.data = Model.pattern(lba, (sqeCdw(sqe, 12) & 0xffff) + 1);
    } else if (c.direction === "c2h") {
      r.data = new Uint8Array(c.length);
    }
    return r;
  }

  property(offset: number): bigint {
    switch (offset) {
      case Property.CAP:
        return encodeCap(
          {
            mqes: 127,
            cqr: true,
            to: 1,
            css: 1,
            mpsmin: 0,
            mpsmax: 0,
            ...this.script.cap,
          } as never,
        );
      case Property.VS:
        return BigInt(encodeVs({ major: 1, minor: 4, tertiary: 0 }));
      case Property.CC:
        return BigInt(this.cc);
      case Property.CSTS: {
        const cc = decodeCc(this.cc);
        return BigInt(encodeCsts({ rdy: cc.en, shst: cc.shn !== 0 ? 2 : 0 }));
      }
    }
    return 0n;
  }
}

function describe(
  sqe: Uint8Array,
  qid: number,
  index: number,
  length: number,
  inCapsule: boolean,
): HostileCommand {
  const opcode = sqe[0];
  const fctype = opcode === FABRICS_OPCODE ? sqe[4] : undefined;
  let direction: "c2h" | "h2c" | undefined;
  if (length > 0) {
    if (opcode === FABRICS_OPCODE) direction = "h2c";
    else direction = (opcode & 3) === 2 ? "c2h" : (opcode & 3) === 1 ? "h2c" : undefined;
  }
  const property = fctype === FabricsType.PROPERTY_GET || fctype === FabricsType.PROPERTY_SET
    ? new DataView(sqe.buffer, sqe.byteOffset).getUint32(PROP_OFST, true)
    : undefined;
  return {
    qid,
    sqe,
    cid: sqeCid(sqe),
    opcode,
    fctype,
    length,
    direction,
    inCapsule,
    index,
    property,
    h2c: [],
  };
}

function defaultPlan(c: HostileCommand, r: Reply): Step[] {
  if (c.direction === "c2h" && r.data !== undefined) return [{ kind: "data" }, { kind: "cqe" }];
  if (c.direction === "h2c" && !c.inCapsule) return [{ kind: "r2t" }, { kind: "cqe" }];
  return [{ kind: "cqe" }];
}

function planFor(model: Model, c: HostileCommand, r: Reply): Step[] {
  const plan = defaultPlan(c, r);
  return model.script.fault?.(c, plan, r) ?? plan;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// NVMe/TCP

const PLAIN: PduOptions = { hdgst: false, ddgst: false, pda: 0 };
/** Largest PDU the hostile server reads. */
const MAX_PDU = 1 << 20;

/** A minimal byte reader over a stream. */
class Bytes {
  #buf = new Uint8Array(0);
  readonly #stream: ByteStream;
  constructor(stream: ByteStream) {
    this.#stream = stream;
  }
  async take(n: number): Promise<Uint8Array | undefined> {
    while (this.#buf.length < n) {
      const chunk = new Uint8Array(65536);
      const got = await this.#stream.read(chunk);
      if (got === 0) return undefined;
      const next = new Uint8Array(this.#buf.length + got);
      next.set(this.#buf);
      next.set(chunk.subarray(0, got), this.#buf.length);
      this.#buf = next;
    }
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }
}

class TcpConnection {
  readonly #model: Model;
  readonly #stream: ByteStream;
  readonly #bytes: Bytes;
  readonly #log: HostileCommand[];
  #opts: PduOptions = PLAIN;
  #qid = 0;
  #qsize = 32;
  #flowControl = true;
  #sqhd = 0;
  #count = 0;
  #backlog: Pdu[] = [];
  #ttag = 0;
  #closed = false;
  readonly #cntlid: number;

  constructor(model: Model, stream: ByteStream, log: HostileCommand[], cntlid: number) {
    this.#model = model;
    this.#stream = stream;
    this.#bytes = new Bytes(stream);
    this.#log = log;
    this.#cntlid = cntlid;
  }

  close(): void {
    this.#closed = true;
    this.#stream.close();
  }

  async run(): Promise<void> {
    try {
      const icreq = await this.#bytes.take(128);
      if (icreq === undefined) return;
      const req = decodePdu(icreq, { hdgst: false, ddgst: false });
      if (req.type !== PduType.IC_REQ) return this.close();
      const custom = this.#model.script.icresp?.();
      if (custom === "silence") return;
      if (custom !== undefined) {
        await this.#stream.writev([custom]);
      } else {
        await this.#stream.writev([encodePdu({
          type: PduType.IC_RESP,
          pfv: 0,
          cpda: 0,
          hdgst: req.hdgst,
          ddgst: req.ddgst,
          maxh2cdata: 131072,
        }, PLAIN)]);
      }
      this.#opts = { hdgst: req.hdgst, ddgst: req.ddgst, pda: 0 };
      for (;;) {
        const pdu = this.#backlog.shift() ?? await this.#next();
        if (pdu === undefined) return;
        if (pdu.type !== PduType.CAPSULE_CMD) return this.close();
        await this.#command(pdu.sqe);
        if (this.#closed) return;
      }
    } catch {
      this.close();
    }
  }

  async #next(): Promise<Pdu | undefined> {
    const ch = await this.#bytes.take(8);
    if (ch === undefined) return undefined;
    const plen = new DataView(ch.buffer).getUint32(4, true);
    if (plen < 8 || plen > MAX_PDU) throw new Error(`PLEN ${plen}`);
    const rest = await this.#bytes.take(plen - 8);
    if (rest === undefined) return undefined;
    const all = new Uint8Array(plen);
    all.set(ch);
    all.set(rest, 8);
    return decodePdu(all, { hdgst: this.#opts.hdgst, ddgst: this.#opts.ddgst });
  }

  async #command(sqe: Uint8Array): Promise<void> {
    const inCapsule = isInCapsuleCommand(sqe);
    const c = describe(sqe, this.#qid, ++this.#count, commandSglLength(sqe), inCapsule);
    this.#log.push(c);
    if (c.fctype === FabricsType.CONNECT) {
      const v = new DataView(sqe.buffer, sqe.byteOffset);
      this.#qid = v.getUint16(CONNECT_QID, true);
      c.qid = this.#qid;
      this.#qsize = v.getUint16(CONNECT_SQSIZE, true) + 1;
      this.#flowControl = (sqe[CONNECT_CATTR] & ConnectAttributes.DISABLE_SQ_FLOW_CONTROL) === 0;
    }
    const reply = this.#model.reply(c, this.#cntlid);
    for (const step of planFor(this.#model, c, reply)) {
      if (this.#closed) return;
      await this.#step(c, reply, step);
    }
  }

  async #step(c: HostileCommand, reply: Reply, step: Step): Promise<void> {
    const w = (pdu: Uint8Array) => this.#stream.writev([pdu]);
    switch (step.kind) {
      case "data": {
        const data = step.data ?? reply.data ?? new Uint8Array(c.length);
        const bytes = encodePdu({
          type: PduType.C2H_DATA,
          cccid: step.cid ?? c.cid,
          ttag: 0,
          datao: step.offset ?? 0,
          datal: data.length,
          last: step.last ?? true,
          success: step.success ?? false,
          data,
        }, this.#opts);
        if (step.badDigest) bytes[bytes.length - 1] ^= 0xff;
        if (step.plen !== undefined) new DataView(bytes.buffer).setUint32(4, step.plen, true);
        await w(bytes);
        return;
      }
      case "r2t": {
        const offset = step.offset ?? 0;
        const length = step.length ?? c.length - offset;
        const ttag = step.ttag ?? (this.#ttag++ & 0xffff);
        await w(encodePdu({
          type: PduType.R2T,
          cccid: step.cid ?? c.cid,
          ttag,
          r2to: offset,
          r2tl: length,
        }, this.#opts));
        let got = 0;
        while (got < length) {
          const pdu = await this.#next();
          if (pdu === undefined) return this.close();
          if (pdu.type === PduType.H2C_DATA) {
            c.h2c.push(pdu.data.slice());
            got += pdu.datal;
            if (pdu.last) break;
          } else if (pdu.type === PduType.CAPSULE_CMD) {
            this.#backlog.push(pdu);
          } else {
            return this.close();
          }
        }
        return;
      }
      case "cqe": {
        if (this.#flowControl) this.#sqhd = (this.#sqhd + 1) % this.#qsize;
        const cqe = encodeCqe({
          dw0: step.dw0 ?? reply.dw0,
          dw1: step.dw1 ?? reply.dw1,
          sqhd: step.sqhd ?? (this.#flowControl ? this.#sqhd : SQHD_FLOW_CONTROL_DISABLED),
          sqid: step.sqid ?? this.#qid,
          cid: step.cid ?? c.cid,
          status: step.status ?? reply.status,
        });
        const bytes = encodePdu({ type: PduType.CAPSULE_RESP, cqe }, this.#opts);
        if (step.badDigest) bytes[bytes.length - 1] ^= 0xff;
        await w(bytes);
        return;
      }
      case "raw":
        if (step.byteDelayMs === undefined) {
          await w(step.bytes);
        } else {
          for (const b of step.bytes) {
            if (this.#closed) return;
            await w(Uint8Array.of(b));
            await sleep(step.byteDelayMs);
          }
        }
        return;
      case "wait":
        await sleep(step.ms);
        return;
      case "reset":
        this.close();
        return;
    }
  }
}

/**
 * Starts a hostile NVMe/TCP controller on 127.0.0.1 (any free port).
 *
 * @param script How it misbehaves.
 * @returns The running controller.
 */
export async function hostileTcp(script: HostileScript = {}): Promise<HostileController> {
  const model = new Model(script);
  const server = await listen("127.0.0.1", 0);
  const connections = new Set<TcpConnection>();
  const commands: HostileCommand[] = [];
  let closed = false;
  const loop = (async () => {
    for (;;) {
      let stream: ByteStream;
      try {
        stream = await server.accept();
      } catch {
        return;
      }
      if (closed) {
        stream.close();
        return;
      }
      const conn = new TcpConnection(model, stream, commands, 1);
      connections.add(conn);
      conn.run().finally(() => connections.delete(conn));
    }
  })();
  return {
    address: { traddr: "127.0.0.1", trsvcid: String(server.local.port) },
    transport: "tcp",
    commands,
    close: async () => {
      closed = true;
      server.close();
      for (const c of connections) c.close();
      await loop;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Loopback

let loopbackCount = 0;

/**
 * Starts a hostile controller on a loopback fabric of its own: it answers through the
 * controller end of the transport contract, so it can say anything a capsule can carry.
 * Steps "raw" and a data step's `cid`, `plen`, `badDigest` and `success` are TCP only.
 *
 * @param script How it misbehaves.
 * @returns The running controller; connect with its `transport`.
 */
export async function hostileLoopback(script: HostileScript = {}): Promise<HostileController> {
  const model = new Model(script);
  // SQHD is the transport's to write on transmit: a script's SQHD is put in on the way.
  const sqhdOverride = new WeakMap<Uint8Array, number>();
  const transport = new LoopbackTransport({
    hooks: {
      corrupt: (e) => {
        if (e.capsule.kind !== "response") return;
        const sqhd = sqhdOverride.get(e.capsule.cqe);
        if (sqhd !== undefined) {
          new DataView(e.capsule.cqe.buffer, e.capsule.cqe.byteOffset).setUint16(
            CQE_SQHD,
            sqhd,
            true,
          );
        }
      },
    },
  });
  const traddr = `hostile-${++loopbackCount}`;
  const listener = await transport.listen(new Association(transport, true), { traddr });
  const commands: HostileCommand[] = [];
  const queues = new Set<QueuePair>();
  const serve = async (qp: QueuePair) => {
    let qid = 0;
    let count = 0;
    try {
      for (;;) {
        const capsule = await qp.receive() as CommandCapsule;
        const sqe = capsule.sqe;
        const c = describe(
          sqe,
          qid,
          ++count,
          qp.capsuleDataLength(capsule),
          isInCapsuleCommand(sqe),
        );
        commands.push(c);
        if (c.fctype === FabricsType.CONNECT) {
          const v = new DataView(sqe.buffer, sqe.byteOffset);
          qid = v.getUint16(CONNECT_QID, true);
          c.qid = qid;
          qp.setConnected({
            qid,
            qsize: v.getUint16(CONNECT_SQSIZE, true) + 1,
            sqFlowControl: (sqe[CONNECT_CATTR] & ConnectAttributes.DISABLE_SQ_FLOW_CONTROL) === 0,
          });
        }
        const reply = model.reply(c, 1);
        for (const step of planFor(model, c, reply)) {
          if (qp.done) return;
          switch (step.kind) {
            case "data": {
              const data = step.data ?? reply.data ?? new Uint8Array(c.length);
              await qp.sendControllerData(capsule, step.offset ?? 0, data, step.last ?? true);
              break;
            }
            case "r2t": {
              const offset = step.offset ?? 0;
              const length = step.length ?? c.length - offset;
              await qp.receiveControllerData(capsule, offset, new Uint8Array(length));
              break;
            }
            case "cqe": {
              const cqe = encodeCqe({
                dw0: step.dw0 ?? reply.dw0,
                dw1: step.dw1 ?? reply.dw1,
                sqid: step.sqid ?? qid,
                cid: step.cid ?? c.cid,
                status: step.status ?? reply.status,
              });
              if (step.sqhd !== undefined) sqhdOverride.set(cqe, step.sqhd);
              if (step.sqid !== undefined) {
                new DataView(cqe.buffer).setUint16(CQE_SQID, step.sqid, true);
              }
              await qp.transmit({ kind: "response", cqe });
              break;
            }
            case "wait":
              await sleep(step.ms);
              break;
            case "reset":
              await qp.close();
              return;
            case "raw":
              throw new TypeError("Cannot send raw bytes over the loopback");
          }
        }
      }
    } catch {
      await qp.close();
    }
  };
  let closed = false;
  const loop = (async () => {
    for (;;) {
      let qp: QueuePair;
      try {
        qp = await listener.accept();
      } catch {
        return;
      }
      if (closed) return;
      queues.add(qp);
      serve(qp).finally(() => queues.delete(qp));
    }
  })();
  return {
    address: { traddr },
    transport,
    commands,
    close: async () => {
      closed = true;
      await listener.close();
      for (const qp of queues) await qp.close();
      await loop;
    },
  };
}

/**
 * Both hostile controllers, for families that apply to both transports.
 */
export const HOSTILE_TRANSPORTS: readonly {
  name: string;
  start: (script?: HostileScript) => Promise<HostileController>;
}[] = [
  { name: "tcp", start: hostileTcp },
  { name: "loopback", start: hostileLoopback },
];

/** CRC32C, for scripts that build PDUs by hand. */
export { crc32c };

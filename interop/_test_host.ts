/**
 * A small host written straight on the transport contract, for the transport's interop
 * suite: Fabrics Connect, Property Get/Set, Identify, Read and Write, one command at a time.
 * The real host is `@nvmf/host`; this one exists so the transport can be judged by the Linux
 * kernel target on its own.
 *
 * @module
 */

import {
  AdminOpcode,
  CapBits,
  CcBits,
  CNTLID_DYNAMIC,
  cqeCid,
  cqeDw0,
  cqeStatus,
  CstsBits,
  decodeConnectResponse,
  encodeConnect,
  encodeConnectData,
  encodeIdentify,
  encodePropertyGet,
  encodePropertySet,
  encodeSqe,
  generateHostId,
  hostNqnFromId,
  IdentifyCns,
  NvmeStatusError,
  NvmOpcode,
  Property,
  propertyGetValue,
} from "@nvmf/proto";
import {
  type Association,
  commandCapsule,
  type DataDirection,
  type QueuePair,
  type TransportAddress,
} from "@nvmf/transport";

/** One queue pair and its CID counter. */
export class TestQueue {
  readonly qp: QueuePair;
  #cid = 0;

  constructor(qp: QueuePair) {
    this.qp = qp;
  }

  /** Sends one command and returns its CQE; a failed status throws NvmeStatusError. */
  async exec(
    sqe: Uint8Array,
    data?: Uint8Array,
    direction?: DataDirection,
  ): Promise<Uint8Array> {
    const cid = this.#cid = (this.#cid + 1) % 0xffff;
    new DataView(sqe.buffer, sqe.byteOffset).setUint16(2, cid, true);
    await this.qp.transmit(commandCapsule(sqe, data, direction));
    const rsp = await this.qp.receive();
    if (rsp.kind !== "response" || cqeCid(rsp.cqe) !== cid) {
      throw new Error(`Expected the response to command ${cid}`);
    }
    if ((cqeStatus(rsp.cqe) >> 1) !== 0) {
      throw new NvmeStatusError(cqeStatus(rsp.cqe), { cid, opcode: sqe[0] });
    }
    return rsp.cqe;
  }
}

/** Connects a queue pair and sends Fabrics Connect; returns the queue and the CNTLID. */
export async function connectQueue(
  association: Association,
  address: TransportAddress,
  options: { qid: number; qsize: number; subnqn: string; hostid: Uint8Array; cntlid?: number },
): Promise<{ queue: TestQueue; cntlid: number }> {
  const qp = await association.transport.connect(association, {
    address,
    admin: options.qid === 0,
    qid: options.qid,
    qsize: options.qsize,
  });
  const queue = new TestQueue(qp);
  const data = encodeConnectData({
    hostid: options.hostid,
    cntlid: options.cntlid ?? CNTLID_DYNAMIC,
    subnqn: options.subnqn,
    hostnqn: hostNqnFromId(options.hostid),
  });
  const cqe = await queue.exec(
    encodeConnect({ cid: 0, qid: options.qid, sqsize: options.qsize - 1, kato: 0 }),
    data,
    "host-to-controller",
  );
  return { queue, cntlid: decodeConnectResponse(cqe).cntlid };
}

/** Reads a property (CAP is 8 bytes, the rest 4). */
export async function getProperty(admin: TestQueue, offset: number): Promise<bigint> {
  return propertyGetValue(await admin.exec(encodePropertyGet({ cid: 0, offset })));
}

/** Sets CC.EN and waits for CSTS.RDY within CAP.TO. */
export async function enableController(admin: TestQueue): Promise<void> {
  const cap = await getProperty(admin, Property.CAP);
  const timeoutMs = Number((cap >> BigInt(CapBits.TO_SHIFT)) & BigInt(CapBits.TO_MASK)) * 500;
  const cc = CcBits.EN | (6 << CcBits.IOSQES_SHIFT) | (4 << CcBits.IOCQES_SHIFT);
  await admin.exec(encodePropertySet({ cid: 0, offset: Property.CC, value: BigInt(cc) }));
  const deadline = Date.now() + Math.max(timeoutMs, 500);
  while ((Number(await getProperty(admin, Property.CSTS)) & CstsBits.RDY) === 0) {
    if (Date.now() > deadline) throw new Error("CSTS.RDY did not come up within CAP.TO");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Identify with the given CNS; returns the 4096 bytes. */
export async function identify(admin: TestQueue, cns: number, nsid = 0): Promise<Uint8Array> {
  const into = new Uint8Array(4096);
  await admin.exec(encodeIdentify({ cid: 0, cns, nsid }), into, "controller-to-host");
  return into;
}

/** Writes or reads `data.length` bytes at `lba` of namespace 1 (512-byte blocks by default). */
export async function blockIo(
  io: TestQueue,
  opcode: number,
  lba: number,
  data: Uint8Array,
  blockSize = 512,
): Promise<void> {
  const blocks = data.length / blockSize;
  const sqe = encodeSqe({ opcode, cid: 0, nsid: 1, cdw10: lba >>> 0, cdw11: 0, cdw12: blocks - 1 });
  await io.exec(
    sqe,
    data,
    opcode === NvmOpcode.WRITE ? "host-to-controller" : "controller-to-host",
  );
}

export { AdminOpcode, cqeDw0, generateHostId, IdentifyCns };

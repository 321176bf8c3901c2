/**
 * Test fixtures of the host (not published): {@linkcode setup} puts the host against our
 * controller (`@nvmf/controller`) over a loopback transport of its own per test, whose hooks
 * observe, drop, delay or rewrite capsules; the rest pick apart what crossed.
 *
 * @module
 */

import { type NamespaceBackend, RamBackend, Target } from "@nvmf/controller";
import { AdminOpcode, FABRICS_OPCODE } from "@nvmf/proto";
import {
  type LoopbackCapsuleEvent,
  type LoopbackHooks,
  LoopbackTransport,
} from "@nvmf/transport-loopback";
import { connect, type ConnectOptions, type HostController } from "./mod.ts";

// The host against our controller (@nvmf/controller) over a loopback transport of its own per
// test, whose hooks observe, drop, delay or rewrite capsules.

let serial = 0;

export interface Setup {
  transport: LoopbackTransport;
  target: Target;
  subsystem: ReturnType<Target["addSubsystem"]>;
  nqn: string;
  traddr: string;
  ctrl: HostController;
  /** Every capsule that crossed, in order. */
  seen: LoopbackCapsuleEvent[];
  close(): Promise<void>;
}

export async function setup(
  options: {
    size?: number;
    blockSize?: number;
    backend?: NamespaceBackend;
    connect?: Partial<ConnectOptions>;
    hooks?: LoopbackHooks;
    target?: ConstructorParameters<typeof Target>[0];
    listen?: Parameters<Target["listen"]>[2];
  } = {},
): Promise<Setup> {
  const seen: LoopbackCapsuleEvent[] = [];
  const transport = new LoopbackTransport({
    hooks: { observe: (e) => seen.push(snapshot(e)), ...options.hooks },
  });
  const target = new Target(options.target);
  const nqn = `nqn.2026-01.test.host:s${serial++}`;
  const traddr = `host-test-${serial}`;
  const subsystem = target.addSubsystem({
    nqn,
    namespaces: [{
      backend: options.backend ??
        new RamBackend({ size: options.size ?? 4 << 20, blockSize: options.blockSize ?? 512 }),
    }],
    allowAnyHost: true,
  });
  const port = await target.listen(transport, { traddr }, options.listen);
  let ctrl: HostController;
  try {
    ctrl = await connect({
      transport,
      address: { traddr },
      subnqn: nqn,
      ...options.connect,
    });
  } catch (e) {
    await port.close();
    await target.close();
    throw e;
  }
  return {
    transport,
    target,
    subsystem,
    nqn,
    traddr,
    ctrl,
    seen,
    async close() {
      await ctrl.close().catch(() => {});
      await port.close();
      await target.close();
    },
  };
}

/** A copy of a capsule event: the host reuses its SQE buffers, so keep the bytes as they were. */
export function snapshot(e: LoopbackCapsuleEvent): LoopbackCapsuleEvent {
  const capsule = e.capsule.kind === "command"
    ? { ...e.capsule, sqe: e.capsule.sqe.slice() }
    : { kind: "response" as const, cqe: e.capsule.cqe.slice() };
  return { ...e, capsule };
}

export function commands(seen: LoopbackCapsuleEvent[], qid?: number) {
  return seen.filter((e) =>
    e.direction === "host-to-controller" && e.capsule.kind === "command" &&
    (qid === undefined || e.qid === qid)
  ).map((e) => (e.capsule as { sqe: Uint8Array }).sqe);
}

export function opcodeNames(sqes: Uint8Array[]): string[] {
  return sqes.map((sqe) => {
    if (sqe[0] === FABRICS_OPCODE) {
      return ["PROPERTY_SET", "CONNECT", "?", "?", "PROPERTY_GET"][sqe[4]] ?? `fabrics ${sqe[4]}`;
    }
    return Object.entries(AdminOpcode).find(([, v]) => v === sqe[0])?.[0] ?? `op ${sqe[0]}`;
  });
}

export function pattern(length: number, seed: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (i * 13 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

export function until(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = () => (check() ? resolve() : setTimeout(poll, 1));
    poll();
  });
}

// ---------------------------------------------------------------------------------------------

// The controller against the real host of this repository (@nvmf/host), end to end.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, discover } from "@nvmf/host";
import { LoopbackTransport } from "@nvmf/transport-loopback";
import "@nvmf/transport-tcp";
import { AsyncEventNotice, SubsystemType } from "@nvmf/proto";
import { RamBackend } from "./backend.ts";
import { Target } from "./target.ts";

const NQN = "nqn.2026-01.dev.nvmf:host-e2e";
const HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:6a0c1f2e-5b4d-4e3f-8a9b-0c1d2e3f4a5b";
const HOSTID = "6a0c1f2e-5b4d-4e3f-8a9b-0c1d2e3f4a5b";

function ramTarget(blockSize: number): Target {
  const target = new Target();
  target.addSubsystem({
    nqn: NQN,
    namespaces: [{ backend: new RamBackend({ size: 64 << 20, blockSize }) }],
  });
  return target;
}

test("@nvmf/host reads and writes a namespace over loopback, on several I/O queues", async () => {
  const target = ramTarget(4096);
  const transport = new LoopbackTransport();
  await target.listen(transport, { traddr: "host-e2e" });
  const ctrl = await connect({
    transport,
    address: { traddr: "host-e2e" },
    subnqn: NQN,
    hostnqn: HOSTNQN,
    hostid: HOSTID,
    ioQueues: 3,
  });
  const ns = await ctrl.namespace(1);
  assert.equal(ns.blockSize, 4096);
  const data = Uint8Array.from({ length: 3 << 20 }, (_, i) => (i * 13) & 0xff); // over MDTS
  await ns.write(10, data);
  assert.deepEqual(await ns.read(10, data.length / 4096), data);
  assert.equal(await ns.compare(10, data.subarray(0, 4096)), true);
  await ns.writeZeroes(10, 1);
  assert.deepEqual(await ns.read(10, 1), new Uint8Array(4096));
  await ns.flush();
  await ctrl.close();
  await target.close();
});

test("@nvmf/host discovers the target and hears of namespace changes", async () => {
  const target = ramTarget(512);
  const transport = new LoopbackTransport();
  await target.listen(transport, { traddr: "host-e2e-disc" });
  const entries = await discover({
    transport,
    address: { traddr: "host-e2e-disc" },
    hostnqn: HOSTNQN,
    hostid: HOSTID,
  });
  assert.deepEqual(entries.map((e) => [e.subtype, e.subnqn]), [
    [SubsystemType.CURRENT_DISCOVERY, "nqn.2014-08.org.nvmexpress.discovery"],
    [SubsystemType.NVME, NQN],
  ]);
  const ctrl = await connect({
    transport,
    address: { traddr: "host-e2e-disc" },
    subnqn: NQN,
    hostnqn: HOSTNQN,
    hostid: HOSTID,
  });
  const events = ctrl.events();
  target.subsystem(NQN)!.addNamespace({ nsid: 2, backend: new RamBackend({ size: 1 << 20 }) });
  for await (const e of events) {
    if (e.type !== "aen") continue;
    assert.equal(e.event.eventInfo, AsyncEventNotice.NAMESPACE_ATTRIBUTE_CHANGED);
    break;
  }
  assert.deepEqual(await ctrl.activeNamespaces(), [1, 2]);
  await ctrl.close();
  await target.close();
});

test("@nvmf/host over NVMe/TCP with digests", async () => {
  const target = ramTarget(512);
  const port = await target.listen("tcp", { traddr: "127.0.0.1", trsvcid: "0" });
  const ctrl = await connect({
    transport: "tcp",
    address: port.address,
    subnqn: NQN,
    hostnqn: HOSTNQN,
    hostid: HOSTID,
    headerDigests: true,
    dataDigests: true,
  });
  const ns = await ctrl.namespace(1);
  const data = Uint8Array.from({ length: 256 * 1024 }, (_, i) => i & 0xff);
  await ns.write(0, data);
  assert.deepEqual(await ns.read(0, data.length / 512), data);
  const id = await ctrl.identify();
  assert.equal(id.subnqn, NQN);
  await ctrl.close();
  await target.close();
});

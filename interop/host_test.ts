// @nvmf/host and the nvmf tool against the Linux 6.1 kernel target (nvmet-tcp under qemu) and
// against our own controller over TCP and loopback, including a target restart.
// Run with `deno task test:interop`; needs ../shared/interop/setup.sh to have run.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, discover, type HostController } from "@nvmf/host";
import { FileBackend, Target } from "@nvmf/controller";
import "@nvmf/transport-tcp";
import "@nvmf/transport-loopback";
import { DISCOVERY_NQN, Oncs, SubsystemType } from "@nvmf/proto";
import { main } from "@nvmf/cli";
import { freePort, KERNEL_TARGET_NQN, type KernelTarget, startKernelTarget } from "./_kernel.ts";

let kernel: KernelTarget;

before(async () => {
  kernel = await startKernelTarget();
});

after(async () => {
  await kernel?.stop();
});

/** Runs the nvmf tool in-process; returns its exit code and output. */
async function nvmf(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, { stdout: (t) => out += t, stderr: (t) => err += t });
  return { code, out, err };
}

function randomData(length: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) {
    crypto.getRandomValues(data.subarray(at, Math.min(length, at + 65536)));
  }
  return data;
}

/** Writes, reads back and compares 16 MiB at random LBAs in 256 KiB pieces. */
async function randomRoundTrip(ctrl: HostController, seed: number): Promise<void> {
  const ns = await ctrl.namespace(1);
  const piece = 256 * 1024;
  const blocksPerPiece = piece / ns.blockSize;
  const slots = Number(ns.blocks) / blocksPerPiece;
  const used = new Set<number>();
  for (let i = 0; i < 64; i++) {
    let slot = (seed * 7919 + i * 104729) % slots;
    while (used.has(slot)) slot = (slot + 1) % slots;
    used.add(slot);
    const lba = slot * blocksPerPiece;
    const data = randomData(piece);
    await ns.write(lba, data);
    const back = await ns.read(lba, blocksPerPiece);
    assert.deepEqual(back, data, `LBA ${lba}`);
    // The Compare command only where the controller has it (Linux's bdev backend does not).
    if ((ctrl.cdata.oncs & Oncs.COMPARE) !== 0) assert.equal(await ns.compare(lba, data), true);
  }
  await ns.flush();
}

for (const digests of [false, true]) {
  for (const ioQueues of [1, 2]) {
    test(`host against the Linux target: discover, identify, 16 MiB random round trip, perf randrw --verify (digests ${digests}, ${ioQueues} I/O queues)`, async () => {
      const address = { traddr: "127.0.0.1", trsvcid: String(kernel.port) };
      const entries = await discover({ transport: "tcp", address });
      assert.ok(
        entries.some((e) => e.subnqn === KERNEL_TARGET_NQN && e.subtype === SubsystemType.NVME),
      );
      // The entries name the guest's own address (10.0.2.15): never followed, 127.0.0.1 is used.
      const ctrl = await connect({
        transport: "tcp",
        address,
        subnqn: KERNEL_TARGET_NQN,
        ioQueues,
        headerDigests: digests,
        dataDigests: digests,
      });
      try {
        assert.equal(ctrl.cdata.subnqn, KERNEL_TARGET_NQN);
        assert.equal(ctrl.ioQueueCount, ioQueues);
        const ns = await ctrl.namespace(1);
        assert.equal(ns.blockSize, 512);
        assert.equal(Number(ns.blocks), 524288);
        await randomRoundTrip(ctrl, ioQueues + (digests ? 10 : 0));
      } finally {
        await ctrl.close();
      }
      const flags = [
        "-t",
        "tcp",
        "-a",
        "127.0.0.1",
        "-s",
        String(kernel.port),
        "-n",
        KERNEL_TARGET_NQN,
      ];
      if (digests) flags.push("-g", "-G");
      const idctrl = await nvmf(["id-ctrl", ...flags, "-o", "json"]);
      assert.equal(idctrl.code, 0, idctrl.err);
      assert.match(idctrl.out, new RegExp(KERNEL_TARGET_NQN));
      const idns = await nvmf(["id-ns", ...flags, "--namespace-id", "1"]);
      assert.equal(idns.code, 0, idns.err);
      const perf = await nvmf([
        "perf",
        ...flags,
        "--rw",
        "randrw",
        "--bs",
        "4k",
        "--iodepth",
        "8",
        "--num-queues",
        String(ioQueues),
        "--runtime",
        "2",
        "--size",
        "16M",
        "--verify",
        "-o",
        "json",
      ]);
      assert.equal(perf.code, 0, perf.err);
      const report = JSON.parse(perf.out);
      assert.equal(report.numQueues, ioQueues);
      assert.ok(report.read.ios > 0 && report.write.ios > 0, perf.out);
      assert.ok(report.verify.checked > 0, perf.out);
      assert.equal(report.verify.error, null);
    });
  }
}

test("nvmf discover against the Linux target lists its subsystem", async () => {
  const r = await nvmf(["discover", "-t", "tcp", "-a", "127.0.0.1", "-s", String(kernel.port)]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(KERNEL_TARGET_NQN));
  assert.match(r.out, new RegExp(DISCOVERY_NQN));
});

const OUR_NQN = "nqn.2026-01.test:our-target";

for (const transport of ["tcp", "loopback"] as const) {
  test(`host against our controller over ${transport}: identify, 16 MiB random round trip, reconnect after a target restart`, async () => {
    const port = transport === "tcp" ? String(await freePort()) : undefined;
    const address = transport === "tcp"
      ? { traddr: "127.0.0.1", trsvcid: port }
      : { traddr: "interop-host-test" };
    // A file namespace, so that what was written survives the restart.
    const image = await Deno.makeTempFile({ suffix: ".img" });
    await Deno.truncate(image, 64 << 20);
    const start = async () => {
      const target = new Target();
      const backend = await FileBackend.open(image, { blockSize: 512 });
      target.addSubsystem({ nqn: OUR_NQN, namespaces: [{ backend }] });
      await target.listen(transport, address);
      return target;
    };
    let target = await start();
    const ctrl = await connect({
      transport,
      address,
      subnqn: OUR_NQN,
      ioQueues: 2,
      reconnectDelay: 200,
      ctrlLossTimeout: 20_000,
    });
    try {
      await randomRoundTrip(ctrl, 3);
      const ns = await ctrl.namespace(1);
      const data = randomData(4096);
      await ns.write(8, data);
      // The target goes away and comes back on the same address: the host reconnects.
      const reconnected = new Promise<void>((resolve) => ctrl.on("reconnected", () => resolve()));
      await target.close();
      target = await start();
      await reconnected;
      assert.deepEqual(await ns.read(8, 8), data);
      await randomRoundTrip(ctrl, 5);
    } finally {
      await ctrl.close();
      await target.close();
      await Deno.remove(image);
    }
  });
}

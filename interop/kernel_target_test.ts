// The NVMe/TCP transport judged by the Linux 6.1 kernel target (nvmet-tcp under qemu).
// Run with `deno task test:interop`; needs ../shared/interop/setup.sh to have run.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  blockSize,
  ControllerType,
  decodeCap,
  decodeIdentifyController,
  decodeIdentifyNamespace,
  decodeVs,
  NvmOpcode,
  Property,
} from "@nvmf/proto";
import { Association } from "@nvmf/transport";
import { tcp } from "@nvmf/transport-tcp";
import { KERNEL_TARGET_NQN, type KernelTarget, startKernelTarget } from "./_kernel.ts";
import {
  blockIo,
  connectQueue,
  enableController,
  generateHostId,
  getProperty,
  identify,
  IdentifyCns,
} from "./_test_host.ts";

let target: KernelTarget;

before(async () => {
  target = await startKernelTarget();
});

after(async () => {
  await target?.stop();
});

for (const digests of [false, true]) {
  test(`Linux 6.1 target: connect, CAP/VS, enable, identify, I/O queue, 1 MiB write/read (digests ${digests})`, async () => {
    const address = { traddr: "127.0.0.1", trsvcid: String(target.port) };
    const hostid = generateHostId();
    const na = new Association(tcp, false, {
      tcp: { headerDigests: digests, dataDigests: digests } as never,
    });
    const { queue: admin, cntlid } = await connectQueue(na, address, {
      qid: 0,
      qsize: 32,
      subnqn: KERNEL_TARGET_NQN,
      hostid,
    });
    assert.ok(cntlid > 0 && cntlid < 0xfff0, `cntlid ${cntlid}`);
    assert.deepEqual(
      [admin.qp.state().transport.headerDigests, admin.qp.state().transport.dataDigests],
      [digests, digests],
    );

    const cap = decodeCap(await getProperty(admin, Property.CAP));
    assert.ok(cap.mqes >= 31, `MQES ${cap.mqes}`);
    const vs = decodeVs(Number(await getProperty(admin, Property.VS)));
    assert.equal(vs.major, 1);
    await enableController(admin);

    const ctrl = decodeIdentifyController(await identify(admin, IdentifyCns.CONTROLLER));
    assert.equal(ctrl.subnqn, KERNEL_TARGET_NQN);
    assert.equal(ctrl.cntrltype, ControllerType.IO);
    assert.equal(ctrl.cntlid, cntlid);
    na.update({ ioccsz: ctrl.ioccsz, mdts: ctrl.mdts, sgls: ctrl.sgls });
    const ns = decodeIdentifyNamespace(await identify(admin, IdentifyCns.NAMESPACE, 1));
    assert.equal(blockSize(ns), 512);

    const { queue: io } = await connectQueue(na, address, {
      qid: 1,
      qsize: 32,
      subnqn: KERNEL_TARGET_NQN,
      hostid,
      cntlid,
    });
    const data = new Uint8Array(1 << 20);
    crypto.getRandomValues(data.subarray(0, 65536));
    for (let i = 65536; i < data.length; i += 65536) data.copyWithin(i, 0, 65536);
    data[12345] ^= digests ? 1 : 2;
    const lba = digests ? 4096 : 0;
    await blockIo(io, NvmOpcode.WRITE, lba, data);
    const back = new Uint8Array(data.length);
    await blockIo(io, NvmOpcode.READ, lba, back);
    assert.deepEqual(back, data);
    // Small in-capsule write too.
    const small = data.subarray(0, 4096);
    await blockIo(io, NvmOpcode.WRITE, lba + 4096, small);
    const smallBack = new Uint8Array(4096);
    await blockIo(io, NvmOpcode.READ, lba + 4096, smallBack);
    assert.deepEqual(smallBack, small);

    await io.qp.close();
    await admin.qp.close();
  });
}

// Reservations against our target daemon, judged by the Linux 6.1 kernel host with nvme-cli
// (interop/workloads/resv.sh: resv-register, resv-acquire, resv-report, resv-release) while our
// own host (@nvmf/host, in this process, another Host Identifier) is the second host: Reservation
// Conflict on its writes while the kernel host holds Write Exclusive, registered or not; its
// reads pass; its writes pass again once the kernel host released. About 1 to 3 minutes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Namespace } from "@nvmf/host";
import { GenericStatus, NvmeStatusError, ReservationType } from "@nvmf/proto";
import { tcp } from "@nvmf/transport-tcp";
import { nvmeErrors, REPO_DIR, runKernelHost, startOurTarget } from "./_kernel.ts";

const NQN = "nqn.2026-01.test:nvmf-resv";
const OUR_HOSTID = "0f0e0d0c-0b0a-4908-8706-050403020100";

async function writeStatus(ns: Namespace): Promise<number | "ok"> {
  try {
    await ns.write(8, new Uint8Array(ns.blockSize).fill(0x5a));
    return "ok";
  } catch (e) {
    if (e instanceof NvmeStatusError) return e.sc;
    throw e;
  }
}

async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

test("Linux host: nvme resv-register/acquire/report/release; a second host gets Reservation Conflict", async () => {
  const target = await startOurTarget(["--nqn", NQN, "--ram", "64M"]);
  const guest = runKernelHost(
    target.port,
    NQN,
    `${REPO_DIR}interop/workloads/resv.sh`,
    ["--no-discover", "--timeout", "400"],
  );
  const ctrl = await connect({
    transport: tcp,
    address: { traddr: "127.0.0.1", trsvcid: String(target.port) },
    subnqn: NQN,
    hostnqn: "nqn.2026-01.test:nvmf-resv-second-host",
    hostid: OUR_HOSTID,
    ioQueues: 1,
  });
  try {
    const ns = await ctrl.namespace(1);
    const guestDone = guest.then(() => true);
    // Wait for the kernel host to hold Write Exclusive.
    await until("the kernel host's reservation", async () => {
      if (await Promise.race([guestDone, Promise.resolve(false)])) {
        const r = await guest;
        throw new Error(`resv.sh ended early (${r.code}):\n${r.stdout.slice(-3000)}`);
      }
      return (await ns.reservationReport()).rtype === ReservationType.WRITE_EXCLUSIVE;
    }, 380_000);
    const held = await ns.reservationReport();
    assert.equal(held.registrants.length, 1);
    assert.equal(held.registrants[0].holder, true);
    assert.equal(held.registrants[0].rkey, 0xabcn);
    const hex = [...held.registrants[0].hostid].map((b) => b.toString(16).padStart(2, "0")).join(
      "",
    );
    assert.notEqual(hex, OUR_HOSTID.replaceAll("-", "")); // the kernel host's, not ours
    assert.equal(await writeStatus(ns), GenericStatus.RESERVATION_CONFLICT);
    await ns.read(0, 1); // reads pass under Write Exclusive
    await ns.reservationRegister({ nrkey: 0xdefn });
    assert.equal(await writeStatus(ns), GenericStatus.RESERVATION_CONFLICT); // registrant: still
    // The kernel host sees two registrants, releases and unregisters.
    await until("the release", async () => (await ns.reservationReport()).rtype === 0, 120_000);
    assert.equal(await writeStatus(ns), "ok");
    const r = await guest;
    assert.equal(r.code, 0, `resv.sh failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /RESV holder write OK/);
    assert.match(r.stdout, /regctl *: *2/);
    assert.match(r.stdout, /RESV workload PASSED/);
    assert.deepEqual(nvmeErrors(r.stderr), []);
    const last = await ns.reservationReport();
    assert.deepEqual(last.registrants.map((x) => x.rkey), [0xdefn]);
  } finally {
    await ctrl.close().catch(() => {});
    await guest.catch(() => {});
    await target.stop();
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { RamBackend, Target } from "@nvmf/controller";
import { pathAddresses } from "./list_subsys.ts";
import { type CliIo, main } from "./nvmf.ts";

// `nvmf list-subsys` against two NVMe/TCP ports of our target (127.0.0.1), one of them made
// inaccessible.

const HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-4333-8444-555555555555";
const HOSTID = "11111111-2222-4333-8444-555555555555";
const NQN = "nqn.2026-01.test.cli:list-subsys";

async function run(args: string[]) {
  let out = "";
  let err = "";
  const io: CliIo = { stdout: (t) => out += t, stderr: (t) => err += t, progress: false };
  const code = await main(args, io);
  return { code, out, err };
}

test("nvmf list-subsys prints every path with its state and ANA state, and as JSON", async () => {
  const target = new Target();
  target.addSubsystem({
    nqn: NQN,
    namespaces: [{ backend: new RamBackend({ size: 1 << 20, blockSize: 512 }) }],
  });
  const a = await target.listen("tcp", { traddr: "127.0.0.1", trsvcid: "0" });
  const b = await target.listen("tcp", { traddr: "127.0.0.1", trsvcid: "0" });
  target.setAnaState({ nqn: NQN, address: b.address, state: "inaccessible" });
  const ports = `${a.address.trsvcid},${b.address.trsvcid}`;
  const conn = ["-a", "127.0.0.1", "-s", ports, "-n", NQN, "-q", HOSTNQN, "-I", HOSTID];
  try {
    const r = await run(["list-subsys", ...conn]);
    assert.equal(r.err, "");
    assert.equal(r.code, 0);
    const lines = r.out.trimEnd().split("\n");
    assert.equal(lines[0], `nvmf-subsys0 - NQN=${NQN}`);
    assert.match(lines[1], new RegExp(`^ +hostnqn=${HOSTNQN}$`));
    assert.match(lines[2], /^ +iopolicy=round-robin$/);
    assert.equal(lines[3], "\\");
    assert.match(
      lines[4],
      new RegExp(
        `^ \\+- ctrl\\d+ tcp traddr=127\\.0\\.0\\.1,trsvcid=${a.address.trsvcid} live optimized$`,
      ),
    );
    assert.match(
      lines[5],
      new RegExp(
        `^ \\+- ctrl\\d+ tcp traddr=127\\.0\\.0\\.1,trsvcid=${b.address.trsvcid} live inaccessible$`,
      ),
    );
    const j = await run(["list-subsys", ...conn, "-o", "json"]);
    assert.equal(j.code, 0);
    const [host] = JSON.parse(j.out);
    assert.equal(host.HostNQN, HOSTNQN);
    assert.equal(host.HostID, HOSTID);
    const [sub] = host.Subsystems;
    assert.equal(sub.NQN, NQN);
    assert.deepEqual(
      sub.Paths.map((p: Record<string, unknown>) => [p.Transport, p.Address, p.State, p.ANAState]),
      [
        ["tcp", `traddr=127.0.0.1,trsvcid=${a.address.trsvcid}`, "live", "optimized"],
        ["tcp", `traddr=127.0.0.1,trsvcid=${b.address.trsvcid}`, "live", "inaccessible"],
      ],
    );
    assert.notEqual(sub.Paths[0].CNTLID, sub.Paths[1].CNTLID);
    // Lists that do not pair up are a usage error.
    const bad = await run([
      "list-subsys",
      "-a",
      "127.0.0.1,127.0.0.2,127.0.0.3",
      "-s",
      "1,2",
      "-n",
      NQN,
      "-q",
      HOSTNQN,
      "-I",
      HOSTID,
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /Cannot pair 3 addresses/);
  } finally {
    await target.close();
  }
});

test("pathAddresses() pairs -a and -s lists", () => {
  assert.deepEqual(pathAddresses("a,b", "1,2"), [{ traddr: "a", trsvcid: "1" }, {
    traddr: "b",
    trsvcid: "2",
  }]);
  assert.deepEqual(pathAddresses("a,b", "9"), [{ traddr: "a", trsvcid: "9" }, {
    traddr: "b",
    trsvcid: "9",
  }]);
  assert.deepEqual(pathAddresses("a", "1,2"), [{ traddr: "a", trsvcid: "1" }, {
    traddr: "a",
    trsvcid: "2",
  }]);
  assert.deepEqual(pathAddresses("a", undefined), [{ traddr: "a" }]);
  assert.throws(() => pathAddresses(",", "1"), /names no address/);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncEventNotice, GenericStatus, NvmeStatusError } from "@nvmf/proto";
import { Target } from "@nvmf/controller";
import { connect, type HostEvent } from "@nvmf/host";
import "@nvmf/transport-tcp";
import { handleRequest } from "./rpc_server.ts";
import { loadSpdkConfig, rpcMethods, saveConfig } from "./rpc_methods.ts";
import { metricsText, serveMetrics } from "./metrics.ts";

const NQN = "nqn.2016-06.io.spdk:cnode1";

async function rpc(methods: ReturnType<typeof rpcMethods>, method: string, params?: unknown) {
  const r = await handleRequest(methods, {
    jsonrpc: "2.0",
    id: 1,
    method,
    ...(params === undefined ? {} : { params }),
  });
  return r!;
}

async function ok(methods: ReturnType<typeof rpcMethods>, method: string, params?: unknown) {
  const r = await rpc(methods, method, params);
  assert.equal(r.error, undefined, `${method}: ${JSON.stringify(r.error)}`);
  return r.result;
}

async function quickStart(methods: ReturnType<typeof rpcMethods>, trsvcid = "0") {
  await ok(methods, "nvmf_create_transport", {
    trtype: "TCP",
    io_unit_size: 16384,
    max_qpairs_per_ctrlr: 8,
    in_capsule_data_size: 8192,
  });
  await ok(methods, "bdev_malloc_create", { name: "Malloc0", num_blocks: 131072, block_size: 512 });
  await ok(methods, "nvmf_create_subsystem", {
    nqn: NQN,
    allow_any_host: true,
    serial_number: "SPDK00000000000001",
    model_number: "SPDK_Controller1",
  });
  assert.equal(
    await ok(methods, "nvmf_subsystem_add_ns", { nqn: NQN, namespace: { bdev_name: "Malloc0" } }),
    1,
  );
  await ok(methods, "nvmf_subsystem_add_listener", {
    nqn: NQN,
    listen_address: { trtype: "tcp", traddr: "127.0.0.1", trsvcid },
  });
}

test("the SPDK quick start builds the target it says", async () => {
  const target = new Target();
  const methods = rpcMethods(target);
  try {
    await quickStart(methods);
    const sub = target.subsystem(NQN)!;
    assert.equal(sub.serial, "SPDK00000000000001");
    assert.equal(sub.model, "SPDK_Controller1");
    assert.equal(sub.allowAnyHost, true);
    assert.equal(sub.namespaces[0].blocks, 131072);
    assert.equal(target.ports.length, 1);
    assert.equal(target.ports[0].association.params.ioInCapsuleData, 8192);
    assert.deepEqual(await ok(methods, "nvmf_get_transports"), [{
      trtype: "TCP",
      in_capsule_data_size: 8192,
      max_queue_depth: 128,
      max_io_size: 1 << 20,
      max_io_qpairs_per_ctrlr: 7,
    }]);
    const listeners = await ok(methods, "nvmf_subsystem_get_listeners", { nqn: NQN }) as {
      address: { trtype: string; trsvcid: string };
    }[];
    assert.equal(listeners[0].address.trtype, "TCP");
    assert.equal(listeners[0].address.trsvcid, target.ports[0].address.trsvcid);
    const bdevs = await ok(methods, "bdev_get_bdevs") as { name: string; claimed: boolean }[];
    assert.deepEqual(bdevs.map((b) => [b.name, b.claimed]), [["Malloc0", true]]);
    const version = await ok(methods, "spdk_get_version") as { fields: { major: number } };
    assert.equal(version.fields.major, 0);
    const names = await ok(methods, "rpc_get_methods") as string[];
    assert.ok(names.includes("nvmf_subsystem_listener_set_ana_state"));
  } finally {
    await target.close();
  }
});

test("wrong params answer -32602 and change nothing", async () => {
  const target = new Target();
  const methods = rpcMethods(target);
  try {
    await quickStart(methods);
    const before = JSON.stringify(saveConfig(target));
    const bad: [string, unknown][] = [
      ["nvmf_create_subsystem", { nqn: NQN }], // taken
      ["nvmf_create_subsystem", { nqn: "nqn.x", bogus: 1 }], // unknown parameter
      ["nvmf_subsystem_add_ns", { nqn: NQN, namespace: { bdev_name: "Malloc0" } }], // in use
      ["nvmf_subsystem_add_ns", { nqn: NQN, namespace: { bdev_name: "None" } }],
      ["nvmf_subsystem_add_ns", { nqn: "nqn.none", namespace: { bdev_name: "Malloc0" } }],
      ["nvmf_subsystem_remove_ns", { nqn: NQN, nsid: 9 }],
      ["nvmf_subsystem_remove_ns", { nqn: NQN, nsid: "1" }],
      ["bdev_malloc_create", { name: "Malloc0", num_blocks: 8, block_size: 512 }],
      ["bdev_malloc_create", { name: "M", num_blocks: 8, block_size: 1000 }],
      ["bdev_malloc_delete", { name: "Malloc0" }], // in use
      ["bdev_aio_create", { name: "A", filename: "/nonexistent/file" }],
      ["nvmf_create_transport", { trtype: "TCP" }], // exists
      ["nvmf_create_transport", { trtype: "RDMA" }],
      ["nvmf_subsystem_add_listener", {
        nqn: NQN,
        listen_address: {
          trtype: "tcp",
          traddr: "127.0.0.1",
          trsvcid: target.ports[0].address.trsvcid,
        },
      }],
      ["nvmf_subsystem_remove_listener", {
        nqn: NQN,
        listen_address: { trtype: "tcp", traddr: "127.0.0.2", trsvcid: "1" },
      }],
      ["nvmf_subsystem_add_host", { nqn: NQN, host: "nqn.h", psk: "NVMeTLSkey-1:01:secret" }],
      ["nvmf_subsystem_remove_host", { nqn: NQN, host: "nqn.not-there" }],
      ["nvmf_delete_subsystem", { nqn: "nqn.none" }],
      ["nvmf_get_subsystems", { nqn: "nqn.none" }],
      ["nvmf_create_subsystem", {}],
      ["nvmf_create_subsystem", []],
    ];
    for (const [method, params] of bad) {
      const r = await rpc(methods, method, params);
      assert.equal(r.error?.code, -32602, `${method} ${JSON.stringify(params)}`);
      assert.doesNotMatch(r.error!.message, /secret/);
    }
    assert.equal(JSON.stringify(saveConfig(target)), before);
  } finally {
    await target.close();
  }
});

test("nvmf_subsystem_listener_set_ana_state changes the listener's ANA state", async () => {
  const target = new Target();
  const methods = rpcMethods(target);
  try {
    await quickStart(methods);
    const [listener] = await ok(methods, "nvmf_subsystem_get_listeners", { nqn: NQN }) as {
      address: { trtype: string; traddr: string; trsvcid: string; adrfam: string };
      ana_state: string;
    }[];
    assert.equal(listener.ana_state, "optimized");
    const params = { nqn: NQN, listen_address: listener.address, ana_state: "inaccessible" };
    assert.equal(await ok(methods, "nvmf_subsystem_listener_set_ana_state", params), true);
    const [after] = await ok(methods, "nvmf_subsystem_get_listeners", { nqn: NQN }) as {
      ana_state: string;
      ana_states: { ana_group: number; ana_state: string }[];
    }[];
    assert.equal(after.ana_state, "inaccessible");
    assert.deepEqual(after.ana_states, [{ ana_group: 1, ana_state: "inaccessible" }]);
    const port = target.ports[0];
    assert.equal(target.subsystem(NQN)!.ana.states(port.portid)[1], 3); // AnaState.INACCESSIBLE
    // A state SPDK does not take, a listener that is not there, a group beyond ANAGRPMAX.
    for (
      const bad of [
        { ...params, ana_state: "sideways" },
        { ...params, listen_address: { ...listener.address, trsvcid: "1" } },
        { ...params, anagrpid: 129 },
      ]
    ) {
      const r = await rpc(methods, "nvmf_subsystem_listener_set_ana_state", bad);
      assert.equal(r.error?.code, -32602, JSON.stringify(bad));
    }
  } finally {
    await target.close();
  }
});

test("save_config loads back into the same configuration", async () => {
  const a = new Target();
  const b = new Target();
  try {
    const ma = rpcMethods(a);
    await quickStart(ma);
    await ok(ma, "bdev_malloc_create", { name: "Malloc1", num_blocks: 64, block_size: 4096 });
    await ok(ma, "nvmf_create_subsystem", {
      nqn: "nqn.2016-06.io.spdk:cnode2",
      serial_number: "S2",
    });
    await ok(ma, "nvmf_subsystem_add_host", { nqn: "nqn.2016-06.io.spdk:cnode2", host: "nqn.h1" });
    await ok(ma, "nvmf_subsystem_add_ns", {
      nqn: "nqn.2016-06.io.spdk:cnode2",
      namespace: { bdev_name: "Malloc1", nsid: 5, nguid: "00112233445566778899AABBCCDDEEFF" },
    });
    const saved = await ok(ma, "save_config") as ReturnType<typeof saveConfig>;
    // Listen elsewhere: the first target holds the port.
    for (const c of saved.subsystems.find((s) => s.subsystem === "nvmf")!.config) {
      const la = (c.params as { listen_address?: { trsvcid: string } }).listen_address;
      if (la !== undefined) la.trsvcid = "0";
    }
    const json = JSON.parse(JSON.stringify(saved));
    await loadSpdkConfig(rpcMethods(b), json);
    const strip = (t: Target) => {
      const c = saveConfig(t);
      for (const s of c.subsystems) {
        for (const call of s.config) {
          delete (call.params as { listen_address?: unknown }).listen_address;
        }
      }
      return c;
    };
    assert.deepEqual(strip(b), strip(a));
    assert.equal(b.ports.length, 1);
  } finally {
    await a.close();
    await b.close();
  }
});

test("live: a host sees namespaces added and removed; I/O to a removed one fails; listener and host removal", async () => {
  const target = new Target();
  const methods = rpcMethods(target);
  await quickStart(methods);
  const trsvcid = target.ports[0].address.trsvcid!;
  const ctrl = await connect({
    transport: "tcp",
    address: { traddr: "127.0.0.1", trsvcid },
    subnqn: NQN,
    kato: 0,
  });
  const metrics = await serveMetrics(target, "127.0.0.1", 0);
  try {
    const aens: HostEvent[] = [];
    const next = () =>
      new Promise<HostEvent>((resolve) => {
        const off = ctrl.on("aen", (e) => {
          off();
          aens.push(e);
          resolve(e);
        });
      });
    await ok(methods, "bdev_malloc_create", { name: "Malloc1", num_blocks: 2048, block_size: 512 });
    let got = next();
    assert.equal(
      await ok(methods, "nvmf_subsystem_add_ns", { nqn: NQN, namespace: { bdev_name: "Malloc1" } }),
      2,
    );
    let e = await got;
    assert.ok(e.type === "aen");
    assert.equal(e.event.eventInfo, AsyncEventNotice.NAMESPACE_ATTRIBUTE_CHANGED);
    assert.deepEqual(e.event.changedNamespaces, [2]);
    assert.deepEqual(await ctrl.activeNamespaces(), [1, 2]);
    const ns2 = await ctrl.namespace(2);
    await ns2.write(0, new Uint8Array(512).fill(7));
    assert.equal((await ns2.read(0, 1))[0], 7);

    got = next();
    await ok(methods, "nvmf_subsystem_remove_ns", { nqn: NQN, nsid: 2 });
    e = await got;
    assert.ok(e.type === "aen");
    assert.deepEqual(e.event.changedNamespaces, [2]);
    assert.deepEqual(await ctrl.activeNamespaces(), [1]);
    await assert.rejects(
      ns2.read(0, 1),
      (err) =>
        err instanceof NvmeStatusError && err.sc === GenericStatus.INVALID_NAMESPACE_OR_FORMAT,
    );
    // The bdev is free again.
    await ok(methods, "bdev_malloc_delete", { name: "Malloc1" });

    const stats = await ok(methods, "nvmf_get_stats") as {
      poll_groups: {
        current_admin_qpairs: number;
        current_io_qpairs: number;
        completed_nvme_io: number;
      }[];
    };
    assert.equal(stats.poll_groups[0].current_admin_qpairs, 1);
    assert.ok(stats.poll_groups[0].current_io_qpairs >= 1);
    const qpairs = await ok(methods, "nvmf_subsystem_get_qpairs", { nqn: NQN }) as {
      qid: number;
    }[];
    assert.equal(qpairs[0].qid, 0);
    const ctrls = await ok(methods, "nvmf_subsystem_get_controllers", { nqn: NQN }) as unknown[];
    assert.equal(ctrls.length, 1);

    const text = await (await fetch(`http://127.0.0.1:${metrics.port}/metrics`)).text();
    assert.match(text, /nvmf_subsystem_controllers\{subnqn="nqn.2016-06.io.spdk:cnode1"\} 1/);
    assert.match(
      text,
      /nvmf_subsystem_invalid_namespace_commands_total\{subnqn="nqn.2016-06.io.spdk:cnode1"\} 1/,
    );
    assert.match(text, /status="INVALID_NAMESPACE_OR_FORMAT"/);
    assert.equal((await fetch(`http://127.0.0.1:${metrics.port}/nope`)).status, 404);

    // Removing the listener closes the controller's queue pairs and bumps the generation.
    const genctr = target.genctr;
    const closed = new Promise((resolve) => target.on("controller-destroyed", resolve));
    await ok(methods, "nvmf_subsystem_remove_listener", {
      nqn: NQN,
      listen_address: { trtype: "tcp", traddr: "127.0.0.1", trsvcid },
    });
    await closed;
    assert.ok(target.genctr > genctr);
    assert.equal(target.controllers.length, 0);
    assert.equal(target.ports.length, 0);
  } finally {
    await ctrl.close().catch(() => {});
    await metrics.close();
    await target.close();
  }
});

test("remove_host tears down that host's controllers; delete_subsystem releases the bdevs", async () => {
  const target = new Target();
  const methods = rpcMethods(target);
  try {
    await quickStart(methods);
    const hostnqn = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555";
    await ok(methods, "nvmf_subsystem_allow_any_host", { nqn: NQN, allow_any_host: false });
    await ok(methods, "nvmf_subsystem_add_host", { nqn: NQN, host: hostnqn });
    const trsvcid = target.ports[0].address.trsvcid!;
    const ctrl = await connect(
      {
        transport: "tcp",
        address: { traddr: "127.0.0.1", trsvcid },
        subnqn: NQN,
        hostnqn,
        kato: 0,
        reconnect: false,
      } as Parameters<typeof connect>[0],
    );
    try {
      assert.equal(target.controllers.length, 1);
      const closed = new Promise((resolve) => target.on("controller-destroyed", resolve));
      await ok(methods, "nvmf_subsystem_remove_host", { nqn: NQN, host: hostnqn });
      await closed;
      assert.equal(target.controllers.length, 0);
    } finally {
      await ctrl.close().catch(() => {});
    }
    await ok(methods, "nvmf_delete_subsystem", { nqn: NQN });
    assert.equal(target.ports.length, 0);
    await ok(methods, "bdev_malloc_delete", { name: "Malloc0" });
    assert.match(metricsText(target), /# TYPE nvmf_subsystem_controllers gauge/);
  } finally {
    await target.close();
  }
});

test("nvmf_set_config sets the DH-HMAC-CHAP policy as SPDK; save_config writes it and loads it back", async () => {
  const a = new Target();
  const b = new Target();
  try {
    const log: unknown[] = [];
    const ma = rpcMethods(a, (_level, event, fields) => log.push({ event, fields }));
    // What SPDK's save_config writes for it.
    assert.equal(
      await ok(ma, "nvmf_set_config", {
        discovery_filter: "match_any",
        admin_cmd_passthru: {
          identify_ctrlr: false,
          identify_uuid_list: false,
          get_log_page: false,
          get_set_features: false,
          sanitize: false,
          security_send_recv: false,
          fw_update: false,
          nvme_mi: false,
          vendor_specific: false,
        },
        dhchap_digests: ["sha384", "sha512"],
        dhchap_dhgroups: ["null", "ffdhe2048"],
      }),
      true,
    );
    assert.deepEqual(a.dhchapPolicy, {
      digests: ["sha384", "sha512"],
      dhgroups: ["null", "ffdhe2048"],
    });
    assert.deepEqual(log, [{
      event: "config-options-ignored",
      fields: { method: "nvmf_set_config", ignored: ["admin_cmd_passthru", "discovery_filter"] },
    }]);
    // As SPDK, on top of the current configuration: a list left out keeps its value.
    await ok(ma, "nvmf_set_config", { dhchap_dhgroups: ["ffdhe8192"] });
    assert.deepEqual(a.dhchapPolicy, { digests: ["sha384", "sha512"], dhgroups: ["ffdhe8192"] });
    // Wrong params: -32602 naming what is wrong, and nothing changes.
    for (
      const [params, pattern] of [
        [{ dhchap_digests: ["md5"] }, /dhchap_digests "md5"/],
        [{ dhchap_dhgroups: [] }, /dhchap_dhgroups: give one or more/],
        [{ dhchap_digests: "sha256" }, /dhchap_digests/],
        [{ poll_group_mask: "0x1" }, /poll_group_mask/],
      ] as const
    ) {
      const r = await rpc(ma, "nvmf_set_config", params);
      assert.equal(r.error?.code, -32602, JSON.stringify(params));
      assert.match(r.error!.message, pattern);
    }
    assert.deepEqual(a.dhchapPolicy, { digests: ["sha384", "sha512"], dhgroups: ["ffdhe8192"] });
    const saved = saveConfig(a);
    const nvmf = saved.subsystems.find((s) => s.subsystem === "nvmf")!.config;
    assert.deepEqual(nvmf[0], {
      method: "nvmf_set_config",
      params: { dhchap_digests: ["sha384", "sha512"], dhchap_dhgroups: ["ffdhe8192"] },
    });
    await loadSpdkConfig(rpcMethods(b), JSON.parse(JSON.stringify(saved)));
    assert.deepEqual(b.dhchapPolicy, { digests: ["sha384", "sha512"], dhgroups: ["ffdhe8192"] });
    // Never set before: a list left out allows all.
    const c = new Target();
    await ok(rpcMethods(c), "nvmf_set_config", { dhchap_digests: ["sha256"] });
    assert.deepEqual(c.dhchapPolicy, { digests: ["sha256"] });
    assert.deepEqual(
      saveConfig(c).subsystems.find((s) => s.subsystem === "nvmf")!.config[0].params,
      {
        dhchap_digests: ["sha256"],
        dhchap_dhgroups: ["null", "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192"],
      },
    );
    await c.close();
    assert.equal(
      saveConfig(new Target()).subsystems.find((s) => s.subsystem === "nvmf")!.config.length,
      0,
      "no policy, no call",
    );
  } finally {
    await a.close();
    await b.close();
  }
});

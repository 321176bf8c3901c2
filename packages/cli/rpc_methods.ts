/**
 * The JSON-RPC methods of the target daemon, with SPDK's names, parameter names and result
 * shapes (SPDK's `doc/jsonrpc.md`, `python/spdk/rpc/nvmf.py` and `bdev.py`), each a thin layer
 * over `Target` of `@nvmf/controller`: parse and check the params (unknown ones are Invalid
 * params, as SPDK's decoders make them), call the target, shape the result. Every check comes
 * before the first change, so a failed call changes nothing.
 *
 * What differs from SPDK: there is one target (`tgt_name` must be absent or `"nvmf_tgt"`) and
 * one poll group; `nvmf_create_transport` applies `in_capsule_data_size`, `max_queue_depth`,
 * `max_io_size` and `max_io_qpairs_per_ctrlr` (or `max_qpairs_per_ctrlr`, which counts the
 * admin queue) and ignores the rest, logging their names; ANA reporting is always on (the
 * listener's state changes with `nvmf_subsystem_listener_set_ana_state`); TLS PSKs of
 * `nvmf_subsystem_add_host` are refused, its DH-HMAC-CHAP keys name keys of the file keyring
 * (`keyring_file_add_key`, see `./rpc_keyring.ts`); of `nvmf_set_config` only the DH-HMAC-CHAP
 * lists apply; a bdev in use cannot be deleted.
 *
 * @example Usage
 * ```ts
 * import { rpcMethods } from "@nvmf/cli/rpc-methods";
 * import { Target } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * const target = new Target();
 * const methods = rpcMethods(target);
 * assert.equal(await methods.bdev_malloc_create({ name: "Malloc0", num_blocks: 2048, block_size: 512 }), "Malloc0");
 * await methods.nvmf_create_subsystem({ nqn: "nqn.2016-06.io.spdk:cnode1", allow_any_host: true });
 * assert.equal(await methods.nvmf_subsystem_add_ns({ nqn: "nqn.2016-06.io.spdk:cnode1", namespace: { bdev_name: "Malloc0" } }), 1);
 * await target.close();
 * ```
 *
 * @module
 */

import { z } from "zod";
import { DISCOVERY_NQN } from "@nvmf/proto";
import { DH_GROUPS, DHCHAP_HASHES, dhGroupByName, hashByName } from "@nvmf/auth";
import {
  anaStateName,
  type Bdev,
  type Port,
  type Target,
  type TransportAddress,
  type TransportOptions,
} from "@nvmf/controller";
import { keyringOf } from "./rpc_keyring.ts";
import { handleRequest, RpcError, RpcErrorCode, type RpcMethod } from "./rpc_server.ts";

/** What the methods log: a level, an event name and its fields (never a secret). */
export type RpcLog = (
  level: "info" | "warn",
  event: string,
  fields: Record<string, unknown>,
) => void;

/** The version `spdk_get_version` reports. */
export const RPC_VERSION = { major: 0, minor: 1, patch: 0, suffix: "" } as const;

/** The poll group name SPDK gives its first: ours is the only one. */
const POLL_GROUP = "nvmf_tgt_poll_group_000";

function invalid(message: string): RpcError {
  return new RpcError(RpcErrorCode.INVALID_PARAMS, message);
}

function parse<T extends z.ZodType>(schema: T, params: unknown): z.infer<T> {
  const result = schema.safeParse(params ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue.path.join(".");
    const keys = (issue as { keys?: string[] }).keys;
    const what = issue.code === "unrecognized_keys" && keys !== undefined
      ? `unknown parameter ${keys.join(", ")}`
      : `${path === "" ? "params" : path}: ${issue.message}`;
    throw invalid(`Invalid parameters: ${what}`);
  }
  return result.data;
}

/** Runs a target call, turning its RangeError/TypeError into Invalid params. */
async function call<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RpcError) throw e;
    // A caller's mistake, or a file that does not open (a system error with a code, ENOENT).
    const system = typeof (e as { code?: unknown })?.code === "string";
    if (e instanceof RangeError || e instanceof TypeError || system) {
      throw invalid((e as Error).message);
    }
    throw new RpcError(RpcErrorCode.INTERNAL_ERROR, (e as Error)?.message ?? String(e));
  }
}

const tgtName = z.literal("nvmf_tgt").optional();
/** `nvmf_set_config`'s params (SPDK's `nvmf_rpc_set_config`); only the DH-HMAC-CHAP ones apply. */
const setConfig = z.object({
  acceptor_poll_rate: z.number().int().min(0).optional(),
  conn_sched: z.string().optional(),
  // SPDK writes nine of these (identify_ctrlr, get_log_page, ...): passthrough we do not have.
  admin_cmd_passthru: z.record(z.string(), z.boolean()).optional(),
  poll_groups_mask: z.string().optional(),
  discovery_filter: z.string().optional(),
  dhchap_digests: z.array(z.string()).optional(),
  dhchap_dhgroups: z.array(z.string()).optional(),
}).strict();
const nqn = z.string().min(1).max(223);
const u32 = z.number().int().min(0).max(0xffffffff);
const keyName = z.string().min(1).max(255);

function hostKeyNames(key: string | undefined, ctrlrKey: string | undefined) {
  if (key === undefined) {
    if (ctrlrKey !== undefined) {
      throw invalid("Invalid parameters: dhchap_ctrlr_key needs dhchap_key");
    }
    return undefined;
  }
  return { key, ctrlrKey };
}

const listenAddress = z.object({
  trtype: z.string(),
  adrfam: z.string().optional(),
  traddr: z.string().min(1),
  trsvcid: z.union([z.string(), z.number().int().min(0).max(65535).transform(String)])
    .optional(),
}).strict();

/** SPDK's transport options we accept and ignore (they tune SPDK's own machinery). */
const IGNORED_TRANSPORT_OPTIONS = [
  "io_unit_size",
  "max_aq_depth",
  "num_shared_buffers",
  "buf_cache_size",
  "dif_insert_or_strip",
  "c2h_success",
  "sock_priority",
  "abort_timeout_sec",
  "zcopy",
  "no_srq",
  "max_srq_depth",
  "num_cqe",
  "acceptor_backlog",
  "no_wr_batching",
  "control_msg_num",
  "disable_mappable_bar0",
  "disable_adaptive_irq",
  "disable_shadow_doorbells",
  "disable_command_passthru",
  "acceptor_poll_rate",
  "ack_timeout",
  "data_wr_pool_size",
  "transport_specific",
  "kas_ticks",
  "association_timeout",
];

const createTransport = z.object({
  trtype: z.string(),
  tgt_name: tgtName,
  in_capsule_data_size: u32.optional(),
  max_queue_depth: u32.optional(),
  max_io_size: u32.optional(),
  max_io_qpairs_per_ctrlr: u32.optional(),
  max_qpairs_per_ctrlr: u32.optional(),
}).catchall(z.union([z.number(), z.boolean(), z.string(), z.null()]));

const createSubsystem = z.object({
  nqn,
  tgt_name: tgtName,
  serial_number: z.string().optional(),
  model_number: z.string().optional(),
  allow_any_host: z.boolean().optional(),
  max_namespaces: u32.optional(),
  ana_reporting: z.boolean().optional(),
  min_cntlid: z.number().int().min(1).max(0xffef).optional(),
  max_cntlid: z.number().int().min(1).max(0xffef).optional(),
}).strict();

const addNs = z.object({
  nqn,
  tgt_name: tgtName,
  namespace: z.object({
    bdev_name: z.string().min(1),
    nsid: z.number().int().min(0).max(0xfffffffe).optional(),
    nguid: z.string().optional(),
    eui64: z.string().optional(),
    uuid: z.string().optional(),
    anagrpid: z.number().int().min(0).optional(),
    ptpl_file: z.string().optional(),
    no_auto_visible: z.boolean().optional(),
  }).strict(),
}).strict();

function trtypeName(trtype: string): string {
  const t = trtype.toLowerCase();
  if (t !== "tcp") {
    throw invalid(`Invalid parameters: trtype ${trtype} is not supported (only TCP)`);
  }
  return t;
}

function adrfamName(address: TransportAddress): string {
  return address.traddr.includes(":") ? "IPv6" : "IPv4";
}

function addressJson(transport: string, address: TransportAddress) {
  return {
    trtype: transport === "tcp" ? "TCP" : transport,
    adrfam: adrfamName(address),
    traddr: address.traddr,
    trsvcid: address.trsvcid ?? "",
  };
}

function uuidString(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

function hexString(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

/** The options of a transport, as `nvmf_create_transport` params. */
function transportParams(options: TransportOptions) {
  return {
    in_capsule_data_size: options.inCapsuleDataSize ?? 16384,
    max_queue_depth: options.maxQueueDepth ?? 128,
    max_io_size: options.maxIoSize ?? 1 << 20,
    max_io_qpairs_per_ctrlr: options.maxIoQpairsPerCtrlr ?? 128,
  };
}

function subsystemOf(target: Target, name: string) {
  const sub = target.subsystem(name);
  if (sub === undefined) throw invalid(`Unable to find subsystem with NQN ${name}`);
  return sub;
}

function portsOf(target: Target, name: string): Port[] {
  return target.ports.filter((p) =>
    name === DISCOVERY_NQN ? p.subsystems?.length === 0 : p.exposes(name)
  );
}

/**
 * The handler of `nvmf_subsystem_listener_set_ana_state`: `Target.setAnaState` for one ANA
 * group of the subsystem on the listener, or (no `anagrpid`) every group, as SPDK.
 *
 * @param target The target.
 * @param params The request's params.
 * @returns True.
 */
export async function setAnaState(target: Target, params: unknown): Promise<boolean> {
  const p = parse(
    z.object({
      nqn,
      tgt_name: tgtName,
      listen_address: listenAddress,
      ana_state: z.enum(["optimized", "non_optimized", "inaccessible"]),
      anagrpid: z.number().int().min(1).optional(),
    }).strict(),
    params,
  );
  subsystemOf(target, p.nqn);
  trtypeName(p.listen_address.trtype); // a transport we serve, or Invalid params
  await call(() =>
    target.setAnaState({
      nqn: p.nqn,
      address: { traddr: p.listen_address.traddr, trsvcid: p.listen_address.trsvcid },
      state: p.ana_state,
      anagrpid: p.anagrpid,
    })
  );
  return true;
}

/**
 * The methods, bound to a target.
 *
 * @param target The target they operate.
 * @param log Where notes go (ignored options); default nowhere.
 * @returns The methods by name.
 */
export function rpcMethods(target: Target, log: RpcLog = () => {}): Record<string, RpcMethod> {
  let mallocSeq = 0;
  const methods: Record<string, RpcMethod> = {
    spdk_get_version: (params) => {
      parse(z.object({}).strict(), params);
      const v = RPC_VERSION;
      return { version: `nvmf v${v.major}.${v.minor}.${v.patch}`, fields: { ...v } };
    },
    rpc_get_methods: (params) => {
      parse(
        z.object({ current: z.boolean().optional(), include_aliases: z.boolean().optional() })
          .strict(),
        params,
      );
      return Object.keys(methods).sort();
    },
    nvmf_create_transport: async (params) => {
      const p = parse(createTransport, params);
      const name = trtypeName(p.trtype);
      const ignored = Object.keys(p).filter((k) =>
        IGNORED_TRANSPORT_OPTIONS.includes(k) ||
        !["trtype", "tgt_name", "in_capsule_data_size", "max_queue_depth", "max_io_size"]
          .concat(["max_io_qpairs_per_ctrlr", "max_qpairs_per_ctrlr"]).includes(k)
      );
      let ioQpairs = p.max_io_qpairs_per_ctrlr;
      if (ioQpairs === undefined && p.max_qpairs_per_ctrlr !== undefined) {
        if (p.max_qpairs_per_ctrlr < 2) {
          throw invalid("Invalid parameters: max_qpairs_per_ctrlr must be at least 2");
        }
        ioQpairs = p.max_qpairs_per_ctrlr - 1;
      }
      await call(() =>
        target.createTransport(name, {
          inCapsuleDataSize: p.in_capsule_data_size,
          maxQueueDepth: p.max_queue_depth,
          maxIoSize: p.max_io_size,
          maxIoQpairsPerCtrlr: ioQpairs,
        })
      );
      if (ignored.length > 0) {
        log("info", "transport-options-ignored", { trtype: "TCP", ignored });
      }
      return true;
    },
    nvmf_get_transports: (params) => {
      const p = parse(
        z.object({ trtype: z.string().optional(), tgt_name: tgtName }).strict(),
        params,
      );
      return target.transports
        .filter((t) => p.trtype === undefined || t.name === p.trtype.toLowerCase())
        .map((t) => ({ trtype: t.name === "tcp" ? "TCP" : t.name, ...transportParams(t.options) }));
    },
    bdev_malloc_create: (params) => {
      const p = parse(
        z.object({
          name: z.string().optional(),
          num_blocks: z.number().int().min(1),
          block_size: z.number().int().min(512).max(65536),
          uuid: z.string().optional(),
          physical_block_size: z.number().int().optional(),
          optimal_io_boundary: z.number().int().optional(),
          md_size: z.literal(0).optional(),
          md_interleave: z.boolean().optional(),
          dif_type: z.literal(0).optional(),
          dif_is_head_of_md: z.boolean().optional(),
          dif_pi_format: z.literal(0).optional(),
        }).strict(),
        params,
      );
      let name = p.name;
      while (name === undefined || (p.name === undefined && target.bdevs.get(name))) {
        name = `Malloc${mallocSeq++}`;
      }
      return call(() =>
        target.bdevs.createMalloc({
          name: name!,
          numBlocks: p.num_blocks,
          blockSize: p.block_size,
          uuid: p.uuid,
        }).name
      );
    },
    bdev_malloc_delete: async (params) => {
      const p = parse(z.object({ name: z.string() }).strict(), params);
      await call(() => target.bdevs.delete(p.name, "malloc"));
      return true;
    },
    bdev_aio_create: async (params) => {
      const p = parse(
        z.object({
          name: z.string(),
          filename: z.string().min(1),
          block_size: z.number().int().min(0).optional(),
          readonly: z.boolean().optional(),
          fallocate: z.boolean().optional(),
          uuid: z.string().optional(),
        }).strict(),
        params,
      );
      const bdev = await call(() =>
        target.bdevs.createAio({
          name: p.name,
          filename: p.filename,
          blockSize: p.block_size === 0 ? undefined : p.block_size,
          readOnly: p.readonly,
          uuid: p.uuid,
        })
      );
      return bdev.name;
    },
    bdev_aio_delete: async (params) => {
      const p = parse(z.object({ name: z.string() }).strict(), params);
      await call(() => target.bdevs.delete(p.name, "aio"));
      return true;
    },
    bdev_get_bdevs: (params) => {
      const p = parse(
        z.object({ name: z.string().optional(), timeout: z.number().optional() }).strict(),
        params,
      );
      const list = p.name === undefined ? target.bdevs.list() : [target.bdevs.get(p.name)];
      if (list[0] === undefined && p.name !== undefined) {
        throw invalid(`No such device: ${p.name}`);
      }
      return (list as Bdev[]).map((b) => bdevJson(target, b));
    },
    nvmf_create_subsystem: async (params) => {
      const p = parse(createSubsystem, params);
      // ANA reporting is always on (every namespace in group 1 unless added to another).
      await call(() =>
        target.addSubsystem({
          nqn: p.nqn,
          serial: p.serial_number,
          model: p.model_number,
          allowAnyHost: p.allow_any_host ?? false,
        })
      );
      return true;
    },
    nvmf_delete_subsystem: async (params) => {
      const p = parse(z.object({ nqn, tgt_name: tgtName }).strict(), params);
      subsystemOf(target, p.nqn);
      // Its ports serve it no longer; a port left serving nothing closes.
      for (const port of portsOf(target, p.nqn)) {
        if (port.subsystems !== undefined) {
          await call(() =>
            target.removeListener(p.nqn, port.transport.name, {
              traddr: port.address.traddr,
              trsvcid: port.address.trsvcid,
            })
          );
        }
      }
      await target.removeSubsystem(p.nqn);
      return true;
    },
    nvmf_get_subsystems: (params) => {
      const p = parse(z.object({ nqn: z.string().optional(), tgt_name: tgtName }).strict(), params);
      const out: unknown[] = [];
      if (p.nqn === undefined || p.nqn === DISCOVERY_NQN) {
        out.push({
          nqn: DISCOVERY_NQN,
          subtype: "Discovery",
          listen_addresses: portsOf(target, DISCOVERY_NQN).map((port) =>
            addressJson(port.transport.name, port.address)
          ),
          allow_any_host: true,
          hosts: [],
        });
      }
      for (const sub of target.subsystems) {
        if (p.nqn !== undefined && p.nqn !== sub.nqn) continue;
        out.push({
          nqn: sub.nqn,
          subtype: "NVMe",
          listen_addresses: portsOf(target, sub.nqn).map((port) =>
            addressJson(port.transport.name, port.address)
          ),
          allow_any_host: sub.allowAnyHost,
          hosts: sub.allowedHosts.map((h) => ({ nqn: h })),
          serial_number: sub.serial,
          model_number: sub.model,
          max_namespaces: sub.maxNamespaces,
          min_cntlid: 1,
          max_cntlid: 0xffef,
          namespaces: sub.namespaces.map((ns) => {
            const bdev = target.bdevs.byBackend(ns.backend);
            return {
              nsid: ns.nsid,
              bdev_name: bdev?.name ?? "",
              name: bdev?.name ?? "",
              nguid: hexString(ns.nguid),
              eui64: hexString(ns.eui64),
              uuid: uuidString(ns.uuid),
            };
          }),
        });
      }
      if (p.nqn !== undefined && out.length === 0) {
        throw invalid(`Unable to find subsystem with NQN ${p.nqn}`);
      }
      return out;
    },
    nvmf_subsystem_add_listener: async (params) => {
      const p = parse(
        z.object({
          nqn,
          tgt_name: tgtName,
          listen_address: listenAddress,
          secure_channel: z.literal(false).optional(),
          sock_impl: z.string().optional(),
        }).strict(),
        params,
      );
      const transport = trtypeName(p.listen_address.trtype);
      if (p.nqn !== DISCOVERY_NQN) subsystemOf(target, p.nqn);
      await call(() =>
        target.addListener(p.nqn, transport, {
          traddr: p.listen_address.traddr,
          trsvcid: p.listen_address.trsvcid ?? "4420",
        })
      );
      return true;
    },
    nvmf_subsystem_remove_listener: async (params) => {
      const p = parse(
        z.object({ nqn, tgt_name: tgtName, listen_address: listenAddress }).strict(),
        params,
      );
      const transport = trtypeName(p.listen_address.trtype);
      await call(() =>
        target.removeListener(p.nqn, transport, {
          traddr: p.listen_address.traddr,
          trsvcid: p.listen_address.trsvcid ?? "4420",
        })
      );
      return true;
    },
    nvmf_subsystem_get_listeners: (params) => {
      const p = parse(z.object({ nqn, tgt_name: tgtName }).strict(), params);
      if (p.nqn !== DISCOVERY_NQN) subsystemOf(target, p.nqn);
      const sub = p.nqn === DISCOVERY_NQN ? undefined : subsystemOf(target, p.nqn);
      const groups = [...new Set(sub?.namespaces.map((n) => n.anagrpid) ?? [])].sort((a, b) =>
        a - b
      );
      return portsOf(target, p.nqn).map((port) => {
        const states = sub?.ana.states(port.portid);
        const name = (g: number) => states === undefined ? "optimized" : anaStateName(states[g]);
        return {
          address: addressJson(port.transport.name, port.address),
          secure_channel: false,
          ana_state: name(groups[0] ?? 1),
          ana_states: (groups.length === 0 ? [1] : groups).map((g) => ({
            ana_group: g,
            ana_state: name(g),
          })),
        };
      });
    },
    nvmf_subsystem_add_ns: (params) => {
      const p = parse(addNs, params);
      const sub = subsystemOf(target, p.nqn);
      const ns = p.namespace;
      if (ns.ptpl_file !== undefined) {
        throw invalid("Invalid parameters: ptpl_file is not supported");
      }
      const bdev = target.bdevs.get(ns.bdev_name);
      if (bdev === undefined) throw invalid(`Unable to find bdev ${ns.bdev_name}`);
      if (target.subsystems.some((s) => s.namespaces.some((n) => n.backend === bdev.backend))) {
        throw invalid(`Unable to add namespace: bdev ${ns.bdev_name} is in use by a namespace`);
      }
      return call(() =>
        sub.addNamespace({
          nsid: ns.nsid === 0 ? undefined : ns.nsid,
          backend: bdev.backend,
          anagrpid: ns.anagrpid === 0 ? undefined : ns.anagrpid,
          nguid: ns.nguid,
          eui64: ns.eui64,
          uuid: ns.uuid ?? uuidString(bdev.uuid),
        }).nsid
      );
    },
    nvmf_subsystem_remove_ns: (params) => {
      const p = parse(z.object({ nqn, tgt_name: tgtName, nsid: u32 }).strict(), params);
      const sub = subsystemOf(target, p.nqn);
      if (sub.removeNamespace(p.nsid) === undefined) {
        throw invalid(`Invalid parameters: namespace ${p.nsid} of ${p.nqn} does not exist`);
      }
      return true;
    },
    nvmf_subsystem_add_host: async (params) => {
      const p = parse(
        z.object({
          nqn,
          host: nqn,
          tgt_name: tgtName,
          psk: z.unknown().optional(),
          dhchap_key: keyName.optional(),
          dhchap_ctrlr_key: keyName.optional(),
        }).strict(),
        params,
      );
      if (p.psk !== undefined) {
        throw invalid("Invalid parameters: psk is not supported by this target");
      }
      const sub = subsystemOf(target, p.nqn);
      const names = hostKeyNames(p.dhchap_key, p.dhchap_ctrlr_key);
      if (names !== undefined) {
        // The keys first: a key refused leaves the host as it was.
        await call(() => keyringOf(target).setHostKeys(p.nqn, p.host, names));
      }
      await call(() => sub.allowHost(p.host));
      return true;
    },
    nvmf_subsystem_set_keys: async (params) => {
      const p = parse(
        z.object({
          nqn,
          host: nqn,
          tgt_name: tgtName,
          dhchap_key: keyName.optional(),
          dhchap_ctrlr_key: keyName.optional(),
        }).strict(),
        params,
      );
      const sub = subsystemOf(target, p.nqn);
      if (!sub.allowedHosts.includes(p.host)) {
        throw invalid(`Unable to find host ${p.host} of subsystem ${p.nqn}`);
      }
      const names = hostKeyNames(p.dhchap_key, p.dhchap_ctrlr_key);
      await call(() => keyringOf(target).setHostKeys(p.nqn, p.host, names));
      return true;
    },
    nvmf_subsystem_remove_host: async (params) => {
      const p = parse(z.object({ nqn, host: nqn, tgt_name: tgtName }).strict(), params);
      subsystemOf(target, p.nqn);
      await call(() => target.removeHost(p.nqn, p.host));
      await keyringOf(target).setHostKeys(p.nqn, p.host, undefined);
      return true;
    },
    keyring_file_add_key: async (params) => {
      const p = parse(z.object({ name: keyName, path: z.string().min(1) }).strict(), params);
      await call(() => keyringOf(target).add(p.name, p.path));
      return true;
    },
    keyring_file_remove_key: async (params) => {
      const p = parse(z.object({ name: keyName }).strict(), params);
      await call(() => keyringOf(target).remove(p.name));
      return true;
    },
    keyring_get_keys: (params) => {
      parse(z.object({}).strict(), params);
      const keyring = keyringOf(target);
      return keyring.list().map((k) => ({
        name: k.name,
        removed: false,
        probed: false,
        refcnt: 1 + keyring.users(k.name),
        module: "keyring_file",
        path: k.path,
      }));
    },
    nvmf_set_config: async (params) => {
      const p = parse(setConfig, params);
      const ignored = Object.keys(p).filter((k) => !k.startsWith("dhchap_"));
      if (ignored.length > 0) {
        log("info", "config-options-ignored", { method: "nvmf_set_config", ignored });
      }
      // As SPDK: on top of the current configuration (a list left out keeps its value; never
      // set, it allows all).
      const current = target.dhchapPolicy;
      await call(() =>
        target.setDhchapPolicy({
          digests: p.dhchap_digests ?? current?.digests,
          dhgroups: p.dhchap_dhgroups ?? current?.dhgroups,
        })
      );
      return true;
    },
    nvmf_subsystem_allow_any_host: (params) => {
      const p = parse(
        z.object({ nqn, allow_any_host: z.boolean(), tgt_name: tgtName }).strict(),
        params,
      );
      subsystemOf(target, p.nqn).allowAnyHost = p.allow_any_host;
      return true;
    },
    nvmf_subsystem_get_controllers: (params) => {
      const p = parse(z.object({ nqn, tgt_name: tgtName }).strict(), params);
      if (p.nqn !== DISCOVERY_NQN) subsystemOf(target, p.nqn);
      return target.controllerDetails(p.nqn).map((c) => ({
        cntlid: c.cntlid,
        hostnqn: c.hostnqn,
        hostid: uuidString(hexBytes(c.hostid)),
        num_io_qpairs: c.ioQueues.length,
      }));
    },
    nvmf_subsystem_get_qpairs: (params) => {
      const p = parse(z.object({ nqn, tgt_name: tgtName }).strict(), params);
      if (p.nqn !== DISCOVERY_NQN) subsystemOf(target, p.nqn);
      const out: unknown[] = [];
      for (const c of target.controllerDetails(p.nqn)) {
        for (const qid of [0, ...c.ioQueues]) {
          out.push({
            cntlid: c.cntlid,
            qid,
            state: "active",
            thread: POLL_GROUP,
            hostnqn: c.hostnqn,
            listen_address: c.address === undefined
              ? undefined
              : addressJson(c.transport, c.address),
          });
        }
      }
      return out;
    },
    nvmf_subsystem_listener_set_ana_state: (params) => setAnaState(target, params),
    nvmf_get_stats: (params) => {
      parse(z.object({ tgt_name: tgtName }).strict(), params);
      const s = target.stats();
      return {
        tick_rate: 1_000_000_000,
        poll_groups: [{
          name: POLL_GROUP,
          admin_qpairs: s.adminQpairs,
          io_qpairs: s.ioQpairs,
          current_admin_qpairs: s.currentAdminQpairs,
          current_io_qpairs: s.currentIoQpairs,
          pending_bdev_io: 0,
          completed_nvme_io: s.completedIo,
          transports: target.transports.map((t) => ({ trtype: t.name === "tcp" ? "TCP" : t.name })),
        }],
      };
    },
    save_config: (params) => {
      parse(z.object({}).strict(), params);
      return saveConfig(target);
    },
  };
  return methods;
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(
    { length: hex.length / 2 },
    (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16),
  );
}

function bdevJson(target: Target, b: Bdev) {
  const claimed = target.subsystems.some((s) => s.namespaces.some((n) => n.backend === b.backend));
  return {
    name: b.name,
    aliases: [],
    product_name: b.kind === "malloc" ? "Malloc disk" : "AIO disk",
    block_size: b.backend.blockSize,
    num_blocks: Number(b.backend.size / BigInt(b.backend.blockSize)),
    uuid: uuidString(b.uuid),
    claimed,
    zoned: false,
    supported_io_types: {
      read: true,
      write: !b.backend.readOnly,
      unmap: true,
      write_zeroes: true,
      flush: true,
      reset: false,
      compare: true,
    },
    driver_specific: b.kind === "aio"
      ? {
        aio: { filename: b.filename, block_size_override: false, readonly: !!b.backend.readOnly },
      }
      : {},
  };
}

/** One replayable call of a saved configuration. */
export interface ConfigCall {
  /** The method. */
  method: string;
  /** Its params. */
  params?: Record<string, unknown>;
}

/** SPDK's configuration file: subsystems, each with the calls that rebuild it. */
export interface SpdkConfig {
  /** The subsystems in the order they load. */
  subsystems: { subsystem: string; config: ConfigCall[] }[];
}

/**
 * The configuration as SPDK's `save_config` writes it: the calls that rebuild the file
 * keyring (`keyring` subsystem: names and paths, never a secret), bdevs (`bdev` subsystem), transports, subsystems, namespaces, hosts and listeners (`nvmf`).
 * RAM bdevs come back empty, as SPDK's do.
 *
 * @param target The target.
 * @returns The configuration.
 */
export function saveConfig(target: Target): SpdkConfig {
  const bdev: ConfigCall[] = target.bdevs.list().map((b) =>
    b.kind === "malloc"
      ? {
        method: "bdev_malloc_create",
        params: {
          name: b.name,
          num_blocks: Number(b.backend.size / BigInt(b.backend.blockSize)),
          block_size: b.backend.blockSize,
          uuid: uuidString(b.uuid),
        },
      }
      : {
        method: "bdev_aio_create",
        params: {
          name: b.name,
          filename: b.filename,
          block_size: b.backend.blockSize,
          readonly: !!b.backend.readOnly,
          uuid: uuidString(b.uuid),
        },
      }
  );
  const nvmf: ConfigCall[] = [];
  const policy = target.dhchapPolicy;
  if (policy !== undefined) {
    // SPDK writes both lists; so do we, in SPDK's names.
    nvmf.push({
      method: "nvmf_set_config",
      params: {
        dhchap_digests: (policy.digests ?? DHCHAP_HASHES.map((h) => h.digest))
          .map((n) => hashByName(n)?.digest ?? n),
        dhchap_dhgroups: (policy.dhgroups ?? DH_GROUPS.map((g) => g.name))
          .map((n) => dhGroupByName(n)?.name ?? n),
      },
    });
  }
  for (const t of target.transports) {
    nvmf.push({
      method: "nvmf_create_transport",
      params: {
        trtype: t.name === "tcp" ? "TCP" : t.name,
        ...Object.fromEntries(
          Object.entries({
            in_capsule_data_size: t.options.inCapsuleDataSize,
            max_queue_depth: t.options.maxQueueDepth,
            max_io_size: t.options.maxIoSize,
            max_io_qpairs_per_ctrlr: t.options.maxIoQpairsPerCtrlr,
          }).filter(([, v]) => v !== undefined),
        ),
      },
    });
  }
  const listener = (name: string, port: Port): ConfigCall => ({
    method: "nvmf_subsystem_add_listener",
    params: { nqn: name, listen_address: addressJson(port.transport.name, port.address) },
  });
  for (const port of portsOf(target, DISCOVERY_NQN)) nvmf.push(listener(DISCOVERY_NQN, port));
  for (const sub of target.subsystems) {
    nvmf.push({
      method: "nvmf_create_subsystem",
      params: {
        nqn: sub.nqn,
        serial_number: sub.serial,
        model_number: sub.model,
        allow_any_host: sub.allowAnyHost,
      },
    });
    for (const host of sub.allowedHosts) {
      const keys = keyringOf(target).hostKeys(sub.nqn, host);
      const params: Record<string, unknown> = { nqn: sub.nqn, host };
      if (keys !== undefined) params.dhchap_key = keys.key;
      if (keys?.ctrlrKey !== undefined) params.dhchap_ctrlr_key = keys.ctrlrKey;
      nvmf.push({ method: "nvmf_subsystem_add_host", params });
    }
    for (const ns of sub.namespaces) {
      const b = target.bdevs.byBackend(ns.backend);
      if (b === undefined) continue; // a namespace not made from a bdev (--ram, --file)
      const namespace: Record<string, unknown> = {
        bdev_name: b.name,
        nsid: ns.nsid,
        uuid: uuidString(ns.uuid),
      };
      if (ns.nguid.some((x) => x !== 0)) namespace.nguid = hexString(ns.nguid);
      if (ns.eui64.some((x) => x !== 0)) namespace.eui64 = hexString(ns.eui64);
      nvmf.push({ method: "nvmf_subsystem_add_ns", params: { nqn: sub.nqn, namespace } });
    }
    for (const port of portsOf(target, sub.nqn)) nvmf.push(listener(sub.nqn, port));
  }
  const keyring: ConfigCall[] = keyringOf(target).list().map((k) => ({
    method: "keyring_file_add_key",
    params: { name: k.name, path: k.path },
  }));
  return {
    subsystems: [
      { subsystem: "keyring", config: keyring },
      { subsystem: "bdev", config: bdev },
      { subsystem: "nvmf", config: nvmf },
    ],
  };
}

/** SPDK calls of a saved configuration that set options we do not have; loading skips them. */
const SKIPPED_ON_LOAD = [
  "bdev_set_options",
  "bdev_wait_for_examine",
  "bdev_nvme_set_options",
  "bdev_nvme_set_hotplug",
  "bdev_iscsi_set_options",
  "bdev_raid_set_options",
  "nvmf_set_max_subsystems",
  "nvmf_set_crdt",
];

/**
 * Tells SPDK's configuration form (`{"subsystems": [{"subsystem": "bdev", "config": [...]}]}`)
 * apart from ours and nvmetcli's.
 *
 * @param json The parsed file.
 * @returns True for SPDK's form.
 */
export function isSpdkConfig(json: unknown): json is SpdkConfig {
  if (typeof json !== "object" || json === null) return false;
  const subs = (json as Record<string, unknown>).subsystems;
  return Array.isArray(subs) && subs.length > 0 &&
    subs.every((s) => typeof s === "object" && s !== null && typeof s.subsystem === "string");
}

/**
 * Loads SPDK's configuration form by replaying its calls, `keyring`, `bdev`, then `nvmf` (other
 * subsystems, SPDK's `sock`, `accel` and the like, and the option calls we do not have are
 * skipped and logged).
 *
 * @param methods The methods (from {@linkcode rpcMethods}).
 * @param config The configuration.
 * @param log Where skipped calls are noted.
 * @returns Settles when all ran.
 * @throws {Error} Naming the subsystem, call and error of the first call that fails.
 */
export async function loadSpdkConfig(
  methods: Record<string, RpcMethod>,
  config: SpdkConfig,
  log: RpcLog = () => {},
): Promise<void> {
  const order = ["keyring", "bdev", "nvmf"];
  for (const name of order) {
    for (const sub of config.subsystems.filter((s) => s.subsystem === name)) {
      if (!Array.isArray(sub.config)) {
        if (sub.config === null || sub.config === undefined) continue;
        throw new TypeError(`Cannot load config subsystem ${name}: config is not an array`);
      }
      for (let i = 0; i < sub.config.length; i++) {
        const c = sub.config[i];
        if (typeof c?.method === "string" && SKIPPED_ON_LOAD.includes(c.method)) {
          log("info", "config-call-skipped", { subsystem: name, method: c.method });
          continue;
        }
        const response = await handleRequest(methods, {
          jsonrpc: "2.0",
          id: i,
          method: c?.method,
          ...(c?.params === undefined ? {} : { params: c.params }),
        });
        if (response?.error !== undefined) {
          throw new TypeError(
            `Cannot load config subsystem ${name} call ${i} (${c?.method}): ${response.error.message}`,
          );
        }
      }
    }
  }
  for (const sub of config.subsystems) {
    if (!order.includes(sub.subsystem)) {
      log("info", "config-subsystem-skipped", { subsystem: sub.subsystem });
    }
  }
}

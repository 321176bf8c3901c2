/**
 * `--metrics ADDR:PORT`: the target's metrics in Prometheus' text exposition format (version
 * 0.0.4) at `/metrics`, over HTTP. Per namespace (labels `subnqn`, `nsid`): read and write
 * commands and bytes, other commands, errors by status, a latency histogram; per subsystem:
 * commands that named no namespace, connected controllers and I/O queue pairs. Nothing in it
 * is a secret: NQNs, NSIDs and counts.
 *
 * @example Usage
 * ```ts
 * import { metricsText } from "@nvmf/cli/metrics";
 * import { RamBackend, Target } from "@nvmf/controller";
 * import assert from "node:assert/strict";
 * const target = new Target();
 * target.addSubsystem({ nqn: "nqn.2026-01.dev.nvmf:metrics-doc", namespaces: [{ backend: new RamBackend({ size: 1 << 20 }) }] });
 * assert.match(metricsText(target), /nvmf_namespace_read_commands_total\{subnqn="nqn.2026-01.dev.nvmf:metrics-doc",nsid="1"\} 0/);
 * await target.close();
 * ```
 *
 * @module
 */

import { createServer, type Server } from "node:http";
import { LATENCY_BUCKETS, type NamespaceMetrics, type Target } from "@nvmf/controller";
import { formatStatus } from "@nvmf/proto";

function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * The metrics of a target as Prometheus text.
 *
 * @param target The target.
 * @returns The exposition.
 */
export function metricsText(target: Target): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  const series: { labels: string; m: NamespaceMetrics }[] = [];
  const none: { labels: string; m: NamespaceMetrics }[] = [];
  for (const sub of target.subsystems) {
    const s = `subnqn="${label(sub.nqn)}"`;
    none.push({ labels: s, m: sub.metrics });
    for (const ns of sub.namespaces) {
      series.push({ labels: `${s},nsid="${ns.nsid}"`, m: ns.metrics });
    }
  }
  const counter = (name: string, help: string, get: (m: NamespaceMetrics) => number) => {
    family(name, "counter", help);
    for (const { labels, m } of series) out.push(`${name}{${labels}} ${get(m)}`);
  };
  counter(
    "nvmf_namespace_read_commands_total",
    "Read, Compare and Verify commands completed successfully.",
    (m) => m.readCommands,
  );
  counter(
    "nvmf_namespace_write_commands_total",
    "Write and Write Zeroes commands completed successfully.",
    (m) => m.writeCommands,
  );
  counter(
    "nvmf_namespace_other_commands_total",
    "Other I/O commands completed successfully.",
    (m) => m.otherCommands,
  );
  counter("nvmf_namespace_read_bytes_total", "Bytes read by hosts.", (m) => m.bytesRead);
  counter("nvmf_namespace_written_bytes_total", "Bytes written by hosts.", (m) => m.bytesWritten);
  family(
    "nvmf_namespace_errors_total",
    "counter",
    "I/O commands completed with an error, by status.",
  );
  for (const { labels, m } of [...series, ...none]) {
    for (const [status, count] of m.errors) {
      const name = formatStatus(status).split(" ")[0];
      out.push(
        `nvmf_namespace_errors_total{${labels},status="${label(name)}",sct="${
          (status >> 9) & 7
        }",sc="0x${((status >> 1) & 0xff).toString(16).padStart(2, "0")}"} ${count}`,
      );
    }
  }
  family(
    "nvmf_namespace_io_latency_seconds",
    "histogram",
    "Time from a command's arrival to its completion.",
  );
  for (const { labels, m } of series) {
    let cumulative = 0;
    for (let i = 0; i <= LATENCY_BUCKETS.length; i++) {
      cumulative += m.latencyBuckets[i];
      const le = i < LATENCY_BUCKETS.length ? String(LATENCY_BUCKETS[i]) : "+Inf";
      out.push(`nvmf_namespace_io_latency_seconds_bucket{${labels},le="${le}"} ${cumulative}`);
    }
    out.push(`nvmf_namespace_io_latency_seconds_sum{${labels}} ${m.latencySum}`);
    out.push(`nvmf_namespace_io_latency_seconds_count{${labels}} ${m.latencyCount}`);
  }
  family(
    "nvmf_subsystem_invalid_namespace_commands_total",
    "counter",
    "I/O commands that named no active namespace.",
  );
  for (const { labels, m } of none) {
    out.push(`nvmf_subsystem_invalid_namespace_commands_total{${labels}} ${m.latencyCount}`);
  }
  const controllers = new Map<string, { ctrls: number; qpairs: number }>();
  for (const sub of target.subsystems) controllers.set(sub.nqn, { ctrls: 0, qpairs: 0 });
  for (const c of target.controllerDetails()) {
    const entry = controllers.get(c.subnqn);
    if (entry === undefined) continue;
    entry.ctrls++;
    entry.qpairs += 1 + c.ioQueues.length;
  }
  family("nvmf_subsystem_controllers", "gauge", "Connected controllers.");
  for (const [nqn, e] of controllers) {
    out.push(`nvmf_subsystem_controllers{subnqn="${label(nqn)}"} ${e.ctrls}`);
  }
  family("nvmf_subsystem_queue_pairs", "gauge", "Connected queue pairs, admin and I/O.");
  for (const [nqn, e] of controllers) {
    out.push(`nvmf_subsystem_queue_pairs{subnqn="${label(nqn)}"} ${e.qpairs}`);
  }
  const stats = target.stats();
  family(
    "nvmf_queue_pairs_connected_total",
    "counter",
    "Queue pairs connected since the target started.",
  );
  out.push(`nvmf_queue_pairs_connected_total{type="admin"} ${stats.adminQpairs}`);
  out.push(`nvmf_queue_pairs_connected_total{type="io"} ${stats.ioQpairs}`);
  return out.join("\n") + "\n";
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The port bound (the system's choice for port 0). */
  readonly port: number;
  /** Stops serving. */
  close(): Promise<void>;
}

/**
 * Serves `/metrics` over HTTP.
 *
 * @param target The target.
 * @param host Address to bind.
 * @param port TCP port (0: any free one).
 * @returns The server, listening.
 */
export async function serveMetrics(
  target: Target,
  host: string,
  port: number,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not found: try /metrics\n");
      return;
    }
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" })
      .end(metricsText(target));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

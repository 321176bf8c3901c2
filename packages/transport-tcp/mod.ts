/**
 * NVMe/TCP (NVMe/TCP Transport Specification 1.0) for both roles: a host that connects to a
 * controller and a controller that accepts hosts, over Deno's TCP sockets and, through a small
 * byte-stream adapter, Node's and Bun's. It implements the `@nvmf/transport` contract, so the
 * host and controller packages use it without knowing it is TCP.
 *
 * Not written yet: this package is filled by the NVMe/TCP transport issue.
 *
 * @module
 */
export {};

/**
 * The NVMe over Fabrics host (initiator): associations with a controller (admin queue, I/O
 * queues, keep-alive, reconnect), discovery, admin commands and namespace I/O, over any
 * transport registered with `@nvmf/transport`.
 *
 * Not written yet: this package is filled by the host issue.
 *
 * @module
 */
export {};

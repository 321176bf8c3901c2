/**
 * The NVMe over Fabrics controller (target): subsystems, namespaces with pluggable backends
 * (RAM, file), ports and a discovery controller, serving queue pairs accepted by any transport
 * registered with `@nvmf/transport`.
 *
 * Not written yet: this package is filled by the controller issue.
 *
 * @module
 */
export {};

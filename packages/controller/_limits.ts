/**
 * The controller's limits and fixed values: policies (as Linux's nvmet chooses them), not
 * protocol numbers, shared by the controller, its Identify data, log pages and features.
 * Private to the package.
 *
 * @module
 */

import { AsyncEventConfig, NvmeVersion } from "@nvmf/proto";

/** Outstanding Asynchronous Event Requests accepted (AERL + 1), as Linux's NVMET_ASYNC_EVENTS. */
export const AER_MAX = 4;
/** Abort commands accepted at once (ACL + 1): Abort completes at once, so any number is. */
export const ABORT_MAX = 4;
/** Error Information log entries kept (ELPE + 1). */
export const ERROR_LOG_ENTRIES = 64;
/** Events kept while no AER is outstanding. */
export const EVENT_QUEUE_MAX = 16;
/** CAP.TO: worst-case enable time, in 500 ms units (7.5 s, as Linux's nvmet). */
export const CAP_TIMEOUT = 15;
/** KAS: keep alive granularity in 100 ms units (1 s, as Linux and FreeBSD report). */
export const KAS = 10;
/** Composite temperature thresholds in kelvin: FreeBSD's non-zero values (70 C). */
export const WCTEMP = 0x157;
/** Recommended arbitration burst, as Linux's nvmet reports. */
export const RAB = 6;
/** Power state 0 as Linux's nvmet (and qemu) fake it: 25 W, 16 us entry, 4 us exit. */
export const PSD0 = { mp: 0x9c4, enlat: 0x10, exlat: 0x4 } as const;
/** Largest Verify read at a time. */
export const VERIFY_CHUNK = 1 << 20;
/**
 * Default Async Event Configuration of an I/O controller: namespace and ANA change notices on
 * (as Linux's NVMET_AEN_CFG_OPTIONAL).
 */
export const AEC_IO_DEFAULT: number = AsyncEventConfig.NAMESPACE_ATTRIBUTE_NOTICES |
  AsyncEventConfig.ANA_CHANGE_NOTICES;
/** AEC bits an I/O controller accepts. */
export const AEC_IO_SUPPORTED: number = AsyncEventConfig.SMART_MASK |
  AsyncEventConfig.NAMESPACE_ATTRIBUTE_NOTICES | AsyncEventConfig.ANA_CHANGE_NOTICES;
/** AEC bits a discovery controller accepts. */
export const AEC_DISCOVERY_SUPPORTED: number =
  AsyncEventConfig.DISCOVERY_LOG_PAGE_CHANGE_NOTICES >>> 0;
/** NVMe version a discovery controller reports, as Linux's nvmet. */
export const DISCOVERY_VERSION: number = NvmeVersion.V1_3;

/**
 * Set Features and Get Features (NVM Express Base 2.0 5.27): the features a controller keeps
 * and their values, current, default and saved. The Host Identifier feature and the command's
 * data checks are the controller's. Private to the package.
 *
 * @module
 */

import {
  ErrorRecoveryBits,
  FEATURE_POWER_STATE_MASK,
  FEATURE_VWC_WCE,
  FEATURE_WRITE_ATOMICITY_DN,
  FeatureCapabilities,
  FeatureId,
  FeatureSelect,
  NumberOfQueuesBits,
  TemperatureThresholdBits,
} from "@nvmf/proto";
import { AEC_DISCOVERY_SUPPORTED, AEC_IO_DEFAULT, AEC_IO_SUPPORTED, WCTEMP } from "./_limits.ts";

/** TMPSEL and THSEL of a Temperature Threshold CDW11, shifted down: the threshold's key. */
const THSEL_IN_KEY = TemperatureThresholdBits.THSEL_SHIFT - TemperatureThresholdBits.TMPSEL_SHIFT;
const TEMPERATURE_KEY_MASK = (TemperatureThresholdBits.THSEL_MASK << THSEL_IN_KEY) |
  TemperatureThresholdBits.TMPSEL_MASK;

/** Set Features result: the field is invalid. */
export const FEATURE_INVALID = -1;
/** Set Features result: not now (Number of Queues once I/O queues exist). */
export const FEATURE_SEQUENCE = -2;

/** What features need of their controller. */
export interface FeatureOwner {
  /** True for a discovery controller (Keep Alive Timer and AEC only). */
  readonly discovery: boolean;
  /** I/O queues a host may create. */
  readonly maxQueues: number;
  /** The I/O queue IDs connected now. */
  readonly ioQueues: readonly number[];
  /** Keep alive timeout, ms. */
  readonly kato: number;
  /** Sets the keep alive timeout and restarts its timer. */
  setKato(ms: number): void;
}

function numberOfQueues(n: number): number {
  return ((n - 1) | ((n - 1) << NumberOfQueuesBits.NCQ_SHIFT)) >>> 0;
}

/** A controller's features; a controller reset returns them to their defaults. */
export class Features {
  readonly #owner: FeatureOwner;
  /** I/O queues allocated by Set Features Number of Queues; 0 until then. */
  numQueues = 0;
  /** Asynchronous Event Configuration. */
  aec: number;
  /** Volatile write cache enabled. */
  wce = true;
  #arbitration = 0;
  #powerState = 0;
  #errorRecovery = 0;
  #writeAtomicity = 0;
  readonly #temperature = new Map<number, number>();

  /**
   * Makes the default features of a controller.
   *
   * @param owner The controller.
   */
  constructor(owner: FeatureOwner) {
    this.#owner = owner;
    this.aec = owner.discovery ? 0 : AEC_IO_DEFAULT;
  }

  /** Returns every feature to its default (a controller reset). */
  reset(): void {
    this.numQueues = 0;
    this.aec = this.#owner.discovery ? 0 : AEC_IO_DEFAULT;
    this.wce = true;
    this.#arbitration = 0;
    this.#powerState = 0;
    this.#errorRecovery = 0;
    this.#writeAtomicity = 0;
    this.#temperature.clear();
  }

  /**
   * Applies Set Features.
   *
   * @param fid Feature identifier.
   * @param cdw11 The value.
   * @returns DW0 of the completion (0 for none), {@linkcode FEATURE_INVALID} or
   *   {@linkcode FEATURE_SEQUENCE}.
   */
  set(fid: number, cdw11: number): number {
    const owner = this.#owner;
    if (owner.discovery) {
      if (fid === FeatureId.KEEP_ALIVE_TIMER) return this.#setKato(cdw11);
      if (fid === FeatureId.ASYNC_EVENT_CONFIGURATION) {
        if ((cdw11 & ~AEC_DISCOVERY_SUPPORTED) !== 0) return FEATURE_INVALID;
        this.aec = cdw11;
        return 0;
      }
      return FEATURE_INVALID;
    }
    switch (fid) {
      case FeatureId.ARBITRATION:
        this.#arbitration = cdw11;
        return 0;
      case FeatureId.POWER_MANAGEMENT:
        // NPSS is 0: state 0 only.
        if ((cdw11 & FEATURE_POWER_STATE_MASK) !== 0) return FEATURE_INVALID;
        this.#powerState = cdw11;
        return 0;
      case FeatureId.TEMPERATURE_THRESHOLD: {
        const key = (cdw11 >>> TemperatureThresholdBits.TMPSEL_SHIFT) & TEMPERATURE_KEY_MASK;
        this.#temperature.set(key, cdw11 & TemperatureThresholdBits.TMPTH_MASK);
        return 0;
      }
      case FeatureId.ERROR_RECOVERY:
        // No DULBE: DLFEAT is 0.
        if ((cdw11 & ErrorRecoveryBits.DULBE) !== 0) return FEATURE_INVALID;
        this.#errorRecovery = cdw11 & ErrorRecoveryBits.TLER_MASK;
        return 0;
      case FeatureId.VOLATILE_WRITE_CACHE:
        this.wce = (cdw11 & FEATURE_VWC_WCE) !== 0;
        return 0;
      case FeatureId.NUMBER_OF_QUEUES: {
        const nsqr = cdw11 & NumberOfQueuesBits.NSQ_MASK;
        const ncqr = (cdw11 >>> NumberOfQueuesBits.NCQ_SHIFT) & NumberOfQueuesBits.NCQ_MASK;
        // Base 5.27.1.5: 65535 (0's based) is invalid.
        if (nsqr === NumberOfQueuesBits.NSQ_MASK || ncqr === NumberOfQueuesBits.NCQ_MASK) {
          return FEATURE_INVALID;
        }
        if (owner.ioQueues.length > 0) return FEATURE_SEQUENCE;
        const n = Math.min(Math.max(nsqr, ncqr) + 1, owner.maxQueues);
        this.numQueues = n;
        return numberOfQueues(n);
      }
      case FeatureId.WRITE_ATOMICITY_NORMAL:
        this.#writeAtomicity = cdw11 & FEATURE_WRITE_ATOMICITY_DN;
        return 0;
      case FeatureId.ASYNC_EVENT_CONFIGURATION:
        if ((cdw11 & ~AEC_IO_SUPPORTED) !== 0) return FEATURE_INVALID;
        this.aec = cdw11;
        return 0;
      case FeatureId.KEEP_ALIVE_TIMER:
        return this.#setKato(cdw11);
      default:
        // Interrupt coalescing and vector configuration do not apply to fabrics (as Linux).
        return FEATURE_INVALID;
    }
  }

  #setKato(ms: number): number {
    this.#owner.setKato(ms);
    return 0;
  }

  /**
   * Get Features.
   *
   * @param fid Feature identifier.
   * @param cdw11 CDW11 (the Temperature Threshold selects with it).
   * @param sel SEL: current, default, saved or supported capabilities.
   * @returns DW0 of the completion, or undefined for an unsupported feature or SEL.
   */
  get(fid: number, cdw11: number, sel: number): number | undefined {
    const owner = this.#owner;
    const defaults = sel === FeatureSelect.DEFAULT || sel === FeatureSelect.SAVED;
    if (sel === FeatureSelect.SUPPORTED_CAPABILITIES) {
      return this.get(fid, cdw11, FeatureSelect.CURRENT) === undefined
        ? undefined
        : FeatureCapabilities.CHANGEABLE;
    }
    if (sel > FeatureSelect.SUPPORTED_CAPABILITIES) return undefined;
    if (owner.discovery) {
      if (fid === FeatureId.KEEP_ALIVE_TIMER) return defaults ? 0 : owner.kato;
      if (fid === FeatureId.ASYNC_EVENT_CONFIGURATION) return defaults ? 0 : this.aec;
      return undefined;
    }
    switch (fid) {
      case FeatureId.ARBITRATION:
        return defaults ? 0 : this.#arbitration;
      case FeatureId.POWER_MANAGEMENT:
        return defaults ? 0 : this.#powerState;
      case FeatureId.TEMPERATURE_THRESHOLD: {
        const key = (cdw11 >>> TemperatureThresholdBits.TMPSEL_SHIFT) & TEMPERATURE_KEY_MASK;
        // THSEL 01b selects the under temperature threshold, which defaults to 0 K.
        const under = (key >>> THSEL_IN_KEY) === 1;
        const fallback = under ? 0 : WCTEMP;
        const value = defaults ? fallback : this.#temperature.get(key) ?? fallback;
        return (value | (key << TemperatureThresholdBits.TMPSEL_SHIFT)) >>> 0;
      }
      case FeatureId.ERROR_RECOVERY:
        return defaults ? 0 : this.#errorRecovery;
      case FeatureId.VOLATILE_WRITE_CACHE:
        return defaults || this.wce ? FEATURE_VWC_WCE : 0;
      case FeatureId.NUMBER_OF_QUEUES:
        return numberOfQueues(defaults || this.numQueues === 0 ? owner.maxQueues : this.numQueues);
      case FeatureId.WRITE_ATOMICITY_NORMAL:
        return defaults ? 0 : this.#writeAtomicity;
      case FeatureId.ASYNC_EVENT_CONFIGURATION:
        return defaults ? AEC_IO_DEFAULT : this.aec;
      case FeatureId.KEEP_ALIVE_TIMER:
        return defaults ? 0 : owner.kato;
      default:
        return undefined;
    }
  }
}

/**
 * The deadline of a command's data from the host: a write whose H2CData stops coming after the
 * R2T must not hold its buffer and its queue slot for ever. Linux's nvmet waits without limit
 * (only the host's own command timeout ends it); here the wait ends after the controller's
 * KATO (or the target's data timeout when there is no KATO), the command fails with
 * Transient Transport Error and its queue pair is closed — the transport cannot take back an
 * R2T the host may still answer, and closing it frees every buffer of the queue pair. Private
 * to the package.
 *
 * @module
 */

import { SGL_IDENTIFIER, SglSubtype, SglType, SQE_DPTR } from "@nvmf/proto";
import type { CommandCapsule, QueuePair } from "@nvmf/transport";

/** SGL identifier of in-capsule data: a Data Block descriptor, Offset subtype (Fabrics 2.3.1). */
const IN_CAPSULE = (SglType.DATA_BLOCK << 4) | SglSubtype.OFFSET;

/** The host sent no data for a command within the deadline. */
export class DataTimeoutError extends Error {
  /**
   * Makes the error.
   *
   * @param message What timed out.
   */
  constructor(message: string) {
    super(message);
    this.name = "DataTimeoutError";
  }
}

/** A transfer waiting for its data, with its deadline (`performance.now()` milliseconds). */
interface Waiter {
  deadline: number;
  expire(): void;
}

/**
 * Every transfer waiting for its data, in the process: one timer, armed for the earliest
 * deadline, watches them all, instead of a timer and a `Promise.race` per command (in a profile
 * of Bun's daemon under 128 KiB writes, `setTimeout` alone was 5% of its CPU; on Deno about 1%
 * of the CPU per write). A transfer leaves the set when its data has come or its queue pair
 * ended; the timer is cleared when the set empties.
 */
const waiting = new Set<Waiter>();
const MAX_DELAY = 2 ** 31 - 1;
let timer: ReturnType<typeof setTimeout> | undefined;
let armedFor = Infinity;

function arm(deadline: number): void {
  if (deadline >= armedFor) return;
  if (timer !== undefined) clearTimeout(timer);
  armedFor = deadline;
  // Longer than setTimeout can wait (2^31 - 1 ms) fires early and re-arms.
  timer = setTimeout(sweep, Math.min(MAX_DELAY, Math.max(0, deadline - performance.now())));
}

/** A transfer's data came (or its queue pair ended): no deadline left to watch when it was the last. */
function settled(w: Waiter): void {
  waiting.delete(w);
  if (waiting.size === 0 && timer !== undefined) {
    clearTimeout(timer);
    timer = undefined;
    armedFor = Infinity;
  }
}

function sweep(): void {
  timer = undefined;
  armedFor = Infinity;
  const now = performance.now();
  let next = Infinity;
  for (const w of waiting) {
    if (w.deadline <= now) {
      waiting.delete(w);
      w.expire();
    } else if (w.deadline < next) {
      next = w.deadline;
    }
  }
  if (next !== Infinity) arm(next);
}

/**
 * Receives a command's data from the host within `ms` (data fetched from the host; in-capsule
 * data is already there and has no deadline).
 *
 * @param qp The queue pair the command came on.
 * @param cmd The command.
 * @param into Where the data goes (its length is the byte count, from offset 0).
 * @param ms The deadline; 0 or less for none.
 * @returns Settles once the data is in `into`.
 * @throws {DataTimeoutError} When the deadline passes first.
 */
export function receiveWithin(
  qp: QueuePair,
  cmd: CommandCapsule,
  into: Uint8Array,
  ms: number,
): Promise<void> {
  const received = qp.receiveControllerData(cmd, 0, into);
  // In-capsule data came with the command: nothing to wait for, so no timer (a timer and a
  // race per 4 KiB write cost a third of the controller's CPU per write).
  if (ms <= 0 || cmd.sqe[SQE_DPTR + SGL_IDENTIFIER] === IN_CAPSULE) return received;
  return new Promise<void>((resolve, reject) => {
    const w: Waiter = {
      deadline: performance.now() + ms,
      expire: () => {
        received.catch(() => {}); // it ends when the queue pair closes
        reject(new DataTimeoutError(`No data for a ${into.length}-byte transfer within ${ms} ms`));
      },
    };
    waiting.add(w);
    arm(w.deadline);
    received.then(
      () => {
        settled(w);
        resolve();
      },
      (e) => {
        settled(w);
        reject(e);
      },
    );
  });
}

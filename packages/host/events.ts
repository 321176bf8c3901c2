/**
 * What a `HostController` reports: {@linkcode HostEvent} — asynchronous events of the
 * controller ({@linkcode AsyncEvent}, Base 5.2, as FreeBSD's `nvmf_aer.c` receives them), a
 * broken connection, a reconnect, the controller given up, the controller closed — to listeners
 * (`ctrl.on(type, listener)`) and async iterators (`ctrl.events()`).
 *
 * @example Usage
 * ```ts
 * import type { HostEvent, HostEventListener } from "@nvmf/host";
 * import assert from "node:assert/strict";
 * const seen: HostEvent[] = [];
 * const listener: HostEventListener<"reconnected"> = (event) => seen.push(event);
 * listener({ type: "reconnected", attempts: 2 });
 * assert.deepEqual(seen, [{ type: "reconnected", attempts: 2 }]);
 * ```
 *
 * @module
 */

import type { ReservationNotification } from "@nvmf/proto";

/** An asynchronous event the controller reported (Base 5.2). */
export interface AsyncEvent {
  /** Asynchronous Event Type, one of `AsyncEventType`. */
  eventType: number;
  /** Asynchronous Event Information (e.g. `AsyncEventNotice` for NOTICE events). */
  eventInfo: number;
  /** The log page to read to clear the event (LID). */
  logPage: number;
  /** DW0 of the completion as it came. */
  dw0: number;
  /**
   * For a Namespace Attribute Changed notice: the NSIDs of the Changed Namespace List, which
   * the host read (clearing the event); `"all"` when more than 1024 changed.
   */
  changedNamespaces?: number[] | "all";
  /**
   * For a Reservation Log Page Available event (I/O command specific status): the pages of the
   * Reservation Notification log the host read (clearing the event), oldest first.
   */
  reservations?: ReservationNotification[];
}

/** What a {@linkcode HostController} reports. */
export type HostEvent =
  /** The controller reported an asynchronous event. */
  | { type: "aen"; event: AsyncEvent }
  /** A connection broke; the host reconnects (unless reconnecting is off). */
  | { type: "disconnected"; error: Error }
  /** The association was re-established after `attempts` attempts. */
  | { type: "reconnected"; attempts: number }
  /** The controller-loss timeout expired: the host gave the controller up. */
  | { type: "lost"; error: Error }
  /** The controller was closed. */
  | { type: "closed" };

/** The type names of {@linkcode HostEvent}. */
export type HostEventType = HostEvent["type"];

/** A listener for one type of {@linkcode HostEvent}. */
export type HostEventListener<T extends HostEventType> = (
  event: Extract<HostEvent, { type: T }>,
) => void;

/**
 * The listeners and iterators of one controller (internal): {@linkcode HostEventHub.emit} hands
 * an event to each; {@linkcode HostEventHub.end} ends the iterators.
 */
export class HostEventHub {
  #listeners = new Map<string, Set<(event: HostEvent) => void>>();
  #iterators = new Set<EventQueue>();

  /**
   * Adds a listener for one type of event.
   *
   * @param type The event type.
   * @param listener Gets the event.
   * @returns A function that removes the listener.
   */
  on<T extends HostEventType>(type: T, listener: HostEventListener<T>): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) this.#listeners.set(type, set = new Set());
    const fn = listener as (event: HostEvent) => void;
    set.add(fn);
    return () => set!.delete(fn);
  }

  /**
   * An iterator over the events from now on.
   *
   * @param ended True to return one that has already ended.
   * @returns The iterator.
   */
  iterator(ended: boolean): AsyncIterableIterator<HostEvent> {
    const queue = new EventQueue(() => this.#iterators.delete(queue));
    if (ended) queue.end();
    else this.#iterators.add(queue);
    return queue;
  }

  /**
   * Hands an event to the listeners of its type and to every iterator. A listener that throws
   * does not disturb the caller; its error is reported asynchronously.
   *
   * @param event The event.
   */
  emit(event: HostEvent): void {
    const set = this.#listeners.get(event.type);
    if (set !== undefined) {
      for (const fn of [...set]) {
        try {
          fn(event);
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    }
    for (const q of this.#iterators) q.push(event);
  }

  /** Ends every iterator. */
  end(): void {
    for (const q of this.#iterators) q.end();
    this.#iterators.clear();
  }
}

/** The buffer behind `HostController.events()`. */
class EventQueue implements AsyncIterableIterator<HostEvent> {
  #items: HostEvent[] = [];
  #waiters: ((result: IteratorResult<HostEvent>) => void)[] = [];
  #done = false;
  readonly #onReturn: () => void;

  constructor(onReturn: () => void) {
    this.#onReturn = onReturn;
  }

  push(event: HostEvent): void {
    if (this.#done) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter({ value: event, done: false });
    else this.#items.push(event);
  }

  end(): void {
    this.#done = true;
    for (const w of this.#waiters.splice(0)) w({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<HostEvent>> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  return(): Promise<IteratorResult<HostEvent>> {
    this.#items = [];
    this.end();
    this.#onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<HostEvent> {
    return this;
  }
}

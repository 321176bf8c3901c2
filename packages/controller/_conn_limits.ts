/**
 * Connection limits of a target: how many transport connections it holds in all and per
 * remote address. A connection is counted from the moment it is accepted (before ICReq) until
 * it closes, whatever it became (a queue pair of a controller, or nothing). Over a limit the
 * listener closes the new connection before reading a byte of it; the ones held do not notice.
 * Private to the package.
 *
 * @module
 */

/** The address part of a transport peer address: `ADDR` of `ADDR:PORT` (`[v6]:PORT` too). */
export function remoteHost(remote: string): string {
  if (remote.startsWith("[")) {
    const end = remote.indexOf("]");
    return end < 0 ? remote : remote.slice(1, end);
  }
  const colon = remote.lastIndexOf(":");
  // A bare IPv6 address has more than one colon and no port to strip.
  if (colon < 0 || remote.indexOf(":") !== colon) return remote;
  return remote.slice(0, colon);
}

/** Counts connections against a total and a per-address limit (0: no limit). */
export class ConnectionLimits {
  readonly #max: number;
  readonly #perAddress: number;
  readonly #byAddress = new Map<string, number>();
  #total = 0;
  /** Connections refused so far. */
  refused = 0;

  /**
   * Makes the counters.
   *
   * @param max Connections in all; 0 for no limit.
   * @param perAddress Connections from one remote address; 0 for no limit.
   */
  constructor(max: number, perAddress: number) {
    this.#max = max;
    this.#perAddress = perAddress;
  }

  /** Connections held now. */
  get total(): number {
    return this.#total;
  }

  /**
   * Admits a connection or refuses it.
   *
   * @param remote The peer's address (`ADDR:PORT`).
   * @returns A function to call once when it ends, or undefined when it is refused.
   */
  admit(remote: string): (() => void) | undefined {
    const host = remoteHost(remote);
    const held = this.#byAddress.get(host) ?? 0;
    if (
      (this.#max > 0 && this.#total >= this.#max) ||
      (this.#perAddress > 0 && held >= this.#perAddress)
    ) {
      this.refused++;
      return undefined;
    }
    this.#total++;
    this.#byAddress.set(host, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const n = (this.#byAddress.get(host) ?? 1) - 1;
      if (n === 0) this.#byAddress.delete(host);
      else this.#byAddress.set(host, n);
    };
  }
}

import type { ConnectionLimits } from "./connection-limits.ts";

/**
 * Addresses learned from peers that proved who they are are kept up to this many; the oldest is
 * forgotten first. Configured addresses are never forgotten.
 */
export const KNOWN_PEER_ADDRESSES_MAX = 256;

/** The bounds admission applies; a subset of ConnectionLimits. */
type AdmissionLimits = Pick<
  ConnectionLimits,
  | "maxPendingHandshakes"
  | "pendingHandshakesReservedForKnownPeers"
  | "maxPendingHandshakesPerAddress"
  | "maxConnectionsPerAddress"
>;

/** One admitted inbound socket: tell admission when its handshake ended and when it closed. */
export interface AdmissionTicket {
  /** The handshake succeeded or failed: the socket no longer counts as pending. Idempotent. */
  handshakeEnded(): void;
  /** The socket closed: it no longer counts at all. Idempotent. */
  released(): void;
}

export type AdmissionVerdict =
  | { readonly admitted: true; readonly ticket: AdmissionTicket }
  | { readonly admitted: false; readonly reason: string };

interface AddressCount {
  pending: number;
  open: number;
}

/**
 * Which inbound TCP connections a listener takes, decided at accept from the source address
 * alone, before any TLS or Hello byte is read (see docs/design/connection-admission.md):
 *
 * - at most `maxPendingHandshakes` sockets in their handshake (TLS and Hello) at once;
 * - of those, `pendingHandshakesReservedForKnownPeers` only for known peer addresses (configured
 *   peers' IPs, and the IPs of peers that proved an allowed identity), so a flood from strangers
 *   never locks the cluster's own members out;
 * - from one unknown address, at most `maxPendingHandshakesPerAddress` pending and
 *   `maxConnectionsPerAddress` open (pending or established), so one host cannot take every slot.
 *
 * Pure bookkeeping: no sockets or timers; the listener reports handshake ends and closes.
 */
export class ConnectionAdmission {
  readonly #limits: AdmissionLimits;
  readonly #configured: ReadonlySet<string>;
  /** Learned known addresses in the order they were last confirmed (oldest first). */
  readonly #learned = new Set<string>();
  readonly #byAddress = new Map<string, AddressCount>();
  #pending = 0;

  constructor(limits: AdmissionLimits, configuredAddresses: Iterable<string> = []) {
    this.#limits = limits;
    this.#configured = new Set([...configuredAddresses].map(normalizeIp));
  }

  /** Sockets in their handshake now. */
  get pending(): number {
    return this.#pending;
  }

  /** Sockets admitted and not yet closed, from `address`. */
  openFrom(address: string): number {
    return this.#byAddress.get(normalizeIp(address))?.open ?? 0;
  }

  isKnown(address: string): boolean {
    const ip = normalizeIp(address);
    return this.#configured.has(ip) || this.#learned.has(ip);
  }

  /** A peer at `address` proved an identity this node wants (an allowed certificate, a dialed configured peer). */
  rememberKnown(address: string): void {
    const ip = normalizeIp(address);
    if (this.#configured.has(ip)) return;
    this.#learned.delete(ip);
    this.#learned.add(ip);
    if (this.#learned.size > KNOWN_PEER_ADDRESSES_MAX) {
      this.#learned.delete(this.#learned.values().next().value!);
    }
  }

  /** Decides on a socket just accepted from `address` (an IP); an admitted one counts until released. */
  admit(address: string): AdmissionVerdict {
    const ip = normalizeIp(address);
    const limits = this.#limits;
    const known = this.isKnown(ip);
    const count = this.#byAddress.get(ip) ?? { pending: 0, open: 0 };
    if (this.#pending >= limits.maxPendingHandshakes) {
      return refuse(`${this.#pending} handshakes already pending (the most this node takes)`);
    }
    if (!known) {
      const strangerSlots = limits.maxPendingHandshakes - limits.pendingHandshakesReservedForKnownPeers;
      if (this.#pending >= strangerSlots) {
        return refuse(
          `${this.#pending} handshakes already pending; the last ${limits.pendingHandshakesReservedForKnownPeers} slots are kept for configured and allowed peers`,
        );
      }
      if (count.pending >= limits.maxPendingHandshakesPerAddress) {
        return refuse(`${count.pending} handshakes already pending from this address`);
      }
      if (count.open >= limits.maxConnectionsPerAddress) {
        return refuse(`${count.open} connections already open from this address`);
      }
    }
    count.pending++;
    count.open++;
    this.#byAddress.set(ip, count);
    this.#pending++;
    let pending = true;
    let open = true;
    const handshakeEnded = () => {
      if (!pending) return;
      pending = false;
      count.pending--;
      this.#pending--;
    };
    return {
      admitted: true,
      ticket: {
        handshakeEnded,
        released: () => {
          handshakeEnded();
          if (!open) return;
          open = false;
          count.open--;
          if (count.open === 0) this.#byAddress.delete(ip);
        },
      },
    };
  }
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack listener) and `10.0.0.1` are one address. */
function normalizeIp(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith("::ffff:") && lower.includes(".") ? lower.slice("::ffff:".length) : lower;
}

function refuse(reason: string): AdmissionVerdict {
  return { admitted: false, reason };
}

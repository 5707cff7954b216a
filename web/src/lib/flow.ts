// What one tab remembers between the pages of a purchase, in sessionStorage: the waiting token of
// each event's queue and the reservation token that admission gave. Never shared across tabs or
// users; cleared when used up.

export interface QueuePlace {
  waitingToken: string;
  joinedAt: number;
  userId: string | null;
}

export interface Entry {
  reservationToken: string;
  /** When the reservation token stops being valid (ms since epoch). */
  expiresAt: number;
  userId: string | null;
}

const placeKey = (eventId: string) => `tacos.place.${eventId}`;
const entryKey = (eventId: string) => `tacos.entry.${eventId}`;

function read<T>(key: string): T | null {
  try {
    const raw = sessionStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

function write(key: string, v: unknown): void {
  try {
    if (v === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(v));
  } catch {
    // storage disabled: the flow still works within the page
  }
}

export const flow = {
  place: (eventId: string) => read<QueuePlace>(placeKey(eventId)),
  setPlace: (eventId: string, p: QueuePlace | null) => write(placeKey(eventId), p),
  entry(eventId: string, now: number = Date.now()): Entry | null {
    const e = read<Entry>(entryKey(eventId));
    if (e && e.expiresAt <= now) {
      write(entryKey(eventId), null);
      return null;
    }
    return e;
  },
  setEntry: (eventId: string, e: Entry | null) => write(entryKey(eventId), e),
};

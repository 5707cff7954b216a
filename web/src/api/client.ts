// The one place the UI talks HTTP. Every call goes to the same origin under /api/v1, and every
// failure comes back as an ApiError carrying the envelope's code ({"error":{code,message,trace_id}}),
// or NETWORK when the server could not be reached at all.
//
// Rules it applies for the whole UI:
// - every POST under /api/v1 carries an Idempotency-Key; the key belongs to one user action
//   (ActionKey) and is reused when that same action is retried, so a retry after a lost answer
//   can never buy twice. POST /api/v1/queue/leave is the exception: it goes by sendBeacon.
// - 429 answers are not retried here: the error carries Retry-After (seconds) and the caller waits
//   that long and says so.
// - catalogue reads use ETag/If-None-Match; a 304 hands back the copy kept from the last 200.

import type {
  EventDetail,
  EventStats,
  EventSummary,
  NewEvent,
  PaymentAction,
  PaymentIntent,
  QueueEntry,
  QueueJoin,
  QueueStats,
  QueueStatus,
  Reservation,
  SeatMap,
  Session,
} from "./types";

export const API_PREFIX = "/api/v1";

/** What went wrong, in the server's words (code) plus what the UI needs to react. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly traceId?: string;
  readonly field?: string;
  /** Seconds to wait before trying again (429 Retry-After, or 503 when the server says). */
  readonly retryAfterSec?: number;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    traceId?: string;
    field?: string;
    retryAfterSec?: number;
  }) {
    super(init.message);
    this.name = "ApiError";
    this.status = init.status;
    this.code = init.code;
    this.traceId = init.traceId;
    this.field = init.field;
    this.retryAfterSec = init.retryAfterSec;
  }

  /** True when trying the same request again later may work (the key is kept for it). */
  get retryable(): boolean {
    return (
      this.code === "NETWORK" ||
      this.code === "IDEMPOTENCY_KEY_IN_USE" ||
      this.status === 429 ||
      this.status === 502 ||
      this.status === 503 ||
      this.status === 504
    );
  }
}

/** A random RFC 4122 v4 id; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function newUuid(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") {
    try {
      return c.randomUUID();
    } catch {
      // not a secure context: fall through
    }
  }
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The Idempotency-Key of one user action (a click on "Hold these seats", "Pay", ...). The same
 * action retried with the same request reuses its key; a changed request (other seats) or an
 * action that got a final answer starts a new key.
 */
export class ActionKey {
  private key: string | null = null;
  private fingerprint: string | null = null;
  constructor(private readonly make: () => string = newUuid) {}

  keyFor(fingerprint: string): string {
    if (this.key === null || this.fingerprint !== fingerprint) {
      this.key = this.make();
      this.fingerprint = fingerprint;
    }
    return this.key;
  }

  /** The action is over (it got a final answer): the next click is a new action. */
  finish(): void {
    this.key = null;
    this.fingerprint = null;
  }

  get current(): string | null {
    return this.key;
  }
}

/** Parses Retry-After: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, nowMs: number = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

export interface RateLimitInfo {
  limit?: number;
  remaining?: number;
  reset?: number;
}

export function parseRateLimit(headers: Headers): RateLimitInfo {
  const num = (name: string) => {
    const v = headers.get(name);
    return v === null || v === "" || Number.isNaN(Number(v)) ? undefined : Number(v);
  };
  return { limit: num("X-RateLimit-Limit"), remaining: num("X-RateLimit-Remaining"), reset: num("X-RateLimit-Reset") };
}

export interface ClientOptions {
  fetch?: typeof fetch;
  /** The signed-in user's JWT, if any. */
  token?: () => string | null;
  /** Called when the server says the JWT is no longer good (401 INVALID_TOKEN / TOKEN_EXPIRED). */
  onSessionExpired?: () => void;
  /** Sends a beacon; defaults to navigator.sendBeacon. */
  sendBeacon?: (url: string, data: Blob) => boolean;
  newUuid?: () => string;
}

interface RequestOptions {
  body?: unknown;
  auth?: boolean;
  action?: ActionKey;
  query?: Record<string, string | undefined>;
  ifNoneMatch?: string;
}

export interface Conditional<T> {
  data: T;
  etag: string | null;
  /** True when the server answered 304 and data is the copy from last time. */
  notModified: boolean;
}

export class ApiClient {
  private readonly fetchImpl: typeof fetch;
  private readonly cache = new Map<string, { etag: string; data: unknown }>();
  /** The X-RateLimit-* headers of the last answer that had them. */
  lastRateLimit: RateLimitInfo = {};

  constructor(private readonly opts: ClientOptions = {}) {
    this.fetchImpl = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  private url(path: string, query?: Record<string, string | undefined>): string {
    let u = API_PREFIX + path;
    if (query) {
      const q = Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined);
      if (q.length) u += "?" + new URLSearchParams(q).toString();
    }
    return u;
  }

  /** Sends one request and returns the parsed body, the status and the headers. */
  async raw<T>(method: string, path: string, o: RequestOptions = {}): Promise<{ status: number; data: T | null; headers: Headers }> {
    const headers: Record<string, string> = { Accept: "application/json" };
    let body: string | undefined;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["Content-Type"] = "application/json";
    }
    const token = this.opts.token?.();
    if (token && o.auth !== false) headers["Authorization"] = `Bearer ${token}`;
    if (o.ifNoneMatch) headers["If-None-Match"] = o.ifNoneMatch;
    if (method === "POST") {
      const action = o.action ?? new ActionKey(this.opts.newUuid);
      headers["Idempotency-Key"] = action.keyFor(`${method} ${path} ${body ?? ""}`);
    }

    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path, o.query), { method, headers, body, cache: "no-store", credentials: "same-origin" });
    } catch (e) {
      // Unknown outcome: the action keeps its key so that a retry is answered, not repeated.
      throw new ApiError({ status: 0, code: "NETWORK", message: e instanceof Error ? e.message : String(e) });
    }
    const rl = parseRateLimit(res.headers);
    if (rl.limit !== undefined || rl.remaining !== undefined) this.lastRateLimit = rl;

    if (res.status === 304) return { status: 304, data: null, headers: res.headers };
    const text = await res.text().catch(() => "");
    let json: unknown = null;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
    }
    if (res.ok) {
      o.action?.finish();
      return { status: res.status, data: json as T, headers: res.headers };
    }
    const err = toApiError(res, json);
    // A final answer ends the action. Kept: network errors, 429, 5xx, and IDEMPOTENCY_KEY_IN_USE
    // (the first try is still running; the same key later gets its answer).
    if (!err.retryable) o.action?.finish();
    if (err.status === 401 && token && (err.code === "INVALID_TOKEN" || err.code === "TOKEN_EXPIRED") && o.auth !== false) {
      this.opts.onSessionExpired?.();
    }
    throw err;
  }

  async send<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const r = await this.raw<T>(method, path, o);
    return r.data as T;
  }

  /** GET with If-None-Match from the last answer kept for this path. */
  async getConditional<T>(path: string): Promise<Conditional<T>> {
    const kept = this.cache.get(path);
    const r = await this.raw<T>("GET", path, { ifNoneMatch: kept?.etag, auth: false });
    if (r.status === 304 && kept) return { data: kept.data as T, etag: kept.etag, notModified: true };
    if (r.status === 304) {
      // A 304 without a kept copy cannot happen unless the cache was cleared in between: ask again.
      this.cache.delete(path);
      return this.getConditional<T>(path);
    }
    const etag = r.headers.get("ETag");
    if (etag) this.cache.set(path, { etag, data: r.data });
    return { data: r.data as T, etag, notModified: false };
  }

  // ---- accounts
  register(b: { username: string; password: string; email: string; display_name?: string }, action?: ActionKey) {
    return this.send<Session>("POST", "/auth/register", { body: b, action, auth: false });
  }
  login(b: { username: string; password: string }, action?: ActionKey) {
    return this.send<Session>("POST", "/auth/login", { body: b, action, auth: false });
  }

  // ---- catalogue
  async listEvents(): Promise<Conditional<EventSummary[]>> {
    const r = await this.getConditional<{ events: EventSummary[] }>("/events");
    return { ...r, data: r.data.events };
  }
  event(id: string) {
    return this.getConditional<EventDetail>(`/events/${encodeURIComponent(id)}`);
  }
  seats(id: string) {
    return this.getConditional<SeatMap>(`/events/${encodeURIComponent(id)}/seats`);
  }

  // ---- waiting room
  joinQueue(eventId: string, action?: ActionKey) {
    return this.send<QueueJoin>("POST", "/queue/join", { body: { event_id: eventId }, action });
  }
  queueStatus(waitingToken: string) {
    return this.send<QueueStatus>("GET", "/queue/status", { query: { token: waitingToken }, auth: false });
  }
  enterQueue(waitingToken: string, action?: ActionKey) {
    return this.send<QueueEntry>("POST", "/queue/enter", { body: { waiting_token: waitingToken }, action });
  }
  /** Gives the place up. By sendBeacon, so it still goes out when the page is being left. */
  leaveQueue(waitingToken: string): boolean {
    const data = new Blob([JSON.stringify({ waiting_token: waitingToken })], { type: "application/json" });
    const beacon =
      this.opts.sendBeacon ??
      (typeof navigator !== "undefined" && typeof navigator.sendBeacon === "function"
        ? (u: string, d: Blob) => navigator.sendBeacon(u, d)
        : undefined);
    if (beacon && beacon(this.url("/queue/leave"), data)) return true;
    // No beacon (or it was refused): DELETE needs no Idempotency-Key and keepalive outlives the page.
    void this.fetchImpl(this.url("/queue/leave", { token: waitingToken }), { method: "DELETE", keepalive: true }).catch(() => {});
    return false;
  }

  // ---- reservations
  hold(b: { event_id: string; reservation_token: string; seat_ids?: string[]; quantity?: number }, action?: ActionKey) {
    return this.send<Reservation>("POST", "/reservations", { body: b, action });
  }
  async reservations(): Promise<Reservation[]> {
    const r = await this.send<{ reservations: Reservation[] }>("GET", "/reservations");
    return r.reservations;
  }
  reservation(id: string) {
    return this.send<Reservation>("GET", `/reservations/${encodeURIComponent(id)}`);
  }
  confirm(id: string, paymentIntentId: string, action?: ActionKey) {
    return this.send<Reservation>("POST", `/reservations/${encodeURIComponent(id)}/confirm`, {
      body: { payment_intent_id: paymentIntentId },
      action,
    });
  }
  cancel(id: string, action?: ActionKey) {
    return this.send<Reservation>("POST", `/reservations/${encodeURIComponent(id)}/cancel`, { body: {}, action });
  }

  // ---- payments (simulator)
  paymentIntent(reservationId: string, action?: ActionKey) {
    return this.send<PaymentIntent>("POST", "/payment/intent", { body: { reservation_id: reservationId }, action });
  }
  processPayment(paymentIntentId: string, act: PaymentAction, action?: ActionKey) {
    return this.send<PaymentIntent>("POST", "/payment/process", { body: { payment_intent_id: paymentIntentId, action: act }, action });
  }
  paymentStatus(paymentIntentId: string) {
    return this.send<PaymentIntent>("GET", `/payment/${encodeURIComponent(paymentIntentId)}/status`);
  }

  // ---- organiser
  createEvent(e: NewEvent, action?: ActionKey) {
    return this.send<EventDetail>("POST", "/admin/events", { body: e, action });
  }
  queueStats(eventId: string) {
    return this.send<QueueStats>("GET", `/admin/events/${encodeURIComponent(eventId)}/queue`);
  }
  setQueueLimits(eventId: string, b: { admission_rate?: number; active_buyer_cap?: number }) {
    return this.send<QueueStats>("PATCH", `/admin/events/${encodeURIComponent(eventId)}/queue`, { body: b });
  }
  eventStats(eventId: string) {
    return this.send<EventStats>("GET", `/admin/events/${encodeURIComponent(eventId)}/stats`);
  }
}

function toApiError(res: Response, json: unknown): ApiError {
  const env = (json && typeof json === "object" && "error" in json ? (json as { error: unknown }).error : null) as {
    code?: unknown;
    message?: unknown;
    trace_id?: unknown;
    field?: unknown;
  } | null;
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  return new ApiError({
    status: res.status,
    code: str(env?.code) ?? (res.status === 429 ? "RATE_LIMITED" : `HTTP_${res.status}`),
    message: str(env?.message) ?? res.statusText ?? "",
    traceId: str(env?.trace_id) ?? res.headers.get("X-Request-ID") ?? undefined,
    field: str(env?.field),
    retryAfterSec: parseRetryAfter(res.headers.get("Retry-After")),
  });
}

import { describe, expect, it, vi } from "vitest";
import { ActionKey, ApiClient, ApiError, newUuid, parseRetryAfter } from "./client";

type Call = { url: string; init: RequestInit };

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === null ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

/** A fetch that answers from a list, recording every call. */
function fakeFetch(...answers: Array<Response | Error>) {
  const calls: Call[] = [];
  const fn = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const a = answers.shift();
    if (!a) throw new Error("no more answers");
    if (a instanceof Error) throw a;
    return a;
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}

const header = (c: Call, name: string) => (c.init.headers as Record<string, string>)[name];
let n = 0;
const seqUuid = () => `key-${++n}`;

describe("ApiClient idempotency keys", () => {
  it("sends an Idempotency-Key on every POST and none on GET", async () => {
    const f = fakeFetch(json(202, { waiting_token: "wt" }), json(200, { status: "waiting" }));
    const api = new ApiClient({ fetch: f.fetch, newUuid: seqUuid });
    await api.joinQueue("evt");
    await api.queueStatus("wt");
    expect(header(f.calls[0], "Idempotency-Key")).toMatch(/^key-\d+$/);
    expect(f.calls[0].init.method).toBe("POST");
    expect(header(f.calls[1], "Idempotency-Key")).toBeUndefined();
    expect(f.calls[1].url).toBe("/api/v1/queue/status?token=wt");
  });

  it("reuses the key when the same action is retried after a lost answer", async () => {
    const f = fakeFetch(new TypeError("Failed to fetch"), json(201, { reservation_id: "rsv_1" }));
    const api = new ApiClient({ fetch: f.fetch });
    const action = new ActionKey(seqUuid);
    const body = { event_id: "e", reservation_token: "rt", seat_ids: ["A-1-1"] };
    const err = await api.hold(body, action).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe("NETWORK");
    expect(err.retryable).toBe(true);
    await api.hold(body, action);
    expect(header(f.calls[0], "Idempotency-Key")).toBe(header(f.calls[1], "Idempotency-Key"));
  });

  it("keeps the key through 429 and 503, and starts a new one after a final answer", async () => {
    const f = fakeFetch(
      json(429, { error: { code: "RATE_LIMITED", message: "slow down", trace_id: "t1" } }, { "Retry-After": "2" }),
      json(503, { error: { code: "UNAVAILABLE", message: "x", trace_id: "t2" } }),
      json(200, { payment_intent_id: "pi_1", status: "PENDING" }),
      json(200, { payment_intent_id: "pi_1", status: "PENDING" }),
    );
    const api = new ApiClient({ fetch: f.fetch });
    const action = new ActionKey(seqUuid);
    await expect(api.paymentIntent("rsv_1", action)).rejects.toMatchObject({ status: 429, code: "RATE_LIMITED", retryAfterSec: 2 });
    await expect(api.paymentIntent("rsv_1", action)).rejects.toMatchObject({ status: 503 });
    await api.paymentIntent("rsv_1", action);
    await api.paymentIntent("rsv_1", action);
    const keys = f.calls.map((c) => header(c, "Idempotency-Key"));
    expect(keys[0]).toBe(keys[1]);
    expect(keys[1]).toBe(keys[2]);
    expect(keys[3]).not.toBe(keys[2]);
  });

  it("keeps the key while the first try is still running (IDEMPOTENCY_KEY_IN_USE)", async () => {
    const f = fakeFetch(
      json(409, { error: { code: "IDEMPOTENCY_KEY_IN_USE", message: "in flight", trace_id: "t" } }),
      json(200, { admission: "granted", reservation_token: "rt", ttl_sec: 120, event_id: "e" }),
    );
    const api = new ApiClient({ fetch: f.fetch });
    const action = new ActionKey(seqUuid);
    await expect(api.enterQueue("wt", action)).rejects.toMatchObject({ retryable: true });
    await api.enterQueue("wt", action);
    expect(header(f.calls[0], "Idempotency-Key")).toBe(header(f.calls[1], "Idempotency-Key"));
  });

  it("uses a new key when the request changes (other seats), never replaying another body", async () => {
    const taken = json(409, { error: { code: "SEAT_UNAVAILABLE", message: "seats no longer available: A-1-1", trace_id: "t" } });
    const f = fakeFetch(new TypeError("offline"), taken, json(201, { reservation_id: "r" }));
    const api = new ApiClient({ fetch: f.fetch });
    const action = new ActionKey(seqUuid);
    await api.hold({ event_id: "e", reservation_token: "rt", seat_ids: ["A-1-1"] }, action).catch(() => {});
    await api.hold({ event_id: "e", reservation_token: "rt", seat_ids: ["A-1-1"] }, action).catch(() => {});
    await api.hold({ event_id: "e", reservation_token: "rt", seat_ids: ["A-1-2"] }, action);
    const keys = f.calls.map((c) => header(c, "Idempotency-Key"));
    expect(keys[0]).toBe(keys[1]);
    expect(keys[2]).not.toBe(keys[1]);
  });

  it("makes v4 UUIDs even where crypto.randomUUID is missing (plain http)", () => {
    const orig = crypto.randomUUID;
    try {
      Object.defineProperty(crypto, "randomUUID", { value: undefined, configurable: true });
      const id = newUuid();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(newUuid()).not.toBe(id);
    } finally {
      Object.defineProperty(crypto, "randomUUID", { value: orig, configurable: true });
    }
  });
});

describe("ApiClient errors and rate limits", () => {
  it("turns the error envelope into an ApiError with code, trace id and field", async () => {
    const f = fakeFetch(json(400, { error: { code: "VALIDATION_FAILED", message: "field 'email' is required", field: "email", trace_id: "abc" } }));
    const api = new ApiClient({ fetch: f.fetch });
    await expect(api.register({ username: "a", password: "b", email: "" })).rejects.toMatchObject({
      status: 400,
      code: "VALIDATION_FAILED",
      field: "email",
      traceId: "abc",
      retryable: false,
    });
  });

  it("reads a 429 without an envelope as RATE_LIMITED with Retry-After and the X-RateLimit headers", async () => {
    const f = fakeFetch(
      new Response("Too Many Requests", {
        status: 429,
        headers: { "Retry-After": "7", "X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "7" },
      }),
    );
    const api = new ApiClient({ fetch: f.fetch });
    const err = await api.queueStatus("wt").catch((e) => e);
    expect(err).toMatchObject({ status: 429, code: "RATE_LIMITED", retryAfterSec: 7 });
    expect(api.lastRateLimit).toEqual({ limit: 10, remaining: 0, reset: 7 });
  });

  it("parses Retry-After as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("5")).toBe(5);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
    const now = Date.parse("2026-11-21T10:00:00Z");
    expect(parseRetryAfter("Sat, 21 Nov 2026 10:00:30 GMT", now)).toBe(30);
  });

  it("signs the user out when the server refuses the session token", async () => {
    const expired = vi.fn();
    const f = fakeFetch(json(401, { error: { code: "TOKEN_EXPIRED", message: "expired", trace_id: "t" } }));
    const api = new ApiClient({ fetch: f.fetch, token: () => "jwt", onSessionExpired: expired });
    await expect(api.reservations()).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
    expect(header(f.calls[0], "Authorization")).toBe("Bearer jwt");
    expect(expired).toHaveBeenCalledOnce();
  });
});

describe("ApiClient conditional reads", () => {
  it("sends If-None-Match and hands back the kept copy on 304", async () => {
    const seats = { event_id: "e", general_admission: false, available: 1, seats: [] };
    const f = fakeFetch(json(200, seats, { ETag: '"v1"' }), new Response(null, { status: 304, headers: { ETag: '"v1"' } }));
    const api = new ApiClient({ fetch: f.fetch });
    const first = await api.seats("e");
    const second = await api.seats("e");
    expect(first.notModified).toBe(false);
    expect(header(f.calls[0], "If-None-Match")).toBeUndefined();
    expect(header(f.calls[1], "If-None-Match")).toBe('"v1"');
    expect(second).toEqual({ data: seats, etag: '"v1"', notModified: true });
  });
});

describe("leaving the queue", () => {
  it("goes by sendBeacon as JSON, with no fetch", async () => {
    const f = fakeFetch();
    const beacon = vi.fn(() => true);
    const api = new ApiClient({ fetch: f.fetch, sendBeacon: beacon });
    expect(api.leaveQueue("wt1")).toBe(true);
    expect(f.calls).toHaveLength(0);
    const [url, blob] = beacon.mock.calls[0] as unknown as [string, Blob];
    expect(url).toBe("/api/v1/queue/leave");
    expect(blob.type).toBe("application/json");
    expect(JSON.parse(await new Response(blob).text())).toEqual({ waiting_token: "wt1" });
  });

  it("falls back to DELETE with keepalive when the beacon is refused", () => {
    const f = fakeFetch(json(200, { status: "left" }));
    const api = new ApiClient({ fetch: f.fetch, sendBeacon: () => false });
    expect(api.leaveQueue("wt1")).toBe(false);
    expect(f.calls[0].url).toBe("/api/v1/queue/leave?token=wt1");
    expect(f.calls[0].init).toMatchObject({ method: "DELETE", keepalive: true });
  });
});

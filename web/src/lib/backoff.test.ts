import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import { backoffDelay, delayAfterError, jittered, startPoller, type PollStep } from "./backoff";

const opts = { baseMs: 1000, maxMs: 30_000, jitter: 0.2 };

describe("backoffDelay", () => {
  it("doubles per attempt up to the cap", () => {
    const mid = () => 0.5; // no jitter
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, opts, mid))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  it("spreads each delay by ± the jitter, never beyond", () => {
    expect(backoffDelay(2, opts, () => 0)).toBe(3200);
    expect(backoffDelay(2, opts, () => 0.999999)).toBe(4800);
    for (let i = 0; i < 200; i++) {
      const d = jittered(5000, 0.2);
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(6000);
    }
  });

  it("never waits less than Retry-After", () => {
    const limited = new ApiError({ status: 429, code: "RATE_LIMITED", message: "", retryAfterSec: 10 });
    for (const r of [0, 0.5, 0.99]) expect(delayAfterError(limited, 0, opts, () => r)).toBeGreaterThanOrEqual(10_000);
    expect(delayAfterError(limited, 0, opts, () => 0)).toBe(10_000);
    // A long backoff is not shortened by a short Retry-After.
    const short = new ApiError({ status: 429, code: "RATE_LIMITED", message: "", retryAfterSec: 1 });
    expect(delayAfterError(short, 4, opts, () => 0.5)).toBe(16_000);
  });
});

describe("startPoller", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("polls at the interval, backs off on failures, and comes back to the interval after a success", async () => {
    const script: Array<"ok" | "fail"> = ["ok", "fail", "fail", "fail", "ok", "ok"];
    const times: number[] = [];
    const start = Date.now();
    const task = vi.fn(async (): Promise<PollStep> => {
      times.push(Date.now() - start);
      const s = script.shift();
      if (s === "fail") throw new ApiError({ status: 0, code: "NETWORK", message: "" });
      return script.length ? { next: "again" } : { next: "stop" };
    });
    startPoller(task, { intervalMs: 2000, random: () => 0.5, backoff: opts });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(task).toHaveBeenCalledTimes(6);
    // 0: ok, +2000 fail, +1000 fail, +2000 fail, +4000 ok, +2000 ok
    expect(times).toEqual([0, 2000, 3000, 5000, 9000, 11000]);
  });

  it("waits as long as a 429 asks before the next poll", async () => {
    let calls = 0;
    const task = vi.fn(async (): Promise<PollStep> => {
      calls++;
      if (calls === 1) throw new ApiError({ status: 429, code: "RATE_LIMITED", message: "", retryAfterSec: 5 });
      return { next: "stop" };
    });
    const states: number[] = [];
    startPoller(task, { intervalMs: 1000, random: () => 0, backoff: opts, onState: (s) => states.push(s.failures) });
    await vi.advanceTimersByTimeAsync(4999);
    expect(task).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(task).toHaveBeenCalledTimes(2);
    expect(states).toEqual([1, 0]);
  });

  it("stops for good when told to", async () => {
    const task = vi.fn(async (): Promise<PollStep> => ({ next: "again" }));
    const p = startPoller(task, { intervalMs: 1000, random: () => 0.5 });
    await vi.advanceTimersByTimeAsync(2500);
    p.stop();
    const n = task.mock.calls.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(task.mock.calls.length).toBe(n);
  });
});

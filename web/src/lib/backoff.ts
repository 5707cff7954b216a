// Polling with backoff and jitter, shared by the waiting room, the seat map, checkout and the
// organiser's counters. Timers and randomness come in as parameters so tests drive them.

import { ApiError } from "../api/client";

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Spread each delay by ± this fraction (0.2 = ±20 %), so thousands of pages do not poll in step. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 30_000, jitter: 0.2 };

/** base·2^attempt capped at max, then jittered by ±jitter. attempt 0 is the first retry. */
export function backoffDelay(attempt: number, o: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const raw = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, attempt));
  return jittered(raw, o.jitter, random);
}

export function jittered(ms: number, jitter: number, random: () => number = Math.random): number {
  const spread = ms * jitter;
  return Math.max(0, Math.round(ms - spread + 2 * spread * random()));
}

/**
 * How long to wait after a failed poll: exponential backoff, but never less than what the server
 * asked for with Retry-After (plus a little jitter on top, never below it).
 */
export function delayAfterError(err: unknown, attempt: number, o: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const backoff = backoffDelay(attempt, o, random);
  if (err instanceof ApiError && err.retryAfterSec !== undefined) {
    const asked = err.retryAfterSec * 1000;
    return Math.max(backoff, asked + Math.round(asked * o.jitter * random()));
  }
  return backoff;
}

export type PollStep = { next: "again"; delayMs?: number } | { next: "stop" };

export interface PollerState {
  /** Failures in a row (0 after a success). */
  failures: number;
  lastError: unknown;
  /** When the next attempt is due (ms since epoch), for "trying again in N s". */
  nextAt: number | null;
}

export interface PollerOptions {
  /** Wait between successful polls (jittered). */
  intervalMs: number;
  backoff?: BackoffOptions;
  random?: () => number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
  /** Called after every attempt with the state, for the page to show. */
  onState?: (s: PollerState) => void;
  /** Start with a poll right away (default) or after one interval. */
  immediate?: boolean;
}

/**
 * Runs `task` again and again: after a success it waits intervalMs (or the delay the task asks
 * for), after a failure it backs off exponentially and honours Retry-After. One attempt at a time;
 * stop() cancels the next one.
 */
export function startPoller(task: () => Promise<PollStep>, o: PollerOptions): { stop: () => void; pollNow: () => void } {
  const setTimer = o.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = o.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>));
  const random = o.random ?? Math.random;
  const now = o.now ?? Date.now;
  const backoff = o.backoff ?? DEFAULT_BACKOFF;
  const state: PollerState = { failures: 0, lastError: null, nextAt: null };
  let stopped = false;
  let running = false;
  let timer: unknown = null;

  const schedule = (ms: number) => {
    if (stopped) return;
    state.nextAt = now() + ms;
    timer = setTimer(run, ms);
  };

  async function run() {
    timer = null;
    if (stopped || running) return;
    running = true;
    let step: PollStep;
    try {
      step = await task();
      state.failures = 0;
      state.lastError = null;
    } catch (e) {
      state.lastError = e;
      const delay = delayAfterError(e, state.failures, backoff, random);
      state.failures += 1;
      running = false;
      if (stopped) return;
      schedule(delay);
      o.onState?.({ ...state });
      return;
    }
    running = false;
    if (stopped) return;
    if (step.next === "stop") {
      state.nextAt = null;
      o.onState?.({ ...state });
      return;
    }
    schedule(jittered(step.delayMs ?? o.intervalMs, backoff.jitter, random));
    o.onState?.({ ...state });
  }

  if (o.immediate === false) schedule(jittered(o.intervalMs, backoff.jitter, random));
  else void run();

  return {
    stop() {
      stopped = true;
      if (timer !== null) clearTimer(timer);
      timer = null;
    },
    pollNow() {
      if (stopped || running) return;
      if (timer !== null) clearTimer(timer);
      void run();
    },
  };
}

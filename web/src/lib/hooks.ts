import { useEffect, useRef, useState } from "react";
import { remainingMs } from "./time";
import { startPoller, type PollStep, type PollerState } from "./backoff";

/** Milliseconds left until `deadline`, re-rendering a few times a second; null deadline → null. */
export function useCountdown(deadline: number | null, tickMs = 250): number | null {
  // The clock is read at render; the interval only makes it render again.
  const [, setTick] = useState(0);
  useEffect(() => {
    if (deadline === null) return;
    const t = setInterval(() => setTick((n) => n + 1), tickMs);
    return () => clearInterval(t);
  }, [deadline, tickMs]);
  return deadline === null ? null : remainingMs(deadline, Date.now());
}

/**
 * Runs a poller while the component is mounted and `enabled`. The task is read through a ref, so
 * it may change on every render without restarting the poll.
 */
export function usePoller(
  task: () => Promise<PollStep>,
  intervalMs: number,
  enabled = true,
  deps: unknown[] = [],
): { state: PollerState; pollNow: () => void } {
  const ref = useRef(task);
  ref.current = task;
  const [state, setState] = useState<PollerState>({ failures: 0, lastError: null, nextAt: null });
  const ctl = useRef<{ stop: () => void; pollNow: () => void } | null>(null);
  useEffect(() => {
    if (!enabled) return;
    const p = startPoller(() => ref.current(), { intervalMs, onState: setState });
    ctl.current = p;
    return () => {
      p.stop();
      ctl.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [enabled, intervalMs, ...deps]);
  return { state, pollNow: () => ctl.current?.pollNow() };
}

/** Sets document.title and moves focus to the page's h1, so screen readers hear the new page. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Traffic Tacos`;
    const h1 = document.querySelector<HTMLElement>("main h1");
    if (h1) {
      if (!h1.hasAttribute("tabindex")) h1.setAttribute("tabindex", "-1");
      h1.focus({ preventScroll: true });
    }
  }, [title]);
}

// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, render, screen } from "@testing-library/react";
import { formatClock, formatDuration, remainingMs, spokenDuration } from "./time";
import { Countdown } from "../components/common";
import { MemoryRouter } from "react-router-dom";

describe("time formatting", () => {
  it("shows a clock that rounds up and never goes negative", () => {
    expect(formatClock(60_000)).toBe("1:00");
    expect(formatClock(59_001)).toBe("1:00");
    expect(formatClock(59_000)).toBe("0:59");
    expect(formatClock(1)).toBe("0:01");
    expect(formatClock(0)).toBe("0:00");
    expect(formatClock(-5)).toBe("0:00");
    expect(formatClock(3_723_000)).toBe("1:02:03");
    expect(remainingMs(1000, 1500)).toBe(0);
  });

  it("says durations the way people do", () => {
    expect(formatDuration(12_000)).toBe("12 s");
    expect(formatDuration(250_000)).toBe("4 min 10 s");
    expect(formatDuration(15 * 60_000)).toBe("15 min");
    expect(formatDuration(2 * 3600_000 + 5 * 60_000)).toBe("2 h 5 min");
    expect(formatDuration(3 * 86400_000 + 4 * 3600_000)).toBe("3 days 4 h");
    expect(spokenDuration(65_000)).toBe("1 minute 5 seconds");
  });
});

describe("Countdown", () => {
  beforeEach(() => vi.useFakeTimers({ now: new Date("2026-11-21T10:00:00Z") }));
  afterEach(() => vi.useRealTimers());

  it("counts down to the deadline, turns urgent, and stops at 0:00", () => {
    const deadline = Date.now() + 20_000;
    render(
      <MemoryRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <Countdown deadline={deadline} label="Seats held for you for" urgentBelowMs={15_000} />
      </MemoryRouter>,
    );
    const el = screen.getByTestId("countdown");
    expect(el).toHaveTextContent("0:20");
    expect(el).not.toHaveClass("countdown-urgent");
    act(() => vi.advanceTimersByTime(6_000));
    expect(el).toHaveTextContent("0:14");
    expect(el).toHaveClass("countdown-urgent");
    expect(el).toHaveTextContent("14 seconds");
    act(() => vi.advanceTimersByTime(30_000));
    expect(el).toHaveTextContent("0:00");
  });
});

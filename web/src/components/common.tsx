import type { ReactNode } from "react";
import { Link } from "react-router-dom";
import { describeError, errorReference } from "../api/errors";
import { ApiError } from "../api/client";
import { formatClock, spokenDuration } from "../lib/time";
import { useCountdown } from "../lib/hooks";

/** An error in plain words, announced to screen readers; with a reference when the fault may be ours. */
export function ErrorMessage({ error, children }: { error: unknown; children?: ReactNode }) {
  if (!error) return null;
  const ref = errorReference(error);
  const signIn = error instanceof ApiError && (error.code === "UNAUTHORIZED" || error.code === "TOKEN_EXPIRED" || error.code === "INVALID_TOKEN");
  return (
    <div className="notice notice-error" role="alert">
      <p>{describeError(error)}</p>
      {signIn && (
        <p>
          <Link to={`/signin?next=${encodeURIComponent(location.pathname)}`}>Sign in</Link>
        </p>
      )}
      {ref && <p className="ref">Reference: {ref}</p>}
      {children}
    </div>
  );
}

export function Notice({ kind = "info", children }: { kind?: "info" | "success" | "warning"; children: ReactNode }) {
  return (
    <div className={`notice notice-${kind}`} role="status">
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  );
}

/** A countdown to `deadline` (ms since epoch) with a spoken form; `onEnd` fires once at zero. */
export function Countdown({ deadline, label, urgentBelowMs = 15_000 }: { deadline: number; label: string; urgentBelowMs?: number }) {
  const left = useCountdown(deadline) ?? 0;
  const urgent = left <= urgentBelowMs;
  return (
    <p className={`countdown${urgent ? " countdown-urgent" : ""}`} data-testid="countdown">
      <span>{label} </span>
      <strong aria-hidden="true">{formatClock(left)}</strong>
      <span className="visually-hidden">{spokenDuration(left)}</span>
    </p>
  );
}

export function ProgressBar({ value, max, label }: { value: number; max: number; label: string }) {
  const pct = max > 0 ? Math.max(0, Math.min(100, (value / max) * 100)) : 0;
  return (
    <div className="progress">
      <div
        className="progress-track"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(pct)}
      >
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  const words: Record<string, string> = {
    HOLD: "Held, awaiting payment",
    CONFIRMED: "Confirmed",
    CANCELLED: "Cancelled",
    EXPIRED: "Expired",
  };
  return <span className={`badge badge-${status.toLowerCase()}`}>{words[status] ?? status}</span>;
}

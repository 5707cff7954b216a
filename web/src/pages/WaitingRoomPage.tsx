// Waiting room: joins the event's queue (or picks up the place this tab already has), polls its
// status with backoff and jitter, shows the position and estimated wait the server gives (never a
// made-up one), and when the server says it is our turn, enters and moves on to seat selection.

import { useEffect, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { ActionKey, ApiError, api } from "../api";
import type { QueueStatus } from "../api/types";
import { useSession } from "../auth/session";
import { ErrorMessage, ProgressBar } from "../components/common";
import { describeError, placeExpiredError, seconds } from "../api/errors";
import { flow } from "../lib/flow";
import { useCountdown, usePageTitle, usePoller } from "../lib/hooks";
import { formatDuration, formatTime } from "../lib/time";
import type { PollStep } from "../lib/backoff";

/** Time between polls while waiting: often when the turn is near, rarely when it is far. */
export function pollIntervalFor(s: Pick<QueueStatus, "position" | "eta_sec" | "opens_in_sec"> | null): number {
  if (!s) return 1000;
  if (s.position === null) {
    // Before the sale opens: nothing changes but the clock. Check in well within the abandon timeout.
    const opens = s.opens_in_sec ?? s.eta_sec;
    return opens <= 10 ? 1000 : 5000;
  }
  if (s.eta_sec <= 5) return 1000;
  if (s.eta_sec <= 30) return 2000;
  return 4000;
}

type Phase = "joining" | "waiting" | "entering" | "lost" | "failed";

const LOST_CODES = new Set(["PLACE_LOST", "NOT_IN_QUEUE", "INVALID_TOKEN", "TOKEN_EXPIRED"]);

export function WaitingRoomPage() {
  const { id = "" } = useParams();
  const { session } = useSession();
  const navigate = useNavigate();
  usePageTitle("Waiting room");
  const userId = session?.user_id ?? null;
  const saved = flow.place(id);
  const [token, setToken] = useState<string | null>(saved && saved.userId === userId ? saved.waitingToken : null);
  const [phase, setPhase] = useState<Phase>("joining");
  const [status, setStatus] = useState<QueueStatus | null>(null);
  const [statusAt, setStatusAt] = useState<number | null>(null);
  const [firstPosition, setFirstPosition] = useState<number | null>(null);
  const [fatal, setFatal] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const joinAction = useRef(new ActionKey());
  const enterAction = useRef(new ActionKey());
  const tokenRef = useRef(token);
  tokenRef.current = token;
  // The sale's opening time comes from the event: the status's opens_in_sec is capped (at 6 h).
  const [saleStartsAt, setSaleStartsAt] = useState<number | null>(null);
  const [eventName, setEventName] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api
      .event(id)
      .then((r) => {
        if (!live) return;
        setSaleStartsAt(Date.parse(r.data.sale_starts_at));
        setEventName(r.data.name);
      })
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [id]);

  const loseplace = (e: unknown) => {
    flow.setPlace(id, null);
    setToken(null);
    setPhase("lost");
    setFatal(e);
  };

  const task = async (): Promise<PollStep> => {
    let wt = tokenRef.current;
    if (!wt) {
      setPhase("joining");
      try {
        const j = await api.joinQueue(id, joinAction.current);
        wt = j.waiting_token;
        flow.setPlace(id, { waitingToken: wt, joinedAt: Date.now(), userId });
        tokenRef.current = wt;
        setToken(wt);
        setPhase("waiting");
        return { next: "again", delayMs: 250 };
      } catch (e) {
        if (e instanceof ApiError && e.retryable) throw e;
        setPhase("failed");
        setFatal(e);
        return { next: "stop" };
      }
    }
    let s: QueueStatus;
    try {
      s = await api.queueStatus(wt);
    } catch (e) {
      if (e instanceof ApiError && LOST_CODES.has(e.code)) {
        loseplace(e);
        return { next: "stop" };
      }
      if (e instanceof ApiError && !e.retryable) {
        setPhase("failed");
        setFatal(e);
        return { next: "stop" };
      }
      throw e;
    }
    if (s.status === "expired") {
      loseplace(placeExpiredError(s.reason));
      return { next: "stop" };
    }
    setStatus(s);
    setStatusAt(Date.now());
    if (s.position !== null) setFirstPosition((f) => (f === null || s.position! > f ? s.position : f));

    if (s.ready_for_entry) {
      setPhase("entering");
      try {
        const e = await api.enterQueue(wt, enterAction.current);
        flow.setEntry(id, { reservationToken: e.reservation_token, expiresAt: Date.now() + e.ttl_sec * 1000, userId });
        flow.setPlace(id, null);
        navigate(`/events/${encodeURIComponent(id)}/seats`, { replace: true });
        return { next: "stop" };
      } catch (e) {
        if (e instanceof ApiError && e.code === "NOT_READY") {
          setPhase("waiting");
          return { next: "again", delayMs: 1000 };
        }
        if (e instanceof ApiError && e.code === "TOKEN_ALREADY_USED") {
          // This tab (or a retry) already entered: carry on if the pass is still here.
          if (flow.entry(id)) {
            navigate(`/events/${encodeURIComponent(id)}/seats`, { replace: true });
            return { next: "stop" };
          }
          loseplace(e);
          return { next: "stop" };
        }
        if (e instanceof ApiError && LOST_CODES.has(e.code)) {
          loseplace(e);
          return { next: "stop" };
        }
        if (e instanceof ApiError && !e.retryable) {
          setPhase("failed");
          setFatal(e);
          return { next: "stop" };
        }
        throw e;
      }
    }
    setPhase("waiting");
    return { next: "again", delayMs: pollIntervalFor(s) };
  };

  const active = phase !== "lost" && phase !== "failed";
  const { state } = usePoller(task, 2000, active, [attempt]);
  const nextIn = useCountdown(state.lastError ? state.nextAt : null, 500);
  const opensIn = useCountdown(saleStartsAt, 1000);

  const joinAgain = () => {
    joinAction.current = new ActionKey();
    enterAction.current = new ActionKey();
    setFatal(null);
    setStatus(null);
    setFirstPosition(null);
    setPhase("joining");
    setAttempt((a) => a + 1);
  };

  const leave = () => {
    if (token) api.leaveQueue(token);
    flow.setPlace(id, null);
    navigate(`/events/${encodeURIComponent(id)}`);
  };

  const err = state.lastError instanceof ApiError ? state.lastError : state.lastError ? new ApiError({ status: 0, code: "NETWORK", message: "" }) : null;
  const position = status?.position ?? null;
  const preSale = status !== null && status.position === null && !status.ready_for_entry;

  return (
    <main id="main" className="page waiting">
      <h1>Waiting room</h1>
      {eventName && <p className="meta">{eventName}</p>}
      <p className="hint">
        Keep this page open. It checks your place by itself and takes you to seat selection as soon as it is your turn.{" "}
        <Link to={`/events/${encodeURIComponent(id)}`}>Back to the event</Link>
      </p>

      {(phase === "lost" || phase === "failed") && (
        <ErrorMessage error={fatal}>
          <p>
            <button type="button" className="primary" onClick={joinAgain}>
              {phase === "lost" ? "Join again" : "Try again"}
            </button>
          </p>
        </ErrorMessage>
      )}

      {active && (
        <section className="queue-card" aria-labelledby="queue-state">
          <h2 id="queue-state" aria-live="polite" data-testid="queue-state">
            {phase === "joining" && !status && "Getting you a place in the queue…"}
            {phase === "entering" && "It is your turn! Taking you to seat selection…"}
            {phase !== "entering" && preSale && "You are in the waiting room. The sale has not opened yet."}
            {phase !== "entering" && status && !preSale && position !== null && (position === 0 ? "You are next." : `${position.toLocaleString()} ${position === 1 ? "person is" : "people are"} ahead of you.`)}
          </h2>
          {preSale && status && (
            <p>
              The sale opens in{" "}
              <strong data-testid="opens-in">
                {opensIn !== null && opensIn > 0 ? formatDuration(opensIn) : `about ${formatDuration((status.opens_in_sec ?? status.eta_sec) * 1000)}`}
              </strong>
              . When it opens,
              everyone waiting gets a place drawn at random, then the queue moves in order.
            </p>
          )}
          {status && !preSale && position !== null && phase !== "entering" && (
            <>
              <p data-testid="eta">
                Estimated wait: <strong>{status.eta_sec <= 1 ? "a moment" : `about ${formatDuration(status.eta_sec * 1000)}`}</strong>
              </p>
              <ProgressBar
                label="Your progress through the queue"
                value={firstPosition ? firstPosition - position : 1}
                max={firstPosition ? firstPosition : 1}
              />
            </>
          )}
          {status && statusAt && (
            <p className="meta">
              Waiting for {formatDuration(status.waiting_time * 1000)} · last checked at {formatTime(new Date(statusAt).toISOString())}
            </p>
          )}
          {err && (
            <div className="notice notice-warning" role="status" data-testid="queue-problem">
              <p>
                {err.status === 429
                  ? `The server is very busy and asked us to check less often${err.retryAfterSec !== undefined ? ` (wait ${seconds(err.retryAfterSec)})` : ""}.`
                  : err.code === "NETWORK"
                    ? "We cannot reach the ticket server right now."
                    : describeError(err)}{" "}
                Your place is kept while this page keeps trying
                {nextIn !== null ? `: next try in ${Math.ceil(nextIn / 1000)} s.` : "."}
              </p>
              {status?.position != null && (
                <p>
                  The last position the server gave was {status.position.toLocaleString()} ahead of you
                  {statusAt ? `, at ${formatTime(new Date(statusAt).toISOString())}` : ""}; it may have moved since.
                </p>
              )}
            </div>
          )}
          <p>
            <button type="button" className="secondary" onClick={leave} disabled={!token}>
              Leave the queue
            </button>
          </p>
        </section>
      )}
    </main>
  );
}

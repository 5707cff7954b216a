// Checkout: the held seats, the hold's countdown, and payment through the simulator with the outcome
// chosen here (approve, fail, delay). An approved payment is confirmed at once (the signed webhook
// would also confirm it); a failed one releases the seats. The outcome is said plainly.

import { useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { ActionKey, ApiError, api } from "../api";
import type { PaymentAction, PaymentIntent, Reservation } from "../api/types";
import { Countdown, ErrorMessage, Loading, Notice } from "../components/common";
import { useCountdown, usePageTitle, usePoller } from "../lib/hooks";
import { formatMoney } from "../lib/money";
import { startPoller } from "../lib/backoff";

export function endedText(r: Reservation): string {
  switch (r.end_reason) {
    case "hold_expired":
      return "Your hold expired before payment, so the seats were released for other fans.";
    case "payment_failed":
      return "The payment was declined, so the seats were released. You were not charged.";
    case "cancelled_by_user":
      return "You cancelled this booking; the seats were released.";
    default:
      return r.status === "EXPIRED" ? "Your hold expired before payment, so the seats were released for other fans." : "This booking has ended.";
  }
}

const CHOICES: Array<{ value: PaymentAction; label: string; hint: string }> = [
  { value: "approve", label: "Approve", hint: "the card is accepted" },
  { value: "fail", label: "Decline", hint: "the card is refused" },
  { value: "delay", label: "Approve after a delay", hint: "the bank takes a few seconds" },
];

/** Waits for a payment that is still being processed to reach APPROVED or FAILED. */
function waitForPayment(pi: string): Promise<PaymentIntent> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const p = startPoller(
      async () => {
        const s = await api.paymentStatus(pi);
        if (s.status === "APPROVED" || s.status === "FAILED") {
          resolve(s);
          return { next: "stop" };
        }
        if (Date.now() - started > 120_000) {
          reject(new ApiError({ status: 504, code: "TIMEOUT", message: "payment still processing" }));
          return { next: "stop" };
        }
        return { next: "again" };
      },
      { intervalMs: 1000, immediate: false },
    );
    void p;
  });
}

export function CheckoutPage() {
  const { rid = "" } = useParams();
  const navigate = useNavigate();
  usePageTitle("Checkout");
  const [res, setRes] = useState<Reservation | null>(null);
  const [choice, setChoice] = useState<PaymentAction>("approve");
  const [phase, setPhase] = useState<"idle" | "paying" | "processing" | "confirming" | "failed">("idle");
  const [error, setError] = useState<unknown>(null);
  const intent = useRef<PaymentIntent | null>(null);
  const intentAction = useRef(new ActionKey());
  const processAction = useRef(new ActionKey());
  const confirmAction = useRef(new ActionKey());
  const cancelAction = useRef(new ActionKey());
  // After a 429 the buttons wait as long as Retry-After asked.
  const [waitUntil, setWaitUntil] = useState<number | null>(null);
  const waitLeft = useCountdown(waitUntil, 250);
  const waiting = waitLeft !== null && waitLeft > 0;
  const noteRateLimit = (e: unknown) => {
    if (e instanceof ApiError && e.status === 429 && e.retryAfterSec !== undefined) setWaitUntil(Date.now() + e.retryAfterSec * 1000);
  };

  const { state, pollNow } = usePoller(
    async () => {
      const r = await api.reservation(rid);
      setRes(r);
      if (r.status === "CONFIRMED") {
        navigate(`/tickets/${encodeURIComponent(rid)}`, { replace: true });
        return { next: "stop" };
      }
      if (r.status !== "HOLD") return { next: "stop" };
      // Look again right after the hold's expiry, so the page says so without delay.
      const toExpiry = Date.parse(r.hold_expires_at) - Date.now();
      return { next: "again", delayMs: toExpiry > 0 ? Math.min(3000, toExpiry + 500) : 1500 };
    },
    3000,
    phase === "idle" || phase === "failed",
    [rid],
  );

  const pay = async () => {
    if (!res) return;
    setError(null);
    setPhase("paying");
    try {
      if (!intent.current || intent.current.status !== "PENDING") intent.current = await api.paymentIntent(rid, intentAction.current);
      let p = await api.processPayment(intent.current.payment_intent_id, choice, processAction.current);
      if (p.status === "PENDING" || p.status === "PROCESSING") {
        setPhase("processing");
        p = await waitForPayment(p.payment_intent_id);
      }
      intent.current = p;
      if (p.status === "FAILED") {
        setPhase("failed");
        pollNow();
        return;
      }
      setPhase("confirming");
      await api.confirm(rid, p.payment_intent_id, confirmAction.current);
      navigate(`/tickets/${encodeURIComponent(rid)}`, { replace: true });
    } catch (e) {
      setError(e);
      noteRateLimit(e);
      setPhase("idle");
      pollNow();
    }
  };

  const cancel = async () => {
    setError(null);
    try {
      setRes(await api.cancel(rid, cancelAction.current));
    } catch (e) {
      setError(e);
      noteRateLimit(e);
    }
  };

  const notFound = state.lastError instanceof ApiError && state.lastError.status === 404;
  const held = res?.status === "HOLD";
  const busy = phase === "paying" || phase === "processing" || phase === "confirming";

  return (
    <main id="main" className="page checkout">
      <h1>Checkout</h1>
      {!res && !state.lastError && <Loading what="your booking" />}
      {notFound ? <p>We could not find this booking. It may belong to another account.</p> : state.lastError != null && <ErrorMessage error={state.lastError} />}
      {res && (
        <>
          <section className="summary" aria-labelledby="sum-h">
            <h2 id="sum-h">Your booking</h2>
            <dl>
              <dt>Tickets</dt>
              <dd data-testid="booking-seats">{res.seat_ids.length ? res.seat_ids.join(", ") : `${res.quantity} general admission`}</dd>
              <dt>Total</dt>
              <dd>{formatMoney(res.total_amount, res.currency)}</dd>
              <dt>Booking</dt>
              <dd>{res.reservation_id}</dd>
            </dl>
          </section>
          {held && !busy && phase !== "failed" && <Countdown deadline={Date.parse(res.hold_expires_at)} label="Seats held for you for" />}
          {!held && res.status !== "CONFIRMED" && (
            <div className="notice notice-warning" role="alert" data-testid="checkout-outcome">
              <p>{endedText(res)}</p>
              <p>
                <Link to={`/events/${encodeURIComponent(res.event_id)}`}>Back to the event</Link>
              </p>
            </div>
          )}
          {phase === "failed" && held && <Notice kind="warning">The payment was declined. Releasing your seats…</Notice>}
          {error != null && <ErrorMessage error={error} />}
          {held && phase !== "failed" && (
            <form
              className="pay"
              onSubmit={(e) => {
                e.preventDefault();
                void pay();
              }}
            >
              <fieldset disabled={busy}>
                <legend>Payment (simulator): choose what the bank answers</legend>
                {CHOICES.map((c) => (
                  <label key={c.value} className="radio">
                    <input type="radio" name="action" value={c.value} checked={choice === c.value} onChange={() => setChoice(c.value)} />
                    <span>
                      {c.label} <span className="hint">({c.hint})</span>
                    </span>
                  </label>
                ))}
              </fieldset>
              <p aria-live="polite" className="pay-state">
                {phase === "paying" && "Sending your payment…"}
                {phase === "processing" && "The bank is processing your payment. Please keep this page open…"}
                {phase === "confirming" && "Payment approved. Confirming your tickets…"}
              </p>
              <div className="row">
                <button type="submit" className="primary big" disabled={busy || waiting}>
                  {waiting ? `Please wait ${Math.ceil(waitLeft! / 1000)} s` : `Pay ${formatMoney(res.total_amount, res.currency)}`}
                </button>
                <button type="button" className="secondary" onClick={cancel} disabled={busy || waiting}>
                  Cancel and release the seats
                </button>
              </div>
            </form>
          )}
        </>
      )}
    </main>
  );
}

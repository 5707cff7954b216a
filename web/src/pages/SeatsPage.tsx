// Seat selection: the canvas seat map (or a quantity picker for general admission), refreshed every
// few seconds with If-None-Match, and the countdown of the pass the waiting room gave. "Hold these
// seats" spends that pass: all the chosen seats are held, or none.

import { useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { ActionKey, ApiError, api } from "../api";
import type { EventDetail, Seat, SeatMap } from "../api/types";
import { useSession } from "../auth/session";
import { Countdown, ErrorMessage, Loading } from "../components/common";
import { flow } from "../lib/flow";
import { useCountdown, usePageTitle, usePoller } from "../lib/hooks";
import { formatMoney } from "../lib/money";
import { SEAT_COLOURS, SeatCanvas } from "../seatmap/SeatCanvas";
import { takenSeats } from "../api/errors";

const STATUS_WORDS: Record<string, string> = { AVAILABLE: "available", HELD: "held by someone", SOLD: "sold" };
const PASS_CODES = new Set([
  "TOKEN_ALREADY_USED",
  "RESERVATION_TOKEN_INVALID",
  "RESERVATION_TOKEN_EXPIRED",
  "RESERVATION_TOKEN_WRONG_USER",
  "RESERVATION_TOKEN_WRONG_EVENT",
]);

export function SeatsPage() {
  const { id = "" } = useParams();
  const { session } = useSession();
  const navigate = useNavigate();
  usePageTitle("Choose your seats");
  const [entry] = useState(() => {
    const e = flow.entry(id);
    return e && e.userId === (session?.user_id ?? null) ? e : null;
  });
  const [event, setEvent] = useState<EventDetail | null>(null);
  const [map, setMap] = useState<SeatMap | null>(null);
  const [filter, setFilter] = useState<string>("");
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [quantity, setQuantity] = useState(1);
  const [busy, setBusy] = useState(false);
  const [holdError, setHoldError] = useState<unknown>(null);
  const [passGone, setPassGone] = useState(false);
  const [waitUntil, setWaitUntil] = useState<number | null>(null);
  const holdAction = useRef(new ActionKey());
  const passLeft = useCountdown(entry ? entry.expiresAt : null, 1000);
  const waitLeft = useCountdown(waitUntil, 500);

  const { state, pollNow } = usePoller(
    async () => {
      const e = await api.event(id);
      if (!e.notModified || !event) setEvent(e.data);
      if (!e.data.general_admission) {
        const s = await api.seats(id);
        if (!s.notModified || !map) setMap(s.data);
      }
      return { next: "again" };
    },
    3000,
    entry !== null,
    [id],
  );

  const priceOf = useMemo(() => {
    const m = new Map<string, number>();
    for (const s of event?.sections ?? []) m.set(s.name, s.price);
    return m;
  }, [event]);
  const currency = event?.currency ?? "KRW";
  const shown = useMemo(() => {
    const all = (event?.sections ?? []).filter((s) => s.rows && s.seats_per_row);
    return filter ? all.filter((s) => s.name === filter) : all;
  }, [event, filter]);
  const seatById = useMemo(() => new Map((map?.seats ?? []).map((s) => [s.seat_id, s] as const)), [map]);
  const describe = (s: Seat) =>
    `${s.section}, row ${s.row}, seat ${s.number}, ${formatMoney(priceOf.get(s.section) ?? 0, currency)}, ${
      selected.has(s.seat_id) ? "chosen" : STATUS_WORDS[s.status] ?? s.status
    }`;
  const max = event?.max_seats_per_reservation ?? 10;

  const toggle = (seat: Seat) => {
    setHoldError(null);
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(seat.seat_id)) next.delete(seat.seat_id);
      else if (next.size < max) next.add(seat.seat_id);
      return next;
    });
  };

  // A chosen seat that someone else took in the meantime is shown as such (and stays removable).
  const lostSeats = [...selected].filter((sid) => {
    const s = seatById.get(sid);
    return s && s.status !== "AVAILABLE";
  });

  const total = event?.general_admission
    ? quantity * (event.sections?.[0]?.price ?? 0)
    : [...selected].reduce((sum, sid) => sum + (priceOf.get(seatById.get(sid)?.section ?? "") ?? 0), 0);

  const hold = async () => {
    if (!entry || !event) return;
    setBusy(true);
    setHoldError(null);
    try {
      const body = event.general_admission
        ? { event_id: id, reservation_token: entry.reservationToken, quantity }
        : { event_id: id, reservation_token: entry.reservationToken, seat_ids: [...selected].sort() };
      const r = await api.hold(body, holdAction.current);
      flow.setEntry(id, null);
      navigate(`/checkout/${encodeURIComponent(r.reservation_id)}`);
    } catch (e) {
      setHoldError(e);
      if (e instanceof ApiError) {
        if (e.code === "SEAT_UNAVAILABLE") {
          const gone = new Set(takenSeats(e.message));
          if (gone.size) setSelected((prev) => new Set([...prev].filter((s) => !gone.has(s))));
          // Show the taken seats as taken now, and again once the catalogue (at most 1 s old) has them.
          pollNow();
          setTimeout(pollNow, 1500);
        }
        if (PASS_CODES.has(e.code)) {
          flow.setEntry(id, null);
          setPassGone(true);
        }
        if (e.status === 429 && e.retryAfterSec !== undefined) setWaitUntil(Date.now() + e.retryAfterSec * 1000);
      }
    } finally {
      setBusy(false);
    }
  };

  const queueLink = `/events/${encodeURIComponent(id)}/queue`;
  if (!entry || passGone || passLeft === 0) {
    return (
      <main id="main" className="page">
        <h1>Choose your seats</h1>
        {holdError != null && <ErrorMessage error={holdError} />}
        <div className="notice notice-warning" role="alert">
          <p>
            {!entry
              ? "To choose seats you first need your turn in the waiting room."
              : passLeft === 0 && !passGone
                ? "Your time to choose seats ran out, so your turn has passed."
                : "Your pass to choose seats can no longer be used."}
          </p>
          <p>
            <Link className="button primary" to={queueLink}>
              Join the queue
            </Link>
          </p>
        </div>
      </main>
    );
  }

  const canHold = event?.general_admission ? quantity >= 1 : selected.size > 0 && lostSeats.length === 0;
  const waiting = waitLeft !== null && waitLeft > 0;

  return (
    <main id="main" className="page seats-page">
      <h1>Choose your seats</h1>
      {event && <p className="meta">{event.name}</p>}
      <Countdown deadline={entry.expiresAt} label="Time left to choose:" urgentBelowMs={30_000} />
      {state.lastError != null && (
        <ErrorMessage error={state.lastError}>
          <p>The seat colours may be out of date while we retry.</p>
        </ErrorMessage>
      )}
      {!event && <Loading what="the seat map" />}
      {event?.general_admission && (
        <section className="ga" aria-labelledby="ga-h">
          <h2 id="ga-h">How many tickets?</h2>
          <p>
            {formatMoney(event.sections?.[0]?.price ?? 0, currency)} each · {event.available.toLocaleString()} left
          </p>
          <div className="qty">
            <button type="button" aria-label="One ticket fewer" onClick={() => setQuantity((q) => Math.max(1, q - 1))} disabled={quantity <= 1}>
              −
            </button>
            <label>
              <span className="visually-hidden">Number of tickets</span>
              <input
                type="number"
                inputMode="numeric"
                min={1}
                max={Math.min(max, Math.max(1, event.available))}
                value={quantity}
                onChange={(e) => setQuantity(Math.max(1, Math.min(max, Math.floor(Number(e.target.value) || 1))))}
              />
            </label>
            <button
              type="button"
              aria-label="One ticket more"
              onClick={() => setQuantity((q) => Math.min(max, Math.max(1, event.available), q + 1))}
              disabled={quantity >= Math.min(max, event.available)}
            >
              +
            </button>
          </div>
          <p className="hint">At most {max} per order.</p>
        </section>
      )}
      {event && !event.general_admission && (
        <>
          <div className="seat-tools">
            <div className="filter">
              <label htmlFor="section-filter">Section</label>{" "}
              <select id="section-filter" value={filter} onChange={(e) => setFilter(e.target.value)}>
                <option value="">All sections</option>
                {event.sections?.map((s) => (
                  <option key={s.name} value={s.name}>
                    {s.name} · {formatMoney(s.price, currency)} · {s.available.toLocaleString()} left
                  </option>
                ))}
              </select>
            </div>
            <ul className="legend" aria-label="Seat colours">
              <li>
                <span className="swatch" style={{ background: SEAT_COLOURS.AVAILABLE }} /> Available
              </li>
              <li>
                <span className="swatch swatch-small" style={{ background: SEAT_COLOURS.HELD }} /> Held
              </li>
              <li>
                <span className="swatch swatch-small" style={{ background: SEAT_COLOURS.SOLD }} /> Sold
              </li>
              <li>
                <span className="swatch swatch-dot" style={{ background: SEAT_COLOURS.SELECTED }} /> Your choice
              </li>
            </ul>
          </div>
          {!map ? (
            <Loading what="seats" />
          ) : (
            <SeatCanvas
              label={`Seat map of ${filter ? `section ${filter}` : "all sections"}`}
              sections={shown}
              seats={map.seats}
              selected={selected}
              onToggle={toggle}
              describe={describe}
            />
          )}
        </>
      )}
      {event && (
        <section className="basket" aria-labelledby="basket-h">
          <h2 id="basket-h">Your choice</h2>
          {!event.general_admission && selected.size === 0 && <p>No seats chosen yet (up to {max}).</p>}
          {!event.general_admission && selected.size > 0 && (
            <ul className="chosen" data-testid="chosen">
              {[...selected].sort().map((sid) => {
                const s = seatById.get(sid);
                const gone = s && s.status !== "AVAILABLE";
                return (
                  <li key={sid}>
                    <span>
                      {s ? `${s.section}, row ${s.row}, seat ${s.number}` : sid} · {formatMoney(priceOf.get(s?.section ?? "") ?? 0, currency)}
                      {gone && <strong className="gone"> · just taken by someone else</strong>}
                    </span>
                    <button type="button" className="linklike" onClick={() => s && toggle(s)} aria-label={`Remove ${sid}`}>
                      Remove
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
          <p className="total">
            Total: <strong>{formatMoney(total, currency)}</strong>
          </p>
          {holdError != null && <ErrorMessage error={holdError} />}
          <button type="button" className="primary big" onClick={hold} disabled={!canHold || busy || waiting}>
            {busy ? "Holding…" : waiting ? `Please wait ${Math.ceil(waitLeft! / 1000)} s` : event.general_admission ? `Hold ${quantity} ticket${quantity > 1 ? "s" : ""}` : "Hold these seats"}
          </button>
          <p className="hint">Holding keeps the seats for you for {event.hold_ttl_sec} seconds while you pay.</p>
        </section>
      )}
    </main>
  );
}

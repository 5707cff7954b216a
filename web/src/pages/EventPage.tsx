// Event: sections with prices and what is left; "Join the queue" once the sale is open, or a
// countdown "Opens in …" before (joining early is allowed: everyone who joins before the opening
// gets a random place when it opens).

import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { api } from "../api";
import type { EventDetail } from "../api/types";
import { useSession } from "../auth/session";
import { ErrorMessage, Loading } from "../components/common";
import { useCountdown, usePageTitle, usePoller } from "../lib/hooks";
import { formatMoney } from "../lib/money";
import { formatDate, formatDuration } from "../lib/time";
import { availabilityText } from "./EventsPage";

export function EventPage() {
  const { id = "" } = useParams();
  const [event, setEvent] = useState<EventDetail | null>(null);
  const { state } = usePoller(
    async () => {
      const r = await api.event(id);
      if (!r.notModified || !event) setEvent(r.data);
      return { next: "again" };
    },
    5000,
    true,
    [id],
  );
  usePageTitle(event?.name ?? "Event");
  const saleAt = event ? Date.parse(event.sale_starts_at) : null;
  const opensIn = useCountdown(event && !event.on_sale ? saleAt : null, 1000);
  const { session } = useSession();
  const navigate = useNavigate();

  const notFound = state.lastError && (state.lastError as { status?: number }).status === 404;
  const open = event ? event.on_sale || (opensIn !== null && opensIn <= 0) : false;
  const queuePath = `/events/${encodeURIComponent(id)}/queue`;
  const join = () => navigate(session ? queuePath : `/signin?next=${encodeURIComponent(queuePath)}`);

  return (
    <main id="main" className="page">
      {!event && !state.lastError && <Loading what="the event" />}
      {notFound ? (
        <>
          <h1>Event not found</h1>
          <p>
            This event does not exist (any more). <Link to="/">See all events</Link>.
          </p>
        </>
      ) : (
        state.lastError != null && <ErrorMessage error={state.lastError} />
      )}
      {event && (
        <>
          <h1>{event.name}</h1>
          <p className="meta">
            <time dateTime={event.starts_at}>{formatDate(event.starts_at)}</time> · {event.venue}
          </p>
          <p data-testid="availability">{availabilityText(event)}</p>
          <div className="cta">
            {open ? (
              <button type="button" className="primary big" onClick={join} disabled={event.available === 0}>
                {event.available === 0 ? "Sold out" : "Join the queue"}
              </button>
            ) : (
              <>
                <p className="opens" data-testid="opens-in">
                  Opens in <strong>{formatDuration(opensIn ?? 0)}</strong>{" "}
                  <span className="meta">({formatDate(event.sale_starts_at)})</span>
                </p>
                <button type="button" className="secondary" onClick={join}>
                  Wait in the waiting room
                </button>
                <p className="hint">Everyone who is waiting when the sale opens gets a place drawn at random, so there is no need to rush.</p>
              </>
            )}
            {!session && <p className="hint">You will be asked to sign in first.</p>}
          </div>
          <h2>{event.general_admission ? "Tickets" : "Sections"}</h2>
          <table className="table">
            <caption className="visually-hidden">Prices and tickets left per section</caption>
            <thead>
              <tr>
                <th scope="col">Section</th>
                <th scope="col">Price</th>
                <th scope="col">Left</th>
              </tr>
            </thead>
            <tbody>
              {event.sections?.map((s) => (
                <tr key={s.name}>
                  <th scope="row">{event.general_admission ? "General admission" : s.name}</th>
                  <td>{formatMoney(s.price, event.currency)}</td>
                  <td>
                    {s.available.toLocaleString()} of {s.capacity.toLocaleString()}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="hint">
            Up to {event.max_seats_per_reservation} tickets per order
            {event.max_tickets_per_user ? `, and ${event.max_tickets_per_user} per fan for this event in all` : ""}. Seats are
            held for you for {formatDuration(event.hold_ttl_sec * 1000)} while you pay.
          </p>
        </>
      )}
    </main>
  );
}

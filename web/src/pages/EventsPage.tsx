// Events: every event with its date, venue, price range and how many tickets are left, refreshed
// every few seconds (a 304 when nothing changed).

import { useState } from "react";
import { Link } from "react-router-dom";
import { api } from "../api";
import type { EventSummary } from "../api/types";
import { ErrorMessage, Loading } from "../components/common";
import { usePoller, usePageTitle } from "../lib/hooks";
import { formatPriceRange } from "../lib/money";
import { formatDate } from "../lib/time";

export function availabilityText(e: Pick<EventSummary, "available" | "capacity">): string {
  if (e.capacity === 0) return "No tickets";
  if (e.available === 0) return "Sold out";
  const share = e.available / e.capacity;
  const n = e.available.toLocaleString();
  if (share < 0.1) return `Only ${n} left`;
  return `${n} of ${e.capacity.toLocaleString()} left`;
}

export function EventsPage() {
  usePageTitle("Events");
  const [events, setEvents] = useState<EventSummary[] | null>(null);
  const { state } = usePoller(async () => {
    const r = await api.listEvents();
    if (!r.notModified || events === null) setEvents(r.data);
    return { next: "again" };
  }, 5000);

  return (
    <main id="main" className="page">
      <h1>Events</h1>
      {state.lastError != null && (
        <ErrorMessage error={state.lastError}>
          {events && <p>The list below may be out of date; we keep trying.</p>}
        </ErrorMessage>
      )}
      {events === null && state.lastError == null && <Loading what="events" />}
      {events?.length === 0 && <p>No events yet. Come back soon.</p>}
      <ul className="cards">
        {events?.map((e) => (
          <li key={e.event_id} className="card">
            <h2>
              <Link to={`/events/${encodeURIComponent(e.event_id)}`}>{e.name}</Link>
            </h2>
            <p className="meta">
              <time dateTime={e.starts_at}>{formatDate(e.starts_at)}</time> · {e.venue}
            </p>
            <p>{formatPriceRange(e.min_price, e.max_price, e.currency)}</p>
            <p className={e.available === 0 ? "avail avail-none" : "avail"} aria-live="off" data-testid="availability">
              {availabilityText(e)}
            </p>
            <p className="sale">{e.on_sale ? "On sale now" : `Sale opens ${formatDate(e.sale_starts_at)}`}</p>
          </li>
        ))}
      </ul>
    </main>
  );
}

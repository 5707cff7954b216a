// My tickets: the signed-in user's bookings, newest first, with their states.

import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { api } from "../api";
import type { Reservation } from "../api/types";
import { ErrorMessage, Loading, StatusBadge } from "../components/common";
import { usePageTitle } from "../lib/hooks";
import { formatMoney } from "../lib/money";
import { formatDate } from "../lib/time";

const REASONS: Record<string, string> = {
  hold_expired: "hold expired",
  payment_failed: "payment declined",
  cancelled_by_user: "cancelled by you",
};

export function MyTicketsPage() {
  usePageTitle("My tickets");
  const [list, setList] = useState<Reservation[] | null>(null);
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    let live = true;
    api
      .reservations()
      .then((r) => live && setList(r))
      .catch((e) => live && setError(e));
    api
      .listEvents()
      .then((r) => live && setNames(new Map(r.data.map((e) => [e.event_id, e.name]))))
      .catch(() => {});
    return () => {
      live = false;
    };
  }, []);

  return (
    <main id="main" className="page">
      <h1>My tickets</h1>
      <ErrorMessage error={error} />
      {!list && !error && <Loading what="your tickets" />}
      {list?.length === 0 && (
        <p>
          You have no bookings yet. <Link to="/">Find an event</Link>.
        </p>
      )}
      {list && list.length > 0 && (
        <ul className="tickets" data-testid="tickets">
          {list.map((r) => (
            <li key={r.reservation_id} className="card">
              <h2>
                <Link to={r.status === "HOLD" ? `/checkout/${r.reservation_id}` : `/tickets/${r.reservation_id}`}>
                  {names.get(r.event_id) ?? r.event_id}
                </Link>
              </h2>
              <p>
                <StatusBadge status={r.status} />
                {r.end_reason && <span className="meta"> ({REASONS[r.end_reason] ?? r.end_reason.replace(/_/g, " ")})</span>}
              </p>
              <p>{r.seat_ids.length ? r.seat_ids.join(", ") : `${r.quantity} general admission`}</p>
              <p className="meta">
                {formatMoney(r.total_amount, r.currency)} · booked {formatDate(r.created_at)}
              </p>
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}

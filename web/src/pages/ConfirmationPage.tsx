// Confirmation: the order of one booking (the reservation and its payment). Also the detail page
// of a ticket under "My tickets".

import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { ApiError, api } from "../api";
import type { EventDetail, Reservation } from "../api/types";
import { ErrorMessage, Loading, StatusBadge } from "../components/common";
import { usePageTitle, usePoller } from "../lib/hooks";
import { formatMoney } from "../lib/money";
import { formatDate } from "../lib/time";
import { endedText } from "./CheckoutPage";

export function ConfirmationPage() {
  const { rid = "" } = useParams();
  const [res, setRes] = useState<Reservation | null>(null);
  const [event, setEvent] = useState<EventDetail | null>(null);
  const confirmed = res?.status === "CONFIRMED";
  usePageTitle(confirmed ? "Booking confirmed" : "Booking");
  const { state } = usePoller(
    async () => {
      const r = await api.reservation(rid);
      setRes(r);
      if (!event) {
        try {
          setEvent((await api.event(r.event_id)).data);
        } catch {
          // the order still shows without the event's name
        }
      }
      return r.status === "HOLD" ? { next: "again" } : { next: "stop" };
    },
    2000,
    true,
    [rid],
  );
  const notFound = state.lastError instanceof ApiError && state.lastError.status === 404;

  return (
    <main id="main" className="page">
      <h1>{confirmed ? "Booking confirmed" : "Booking"}</h1>
      {!res && !state.lastError && <Loading what="your booking" />}
      {notFound ? <p>We could not find this booking.</p> : state.lastError != null && <ErrorMessage error={state.lastError} />}
      {res && (
        <>
          {confirmed && (
            <div className="notice notice-success" role="status" data-testid="confirmed">
              <p>You have your tickets. Enjoy the show!</p>
            </div>
          )}
          <section className="summary order" aria-labelledby="order-h">
            <h2 id="order-h">Order</h2>
            <dl>
              <dt>Event</dt>
              <dd>{event ? `${event.name}, ${formatDate(event.starts_at)}, ${event.venue}` : res.event_id}</dd>
              <dt>Tickets</dt>
              <dd data-testid="order-seats">{res.seat_ids.length ? res.seat_ids.join(", ") : `${res.quantity} general admission`}</dd>
              <dt>Status</dt>
              <dd>
                <StatusBadge status={res.status} />
              </dd>
              <dt>Total paid</dt>
              <dd>{confirmed ? formatMoney(res.total_amount, res.currency) : "—"}</dd>
              <dt>Booking reference</dt>
              <dd>{res.reservation_id}</dd>
              {res.payment_intent_id && (
                <>
                  <dt>Payment</dt>
                  <dd>{res.payment_intent_id}</dd>
                </>
              )}
              <dt>Booked</dt>
              <dd>{formatDate(res.created_at)}</dd>
            </dl>
          </section>
          {res.status === "HOLD" && (
            <p>
              This booking is not paid yet. <Link to={`/checkout/${encodeURIComponent(res.reservation_id)}`}>Go to checkout</Link>
            </p>
          )}
          {res.status !== "HOLD" && !confirmed && <p>{endedText(res)}</p>}
          <p>
            <Link to="/tickets">All my tickets</Link> · <Link to="/">More events</Link>
          </p>
        </>
      )}
    </main>
  );
}

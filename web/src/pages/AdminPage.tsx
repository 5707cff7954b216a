// Organiser: every event (to open its live view) and the form to create one, with a seat map of
// sections or a general-admission quantity.

import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { ActionKey, ApiError, api } from "../api";
import type { EventSummary, NewEvent } from "../api/types";
import { ErrorMessage } from "../components/common";
import { usePageTitle } from "../lib/hooks";
import { formatDate } from "../lib/time";
import { toMinor } from "../lib/money";

interface SectionRow {
  key: number;
  name: string;
  price: string;
  rows: string;
  seats: string;
}

const CURRENCIES = ["KRW", "USD", "EUR", "GBP", "JPY"];

/** A datetime-local value ("2027-03-01T19:00") read as local time, as RFC 3339 UTC. */
export function localToIso(v: string): string {
  const t = new Date(v);
  return Number.isNaN(t.getTime()) ? "" : t.toISOString();
}

/** The form's strings as the API's body; numbers left empty are left out (server defaults). */
export function buildEvent(f: {
  id: string;
  name: string;
  venue: string;
  startsAt: string;
  saleStartsAt: string;
  currency: string;
  holdTtl: string;
  admissionRate: string;
  buyerCap: string;
  maxSeats: string;
  maxPerFan: string;
  kind: "sections" | "ga";
  sections: SectionRow[];
  gaQuantity: string;
  gaPrice: string;
}): NewEvent {
  const e: NewEvent = { name: f.name.trim(), venue: f.venue.trim(), starts_at: localToIso(f.startsAt), currency: f.currency };
  if (f.id.trim()) e.id = f.id.trim();
  if (f.saleStartsAt) e.sale_starts_at = localToIso(f.saleStartsAt);
  const num = (v: string) => (v.trim() === "" ? undefined : Number(v));
  const opt = { hold_ttl_sec: num(f.holdTtl), admission_rate: num(f.admissionRate), active_buyer_cap: num(f.buyerCap), max_seats_per_reservation: num(f.maxSeats), max_tickets_per_user: num(f.maxPerFan) };
  for (const [k, v] of Object.entries(opt)) if (v !== undefined) (e as unknown as Record<string, number>)[k] = v;
  if (f.kind === "ga") e.general_admission = { quantity: Number(f.gaQuantity), price: toMinor(f.gaPrice, f.currency) };
  else
    e.sections = f.sections.map((s) => ({ name: s.name.trim(), price: toMinor(s.price, f.currency), rows: Number(s.rows), seats_per_row: Number(s.seats) }));
  return e;
}

export function AdminPage() {
  usePageTitle("Organiser");
  const navigate = useNavigate();
  const [events, setEvents] = useState<EventSummary[] | null>(null);
  const [listError, setListError] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const action = useRef(new ActionKey());
  const nextKey = useRef(2);
  const [f, setF] = useState({
    id: "",
    name: "",
    venue: "",
    startsAt: "",
    saleStartsAt: "",
    currency: "KRW",
    holdTtl: "",
    admissionRate: "",
    buyerCap: "",
    maxSeats: "",
    maxPerFan: "",
    kind: "sections" as "sections" | "ga",
    gaQuantity: "1000",
    gaPrice: "",
  });
  const [sections, setSections] = useState<SectionRow[]>([{ key: 1, name: "A", price: "", rows: "10", seats: "20" }]);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF((p) => ({ ...p, [k]: e.target.value }));
  const setSection = (key: number, k: keyof SectionRow, v: string) => setSections((rows) => rows.map((r) => (r.key === key ? { ...r, [k]: v } : r)));

  useEffect(() => {
    api
      .listEvents()
      .then((r) => setEvents(r.data))
      .catch(setListError);
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await api.createEvent(buildEvent({ ...f, sections }), action.current);
      navigate(`/admin/events/${encodeURIComponent(created.event_id)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const bad = error instanceof ApiError ? error.field : undefined;
  const seatsTotal = sections.reduce((s, r) => s + (Number(r.rows) || 0) * (Number(r.seats) || 0), 0);

  return (
    <main id="main" className="page">
      <h1>Organiser</h1>
      <section aria-labelledby="ev-h">
        <h2 id="ev-h">Events</h2>
        <ErrorMessage error={listError} />
        <ul className="plain">
          {events?.map((e) => (
            <li key={e.event_id}>
              <Link to={`/admin/events/${encodeURIComponent(e.event_id)}`}>{e.name}</Link> <span className="meta">· {formatDate(e.starts_at)} · {e.available.toLocaleString()} of {e.capacity.toLocaleString()} left</span>
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="new-h">
        <h2 id="new-h">Create an event</h2>
        <form onSubmit={submit} className="grid-form">
          <div className="field">
            <label htmlFor="ev-name">Event name</label>
            <input id="ev-name" required maxLength={200} value={f.name} onChange={set("name")} aria-invalid={bad === "name" || undefined} />
          </div>
          <div className="field">
            <label htmlFor="ev-venue">Venue</label>
            <input id="ev-venue" required value={f.venue} onChange={set("venue")} aria-invalid={bad === "venue" || undefined} />
          </div>
          <div className="field">
            <label htmlFor="ev-id">Event id (optional)</label>
            <input id="ev-id" pattern="[a-z0-9_\-]{3,64}" value={f.id} onChange={set("id")} aria-describedby="ev-id-hint" aria-invalid={bad === "id" || undefined} />
            <p id="ev-id-hint" className="hint">
              3–64 lower-case letters, digits, - or _. Left empty, one is made.
            </p>
          </div>
          <div className="field">
            <label htmlFor="ev-starts">Starts at</label>
            <input id="ev-starts" type="datetime-local" required value={f.startsAt} onChange={set("startsAt")} aria-invalid={bad === "starts_at" || undefined} />
          </div>
          <div className="field">
            <label htmlFor="ev-sale">Sale opens at (optional)</label>
            <input id="ev-sale" type="datetime-local" value={f.saleStartsAt} onChange={set("saleStartsAt")} aria-describedby="ev-sale-hint" />
            <p id="ev-sale-hint" className="hint">
              Left empty, the sale opens now.
            </p>
          </div>
          <div className="field">
            <label htmlFor="ev-cur">Currency</label>
            <select id="ev-cur" value={f.currency} onChange={set("currency")}>
              {CURRENCIES.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          </div>
          <fieldset className="field-row">
            <legend>Sale settings (optional; empty uses the server's defaults)</legend>
            <div className="field">
              <label htmlFor="ev-ttl">Hold time (seconds)</label>
              <input id="ev-ttl" type="number" min={5} max={3600} value={f.holdTtl} onChange={set("holdTtl")} />
            </div>
            <div className="field">
              <label htmlFor="ev-rate">Admissions per second</label>
              <input id="ev-rate" type="number" min={1} max={1000000} value={f.admissionRate} onChange={set("admissionRate")} />
            </div>
            <div className="field">
              <label htmlFor="ev-cap">Active-buyer cap</label>
              <input id="ev-cap" type="number" min={1} max={1000000} value={f.buyerCap} onChange={set("buyerCap")} />
            </div>
            <div className="field">
              <label htmlFor="ev-max">Tickets per order</label>
              <input id="ev-max" type="number" min={1} max={100} value={f.maxSeats} onChange={set("maxSeats")} />
            </div>
            <div className="field">
              <label htmlFor="ev-per-fan">Tickets per fan (0: no limit)</label>
              <input id="ev-per-fan" type="number" min={0} max={1000} value={f.maxPerFan} onChange={set("maxPerFan")} />
            </div>
          </fieldset>
          <fieldset>
            <legend>Seating</legend>
            <label className="radio">
              <input type="radio" name="kind" checked={f.kind === "sections"} onChange={() => setF((p) => ({ ...p, kind: "sections" }))} /> Seat map with sections
            </label>
            <label className="radio">
              <input type="radio" name="kind" checked={f.kind === "ga"} onChange={() => setF((p) => ({ ...p, kind: "ga" }))} /> General admission (no seats)
            </label>
          </fieldset>
          {f.kind === "sections" ? (
            <fieldset className="sections-editor">
              <legend>Sections ({seatsTotal.toLocaleString()} seats)</legend>
              {sections.map((s, i) => (
                <div className="field-row" key={s.key} role="group" aria-label={`Section ${i + 1}`}>
                  <div className="field">
                    <label htmlFor={`s-name-${s.key}`}>Section name</label>
                    <input id={`s-name-${s.key}`} required pattern="[A-Za-z0-9]{1,16}" value={s.name} onChange={(e) => setSection(s.key, "name", e.target.value)} />
                  </div>
                  <div className="field">
                    <label htmlFor={`s-price-${s.key}`}>Price ({f.currency})</label>
                    <input id={`s-price-${s.key}`} required type="number" min={0} step="any" value={s.price} onChange={(e) => setSection(s.key, "price", e.target.value)} />
                  </div>
                  <div className="field">
                    <label htmlFor={`s-rows-${s.key}`}>Rows</label>
                    <input id={`s-rows-${s.key}`} required type="number" min={1} max={1000} value={s.rows} onChange={(e) => setSection(s.key, "rows", e.target.value)} />
                  </div>
                  <div className="field">
                    <label htmlFor={`s-seats-${s.key}`}>Seats per row</label>
                    <input id={`s-seats-${s.key}`} required type="number" min={1} max={1000} value={s.seats} onChange={(e) => setSection(s.key, "seats", e.target.value)} />
                  </div>
                  <button type="button" className="linklike" disabled={sections.length === 1} onClick={() => setSections((rows) => rows.filter((r) => r.key !== s.key))}>
                    Remove section {s.name}
                  </button>
                </div>
              ))}
              <button
                type="button"
                className="secondary"
                onClick={() => setSections((rows) => [...rows, { key: nextKey.current++, name: String.fromCharCode(65 + (rows.length % 26)), price: "", rows: "10", seats: "20" }])}
              >
                Add a section
              </button>
            </fieldset>
          ) : (
            <fieldset className="field-row">
              <legend>General admission</legend>
              <div className="field">
                <label htmlFor="ga-qty">Tickets</label>
                <input id="ga-qty" type="number" required min={1} value={f.gaQuantity} onChange={set("gaQuantity")} />
              </div>
              <div className="field">
                <label htmlFor="ga-price">Price ({f.currency})</label>
                <input id="ga-price" type="number" required min={0} step="any" value={f.gaPrice} onChange={set("gaPrice")} />
              </div>
            </fieldset>
          )}
          <ErrorMessage error={error} />
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Creating…" : "Create event"}
          </button>
        </form>
      </section>
    </main>
  );
}

// The organiser's live view of one event: counters, sales over time, and the admission controls.
// It reads GET /admin/events/{id}/stats every 2 s. A server without that route (404 while the
// event exists) is still shown, from the queue stats and the event's per-section counts, with the
// counters only /stats has marked as unavailable and the chart drawn from what this page saw.

import { useRef, useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { ApiError, api } from "../api";
import type { EventStats, QueueStats, SalesPoint } from "../api/types";
import { ErrorMessage, Loading, Notice } from "../components/common";
import { SalesChart } from "../components/SalesChart";
import { usePageTitle, usePoller } from "../lib/hooks";

export interface Counters {
  name: string;
  capacity: number;
  free: number;
  held: number;
  sold: number;
  queue: QueueStats;
  holdsExpired: number | null;
  paymentFailures: number | null;
}

export function countersFromStats(s: EventStats): Counters {
  return {
    name: s.name,
    capacity: s.capacity,
    free: s.free,
    held: s.held,
    sold: s.sold,
    queue: s.queue,
    holdsExpired: s.reservations?.expired ?? null,
    paymentFailures: s.payments?.failed ?? s.reservations?.payment_failed ?? null,
  };
}

/** Adds one sample of the sold count to per-minute sales seen by this page (fallback chart). */
export function addSample(points: SalesPoint[], lastSold: number | null, sold: number, now: number): SalesPoint[] {
  if (lastSold === null || sold <= lastSold) return points;
  const minute = new Date(Math.floor(now / 60_000) * 60_000).toISOString();
  const last = points[points.length - 1];
  if (last && last.minute === minute) return [...points.slice(0, -1), { ...last, seats: last.seats + (sold - lastSold) }];
  return [...points, { minute, seats: sold - lastSold, orders: 0 }];
}

function Stat({ label, value, hint, testid }: { label: string; value: string; hint?: string; testid?: string }) {
  return (
    <div className="stat" data-testid={testid}>
      <dt>{label}</dt>
      <dd>
        <span className="stat-value">{value}</span>
        {hint && <span className="hint"> {hint}</span>}
      </dd>
    </div>
  );
}

const n = (v: number | null | undefined) => (v === null || v === undefined ? "—" : v.toLocaleString());

export function AdminEventPage() {
  const { id = "" } = useParams();
  const [mode, setMode] = useState<"stats" | "fallback">("stats");
  const [c, setC] = useState<Counters | null>(null);
  const [sales, setSales] = useState<SalesPoint[]>([]);
  const [fatal, setFatal] = useState<unknown>(null);
  const lastSold = useRef<number | null>(null);
  usePageTitle(c ? `Live: ${c.name}` : "Live view");

  const { state, pollNow } = usePoller(
    async () => {
      if (mode === "stats") {
        try {
          const s = await api.eventStats(id);
          setC(countersFromStats(s));
          setSales(s.sales ?? []);
          return { next: "again" };
        } catch (e) {
          if (!(e instanceof ApiError) || e.status !== 404) throw e;
          // No such route on this server, or no such event: the event's own page tells which.
          try {
            await api.event(id);
          } catch (e2) {
            setFatal(e2);
            return { next: "stop" };
          }
          setMode("fallback");
          return { next: "stop" };
        }
      }
      const [q, ev] = await Promise.all([api.queueStats(id), api.event(id)]);
      const secs = ev.data.sections ?? [];
      const sum = (k: "available" | "held" | "sold") => secs.reduce((t, s) => t + s[k], 0);
      const sold = sum("sold");
      const before = lastSold.current;
      const now = Date.now();
      setSales((p) => addSample(p, before, sold, now));
      lastSold.current = sold;
      setC({ name: ev.data.name, capacity: ev.data.capacity, free: sum("available"), held: sum("held"), sold, queue: q, holdsExpired: null, paymentFailures: null });
      return { next: "again" };
    },
    2000,
    fatal === null,
    [id, mode],
  );

  return (
    <main id="main" className="page">
      <p>
        <Link to="/admin">← All events</Link>
      </p>
      <h1>{c ? c.name : "Live view"}</h1>
      {fatal != null && <ErrorMessage error={fatal} />}
      {!c && fatal == null && !state.lastError && <Loading what="the counters" />}
      {state.lastError != null && (
        <ErrorMessage error={state.lastError}>
          <p>The numbers below are from the last successful update; we keep trying.</p>
        </ErrorMessage>
      )}
      {mode === "fallback" && (
        <Notice kind="warning">
          <p data-testid="stats-fallback">
            This server does not offer the full statistics yet. Seats and the queue are live; holds expired and payment failures are
            not available, and the chart shows only the sales this page has seen since it was opened.
          </p>
        </Notice>
      )}
      {c && (
        <>
          <section aria-labelledby="seats-h">
            <h2 id="seats-h">Tickets</h2>
            <dl className="stats">
              <Stat label="Sold" value={n(c.sold)} testid="stat-sold" />
              <Stat label="Held" value={n(c.held)} testid="stat-held" />
              <Stat label="Free" value={n(c.free)} testid="stat-free" />
              <Stat label="Capacity" value={n(c.capacity)} />
              <Stat label="Holds expired" value={n(c.holdsExpired)} testid="stat-expired" />
              <Stat label="Payment failures" value={n(c.paymentFailures)} testid="stat-failed" />
            </dl>
          </section>
          <section aria-labelledby="queue-h">
            <h2 id="queue-h">Waiting room</h2>
            <dl className="stats">
              <Stat label="Waiting" value={n(c.queue.waiting)} testid="stat-waiting" />
              <Stat label="Before opening" value={n(c.queue.pre_queue)} />
              <Stat label="Admitted" value={n(c.queue.admitted)} testid="stat-admitted" />
              <Stat label="Active buyers" value={`${n(c.queue.active_buyers)} / ${n(c.queue.active_buyer_cap)}`} testid="stat-active" />
              <Stat
                label="Admission rate"
                value={`${n(c.queue.admission_rate)}/s`}
                hint={`(measured ${c.queue.measured_admission_rate.toFixed(1)}/s)`}
                testid="stat-rate"
              />
              <Stat label="Sale" value={c.queue.open ? "open" : "not open yet"} />
            </dl>
          </section>
          <SalesChart
            points={sales}
            title={mode === "stats" ? "Tickets sold per minute" : "Tickets sold per minute (seen by this page)"}
          />
          <QueueControls id={id} queue={c.queue} onChanged={pollNow} />
        </>
      )}
    </main>
  );
}

function QueueControls({ id, queue, onChanged }: { id: string; queue: QueueStats; onChanged: () => void }) {
  const [rate, setRate] = useState("");
  const [cap, setCap] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body: { admission_rate?: number; active_buyer_cap?: number } = {};
    if (rate.trim()) body.admission_rate = Number(rate);
    if (cap.trim()) body.active_buyer_cap = Number(cap);
    if (!Object.keys(body).length) return;
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const q = await api.setQueueLimits(id, body);
      setDone(`Saved: ${q.admission_rate.toLocaleString()} admissions per second, at most ${q.active_buyer_cap.toLocaleString()} active buyers.`);
      setRate("");
      setCap("");
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="ctl-h">
      <h2 id="ctl-h">Admission controls</h2>
      <form onSubmit={submit} className="field-row">
        <div className="field">
          <label htmlFor="ctl-rate">Admissions per second</label>
          <input id="ctl-rate" type="number" min={1} max={1000000} step="any" placeholder={String(queue.admission_rate)} value={rate} onChange={(e) => setRate(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="ctl-cap">Active-buyer cap</label>
          <input id="ctl-cap" type="number" min={1} max={1000000} placeholder={String(queue.active_buyer_cap)} value={cap} onChange={(e) => setCap(e.target.value)} />
        </div>
        <button type="submit" className="primary" disabled={busy || (!rate.trim() && !cap.trim())}>
          {busy ? "Saving…" : "Apply"}
        </button>
      </form>
      <ErrorMessage error={error} />
      {done && <Notice kind="success">{done}</Notice>}
    </section>
  );
}

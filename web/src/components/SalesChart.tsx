// Sales over time as an SVG bar chart (one bar per minute), with the same numbers in a table for
// screen readers. Minutes without sales are filled in as zero so the time axis is even.

import type { SalesPoint } from "../api/types";
import { formatTime } from "../lib/time";

/**
 * Fills the gaps between the first and last minute with zero bars: at least `minBars` (earlier
 * empty minutes are added, so one busy minute is not drawn as a wall), at most `maxBars`.
 */
export function fillMinutes(points: SalesPoint[], maxBars = 60, minBars = 15): SalesPoint[] {
  if (points.length === 0) return [];
  const byMinute = new Map(points.map((p) => [Date.parse(p.minute), p] as const));
  const times = [...byMinute.keys()].filter((t) => !Number.isNaN(t)).sort((a, b) => a - b);
  if (times.length === 0) return [];
  const out: SalesPoint[] = [];
  const last = times[times.length - 1];
  const first = Math.max(Math.min(times[0], last - (minBars - 1) * 60_000), last - (maxBars - 1) * 60_000);
  for (let t = first; t <= last; t += 60_000) {
    out.push(byMinute.get(t) ?? { minute: new Date(t).toISOString(), seats: 0, orders: 0 });
  }
  return out;
}

export function SalesChart({ points, unit = "tickets", title }: { points: SalesPoint[]; unit?: string; title: string }) {
  const data = fillMinutes(points);
  const W = 600;
  const H = 180;
  const padL = 36;
  const padB = 24;
  const max = Math.max(1, ...data.map((p) => p.seats));
  const bw = data.length ? (W - padL) / data.length : 0;
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {data.length === 0 ? (
        <p className="hint">No sales yet.</p>
      ) : (
        <>
          <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${data.reduce((s, p) => s + p.seats, 0)} ${unit} in ${data.length} minutes`} data-testid="sales-chart">
            <line x1={padL} y1={H - padB} x2={W} y2={H - padB} stroke="#555" />
            <text x={padL - 6} y={12} textAnchor="end" fontSize="11" fill="#333">
              {max}
            </text>
            <text x={padL - 6} y={H - padB} textAnchor="end" fontSize="11" fill="#333">
              0
            </text>
            {data.map((p, i) => {
              const h = ((H - padB - 16) * p.seats) / max;
              return (
                <rect key={p.minute} x={padL + i * bw + 1} y={H - padB - h} width={Math.max(1, bw - 2)} height={h} fill="#0b3d91">
                  <title>
                    {formatTime(p.minute)}: {p.seats} {unit}, {p.orders} orders
                  </title>
                </rect>
              );
            })}
            <text x={padL} y={H - 6} fontSize="11" fill="#333">
              {formatTime(data[0].minute)}
            </text>
            <text x={W} y={H - 6} fontSize="11" fill="#333" textAnchor="end">
              {formatTime(data[data.length - 1].minute)}
            </text>
          </svg>
          <table className="visually-hidden">
            <caption>{title}</caption>
            <thead>
              <tr>
                <th scope="col">Minute</th>
                <th scope="col">{unit}</th>
                <th scope="col">Orders</th>
              </tr>
            </thead>
            <tbody>
              {data
                .filter((p) => p.seats > 0)
                .map((p) => (
                  <tr key={p.minute}>
                    <td>{formatTime(p.minute)}</td>
                    <td>{p.seats}</td>
                    <td>{p.orders}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </>
      )}
    </figure>
  );
}

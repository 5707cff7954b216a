// The seat map: one <canvas>, redrawn only when the seats, the selection, the cursor or the size
// change (10,000 seats draw in a few milliseconds; no DOM node per seat). Mouse and touch pick a
// seat by hit-testing the layout; the keyboard moves a cursor (arrows, Home/End, PageUp/PageDown
// between sections) and Space/Enter picks, with each move announced to screen readers.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Seat } from "../api/types";
import { cellSizeFor, computeLayout, hitTest, moveCursor, seatKey, seatRect, type Layout, type SectionShape, type SeatPos } from "./layout";

export const SEAT_COLOURS = {
  AVAILABLE: "#2e7d32",
  HELD: "#b35c00",
  SOLD: "#8a8a8a",
  SELECTED: "#0b3d91",
} as const;

interface Props {
  sections: SectionShape[];
  seats: Seat[];
  selected: ReadonlySet<string>;
  onToggle: (seat: Seat) => void;
  /** How a seat is read out ("VIP, row 3, seat 12, ₩220,000, available"). */
  describe: (seat: Seat) => string;
  label: string;
}

export function indexSeats(seats: Seat[]): Map<string, number> {
  const m = new Map<string, number>();
  seats.forEach((s, i) => m.set(seatKey(s.section, s.row, s.number), i));
  return m;
}

export function drawSeatMap(
  ctx: CanvasRenderingContext2D,
  layout: Layout,
  seats: Seat[],
  selected: ReadonlySet<string>,
  cursor: SeatPos | null,
  dpr: number,
): void {
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, layout.width, layout.height);
  // Stage
  ctx.fillStyle = "#e8e2d6";
  ctx.fillRect(8, 8, layout.width - 16, layout.stageHeight);
  ctx.fillStyle = "#3b3530";
  ctx.font = "600 13px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText("STAGE", layout.width / 2, 8 + layout.stageHeight / 2);
  // Section labels
  ctx.textAlign = "left";
  ctx.textBaseline = "alphabetic";
  ctx.font = "600 13px system-ui, sans-serif";
  ctx.fillStyle = "#222";
  for (const b of layout.blocks) ctx.fillText(b.section, b.x, b.y + 14);

  const cell = layout.cell;
  const gap = cell >= 10 ? 2 : 1;
  const full = cell - gap;
  const inset = Math.max(1, Math.floor(cell / 4));
  const small = Math.max(1, cell - gap - 2 * inset);
  // One pass per colour: few fillStyle changes, plain fillRect calls.
  const passes: Array<[string, (s: Seat) => boolean, boolean]> = [
    [SEAT_COLOURS.AVAILABLE, (s) => s.status === "AVAILABLE" && !selected.has(s.seat_id), true],
    [SEAT_COLOURS.HELD, (s) => s.status === "HELD" && !selected.has(s.seat_id), false],
    [SEAT_COLOURS.SOLD, (s) => s.status === "SOLD" && !selected.has(s.seat_id), false],
    [SEAT_COLOURS.SELECTED, (s) => selected.has(s.seat_id), true],
  ];
  for (const [colour, test, isFull] of passes) {
    ctx.fillStyle = colour;
    for (const s of seats) {
      if (!test(s)) continue;
      const b = layout.bySection.get(s.section);
      if (!b) continue;
      const x = b.gridX + (s.number - 1) * cell;
      const y = b.gridY + (s.row - 1) * cell;
      if (isFull) ctx.fillRect(x, y, full, full);
      else ctx.fillRect(x + inset, y + inset, small, small);
    }
  }
  // A white dot marks the chosen seats, so the choice does not rest on colour alone.
  if (selected.size && cell >= 8) {
    ctx.fillStyle = "#fff";
    const d = Math.max(2, Math.floor(cell / 3));
    for (const s of seats) {
      if (!selected.has(s.seat_id)) continue;
      const r = seatRect(layout, s);
      if (r) ctx.fillRect(r.x + (full - d) / 2, r.y + (full - d) / 2, d, d);
    }
  }
  if (cursor) {
    const r = seatRect(layout, cursor);
    if (r) {
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 2;
      ctx.strokeRect(r.x - 1.5, r.y - 1.5, full + 3, full + 3);
    }
  }
}

export function SeatCanvas({ sections, seats, selected, onToggle, describe, label }: Props) {
  const wrapRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(800);
  const [cursor, setCursor] = useState<SeatPos | null>(null);
  const [focused, setFocused] = useState(false);
  const [hover, setHover] = useState<string>("");
  const [announce, setAnnounce] = useState("");

  useEffect(() => {
    const el = wrapRef.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(280, Math.floor(el.clientWidth)));
    measure();
    if (typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const layout = useMemo(() => computeLayout(sections, width, cellSizeFor(width, sections)), [sections, width]);
  const index = useMemo(() => indexSeats(seats), [seats]);
  const seatAt = useCallback(
    (p: SeatPos | null) => {
      if (!p) return null;
      const i = index.get(seatKey(p.section, p.row, p.number));
      return i === undefined ? null : seats[i];
    },
    [index, seats],
  );

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(layout.width * dpr);
    const h = Math.round(layout.height * dpr);
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    canvas.style.width = `${layout.width}px`;
    canvas.style.height = `${layout.height}px`;
    let ctx: CanvasRenderingContext2D | null = null;
    try {
      ctx = canvas.getContext("2d");
    } catch {
      ctx = null; // no canvas support (tests)
    }
    if (!ctx) return;
    const c = ctx;
    const raf = requestAnimationFrame(() => drawSeatMap(c, layout, seats, selected, focused ? cursor : null, dpr));
    return () => cancelAnimationFrame(raf);
  }, [layout, seats, selected, cursor, focused]);

  // Keep the cursor inside what is shown when the section filter changes.
  useEffect(() => {
    if (cursor && !layout.bySection.has(cursor.section)) setCursor(null);
  }, [layout, cursor]);

  const pointToSeat = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    return hitTest(layout, e.clientX - rect.left, e.clientY - rect.top);
  };

  const pick = (seat: Seat | null) => {
    if (!seat) return;
    if (seat.status !== "AVAILABLE" && !selected.has(seat.seat_id)) {
      setAnnounce(`${describe(seat)}. This seat cannot be chosen.`);
      return;
    }
    onToggle(seat);
    setAnnounce(`${describe(seat)}. ${selected.has(seat.seat_id) ? "Removed from" : "Added to"} your choice.`);
  };

  const onKeyDown = (e: React.KeyboardEvent<HTMLCanvasElement>) => {
    if (e.key === " " || e.key === "Enter") {
      e.preventDefault();
      pick(seatAt(cursor));
      return;
    }
    const next = moveCursor(layout, cursor, e.key);
    if (!next) return;
    e.preventDefault();
    setCursor(next);
    const seat = seatAt(next);
    setAnnounce(seat ? describe(seat) : `${next.section}, row ${next.row}, seat ${next.number}`);
    // Keep the cursor in view inside the scrolling box.
    const r = seatRect(layout, next);
    const wrap = wrapRef.current;
    if (r && wrap) {
      if (r.y < wrap.scrollTop) wrap.scrollTop = r.y - 24;
      else if (r.y + r.size > wrap.scrollTop + wrap.clientHeight) wrap.scrollTop = r.y + r.size - wrap.clientHeight + 24;
      if (r.x < wrap.scrollLeft) wrap.scrollLeft = r.x - 24;
      else if (r.x + r.size > wrap.scrollLeft + wrap.clientWidth) wrap.scrollLeft = r.x + r.size - wrap.clientWidth + 24;
    }
  };

  return (
    <div className="seatmap">
      <div className="seatmap-scroll" ref={wrapRef}>
        <canvas
          ref={canvasRef}
          className="seatmap-canvas"
          tabIndex={0}
          role="application"
          aria-label={label}
          aria-describedby="seatmap-help"
          data-testid="seatmap"
          data-seat-count={seats.length}
          data-cell={layout.cell}
          data-grid-origin={layout.blocks.length ? `${layout.blocks[0].gridX},${layout.blocks[0].gridY}` : ""}
          onClick={(e) => pick(seatAt(pointToSeat(e)))}
          onMouseMove={(e) => {
            const s = seatAt(pointToSeat(e));
            const text = s ? describe(s) : "";
            if (text !== hover) setHover(text);
          }}
          onMouseLeave={() => setHover("")}
          onKeyDown={onKeyDown}
          onFocus={() => {
            setFocused(true);
            if (!cursor && layout.blocks.length) setCursor({ section: layout.blocks[0].section, row: 1, number: 1 });
          }}
          onBlur={() => setFocused(false)}
        />
      </div>
      <p id="seatmap-help" className="hint">
        Click or tap a green seat to choose it. With the keyboard: Tab to the map, arrows move, Page Up/Down change section,
        Space or Enter chooses.
      </p>
      <p className="seatmap-hover" aria-hidden="true">
        {hover || "\u00a0"}
      </p>
      <p className="visually-hidden" aria-live="polite">
        {announce}
      </p>
    </div>
  );
}

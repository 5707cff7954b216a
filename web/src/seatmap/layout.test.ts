import { describe, expect, it } from "vitest";
import { BLOCK_GAP, LABEL_HEIGHT, PADDING, STAGE_HEIGHT, cellSizeFor, computeLayout, hitTest, moveCursor, seatRect } from "./layout";
import { drawSeatMap, indexSeats } from "./SeatCanvas";
import type { Seat } from "../api/types";

const demo = [
  { name: "VIP", rows: 10, seats_per_row: 50 },
  { name: "R", rows: 20, seats_per_row: 50 },
  { name: "S", rows: 20, seats_per_row: 50 },
  ...["A", "B", "C", "D", "E", "F"].map((name) => ({ name, rows: 25, seats_per_row: 50 })),
];

function seatsOf(sections: typeof demo): Seat[] {
  const out: Seat[] = [];
  for (const s of sections)
    for (let r = 1; r <= s.rows; r++)
      for (let n = 1; n <= s.seats_per_row; n++) out.push({ seat_id: `${s.name}-${r}-${n}`, section: s.name, row: r, number: n, status: "AVAILABLE" });
  return out;
}

describe("seat map layout", () => {
  const top = PADDING + STAGE_HEIGHT + BLOCK_GAP + LABEL_HEIGHT;

  it("hits the seat under the point, 1-based, and nothing between blocks or on labels", () => {
    const l = computeLayout([{ name: "A", rows: 2, seats_per_row: 3 }, { name: "B", rows: 1, seats_per_row: 2 }], 1000, 10);
    expect(hitTest(l, PADDING + 0.5, top + 0.5)).toEqual({ section: "A", row: 1, number: 1 });
    expect(hitTest(l, PADDING + 29.9, top + 19.9)).toEqual({ section: "A", row: 2, number: 3 });
    expect(hitTest(l, PADDING + 30.1, top + 5)).toBeNull(); // in the gap after A
    expect(hitTest(l, PADDING + 5, top - 5)).toBeNull(); // on A's label
    expect(hitTest(l, PADDING + 5, top + 20.1)).toBeNull(); // below A
    const bx = PADDING + 30 + BLOCK_GAP;
    expect(hitTest(l, bx + 15, top + 5)).toEqual({ section: "B", row: 1, number: 2 });
    expect(seatRect(l, { section: "B", row: 1, number: 2 })).toEqual({ x: bx + 10, y: top, size: 10 });
  });

  it("wraps blocks to the next line when the width runs out", () => {
    const l = computeLayout([{ name: "A", rows: 1, seats_per_row: 10 }, { name: "B", rows: 1, seats_per_row: 10 }], 150, 10);
    expect(l.blocks[1].x).toBe(PADDING);
    expect(l.blocks[1].y).toBeGreaterThan(l.blocks[0].y);
    expect(hitTest(l, PADDING + 5, l.blocks[1].gridY + 5)).toEqual({ section: "B", row: 1, number: 1 });
  });

  it("sizes cells to fit the widest section, large for one section and small for the overview", () => {
    expect(cellSizeFor(1100, [demo[0]])).toBe(21);
    expect(cellSizeFor(1100, demo)).toBe(14);
    expect(cellSizeFor(340, demo)).toBe(6);
    expect(cellSizeFor(340, [demo[0]])).toBe(18); // a phone: tappable, scrolls sideways
  });

  it("finds every one of 10,000 seats by hit-testing its centre", () => {
    const l = computeLayout(demo, 1000, cellSizeFor(1000, demo));
    const seats = seatsOf(demo);
    expect(seats).toHaveLength(10_000);
    const index = indexSeats(seats);
    let found = 0;
    for (const s of seats) {
      const r = seatRect(l, s)!;
      const hit = hitTest(l, r.x + r.size / 2, r.y + r.size / 2)!;
      if (seats[index.get(`${hit.section}\u0000${hit.row}\u0000${hit.number}`)!] === s) found++;
    }
    expect(found).toBe(10_000);
  });

  it("draws 10,000 seats with one fillRect each and few colour changes", () => {
    const l = computeLayout(demo, 1000, cellSizeFor(1000, demo));
    const seats = seatsOf(demo);
    seats[5].status = "SOLD";
    seats[6].status = "HELD";
    let rects = 0;
    let styles = 0;
    const ctx = {
      setTransform() {},
      clearRect() {},
      fillText() {},
      strokeRect() {},
      fillRect() {
        rects++;
      },
      set fillStyle(_v: string) {
        styles++;
      },
    } as unknown as CanvasRenderingContext2D;
    const t0 = performance.now();
    drawSeatMap(ctx, l, seats, new Set(["VIP-1-1"]), null, 2);
    const ms = performance.now() - t0;
    // 1 stage + 10,000 seats + 1 dot on the chosen seat
    expect(rects).toBe(10_002);
    expect(styles).toBeLessThan(10);
    expect(ms).toBeLessThan(1000);
  });

  it("moves the keyboard cursor within a section and between sections", () => {
    const l = computeLayout([{ name: "A", rows: 2, seats_per_row: 3 }, { name: "B", rows: 1, seats_per_row: 2 }], 1000, 10);
    expect(moveCursor(l, null, "ArrowRight")).toEqual({ section: "A", row: 1, number: 1 });
    expect(moveCursor(l, null, "x")).toBeNull();
    const c = { section: "A", row: 1, number: 1 };
    expect(moveCursor(l, c, "ArrowLeft")).toEqual(c);
    expect(moveCursor(l, c, "ArrowDown")).toEqual({ section: "A", row: 2, number: 1 });
    expect(moveCursor(l, { section: "A", row: 2, number: 1 }, "ArrowDown")).toEqual({ section: "A", row: 2, number: 1 });
    expect(moveCursor(l, c, "End")).toEqual({ section: "A", row: 1, number: 3 });
    expect(moveCursor(l, { section: "A", row: 2, number: 3 }, "PageDown")).toEqual({ section: "B", row: 1, number: 2 });
    expect(moveCursor(l, { section: "B", row: 1, number: 2 }, "PageUp")).toEqual({ section: "A", row: 1, number: 2 });
    expect(moveCursor(l, c, "Tab")).toBeNull();
  });
});

// @vitest-environment jsdom
import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { SeatCanvas } from "./SeatCanvas";
import type { Seat } from "../api/types";
import { BLOCK_GAP, LABEL_HEIGHT, PADDING, STAGE_HEIGHT } from "./layout";

const seats: Seat[] = [
  { seat_id: "A-1-1", section: "A", row: 1, number: 1, status: "AVAILABLE" },
  { seat_id: "A-1-2", section: "A", row: 1, number: 2, status: "SOLD" },
  { seat_id: "A-1-3", section: "A", row: 1, number: 3, status: "AVAILABLE" },
];

function setup(selected = new Set<string>()) {
  const onToggle = vi.fn();
  render(
    <SeatCanvas
      label="Seat map"
      sections={[{ name: "A", rows: 1, seats_per_row: 3 }]}
      seats={seats}
      selected={selected}
      onToggle={onToggle}
      describe={(s) => `${s.section}, row ${s.row}, seat ${s.number}, ${s.status.toLowerCase()}`}
    />,
  );
  return { onToggle, canvas: screen.getByRole("application", { name: "Seat map" }) };
}

describe("SeatCanvas", () => {
  it("is reachable by keyboard and picks with Space, skipping what cannot be chosen", () => {
    const { onToggle, canvas } = setup();
    fireEvent.focus(canvas);
    fireEvent.keyDown(canvas, { key: " " });
    expect(onToggle).toHaveBeenLastCalledWith(seats[0]);
    fireEvent.keyDown(canvas, { key: "ArrowRight" });
    expect(screen.getByText("A, row 1, seat 2, sold")).toBeInTheDocument();
    fireEvent.keyDown(canvas, { key: "Enter" });
    expect(onToggle).toHaveBeenCalledTimes(1);
    expect(screen.getByText("A, row 1, seat 2, sold. This seat cannot be chosen.")).toBeInTheDocument();
    fireEvent.keyDown(canvas, { key: "End" });
    fireEvent.keyDown(canvas, { key: "Enter" });
    expect(onToggle).toHaveBeenLastCalledWith(seats[2]);
  });

  it("picks the seat under a click", () => {
    const { onToggle, canvas } = setup();
    const cell = Number(canvas.getAttribute("data-cell"));
    canvas.getBoundingClientRect = () => ({ left: 0, top: 0, right: 0, bottom: 0, width: 0, height: 0, x: 0, y: 0, toJSON() {} });
    const y = PADDING + STAGE_HEIGHT + BLOCK_GAP + LABEL_HEIGHT + cell / 2;
    fireEvent.click(canvas, { clientX: PADDING + 2.5 * cell, clientY: y });
    expect(onToggle).toHaveBeenCalledWith(seats[2]);
    fireEvent.click(canvas, { clientX: PADDING + 1.5 * cell, clientY: y }); // sold
    expect(onToggle).toHaveBeenCalledTimes(1);
  });
});

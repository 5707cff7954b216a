// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { fillMinutes } from "../components/SalesChart";
import { addSample } from "../pages/AdminEventPage";
import { buildEvent } from "../pages/AdminPage";
import { safeNext } from "../pages/AuthPages";
import { availabilityText } from "../pages/EventsPage";
import { formatMoney, toMinor } from "./money";
import { flow } from "./flow";

describe("money", () => {
  it("counts in the currency's minor unit", () => {
    expect(toMinor("49.50", "USD")).toBe(4950);
    expect(toMinor("220000", "KRW")).toBe(220000);
    expect(formatMoney(4950, "USD")).toMatch(/49\.50/);
    expect(formatMoney(220000, "KRW")).toMatch(/220,000/);
  });
});

describe("sales chart data", () => {
  it("fills the minutes without sales with zeros", () => {
    const out = fillMinutes([
      { minute: "2026-11-21T10:01:00Z", seats: 3, orders: 2 },
      { minute: "2026-11-21T10:04:00Z", seats: 1, orders: 1 },
    ], 60, 1);
    expect(out.map((p) => p.seats)).toEqual([3, 0, 0, 1]);
    const padded = fillMinutes([{ minute: "2026-11-21T10:20:00Z", seats: 5, orders: 2 }]);
    expect(padded).toHaveLength(15);
    expect(padded[0].minute).toBe("2026-11-21T10:06:00.000Z");
    expect(padded[14].seats).toBe(5);
  });

  it("adds what this page saw sold, per minute, for servers without /stats", () => {
    const t = Date.parse("2026-11-21T10:01:10Z");
    let pts = addSample([], null, 5, t);
    expect(pts).toEqual([]);
    pts = addSample(pts, 5, 7, t);
    pts = addSample(pts, 7, 8, t + 20_000);
    pts = addSample(pts, 8, 8, t + 70_000);
    pts = addSample(pts, 8, 10, t + 70_000);
    expect(pts).toEqual([
      { minute: "2026-11-21T10:01:00.000Z", seats: 3, orders: 0 },
      { minute: "2026-11-21T10:02:00.000Z", seats: 2, orders: 0 },
    ]);
  });
});

describe("create-event form", () => {
  it("sends only what was filled in, prices in minor units", () => {
    const e = buildEvent({
      id: "",
      name: " Jazz ",
      venue: "Blue Room",
      startsAt: "2027-03-01T19:00",
      saleStartsAt: "",
      currency: "USD",
      holdTtl: "5",
      admissionRate: "",
      buyerCap: "",
      maxSeats: "",
      maxPerFan: "4",
      kind: "sections",
      sections: [{ key: 1, name: "Floor", price: "50", rows: "2", seats: "3" }],
      gaQuantity: "",
      gaPrice: "",
    });
    expect(e).toEqual({
      name: "Jazz",
      venue: "Blue Room",
      starts_at: new Date("2027-03-01T19:00").toISOString(),
      currency: "USD",
      hold_ttl_sec: 5,
      max_tickets_per_user: 4,
      sections: [{ name: "Floor", price: 5000, rows: 2, seats_per_row: 3 }],
    });
  });
});

describe("small rules", () => {
  it("returns only to paths on this site after sign-in", () => {
    expect(safeNext("/events/x/queue")).toBe("/events/x/queue");
    expect(safeNext("//evil.example")).toBe("/");
    expect(safeNext("https://evil.example")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });

  it("words availability", () => {
    expect(availabilityText({ available: 0, capacity: 10 })).toBe("Sold out");
    expect(availabilityText({ available: 5, capacity: 100 })).toBe("Only 5 left");
    expect(availabilityText({ available: 9000, capacity: 10000 })).toBe("9,000 of 10,000 left");
  });

  it("forgets a reservation pass once it has expired", () => {
    flow.setEntry("e", { reservationToken: "rt", expiresAt: 2000, userId: null });
    expect(flow.entry("e", 1000)?.reservationToken).toBe("rt");
    expect(flow.entry("e", 2000)).toBeNull();
    expect(flow.entry("e", 1000)).toBeNull();
  });
});

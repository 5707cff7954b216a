// @vitest-environment jsdom
import { describe, expect, it, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { SessionProvider, saveSession } from "../auth/session";
import { WaitingRoomPage, pollIntervalFor } from "./WaitingRoomPage";
import { flow } from "../lib/flow";

const eventDetail = {
  event_id: "evt_1", name: "Test Night", venue: "Hall", starts_at: "2030-01-01T19:00:00Z", sale_starts_at: "2020-01-01T00:00:00Z",
  on_sale: true, currency: "KRW", min_price: 1, max_price: 1, capacity: 1, available: 1, general_admission: false,
  hold_ttl_sec: 60, admission_rate: 1, active_buyer_cap: 1, max_seats_per_reservation: 1, max_tickets_per_user: null, sections: [],
};

type Answer = Response | Error | ((url: string, init: RequestInit) => Response);

/** Stubs fetch with answers by route ("POST /api/v1/queue/join"), each list consumed in order. */
function routeFetch(routes: Record<string, Answer[]>) {
  const calls: Array<{ key: string; init: RequestInit }> = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const key = `${init.method ?? "GET"} ${url.split("?")[0]}`;
      calls.push({ key, init });
      const list = routes[key] ?? (key === "GET /api/v1/events/evt_1" ? [json(200, eventDetail)] : undefined);
      const a = list && (list.length > 1 ? list.shift() : list[0]);
      if (!a) throw new Error(`unexpected ${key}`);
      if (a instanceof Error) throw a;
      return typeof a === "function" ? a(url, init) : a.clone();
    }),
  );
  return calls;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

function renderRoom() {
  saveSession({ token: "jwt", user_id: "usr_1", username: "fan", display_name: "fan", role: "user", expires_in: 3600 });
  return render(
    <SessionProvider>
      <MemoryRouter initialEntries={["/events/evt_1/queue"]} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <Routes>
          <Route path="/events/:id/queue" element={<WaitingRoomPage />} />
          <Route path="/events/:id/seats" element={<p>SEAT SELECTION</p>} />
        </Routes>
      </MemoryRouter>
    </SessionProvider>,
  );
}

const joined = json(202, { waiting_token: "wt1", event_id: "evt_1", status: "waiting", position_hint: 41, eta_sec: 9 });

describe("WaitingRoomPage", () => {
  it("shows the server's position and wait, then enters and moves on by itself when admitted", async () => {
    const calls = routeFetch({
      "POST /api/v1/queue/join": [joined],
      "GET /api/v1/queue/status": [
        json(200, { event_id: "evt_1", status: "waiting", position: 41, eta_sec: 9, waiting_time: 0, ready_for_entry: false }),
        json(200, { event_id: "evt_1", status: "ready", position: 0, eta_sec: 0, waiting_time: 3, ready_for_entry: true }),
      ],
      "POST /api/v1/queue/enter": [json(200, { admission: "granted", reservation_token: "rt1", ttl_sec: 120, event_id: "evt_1" })],
    });
    vi.spyOn(Math, "random").mockReturnValue(0); // shortest jittered poll
    renderRoom();
    expect(await screen.findByText("41 people are ahead of you.")).toBeInTheDocument();
    expect(screen.getByTestId("eta")).toHaveTextContent("about 9 s");
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "0");
    expect(await screen.findByText("SEAT SELECTION", {}, { timeout: 4000 })).toBeInTheDocument();
    const enter = calls.find((c) => c.key === "POST /api/v1/queue/enter")!;
    expect((enter.init.headers as Record<string, string>)["Idempotency-Key"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(enter.init.body as string)).toEqual({ waiting_token: "wt1" });
    expect(flow.entry("evt_1")).toMatchObject({ reservationToken: "rt1", userId: "usr_1" });
    expect(flow.place("evt_1")).toBeNull();
  });

  it("says honestly that the server asked to slow down, and invents no position", async () => {
    routeFetch({
      "POST /api/v1/queue/join": [joined],
      "GET /api/v1/queue/status": [json(429, { error: { code: "RATE_LIMITED", message: "slow down", trace_id: "t" } }, { "Retry-After": "30" })],
    });
    renderRoom();
    const problem = await screen.findByTestId("queue-problem");
    expect(problem).toHaveTextContent("The server is very busy and asked us to check less often (wait 30 seconds).");
    expect(problem).toHaveTextContent("Your place is kept while this page keeps trying");
    expect(screen.queryByText(/ahead of you/)).toBeNull();
    expect(screen.queryByRole("progressbar")).toBeNull();
  });

  it("says when the server cannot be reached, keeping the last position it gave", async () => {
    routeFetch({
      "POST /api/v1/queue/join": [joined],
      "GET /api/v1/queue/status": [
        json(200, { event_id: "evt_1", status: "waiting", position: 12, eta_sec: 40, waiting_time: 0, ready_for_entry: false }),
        new TypeError("Failed to fetch"),
      ],
    });
    vi.spyOn(Math, "random").mockReturnValue(0);
    renderRoom();
    await screen.findByText("12 people are ahead of you.");
    // Far from the front, the next poll comes after about 4 s (jittered down to 3.2 s here).
    const problem = await screen.findByTestId("queue-problem", {}, { timeout: 5000 });
    expect(problem).toHaveTextContent("We cannot reach the ticket server right now.");
    expect(problem).toHaveTextContent("The last position the server gave was 12 ahead of you");
  }, 10_000);

  it("says why the place ended when the server answers expired", async () => {
    routeFetch({
      "POST /api/v1/queue/join": [joined],
      "GET /api/v1/queue/status": [
        json(200, { event_id: "evt_1", status: "expired", reason: "abandoned", position: null, eta_sec: 0, waiting_time: 80, ready_for_entry: false }),
      ],
    });
    renderRoom();
    expect(await screen.findByRole("alert")).toHaveTextContent("this page stopped checking in");
    expect(screen.getByRole("button", { name: "Join again" })).toBeInTheDocument();
    expect(flow.place("evt_1")).toBeNull();
  });

  it("offers to join again when the place was lost", async () => {
    routeFetch({
      "POST /api/v1/queue/join": [joined],
      "GET /api/v1/queue/status": [json(410, { error: { code: "PLACE_LOST", message: "you left", trace_id: "t" } })],
    });
    renderRoom();
    expect(await screen.findByRole("alert")).toHaveTextContent("Your place in the queue was released");
    expect(screen.getByRole("button", { name: "Join again" })).toBeInTheDocument();
    expect(flow.place("evt_1")).toBeNull();
  });
});

describe("WaitingRoomPage before the sale", () => {
  it("counts down to the event's sale start, not the capped opens_in_sec", async () => {
    const inThreeDays = new Date(Date.now() + 3 * 86400_000 + 5 * 3600_000).toISOString();
    routeFetch({
      "GET /api/v1/events/evt_1": [json(200, { ...eventDetail, on_sale: false, sale_starts_at: inThreeDays })],
      "POST /api/v1/queue/join": [joined],
      "GET /api/v1/queue/status": [json(200, { event_id: "evt_1", status: "waiting", position: null, eta_sec: 21600, opens_in_sec: 21600, waiting_time: 0, ready_for_entry: false })],
    });
    renderRoom();
    expect(await screen.findByText("You are in the waiting room. The sale has not opened yet.")).toBeInTheDocument();
    expect(await screen.findByText("3 days 4 h")).toBeInTheDocument();
    expect(screen.queryByText(/ahead of you/)).toBeNull();
  });
});

describe("pollIntervalFor", () => {
  it("polls often near the front and rarely far away or before the sale", () => {
    expect(pollIntervalFor({ position: 3, eta_sec: 2 })).toBe(1000);
    expect(pollIntervalFor({ position: 300, eta_sec: 20 })).toBe(2000);
    expect(pollIntervalFor({ position: 30000, eta_sec: 600 })).toBe(4000);
    expect(pollIntervalFor({ position: null, eta_sec: 3600, opens_in_sec: 3600 })).toBe(5000);
    expect(pollIntervalFor({ position: null, eta_sec: 5, opens_in_sec: 5 })).toBe(1000);
  });
});

// @vitest-environment jsdom
import { describe, expect, it, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { SessionProvider, saveSession } from "../auth/session";
import { CheckoutPage } from "./CheckoutPage";

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

const hold = {
  reservation_id: "rsv_1",
  status: "HOLD",
  event_id: "evt_1",
  seat_ids: ["A-1-1", "A-1-2"],
  quantity: 2,
  user_id: "usr_1",
  hold_expires_at: new Date(Date.now() + 60_000).toISOString(),
  total_amount: 440000,
  currency: "KRW",
  created_at: new Date().toISOString(),
};
const intent = { payment_intent_id: "pi_1", status: "PENDING", amount: 440000, currency: "KRW", reservation_id: "rsv_1", refund_required: false };

function stub(routes: Record<string, Response[]>) {
  const calls: Array<{ key: string; init: RequestInit }> = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const key = `${init.method ?? "GET"} ${url.split("?")[0]}`;
      calls.push({ key, init });
      const list = routes[key];
      if (!list?.length) throw new Error(`unexpected ${key}`);
      return (list.length > 1 ? list.shift()! : list[0]).clone();
    }),
  );
  return calls;
}

function renderCheckout() {
  saveSession({ token: "jwt", user_id: "usr_1", username: "fan", display_name: "fan", role: "user", expires_in: 3600 });
  render(
    <SessionProvider>
      <MemoryRouter initialEntries={["/checkout/rsv_1"]} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <Routes>
          <Route path="/checkout/:rid" element={<CheckoutPage />} />
          <Route path="/tickets/:rid" element={<p>CONFIRMATION</p>} />
        </Routes>
      </MemoryRouter>
    </SessionProvider>,
  );
}

describe("CheckoutPage", () => {
  it("pays, confirms and goes to the confirmation", async () => {
    const calls = stub({
      "GET /api/v1/reservations/rsv_1": [json(200, hold)],
      "POST /api/v1/payment/intent": [json(200, intent)],
      "POST /api/v1/payment/process": [json(200, { ...intent, status: "APPROVED" })],
      "POST /api/v1/reservations/rsv_1/confirm": [json(200, { ...hold, status: "CONFIRMED" })],
    });
    renderCheckout();
    await userEvent.click(await screen.findByRole("button", { name: "Pay ₩440,000" }));
    expect(await screen.findByText("CONFIRMATION")).toBeInTheDocument();
    const process = calls.find((c) => c.key === "POST /api/v1/payment/process")!;
    expect(JSON.parse(process.init.body as string)).toEqual({ payment_intent_id: "pi_1", action: "approve" });
  });

  it("after a 429 says how long to wait, and the retry reuses the same key", async () => {
    const calls = stub({
      "GET /api/v1/reservations/rsv_1": [json(200, hold)],
      "POST /api/v1/payment/intent": [json(200, intent)],
      "POST /api/v1/payment/process": [
        json(429, { error: { code: "RATE_LIMITED", message: "too many", trace_id: "t" } }, { "Retry-After": "1" }),
        json(200, { ...intent, status: "FAILED" }),
      ],
    });
    renderCheckout();
    await userEvent.click(await screen.findByLabelText(/^Decline/));
    await userEvent.click(await screen.findByRole("button", { name: "Pay ₩440,000" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Please wait 1 second before trying again.");
    expect(screen.getByRole("button", { name: "Please wait 1 s" })).toBeDisabled();
    await userEvent.click(await screen.findByRole("button", { name: "Pay ₩440,000" }, { timeout: 3000 }));
    expect(await screen.findByText("The payment was declined. Releasing your seats…")).toBeInTheDocument();
    const keys = calls.filter((c) => c.key === "POST /api/v1/payment/process").map((c) => (c.init.headers as Record<string, string>)["Idempotency-Key"]);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  it("says plainly when the hold has expired", async () => {
    stub({ "GET /api/v1/reservations/rsv_1": [json(200, { ...hold, status: "CANCELLED", end_reason: "hold_expired" })] });
    renderCheckout();
    expect(await screen.findByTestId("checkout-outcome")).toHaveTextContent("Your hold expired before payment, so the seats were released");
    expect(screen.queryByRole("button", { name: /^Pay/ })).toBeNull();
  });
});

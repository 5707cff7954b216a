// k6: the whole fan flow of an on-sale, as fans do it. Each iteration is a new fan: sign up, join
// the waiting room, poll until admitted, enter (the single-use entry token), read the seat map,
// hold two seats that are free in it (a refusal because someone was faster: pick again, up to
// three times), pay with a scenario that settles by itself, and wait for the confirmation.
//
// Counters count outcomes, never attempts twice: a fan who gives up counts once under the step
// where they gave up. Idempotency keys are UUIDs, as the web app sends.
//
//   k6 run -e BASE_URL=https://tickets.example.com -e EVENT_ID=evt_2025_1001 fan-flow.js
import http from "k6/http";
import { check, sleep } from "k6";
import { Counter, Trend } from "k6/metrics";
import { uuidv4 } from "https://jslib.k6.io/k6-utils/1.4.0/index.js";

const BASE = __ENV.BASE_URL || "http://127.0.0.1:8080";
const EVENT = __ENV.EVENT_ID || "evt_2025_1001";
const POLL_SECONDS = Number(__ENV.POLL_SECONDS || 2);
const MAX_WAIT_SECONDS = Number(__ENV.MAX_WAIT_SECONDS || 600);

export const options = {
  scenarios: {
    on_sale: {
      executor: "ramping-arrival-rate",
      startRate: 10,
      timeUnit: "1s",
      preAllocatedVUs: 200,
      maxVUs: 5000,
      stages: [
        { target: 500, duration: "1m" },
        { target: 500, duration: "5m" },
        { target: 0, duration: "1m" },
      ],
    },
  },
  thresholds: {
    tickets_sold: ["count>0"],
    "http_req_failed{step:hold}": ["rate<0.5"],
    "http_req_duration{step:poll}": ["p(99)<500"],
  },
};

export const outcomes = {
  sold: new Counter("tickets_sold"),
  signupFailed: new Counter("fans_signup_failed"),
  joinFailed: new Counter("fans_join_failed"),
  notAdmitted: new Counter("fans_not_admitted"),
  enterFailed: new Counter("fans_enter_failed"),
  soldOut: new Counter("fans_sold_out"),
  holdFailed: new Counter("fans_hold_failed"),
  paymentFailed: new Counter("fans_payment_failed"),
  notConfirmed: new Counter("fans_not_confirmed"),
};
const waitSeconds = new Trend("fan_wait_seconds");

const json = (token, key) => {
  const headers = { "Content-Type": "application/json", "X-Trace-Id": uuidv4() };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (key) headers["Idempotency-Key"] = key;
  return { headers };
};
const body = (r) => {
  try {
    return r.json();
  } catch (_) {
    return {};
  }
};

export default function () {
  const name = `fan_${uuidv4().replace(/-/g, "").slice(0, 16)}`;
  const signup = http.post(
    `${BASE}/api/v1/auth/register`,
    JSON.stringify({ username: name, password: "loadtest-password", email: `${name}@example.com` }),
    Object.assign(json(null, uuidv4()), { tags: { step: "signup" } }),
  );
  const token = body(signup).token;
  if (!check(signup, { "signed up": (r) => r.status === 201 && !!token })) return outcomes.signupFailed.add(1);

  const joined = http.post(`${BASE}/api/v1/queue/join`, JSON.stringify({ event_id: EVENT }),
    Object.assign(json(token, uuidv4()), { tags: { step: "join" } }));
  const waiting = body(joined).waiting_token;
  if (!check(joined, { joined: (r) => r.status === 202 && !!waiting })) return outcomes.joinFailed.add(1);

  const started = Date.now();
  let ready = body(joined).status === "ready";
  while (!ready) {
    if ((Date.now() - started) / 1000 > MAX_WAIT_SECONDS) return outcomes.notAdmitted.add(1);
    sleep(POLL_SECONDS);
    const s = http.get(`${BASE}/api/v1/queue/status?token=${encodeURIComponent(waiting)}`,
      Object.assign(json(token), { tags: { step: "poll" } }));
    const sb = body(s);
    if (s.status === 200 && sb.status === "expired") return outcomes.notAdmitted.add(1);
    ready = s.status === 200 && sb.ready_for_entry === true;
  }
  waitSeconds.add((Date.now() - started) / 1000);

  const entered = http.post(`${BASE}/api/v1/queue/enter`, JSON.stringify({ waiting_token: waiting }),
    Object.assign(json(token, uuidv4()), { tags: { step: "enter" } }));
  const entry = body(entered).reservation_token;
  if (!check(entered, { entered: (r) => r.status === 200 && !!entry })) return outcomes.enterFailed.add(1);

  let reservation = null;
  for (let attempt = 0; attempt < 3 && !reservation; attempt++) {
    const map = body(http.get(`${BASE}/api/v1/events/${EVENT}/seats`, Object.assign(json(token), { tags: { step: "seats" } })));
    const free = (map.seats || []).filter((s) => s.status === "AVAILABLE");
    if (free.length < 2) return outcomes.soldOut.add(1);
    const first = Math.floor(Math.random() * (free.length - 1));
    const held = http.post(`${BASE}/api/v1/reservations`,
      JSON.stringify({ event_id: EVENT, seat_ids: [free[first].seat_id, free[first + 1].seat_id], reservation_token: entry }),
      Object.assign(json(token, uuidv4()), { tags: { step: "hold" }, responseCallback: http.expectedStatuses(201, 409) }));
    if (held.status === 201) reservation = body(held).reservation_id;
    else if (held.status !== 409) break; // not a race for the seats: give up
  }
  if (!check(reservation, { held: (r) => !!r })) return outcomes.holdFailed.add(1);

  const paid = http.post(`${BASE}/api/v1/payments/intent`,
    JSON.stringify({ reservation_id: reservation, scenario: "approve", currency: "KRW" }),
    Object.assign(json(token, uuidv4()), { tags: { step: "pay" } }));
  if (!check(paid, { "payment started": (r) => r.status === 200 })) return outcomes.paymentFailed.add(1);

  for (let i = 0; i < 30; i++) {
    sleep(1);
    const r = body(http.get(`${BASE}/api/v1/reservations/${reservation}`, Object.assign(json(token), { tags: { step: "confirm" } })));
    if (r.status === "CONFIRMED") return outcomes.sold.add(2);
  }
  outcomes.notConfirmed.add(1);
}

// The fan's path and the organiser's view, end to end: the real server, the built UI, Debian's
// Chromium. One server for the file (each scenario uses its own event or seats); it is stopped in
// `after`, whatever happened. A screenshot of each page goes to test-results/screenshots/.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  DEMO_EVENT,
  ADMIN,
  adminToken,
  buyByApi,
  createEvent,
  launchBrowser,
  newFan,
  screenshot,
  waitForSeats,
  sleep,
  startServer,
} from "./harness.mjs";

const T = { timeout: 120_000 };
let server;
let browser;
let token;
const contexts = [];

async function fan(opts) {
  const f = await newFan(browser, server.baseUrl, opts);
  contexts.push(f);
  return f;
}

function uniqueName(prefix) {
  return `${prefix}${randomUUID().replace(/-/g, "").slice(0, 8)}`;
}

async function signUp(page, username, next = "/") {
  await page.goto(`/signup?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Email").fill(`${username}@example.com`);
  await page.getByLabel("Password").fill("correct-horse-battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("button", { name: /^Sign out/ }).waitFor();
}

/** Waits for the seat map of an event to be drawn with `count` seats. */
async function seatMap(page, count) {
  await page.waitForURL(/\/seats$/, { timeout: 30_000 });
  const canvas = page.getByTestId("seatmap");
  await canvas.waitFor();
  await page.waitForFunction((n) => document.querySelector('[data-testid="seatmap"]')?.getAttribute("data-seat-count") === String(n), count);
  return canvas;
}

/** Clicks seat (row, number) of the first section shown, from the geometry the canvas publishes. */
async function clickSeat(page, row, number) {
  const canvas = page.getByTestId("seatmap");
  const cell = Number(await canvas.getAttribute("data-cell"));
  const [gx, gy] = (await canvas.getAttribute("data-grid-origin")).split(",").map(Number);
  await canvas.click({ position: { x: gx + (number - 0.5) * cell, y: gy + (row - 0.5) * cell } });
}

async function rawQueueStatus(page) {
  return page.evaluate(() => JSON.stringify(Object.entries(sessionStorage)));
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  token = await adminToken(server.baseUrl);
}, { timeout: 60_000 });

after(async () => {
  for (const c of contexts) await c.context.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.stop();
}, { timeout: 30_000 });

describe("fan", () => {
  test("signs up, joins the queue, is admitted, picks two seats, pays and sees the confirmation", T, async () => {
    const { page, problems } = await fan();
    await page.goto("/");
    await page.getByRole("heading", { name: "Events", level: 1 }).waitFor();
    await page.getByRole("link", { name: /Traffic Tacos Live/ }).waitFor();
    assert.match(await page.getByTestId("availability").first().innerText(), /10,000 of 10,000 left/);
    await screenshot(page, "01-events");

    await page.getByRole("link", { name: /Traffic Tacos Live/ }).click();
    await page.getByRole("button", { name: "Join the queue" }).waitFor();
    await page.getByRole("cell", { name: "₩220,000" }).first().waitFor();
    await screenshot(page, "02-event");

    // Not signed in: joining goes through sign-up and comes back to the waiting room.
    await page.getByRole("button", { name: "Join the queue" }).click();
    await page.waitForURL(/\/signin\?next=/);
    await screenshot(page, "03-sign-in");
    await page.getByRole("link", { name: "Create an account" }).click();
    await page.waitForURL(/\/signup/);
    const username = uniqueName("fan");
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Email").fill(`${username}@example.com`);
    await page.getByLabel("Password").fill("correct-horse-battery");
    await screenshot(page, "04-sign-up");
    await page.getByRole("button", { name: "Create account" }).click();

    // The waiting room admits (the demo event lets 100 in a second) and moves on by itself.
    await seatMap(page, 10_000);
    await screenshot(page, "06-seats-all-sections");
    await page.getByLabel("Section", { exact: true }).selectOption("VIP");
    await clickSeat(page, 1, 1);
    await clickSeat(page, 1, 2);
    const chosen = page.getByTestId("chosen").locator("li");
    await assert.doesNotReject(() => chosen.nth(1).waitFor());
    assert.equal(await chosen.count(), 2);
    assert.match(await page.locator(".total").innerText(), /₩440,000/);
    assert.match(await page.getByTestId("countdown").innerText(), /Time left to choose/);
    await screenshot(page, "07-seats-chosen");

    await page.getByRole("button", { name: "Hold these seats" }).click();
    await page.waitForURL(/\/checkout\//);
    await page.getByRole("button", { name: /^Pay / }).waitFor();
    assert.equal(await page.getByTestId("booking-seats").innerText(), "VIP-1-1, VIP-1-2");
    assert.match(await page.getByTestId("countdown").innerText(), /Seats held for you for\s+0:5\d|1:00/);
    await screenshot(page, "08-checkout");

    await page.getByLabel(/^Approve \(/).check();
    await page.getByRole("button", { name: /^Pay / }).click();
    await page.waitForURL(/\/tickets\/rsv_/);
    await page.getByTestId("confirmed").waitFor();
    assert.equal(await page.getByTestId("order-seats").innerText(), "VIP-1-1, VIP-1-2");
    await page.getByText("Confirmed", { exact: true }).waitFor();
    await screenshot(page, "09-confirmation");

    await page.getByRole("link", { name: "All my tickets" }).click();
    await page.getByTestId("tickets").waitFor();
    await page.getByText("VIP-1-1, VIP-1-2").waitFor();
    await screenshot(page, "10-my-tickets");

    assert.deepEqual(await waitForSeats(server.baseUrl, DEMO_EVENT, { "VIP-1-1": "SOLD", "VIP-1-2": "SOLD" }), { "VIP-1-1": "SOLD", "VIP-1-2": "SOLD" });
    assert.deepEqual(problems, [], "no console errors (CSP violations among them)");
  });

  test("before the sale: the event says when it opens and the waiting room says so too", T, async () => {
    const ev = await createEvent(server.baseUrl, token, {
      id: "presale-e2e",
      name: "Presale Night",
      venue: "Hall 2",
      starts_at: new Date(Date.now() + 30 * 86400e3).toISOString(),
      sale_starts_at: new Date(Date.now() + 2 * 3600e3).toISOString(),
      sections: [{ name: "A", price: 50000, rows: 2, seats_per_row: 5 }],
    });
    const { page, problems } = await fan();
    await signUp(page, uniqueName("early"));
    await page.goto(`/events/${ev.event_id}`);
    assert.match(await page.getByTestId("opens-in").innerText(), /Opens in 1 h 5\d min|Opens in 2 h/);
    await screenshot(page, "02b-event-before-sale");
    await page.getByRole("button", { name: "Wait in the waiting room" }).click();
    await page.waitForURL(/\/queue$/);
    await page.getByText("The sale has not opened yet.").waitFor();
    await screenshot(page, "05-waiting-room");
    // Leaving gives the place up (sent with sendBeacon) and goes back to the event.
    await page.getByRole("button", { name: "Leave the queue" }).click();
    await page.waitForURL(new RegExp(`/events/${ev.event_id}$`));
    assert.equal(await rawQueueStatus(page), "[]");
    assert.deepEqual(problems, []);
  });

  test("in a busy queue: position, wait and progress from the server, then on to seats when admitted", T, async () => {
    await createEvent(server.baseUrl, token, {
      id: "busy-e2e",
      name: "Busy Night",
      venue: "Arena",
      starts_at: new Date(Date.now() + 30 * 86400e3).toISOString(),
      admission_rate: 1,
      sections: [{ name: "A", price: 20000, rows: 2, seats_per_row: 5 }],
    });
    // Twenty anonymous fans are ahead; the event admits one a second.
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${server.baseUrl}/api/v1/queue/join`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Client-ID": `ahead-${i}-0000`, "Idempotency-Key": randomUUID() },
        body: JSON.stringify({ event_id: "busy-e2e" }),
      });
      assert.equal(r.status, 202);
    }
    const { page, problems } = await fan();
    await signUp(page, uniqueName("busy"));
    await page.goto("/events/busy-e2e/queue");
    await page.getByTestId("queue-state").filter({ hasText: /people are ahead of you/ }).waitFor();
    await page.getByTestId("eta").waitFor();
    await page.getByRole("progressbar").waitFor();
    await screenshot(page, "05b-waiting-room-position");
    // The organiser opens the gate: the page notices on its next poll and moves on by itself.
    const r = await fetch(`${server.baseUrl}/api/v1/admin/events/busy-e2e/queue`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ admission_rate: 1000 }),
    });
    assert.equal(r.status, 200);
    await seatMap(page, 10);
    assert.deepEqual(problems, []);
  });

  test("on a phone-sized screen the events and the seat map still fit", T, async () => {
    const { page } = await fan({ width: 375, height: 740 });
    await signUp(page, uniqueName("phone"));
    await page.goto("/");
    await page.getByRole("link", { name: /Traffic Tacos Live/ }).waitFor();
    await screenshot(page, "11-phone-events");
    await page.goto(`/events/${DEMO_EVENT}/queue`);
    await seatMap(page, 10_000);
    await page.getByLabel("Section", { exact: true }).selectOption("R");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px`);
    await screenshot(page, "12-phone-seats");
  });
});

describe("two fans race for the same seat", () => {
  test("one wins, the other is told plainly and can pick again", T, async () => {
    await createEvent(server.baseUrl, token, {
      id: "race-e2e",
      name: "Race Night",
      venue: "Small Room",
      starts_at: new Date(Date.now() + 30 * 86400e3).toISOString(),
      sections: [{ name: "A", price: 30000, rows: 2, seats_per_row: 5 }],
    });
    const a = await fan();
    const b = await fan();
    await Promise.all([signUp(a.page, uniqueName("racea")), signUp(b.page, uniqueName("raceb"))]);
    await Promise.all([a.page.goto("/events/race-e2e/queue"), b.page.goto("/events/race-e2e/queue")]);
    await Promise.all([seatMap(a.page, 10), seatMap(b.page, 10)]);
    // Both pick A-1-1 with the keyboard: Tab to the map puts the cursor on the first seat.
    for (const f of [a, b]) {
      await f.page.getByTestId("seatmap").focus();
      await f.page.keyboard.press("Space");
      await f.page.getByTestId("chosen").getByText("A, row 1, seat 1").waitFor();
    }
    await Promise.all([a.page.getByRole("button", { name: "Hold these seats" }).click(), b.page.getByRole("button", { name: "Hold these seats" }).click()]);

    const outcome = async (f) => {
      const alert = f.page.getByRole("alert").filter({ hasText: "just taken by someone else" });
      await Promise.race([f.page.waitForURL(/\/checkout\//), alert.waitFor()]);
      return f.page.url().includes("/checkout/") ? "won" : "lost";
    };
    const results = await Promise.all([outcome(a), outcome(b)]);
    assert.deepEqual([...results].sort(), ["lost", "won"], `outcomes: ${results}`);
    const loser = results[0] === "lost" ? a : b;
    const text = await loser.page.getByRole("alert").filter({ hasText: "just taken" }).innerText();
    assert.match(text, /Sorry, seat A-1-1 was just taken by someone else\. Nothing was held: please pick other seats\./);
    // The seat is no longer in the loser's choice, and the pass still works for another seat.
    assert.equal(await loser.page.getByTestId("chosen").count(), 0);
    await screenshot(loser.page, "13-race-lost");
    await loser.page.getByTestId("seatmap").focus();
    await loser.page.keyboard.press("ArrowRight");
    await loser.page.keyboard.press("Space");
    await loser.page.getByRole("button", { name: "Hold these seats" }).click();
    await loser.page.waitForURL(/\/checkout\//);
    assert.deepEqual(a.problems.concat(b.problems).filter((p) => !/409/.test(p)), []);
  });
});

describe("general admission", () => {
  test("a fan picks a quantity instead of seats", T, async () => {
    await createEvent(server.baseUrl, token, {
      id: "ga-e2e",
      name: "Open Air",
      venue: "Park",
      starts_at: new Date(Date.now() + 30 * 86400e3).toISOString(),
      currency: "USD",
      general_admission: { quantity: 50, price: 3000 },
    });
    const { page, problems } = await fan();
    await signUp(page, uniqueName("ga"));
    await page.goto("/events/ga-e2e/queue");
    await page.waitForURL(/\/seats$/, { timeout: 30_000 });
    await page.getByRole("heading", { name: "How many tickets?" }).waitFor();
    await page.getByRole("button", { name: "One ticket more" }).click();
    await page.getByRole("button", { name: "One ticket more" }).click();
    assert.equal(await page.getByLabel("Number of tickets").inputValue(), "3");
    assert.match(await page.locator(".total").innerText(), /\$90\.00/);
    await screenshot(page, "07b-general-admission");
    await page.getByRole("button", { name: "Hold 3 tickets" }).click();
    await page.waitForURL(/\/checkout\//);
    assert.equal(await page.getByTestId("booking-seats").innerText(), "3 general admission");
    assert.deepEqual(problems, []);
  });
});

describe("checkout outcomes", () => {
  test("a declined payment releases the seats; a delayed approval ends in the confirmation", T, async () => {
    await createEvent(server.baseUrl, token, {
      id: "pay-e2e",
      name: "Pay Night",
      venue: "Bank Hall",
      starts_at: new Date(Date.now() + 30 * 86400e3).toISOString(),
      sections: [{ name: "C", price: 15000, rows: 1, seats_per_row: 4 }],
    });
    const { page, problems } = await fan();
    await signUp(page, uniqueName("payer"));
    const holdFirstSeat = async () => {
      await page.goto("/events/pay-e2e/queue");
      await seatMap(page, 4);
      await page.getByTestId("seatmap").focus();
      await page.keyboard.press("Space");
      await page.getByRole("button", { name: "Hold these seats" }).click();
      await page.waitForURL(/\/checkout\//);
    };

    await holdFirstSeat();
    await page.getByLabel(/^Decline/).check();
    await page.getByRole("button", { name: /^Pay / }).click();
    const outcome = page.getByTestId("checkout-outcome");
    await outcome.waitFor({ timeout: 15_000 });
    assert.match(await outcome.innerText(), /The payment was declined, so the seats were released\. You were not charged\./);
    await screenshot(page, "08b-checkout-declined");
    assert.deepEqual(await waitForSeats(server.baseUrl, "pay-e2e", { "C-1-1": "AVAILABLE" }), { "C-1-1": "AVAILABLE" });

    // A new pass from the queue, the same seat again, and a bank that takes its time.
    await holdFirstSeat();
    await page.getByLabel(/^Approve after a delay/).check();
    await page.getByRole("button", { name: /^Pay / }).click();
    await page.getByText("The bank is processing your payment").waitFor();
    await screenshot(page, "08c-checkout-processing");
    await page.getByTestId("confirmed").waitFor({ timeout: 20_000 });
    assert.equal(await page.getByTestId("order-seats").innerText(), "C-1-1");
    assert.deepEqual(problems, []);
  });
});

describe("a hold that is not paid", () => {
  test("expires and its seats are free again", T, async () => {
    await createEvent(server.baseUrl, token, {
      id: "short-hold-e2e",
      name: "Short Hold",
      venue: "Quick Hall",
      starts_at: new Date(Date.now() + 30 * 86400e3).toISOString(),
      hold_ttl_sec: 5,
      sections: [{ name: "B", price: 10000, rows: 1, seats_per_row: 4 }],
    });
    const { page } = await fan();
    await signUp(page, uniqueName("slow"));
    await page.goto("/events/short-hold-e2e/queue");
    await seatMap(page, 4);
    await page.getByTestId("seatmap").focus();
    await page.keyboard.press("Space");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("Space");
    await page.getByRole("button", { name: "Hold these seats" }).click();
    await page.waitForURL(/\/checkout\//);
    assert.deepEqual(await waitForSeats(server.baseUrl, "short-hold-e2e", { "B-1-1": "HELD", "B-1-2": "HELD" }), { "B-1-1": "HELD", "B-1-2": "HELD" });
    await page.getByTestId("countdown").waitFor();
    await screenshot(page, "14-checkout-hold-countdown");

    const outcome = page.getByTestId("checkout-outcome");
    await outcome.waitFor({ timeout: 20_000 });
    assert.match(await outcome.innerText(), /Your hold expired before payment, so the seats were released/);
    await screenshot(page, "15-hold-expired");
    assert.deepEqual(await waitForSeats(server.baseUrl, "short-hold-e2e", { "B-1-1": "AVAILABLE", "B-1-2": "AVAILABLE" }), { "B-1-1": "AVAILABLE", "B-1-2": "AVAILABLE" });
    await page.getByRole("link", { name: "Back to the event" }).click();
    await page.getByText("4 of 4 left").waitFor({ timeout: 10_000 });
  });
});

describe("organiser", () => {
  test("creates an event and sees the counters move", T, async () => {
    const { page, problems } = await fan();
    await page.goto("/signin?next=/admin");
    await page.getByLabel("Username").fill(ADMIN.username);
    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/admin$/);
    await page.getByRole("heading", { name: "Create an event" }).waitFor();

    await page.getByLabel("Event name").fill("Organiser Live");
    await page.getByLabel("Venue").fill("Main Stage");
    await page.getByLabel("Event id (optional)").fill("organiser-e2e");
    await page.getByLabel("Starts at").fill("2027-05-01T19:00");
    await page.getByLabel("Currency").selectOption("USD");
    await page.getByLabel("Price (USD)").fill("49.50");
    await page.getByLabel("Rows").fill("2");
    await page.getByLabel("Seats per row").fill("5");
    await screenshot(page, "16-organiser-create");
    await page.getByRole("button", { name: "Create event" }).click();

    await page.waitForURL(/\/admin\/events\/organiser-e2e$/);
    await page.getByRole("heading", { name: "Organiser Live" }).waitFor();
    const stat = (id) => page.getByTestId(id).locator(".stat-value");
    await page.waitForFunction(() => document.querySelector('[data-testid="stat-free"] .stat-value')?.textContent === "10");
    assert.equal(await stat("stat-sold").innerText(), "0");

    const ev = await (await fetch(`${server.baseUrl}/api/v1/events/organiser-e2e`)).json();
    assert.equal(ev.sections[0].price, 4950, "price typed in dollars is sent in cents");

    await buyByApi(server.baseUrl, "organiser-e2e", ["A-1-1", "A-1-2", "A-1-3"]);
    await page.waitForFunction(() => document.querySelector('[data-testid="stat-sold"] .stat-value')?.textContent === "3", null, { timeout: 15_000 });
    assert.equal(await stat("stat-free").innerText(), "7");
    assert.match(await stat("stat-admitted").innerText(), /^[1-9]/);
    await page.getByTestId("sales-chart").waitFor({ timeout: 15_000 });
    if ((await page.getByTestId("stats-fallback").count()) === 0) {
      // The full statistics: outcomes the fallback cannot know.
      assert.equal(await stat("stat-expired").innerText(), "0");
      assert.equal(await stat("stat-failed").innerText(), "0");
    }

    await page.getByLabel("Admissions per second").fill("7");
    await page.getByLabel("Active-buyer cap").fill("42");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByText("Saved: 7 admissions per second, at most 42 active buyers.").waitFor();
    await page.waitForFunction(() => /^7\/s/.test(document.querySelector('[data-testid="stat-rate"] .stat-value')?.textContent ?? ""));
    assert.match(await stat("stat-active").innerText(), /\/ 42$/);
    await screenshot(page, "17-organiser-live");
    assert.deepEqual(problems.filter((p) => !/\b404\b/.test(p)), []);
  });
});

// Keep the linter quiet about a helper only some runs use.
void sleep;

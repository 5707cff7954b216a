// End-to-end harness: the real tacos server on loopback (port 0, a private temp data dir, the built
// UI) and Debian's Chromium driven by playwright-core. No browser is downloaded.
//
// Everything is bounded in time: the server runs under coreutils `timeout`, so it dies even if
// this process is killed; stop() sends SIGTERM, then SIGKILL; an exit hook kills it on any exit.

import { spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, existsSync, mkdirSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = resolve(here, "..");
export const DIST_DIR = join(WEB_DIR, "dist");
export const SCREENSHOT_DIR = join(WEB_DIR, "test-results", "screenshots");
export const ADMIN = { username: "admin", password: "e2e-admin-password" };
export const DEMO_EVENT = "evt_2025_1001";

/** Longest a server may live, whatever happens to this process. */
const SERVER_LIFETIME_SEC = 600;

/** The server's whole environment for these tests, in one place. */
export function serverEnv(dataDir, portFile) {
  return {
    TACOS_HTTP_HOST: "127.0.0.1",
    TACOS_HTTP_PORT: "0",
    TACOS_HTTP_PORT_FILE: portFile,
    TACOS_HTTP_THREADS: "2",
    TACOS_HTTP_ACCESS_LOG: "false",
    TACOS_STORE_DATA_DIR: dataDir,
    TACOS_WEB_DIR: DIST_DIR,
    TACOS_AUTH_JWT_SECRET: "e2e-test-secret-0123456789abcdef0123456789",
    TACOS_AUTH_ADMIN_USERNAME: ADMIN.username,
    TACOS_AUTH_ADMIN_PASSWORD: ADMIN.password,
    TACOS_AUTH_ARGON2_OPS: "1",
    TACOS_AUTH_ARGON2_MEM_KIB: "64",
    TACOS_DEMO_SEED: "true",
    TACOS_PAYMENT_DELAY_MS: "1500",
  };
}

export function findBinary() {
  const candidates = [
    process.env.TACOS_BIN,
    resolve(WEB_DIR, "../build/ci/src/app/tacos"),
    resolve(WEB_DIR, "../build/release/src/app/tacos"),
    resolve(WEB_DIR, "../build/debug/src/app/tacos"),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`no tacos binary: set TACOS_BIN (looked at ${candidates.join(", ")})`);
  if (process.env.TACOS_BIN && found !== process.env.TACOS_BIN) {
    console.warn(`# TACOS_BIN=${process.env.TACOS_BIN} does not exist; using ${found}`);
  }
  return found;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const live = new Set();
process.on("exit", () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    for (const child of live) child.kill("SIGTERM");
    process.exit(130);
  });
}

/**
 * Starts `tacos serve`; resolves once it has written its port. With TACOS_E2E_BASE_URL set (for
 * example http://127.0.0.1:8080 from `make cluster`), uses that server instead and starts none:
 * the fan's tests then run through whatever serves there.
 */
export async function startServer() {
  if (process.env.TACOS_E2E_BASE_URL) {
    return { baseUrl: process.env.TACOS_E2E_BASE_URL.replace(/\/$/, ""), logPath: "", readLog: () => "", async stop() {} };
  }
  if (!existsSync(join(DIST_DIR, "index.html"))) throw new Error(`${DIST_DIR} has no index.html: run \`npm run build\` first`);
  const bin = findBinary();
  const dir = mkdtempSync(join(tmpdir(), "tacos-e2e-"));
  const dataDir = join(dir, "data");
  const portFile = join(dir, "port");
  const logPath = join(dir, "server.log");
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TACOS_")));
  Object.assign(env, serverEnv(dataDir, portFile));
  const log = openSync(logPath, "a");
  const child = spawn("timeout", ["--kill-after=5", String(SERVER_LIFETIME_SEC), bin, "serve"], {
    env,
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  live.add(child);
  let exited = null;
  child.on("exit", (code, signal) => {
    exited = { code, signal };
    live.delete(child);
  });
  const readLog = () => {
    try {
      return readFileSync(logPath, "utf8");
    } catch {
      return "";
    }
  };
  const deadline = Date.now() + 30_000;
  let port = 0;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`tacos exited during start-up (${JSON.stringify(exited)}):\n${readLog()}`);
    try {
      port = Number(readFileSync(portFile, "utf8").trim());
    } catch {
      port = 0;
    }
    if (port > 0) break;
    await sleep(25);
  }
  if (!port) {
    child.kill("SIGKILL");
    throw new Error(`tacos did not start within 30 s:\n${readLog()}`);
  }
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    logPath,
    readLog,
    async stop() {
      if (!exited) {
        child.kill("SIGTERM");
        const until = Date.now() + 10_000;
        while (!exited && Date.now() < until) await sleep(25);
        if (!exited) child.kill("SIGKILL");
        while (!exited && Date.now() < until + 5000) await sleep(25);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, with a fresh profile (Playwright makes one per launch). */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || "/usr/bin/chromium",
    headless: true,
    timeout: 30_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A new browser context (own storage: one fan) whose console errors and CSP reports are kept. */
export async function newFan(browser, baseUrl, { width = 1100, height = 900 } = {}) {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width, height } });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  return { context, page, problems };
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

// ---- direct API calls, for setting the scene faster than through the UI

export async function apiCall(baseUrl, method, path, { body, token, key } = {}) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (method === "POST") headers["Idempotency-Key"] = key ?? randomUUID();
  const res = await fetch(baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

export async function adminToken(baseUrl) {
  const r = await apiCall(baseUrl, "POST", "/api/v1/auth/login", { body: ADMIN });
  if (r.status !== 200) throw new Error(`admin login: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json.token;
}

export async function createEvent(baseUrl, token, event) {
  const r = await apiCall(baseUrl, "POST", "/api/v1/admin/events", { body: event, token });
  if (r.status !== 201) throw new Error(`create event: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

export async function seatStatus(baseUrl, eventId, seatIds) {
  const r = await apiCall(baseUrl, "GET", `/api/v1/events/${eventId}/seats`);
  const want = new Set(seatIds);
  return Object.fromEntries(r.json.seats.filter((s) => want.has(s.seat_id)).map((s) => [s.seat_id, s.status]));
}

/**
 * The seats' statuses once they equal `expected`, or as they are after `timeoutMs`: catalogue
 * renderings may be up to a second old.
 */
export async function waitForSeats(baseUrl, eventId, expected, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const now = await seatStatus(baseUrl, eventId, Object.keys(expected));
    if (JSON.stringify(now) === JSON.stringify(expected) || Date.now() > until) return now;
    await sleep(100);
  }
}

/** A fan who buys through the API only: register, queue, enter, hold, pay, confirm. */
export async function buyByApi(baseUrl, eventId, seatIds) {
  const username = `api${randomUUID().slice(0, 8)}`;
  const reg = await apiCall(baseUrl, "POST", "/api/v1/auth/register", {
    body: { username, password: "correct-horse", email: `${username}@example.com` },
  });
  const token = reg.json.token;
  const join = await apiCall(baseUrl, "POST", "/api/v1/queue/join", { body: { event_id: eventId }, token });
  const wt = join.json.waiting_token;
  let entry = null;
  for (let i = 0; i < 100 && !entry; i++) {
    const s = await apiCall(baseUrl, "GET", `/api/v1/queue/status?token=${encodeURIComponent(wt)}`);
    if (s.json?.ready_for_entry) {
      const e = await apiCall(baseUrl, "POST", "/api/v1/queue/enter", { body: { waiting_token: wt }, token });
      if (e.status === 200) entry = e.json;
    }
    if (!entry) await sleep(100);
  }
  if (!entry) throw new Error("API fan was never admitted");
  const hold = await apiCall(baseUrl, "POST", "/api/v1/reservations", {
    body: { event_id: eventId, seat_ids: seatIds, reservation_token: entry.reservation_token },
    token,
  });
  if (hold.status !== 201) throw new Error(`API hold: ${hold.status} ${JSON.stringify(hold.json)}`);
  const rid = hold.json.reservation_id;
  const pi = await apiCall(baseUrl, "POST", "/api/v1/payment/intent", { body: { reservation_id: rid }, token });
  await apiCall(baseUrl, "POST", "/api/v1/payment/process", { body: { payment_intent_id: pi.json.payment_intent_id, action: "approve" }, token });
  const c = await apiCall(baseUrl, "POST", `/api/v1/reservations/${rid}/confirm`, { body: { payment_intent_id: pi.json.payment_intent_id }, token });
  if (c.status !== 200) throw new Error(`API confirm: ${c.status} ${JSON.stringify(c.json)}`);
  return rid;
}

export { sleep };

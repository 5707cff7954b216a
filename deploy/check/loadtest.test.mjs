// The k6 fan flow (deploy/loadtest/fan-flow.js) run under Node against a real server: every
// iteration must end with two seats sold and no failure counted, and every POST must carry a UUID
// Idempotency-Key. (k6 itself is not installed on these machines; k6shim/ stands in for its
// modules.) TACOS_BIN is the server binary.
//
//   TACOS_BIN=../../build/ci/src/app/tacos node --import ./k6shim/register.mjs --test loadtest.test.mjs

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import http, { requests } from "./k6shim/http.mjs";
import { checks } from "./k6shim/k6.mjs";
import { total } from "./k6shim/metrics.mjs";

let server;
let dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tacos-k6-"));
  // Under coreutils timeout, so the server dies even if this process is killed; stopped with
  // SIGTERM, which timeout passes on to it (a SIGKILL would kill timeout alone).
  server = spawn("timeout", ["--kill-after=5", "120", process.env.TACOS_BIN, "serve"], {
    env: {
      PATH: process.env.PATH,
      TACOS_HTTP_HOST: "127.0.0.1",
      TACOS_HTTP_PORT: "0",
      TACOS_HTTP_PORT_FILE: join(dir, "port"),
      TACOS_STORE_DATA_DIR: join(dir, "data"),
      TACOS_DEMO_SEED: "true",
      TACOS_AUTH_JWT_SECRET: "k6-test-secret-0123456789abcdef0123456789",
      TACOS_AUTH_ARGON2_OPS: "1",
      TACOS_AUTH_ARGON2_MEM_KIB: "64",
      TACOS_PAYMENT_DELAY_MS: "200",
      TACOS_LOG_LEVEL: "warn",
    },
    stdio: "ignore",
  });
  for (let i = 0; i < 300; i++) {
    try {
      const port = readFileSync(join(dir, "port"), "utf8").trim();
      if (port) {
        globalThis.__ENV.BASE_URL = `http://127.0.0.1:${port}`;
        globalThis.__ENV.POLL_SECONDS = "0.2";
        return;
      }
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("tacos did not start");
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("three fans each go from sign-up to two confirmed seats, and nothing counts as failed", async () => {
  const script = await import("../loadtest/fan-flow.js");
  for (let i = 0; i < 3; i++) script.default();
  assert.equal(total("tickets_sold"), 6);
  for (const name of Object.values(script.outcomes).map((c) => c.name).filter((n) => n !== "tickets_sold"))
    assert.equal(total(name), 0, name);
  assert.equal(checks.failed, 0);
  const posts = requests.filter((r) => r.method === "POST");
  assert.ok(posts.length >= 12);
  for (const r of posts)
    assert.match(r.headers["Idempotency-Key"] ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, r.url);
  assert.ok(requests.some((r) => r.tags.step === "poll" || r.tags.step === "enter"));
  assert.ok(script.options.scenarios.on_sale.executor);
  assert.ok(http);
});

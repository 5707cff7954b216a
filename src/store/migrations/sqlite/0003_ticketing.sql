-- Holds, reservations, payments, orders, the outbox and the job queue.
ALTER TABLE events ADD COLUMN max_seats_per_reservation INTEGER NOT NULL DEFAULT 10
  CHECK (max_seats_per_reservation BETWEEN 1 AND 100);
ALTER TABLE seats ADD COLUMN reservation_id TEXT;

CREATE TABLE reservations (
  id                 TEXT PRIMARY KEY,
  event_id           TEXT NOT NULL REFERENCES events (id),
  user_id            TEXT NOT NULL,
  status             TEXT NOT NULL CHECK (status IN ('HOLD', 'CONFIRMED', 'CANCELLED', 'EXPIRED')),
  quantity           INTEGER NOT NULL CHECK (quantity > 0),
  total_amount       INTEGER NOT NULL CHECK (total_amount >= 0),
  currency           TEXT NOT NULL,
  hold_expires_at_ms INTEGER NOT NULL,
  created_at_ms      INTEGER NOT NULL,
  updated_at_ms      INTEGER NOT NULL,
  queue_ticket       TEXT NOT NULL,
  idempotency_key    TEXT,
  payment_intent_id  TEXT,
  end_reason         TEXT
);
CREATE UNIQUE INDEX reservations_idempotency ON reservations (user_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX reservations_user ON reservations (user_id, created_at_ms);
CREATE INDEX reservations_event_status ON reservations (event_id, status);

CREATE TABLE reservation_seats (
  reservation_id TEXT NOT NULL REFERENCES reservations (id),
  event_id       TEXT NOT NULL,
  seat_id        TEXT NOT NULL,
  UNIQUE (reservation_id, seat_id)
);
CREATE INDEX reservation_seats_seat ON reservation_seats (event_id, seat_id);

CREATE TABLE payment_intents (
  id             TEXT PRIMARY KEY,
  reservation_id TEXT NOT NULL REFERENCES reservations (id),
  user_id        TEXT NOT NULL,
  amount         INTEGER NOT NULL CHECK (amount >= 0),
  currency       TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('PENDING', 'PROCESSING', 'APPROVED', 'FAILED')),
  scenario       TEXT,
  refund_status  TEXT NOT NULL DEFAULT 'NONE' CHECK (refund_status IN ('NONE', 'REQUIRED')),
  created_at_ms  INTEGER NOT NULL,
  updated_at_ms  INTEGER NOT NULL
);
CREATE INDEX payment_intents_reservation ON payment_intents (reservation_id);

CREATE TABLE orders (
  id                TEXT PRIMARY KEY,
  reservation_id    TEXT NOT NULL UNIQUE REFERENCES reservations (id),
  payment_intent_id TEXT NOT NULL UNIQUE REFERENCES payment_intents (id),
  user_id           TEXT NOT NULL,
  event_id          TEXT NOT NULL,
  amount            INTEGER NOT NULL,
  currency          TEXT NOT NULL,
  created_at_ms     INTEGER NOT NULL
);

-- Domain events, written in the same transaction as the change they describe.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  topic           TEXT NOT NULL,
  aggregate_id    TEXT NOT NULL,
  payload         TEXT NOT NULL,
  created_at_ms   INTEGER NOT NULL,
  published_at_ms INTEGER
);
CREATE INDEX outbox_unpublished ON outbox (published_at_ms) WHERE published_at_ms IS NULL;

-- Durable background work: run at least once, retried with backoff, dead after max attempts.
CREATE TABLE jobs (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  kind          TEXT NOT NULL,
  payload       TEXT NOT NULL,
  run_at_ms     INTEGER NOT NULL,
  attempts      INTEGER NOT NULL DEFAULT 0,
  status        TEXT NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DONE', 'DEAD')),
  last_error    TEXT,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX jobs_pending ON jobs (status, run_at_ms);

-- Payment webhooks already applied, by their event id (deduplication).
CREATE TABLE webhook_receipts (
  event_id       TEXT PRIMARY KEY,
  received_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

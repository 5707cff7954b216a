-- The whole schema of SQLite migrations 0001-0009, shaped for several writers (issue 20):
-- seats change by conditional UPDATE checked by row count; general-admission stock is spread
-- over several counter rows per event (ga_stock) so concurrent buyers do not queue on one lock;
-- jobs carry a lease for claims with FOR UPDATE SKIP LOCKED; the outbox is published by
-- marking rows, not by a cursor (identity values commit out of order with several writers);
-- single-use entry tokens are spent in a table with a unique key. Times are Unix milliseconds,
-- as in the SQLite schema, so both stores share their row mapping.

CREATE TABLE users (
  id            text PRIMARY KEY,
  username      text NOT NULL,
  email         text NOT NULL,
  display_name  text NOT NULL,
  password_hash text NOT NULL,
  role          text NOT NULL CHECK (role IN ('user', 'admin')),
  created_at_ms bigint NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE events (
  id                        text PRIMARY KEY,
  name                      text NOT NULL,
  venue                     text NOT NULL,
  starts_at_ms              bigint NOT NULL,
  sale_starts_at_ms         bigint NOT NULL,
  hold_ttl_sec              integer NOT NULL,
  admission_rate            integer NOT NULL,
  currency                  text NOT NULL,
  general_admission         boolean NOT NULL,
  created_at_ms             bigint NOT NULL,
  active_buyer_cap          integer NOT NULL DEFAULT 1000 CHECK (active_buyer_cap > 0),
  max_seats_per_reservation integer NOT NULL DEFAULT 10 CHECK (max_seats_per_reservation BETWEEN 1 AND 100),
  max_tickets_per_user      integer NOT NULL DEFAULT 0 CHECK (max_tickets_per_user BETWEEN 0 AND 1000)
);

CREATE TABLE sections (
  event_id      text NOT NULL REFERENCES events (id),
  position      integer NOT NULL,
  name          text NOT NULL,
  price         bigint NOT NULL CHECK (price >= 0),
  rows          integer NOT NULL,
  seats_per_row integer NOT NULL,
  capacity      integer NOT NULL CHECK (capacity >= 0),
  PRIMARY KEY (event_id, name)
);

-- General-admission stock of an event, split over `slot` rows (the event's capacity divided
-- among them). A hold takes its quantity from one slot with enough left, chosen at random
-- among them, so concurrent holds mostly lock different rows; a release gives it back to any.
-- The event's stock is the sum; no slot goes below zero.
CREATE TABLE ga_stock (
  event_id  text NOT NULL REFERENCES events (id),
  slot      integer NOT NULL,
  available integer NOT NULL CHECK (available >= 0),
  PRIMARY KEY (event_id, slot)
);

CREATE TABLE seats (
  event_id       text NOT NULL REFERENCES events (id),
  seat_id        text NOT NULL,
  section        text NOT NULL,
  row_no         integer NOT NULL,
  seat_no        integer NOT NULL,
  status         text NOT NULL DEFAULT 'AVAILABLE' CHECK (status IN ('AVAILABLE', 'HELD', 'SOLD')),
  reservation_id text,
  PRIMARY KEY (event_id, seat_id)
);

CREATE TABLE reservations (
  id                 text PRIMARY KEY,
  event_id           text NOT NULL REFERENCES events (id),
  user_id            text NOT NULL,
  status             text NOT NULL CHECK (status IN ('HOLD', 'CONFIRMED', 'CANCELLED', 'EXPIRED')),
  quantity           integer NOT NULL CHECK (quantity > 0),
  total_amount       bigint NOT NULL CHECK (total_amount >= 0),
  currency           text NOT NULL,
  hold_expires_at_ms bigint NOT NULL,
  created_at_ms      bigint NOT NULL,
  updated_at_ms      bigint NOT NULL,
  queue_ticket       text NOT NULL,
  idempotency_key    text,
  payment_intent_id  text,
  end_reason         text,
  seat_ids           text[] NOT NULL DEFAULT '{}'  -- empty for general admission
);
-- One reservation per buyer and key (NULL keys do not collide), and "my reservations".
CREATE UNIQUE INDEX reservations_user_key ON reservations (user_id, idempotency_key);
CREATE INDEX reservations_user ON reservations (user_id, created_at_ms);
-- The expiry schedule and per-event counts.
CREATE INDEX reservations_event_status_expiry ON reservations (event_id, status, hold_expires_at_ms);

CREATE TABLE payment_intents (
  id             text PRIMARY KEY,
  reservation_id text NOT NULL REFERENCES reservations (id),
  user_id        text NOT NULL,
  amount         bigint NOT NULL CHECK (amount >= 0),
  currency       text NOT NULL,
  status         text NOT NULL CHECK (status IN ('PENDING', 'PROCESSING', 'APPROVED', 'FAILED')),
  scenario       text,
  refund_status  text NOT NULL DEFAULT 'NONE' CHECK (refund_status IN ('NONE', 'REQUIRED')),
  created_at_ms  bigint NOT NULL,
  updated_at_ms  bigint NOT NULL
);
CREATE INDEX payment_intents_reservation ON payment_intents (reservation_id);

CREATE TABLE orders (
  id                text PRIMARY KEY,
  reservation_id    text NOT NULL UNIQUE REFERENCES reservations (id),
  payment_intent_id text NOT NULL UNIQUE REFERENCES payment_intents (id),
  user_id           text NOT NULL,
  event_id          text NOT NULL,
  amount            bigint NOT NULL,
  currency          text NOT NULL,
  created_at_ms     bigint NOT NULL
);

CREATE TABLE outbox (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic           text NOT NULL,
  aggregate_id    text NOT NULL,
  payload         text NOT NULL,
  created_at_ms   bigint NOT NULL,
  published_at_ms bigint
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at_ms IS NULL;

-- A claimed job is leased: another worker takes it again once lease_until_ms has passed (the
-- claimer died). Claims use FOR UPDATE SKIP LOCKED over jobs_due.
CREATE TABLE jobs (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind           text NOT NULL,
  payload        text NOT NULL,
  run_at_ms      bigint NOT NULL,
  attempts       integer NOT NULL DEFAULT 0,
  status         text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DONE', 'DEAD')),
  last_error     text,
  lease_until_ms bigint NOT NULL DEFAULT 0,
  leased_by      text,
  created_at_ms  bigint NOT NULL,
  updated_at_ms  bigint NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at_ms) WHERE status = 'PENDING';

CREATE TABLE webhook_receipts (
  event_id       text PRIMARY KEY,
  received_at_ms bigint NOT NULL
);

-- Single-use reservation (entry) tokens, spent once across every replica.
CREATE TABLE spent_tokens (
  token_id    text PRIMARY KEY,
  event_id    text NOT NULL,
  user_id     text NOT NULL,
  spent_at_ms bigint NOT NULL
);

CREATE TABLE queue_rooms (
  event_id        text PRIMARY KEY REFERENCES events (id),
  epoch           bigint NOT NULL,
  shuffle_seed    bigint NOT NULL,
  created_at_ms   bigint NOT NULL,
  opened_at_ms    bigint NOT NULL DEFAULT 0,
  pre_issued      bigint NOT NULL DEFAULT 0,
  seq_issued      bigint NOT NULL DEFAULT 0,
  serving         bigint NOT NULL DEFAULT 0,
  joined_total    bigint NOT NULL DEFAULT 0,
  admitted_total  bigint NOT NULL DEFAULT 0,
  abandoned_total bigint NOT NULL DEFAULT 0,
  left_total      bigint NOT NULL DEFAULT 0,
  lapsed_total    bigint NOT NULL DEFAULT 0,
  finished_total  bigint NOT NULL DEFAULT 0
);

CREATE TABLE queue_places (
  event_id text NOT NULL,
  ticket   text NOT NULL,
  state    text NOT NULL CHECK (state IN ('ready', 'entered', 'left', 'abandoned', 'lapsed')),
  at_ms    bigint NOT NULL,
  PRIMARY KEY (event_id, ticket)
);

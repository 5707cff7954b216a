-- tacos: foreign_keys=off
-- Fewer and cheaper writes per hold (docs/architecture.md, "Where the hold rate stops").
--
-- Rebuilds `reservations` and `seats` (SQLite's create-copy-drop-rename procedure; the marker
-- above makes migrate() run it with foreign keys off and check them all before committing):
--
-- * A reservation lists its seats in its own row, `seat_ids` (a JSON array), instead of one
--   reservation_seats row each. The seat's current owner stays in seats.reservation_id.
-- * The status CHECKs say `status = 'A' OR status = 'B' ...` instead of `status IN ('A', 'B',
--   ...)`: the same rule, but SQLite evaluates an IN list of three or more values by building a
--   temporary b-tree on every INSERT and UPDATE that checks it.
-- * Expiry is found from the reservations themselves, by (event_id, status, hold_expires_at_ms),
--   instead of one reservation.expire job row per hold. That index also serves the per-event
--   counts by status that reservations_event_status served.
CREATE TABLE reservations_new (
  id                 TEXT PRIMARY KEY,
  event_id           TEXT NOT NULL REFERENCES events (id),
  user_id            TEXT NOT NULL,
  status             TEXT NOT NULL
    CHECK (status = 'HOLD' OR status = 'CONFIRMED' OR status = 'CANCELLED' OR status = 'EXPIRED'),
  quantity           INTEGER NOT NULL CHECK (quantity > 0),
  total_amount       INTEGER NOT NULL CHECK (total_amount >= 0),
  currency           TEXT NOT NULL,
  hold_expires_at_ms INTEGER NOT NULL,
  created_at_ms      INTEGER NOT NULL,
  updated_at_ms      INTEGER NOT NULL,
  queue_ticket       TEXT NOT NULL,
  idempotency_key    TEXT,
  payment_intent_id  TEXT,
  end_reason         TEXT,
  seat_ids           TEXT NOT NULL DEFAULT '[]'  -- JSON array of seat ids; '[]' for general admission
);
INSERT INTO reservations_new (id, event_id, user_id, status, quantity, total_amount, currency, hold_expires_at_ms,
                              created_at_ms, updated_at_ms, queue_ticket, idempotency_key, payment_intent_id,
                              end_reason, seat_ids)
SELECT id, event_id, user_id, status, quantity, total_amount, currency, hold_expires_at_ms, created_at_ms,
       updated_at_ms, queue_ticket, idempotency_key, payment_intent_id, end_reason,
       (SELECT json_group_array(seat_id) FROM
          (SELECT seat_id FROM reservation_seats rs WHERE rs.reservation_id = reservations.id ORDER BY rs.rowid))
FROM reservations;
DROP TABLE reservation_seats;
DROP TABLE reservations;
ALTER TABLE reservations_new RENAME TO reservations;
CREATE UNIQUE INDEX reservations_idempotency ON reservations (user_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX reservations_user ON reservations (user_id, created_at_ms);
CREATE INDEX reservations_event_status_expiry ON reservations (event_id, status, hold_expires_at_ms);

CREATE TABLE seats_new (
  event_id       TEXT NOT NULL,
  seat_id        TEXT NOT NULL,
  section        TEXT NOT NULL,
  row_no         INTEGER NOT NULL,
  seat_no        INTEGER NOT NULL,
  status         TEXT NOT NULL DEFAULT 'AVAILABLE' CHECK (status = 'AVAILABLE' OR status = 'HELD' OR status = 'SOLD'),
  reservation_id TEXT,
  PRIMARY KEY (event_id, seat_id)
) WITHOUT ROWID;
INSERT INTO seats_new (event_id, seat_id, section, row_no, seat_no, status, reservation_id)
SELECT event_id, seat_id, section, row_no, seat_no, status, reservation_id FROM seats;
DROP TABLE seats;
ALTER TABLE seats_new RENAME TO seats;

-- Expiry jobs written before this migration stay and still run (their handler is idempotent).

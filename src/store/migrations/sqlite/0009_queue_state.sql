-- The waiting rooms survive a restart (docs/decisions/0006-waiting-room-survives-restarts.md).
-- Per room its counters; per place only what is not plainly waiting. Joins are not rows: a room
-- remembers how many places it handed out, and every place up to there waits unless a row says
-- otherwise. Where a reservation token was used is read from reservations.queue_ticket.
CREATE TABLE queue_rooms (
  event_id        TEXT PRIMARY KEY REFERENCES events (id),
  epoch           INTEGER NOT NULL,
  shuffle_seed    INTEGER NOT NULL,
  created_at_ms   INTEGER NOT NULL,
  opened_at_ms    INTEGER NOT NULL DEFAULT 0,
  pre_issued      INTEGER NOT NULL DEFAULT 0,
  seq_issued      INTEGER NOT NULL DEFAULT 0,
  serving         INTEGER NOT NULL DEFAULT 0,
  joined_total    INTEGER NOT NULL DEFAULT 0,
  admitted_total  INTEGER NOT NULL DEFAULT 0,
  abandoned_total INTEGER NOT NULL DEFAULT 0,
  left_total      INTEGER NOT NULL DEFAULT 0,
  lapsed_total    INTEGER NOT NULL DEFAULT 0,
  finished_total  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE queue_places (
  event_id TEXT NOT NULL,
  ticket   TEXT NOT NULL,
  state    TEXT NOT NULL CHECK (state IN ('ready', 'entered', 'left', 'abandoned', 'lapsed')),
  at_ms    INTEGER NOT NULL,
  PRIMARY KEY (event_id, ticket)
) WITHOUT ROWID;

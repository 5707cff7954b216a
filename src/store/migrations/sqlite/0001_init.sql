-- Accounts and the event catalogue.
CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  username      TEXT NOT NULL,
  email         TEXT NOT NULL,
  display_name  TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('user', 'admin')),
  created_at_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (username COLLATE NOCASE);

CREATE TABLE events (
  id                TEXT PRIMARY KEY,
  name              TEXT NOT NULL,
  venue             TEXT NOT NULL,
  starts_at_ms      INTEGER NOT NULL,
  sale_starts_at_ms INTEGER NOT NULL,
  hold_ttl_sec      INTEGER NOT NULL,
  admission_rate    INTEGER NOT NULL,
  currency          TEXT NOT NULL,
  general_admission INTEGER NOT NULL,
  created_at_ms     INTEGER NOT NULL
);

CREATE TABLE sections (
  event_id      TEXT NOT NULL REFERENCES events (id),
  position      INTEGER NOT NULL,
  name          TEXT NOT NULL,
  price         INTEGER NOT NULL CHECK (price >= 0),
  rows          INTEGER NOT NULL,
  seats_per_row INTEGER NOT NULL,
  capacity      INTEGER NOT NULL CHECK (capacity >= 0),
  -- General admission keeps its stock here; seated sections count their seats.
  ga_available  INTEGER CHECK (ga_available IS NULL OR (ga_available >= 0 AND ga_available <= capacity)),
  PRIMARY KEY (event_id, name)
) WITHOUT ROWID;

CREATE TABLE seats (
  event_id TEXT NOT NULL,
  seat_id  TEXT NOT NULL,
  section  TEXT NOT NULL,
  row_no   INTEGER NOT NULL,
  seat_no  INTEGER NOT NULL,
  status   TEXT NOT NULL DEFAULT 'AVAILABLE' CHECK (status IN ('AVAILABLE', 'HELD', 'SOLD')),
  PRIMARY KEY (event_id, seat_id)
) WITHOUT ROWID;

-- How many seats (or general-admission places) one user may hold and buy for an event, across all
-- of their live (HOLD) and CONFIRMED reservations. 0: no limit.
ALTER TABLE events ADD COLUMN max_tickets_per_user INTEGER NOT NULL DEFAULT 0
  CHECK (max_tickets_per_user BETWEEN 0 AND 1000);

-- The waiting room's closed loop: how many admitted buyers may shop at once.
ALTER TABLE events ADD COLUMN active_buyer_cap INTEGER NOT NULL DEFAULT 1000 CHECK (active_buyer_cap > 0);

-- The outbox relay keeps its position in one row instead of stamping every event it publishes:
-- stamping rewrote each outbox row (and the partial index of unpublished rows took an insert and
-- a delete per event), about a quarter of the writer's work per hold. The relay publishes in id
-- order, so every event up to the position is published. outbox.published_at_ms is no longer
-- written (rows published before this migration keep their stamp).
CREATE TABLE outbox_cursor (
  id                 INTEGER PRIMARY KEY CHECK (id = 1),
  published_through  INTEGER NOT NULL
);
INSERT INTO outbox_cursor (id, published_through)
SELECT 1, COALESCE((SELECT MAX(id) FROM outbox WHERE published_at_ms IS NOT NULL), 0);
DROP INDEX outbox_unpublished;

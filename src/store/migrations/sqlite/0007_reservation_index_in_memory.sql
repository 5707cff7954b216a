-- Reservations are found by buyer, and by buyer and Idempotency-Key, through the ledger's
-- in-memory index (store/sqlite/reservation_index.hpp), rebuilt from this table at start-up.
-- In an on-sale nearly every hold is a different buyer with a random key, so this index took
-- each new entry on a random page: about one more WAL page per hold, and about 40% of the
-- writer's time per hold in bench/ledger_holds_bench.
DROP INDEX reservations_user_key;

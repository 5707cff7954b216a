#pragma once
// store::WriteTx on PostgreSQL: one op's reads and writes in one transaction on one connection
// (a BlockingSession), for the PostgreSQL ledger's writer threads. Several writers, in several
// processes, run ops at once, so every decision is made on row state under lock: reads that
// decide lock their row (SELECT … FOR UPDATE), transitions are conditional updates checked by
// row count, seats and stock go through holds.hpp, a webhook id and a buyer's idempotency key
// are unique keys, and a buyer's tickets are counted under a lock on that buyer.

#include <functional>

#include "store/ledger.hpp"
#include "store/postgres/session.hpp"

namespace tacos::store::pg {

/// Runs `apply` in a transaction: BEGIN, apply, COMMIT, or ROLLBACK when it returns an error or
/// throws. A serialization failure or a deadlock (the server chose this transaction to undo) runs
/// it again, up to three times, as WriteOp allows. UNAVAILABLE when the database cannot be
/// reached or the commit fails.
/// `commit_seconds`, when given, observes how long each COMMIT took.
Status run_write(BlockingSession& session, std::int64_t now_ms, const std::function<Status(WriteTx&)>& apply,
                 metrics::Histogram* commit_seconds = nullptr);

}  // namespace tacos::store::pg

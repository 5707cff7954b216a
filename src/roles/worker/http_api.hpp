#pragma once
// The worker's admin routes: dead letters (list, replay) and the invariant check.

#include "net/router.hpp"
#include "roles/worker/job_runner.hpp"
#include "store/ledger.hpp"

namespace tacos::worker {

void add_routes(net::Routes& router, JobRunner& runner, store::InvariantChecker& invariants, const Clock& clock);

}  // namespace tacos::worker

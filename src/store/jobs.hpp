#pragma once
// How a role that writes a job row (payment settlement, webhook delivery) lets whoever runs jobs
// know, instead of depending on the worker: the worker's runner implements JobQueue in its
// process; with no worker there, NoJobQueue, and a worker elsewhere finds the row when it reads
// the table again (JobRunner::discover, every second when roles run apart).

#include "store/ledger.hpp"

namespace tacos::store {

class JobQueue {
 public:
  virtual ~JobQueue() = default;
  /// A job's row has committed (id, kind, payload and run time set). Thread-safe; never blocks.
  virtual void enqueued(const Job& job) = 0;
};

class NoJobQueue final : public JobQueue {
 public:
  void enqueued(const Job&) override {}
};

}  // namespace tacos::store

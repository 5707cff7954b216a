#include "store/postgres/jobs.hpp"

namespace tacos::store::pg {

namespace {

const Statement kAddJob{
    "tacos_add_job",
    "WITH j AS (INSERT INTO jobs (kind, payload, run_at_ms, created_at_ms, updated_at_ms, trace_parent)"
    " VALUES ($1, $2, $3, $4, $4, $5) RETURNING id)"
    " SELECT id, pg_notify('tacos_jobs', $1) FROM j"};

// The inner SELECT locks the rows it picks and skips those another claim holds; the outer
// UPDATE leases exactly those. RETURNING gives the columns in Job's order.
const Statement kClaimJobs{
    "tacos_claim_jobs",
    "UPDATE jobs SET lease_until_ms = $2::bigint + $3::bigint, leased_by = $4, attempts = attempts + 1,"
    " updated_at_ms = $2 WHERE id IN ("
    "   SELECT id FROM jobs WHERE status = 'PENDING' AND run_at_ms <= $2 AND lease_until_ms <= $2"
    "   ORDER BY run_at_ms, id LIMIT $1 FOR UPDATE SKIP LOCKED)"
    " RETURNING id, kind, payload, run_at_ms, attempts, status, COALESCE(last_error, ''), created_at_ms,"
    " updated_at_ms, trace_parent"};

const Statement kFinishJob{"tacos_finish_job",
                           "UPDATE jobs SET status = 'DONE', lease_until_ms = 0, leased_by = NULL, updated_at_ms = $3"
                           " WHERE id = $1 AND leased_by = $2 AND status = 'PENDING'"};

const Statement kFailJob{
    "tacos_fail_job",
    "UPDATE jobs SET status = CASE WHEN $5 THEN 'DEAD' ELSE 'PENDING' END, last_error = $3, run_at_ms = $4,"
    " lease_until_ms = 0, leased_by = NULL, updated_at_ms = $6"
    " WHERE id = $1 AND leased_by = $2 AND status = 'PENDING'"};

const Statement kRenewLeases{"tacos_renew_job_leases",
                             "UPDATE jobs SET lease_until_ms = $2::bigint + $3::bigint"
                             " WHERE leased_by = $1 AND status = 'PENDING' AND lease_until_ms > $2"};

const Statement kNextDue{"tacos_next_job_due",
                         "SELECT min(GREATEST(run_at_ms, lease_until_ms)) FROM jobs WHERE status = 'PENDING'"};

const Statement kJobBacklog{"tacos_job_backlog",
                            "SELECT kind, count(*), min(run_at_ms) FROM jobs"
                            " WHERE status = 'PENDING' AND run_at_ms <= $1 AND lease_until_ms <= $1 GROUP BY kind"};

}  // namespace

asio::awaitable<Result<std::int64_t>> add_job(Connection& c, std::string_view kind, std::string_view payload,
                                              std::int64_t run_at_ms, std::int64_t now_ms, Deadline deadline,
                                              std::string_view trace_parent) {
  std::vector<Param> p{std::string(kind), std::string(payload), std::to_string(run_at_ms), std::to_string(now_ms),
                       std::string(trace_parent)};
  auto r = co_await c.query(kAddJob, p, deadline);
  if (!r) co_return r.error();
  co_return r->integer(0, 0);
}

asio::awaitable<Result<std::vector<Job>>> claim_jobs(Connection& c, std::string_view worker, int limit,
                                                     std::int64_t now_ms, std::int64_t lease_ms, Deadline deadline) {
  std::vector<Param> p{std::to_string(limit), std::to_string(now_ms), std::to_string(lease_ms), std::string(worker)};
  auto r = co_await c.query(kClaimJobs, p, deadline);
  if (!r) co_return r.error();
  std::vector<Job> jobs;
  for (int i = 0; i < r->size(); ++i) {
    Job j;
    j.id = r->integer(i, 0);
    j.kind = r->text(i, 1);
    j.payload = r->text(i, 2);
    j.run_at_ms = r->integer(i, 3);
    j.attempts = static_cast<int>(r->integer(i, 4));
    j.status = r->text(i, 5);
    j.last_error = r->text(i, 6);
    j.created_at_ms = r->integer(i, 7);
    j.updated_at_ms = r->integer(i, 8);
    j.trace_parent = r->text(i, 9);
    jobs.push_back(std::move(j));
  }
  co_return jobs;
}

asio::awaitable<Result<bool>> finish_job(Connection& c, std::int64_t id, std::string_view worker, std::int64_t now_ms,
                                         Deadline deadline) {
  std::vector<Param> p{std::to_string(id), std::string(worker), std::to_string(now_ms)};
  auto r = co_await c.query(kFinishJob, p, deadline);
  if (!r) co_return r.error();
  co_return r->affected() == 1;
}

asio::awaitable<Result<bool>> fail_job(Connection& c, std::int64_t id, std::string_view worker, std::string_view error,
                                       std::int64_t retry_at_ms, bool dead, std::int64_t now_ms, Deadline deadline) {
  std::vector<Param> p{std::to_string(id),          std::string(worker),           std::string(error),
                       std::to_string(retry_at_ms), std::string(dead ? "t" : "f"), std::to_string(now_ms)};
  auto r = co_await c.query(kFailJob, p, deadline);
  if (!r) co_return r.error();
  co_return r->affected() == 1;
}

asio::awaitable<Result<int>> renew_leases(Connection& c, std::string_view worker, std::int64_t now_ms,
                                          std::int64_t lease_ms, Deadline deadline) {
  std::vector<Param> p{std::string(worker), std::to_string(now_ms), std::to_string(lease_ms)};
  auto r = co_await c.query(kRenewLeases, p, deadline);
  if (!r) co_return r.error();
  co_return static_cast<int>(r->affected());
}

asio::awaitable<Result<std::optional<std::int64_t>>> next_job_due(Connection& c, Deadline deadline) {
  auto r = co_await c.query(kNextDue, {}, deadline);
  if (!r) co_return r.error();
  if (r->is_null(0, 0)) co_return std::optional<std::int64_t>{};
  co_return std::optional<std::int64_t>{r->integer(0, 0)};
}

asio::awaitable<Result<std::vector<JobBacklog>>> job_backlog(Connection& c, std::int64_t now_ms, Deadline deadline) {
  std::vector<Param> p{std::to_string(now_ms)};
  auto r = co_await c.query(kJobBacklog, p, deadline);
  if (!r) co_return r.error();
  std::vector<JobBacklog> out;
  for (int i = 0; i < r->size(); ++i)
    out.push_back(JobBacklog{std::string(r->text(i, 0)), r->integer(i, 1), r->integer(i, 2)});
  co_return out;
}

}  // namespace tacos::store::pg

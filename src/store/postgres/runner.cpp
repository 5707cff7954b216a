#include "store/postgres/runner.hpp"

namespace tacos::store::pg {

PoolOptions pool_options(const PostgresOptions& o, int size) {
  PoolOptions p;
  p.connect.conninfo = o.conninfo;
  p.connect.password = o.password;
  p.connect.statement_timeout = std::chrono::milliseconds(o.statement_timeout_ms);
  p.connect_timeout = std::chrono::milliseconds(o.connect_timeout_ms);
  p.size = size;
  return p;
}

Runner::Runner(PoolOptions options, int threads) : work_(io_.get_executor()), pool_(Pool::create(std::move(options))) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { io_.run(); });
}

Runner::~Runner() {
  work_.reset();
  io_.stop();
  for (auto& t : threads_) t.join();
  pool_.reset();  // the connections go before the io_context their sockets belong to
}

Deadline Runner::deadline() const {
  return std::chrono::steady_clock::now() + pool_->options().connect.statement_timeout;
}

}  // namespace tacos::store::pg

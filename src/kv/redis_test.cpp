// The Redis client against a real server: replies of every type, pipelining from many threads,
// scripts reloaded after the server forgot them, AUTH, and the faults a caller must survive
// (server down, restarted, not answering): each is a prompt Errc::unavailable, then recovery.

#include "kv/redis.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "support/poll.hpp"
#include "support/redis.hpp"

namespace tacos::kv {
namespace {

using namespace std::chrono_literals;
using Type = Reply::Type;

RedisOptions options_for(const test::RedisServer& s) {
  RedisOptions o;
  o.port = s.port;
  o.password = s.password;
  return o;
}

class RedisTest : public ::testing::Test {
 protected:
  test::RedisServer server = test::redis_server();
  std::string p = test::unique_redis_prefix();
  Redis redis{options_for(server)};
};

TEST(RedisEncoding, CommandsAreRespArraysOfBulkStrings) {
  EXPECT_EQ(encode_command({"SET", "k", ""}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST_F(RedisTest, RepliesOfEveryTypeComeBackAsValues) {
  const std::string binary("a\r\nb\0c", 6);
  auto set = redis.call({"SET", p + "k", binary});
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->type, Type::status);
  EXPECT_EQ(set->str, "OK");
  auto get = redis.call({"GET", p + "k"});
  EXPECT_EQ(get->type, Type::string);
  EXPECT_EQ(get->str, binary) << "binary-safe both ways";
  EXPECT_EQ(redis.call({"GET", p + "missing"})->type, Type::nil);
  auto n = redis.call({"INCRBY", p + "n", "41"});
  EXPECT_EQ(n->type, Type::integer);
  EXPECT_EQ(n->integer, 41);
  auto both = redis.call({"MGET", p + "k", p + "missing"});
  ASSERT_EQ(both->type, Type::array);
  ASSERT_EQ(both->elements.size(), 2u);
  EXPECT_EQ(both->elements[0].str, binary);
  EXPECT_TRUE(both->elements[1].is_nil());
  auto wrong = redis.call({"INCR", p + "k"});
  ASSERT_TRUE(wrong.ok()) << "an error reply is an answer, not a failure to reach Redis";
  EXPECT_TRUE(wrong->is_error());
  EXPECT_NE(wrong->str.find("not an integer"), std::string::npos) << wrong->str;
}

TEST_F(RedisTest, ManyThreadsPipelineThousandsOfCommandsEachAnsweredOnce) {
  constexpr int kThreads = 8, kEach = 2500;
  std::mutex mu;
  std::set<std::int64_t> seen;
  std::atomic<int> answered{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        redis.command({"INCR", p + "counter"}, [&](Result<Reply> r) {
          if (!r || r->type != Type::integer) {
            ++failed;
          } else {
            std::lock_guard lock(mu);
            seen.insert(r->integer);
          }
          ++answered;
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(test::eventually(20'000, [&] { return answered.load() == kThreads * kEach; })) << answered.load();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kEach)) << "every INCR got its own answer";
  EXPECT_EQ(*seen.rbegin(), kThreads * kEach);
}

TEST_F(RedisTest, AScriptRunsByItsShaAndIsLoadedAgainWhenTheServerForgetsIt) {
  Script add("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  EXPECT_EQ(add.sha1().size(), 40u);
  auto first = redis.call_eval(add, {p + "s"}, {"2"});
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->integer, 2) << first->str;
  auto loaded = redis.call({"SCRIPT", "EXISTS", add.sha1()});
  EXPECT_EQ(loaded->elements.at(0).integer, 1) << "NOSCRIPT loaded it";
  ASSERT_EQ(redis.call({"SCRIPT", "FLUSH"})->str, "OK");
  auto again = redis.call_eval(add, {p + "s"}, {"3"});
  EXPECT_EQ(again->integer, 5) << again->str;
  auto broken = redis.call_eval(Script("return redis.call('NOPE')"), {p + "s"}, {});
  ASSERT_TRUE(broken.ok());
  EXPECT_TRUE(broken->is_error());
}

TEST(RedisAuth, AWrongPasswordFailsEveryCommandPromptlyAndNeverConnects) {
  auto o = options_for(test::redis_server());
  o.password = "not-the-password";
  Redis redis(o);
  auto t0 = std::chrono::steady_clock::now();
  auto r = redis.call({"PING"});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(redis.connected(), 0);
  EXPECT_EQ(r.error().message.find("not-the-password"), std::string::npos) << r.error().message;
}

RedisOptions tls_options_for(const test::RedisServer& s) {
  auto o = options_for(s);
  o.port = s.tls_port;
  o.tls = true;
  o.tls_ca_file = s.tls_ca;
  return o;
}

TEST(RedisTls, ScriptsAndPipelinesWorkOverTlsWithTheServerVerified) {
  auto server = test::redis_server();
  Redis redis(tls_options_for(server));
  auto p = test::unique_redis_prefix();
  auto pong = redis.call({"PING"});
  ASSERT_TRUE(pong.ok()) << pong.error().message;
  EXPECT_EQ(pong->str, "PONG");
  // Many commands in flight on the TLS connections at once, each answered in order.
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) answered += redis.call({"INCR", p + "n"}).ok() ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(answered.load(), 800);
  EXPECT_EQ(redis.call({"GET", p + "n"})->str, "800");
  auto scripted = redis.call_eval(Script("return redis.call('INCRBY', KEYS[1], ARGV[1])"), {p + "s"}, {"5"});
  ASSERT_TRUE(scripted.ok());
  EXPECT_EQ(scripted->integer, 5);
}

TEST(RedisTls, AServerWhoseCertificateIsNotTrustedOrNotForThatNameIsRefused) {
  auto server = test::redis_server();
  auto untrusted = tls_options_for(server);
  untrusted.tls_ca_file.clear();  // the system's CAs: the test's self-signed certificate is not one
  auto wrong_name = tls_options_for(server);
  wrong_name.tls_server_name = "redis.example.com";  // the certificate is for localhost
  auto plain_to_tls = options_for(server);
  plain_to_tls.port = server.tls_port;  // plain RESP to a TLS port
  plain_to_tls.command_timeout_ms = 300;
  for (const auto& o : {untrusted, wrong_name, plain_to_tls}) {
    Redis redis(o);
    auto t0 = std::chrono::steady_clock::now();
    auto r = redis.call({"PING"});
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, Errc::unavailable);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s) << "never a hang";
    EXPECT_EQ(redis.connected(), 0);
  }
  auto by_name = tls_options_for(server);
  by_name.tls_server_name = "localhost";
  Redis named(by_name);
  EXPECT_TRUE(named.call({"PING"}).ok()) << "the certificate's own name is accepted";
}

TEST(RedisTls, AMissingCaFileIsAClearErrorAtStart) {
  auto o = tls_options_for(test::redis_server());
  o.tls_ca_file = "/nonexistent/ca.pem";
  try {
    Redis redis(o);
    FAIL() << "a missing CA file was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ca.pem"), std::string::npos) << e.what();
  }
}

TEST(RedisFaults, NobodyListeningIsUnavailableAtOnce) {
  RedisOptions o;
  o.port = 1;  // nothing listens on port 1
  Redis redis(o);
  for (int i = 0; i < 3; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = redis.call({"PING"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::unavailable);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms) << "never a hang";
  }
}

TEST(RedisFaults, ARestartedServerIsReachedAgainWithinSeconds) {
  test::OwnRedis own;
  Redis redis(options_for(own.server()));
  ASSERT_TRUE(redis.call({"SET", "k", "v"}).ok());
  own.restart();
  // The first command after the restart may meet the dead connection; within seconds they work.
  ASSERT_TRUE(test::eventually(5000, [&] {
    auto r = redis.call({"PING"});
    return r.ok() && r->str == "PONG";
  }));
  EXPECT_TRUE(redis.call({"GET", "k"})->is_nil()) << "the test server keeps nothing across a restart";
  EXPECT_EQ(redis.connected(), redis.options().connections) << "every connection came back";
}

TEST(RedisFaults, AServerThatStopsAnsweringFailsCommandsAtTheirDeadlineThenRecovers) {
  test::OwnRedis own;
  auto o = options_for(own.server());
  o.command_timeout_ms = 200;
  o.connections = 1;
  Redis redis(o);
  Redis admin(options_for(own.server()));
  ASSERT_TRUE(redis.call({"PING"}).ok());
  ASSERT_TRUE(admin.call({"CLIENT", "PAUSE", "1500", "ALL"}).ok());
  auto t0 = std::chrono::steady_clock::now();
  auto r = redis.call({"PING"});
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("no answer within 200 ms"), std::string::npos) << r.error().message;
  EXPECT_LT(waited, 1s);
  EXPECT_TRUE(test::eventually(5000, [&] { return redis.call({"PING"}).ok(); }))
      << "the client reconnects once Redis answers";
}

}  // namespace
}  // namespace tacos::kv

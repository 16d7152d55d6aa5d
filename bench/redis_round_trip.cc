// What sharing the hot state over a Redis Cluster would cost per decision,
// measured against a running cluster (scripts/redis_cluster.py):
//   1. one round trip on the answer path: INCR of a per-account key, one
//      run() per decision (what "update the windows in Redis" costs at the
//      least: a script or a function would be one such round trip too);
//   2. the observations batched as mamorid sends them: 1,000 encoded
//      observations per XADD, one run() per batch.
//   redis_round_trip HOST:PORT [DECISIONS=20000]
// Prints µs per decision (p50, p99 of single round trips) and the rate.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "redis/cluster_client.h"
#include "state/observation.h"

using namespace mamori;
using Steady = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: redis_round_trip HOST:PORT [DECISIONS]\n");
    return 2;
  }
  const int n = argc > 2 ? std::stoi(argv[2]) : 20000;
  redis::ClusterClient client(redis::ClusterOptions{{argv[1]}, {}});
  if (Status s = client.refresh(); !s) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 1;
  }
  std::vector<double> us;
  us.reserve(std::size_t(n));
  const auto t0 = Steady::now();
  for (int i = 0; i < n; ++i) {
    const auto a = Steady::now();
    auto r = client.run({{{"INCR", "bench:acct:" + std::to_string(i % 1000)}, 1}});
    if (!r[0]) {
      std::fprintf(stderr, "%s\n", r[0].error().message.c_str());
      return 1;
    }
    us.push_back(std::chrono::duration<double, std::micro>(Steady::now() - a).count());
  }
  const double single_s = std::chrono::duration<double>(Steady::now() - t0).count();
  std::sort(us.begin(), us.end());
  std::printf("round trip per decision: p50 %.1f us, p99 %.1f us, %.0f decisions/s (one client)\n",
              us[us.size() / 2], us[us.size() * 99 / 100], n / single_s);

  state::Observation o;
  o.kind = state::ObservationKind::kFailure;
  o.ip = *IpAddress::parse("203.0.113.7");
  o.pwhash = "5baa61e4c9b93f3f0682250b6cf8331b";
  constexpr int kBatch = 1000;
  const auto t1 = Steady::now();
  std::size_t bytes = 0;
  for (int done = 0; done < n; done += kBatch) {
    std::string data;
    for (int i = 0; i < kBatch; ++i) {
      o.account = "user" + std::to_string(done + i) + "@example.jp";
      o.time = from_unix_ms(1'795'435'200'000 + done + i);
      state::append_observation(data, o);
    }
    bytes += data.size();
    auto r = client.run(
        {{{"XADD", "bench:obs:{0}", "MAXLEN", "~", "100000", "*", "n", "bench", "d", data}, 1}});
    if (!r[0]) {
      std::fprintf(stderr, "%s\n", r[0].error().message.c_str());
      return 1;
    }
  }
  const double batched_s = std::chrono::duration<double>(Steady::now() - t1).count();
  std::printf("batched (%d a XADD): %.2f us per decision, %.0f decisions/s, %.1f bytes each\n",
              kBatch, batched_s * 1e6 / n, n / batched_s, double(bytes) / n);
  client.run({{{"DEL", "bench:obs:{0}"}, 1}});
  return 0;
}

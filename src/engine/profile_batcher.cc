#include "engine/profile_batcher.h"

#include <pthread.h>

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "core/log.h"

namespace mamori::engine {

ProfileBatcher::ProfileBatcher(store::ProfileStore& store, ProfileCache& cache, Options options)
    : store_(store), cache_(cache), options_(options) {
  const std::size_t n = std::max<std::size_t>(options_.threads, 1);
  threads_.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "profile-loads");
      run();
    });
}

ProfileBatcher::~ProfileBatcher() {
  std::deque<Load> unrun;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    unrun.swap(queue_);
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  unrun.clear();  // outside the lock
}

bool ProfileBatcher::load(const std::string& account, std::function<void()>& then) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= options_.max_queued) {
      ++refused_;
      return false;
    }
    queue_.push_back(Load{account, std::move(then)});
  }
  cv_.notify_one();
  return true;
}

void ProfileBatcher::run() {
  const std::size_t max_batch = std::max<std::size_t>(options_.max_batch, 1);
  std::vector<Load> batch;
  std::vector<std::string> accounts;
  std::unordered_set<std::string_view> seen;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      while (!queue_.empty() && batch.size() < max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    accounts.clear();
    seen.clear();
    for (const Load& l : batch)
      if (seen.insert(l.account).second) accounts.push_back(l.account);
    auto read = store_.profiles(accounts);
    if (read) {
      for (std::size_t i = 0; i < accounts.size(); ++i)
        cache_.prime(accounts[i], std::move((*read)[i]));
    } else {
      log_warn_limited("profiles: a batched read failed",
                       "profiles: a batched read of " + std::to_string(accounts.size()) +
                           " profiles failed: " + read.error().message);
    }
    {
      std::lock_guard lock(mu_);
      ++batches_;
      accounts_ += accounts.size();
      if (!read) ++failed_;
    }
    for (Load& l : batch) l.then();
  }
}

void ProfileBatcher::render_metrics(std::string& out) const {
  std::uint64_t batches, failed, accounts, refused;
  {
    std::lock_guard lock(mu_);
    batches = batches_;
    failed = failed_;
    accounts = accounts_;
    refused = refused_;
  }
  out +=
      "# HELP mamori_profile_batches_total Batched profile reads ahead of logins (one store round "
      "trip each), by result.\n"
      "# TYPE mamori_profile_batches_total counter\n"
      "mamori_profile_batches_total{result=\"ok\"} " +
      std::to_string(batches - failed) +
      "\n"
      "mamori_profile_batches_total{result=\"failed\"} " +
      std::to_string(failed) +
      "\n"
      "# HELP mamori_profile_batch_accounts_total Accounts whose profiles the batches read.\n"
      "# TYPE mamori_profile_batch_accounts_total counter\n"
      "mamori_profile_batch_accounts_total " +
      std::to_string(accounts) +
      "\n"
      "# HELP mamori_profile_loads_refused_total Logins that read their profile on the request "
      "thread: the batches' queue was full.\n"
      "# TYPE mamori_profile_loads_refused_total counter\n"
      "mamori_profile_loads_refused_total " +
      std::to_string(refused) + "\n";
}

}  // namespace mamori::engine

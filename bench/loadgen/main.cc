// ringmx-bench: an io_uring SMTP/LMTP load generator. Parses the options,
// starts one Worker per thread, draws the progress line on a terminal, and
// prints the table (and JSON) when every worker is done.
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/loadgen/options.h"
#include "bench/loadgen/report.h"
#include "bench/loadgen/worker.h"
#include "core/cpus.h"

namespace {

using namespace ringmx::loadgen;

std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop.store(true, std::memory_order_relaxed);
}

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
}

// Splits `total` into `parts` shares that differ by at most one.
unsigned share(unsigned total, unsigned parts, unsigned index) {
  return total / parts + (index < total % parts ? 1 : 0);
}

// Each connection is a file descriptor: raise RLIMIT_NOFILE to cover them
// (as root, past the hard limit too), and say so when it cannot be done.
void raise_file_limit(unsigned connections) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  rlim_t want = connections + 64;  // the ring, stdio, the JSON file, wolfSSL
  if (limit.rlim_cur >= want) return;
  rlimit raised{want, std::max(want, limit.rlim_max)};
  if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return;
  raised = {limit.rlim_max, limit.rlim_max};
  setrlimit(RLIMIT_NOFILE, &raised);
  std::fprintf(stderr,
               "ringmx-bench: warning: open files limited to %llu, fewer than the %u "
               "connections asked for; the rest will fail with EMFILE\n",
               static_cast<unsigned long long>(raised.rlim_cur), connections);
}

void pin_current_thread(int cpu) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0)
    std::fprintf(stderr, "ringmx-bench: warning: cannot pin a thread to CPU %d\n", cpu);
}

int run(const Options& options) {
  unsigned total_connections = options.hold_idle ? *options.hold_idle : options.connections;
  raise_file_limit(total_connections);
  unsigned threads =
      options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, total_connections);

  SessionPlan plan = make_plan(options);
  MessageCatalog catalog(options.sizes);
  MessageBudget budget(options.messages);
  std::vector<std::unique_ptr<WorkerStats>> stats;
  std::vector<WorkerSetup> setups(threads);
  auto start = Clock::now();
  Options per_run = options;
  per_run.threads = threads;
  for (unsigned i = 0; i < threads; ++i) {
    stats.push_back(std::make_unique<WorkerStats>());
    auto& s = setups[i];
    s.options = &per_run;
    s.plan = &plan;
    s.catalog = &catalog;
    s.budget = &budget;
    s.stop = &g_stop;
    s.index = i;
    s.connections = share(total_connections, threads, i);
    s.rate = options.rate ? *options.rate / threads : 0;
    s.start = start;
    if (options.duration)
      s.deadline = start + std::chrono::duration_cast<Clock::duration>(*options.duration);
  }

  auto netstat_before = read_listen_counters();
  std::mutex mutex;
  std::condition_variable done_cv;
  unsigned done = 0;
  std::string fatal;
  std::vector<std::thread> workers;
  const std::vector<int> cpus = options.pin ? ringmx::core::allowed_cpus() : std::vector<int>{};
  for (unsigned i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      if (!cpus.empty()) pin_current_thread(cpus[i % cpus.size()]);
      try {
        Worker w(setups[i], *stats[i]);
        w.run();
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        fatal = e.what();
        g_stop.store(true);
      }
      std::lock_guard lock(mutex);
      ++done;
      done_cv.notify_all();
    });
  }

  // The progress line is redrawn once a second, on a terminal only, with
  // the last second's rate and latency.
  bool tty = isatty(STDERR_FILENO);
  std::uint64_t last_messages = 0;
  auto last_time = start;
  auto earlier = std::make_unique<Histogram>();
  {
    std::unique_lock lock(mutex);
    while (!done_cv.wait_for(lock, std::chrono::seconds(1), [&] { return done == threads; })) {
      if (!tty) continue;
      auto now = Clock::now();
      auto transaction = std::make_unique<Histogram>();
      std::uint64_t messages = 0, errors = 0, held = 0;
      for (const auto& s : stats) {
        transaction->merge(s->phase(Phase::transaction));
        messages += s->messages_ok.get();
        errors += s->errors.get();
        held += s->held.get();
      }
      double interval = std::chrono::duration<double>(now - last_time).count();
      auto line = format_progress(
          std::chrono::duration<double>(now - start).count(),
          static_cast<double>(messages - last_messages) / interval, errors, *transaction, *earlier,
          options.hold_idle ? std::optional<std::uint64_t>(held) : std::nullopt);
      std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
      last_messages = messages;
      last_time = now;
      earlier = std::move(transaction);
    }
  }
  for (auto& t : workers)
    t.join();
  if (tty) std::fprintf(stderr, "\r\x1b[K");
  auto end = Clock::now();
  if (!fatal.empty()) {
    std::fprintf(stderr, "ringmx-bench: %s\n", fatal.c_str());
    return 3;
  }

  auto totals = std::make_unique<Totals>();
  totals->threads = threads;
  totals->elapsed_seconds = std::chrono::duration<double>(end - start).count();
  for (const auto& s : stats)
    totals->add(*s);
  auto netstat_after = read_listen_counters();
  if (netstat_before && netstat_after)
    totals->listen_delta = ListenCounters{netstat_after->overflows - netstat_before->overflows,
                                          netstat_after->drops - netstat_before->drops};
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  totals->cpu_user_seconds = seconds(usage.ru_utime);
  totals->cpu_system_seconds = seconds(usage.ru_stime);

  std::fputs(format_table(*totals, options).c_str(), stdout);
  if (!options.json_path.empty()) {
    std::ofstream json(options.json_path);
    json << format_json(*totals, options);
    if (!json) {
      std::fprintf(stderr, "ringmx-bench: cannot write %s\n", options.json_path.c_str());
      return 3;
    }
  }
  return totals->errors == 0 && totals->messages_failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_options(argc, argv);
  if (auto* err = std::get_if<ParseError>(&parsed)) {
    std::fprintf(stderr, "ringmx-bench: %s\n", err->message.c_str());
    return 2;
  }
  const auto& options = std::get<Options>(parsed);
  if (options.help) {
    std::fputs(usage().c_str(), stdout);
    return 0;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  wolfSSL_Init();
  int rc = run(options);
  wolfSSL_Cleanup();
  return rc;
}

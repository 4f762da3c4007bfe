#include "core/server.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "core/cpus.h"
#include "core/listeners.h"
#include "core/log/log.h"
#include "core/mailbox.h"
#include "core/management.h"
#include "core/messages.h"
#include "core/privileges.h"
#include "core/shard.h"

namespace ringmx::core {
namespace {

log::Level to_log_level(config::LogLevel l) {
  switch (l) {
    case config::LogLevel::error:
      return log::Level::error;
    case config::LogLevel::warn:
      return log::Level::warn;
    case config::LogLevel::info:
      return log::Level::info;
    case config::LogLevel::debug:
      return log::Level::debug;
  }
  return log::Level::info;
}

class Server {
 public:
  Server(const config::Config& cfg, std::string path)
      : config_(std::make_shared<const config::Config>(cfg)), path_(std::move(path)) {}

  int run();

 private:
  bool start();
  void loop();
  // SIGHUP and POST /reload. False when the running configuration was
  // kept; `errors` then says why, one line per error.
  bool reload(std::string* errors = nullptr);
  // Runs one reload for every POST /reload queued, and answers each.
  void serve_reload_requests();
  void stop_shards();
  // Waits until every shard posted `kind` (or one failed); false on failure.
  bool wait_all(ServerEvent::Kind kind);

  std::shared_ptr<const config::Config> config_;
  std::string path_;
  unsigned shard_count_ = 1;
  std::vector<int> shard_cpus_;  // shard i is pinned to shard_cpus_[i]
  std::shared_ptr<const ListenerSet> listeners_;
  std::vector<std::unique_ptr<Shard>> shards_;
  Mailbox<ServerEvent> events_;
  ServerControl control_;
  int signal_fd_ = -1;
};

int Server::run() {
  log::set_level(to_log_level(config_->log_level));
  // Signals go to the signalfd only: blocked here, before any shard thread
  // exists, so every thread inherits the mask.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  sigdelset(&mask, SIGPIPE);
  signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC);
  if (signal_fd_ < 0 || !events_.ok()) {
    log::error("server.start_failed", "error={}", log::quote(std::strerror(errno)));
    return 1;
  }
  if (!start()) {
    stop_shards();
    return 1;
  }
  loop();
  close(signal_fd_);
  return 0;
}

bool Server::start() {
  const config::Config& cfg = *config_;
  raise_nofile_limit(cfg);
  const std::vector<int> cpus = allowed_cpus();
  shard_count_ = cfg.shards ? cfg.shards : static_cast<unsigned>(cpus.size());
  for (unsigned i = 0; i < shard_count_; ++i)
    shard_cpus_.push_back(cpus[i % cpus.size()]);
  if (std::string why = check_root(cfg); !why.empty()) {
    log::error("server.start_failed", "reason={}", log::quote(why));
    return false;
  }
  if (cfg.delivery_mode == config::DeliveryMode::discard)
    log::warn("delivery.discard", "reason={}",
              log::quote("delivery.mode = discard: every message is accepted and "
                         "DROPPED; for load tests only"));
  std::string error;
  auto set = open_listeners(config_, shard_cpus_, nullptr, &error);
  if (!set) {
    log::error("listener.bind_failed", "{}", error);
    return false;
  }
  listeners_ = set;
  for (const ListenSocket& s : set->sockets)
    log::info("listener.bound", "listener={} addr={} shard={} fd={}",
              set->listeners[s.listener]->listener->id, s.address->text, s.shard, s.fd);
  // Every socket is bound: no client byte has been read yet.
  if (std::string why = drop_privileges(cfg); !why.empty()) {
    log::error("server.start_failed", "reason={}", log::quote(why));
    close_sockets(*set);
    return false;
  }
  for (unsigned i = 0; i < shard_count_; ++i)
    control_.metrics.push_back(std::make_unique<ShardMetrics>());
  for (unsigned i = 0; i < shard_count_; ++i) {
    ShardOptions o;
    o.control = &control_;
    o.index = i;
    o.cpu = shard_cpus_[i];
    o.listeners = set;
    o.events = &events_;
    shards_.push_back(std::make_unique<Shard>(o));
  }
  for (auto& s : shards_)
    s->start();
  if (!wait_all(ServerEvent::Kind::ready)) return false;
  control_.ready.store(true, std::memory_order_relaxed);
  log::info("ready", "shards={} listeners={} sockets={} steering={} pid={}", shard_count_,
            set->listeners.size(), set->sockets.size(), config::to_string(cfg.steering), getpid());
  sd_notify("READY=1");
  return true;
}

bool Server::wait_all(ServerEvent::Kind kind) {
  unsigned done = 0;
  bool ok = true;
  while (done < shards_.size()) {
    pollfd p{events_.fd(), POLLIN, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) return false;
    std::uint64_t n;
    [[maybe_unused]] ssize_t r = read(events_.fd(), &n, sizeof n);
    for (ServerEvent& e : events_.take()) {
      if (e.kind == ServerEvent::Kind::failed) {
        log::error("shard.start_failed", "shard={} reason={}", e.shard, log::quote(e.text));
        ok = false;
        ++done;
      } else if (e.kind == kind) {
        ++done;
      }
    }
  }
  return ok;
}

void Server::loop() {
  for (;;) {
    pollfd p[2] = {{signal_fd_, POLLIN, 0}, {control_.reloads.fd(), POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log::error("server.poll", "error={}", log::quote(std::strerror(errno)));
      break;
    }
    if (p[1].revents & POLLIN) serve_reload_requests();
    if (!(p[0].revents & POLLIN)) continue;
    signalfd_siginfo si;
    ssize_t n = read(signal_fd_, &si, sizeof si);
    if (n != sizeof si) {
      if (errno == EINTR) continue;
      log::error("server.signalfd", "error={}", log::quote(std::strerror(errno)));
      break;
    }
    if (si.ssi_signo == SIGHUP) {
      reload();
      continue;
    }
    log::info("server.draining", "signal={} shutdown_timeout={}", strsignal(si.ssi_signo),
              config::format_duration(config_->shutdown_timeout));
    sd_notify("STOPPING=1");
    break;
  }
  control_.ready.store(false, std::memory_order_relaxed);
  stop_shards();
  log::info("server.stopped", "shards={}", shard_count_);
}

void Server::stop_shards() {
  control_.shards_with_sessions.store(static_cast<unsigned>(shards_.size()),
                                      std::memory_order_relaxed);
  for (auto& s : shards_)
    s->post(ShardMessage{ShardMessage::Kind::drain, nullptr});
  for (auto& s : shards_)
    s->join();
  for (ServerEvent& e : events_.take())
    if (e.kind == ServerEvent::Kind::stopped)
      log::info("shard.stopped", "shard={} {}", e.shard, e.text);
  shards_.clear();
}

void Server::serve_reload_requests() {
  std::uint64_t n;
  [[maybe_unused]] ssize_t r = read(control_.reloads.fd(), &n, sizeof n);
  std::vector<ReloadRequest> asked = control_.reloads.take();
  if (asked.empty()) return;
  // Requests that arrived together share one reload: each asked for the
  // file as it is now, and one reload gives them that.
  log::info("reload.requested", "source=http requests={}", asked.size());
  std::string errors;
  const bool ok = reload(&errors);
  for (const ReloadRequest& q : asked) {
    ShardMessage m;
    m.kind = ShardMessage::Kind::reload_result;
    m.slot = q.slot;
    m.generation = q.generation;
    m.ok = ok;
    m.errors = errors;
    shards_[q.shard]->post(std::move(m));
  }
}

bool Server::reload(std::string* errors) {
  sd_notify("RELOADING=1");
  config::LoadResult r = path_.empty() ? config::load_embedded_default() : config::load_file(path_);
  for (const config::Diagnostic& w : r.warnings)
    log::warn("reload.warning", "message={}", log::quote(w.to_string()));
  if (!r.ok()) {
    for (const config::Diagnostic& e : r.errors)
      log::error("reload.invalid", "message={}", log::quote(e.to_string()));
    if (errors)
      for (const config::Diagnostic& e : r.errors)
        *errors += e.to_string() + "\n";
    log::error("reload.rejected", "file={} errors={} action=kept-running-configuration",
               log::quote(path_.empty() ? "<embedded default>" : path_), r.errors.size());
    sd_notify("READY=1");
    return false;
  }
  auto next = std::make_shared<const config::Config>(std::move(*r.config));
  std::string error;
  auto set = open_listeners(next, shard_cpus_, listeners_.get(), &error);
  if (!set) {
    log::error("reload.bind_failed", "{} action=kept-running-configuration", error);
    if (errors) *errors += error + "\n";
    sd_notify("READY=1");
    return false;
  }
  log::set_level(to_log_level(next->log_level));
  // Shards and the spool are made once at start; say so rather than
  // pretend a reload changed them.
  const config::Config& now = *config_;
  for (auto [key, changed] :
       {std::pair{"server.shards", next->shards != now.shards},
        std::pair{"delivery.mode", next->delivery_mode != now.delivery_mode},
        std::pair{"spool.path", next->spool_path != now.spool_path},
        std::pair{"spool.segment-size", next->segment_size != now.segment_size},
        std::pair{"server.run-as",
                  next->run_as_user != now.run_as_user || next->run_as_group != now.run_as_group}})
    if (changed) log::warn("reload.needs_restart", "key={} action=kept-running-value", key);
  for (const ListenSocket& s : set->sockets)
    if (!s.reused)
      log::info("listener.bound", "listener={} addr={} shard={} fd={}",
                set->listeners[s.listener]->listener->id, s.address->text, s.shard, s.fd);
  // New sockets are listening already; each shard starts accepting on them
  // and only then closes the sockets the new set no longer has.
  for (auto& s : shards_)
    s->post(ShardMessage{ShardMessage::Kind::reload, set});
  wait_all(ServerEvent::Kind::reloaded);
  listeners_ = set;
  config_ = next;
  log::info("reload.done", "file={} listeners={} sockets={}",
            log::quote(path_.empty() ? "<embedded default>" : path_), set->listeners.size(),
            set->sockets.size());
  sd_notify("READY=1");
  return true;
}

}  // namespace

int run_server(const config::Config& cfg, const std::string& config_path) {
  Server server(cfg, config_path);
  return server.run();
}

}  // namespace ringmx::core

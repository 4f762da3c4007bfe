#include "delivery/spool_cli.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "config/config.h"
#include "delivery/maildir.h"
#include "delivery/spool_reader.h"
#include "delivery/spool_writer.h"

namespace ringmx::delivery {
namespace fs = std::filesystem;

namespace {

constexpr int kExitProblem = 1;
constexpr int kExitUsage = 2;
// Export marks messages done in groups: each group costs one fsync of new/
// and one fdatasync per spool segment, and bounds what a crash re-exports.
constexpr size_t kExportGroup = 256;

constexpr std::string_view kUsage =
    "usage: ringmx spool [--config FILE | --path DIR] COMMAND\n"
    "  list [--all]                     queued messages (--all: also those marked done)\n"
    "  show QUEUE-ID                    envelope and message\n"
    "  export --maildir DIR [--mark-done]\n"
    "                                   one Maildir file per queued message; --mark-done\n"
    "                                   marks each done once its file is durable\n"
    "  check                            verify every record; report torn tails and garbage\n";

struct Args {
  std::optional<std::string> config, path, maildir;
  bool mark_done = false, all = false;
  std::vector<std::string> words;  // command and its operands
};

int usage(std::string_view why) {
  if (!why.empty()) fmt::print(stderr, "ringmx spool: {}\n", why);
  fmt::print(stderr, "{}", kUsage);
  return kExitUsage;
}

std::optional<Args> parse(int argc, char** argv, std::string& error) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::optional<std::string>& slot) {
      if (i + 1 >= argc) {
        error = fmt::format("{} needs a value", arg);
        return false;
      }
      slot = argv[++i];
      return true;
    };
    if (arg == "--config") {
      if (!value(a.config)) return std::nullopt;
    } else if (arg == "--path") {
      if (!value(a.path)) return std::nullopt;
    } else if (arg == "--maildir") {
      if (!value(a.maildir)) return std::nullopt;
    } else if (arg == "--mark-done") {
      a.mark_done = true;
    } else if (arg == "--all") {
      a.all = true;
    } else if (arg == "-h" || arg == "--help") {
      error = "";
      return std::nullopt;
    } else if (arg.starts_with("--")) {
      error = fmt::format("unknown option {}", arg);
      return std::nullopt;
    } else {
      a.words.emplace_back(arg);
    }
  }
  if (a.config && a.path) {
    error = "give --config or --path, not both";
    return std::nullopt;
  }
  return a;
}

std::optional<fs::path> spool_root(const Args& a) {
  if (a.path) return fs::path(*a.path);
  config::LoadResult r = a.config ? config::load_file(*a.config) : config::load_embedded_default();
  if (!r.ok()) {
    for (const auto& e : r.errors)
      fmt::print(stderr, "{}\n", e.to_string());
    return std::nullopt;
  }
  return fs::path(r.config->spool_path);
}

std::string recipients(const Envelope& env) {
  std::string out;
  for (const Recipient& r : env.rcpt_to) {
    if (!out.empty()) out += ',';
    out += r.address;
  }
  return out;
}

int cmd_list(const SpoolReader& reader, bool all) {
  for (const MessageView& m : reader.messages(all)) {
    const Envelope& e = m.message->envelope;
    fmt::print("{}{}  {}  {:>9}  <{}>  {}\n", m.queue_id, m.done ? " (done)" : "", e.received_at,
               m.message->length, e.mail_from, recipients(e));
  }
  return 0;
}

int cmd_show(const SpoolReader& reader, const std::string& id) {
  auto m = reader.find(id);
  if (!m) {
    fmt::print(stderr, "ringmx spool: no message {}\n", id);
    return kExitProblem;
  }
  const Envelope& e = m->message->envelope;
  fmt::print(
      "queue-id: {}\nstate: {}\nreceived-at: {}\nlistener: {}\nclient: {}\nhelo: {}\n"
      "tls: {}\nmail-from: <{}>{}{}\n",
      m->queue_id, m->done ? "done" : "queued", e.received_at, e.listener, e.client, e.helo, e.tls,
      e.mail_from, e.mail_params.empty() ? "" : " ", e.mail_params);
  for (const Recipient& r : e.rcpt_to)
    fmt::print("rcpt-to: <{}>{}{}\n", r.address, r.params.empty() ? "" : " ", r.params);
  fmt::print("size: {}\n\n", m->message->length);
  std::fflush(stdout);
  BodyStream body = reader.body(*m);
  std::span<const char> v;
  while (body.next(v))
    std::fwrite(v.data(), 1, v.size(), stdout);
  return 0;
}

int cmd_export(SpoolReader& reader, const fs::path& maildir, bool mark_done) {
  if (int err = ensure_maildir(maildir)) {
    fmt::print(stderr, "ringmx spool: cannot create Maildir {}: {}\n", maildir.string(),
               std::strerror(err));
    return kExitProblem;
  }
  std::vector<MessageView> all = reader.messages(false);
  size_t exported = 0;
  for (size_t start = 0; start < all.size(); start += kExportGroup) {
    std::span<const MessageView> group(all.data() + start,
                                       std::min(kExportGroup, all.size() - start));
    for (const MessageView& m : group) {
      std::string name;
      if (int err = write_maildir_message(maildir, m.message->envelope, reader.body(m), name)) {
        fmt::print(stderr, "ringmx spool: export {}: {}\n", m.queue_id, std::strerror(err));
        return kExitProblem;
      }
      fmt::print("{} {}\n", m.queue_id, (maildir / "new" / name).string());
    }
    // Done only once the renames into new/ are durable.
    if (int err = sync_maildir_new(maildir)) {
      fmt::print(stderr, "ringmx spool: fsync {}/new: {}\n", maildir.string(), std::strerror(err));
      return kExitProblem;
    }
    if (mark_done) {
      if (int err = reader.mark_done(group)) {
        fmt::print(stderr, "ringmx spool: marking done: {}\n", std::strerror(err));
        return kExitProblem;
      }
    }
    exported += group.size();
  }
  size_t removed = mark_done ? reader.remove_finished_segments() : 0;
  fmt::print(stderr, "ringmx spool: exported {} message(s){}; {} segment(s) removed\n", exported,
             mark_done ? " and marked them done" : "", removed);
  return 0;
}

int cmd_check(const SpoolReader& reader) {
  int status = 0;
  size_t messages = 0, done = 0;
  for (const SegmentView& s : reader.segments()) {
    const SegmentScan& scan = s.scan;
    size_t seg_done = 0;
    for (const StoredMessage& m : scan.messages)
      seg_done += s.done.contains(m.id);
    messages += scan.messages.size();
    done += seg_done;
    std::string tail(to_string(scan.tail));
    // A torn tail on the segment a writer is appending to is a write in
    // progress, not damage.
    if (scan.tail == TailState::torn && s.active) tail = "in-progress";
    fmt::print(
        "{}  {}  bytes={} valid={} messages={} done={} garbage_messages={} "
        "garbage_bytes={} tail={}{}{}\n",
        s.shard, s.file.filename().string(), scan.file_size, scan.valid_end, scan.messages.size(),
        seg_done, scan.garbage_messages, scan.garbage_bytes, tail, s.active ? " active" : "",
        scan.tail_detail.empty() || tail == "in-progress" ? ""
                                                          : fmt::format(" ({})", scan.tail_detail));
    if (scan.tail == TailState::corrupt) status = kExitProblem;
  }
  fmt::print("total: segments={} messages={} done={} queued={}{}\n", reader.segments().size(),
             messages, done, messages - done, status ? " CORRUPT" : "");
  return status;
}

}  // namespace

int spool_main(int argc, char** argv) {
  std::string error;
  auto args = parse(argc, argv, error);
  if (!args) return usage(error);
  if (args->words.empty()) return usage("missing command");
  const std::string& cmd = args->words[0];
  auto root = spool_root(*args);
  if (!root) return kExitUsage;
  if (!fs::is_directory(*root)) {
    fmt::print(stderr, "ringmx spool: {} is not a spool directory\n", root->string());
    return kExitProblem;
  }
  SpoolReader reader(*root);
  if (cmd == "list" && args->words.size() == 1) return cmd_list(reader, args->all);
  if (cmd == "show" && args->words.size() == 2) return cmd_show(reader, args->words[1]);
  if (cmd == "check" && args->words.size() == 1) return cmd_check(reader);
  if (cmd == "export" && args->words.size() == 1) {
    if (!args->maildir) return usage("export needs --maildir DIR");
    return cmd_export(reader, *args->maildir, args->mark_done);
  }
  return usage(fmt::format("unknown command or wrong operands: {}", cmd));
}

}  // namespace ringmx::delivery

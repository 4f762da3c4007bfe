// `ringmx spool` on a spool a writer still holds: list, show, check, and
// export --maildir checked file by file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <iterator>
#include <string>
#include <vector>

#include "delivery/maildir.h"
#include "delivery/segment_file.h"
#include "delivery/spool_cli.h"
#include "delivery/spool_reader.h"
#include "delivery/spool_writer.h"
#include "tests/delivery/spool_test_util.h"

namespace ringmx::delivery {
namespace {

using testing::Harness;
using testing::TempDir;
namespace fs = std::filesystem;

std::span<const char> sp(const std::string& s) {
  return {s.data(), s.size()};
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct CliRun {
  int status;
  std::string out;
};

CliRun cli(std::vector<std::string> args) {
  std::vector<char*> argv;
  args.insert(args.begin(), "spool");
  for (auto& a : args)
    argv.push_back(a.data());
  ::testing::internal::CaptureStdout();
  int status = spool_main(int(argv.size()), argv.data());
  std::fflush(stdout);
  return {status, ::testing::internal::GetCapturedStdout()};
}

struct Spooled {
  std::string queue_id, body;
  Envelope env;
};

class SpoolCli : public ::testing::Test {
 protected:
  void SetUp() override {
    spool_ = std::make_unique<ShardSpool>(dir_.path() / "spool", 0, 1 << 20);
    Harness h(*spool_);
    bodies_ = {"Subject: one\r\n\r\nfirst body\r\n",
               "Subject: two\r\nX: y\r\n\r\nline\r\nbare\rCR kept\r\n", ""};
    for (size_t i = 0; i < bodies_.size(); ++i) {
      Envelope e = testing::make_envelope(int(i));
      MessageId id = spool_->begin();
      // Split the CRLF of the first message across two chunks.
      size_t cut = bodies_[i].size() > 13 ? 13 : bodies_[i].size();
      spool_->append(id, sp(bodies_[i]).first(cut), 1);
      spool_->append(id, sp(bodies_[i]).subspan(cut), 2);
      spool_->commit(id, e, i);
      msgs_.push_back({spool_->queue_id(id), bodies_[i], e});
    }
    h.run();
  }

  TempDir dir_;
  std::unique_ptr<ShardSpool> spool_;
  std::vector<std::string> bodies_;
  std::vector<Spooled> msgs_;
  fs::path root() const { return dir_.path() / "spool"; }
};

TEST_F(SpoolCli, ListShowsIdSizeSenderAndRecipients) {
  CliRun r = cli({"--path", root().string(), "list"});
  EXPECT_EQ(r.status, 0);
  std::istringstream lines(r.out);
  std::string line;
  std::vector<std::string> got;
  while (std::getline(lines, line))
    got.push_back(line);
  ASSERT_EQ(got.size(), 3u) << r.out;
  // make_envelope(0): null sender, two recipients.
  EXPECT_EQ(got[0], msgs_[0].queue_id + "  2026-11-26T00:25:40.123Z         " +
                        std::to_string(bodies_[0].size()) +
                        "  <>  rcpt0@example.net,other@example.net");
  EXPECT_NE(got[1].find("<sender1@example.org>  rcpt1@example.net"), std::string::npos) << got[1];
}

TEST_F(SpoolCli, ShowPrintsEnvelopeThenTheMessage) {
  CliRun r = cli({"show", msgs_[1].queue_id, "--path", root().string()});
  EXPECT_EQ(r.status, 0);
  std::string expected = "queue-id: " + msgs_[1].queue_id +
                         "\nstate: queued\nreceived-at: 2026-11-26T00:25:40.123Z\nlistener: mx\n"
                         "client: 192.0.2.7:40000\nhelo: client.example\n"
                         "tls: TLSv1.3 TLS_AES_128_GCM_SHA256\n"
                         "mail-from: <sender1@example.org> SIZE=1000 BODY=8BITMIME\n"
                         "rcpt-to: <rcpt1@example.net> NOTIFY=NEVER\n"
                         "size: " +
                         std::to_string(bodies_[1].size()) + "\n\n" + bodies_[1];
  EXPECT_EQ(r.out, expected);
  EXPECT_EQ(cli({"--path", root().string(), "show", "0000000001FFFFFF"}).status, 1);
  EXPECT_EQ(cli({"--path", root().string(), "frobnicate"}).status, 2);
}

TEST_F(SpoolCli, ExportWritesOneMaildirFilePerMessageAndMarkDoneDrainsTheSpool) {
  fs::path md = dir_.path() / "Maildir";
  // While the writer still holds its segment.
  CliRun r = cli({"--path", root().string(), "export", "--maildir", md.string(), "--mark-done"});
  ASSERT_EQ(r.status, 0);
  EXPECT_TRUE(fs::is_empty(md / "tmp"));
  EXPECT_TRUE(fs::is_empty(md / "cur"));
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(md / "new"))
    files.push_back(e.path());
  ASSERT_EQ(files.size(), 3u);
  for (const Spooled& m : msgs_) {
    fs::path file;
    for (const auto& f : files)
      if (f.filename().string().find(".R" + m.queue_id + ".") != std::string::npos) file = f;
    ASSERT_FALSE(file.empty()) << "no file for " << m.queue_id;
    std::string expected = "Return-Path: <" + m.env.mail_from + ">\n";
    for (const Recipient& rc : m.env.rcpt_to)
      expected += "X-Original-To: " + rc.address + "\nDelivered-To: " + rc.address + "\n";
    std::string body = m.body, lf;
    for (size_t i = 0; i < body.size(); ++i) {
      if (body[i] == '\r' && i + 1 < body.size() && body[i + 1] == '\n') continue;
      lf += body[i];
    }
    EXPECT_EQ(read_file(file), expected + lf) << file;
  }
  EXPECT_NE(read_file(files[0]).find("\n"), std::string::npos);

  // Marked done: gone from list, exported again by nobody; the segment is
  // still held by the writer so it stays until the writer moves on.
  EXPECT_EQ(cli({"--path", root().string(), "list"}).out, "");
  EXPECT_EQ(
      cli({"--path", root().string(), "list", "--all"}).out.find("(done)") != std::string::npos,
      true);
  auto seg = shard_dir(root(), 0) / segment_file_name(spool_->active_sequence());
  EXPECT_TRUE(fs::exists(seg));
  spool_.reset();  // the writer stops: its segment is finished, all done
  SpoolReader reader(root());
  EXPECT_EQ(reader.remove_finished_segments(), 1u);
  EXPECT_FALSE(fs::exists(seg));
  EXPECT_FALSE(fs::exists(shard_dir(root(), 0) / done_file_name(1)));
  // A done file left without its segment is cleaned up too.
  MessageId stray = uint64_t{7} << 32;
  ASSERT_EQ(append_done_markers(shard_dir(root(), 0), 7, std::span(&stray, 1)), 0);
  EXPECT_EQ(reader.remove_finished_segments(), 0u);
  EXPECT_FALSE(fs::exists(shard_dir(root(), 0) / done_file_name(7)));
}

TEST_F(SpoolCli, CheckReportsCleanTornAndCorrupt) {
  CliRun clean = cli({"--path", root().string(), "check"});
  EXPECT_EQ(clean.status, 0);
  EXPECT_NE(
      clean.out.find("messages=3 done=0 garbage_messages=0 garbage_bytes=0 tail=clean active"),
      std::string::npos)
      << clean.out;
  auto seg = shard_dir(root(), 0) / segment_file_name(spool_->active_sequence());
  spool_.reset();
  std::string bytes = read_file(seg);
  ASSERT_EQ(::truncate(seg.c_str(), off_t(bytes.size() - 3)), 0);
  CliRun torn = cli({"--path", root().string(), "check"});
  EXPECT_EQ(torn.status, 0);
  EXPECT_NE(torn.out.find("messages=2 done=0 garbage_messages=0"), std::string::npos) << torn.out;
  EXPECT_NE(torn.out.find("tail=torn (partial record at offset"), std::string::npos) << torn.out;
  bytes[60] ^= 1;  // inside the first data record
  std::ofstream(seg, std::ios::binary | std::ios::trunc) << bytes;
  CliRun corrupt = cli({"--path", root().string(), "check"});
  EXPECT_EQ(corrupt.status, 1);
  EXPECT_NE(corrupt.out.find("tail=corrupt (record CRC mismatch at offset 56)"), std::string::npos)
      << corrupt.out;
  EXPECT_NE(corrupt.out.find("CORRUPT"), std::string::npos);
}

TEST_F(SpoolCli, ConfigFileGivesTheSpoolPath) {
  fs::path conf = dir_.path() / "ringmx.toml";
  std::ofstream(conf)
      << "[server.listener.smtp]\nbind = \"127.0.0.1:2525\"\n\n[spool]\npath = \"spool\"\n";
  CliRun r = cli({"--config", conf.string(), "list"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find(msgs_[2].queue_id), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ringmx::delivery

// The DATA scanner against a model: random content made of the octets that
// matter ('a', CR, LF, '.') must be stored exactly as a line-by-line
// reading of RFC 5321 says, in both bare-newline modes, fed whole (the SIMD
// bulk path runs) and in random pieces. And each SIMD line scanner against a
// plain loop.
#include <gtest/gtest.h>

#include <random>

#include "protocols/smtp/line_scan.h"
#include "tests/smtp/harness.h"

namespace ringmx::smtp::testing {
namespace {

// Reference: the special LF a plain loop finds (bare, or followed by '.').
const char* reference_special(const char* p, const char* end) {
  for (; p < end; ++p) {
    if (*p == '\n' && (p[-1] != '\r' || (p + 1 < end && p[1] == '.'))) return p;
  }
  return end;
}

TEST(LineScan, EachImplementationAgreesWithAPlainLoop) {
  int n = 0;
  const LfScanner* scanners = lf_scanners(&n);
  ASSERT_GE(n, 1);
  std::mt19937 rng(7);
  const char alphabet[] = "aaaaaaaaaaaa\r\n.";
  for (int round = 0; round < 3000; ++round) {
    std::string buf(1 + rng() % 700, 'a');
    for (char& c : buf)
      c = alphabet[rng() % (sizeof alphabet - 1)];
    const char* lo = buf.data();
    const char* end = lo + buf.size();
    const char* p = lo + 1 + rng() % buf.size() / 2;
    if (p > end) p = end;
    const char* want = reference_special(p, end);
    for (int i = 0; i < n; ++i) {
      const char* got = scanners[i].scan(p, end);
      ASSERT_LE(got, want) << scanners[i].name << " skipped a special LF";
      // It stops either at that LF, or with fewer than 65 octets left.
      if (got != want) {
        ASSERT_LT(end - got, 65) << scanners[i].name;
      }
      // Resuming mid-line is safe: a stop just after an LF is not at a '.'.
      ASSERT_TRUE(got == p || got[-1] != '\n' || *got != '.') << scanners[i].name;
    }
  }
}

struct Model {
  bool ended = false;
  bool bare_lf = false;
  std::string stored;
};

// RFC 5321 4.5.2 read line by line, with bare LF normalized to CRLF.
Model model(std::string_view s) {
  Model m;
  bool prev_crlf = true;
  size_t i = 0;
  for (;;) {
    size_t lf = s.find('\n', i);
    if (lf == s.npos) return m;
    std::string_view line = s.substr(i, lf - i);
    bool cr = !line.empty() && line.back() == '\r';
    if (!line.empty() && line[0] == '.') {
      if (line == ".\r" && prev_crlf) {
        m.ended = true;
        return m;
      }
      line.remove_prefix(1);
    }
    m.bare_lf |= !cr;
    m.stored.append(line);
    m.stored += cr ? "\n" : "\r\n";
    prev_crlf = cr;
    i = lf + 1;
  }
}

TEST(DataScanner, MatchesTheModelInEverySplit) {
  std::mt19937 rng(11);
  const char alphabet[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n.";
  for (int round = 0; round < 400; ++round) {
    std::string body = round % 2 ? "\r\n" : "";  // an empty header section: bulk path at once
    size_t len = rng() % 1500;
    for (size_t i = 0; i < len; ++i)
      body += alphabet[rng() % (sizeof alphabet - 1)];
    body += "\r\n.\r\n";
    Model m = model(body);
    ASSERT_TRUE(m.ended);
    for (BareNewline mode : {BareNewline::normalize, BareNewline::reject}) {
      Settings s = Harness::defaults();
      s.bare_newline = mode;
      std::string stream = "EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n" + body;
      Outcome whole = run_whole(s, stream);
      bool refused = mode == BareNewline::reject && m.bare_lf;
      if (refused) {
        ASSERT_TRUE(whole.stored.empty()) << "round " << round;
      } else {
        ASSERT_EQ(whole.stored.size(), 1u) << "round " << round;
        std::string got = whole.stored[0].substr(whole.stored[0].find("+0000\r\n") + 7);
        ASSERT_EQ(got, m.stored) << "round " << round;
      }
      ASSERT_EQ(run_random(s, stream, round), whole) << "round " << round;
    }
  }
}

}  // namespace
}  // namespace ringmx::smtp::testing

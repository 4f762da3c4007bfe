// RFC 5321 paths and ESMTP parameters, by table.
#include <gtest/gtest.h>

#include "protocols/smtp/address.h"

namespace ringmx::smtp {
namespace {

struct PathCase {
  const char* input;
  bool null_ok, postmaster_ok, utf8;
  PathError error;
  const char* address;  // when error == none
  const char* rest;
};

TEST(ParsePath, Table) {
  const PathCase cases[] = {
      {"<a@b.c>", false, false, false, PathError::none, "a@b.c", ""},
      {"<a@b.c> SIZE=1", false, false, false, PathError::none, "a@b.c", " SIZE=1"},
      {"<>", true, false, false, PathError::none, "", ""},
      {"<>", false, false, false, PathError::syntax, "", ""},
      {"<first.last+tag@sub.example.com>", false, false, false, PathError::none,
       "first.last+tag@sub.example.com", ""},
      {"<\"quoted >local\\\"\"@b.c>", false, false, false, PathError::none,
       "\"quoted >local\\\"\"@b.c", ""},
      {"<a@[192.0.2.1]>", false, false, false, PathError::none, "a@[192.0.2.1]", ""},
      {"<a@[IPv6:2001:db8::1]>", false, false, false, PathError::none, "a@[IPv6:2001:db8::1]", ""},
      {"<@r1.example,@r2.example:a@b.c>", false, false, false, PathError::none, "a@b.c", ""},
      {"<Postmaster>", false, true, false, PathError::none, "Postmaster", ""},
      {"<postmaster>", false, false, false, PathError::syntax, "", ""},
      {"<bob>", false, true, false, PathError::syntax, "", ""},
      {"a@b.c", false, false, false, PathError::syntax, "", ""},
      {"<a@b.c", false, false, false, PathError::syntax, "", ""},
      {"<a..b@c.d>", false, false, false, PathError::syntax, "", ""},
      {"<.a@c.d>", false, false, false, PathError::syntax, "", ""},
      {"<a b@c.d>", false, false, false, PathError::syntax, "", ""},
      {"<a@-b.c>", false, false, false, PathError::syntax, "", ""},
      {"<a@b..c>", false, false, false, PathError::syntax, "", ""},
      {"<a@b_c.d>", false, false, false, PathError::syntax, "", ""},
      {"<\"unterminated@b.c>", false, false, false, PathError::syntax, "", ""},
      {"<j\xc3\xb6rg@b.c>", false, false, false, PathError::needs_utf8, "", ""},
      {"<j\xc3\xb6rg@b.c>", false, false, true, PathError::none, "j\xc3\xb6rg@b.c", ""},
      {"<j\xc3rg@b.c>", false, false, true, PathError::syntax, "", ""},
      {"<a@\xed\xa0\x80.c>", false, false, true, PathError::syntax, "", ""},  // surrogate
  };
  for (const PathCase& c : cases) {
    ParsedPath p = parse_path(c.input, c.null_ok, c.postmaster_ok, c.utf8);
    EXPECT_EQ(p.error, c.error) << c.input;
    if (c.error == PathError::none) {
      EXPECT_EQ(p.address, c.address) << c.input;
      EXPECT_EQ(p.rest, c.rest) << c.input;
    }
  }
}

TEST(ParsePath, Limits) {
  std::string local64(64, 'l'), local65(65, 'l');
  EXPECT_EQ(parse_path("<" + local64 + "@b.c>", false, false, false).error, PathError::none);
  EXPECT_EQ(parse_path("<" + local65 + "@b.c>", false, false, false).error, PathError::too_long);
  std::string long_domain;
  while (long_domain.size() < 260)
    long_domain += "abcdefghi.";
  long_domain += "com";
  EXPECT_EQ(parse_path("<a@" + long_domain + ">", false, false, false).error, PathError::too_long);
}

TEST(Params, Reader) {
  ParamReader r{"  SIZE=10 BODY=8BITMIME SMTPUTF8 "};
  std::string_view k, v;
  ASSERT_TRUE(r.next(k, v));
  EXPECT_EQ(k, "SIZE");
  EXPECT_EQ(v, "10");
  ASSERT_TRUE(r.next(k, v));
  EXPECT_EQ(k, "BODY");
  EXPECT_EQ(v, "8BITMIME");
  ASSERT_TRUE(r.next(k, v));
  EXPECT_EQ(k, "SMTPUTF8");
  EXPECT_EQ(v, "");
  EXPECT_FALSE(r.next(k, v));
  EXPECT_FALSE(r.error);
  for (const char* bad : {"=1", "-X=1", "K=", "K=a=b", "K\x01=1"}) {
    ParamReader b{bad};
    EXPECT_FALSE(b.next(k, v)) << bad;
    EXPECT_TRUE(b.error) << bad;
  }
}

}  // namespace
}  // namespace ringmx::smtp

// The DATA scanner's fast path: skip over ordinary content lines in bulk.
//
// Almost every line of a message ends in CRLF and does not start with '.';
// such a line needs nothing from the scanner (no chunk split, no check).
// find_special_lf() finds the first LF that does need attention - a bare LF
// (no CR before it) or an LF followed by '.' - comparing 64 octets at a time
// with SIMD (three shifted loads: the octet, the one before, the one after)
// instead of calling memchr once per line.
#pragma once

namespace ringmx::smtp {

// Scans [p, end); `lo` is the first readable octet (p > lo for the bulk path,
// which reads p[-1]). Returns the first LF needing attention, or the point
// where the bulk scan stopped (fewer than 65 octets left, or p == lo). Every
// LF before the returned position is preceded by CR and not followed by '.',
// so the caller may resume there as if mid-line: even when the stop is just
// after such an LF, the octet there is not '.', so no line-start check is lost.
const char* find_special_lf(const char* lo, const char* p, const char* end);

// Every implementation this machine can run, for tests and benchmarks to
// hold against each other; find_special_lf() uses the fastest.
struct LfScanner {
  const char* name;
  const char* (*scan)(const char* p, const char* end);  // needs p[-1] readable
};
const LfScanner* lf_scanners(int* count);

}  // namespace ringmx::smtp

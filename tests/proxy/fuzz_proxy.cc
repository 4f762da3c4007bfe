// libFuzzer target for the PROXY header parser. Besides "no crash, no UB",
// it checks the properties the runtime relies on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "protocols/proxy/proxy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const char> in(reinterpret_cast<const char*>(data), size);
  ringmx::proxy::Result r = ringmx::proxy::parse(in);
  using ringmx::proxy::Status;
  if (r.status == Status::complete) {
    // consumed stays within the input and the declared bound, and the same
    // answer comes back from exactly the header bytes (no look-ahead).
    if (r.consumed == 0 || r.consumed > size || r.consumed > ringmx::proxy::kMaxHeaderBytes) {
      std::abort();
    }
    ringmx::proxy::Result again = ringmx::proxy::parse(in.first(r.consumed));
    if (again.status != Status::complete || again.consumed != r.consumed) std::abort();
    if (r.has_addresses && r.source.ss_family != r.destination.ss_family) std::abort();
    // The TLV view lies inside the header, and walking it ends exactly at
    // its end.
    if (!r.tlvs.empty() &&
        (r.tlvs.data() < in.data() || r.tlvs.data() + r.tlvs.size() != in.data() + r.consumed)) {
      std::abort();
    }
    std::string_view rest = r.tlvs;
    ringmx::proxy::Tlv t;
    while (ringmx::proxy::next_tlv(rest, t)) {
    }
    if (!rest.empty()) std::abort();
  } else {
    if (r.consumed != 0 || r.has_addresses) std::abort();
    if (r.status == Status::invalid && r.reason.empty()) std::abort();
    if (r.status == Status::need_more && size >= ringmx::proxy::kMaxHeaderBytes) std::abort();
  }
  // A shorter prefix of a decided input is never decided differently: it
  // either waits or gives the same verdict.
  if (size > 0 && r.status != Status::need_more) {
    ringmx::proxy::Result shorter = ringmx::proxy::parse(in.first(size - 1));
    if (shorter.status != Status::need_more && shorter.status != r.status) std::abort();
  }
  return 0;
}

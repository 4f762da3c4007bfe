#include "tls/mb_record.h"

#ifdef RINGMX_HAVE_IPSEC_MB
#include <intel-ipsec-mb.h>

#include <cstddef>
#include <cstdint>
#endif

namespace ringmx::tls::mb {

#ifdef RINGMX_HAVE_IPSEC_MB
namespace {

// The GCM entry points of one key size, taken from a manager the library
// set up for this CPU. The manager is needed only to find them: the direct
// GCM API keeps its state in the caller's key and context structs, so the
// shards share these read-only.
struct GcmCode {
  aes_gcm_pre_t pre = nullptr;
  aes_gcm_init_t init = nullptr;
  aes_gcm_enc_dec_update_t enc_update = nullptr;
  aes_gcm_enc_dec_update_t dec_update = nullptr;
  aes_gcm_enc_dec_finalize_t enc_finalize = nullptr;
  aes_gcm_enc_dec_finalize_t dec_finalize = nullptr;
};

struct Library {
  bool fast = false;
  GcmCode aes128, aes256;
};

const Library& library() {
  static const Library lib = [] {
    Library l;
    IMB_MGR* mgr = alloc_mb_mgr(0);
    if (mgr == nullptr) return l;
    IMB_ARCH arch = IMB_ARCH_NONE;
    init_mb_mgr_auto(mgr, &arch);
    l.fast = arch == IMB_ARCH_AVX512 && (mgr->features & IMB_FEATURE_VAES) != 0 &&
             (mgr->features & IMB_FEATURE_VPCLMULQDQ) != 0;
    l.aes128 = {mgr->gcm128_pre,        mgr->gcm128_init,         mgr->gcm128_enc_update,
                mgr->gcm128_dec_update, mgr->gcm128_enc_finalize, mgr->gcm128_dec_finalize};
    l.aes256 = {mgr->gcm256_pre,        mgr->gcm256_init,         mgr->gcm256_enc_update,
                mgr->gcm256_dec_update, mgr->gcm256_enc_finalize, mgr->gcm256_dec_finalize};
    free_mb_mgr(mgr);
    return l;
  }();
  return lib;
}

// Compares all 16 bytes whatever the first difference: the time taken says
// nothing about where a forged tag went wrong.
bool same_tag(const std::uint8_t* a, const std::uint8_t* b) {
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < kRecordTag; ++i)
    diff |= static_cast<std::uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

class MbRecordAead final : public RecordAead {
 public:
  MbRecordAead(const GcmCode& code, bool seal) : code_(code), seal_(seal) {}
  ~MbRecordAead() override {
    // The expanded key and hash-key powers, wiped like EVP_CIPHER_CTX_free.
    volatile unsigned char* p = reinterpret_cast<volatile unsigned char*>(&key_);
    for (std::size_t i = 0; i < sizeof key_; ++i)
      p[i] = 0;
  }
  MbRecordAead(const MbRecordAead&) = delete;
  MbRecordAead& operator=(const MbRecordAead&) = delete;

  void set_key(std::span<const std::uint8_t> key) { code_.pre(key.data(), &key_); }

  bool begin(const std::uint8_t* nonce, std::span<const std::uint8_t> aad) override {
    code_.init(&key_, &context_, nonce, aad.data(), aad.size());
    return true;
  }

  bool update(const std::uint8_t* in, std::size_t len, std::uint8_t* out) override {
    if (len == 0) return true;
    (seal_ ? code_.enc_update : code_.dec_update)(&key_, &context_, out, in, len);
    return true;
  }

  bool seal_tag(std::uint8_t* tag) override {
    if (!seal_) return false;
    code_.enc_finalize(&key_, &context_, tag, kRecordTag);
    return true;
  }

  bool open_tag(const std::uint8_t* tag) override {
    if (seal_) return false;
    std::uint8_t computed[kRecordTag];
    code_.dec_finalize(&key_, &context_, computed, kRecordTag);
    return same_tag(computed, tag);
  }

 private:
  // On a cache line for the library's SIMD loads (new honours the
  // alignment of an over-aligned type).
  alignas(64) gcm_key_data key_{};
  gcm_context_data context_{};
  const GcmCode& code_;
  bool seal_;
};

}  // namespace

bool fast_aes_gcm() {
  return library().fast;
}

std::unique_ptr<RecordAead> make_record_aead(RecordCipher cipher, std::span<const std::uint8_t> key,
                                             bool seal) {
  const Library& lib = library();
  const GcmCode* code = nullptr;
  if (cipher == RecordCipher::aes_128_gcm && key.size() == 16) code = &lib.aes128;
  if (cipher == RecordCipher::aes_256_gcm && key.size() == 32) code = &lib.aes256;
  if (code == nullptr || code->pre == nullptr) return nullptr;
  auto aead = std::make_unique<MbRecordAead>(*code, seal);
  aead->set_key(key);
  return aead;
}

#else  // built without ipsec-mb: libcrypto does all of it

bool fast_aes_gcm() {
  return false;
}

std::unique_ptr<RecordAead> make_record_aead(RecordCipher, std::span<const std::uint8_t>, bool) {
  return nullptr;
}

#endif

}  // namespace ringmx::tls::mb

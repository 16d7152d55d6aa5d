#include "account/secret_box.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "core/log.h"

namespace mamori::account {

namespace {

constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t kHeaderBytes = 1 + SecretBox::kKeyIdBytes + kNonceBytes;

Error key_error(const std::string& path, const std::string& what) {
  return make_error("key_file_error", "key file " + path + ": " + what);
}

void init_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

}  // namespace

SecretBox::SecretBox() {
  init_sodium();
  key_ = static_cast<std::uint8_t*>(sodium_malloc(kKeyBytes));
  if (key_ == nullptr) throw std::bad_alloc();
}

SecretBox::~SecretBox() { sodium_free(key_); }  // sodium_free wipes it

std::unique_ptr<SecretBox> SecretBox::from_key(std::span<const std::uint8_t> key) {
  if (key.size() != kKeyBytes) throw std::invalid_argument("SecretBox key must be 32 bytes");
  std::unique_ptr<SecretBox> box(new SecretBox());
  std::memcpy(box->key_, key.data(), kKeyBytes);
  std::uint8_t h[kKeyIdBytes];
  static constexpr char kIdTag[] = "mamori key id";
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, sizeof h);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(kIdTag), sizeof kIdTag);
  crypto_generichash_update(&st, box->key_, kKeyBytes);
  crypto_generichash_final(&st, h, sizeof h);
  std::memcpy(box->key_id_.data(), h, sizeof h);
  return box;
}

Result<std::unique_ptr<SecretBox>> SecretBox::from_key_file(const std::string& path, bool create,
                                                           bool* created) {
  init_sodium();
  if (created) *created = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && create) {
    std::error_code ec;
    const auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) return key_error(path, "cannot create its directory: " + ec.message());
    std::uint8_t key[kKeyBytes];
    randombytes_buf(key, sizeof key);
    char hex[2 * kKeyBytes + 2];
    sodium_bin2hex(hex, sizeof hex, key, sizeof key);
    sodium_memzero(key, sizeof key);
    hex[2 * kKeyBytes] = '\n';
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int w = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w < 0) return key_error(path, std::string("cannot create: ") + std::strerror(errno));
    const bool ok = ::write(w, hex, 2 * kKeyBytes + 1) == ssize_t(2 * kKeyBytes + 1) &&
                    ::fsync(w) == 0;
    const int werr = errno;
    ::close(w);
    sodium_memzero(hex, sizeof hex);
    // link() does not replace: if another process made the key meanwhile, use theirs.
    if (!ok || (::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST)) {
      const int e = ok ? errno : werr;
      ::unlink(tmp.c_str());
      return key_error(path, std::string("cannot write: ") + std::strerror(e));
    }
    ::unlink(tmp.c_str());
    if (created) *created = true;
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return key_error(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat sb{};
  if (::fstat(fd, &sb) == 0 && (sb.st_mode & 077) != 0)
    log_warn("key file " + path + " is readable by other users; chmod 600 it");
  char buf[2 * kKeyBytes + 4];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  std::size_t len = n > 0 ? std::size_t(n) : 0;
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) --len;
  std::uint8_t key[kKeyBytes];
  std::size_t bin_len = 0;
  const bool good = len == 2 * kKeyBytes &&
                    sodium_hex2bin(key, sizeof key, buf, len, nullptr, &bin_len, nullptr) == 0 &&
                    bin_len == kKeyBytes;
  sodium_memzero(buf, sizeof buf);
  if (!good) return key_error(path, "must hold exactly 64 hex digits (a 256-bit key)");
  auto box = from_key(std::span<const std::uint8_t>(key, kKeyBytes));
  sodium_memzero(key, sizeof key);
  return box;
}

std::vector<std::uint8_t> SecretBox::seal(std::span<const std::uint8_t> plaintext,
                                          std::string_view associated) const {
  std::vector<std::uint8_t> out(kHeaderBytes + plaintext.size() + kTagBytes);
  out[0] = kVersion;
  std::memcpy(out.data() + 1, key_id_.data(), kKeyIdBytes);
  std::uint8_t* nonce = out.data() + 1 + kKeyIdBytes;
  randombytes_buf(nonce, kNonceBytes);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + kHeaderBytes, &clen, plaintext.data(), plaintext.size(),
      reinterpret_cast<const unsigned char*>(associated.data()), associated.size(), nullptr, nonce,
      key_);
  out.resize(kHeaderBytes + clen);
  return out;
}

Result<std::vector<std::uint8_t>> SecretBox::open(std::span<const std::uint8_t> sealed,
                                                  std::string_view associated) const {
  if (sealed.size() < kHeaderBytes + kTagBytes || sealed[0] != kVersion)
    return make_error("secret_corrupt", "the stored secret is not in a format this version reads");
  if (sodium_memcmp(sealed.data() + 1, key_id_.data(), kKeyIdBytes) != 0) {
    char hex[2 * kKeyIdBytes + 1];
    sodium_bin2hex(hex, sizeof hex, sealed.data() + 1, kKeyIdBytes);
    return make_error("secret_wrong_key",
                      "the stored secret was sealed under key " + std::string(hex) +
                          " but the key file holds key " + key_id_hex() +
                          " (was the data directory moved without its key file?)");
  }
  std::vector<std::uint8_t> out(sealed.size() - kHeaderBytes - kTagBytes);
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out.data(), &mlen, nullptr, sealed.data() + kHeaderBytes, sealed.size() - kHeaderBytes,
          reinterpret_cast<const unsigned char*>(associated.data()), associated.size(),
          sealed.data() + 1 + kKeyIdBytes, key_) != 0) {
    return make_error("secret_corrupt",
                      "the stored secret failed authentication (altered, or not this account's)");
  }
  out.resize(mlen);
  return out;
}

std::string SecretBox::key_id_hex() const {
  char hex[2 * kKeyIdBytes + 1];
  sodium_bin2hex(hex, sizeof hex, key_id_.data(), kKeyIdBytes);
  return hex;
}

std::array<std::uint8_t, 32> SecretBox::derive(std::uint64_t id, const char (&context)[9]) const {
  std::array<std::uint8_t, 32> sub{};
  crypto_kdf_derive_from_key(sub.data(), sub.size(), id, context, key_);
  return sub;
}

}  // namespace mamori::account

// A throwaway PKI for TLS tests, made at run time with OpenSSL: a CA, a
// server certificate for localhost and 127.0.0.1, a client certificate, and
// a second CA with its own client, as PEM files in a directory.
#ifndef MAMORI_TESTS_UNIT_TESTING_TEST_PKI_H_
#define MAMORI_TESTS_UNIT_TESTING_TEST_PKI_H_

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mamori::testing {

class TestPki {
 public:
  // Writes ca.pem, server.pem, server.key, client.pem, client.key,
  // other_ca.pem, other_client.pem and other_client.key into `dir` (keys
  // mode 0600). Throws on an OpenSSL failure.
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {
    Issued ca = issue("mamori test CA", nullptr, true, {}, "");
    Issued other_ca = issue("another CA", nullptr, true, {}, "");
    write(ca, "ca");
    write(other_ca, "other_ca");
    write(issue("localhost", &ca, false, {"DNS:localhost", "IP:127.0.0.1"}, "serverAuth"),
          "server");
    write(issue("test client", &ca, false, {}, "clientAuth"), "client");
    write(issue("stranger", &other_ca, false, {}, "clientAuth"), "other_client");
  }

  // Writes NAME.pem and NAME.key: a server certificate for localhost and
  // 127.0.0.1 with the subject CN `common_name`, signed by this CA.
  void issue_server(const std::string& name, const std::string& common_name) {
    Issued ca = read_ca();
    write(issue(common_name, &ca, false, {"DNS:localhost", "IP:127.0.0.1"}, "serverAuth"), name);
  }

  std::string path(const std::string& file) const { return dir_ + "/" + file; }

 private:
  struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  struct CertFree {
    void operator()(X509* x) const { X509_free(x); }
  };
  struct Issued {
    std::unique_ptr<EVP_PKEY, KeyFree> key;
    std::unique_ptr<X509, CertFree> cert;
  };

  static void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
  }

  static void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr && X509_add_ext(cert, ext, -1) == 1, "extension");
    X509_EXTENSION_free(ext);
  }

  // A P-256 key and a certificate for it, signed by `issuer` (self-signed
  // when null), valid from an hour ago for two days.
  Issued issue(const std::string& common_name, const Issued* issuer, bool is_ca,
               const std::vector<std::string>& names, const std::string& usage) {
    Issued out;
    out.key.reset(EVP_EC_gen("P-256"));
    check(out.key != nullptr, "key");
    out.cert.reset(X509_new());
    X509* cert = out.cert.get();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), ++serial_);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 2 * 24 * 3600);
    X509_set_pubkey(cert, out.key.get());
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    X509* signer = issuer ? issuer->cert.get() : cert;
    X509_set_issuer_name(cert, X509_get_subject_name(signer));
    if (is_ca) {
      add_ext(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
      add_ext(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
      add_ext(cert, signer, NID_basic_constraints, "CA:FALSE");
      add_ext(cert, signer, NID_key_usage, "critical,digitalSignature");
      add_ext(cert, signer, NID_ext_key_usage, usage);
    }
    std::string san;
    for (const std::string& n : names) san += (san.empty() ? "" : ",") + n;
    if (!san.empty()) add_ext(cert, signer, NID_subject_alt_name, san);
    check(X509_sign(cert, issuer ? issuer->key.get() : out.key.get(), EVP_sha256()) > 0, "sign");
    return out;
  }

  void write(const Issued& issued, const std::string& name) {
    std::FILE* f = std::fopen(path(name + ".pem").c_str(), "w");
    check(f != nullptr && PEM_write_X509(f, issued.cert.get()) == 1, "write certificate");
    std::fclose(f);
    const std::string key = path(name + ".key");
    f = std::fopen(key.c_str(), "w");
    check(f != nullptr, "write key");
    ::chmod(key.c_str(), 0600);
    check(PEM_write_PrivateKey(f, issued.key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "write key");
    std::fclose(f);
  }

  Issued read_ca() const {
    Issued ca;
    std::FILE* f = std::fopen(path("ca.pem").c_str(), "r");
    check(f != nullptr, "read CA");
    ca.cert.reset(PEM_read_X509(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    f = std::fopen(path("ca.key").c_str(), "r");
    check(f != nullptr, "read CA key");
    ca.key.reset(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    check(ca.cert && ca.key, "read CA");
    return ca;
  }

  std::string dir_;
  long serial_ = 0;
};

}  // namespace mamori::testing

#endif  // MAMORI_TESTS_UNIT_TESTING_TEST_PKI_H_

#ifndef MAMORI_NOTIFY_CURL_HANDLE_H_
#define MAMORI_NOTIFY_CURL_HANDLE_H_

typedef void CURL;

namespace mamori::notify {

// One libcurl easy handle, reused across transfers so that connections are
// kept open between deliveries. libcurl is initialised once per process on
// first use. Thread-compatible: one thread at a time.
class CurlHandle {
 public:
  CurlHandle();
  ~CurlHandle();
  CurlHandle(const CurlHandle&) = delete;
  CurlHandle& operator=(const CurlHandle&) = delete;

  // The handle, reset to default options (connections stay cached).
  // Null when libcurl could not make one.
  CURL* fresh();

 private:
  CURL* curl_ = nullptr;
};

}  // namespace mamori::notify

#endif  // MAMORI_NOTIFY_CURL_HANDLE_H_

#include "chain/http_transport.h"

#include <curl/curl.h>

#include <atomic>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace relay::chain {

namespace {

size_t append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// "https://api.trongrid.io/wallet/getnowblock" → "https://api.trongrid.io": connections are only
// ever reused for the same scheme, host and port, so that is the cache key. A URL without "://"
// is its own key; curl will refuse it anyway.
std::string origin_of(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t path = url.find_first_of("/?#", scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct HeaderListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

struct CurlTransport::HandleCache {
  explicit HandleCache(size_t max_idle) : max_idle_per_origin(max_idle) {}

  CurlHandle take(const std::string& origin) {
    {
      std::lock_guard lock(mutex);
      auto it = idle.find(origin);
      if (it != idle.end() && !it->second.empty()) {
        CurlHandle handle = std::move(it->second.back());
        it->second.pop_back();
        return handle;
      }
    }
    return CurlHandle(curl_easy_init());
  }

  void give_back(const std::string& origin, CurlHandle handle) {
    std::lock_guard lock(mutex);
    auto& list = idle[origin];
    // Past the limit the handle (and its connection) is closed as it goes out of scope.
    if (list.size() < max_idle_per_origin) list.push_back(std::move(handle));
  }

  const size_t max_idle_per_origin;
  std::mutex mutex;
  std::map<std::string, std::vector<CurlHandle>> idle;
  std::atomic<uint64_t> connections_opened{0};
};

CurlTransport::CurlTransport(size_t max_idle_per_origin)
    : cache_(std::make_unique<HandleCache>(max_idle_per_origin)) {
  // curl_global_init is not thread-safe; do it once for the process.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CurlTransport::~CurlTransport() = default;

uint64_t CurlTransport::connections_opened() const { return cache_->connections_opened.load(); }

common::Result<HttpReply> CurlTransport::post_json(
    const std::string& url, const std::string& body,
    const std::map<std::string, std::string>& headers, std::chrono::milliseconds timeout) {
  std::string origin = origin_of(url);
  CurlHandle handle = cache_->take(origin);
  CURL* curl = handle.get();
  if (curl == nullptr) return common::make_error("upstream_failed", "curl_easy_init failed");
  // Clears the previous call's options but keeps the handle's open connections.
  curl_easy_reset(curl);

  HttpReply reply;
  curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
  for (const auto& [name, value] : headers) {
    if (list != nullptr) list = curl_slist_append(list, (name + ": " + value).c_str());
  }
  std::unique_ptr<curl_slist, HeaderListDeleter> header_list(list);
  if (list == nullptr) return common::make_error("upstream_failed", "curl_slist_append failed");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  CURLcode code = curl_easy_perform(curl);
  long opened = 0;
  if (curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &opened) == CURLE_OK && opened > 0) {
    cache_->connections_opened += static_cast<uint64_t>(opened);
  }
  if (code == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  // The header list and body belong to this call; the handle must not point at them once idle.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, nullptr);
  cache_->give_back(origin, std::move(handle));
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return common::make_error(kTransportTimeout, url + ": " + curl_easy_strerror(code));
  }
  if (code != CURLE_OK) {
    return common::make_error("upstream_failed", url + ": " + curl_easy_strerror(code));
  }
  return reply;
}

}  // namespace relay::chain

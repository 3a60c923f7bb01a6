#include "webhook/server.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>

namespace latticeguard::webhook {
namespace {

using Clock = std::chrono::steady_clock;

// Request bodies up to this size leave their buffer with the worker thread for the next one.
constexpr std::size_t kKeptBodyCapacity = 64 << 10;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

// One accepted TLS connection, attached to its SSL object. httplib serves a connection on one
// worker thread from accept to close, so the thread-local `tl_conn` tells a request handler which
// connection it is serving.
struct Conn {
  int fd = -1;
  // When the current read phase (handshake or request) began; 0 while the server is not waiting
  // for the client (idle keep-alive, handler running, response being written).
  std::atomic<std::int64_t> reading_since_ms{0};
  // From the start of request processing until its response is written.
  std::atomic<bool> busy{false};
  bool handshake_counted = false;
  void* owner = nullptr;  // Server::Impl
  SSL* ssl = nullptr;
};

thread_local Conn* tl_conn = nullptr;

// httplib writes a response's headers and its body with two SSL_write calls: two TLS records,
// two write(2)s, and a client that may wake up for the headers only to sleep again waiting for
// the body. With a buffer between TLS and the socket, both records leave in one write(2) when
// the response is complete (flush_writes). OpenSSL flushes the buffer itself for handshake
// messages and alerts, so only application data waits for the flush.
bool writes_buffered(const Conn& c) {
  BIO* w = SSL_get_wbio(c.ssl);
  return w != nullptr && BIO_method_type(w) == BIO_TYPE_BUFFER;
}

void buffer_writes(Conn& c) {
  BIO* sock = SSL_get_wbio(c.ssl);
  if (sock == nullptr || BIO_up_ref(sock) != 1) return;
  BIO* buf = BIO_new(BIO_f_buffer());
  if (buf == nullptr) {
    BIO_free(sock);
    return;
  }
  // The SSL object releases its reference to the bare socket BIO and owns the chain instead;
  // the extra reference taken above is the chain's.
  SSL_set0_wbio(c.ssl, BIO_push(buf, sock));
}

void flush_writes(Conn& c) {
  if (writes_buffered(c)) BIO_flush(SSL_get_wbio(c.ssl));
}

// For the rest of the connection, every SSL_write goes straight to the socket.
void unbuffer_writes(Conn& c) {
  if (!writes_buffered(c)) return;
  BIO* buf = SSL_get_wbio(c.ssl);
  BIO_flush(buf);
  BIO* sock = BIO_next(buf);
  BIO_up_ref(sock);
  SSL_set0_wbio(c.ssl, sock);  // frees the buffer and its reference to the socket BIO
}

struct ListenAddress {
  std::string host;
  int port = 0;
};

Result<ListenAddress> parse_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Error{"listen address \"" + listen + "\" is not host:port"};
  }
  ListenAddress out;
  out.host = listen.substr(0, colon);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  if (out.host.empty()) {
    out.host = "0.0.0.0";
  }
  const std::string port = listen.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(port) > 65535) {
    return Error{"listen address \"" + listen + "\" has no valid port"};
  }
  out.port = std::stoi(port);
  return out;
}

// "application/json", optionally with parameters such as "; charset=utf-8".
bool is_json_content_type(std::string_view ct) {
  const auto semi = ct.find(';');
  std::string_view media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') {
    media.remove_suffix(1);
  }
  constexpr std::string_view kJson = "application/json";
  return media.size() == kJson.size() &&
         std::equal(media.begin(), media.end(), kJson.begin(),
                    [](char a, char b) { return std::tolower(a) == b; });
}

std::string_view decision_of(const AdmissionResponse& resp, int http_status) {
  if (http_status >= 500) return "error";
  if (!resp.allowed) return "deny";
  if (resp.patch.is_array() && !resp.patch.empty()) return "patch";
  if (!resp.warnings.empty()) return "warn";
  return "allow";
}

std::string join_rules(const std::vector<RuleHit>& hits) {
  if (hits.empty()) {
    return "-";
  }
  std::string out;
  for (const RuleHit& h : hits) {
    if (!out.empty()) {
      out += ',';
    }
    out += h.rule;
  }
  return out;
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions o, Metrics& m)
      : options(std::move(o)),
        metrics(m),
        handshakes(m.counter("latticeguard_tls_handshakes_total", "Completed TLS handshakes.")),
        timeouts(m.counter("latticeguard_connections_timed_out_total",
                           "Connections cut because a handshake or request was not received "
                           "within the read timeout.")),
        rejected(m.counter("latticeguard_http_rejected_total",
                           "HTTP requests refused before reaching a handler, by status code.",
                           {"code"})) {}

  // --- connection tracking (called from OpenSSL callbacks on worker threads) ---
  static int conn_index();
  static int owner_index();
  static void info_callback(const SSL* ssl, int where, int ret);
  static void msg_callback(int write_p, int version, int content_type, const void* buf,
                           std::size_t len, SSL* ssl, void* arg);
  static void free_conn(void* parent, void* ptr, CRYPTO_EX_DATA* ad, int idx, long argl,
                        void* argp);
  void watchdog_loop();

  // --- HTTP ---
  bool setup_ssl_ctx(SSL_CTX& ctx);
  httplib::Server::HandlerResponse pre_route(const httplib::Request& req, httplib::Response& res);
  void serve_admission(const std::string& path, const AdmissionHandler& handler,
                       const httplib::Request& req, httplib::Response& res,
                       const httplib::ContentReader& reader);
  void reply_error(httplib::Response& res, int code, std::string_view message);
  bool is_ready() const;

  const ServerOptions options;
  Metrics& metrics;
  MetricFamily& handshakes;
  MetricFamily& timeouts;
  MetricFamily& rejected;
  std::map<std::string, AdmissionHandler> handlers;
  std::function<bool()> ready_check;

  std::unique_ptr<CertReloader> certs;
  std::string ctx_error;
  std::unique_ptr<httplib::SSLServer> svr;
  int port = 0;
  std::atomic<bool> started{false};
  std::atomic<bool> draining{false};
  std::atomic<bool> listener_closed{false};
  std::atomic<std::uint64_t> handshake_count{0};
  std::thread listener;
  std::thread stopper;
  std::mutex wait_mu;

  std::mutex conns_mu;
  std::unordered_set<Conn*> conns;
  std::thread watchdog;
  std::mutex watchdog_mu;
  std::condition_variable watchdog_cv;
  bool watchdog_stop = false;
};

int Server::Impl::conn_index() {
  static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &Impl::free_conn);
  return idx;
}

int Server::Impl::owner_index() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

void Server::Impl::info_callback(const SSL* cssl, int where, int /*ret*/) {
  SSL* ssl = const_cast<SSL*>(cssl);
  auto* conn = static_cast<Conn*>(SSL_get_ex_data(ssl, conn_index()));
  if ((where & SSL_CB_HANDSHAKE_START) && conn == nullptr) {
    auto* owner = static_cast<Impl*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), owner_index()));
    conn = new Conn;
    conn->fd = SSL_get_fd(ssl);
    conn->owner = owner;
    conn->ssl = ssl;
    conn->reading_since_ms = now_ms();
    SSL_set_ex_data(ssl, conn_index(), conn);
    std::lock_guard lock(owner->conns_mu);
    owner->conns.insert(conn);
  }
  // TLS 1.3 reports HANDSHAKE_DONE again after post-handshake messages; count a connection once.
  if ((where & SSL_CB_HANDSHAKE_DONE) && conn != nullptr && !conn->handshake_counted) {
    conn->handshake_counted = true;
    buffer_writes(*conn);
    auto* owner = static_cast<Impl*>(conn->owner);
    owner->handshake_count.fetch_add(1, std::memory_order_relaxed);
    owner->handshakes.inc();
  }
}

void Server::Impl::msg_callback(int write_p, int, int, const void*, std::size_t, SSL* ssl, void*) {
  auto* conn = static_cast<Conn*>(SSL_get_ex_data(ssl, conn_index()));
  if (conn == nullptr) {
    return;
  }
  tl_conn = conn;
  if (write_p) {
    conn->reading_since_ms.store(0, std::memory_order_relaxed);
  } else if (conn->reading_since_ms.load(std::memory_order_relaxed) == 0) {
    conn->reading_since_ms.store(now_ms(), std::memory_order_relaxed);
  }
}

// Runs inside SSL_free, which httplib calls before closing the socket: once a Conn is out of
// the set, the watchdog can no longer shut down its (soon reusable) descriptor.
void Server::Impl::free_conn(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  auto* conn = static_cast<Conn*>(ptr);
  if (conn == nullptr) {
    return;
  }
  {
    auto* owner = static_cast<Impl*>(conn->owner);
    std::lock_guard lock(owner->conns_mu);
    owner->conns.erase(conn);
  }
  if (tl_conn == conn) {
    tl_conn = nullptr;
  }
  delete conn;
}

void Server::Impl::watchdog_loop() {
  const std::int64_t limit_ms = std::int64_t{options.read_timeout_s} * 1000;
  const auto tick = std::clamp(std::chrono::milliseconds(limit_ms / 4),
                               std::chrono::milliseconds(10), std::chrono::milliseconds(250));
  std::unique_lock wlock(watchdog_mu);
  while (!watchdog_cv.wait_for(wlock, tick, [this] { return watchdog_stop; })) {
    const std::int64_t now = now_ms();
    const bool close_idle = listener_closed.load();
    std::lock_guard lock(conns_mu);
    for (Conn* c : conns) {
      const std::int64_t since = c->reading_since_ms.load(std::memory_order_relaxed);
      if (since != 0 && now - since > limit_ms) {
        // Wakes the worker blocked in read; it then closes the connection itself.
        ::shutdown(c->fd, SHUT_RDWR);
        c->reading_since_ms.store(0, std::memory_order_relaxed);
        timeouts.inc();
        spdlog::warn("event=client_timeout fd={} waited_ms={}", c->fd, now - since);
      } else if (close_idle && since == 0 && !c->busy.load(std::memory_order_relaxed)) {
        // Draining: idle keep-alive connections would otherwise hold the shutdown for
        // keep_alive_timeout_s. Busy ones are left to write their response first.
        ::shutdown(c->fd, SHUT_RDWR);
      }
    }
  }
}

bool Server::Impl::setup_ssl_ctx(SSL_CTX& ctx) {
  if (auto s = certs->configure(ctx); !s) {
    ctx_error = s.error().message;
    return false;
  }
  SSL_CTX_set_ex_data(&ctx, owner_index(), this);
  SSL_CTX_set_info_callback(&ctx, &Impl::info_callback);
  SSL_CTX_set_msg_callback(&ctx, &Impl::msg_callback);
  return true;
}

bool Server::Impl::is_ready() const {
  if (!started || draining || certs == nullptr) {
    return false;
  }
  if (!ready_check) {
    return true;
  }
  try {
    return ready_check();
  } catch (...) {
    return false;
  }
}

void Server::Impl::reply_error(httplib::Response& res, int code, std::string_view message) {
  res.status = code;
  res.set_content(render_error_body(code, message), "application/json");
  if (code != 400) {
    rejected.inc({std::to_string(code)});
  }
}

// httplib decides whether to keep a connection open from the request's Connection header; a
// request whose body is left unread must end its connection, or the body would be parsed as the
// next request.
void close_after_response(const httplib::Request& req) {
  auto& headers = const_cast<httplib::Request&>(req).headers;
  headers.erase("Connection");
  headers.emplace("Connection", "close");
}

bool has_body(const httplib::Request& req) {
  return req.has_header("Transfer-Encoding") ||
         (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
}

httplib::Server::HandlerResponse Server::Impl::pre_route(const httplib::Request& req,
                                                         httplib::Response& res) {
  using httplib::Server;
  if (tl_conn != nullptr) {
    tl_conn->busy.store(true, std::memory_order_relaxed);
  }
  const bool is_get = req.method == "GET" || req.method == "HEAD";
  if (req.path == "/healthz" || req.path == "/readyz" || req.path == "/metrics") {
    if (!is_get) {
      res.set_header("Allow", "GET, HEAD");
      reply_error(res, 405, "use GET");
    } else if (req.path == "/healthz") {
      res.set_content("ok\n", "text/plain");
    } else if (req.path == "/readyz") {
      const bool ok = is_ready();
      res.status = ok ? 200 : 503;
      res.set_content(ok ? "ok\n" : "not ready\n", "text/plain");
    } else {
      res.set_content(metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
    }
    return Server::HandlerResponse::Handled;
  }
  if (handlers.find(req.path) == handlers.end()) {
    return Server::HandlerResponse::Unhandled;  // 404 from httplib, body from the error handler
  }
  // Refused before the body is read: the connection must end, or the unread body would be
  // parsed as the next request.
  auto refuse = [&](int code, std::string_view message) {
    if (has_body(req)) {
      close_after_response(req);
    }
    reply_error(res, code, message);
    return Server::HandlerResponse::Handled;
  };
  if (req.method != "POST") {
    res.set_header("Allow", "POST");
    return refuse(405, "admission reviews are POSTed");
  }
  if (!is_json_content_type(req.get_header_value("Content-Type"))) {
    return refuse(415, "Content-Type must be application/json");
  }
  if (req.has_header("Content-Length")) {
    const std::string len = req.get_header_value("Content-Length");
    unsigned long long n = 0;
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
    if (ec != std::errc() || end != len.data() + len.size()) {
      return refuse(400, "invalid Content-Length");
    }
    if (n > options.max_body_bytes) {
      return refuse(413, "body of " + len + " bytes is over the limit of " +
                             std::to_string(options.max_body_bytes));
    }
  }
  return Server::HandlerResponse::Unhandled;
}

void Server::Impl::serve_admission(const std::string& path, const AdmissionHandler& handler,
                                   const httplib::Request& http_req, httplib::Response& res,
                                   const httplib::ContentReader& reader) {
  const auto start = Clock::now();
  // Each worker thread reads bodies into a buffer it keeps. A fresh string per request was the
  // request path's one allocation of over a kilobyte, and glibc answers such a malloc by first
  // consolidating every small chunk the previous review freed: up to a seventh of the webhook's
  // time with a large cluster cache. Without it, those chunks are simply reused.
  thread_local std::string body;
  body.clear();
  struct ReleaseIfLarge {  // an unusually large body's memory is not kept
    ~ReleaseIfLarge() {
      if (body.capacity() > kKeptBodyCapacity) std::string().swap(body);
    }
  } release_if_large;
  bool too_big = false;
  reader([&](const char* data, std::size_t len) {
    if (body.size() + len > options.max_body_bytes) {
      too_big = true;
      return false;
    }
    body.append(data, len);
    return true;
  });
  if (tl_conn != nullptr) {
    tl_conn->reading_since_ms.store(0, std::memory_order_relaxed);
  }
  if (too_big) {
    close_after_response(http_req);
    reply_error(res, 413, "body is over the limit of " + std::to_string(options.max_body_bytes));
    return;
  }
  auto request = parse_review(body);
  if (!request) {
    metrics.admission_requests().inc({"unknown", "unknown", "invalid"});
    spdlog::warn("event=bad_review path={} bytes={} error=\"{}\"", path, body.size(),
                 request.error().message);
    reply_error(res, 400, request.error().message);
    return;
  }
  AdmissionRequest& req = *request;
  // The handler gets the objects without a copy; the reply and the log line need only the
  // request's identity, which stays here.
  nlohmann::json object = std::move(req.object), old_object = std::move(req.old_object);
  AdmissionRequest handed = req;  // the objects have left req: this copies only the identity
  handed.object = std::move(object);
  handed.old_object = std::move(old_object);
  AdmissionResponse resp;
  int status = 200;
  try {
    resp = handler(std::move(handed));
  } catch (const std::exception& e) {
    spdlog::error("event=handler_exception uid={} error=\"{}\"", req.uid, e.what());
    resp = errored(500, std::string("internal error: ") + e.what());
    status = 500;
  } catch (...) {
    spdlog::error("event=handler_exception uid={} error=unknown", req.uid);
    resp = errored(500, "internal error");
    status = 500;
  }
  res.status = status;
  res.set_content(render_review(req, resp), "application/json");

  const std::string_view decision = decision_of(resp, status);
  const std::string_view op = to_string(req.operation);
  metrics.admission_requests().inc({req.kind, op, decision});
  for (const RuleHit& hit : resp.rule_hits) {
    metrics.findings().inc({hit.rule, hit.action});
  }
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  metrics.admission_duration().observe({}, static_cast<double>(micros) / 1e6);
  spdlog::info(
      "event=admission uid={} kind={} ns={} name={} op={} dry_run={} decision={} rules={} "
      "micros={}",
      req.uid, req.kind, req.ns.empty() ? "-" : req.ns, req.name.empty() ? "-" : req.name, op,
      req.dry_run, decision, join_rules(resp.rule_hits), micros);
}

Server::Server(ServerOptions options, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {}

Server::~Server() {
  if (impl_->started) {
    stop_gracefully();
    wait();
  }
}

void Server::handle(std::string path, AdmissionHandler handler) {
  impl_->handlers[std::move(path)] = std::move(handler);
}

void Server::set_ready_check(std::function<bool()> check) { impl_->ready_check = std::move(check); }

Status Server::start() {
  Impl& m = *impl_;
  if (m.started) {
    return Error{"server already started"};
  }
  // A client that hangs up while we write must cost a connection, not the process: OpenSSL
  // writes to the socket with write(2), which raises SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  auto addr = parse_listen(m.options.listen);
  if (!addr) {
    return addr.error();
  }
  auto certs = CertReloader::create({.cert_file = m.options.cert_file,
                                     .key_file = m.options.key_file,
                                     .client_ca_file = m.options.client_ca_file,
                                     .poll_interval = m.options.cert_poll_interval},
                                    &m.metrics);
  if (!certs) {
    return certs.error();
  }
  m.certs = std::move(*certs);
  m.svr = std::make_unique<httplib::SSLServer>([&m](SSL_CTX& ctx) { return m.setup_ssl_ctx(ctx); });
  if (!m.svr->is_valid()) {
    return Error{"TLS setup failed: " + m.ctx_error};
  }
  httplib::SSLServer& svr = *m.svr;
  const std::size_t threads = static_cast<std::size_t>(std::max(1, m.options.threads));
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_tcp_nodelay(true);
  svr.set_keep_alive_max_count(static_cast<std::size_t>(std::max(1, m.options.keep_alive_max)));
  svr.set_keep_alive_timeout(m.options.keep_alive_timeout_s);
  svr.set_read_timeout(m.options.read_timeout_s, 0);
  svr.set_write_timeout(m.options.write_timeout_s, 0);
  svr.set_payload_max_length(m.options.max_body_bytes);
  svr.set_pre_routing_handler(
      [&m](const httplib::Request& req, httplib::Response& res) { return m.pre_route(req, res); });
  for (const auto& [path, handler] : m.handlers) {
    svr.Post(path, [&m, &path = path, &handler = handler](const httplib::Request& req,
                                                          httplib::Response& res,
                                                          const httplib::ContentReader& reader) {
      m.serve_admission(path, handler, req, res, reader);
    });
  }
  svr.set_error_handler(
      httplib::Server::HandlerWithResponse([&m](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        m.reply_error(res, res.status, res.status == 404 ? "no such path" : "request refused");
        return httplib::Server::HandlerResponse::Handled;
      }));
  // httplib calls the logger once the response is written: the connection is idle again, and
  // the buffered response goes out in one piece.
  svr.set_logger([](const httplib::Request&, const httplib::Response&) {
    if (tl_conn != nullptr) {
      flush_writes(*tl_conn);
      tl_conn->busy.store(false, std::memory_order_relaxed);
    }
  });
  // httplib answers "Expect: 100-continue" with a write of its own, then waits for the body; the
  // client would wait for an interim response still sitting in the write buffer.
  svr.set_expect_100_continue_handler([](const httplib::Request&, httplib::Response&) {
    if (tl_conn != nullptr) unbuffer_writes(*tl_conn);
    return 100;
  });
  svr.set_exception_handler(
      [&m](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        m.reply_error(res, 500, "internal error");
      });

  if (addr->port == 0) {
    m.port = svr.bind_to_any_port(addr->host);
    if (m.port < 0) {
      return Error{"cannot bind " + m.options.listen};
    }
  } else if (svr.bind_to_port(addr->host, addr->port)) {
    m.port = addr->port;
  } else {
    return Error{"cannot bind " + m.options.listen};
  }
  m.listener = std::thread([&m] { m.svr->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs; wait for it so a prompt stop is not lost.
  for (int i = 0; i < 5000 && !svr.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  m.watchdog = std::thread([&m] { m.watchdog_loop(); });
  m.certs->start_polling();
  m.started = true;
  spdlog::info("event=listening address={} port={} paths={} client_ca={}", addr->host, m.port,
               m.handlers.size(), !m.options.client_ca_file.empty());
  return Ok{};
}

int Server::port() const { return impl_->port; }

bool Server::ready() const { return impl_->is_ready(); }

void Server::stop_gracefully() {
  Impl& m = *impl_;
  if (!m.started || m.draining.exchange(true)) {
    return;
  }
  spdlog::info("event=shutdown_started delay_ms={}", m.options.shutdown_delay.count());
  m.stopper = std::thread([&m] {
    std::this_thread::sleep_for(m.options.shutdown_delay);
    m.svr->stop();
    m.listener_closed = true;
  });
}

void Server::wait() {
  Impl& m = *impl_;
  std::lock_guard lock(m.wait_mu);
  if (m.listener.joinable()) {
    m.listener.join();  // returns once the listener is closed and all workers are done
  }
  if (m.stopper.joinable()) {
    m.stopper.join();
  }
  if (m.watchdog.joinable()) {
    {
      std::lock_guard wlock(m.watchdog_mu);
      m.watchdog_stop = true;
    }
    m.watchdog_cv.notify_all();
    m.watchdog.join();
  }
  if (m.certs) {
    m.certs->stop_polling();
  }
  if (m.started.exchange(false)) {
    spdlog::info("event=shutdown_complete");
  }
}

CertReloader& Server::certs() { return *impl_->certs; }

std::uint64_t Server::tls_handshakes() const { return impl_->handshake_count.load(); }

}  // namespace latticeguard::webhook

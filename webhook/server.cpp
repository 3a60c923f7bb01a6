#include "webhook/server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "webhook/http.h"
#include "webhook/openssl_ptr.h"

namespace latticeguard::webhook {
namespace {

using Clock = std::chrono::steady_clock;

// A request line and headers larger than this are refused with 431; the API server's are a few
// hundred bytes.
constexpr std::size_t kMaxHeadBytes = 16 << 10;
// Bytes asked of OpenSSL per read: one full TLS record.
constexpr std::size_t kReadChunk = 16 << 10;
// A connection keeps buffers up to this size between requests; an unusually large review's are
// released once it is answered. Reusing them matters: a fresh body buffer per request was the
// request path's one large allocation, and glibc answers such a malloc by first consolidating
// every small chunk the previous review freed (up to a seventh of the webhook's time with a large
// cluster cache).
constexpr std::size_t kKeptBufferCapacity = 64 << 10;

// Empties `buf`, giving its memory back when it grew past kKeptBufferCapacity.
void reset_buffer(std::string& buf) {
  buf.clear();
  if (buf.capacity() > kKeptBufferCapacity) std::string().swap(buf);
}
// How long a refused request's connection reads (and drops) what its client still sends.
constexpr std::int64_t kLingerMs = 2000;
// Connections accepted per wake-up of one loop, so one loop does not take a whole burst.
constexpr int kAcceptBatch = 16;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

using SslCtxPtr = OpenSslPtr<SSL_CTX, SSL_CTX_free>;
using SslPtr = OpenSslPtr<SSL, SSL_free>;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

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

// A non-blocking listening socket on host:port (port 0: any free port).
Result<Fd> bind_listener(const ListenAddress& addr, const std::string& listen) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(addr.port);
  if (int rc = ::getaddrinfo(addr.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Error{"cannot resolve " + listen + ": " + gai_strerror(rc)};
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> list(found, ::freeaddrinfo);
  std::string why = "no address";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (fd.get() < 0) {
      why = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.get(), 1024) != 0) {
      why = std::strerror(errno);
      continue;
    }
    return fd;
  }
  return Error{"cannot bind " + listen + ": " + why};
}

int bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return -1;
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

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

// What the server answers one request with.
struct Reply {
  int status = 200;
  std::string_view content_type = "application/json";
  std::string body{};
  std::string_view allow{};  // the Allow header of a 405
  bool close = false;        // end the connection after this response
};

}  // namespace

struct Server::Impl {
  // One accepted TLS connection. It belongs to the loop that accepted it, which alone touches it.
  struct Conn {
    enum class Phase { kHandshake, kHead, kBody, kWriting, kLinger };
    Fd fd;
    SslPtr ssl;  // declared after fd: freed before the descriptor is closed
    Phase phase = Phase::kHandshake;
    std::string in;   // bytes read and not yet consumed by a request
    std::string out;  // response bytes not yet accepted by OpenSSL, from out_off
    std::size_t out_off = 0;
    http::RequestHead head;  // the request being read (kBody) or answered (kWriting)
    const std::pair<const std::string, AdmissionHandler>* route = nullptr;
    http::ChunkedDecoder chunks;
    std::string chunked_body;
    std::size_t request_end = 0;  // bytes of `in` the current request used
    // The handshake, the request being read, the response being written or the idle keep-alive
    // ends by this time; a read that misses it is a client timeout.
    std::int64_t deadline_ms = 0;
    bool deadline_is_read = true;
    bool close_after_write = false;
    bool linger = false;  // after a refusal: read what the client still sends before closing
    std::size_t lingered = 0;
    int served = 0;
    std::uint32_t events = 0;  // epoll interest
    // Bytes beyond an ordinary review's that this connection holds, counted in the server's
    // body budget (see account()).
    std::size_t charged = 0;
    std::atomic<std::size_t>* budget = nullptr;
    ~Conn() {
      if (charged != 0) budget->fetch_sub(charged, std::memory_order_relaxed);
    }
  };

  // An event loop: one thread, one epoll set, the connections it accepted.
  struct Loop {
    Fd epoll;
    Fd wake;  // eventfd: stop_gracefully() wakes the loop with it
    std::thread thread;
    std::unordered_map<Conn*, std::unique_ptr<Conn>> conns;
    std::mutex incoming_mu;
    std::vector<int> incoming;  // connections accepted by another loop, for this one
    bool listening = false;
    std::int64_t accept_paused_until = 0;
  };

  enum class Step { kAgain, kWait, kClose };

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

  // --- loop ---
  void run(Loop& loop);
  void listen_on(Loop& loop, bool on);
  void accept_some(Loop& loop);
  void adopt(Loop& loop, int fd);
  void adopt_incoming(Loop& loop);
  void sweep(Loop& loop, std::int64_t now, bool close_idle);
  void on_event(Loop& loop, Conn& c);
  void close_conn(Loop& loop, Conn& c) { loop.conns.erase(&c); }
  static void set_interest(Loop& loop, Conn& c, bool want_write);
  static Step wait_for(Loop& loop, Conn& c, int ret);

  // --- one connection: each returns kAgain to go on, kWait for the socket, kClose to end ---
  Step drive(Loop& loop, Conn& c);
  Step handshake(Loop& loop, Conn& c);
  Step fill(Loop& loop, Conn& c);
  Step flush(Loop& loop, Conn& c);
  Step read_request(Loop& loop, Conn& c);
  Step route_head(Conn& c);
  Step read_body(Conn& c);
  Step write_response(Loop& loop, Conn& c);
  Step linger(Loop& loop, Conn& c);
  static bool has_unread_input(Conn& c);
  Step respond(Conn& c, Reply reply);
  bool account(Conn& c);
  Step over_budget(Conn& c);

  // --- HTTP ---
  Reply serve_admission(const std::string& path, const AdmissionHandler& handler,
                        std::string_view body);
  Reply error_reply(int code, std::string_view message, bool close = false);
  bool is_ready() const;
  std::int64_t read_timeout_ms() const { return std::int64_t{options.read_timeout_s} * 1000; }

  const ServerOptions options;
  Metrics& metrics;
  MetricFamily& handshakes;
  MetricFamily& timeouts;
  MetricFamily& rejected;
  std::map<std::string, AdmissionHandler> handlers;
  std::function<bool()> ready_check;

  std::unique_ptr<CertReloader> certs;
  SslCtxPtr ctx;
  Fd listen_fd;
  int port = 0;
  std::vector<std::unique_ptr<Loop>> loops;
  std::atomic<unsigned> next_loop{0};
  // Large bodies buffered across all connections, and their limit (threads x max_body_bytes):
  // a loop reads any number of bodies at once, so without it memory would grow with the number
  // of clients sending large reviews.
  std::atomic<std::size_t> body_bytes{0};
  std::size_t body_budget = 0;
  std::atomic<bool> started{false};
  std::atomic<bool> draining{false};
  std::atomic<bool> listener_closed{false};
  std::atomic<std::uint64_t> handshake_count{0};
  std::thread stopper;
  std::mutex stopper_mu;  // stop_gracefully() and wait() may run on different threads
  std::mutex wait_mu;
};

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

Reply Server::Impl::error_reply(int code, std::string_view message, bool close) {
  if (code != 400) {
    rejected.inc({std::to_string(code)});
  }
  return Reply{.status = code, .body = render_error_body(code, message), .close = close};
}

void Server::Impl::run(Loop& loop) {
  const std::int64_t tick = std::clamp<std::int64_t>(read_timeout_ms() / 4, 10, 250);
  std::int64_t next_sweep = now_ms() + tick;
  bool stopping = false;
  epoll_event events[64];
  for (;;) {
    if (!stopping && listener_closed.load(std::memory_order_acquire)) {
      // Draining: no new connections; idle keep-alive ones would otherwise hold the shutdown
      // for keep_alive_timeout_s, and busy ones finish their response first.
      stopping = true;
      listen_on(loop, false);
      sweep(loop, now_ms(), true);
    }
    if (stopping && loop.conns.empty()) {
      adopt_incoming(loop);  // handed over just before the listener closed: may hold a request
      if (loop.conns.empty()) return;
    }
    const int timeout = static_cast<int>(std::max<std::int64_t>(0, next_sweep - now_ms()));
    const int n = ::epoll_wait(loop.epoll.get(), events, 64, timeout);
    if (n < 0 && errno != EINTR) {
      spdlog::error("event=epoll_failed error=\"{}\"", std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (int i = 0; i < n; ++i) {
      void* p = events[i].data.ptr;
      if (p == &loop.wake) {
        std::uint64_t v = 0;
        [[maybe_unused]] auto r = ::read(loop.wake.get(), &v, sizeof(v));
        adopt_incoming(loop);
      } else if (p == &listen_fd) {
        accept_some(loop);
      } else {
        on_event(loop, *static_cast<Conn*>(p));
      }
    }
    const std::int64_t now = now_ms();
    if (now >= next_sweep) {
      sweep(loop, now, stopping);
      next_sweep = now + tick;
    }
  }
}

void Server::Impl::listen_on(Loop& loop, bool on) {
  if (loop.listening == on) return;
  if (on) {
    // EPOLLEXCLUSIVE: a new connection wakes one loop, not all of them.
    epoll_event ev{.events = EPOLLIN | EPOLLEXCLUSIVE, .data = {.ptr = &listen_fd}};
    if (::epoll_ctl(loop.epoll.get(), EPOLL_CTL_ADD, listen_fd.get(), &ev) != 0) return;
  } else {
    ::epoll_ctl(loop.epoll.get(), EPOLL_CTL_DEL, listen_fd.get(), nullptr);
  }
  loop.listening = on;
}

void Server::Impl::accept_some(Loop& loop) {
  if (listener_closed.load(std::memory_order_acquire)) {
    listen_on(loop, false);
    return;
  }
  for (int i = 0; i < kAcceptBatch; ++i) {
    const int fd = ::accept4(listen_fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors or memory: stop accepting for a moment instead of spinning on a
        // listener that stays readable.
        spdlog::warn("event=accept_paused error=\"{}\" connections={}", std::strerror(errno),
                     loop.conns.size());
        listen_on(loop, false);
        loop.accept_paused_until = now_ms() + 100;
      }
      return;  // EAGAIN: another loop took it, or nothing is left
    }
    // Whichever loop wakes for the listener, connections are dealt out in turn: the kernel tends
    // to wake the same loop each time, which would leave the other cores idle under load.
    Loop& target = *loops[next_loop.fetch_add(1, std::memory_order_relaxed) % loops.size()];
    if (&target == &loop) {
      adopt(loop, fd);
      continue;
    }
    {
      std::lock_guard lock(target.incoming_mu);
      target.incoming.push_back(fd);
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(target.wake.get(), &one, sizeof(one));
  }
}

void Server::Impl::adopt_incoming(Loop& loop) {
  std::vector<int> fds;
  {
    std::lock_guard lock(loop.incoming_mu);
    fds.swap(loop.incoming);
  }
  for (int fd : fds) {
    adopt(loop, fd);
  }
}

// Takes a freshly accepted socket into `loop`: the TLS handshake starts when the client speaks.
void Server::Impl::adopt(Loop& loop, int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  auto c = std::make_unique<Conn>();
  c->fd.reset(fd);
  c->budget = &body_bytes;
  c->ssl.reset(SSL_new(ctx.get()));
  if (!c->ssl || SSL_set_fd(c->ssl.get(), fd) != 1) {
    spdlog::error("event=tls_setup_failed");
    return;
  }
  SSL_set_accept_state(c->ssl.get());
  c->deadline_ms = now_ms() + read_timeout_ms();
  c->deadline_is_read = true;
  c->events = EPOLLIN;
  epoll_event ev{.events = EPOLLIN, .data = {.ptr = c.get()}};
  if (::epoll_ctl(loop.epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return;
  }
  loop.conns.emplace(c.get(), std::move(c));
}

void Server::Impl::sweep(Loop& loop, std::int64_t now, bool close_idle) {
  std::vector<Conn*> ended;
  for (auto& [p, c] : loop.conns) {
    const bool idle = c->phase == Conn::Phase::kHead && c->in.empty();
    if (c->deadline_ms != 0 && now > c->deadline_ms) {
      // A read deadline missed mid-request or mid-handshake is the client's doing; an idle
      // keep-alive connection reaching keep_alive_timeout_s is ordinary.
      if (c->deadline_is_read) {
        timeouts.inc();
        spdlog::warn("event=client_timeout fd={} waited_ms={}", c->fd.get(),
                     now - c->deadline_ms + read_timeout_ms());
      }
      ended.push_back(p);
    } else if (close_idle && (idle || c->phase == Conn::Phase::kHandshake) &&
               !has_unread_input(*c)) {
      // A request already on its way (its loop was busy) is still answered, with
      // "Connection: close".
      ended.push_back(p);
    }
  }
  for (Conn* c : ended) {
    close_conn(loop, *c);
  }
  if (!loop.listening && loop.accept_paused_until != 0 && now >= loop.accept_paused_until &&
      !listener_closed.load(std::memory_order_acquire)) {
    loop.accept_paused_until = 0;
    listen_on(loop, true);
  }
}

// Each SSL call waits for one direction only. Watching for input while a response waits for the
// socket to drain would spin: a client that pipelines without reading keeps input pending.
bool Server::Impl::has_unread_input(Conn& c) {
  if (c.ssl && SSL_has_pending(c.ssl.get())) return true;
  char b = 0;
  return ::recv(c.fd.get(), &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

void Server::Impl::set_interest(Loop& loop, Conn& c, bool want_write) {
  const std::uint32_t events = want_write ? EPOLLOUT : EPOLLIN;
  if (c.events == events) return;
  epoll_event ev{.events = events, .data = {.ptr = &c}};
  ::epoll_ctl(loop.epoll.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
  c.events = events;
}

void Server::Impl::on_event(Loop& loop, Conn& c) {
  Step step = Step::kClose;
  try {
    step = drive(loop, c);
  } catch (const std::exception& e) {
    spdlog::error("event=connection_failed fd={} error=\"{}\"", c.fd.get(), e.what());
  } catch (...) {
    spdlog::error("event=connection_failed fd={} error=unknown", c.fd.get());
  }
  if (step == Step::kClose) {
    close_conn(loop, c);
  }
}

Server::Impl::Step Server::Impl::drive(Loop& loop, Conn& c) {
  for (;;) {
    Step step = Step::kAgain;
    switch (c.phase) {
      case Conn::Phase::kHandshake:
        step = handshake(loop, c);
        break;
      case Conn::Phase::kHead:
      case Conn::Phase::kBody:
        step = read_request(loop, c);
        break;
      case Conn::Phase::kWriting:
        step = write_response(loop, c);
        break;
      case Conn::Phase::kLinger:
        step = linger(loop, c);
        break;
    }
    if (step != Step::kAgain) return step;
  }
}

// What an SSL call that did not complete asks for: the socket to become readable or writable,
// or (anything else: a protocol error, a reset, end of stream) the end of the connection.
Server::Impl::Step Server::Impl::wait_for(Loop& loop, Conn& c, int ret) {
  switch (SSL_get_error(c.ssl.get(), ret)) {
    case SSL_ERROR_WANT_READ:
      set_interest(loop, c, false);
      return Step::kWait;
    case SSL_ERROR_WANT_WRITE:
      set_interest(loop, c, true);
      return Step::kWait;
    default:
      return Step::kClose;
  }
}

Server::Impl::Step Server::Impl::handshake(Loop& loop, Conn& c) {
  ERR_clear_error();
  const int ret = SSL_do_handshake(c.ssl.get());
  if (ret != 1) {
    const Step step = wait_for(loop, c, ret);
    if (step == Step::kClose) {
      spdlog::debug("event=handshake_failed fd={} error=\"{}\"", c.fd.get(),
                    ERR_reason_error_string(ERR_peek_last_error()) != nullptr
                        ? ERR_reason_error_string(ERR_peek_last_error())
                        : "connection closed");
    }
    return step;
  }
  handshake_count.fetch_add(1, std::memory_order_relaxed);
  handshakes.inc();
  c.phase = Conn::Phase::kHead;
  c.deadline_ms = now_ms() + std::int64_t{options.keep_alive_timeout_s} * 1000;
  c.deadline_is_read = false;
  set_interest(loop, c, false);
  return Step::kAgain;
}

Server::Impl::Step Server::Impl::fill(Loop& loop, Conn& c) {
  thread_local char buf[kReadChunk];
  ERR_clear_error();
  const int n = SSL_read(c.ssl.get(), buf, static_cast<int>(sizeof(buf)));
  // The request's first byte, or the first part of a TLS record that OpenSSL holds without being
  // able to decrypt it yet: all of the request must now arrive within the read timeout.
  if (c.phase == Conn::Phase::kHead && c.in.empty() && !c.deadline_is_read &&
      (n > 0 || SSL_has_pending(c.ssl.get()))) {
    c.deadline_ms = now_ms() + read_timeout_ms();
    c.deadline_is_read = true;
  }
  if (n <= 0) {
    return wait_for(loop, c, n);
  }
  c.in.append(buf, static_cast<std::size_t>(n));
  if (!account(c)) return over_budget(c);
  return Step::kAgain;
}

// Charges what `c` buffers beyond an ordinary review's size to the server-wide body budget, or
// releases what it no longer holds. False when the budget cannot take more; nothing is charged.
bool Server::Impl::account(Conn& c) {
  const std::size_t held = c.in.size() + c.chunked_body.size();
  const std::size_t want = held > kKeptBufferCapacity ? held - kKeptBufferCapacity : 0;
  if (want > c.charged) {
    const std::size_t more = want - c.charged;
    if (body_bytes.fetch_add(more, std::memory_order_relaxed) + more > body_budget) {
      body_bytes.fetch_sub(more, std::memory_order_relaxed);
      return false;
    }
  } else if (want < c.charged) {
    body_bytes.fetch_sub(c.charged - want, std::memory_order_relaxed);
  }  // equal (nearly always zero): the shared counter is not touched
  c.charged = want;
  return true;
}

// The answer when account() refuses: what was read of the request is dropped with it.
Server::Impl::Step Server::Impl::over_budget(Conn& c) {
  c.request_end = c.in.size();
  return respond(c, error_reply(503, "too many large reviews in flight; retry", true));
}

Server::Impl::Step Server::Impl::flush(Loop& loop, Conn& c) {
  while (c.out_off < c.out.size()) {
    ERR_clear_error();
    const std::size_t left = std::min<std::size_t>(c.out.size() - c.out_off, INT_MAX);
    const int n = SSL_write(c.ssl.get(), c.out.data() + c.out_off, static_cast<int>(left));
    if (n <= 0) {
      return wait_for(loop, c, n);
    }
    c.out_off += static_cast<std::size_t>(n);
  }
  reset_buffer(c.out);
  c.out_off = 0;
  set_interest(loop, c, false);
  return Step::kAgain;
}

Server::Impl::Step Server::Impl::read_request(Loop& loop, Conn& c) {
  if (c.out_off < c.out.size()) {  // an interim "100 Continue" still going out
    if (Step s = flush(loop, c); s != Step::kAgain) return s;
  }
  Step step = Step::kWait;
  if (c.phase == Conn::Phase::kHead && !c.in.empty()) {
    switch (http::parse_head(c.in, kMaxHeadBytes, c.head)) {
      case http::HeadStatus::kIncomplete:
        break;
      case http::HeadStatus::kComplete:
        step = route_head(c);
        break;
      default:
        c.request_end = c.in.size();
        step = respond(c, error_reply(c.head.error_status, c.head.error, true));
        break;
    }
  } else if (c.phase == Conn::Phase::kBody) {
    step = read_body(c);
  }
  if (step != Step::kWait) return step;
  return fill(loop, c);
}

Server::Impl::Step Server::Impl::route_head(Conn& c) {
  const http::RequestHead& h = c.head;
  ++c.served;
  c.request_end = h.head_bytes;
  // A request refused before its body is read must end its connection, or the unread body
  // would be read as the next request.
  const bool has_body = h.chunked || (h.has_content_length && h.content_length > 0);
  if (h.path == "/healthz" || h.path == "/readyz" || h.path == "/metrics") {
    if (h.method != "GET" && h.method != "HEAD") {
      Reply r = error_reply(405, "use GET", has_body);
      r.allow = "GET, HEAD";
      return respond(c, std::move(r));
    }
    Reply r{.content_type = "text/plain", .close = has_body};
    if (h.path == "/healthz") {
      r.body = "ok\n";
    } else if (h.path == "/readyz") {
      const bool ok = is_ready();
      r.status = ok ? 200 : 503;
      r.body = ok ? "ok\n" : "not ready\n";
    } else {
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = metrics.render();
    }
    return respond(c, std::move(r));
  }
  const auto it = handlers.find(h.path);
  if (it == handlers.end()) {
    return respond(c, error_reply(404, "no such path", has_body));
  }
  if (h.method != "POST") {
    Reply r = error_reply(405, "admission reviews are POSTed", has_body);
    r.allow = "POST";
    return respond(c, std::move(r));
  }
  if (!is_json_content_type(h.content_type)) {
    return respond(c, error_reply(415, "Content-Type must be application/json", has_body));
  }
  if (h.has_content_length && h.content_length > options.max_body_bytes) {
    return respond(
        c, error_reply(413,
                       "body of " + std::to_string(h.content_length) +
                           " bytes is over the limit of " + std::to_string(options.max_body_bytes),
                       true));
  }
  c.route = &*it;
  c.phase = Conn::Phase::kBody;
  if (h.expect_continue && h.minor_version >= 1) {
    c.out.append("HTTP/1.1 100 Continue\r\n\r\n");
  }
  if (h.chunked) {
    c.in.erase(0, h.head_bytes);
    c.chunks = http::ChunkedDecoder{};
  } else {
    // Room for the whole body up front, but not what a client merely announces: a connection
    // that declares 7 MiB and sends nothing holds no more than this.
    c.in.reserve(h.head_bytes + std::min<std::uint64_t>(h.content_length, 1 << 20));
  }
  return Step::kAgain;
}

Server::Impl::Step Server::Impl::read_body(Conn& c) {
  const http::RequestHead& h = c.head;
  std::string_view body;
  if (h.chunked) {
    std::size_t consumed = 0;
    switch (c.chunks.feed(c.in, options.max_body_bytes, c.chunked_body, consumed)) {
      case http::ChunkedDecoder::Status::kNeedMore:
        c.in.clear();
        if (!account(c)) return over_budget(c);
        return Step::kWait;
      case http::ChunkedDecoder::Status::kTooLarge:
        c.request_end = c.in.size();
        return respond(
            c,
            error_reply(413, "body is over the limit of " + std::to_string(options.max_body_bytes),
                        true));
      case http::ChunkedDecoder::Status::kBad:
        c.request_end = c.in.size();
        return respond(c, error_reply(400, "invalid chunked body", true));
      case http::ChunkedDecoder::Status::kDone:
        c.request_end = consumed;
        body = c.chunked_body;
        break;
    }
  } else {
    const std::size_t len = h.has_content_length ? h.content_length : 0;
    if (c.in.size() < h.head_bytes + len) {
      return Step::kWait;
    }
    c.request_end = h.head_bytes + len;
    body = std::string_view(c.in).substr(h.head_bytes, len);
  }
  Reply reply = serve_admission(c.route->first, c.route->second, body);
  return respond(c, std::move(reply));
}

// Queues `reply` as the answer to the current request and consumes the request's bytes; what
// follows them in `in` is the next (pipelined) request.
Server::Impl::Step Server::Impl::respond(Conn& c, Reply reply) {
  const http::RequestHead& h = c.head;
  c.in.erase(0, std::min(c.request_end, c.in.size()));
  if (c.in.empty()) reset_buffer(c.in);  // a pipelined request may follow in it
  if (h.chunked) reset_buffer(c.chunked_body);
  account(c);  // releases what the request held
  c.linger = reply.close;
  c.close_after_write = reply.close || !h.keep_alive ||
                        c.served >= std::max(1, options.keep_alive_max) ||
                        listener_closed.load(std::memory_order_acquire);
  std::string& o = c.out;
  o.append("HTTP/1.1 ");
  o.append(std::to_string(reply.status));
  o.push_back(' ');
  o.append(reason_phrase(reply.status));
  o.append("\r\nContent-Type: ");
  o.append(reply.content_type);
  o.append("\r\nContent-Length: ");
  o.append(std::to_string(reply.body.size()));
  if (!reply.allow.empty()) {
    o.append("\r\nAllow: ");
    o.append(reply.allow);
  }
  if (c.close_after_write) {
    o.append("\r\nConnection: close");
  }
  o.append("\r\n\r\n");
  if (h.method != "HEAD") {
    o.append(reply.body);
  }
  c.phase = Conn::Phase::kWriting;
  c.deadline_ms = now_ms() + std::int64_t{options.write_timeout_s} * 1000;
  c.deadline_is_read = false;
  return Step::kAgain;
}

Server::Impl::Step Server::Impl::write_response(Loop& loop, Conn& c) {
  if (Step s = flush(loop, c); s != Step::kAgain) return s;
  if (c.close_after_write) {
    SSL_shutdown(c.ssl.get());  // close_notify, best effort; the socket closes either way
    if (!c.linger) return Step::kClose;
    // A refused request's client may still be sending its body. Closing a socket with unread
    // input makes the kernel answer with a reset, which can destroy the response before the
    // client reads it; so the server stops writing and reads until the client closes.
    ::shutdown(c.fd.get(), SHUT_WR);
    c.phase = Conn::Phase::kLinger;
    c.deadline_ms = now_ms() + kLingerMs;
    c.deadline_is_read = false;
    set_interest(loop, c, false);
    return Step::kAgain;
  }
  c.phase = Conn::Phase::kHead;
  c.head = http::RequestHead{};
  c.route = nullptr;
  c.request_end = 0;
  if (!c.in.empty()) {  // a pipelined request has begun
    c.deadline_ms = now_ms() + read_timeout_ms();
    c.deadline_is_read = true;
    return Step::kAgain;
  }
  c.deadline_ms = now_ms() + std::int64_t{options.keep_alive_timeout_s} * 1000;
  c.deadline_is_read = false;
  // With read-ahead, OpenSSL may hold bytes the socket no longer shows; otherwise the next
  // request is announced by epoll, and reading now would only return "would block".
  return SSL_has_pending(c.ssl.get()) ? Step::kAgain : Step::kWait;
}

Server::Impl::Step Server::Impl::linger(Loop& loop, Conn& c) {
  thread_local char buf[kReadChunk];
  for (;;) {
    const ssize_t n = ::recv(c.fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      c.lingered += static_cast<std::size_t>(n);
      if (c.lingered > options.max_body_bytes + kMaxHeadBytes) return Step::kClose;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      set_interest(loop, c, false);
      return Step::kWait;
    }
    return Step::kClose;  // end of stream or reset
  }
}

Reply Server::Impl::serve_admission(const std::string& path, const AdmissionHandler& handler,
                                    std::string_view body) {
  const auto start = Clock::now();
  auto request = parse_review(body);
  if (!request) {
    metrics.admission_requests().inc({"unknown", "unknown", "invalid"});
    spdlog::warn("event=bad_review path={} bytes={} error=\"{}\"", path, body.size(),
                 request.error().message);
    return error_reply(400, request.error().message);
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
  Reply reply{.status = status, .body = render_review(req, resp)};

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
  return reply;
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
  m.ctx.reset(SSL_CTX_new(TLS_server_method()));
  if (!m.ctx) {
    return Error{"TLS setup failed: cannot create a context"};
  }
  if (auto s = m.certs->configure(*m.ctx); !s) {
    return Error{"TLS setup failed: " + s.error().message};
  }
  // Partial writes let a large response go out as the socket drains; read-ahead lets one read(2)
  // bring in a whole request (header and body records) instead of two per TLS record.
  SSL_CTX_set_mode(m.ctx.get(),
                   SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_read_ahead(m.ctx.get(), 1);

  auto listener = bind_listener(*addr, m.options.listen);
  if (!listener) {
    return listener.error();
  }
  m.listen_fd = std::move(*listener);
  m.port = bound_port(m.listen_fd.get());
  const int loops = std::max(1, m.options.threads);
  m.body_budget = static_cast<std::size_t>(loops) * m.options.max_body_bytes;
  for (int i = 0; i < loops; ++i) {
    auto loop = std::make_unique<Impl::Loop>();
    loop->epoll.reset(::epoll_create1(EPOLL_CLOEXEC));
    loop->wake.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (loop->epoll.get() < 0 || loop->wake.get() < 0) {
      return Error{std::string("cannot create an event loop: ") + std::strerror(errno)};
    }
    epoll_event ev{.events = EPOLLIN, .data = {.ptr = &loop->wake}};
    if (::epoll_ctl(loop->epoll.get(), EPOLL_CTL_ADD, loop->wake.get(), &ev) != 0) {
      return Error{std::string("cannot create an event loop: ") + std::strerror(errno)};
    }
    m.listen_on(*loop, true);
    if (!loop->listening) {
      return Error{std::string("cannot watch the listener: ") + std::strerror(errno)};
    }
    m.loops.push_back(std::move(loop));
  }
  m.started = true;
  for (auto& loop : m.loops) {
    loop->thread = std::thread([&m, l = loop.get()] { m.run(*l); });
  }
  m.certs->start_polling();
  spdlog::info("event=listening address={} port={} paths={} client_ca={} loops={}", addr->host,
               m.port, m.handlers.size(), !m.options.client_ca_file.empty(), loops);
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
  std::lock_guard lock(m.stopper_mu);
  m.stopper = std::thread([&m] {
    std::this_thread::sleep_for(m.options.shutdown_delay);
    // New connections are refused from here on (a shut-down listening socket resets them); the
    // descriptor itself is closed once no loop watches it.
    ::shutdown(m.listen_fd.get(), SHUT_RDWR);
    m.listener_closed.store(true, std::memory_order_release);
    for (auto& loop : m.loops) {
      const std::uint64_t one = 1;
      [[maybe_unused]] auto r = ::write(loop->wake.get(), &one, sizeof(one));
    }
  });
}

void Server::wait() {
  Impl& m = *impl_;
  std::lock_guard lock(m.wait_mu);
  for (auto& loop : m.loops) {
    if (loop->thread.joinable()) {
      loop->thread.join();  // returns once its connections are answered and closed
    }
  }
  {
    std::lock_guard stopper_lock(m.stopper_mu);
    if (m.stopper.joinable()) {
      m.stopper.join();
    }
  }
  for (auto& loop : m.loops) {
    // Handed over by another loop just as this one finished draining: never served.
    for (int fd : loop->incoming) ::close(fd);
  }
  m.loops.clear();
  m.listen_fd.reset();
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

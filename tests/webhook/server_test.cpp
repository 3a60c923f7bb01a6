// The webhook server over real TLS on 127.0.0.1: every bad input gets its status code and the
// server keeps serving; slow clients are cut; keep-alive, certificate rotation, client
// certificates, probes and metrics behave as a kube-apiserver and a kubelet expect.
#include "webhook/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/webhook/test_certs.h"

namespace latticeguard::webhook {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using testing::read_file;
using testing::TestCa;
using testing::write_file;

std::string capture(const std::string& name) {
  return read_file(fs::path(LG_CORPUS_DIR) / "admission-captures" / name);
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A TLS client on a plain socket, for what httplib's client cannot do: send a partial request,
// trickle bytes, read the peer certificate.
class RawTls {
 public:
  RawTls(
      int port, const std::string& ca_file,
      const std::function<void(SSL_CTX*)>& tweak = [](SSL_CTX*) {})
      : RawTls(Adopt{}, connected_socket(port), ca_file, tweak) {}
  // Takes over `fd`, a socket already connected to the server, and makes the handshake on it.
  struct Adopt {};
  RawTls(
      Adopt, int fd, const std::string& ca_file,
      const std::function<void(SSL_CTX*)>& tweak = [](SSL_CTX*) {})
      : fd_(fd) {
    timeval tv{.tv_sec = 10, .tv_usec = 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    tweak(ctx_);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set1_host(ssl_, "127.0.0.1");
    handshake_ok_ = SSL_connect(ssl_) == 1;
  }
  ~RawTls() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    ::close(fd_);
  }
  static int connected_socket(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      throw std::runtime_error("connect");
    }
    return fd;
  }
  bool handshake_ok() const { return handshake_ok_; }
  // Bytes straight onto the socket, under TLS: a partial record, for one.
  bool write_raw(std::string_view s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Waits until the peer closes its side, without touching the TLS session (safe while another
  // thread writes through it). Plain input does not count: TLS 1.3 session tickets arrive
  // unasked after the handshake.
  bool wait_peer_closed(int timeout_ms) const {
    pollfd p{.fd = fd_, .events = POLLRDHUP, .revents = 0};
    return ::poll(&p, 1, timeout_ms) == 1;
  }
  bool write(std::string_view s) {
    return SSL_write(ssl_, s.data(), static_cast<int>(s.size())) == static_cast<int>(s.size());
  }
  // Reads one response: until it is complete, the peer closes or nothing arrives for the socket
  // timeout. Bytes of a following response are kept for the next call. The answer to a HEAD
  // request has no body, whatever its Content-Length says.
  std::string read_all(bool head_request = false) {
    std::string out = std::exchange(rest_, {});
    char buf[4096];
    while (response_size(out, head_request) == 0) {
      int n = SSL_read(ssl_, buf, sizeof(buf));
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
    const size_t size = response_size(out, head_request);
    rest_ = out.substr(size);
    out.resize(size);
    return out;
  }
  std::string peer_serial() const {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) return "";
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
    char* hex = BN_bn2hex(bn);
    std::string out = hex;
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(cert);
    return out;
  }

 private:
  // The size of the first complete response in `s`, 0 while it is incomplete.
  static size_t response_size(const std::string& s, bool head_request) {
    auto end = s.find("\r\n\r\n");
    if (end == std::string::npos) return 0;
    auto cl = s.find("Content-Length: ");
    if (head_request || cl == std::string::npos || cl > end) return end + 4;
    const size_t size = end + 4 + std::stoul(s.substr(cl + 16));
    return s.size() >= size ? size : 0;
  }
  std::string rest_;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool handshake_ok_ = false;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lg-webhook-server-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ca_file_ = dir_ + "/ca.crt";
    cert_file_ = dir_ + "/tls.crt";
    key_file_ = dir_ + "/tls.key";
    write_file(ca_file_, ca_.cert_pem());
    auto pair = ca_.issue("latticeguard.webhook.svc", 1);
    write_file(cert_file_, pair.cert);
    write_file(key_file_, pair.key);
    options_.listen = "127.0.0.1:0";
    options_.cert_file = cert_file_;
    options_.key_file = key_file_;
    options_.max_body_bytes = 512 * 1024;
    options_.read_timeout_s = 2;
    options_.threads = 4;
    options_.cert_poll_interval = std::chrono::hours(1);  // tests call reload_now()
  }

  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  void start() {
    server_ = std::make_unique<Server>(options_, metrics_);
    server_->handle("/validate", [this](const AdmissionRequest& r) -> AdmissionResponse {
      ++handled_;
      if (r.name == "throw") throw std::runtime_error("rule crashed");
      if (r.name == "slow") std::this_thread::sleep_for(std::chrono::milliseconds(400));
      AdmissionResponse resp = r.name == "deny" ? denied("HTTPRoute is broken") : allowed();
      resp.rule_hits.push_back({"test-rule", r.name == "deny" ? "deny" : "warn"});
      return resp;
    });
    server_->handle("/mutate", [](const AdmissionRequest&) {
      return patched(json::array({{{"op", "add"}, {"path", "/spec/x"}, {"value", 1}}}));
    });
    server_->set_ready_check([this] { return ready_.load(); });
    auto s = server_->start();
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_GT(server_->port(), 0);
  }

  std::unique_ptr<httplib::SSLClient> client() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port());
    c->set_ca_cert_path(ca_file_.c_str());
    c->enable_server_certificate_verification(true);
    c->set_read_timeout(10, 0);
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);
    return c;
  }

  static std::string review_named(const std::string& name) {
    json doc = json::parse(capture("httproute_create.json"));
    doc["request"]["name"] = name;
    doc["request"]["uid"] = "uid-" + name;
    return doc.dump();
  }

  // POSTs the capture renamed to `name` and returns the AdmissionReview answer's `response`,
  // after checking the HTTP status, the review envelope and the echoed uid.
  static json review_response(httplib::SSLClient& c, const std::string& name, int http_status,
                              const std::string& path = "/validate",
                              const char* content_type = "application/json") {
    auto res = c.Post(path.c_str(), review_named(name), content_type);
    if (!res) {
      ADD_FAILURE() << httplib::to_string(res.error());
      return json();
    }
    EXPECT_EQ(res->status, http_status);
    json body = json::parse(res->body, nullptr, false);
    EXPECT_EQ(body["apiVersion"], "admission.k8s.io/v1") << res->body;
    EXPECT_EQ(body["kind"], "AdmissionReview");
    EXPECT_EQ(body["response"]["uid"], "uid-" + name);
    return body["response"];
  }

  // The API server's ordinary request, on a fresh connection: must always succeed.
  void expect_good_request() {
    auto c = client();
    EXPECT_EQ(review_response(*c, "good", 200)["allowed"], true);
  }

  void expect_status_body(const httplib::Result& res, int code) {
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, code);
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    json body = json::parse(res->body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << res->body;
    EXPECT_EQ(body["kind"], "Status");
    EXPECT_EQ(body["code"], code);
  }

  TestCa ca_;
  std::string dir_, ca_file_, cert_file_, key_file_;
  ServerOptions options_;
  Metrics metrics_;
  std::unique_ptr<Server> server_;
  std::atomic<bool> ready_{true};
  std::atomic<int> handled_{0};
};

TEST_F(ServerTest, AnswersAReviewEchoingUid) {
  start();
  auto c = client();
  json resp = review_response(*c, "deny", 200);
  EXPECT_EQ(resp["allowed"], false);
  EXPECT_EQ(resp["status"]["code"], 403);
  resp = review_response(*c, "m", 200, "/mutate", "application/json; charset=utf-8");
  EXPECT_EQ(resp["patchType"], "JSONPatch");
}

TEST_F(ServerTest, WrongMethodIs405WithAllow) {
  start();
  auto c = client();
  auto res = c->Get("/validate");
  expect_status_body(res, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "POST");
  res = c->Post("/healthz", "{}", "application/json");
  expect_status_body(res, 405);
  EXPECT_EQ(handled_, 0);
  expect_good_request();
}

TEST_F(ServerTest, WrongContentTypeIs415) {
  start();
  auto c = client();
  expect_status_body(c->Post("/validate", review_named("x"), "text/plain"), 415);
  expect_status_body(c->Post("/validate", review_named("x"), "application/jsonx"), 415);
  EXPECT_EQ(handled_, 0);
  expect_good_request();
}

TEST_F(ServerTest, BodyOverLimitIs413) {
  start();
  auto c = client();
  std::string big = review_named("big");
  big.insert(big.size() - 2, std::string(options_.max_body_bytes, ' '));
  expect_status_body(c->Post("/validate", big, "application/json"), 413);
  EXPECT_EQ(handled_, 0);
  expect_good_request();
}

// A connection reads every request into one buffer it keeps (released when over 64 KiB): each
// review is read on its own, whatever size came before it.
TEST_F(ServerTest, EachBodyOnAConnectionIsReadOnItsOwn) {
  start();
  auto c = client();
  std::string large = review_named("large");
  large.insert(large.size() - 2, std::string(300 * 1024, ' '));
  for (const char* name : {"large", "small", "large", "small"}) {
    SCOPED_TRACE(name);
    const bool is_large = std::string(name) == "large";
    auto res = c->Post("/validate", is_large ? large : review_named(name), "application/json");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(json::parse(res->body)["response"]["uid"], std::string("uid-") + name);
  }
}

TEST_F(ServerTest, BodyOverLimitIsRefusedBeforeItIsRead) {
  start();
  RawTls raw(server_->port(), ca_file_);
  ASSERT_TRUE(raw.handshake_ok());
  const auto t0 = Clock::now();
  // Announces 1 GB, sends 100 bytes, then waits: only the header can have been looked at.
  ASSERT_TRUE(
      raw.write("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: 1000000000\r\n\r\n" +
                std::string(100, '{')));
  const std::string reply = raw.read_all();
  EXPECT_LT(seconds_since(t0), 1.0) << "waited for a body it should not read";
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
  EXPECT_NE(reply.find("RequestEntityTooLarge"), std::string::npos);
  expect_good_request();
}

// After a refusal the server reads what the client still sends, so the client sees the answer
// rather than a reset, but for a bounded time: a client that keeps trickling bytes does not hold
// the connection.
TEST_F(ServerTest, ReadingAfterARefusalEndsWithinTwoSeconds) {
  start();
  RawTls raw(server_->port(), ca_file_);
  ASSERT_TRUE(raw.handshake_ok());
  ASSERT_TRUE(
      raw.write("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: 1000000000\r\n\r\n" +
                std::string(100, '{')));
  const std::string reply = raw.read_all();
  ASSERT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
  const auto t0 = Clock::now();
  bool closed = false;
  // The server half-closes at once (the client reads the end of the answer) and keeps reading;
  // once it stops, what the client sends is answered with a reset and sending fails.
  EXPECT_TRUE(raw.wait_peer_closed(1000));
  while (!closed && seconds_since(t0) < 8.0) {
    closed = !raw.write_raw(std::string(100, 'x'));
    if (!closed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(closed) << "the server still reads after " << seconds_since(t0) << " s";
  EXPECT_GT(seconds_since(t0), 1.0) << "the server did not read after its answer";
  EXPECT_LT(seconds_since(t0), 4.5);
  expect_good_request();
}

// Responses are written through a buffer flushed when they are complete; the interim
// "100 Continue" must not wait there, or a client that waits for it before sending the body
// (curl with large bodies) would stall.
TEST_F(ServerTest, ExpectContinueIsAnsweredBeforeTheBodyIsSent) {
  start();
  RawTls raw(server_->port(), ca_file_);
  ASSERT_TRUE(raw.handshake_ok());
  const std::string body = review_named("continue");
  const auto t0 = Clock::now();
  ASSERT_TRUE(
      raw.write("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Expect: 100-continue\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n"));
  const std::string interim = raw.read_all();
  EXPECT_LT(seconds_since(t0), 1.0);
  ASSERT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim;
  ASSERT_TRUE(raw.write(body));
  const std::string reply = raw.read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("\"uid\":\"uid-continue\""), std::string::npos) << reply;
  // Later requests on the same connection are answered too.
  ASSERT_TRUE(
      raw.write("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body));
  EXPECT_EQ(raw.read_all().rfind("HTTP/1.1 200", 0), 0u);
  expect_good_request();
}

struct BadBody {
  const char* name;
  std::string body;
  std::string message = "";  // when set, the Status message must contain it
};

class BadReviewTest : public ServerTest, public ::testing::WithParamInterface<BadBody> {};

TEST_P(BadReviewTest, Is400WithJsonErrorAndServerKeepsServing) {
  start();
  auto c = client();
  auto res = c->Post("/validate", GetParam().body, "application/json");
  expect_status_body(res, 400);
  if (res && !GetParam().message.empty()) {
    const json status = json::parse(res->body, nullptr, false);
    EXPECT_NE(status.value("message", "").find(GetParam().message), std::string::npos) << res->body;
  }
  EXPECT_EQ(handled_, 0);
  expect_good_request();
}

std::string deep_review() {
  const std::size_t depth = 100000;
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"kind":"X"},"object":{"a":)" +
         std::string(depth, '[') + std::string(depth, ']') + "}}}";
}

std::string edited(const std::string& pointer, const json& value) {
  json doc = json::parse(capture("httproute_create.json"));
  if (value.is_discarded()) {
    json::json_pointer p(pointer);
    doc[p.parent_pointer()].erase(p.back());
  } else {
    doc[json::json_pointer(pointer)] = value;
  }
  return doc.dump();
}

const json kGone(json::value_t::discarded);

// A review whose uid is `raw` as written in the JSON text (not escaped by a serializer).
std::string review_with_uid_text(const std::string& raw) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":")" +
         raw + R"(","operation":"CREATE","kind":{"kind":"HTTPRoute"}}})";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadReviewTest,
    ::testing::Values(
        BadBody{"EmptyBody", ""},
        BadBody{"InvalidJson", "{\"apiVersion\":", "invalid JSON at byte 14: invalid value"},
        BadBody{"NotAnAdmissionReview", R"({"apiVersion":"v1","kind":"Pod"})"},
        BadBody{"MissingRequest", edited("/request", kGone)},
        BadBody{"MissingUid", edited("/request/uid", kGone)},
        BadBody{"UidNotAString", edited("/request/uid", 42)},
        BadBody{"OperationNotAString", edited("/request/operation", true)},
        BadBody{"DryRunNotABool", edited("/request/dryRun", "yes")},
        BadBody{"ObjectNotAMapping", edited("/request/object", json::array())},
        BadBody{"DeepNesting100000", deep_review()},
        // A raw NUL is not JSON text, whatever follows it.
        BadBody{"NulAfterTheReview", capture("httproute_create.json") + std::string("\0{}", 3),
                "invalid JSON at byte " + std::to_string(capture("httproute_create.json").size()) +
                    ": NUL byte"},
        // The uid's closing quote is byte 81.
        BadBody{"InvalidUtf8InAString", review_with_uid_text("u\xFF"),
                "invalid JSON at byte 81: invalid UTF-8"},
        BadBody{"LoneSurrogateEscape", review_with_uid_text("u\\uDC00"),
                "lone surrogate in the string that ends here"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(ServerTest, HandlerExceptionIs500CarryingUid) {
  start();
  auto c = client();
  const json resp = review_response(*c, "throw", 500);
  EXPECT_EQ(resp["allowed"], false);
  EXPECT_EQ(resp["status"]["code"], 500);
  expect_good_request();
}

TEST_F(ServerTest, UnknownPathIs404) {
  start();
  auto c = client();
  expect_status_body(c->Post("/nope", "{}", "application/json"), 404);
  expect_good_request();
}

TEST_F(ServerTest, SlowClientIsCutAndDoesNotBlockOthers) {
  options_.threads = 2;
  start();
  RawTls slow(server_->port(), ca_file_);
  ASSERT_TRUE(slow.handshake_ok());
  const std::string request = "POST /validate HTTP/1.1\r\nHost: x\r\n";
  std::atomic<bool> cut{false};
  std::atomic<size_t> sent{0};
  const auto t0 = Clock::now();
  std::thread trickler([&] {
    for (char ch : request) {
      if (!slow.write(std::string_view(&ch, 1))) {
        cut = true;
        return;
      }
      ++sent;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Another client is served at once while the slow one holds a worker.
  const auto t1 = Clock::now();
  expect_good_request();
  EXPECT_LT(seconds_since(t1), 1.0);
  // The server gives up read_timeout_s after the first byte and closes the connection. (The
  // session is read only once the trickler is done with it: OpenSSL sessions are not shared.)
  ASSERT_TRUE(slow.wait_peer_closed(10000));
  const double cut_after = seconds_since(t0);
  trickler.join();
  const std::string reply = slow.read_all();
  EXPECT_EQ(reply.find("HTTP/1.1 2"), std::string::npos);
  EXPECT_GE(cut_after, options_.read_timeout_s - 0.5);
  EXPECT_LT(cut_after, options_.read_timeout_s + 2.0);
  EXPECT_LT(sent.load(), request.size());
  EXPECT_TRUE(cut);
  EXPECT_GE(metrics_.counter("latticeguard_connections_timed_out_total", "").value(), 1);
  expect_good_request();
}

// A request that has begun only as part of a TLS record (nothing decryptable yet) is still held
// to the read timeout, not to the keep-alive timeout of an idle connection.
TEST_F(ServerTest, PartialTlsRecordIsCutByTheReadTimeout) {
  options_.keep_alive_timeout_s = 60;
  start();
  RawTls raw(server_->port(), ca_file_);
  ASSERT_TRUE(raw.handshake_ok());
  ASSERT_TRUE(raw.write_raw(std::string("\x17\x03\x03", 3)));  // an application-data header
  const auto t0 = Clock::now();
  ASSERT_TRUE(raw.wait_peer_closed(10000));
  EXPECT_LT(seconds_since(t0), options_.read_timeout_s + 2.0);
  EXPECT_GE(metrics_.counter("latticeguard_connections_timed_out_total", "").value(), 1);
  expect_good_request();
}

// Every connection may buffer a large review at once; together they share one budget
// (threads x max_body_bytes), so memory does not grow with the number of such clients. Past it a
// client gets 503 and the others carry on.
TEST_F(ServerTest, LargeBodiesInFlightShareOneBudget) {
  // Budget: 512 KiB beyond 64 KiB per body. Two whole bodies hold 2 x 236 KiB; three first parts
  // would hold 3 x 186 KiB.
  options_.threads = 1;
  start();
  const std::string body = review_named("big");
  const size_t announced = 300 * 1024;
  ASSERT_LT(body.size(), announced);
  const std::string head =
      "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(announced) + "\r\n\r\n";
  // The review first, then spaces: valid JSON once complete.
  const std::string full = body + std::string(announced - body.size(), ' ');
  const size_t first_part = 250 * 1024;
  std::vector<std::unique_ptr<RawTls>> conns;
  for (int i = 0; i < 2; ++i) {
    conns.push_back(std::make_unique<RawTls>(server_->port(), ca_file_));
    ASSERT_TRUE(conns.back()->handshake_ok());
    ASSERT_TRUE(conns.back()->write(head + full.substr(0, first_part)));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // both are buffered
  RawTls third(server_->port(), ca_file_);
  ASSERT_TRUE(third.handshake_ok());
  third.write(head + full.substr(0, first_part));  // may fail once the server has answered
  const std::string refused = third.read_all();
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused.substr(0, 200);
  // The two within the budget are answered in full.
  for (auto& c : conns) {
    ASSERT_TRUE(c->write(full.substr(first_part)));
    const std::string reply = c->read_all();
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply.substr(0, 200);
  }
  EXPECT_EQ(handled_, 2);
  expect_good_request();
}

// Out of file descriptors, accept fails while the listener stays readable. The server must stop
// accepting for a moment instead of spinning on it, keep the waiting connection in the queue and
// serve it once descriptors are free again.
TEST_F(ServerTest, OutOfDescriptorsPausesAcceptingThenServesTheWaitingConnection) {
  start();
  // Every path that runs under the tight limit runs once before it, and every loop thread is
  // up: the sanitizers' runtimes need descriptors on some first calls (UBSan tests whether
  // memory is readable through a pipe when it first meets a dynamic type).
  expect_good_request();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  // Descriptors are numbered lowest free first: below `spare` every number is in use, so a limit
  // of spare + 1 leaves the client's socket the only one to be had and the server's accept none.
  const int spare = ::dup(0);
  ASSERT_GE(spare, 0);
  ::close(spare);
  rlimit tight = old;
  tight.rlim_cur = static_cast<rlim_t>(spare) + 1;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  int fd = -1;
  try {
    fd = RawTls::connected_socket(server_->port());  // completes in the listen backlog
  } catch (const std::exception&) {
  }
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  const int left = ::dup(0);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  ASSERT_GE(fd, 0) << "the client could not connect under the tight limit";
  if (left >= 0) ::close(left);
  EXPECT_EQ(left, -1) << "the limit left the server a descriptor";
  const auto cpu_ms = [](const rusage& u) {
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000.0 +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000.0;
  };
  // A loop retrying a readable listener burns a whole core: 400 ms in 400 ms.
  EXPECT_LT(cpu_ms(after) - cpu_ms(before), 150.0);

  RawTls waiting(RawTls::Adopt{}, fd, ca_file_);
  ASSERT_TRUE(waiting.handshake_ok());
  const std::string body = review_named("after-emfile");
  ASSERT_TRUE(
      waiting.write("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body));
  const std::string reply = waiting.read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply.substr(0, 200);
  EXPECT_NE(reply.find("uid-after-emfile"), std::string::npos);
  expect_good_request();
}

TEST_F(ServerTest, SilentConnectionIsCutDuringHandshake) {
  start();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval tv{.tv_sec = 10, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  const auto t0 = Clock::now();
  char buf[16];
  const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  EXPECT_LE(n, 0);
  EXPECT_LT(seconds_since(t0), options_.read_timeout_s + 2.0);
  ::close(fd);
  expect_good_request();
}

TEST_F(ServerTest, RefusesOldProtocolsAndWeakCiphers) {
  start();
  RawTls tls11(server_->port(), ca_file_, [](SSL_CTX* ctx) {
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
  });
  EXPECT_FALSE(tls11.handshake_ok());
  // CBC with SHA-1 MACs is accepted by OpenSSL's defaults, not by this server.
  RawTls cbc(server_->port(), ca_file_, [](SSL_CTX* ctx) {
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA");
  });
  EXPECT_FALSE(cbc.handshake_ok());
  RawTls tls12(server_->port(), ca_file_,
               [](SSL_CTX* ctx) { SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION); });
  EXPECT_TRUE(tls12.handshake_ok());
  expect_good_request();
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneHandshake) {
  start();
  auto c = client();
  const auto before = server_->tls_handshakes();
  for (int i = 0; i < 50; ++i) {
    auto res = c->Post("/validate", review_named("k" + std::to_string(i)), "application/json");
    ASSERT_TRUE(res) << i;
    ASSERT_EQ(res->status, 200);
  }
  EXPECT_EQ(server_->tls_handshakes() - before, 1u);
  EXPECT_GE(metrics_.counter("latticeguard_tls_handshakes_total", "").value(), 1);
}

// The API server keeps a connection per in-flight request open; every one of them is served,
// however many there are per thread, and none waits for another to close.
TEST_F(ServerTest, ConnectionsBeyondTheThreadCountAreServedAtOnce) {
  options_.threads = 2;
  start();
  std::vector<std::unique_ptr<httplib::SSLClient>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(client());
    clients.back()->set_read_timeout(3, 0);
  }
  const auto t0 = Clock::now();
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < clients.size(); ++i) {
      const std::string name = "c" + std::to_string(i) + "r" + std::to_string(round);
      EXPECT_EQ(review_response(*clients[i], name, 200)["allowed"], true) << name;
    }
  }
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_EQ(handled_, 12);
}

// Requests sent back to back on one connection (in one write) are answered in order; so are a
// chunked body, and a path with the API server's `?timeout=` query.
TEST_F(ServerTest, PipelinedChunkedAndQueryRequestsAreAnswered) {
  start();
  RawTls raw(server_->port(), ca_file_);
  ASSERT_TRUE(raw.handshake_ok());
  auto post = [](const std::string& target, const std::string& body) {
    return "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  const std::string a = review_named("p1"), b = review_named("p2"), c = review_named("p3");
  std::string chunked =
      "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (size_t at = 0; at < c.size(); at += 1000) {
    const std::string part = c.substr(at, 1000);
    std::ostringstream size;
    size << std::hex << part.size();
    chunked += size.str() + "\r\n" + part + "\r\n";
  }
  chunked += "0\r\n\r\n";
  ASSERT_TRUE(raw.write(post("/validate?timeout=10s", a) + post("/validate", b) + chunked));
  for (const char* uid : {"uid-p1", "uid-p2", "uid-p3"}) {
    const std::string reply = raw.read_all();
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << uid << ": " << reply;
    EXPECT_NE(reply.find(std::string("\"uid\":\"") + uid + "\""), std::string::npos) << reply;
  }
  EXPECT_EQ(handled_, 3);
}

// An HTTP/1.0 client gets its answer and the connection ends (1.0 has no keep-alive by
// default); a HEAD probe gets the headers alone, and the connection stays usable.
TEST_F(ServerTest, Http10AndHeadRequestsAreAnswered) {
  start();
  {
    RawTls raw(server_->port(), ca_file_);
    ASSERT_TRUE(raw.handshake_ok());
    const std::string body = review_named("old");
    ASSERT_TRUE(
        raw.write("POST /validate HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body));
    const std::string reply = raw.read_all();
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
    EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
    EXPECT_NE(reply.find("\"uid\":\"uid-old\""), std::string::npos) << reply;
    EXPECT_EQ(raw.read_all(), "");
  }
  RawTls raw(server_->port(), ca_file_);
  ASSERT_TRUE(raw.handshake_ok());
  ASSERT_TRUE(raw.write("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string head = raw.read_all(/*head_request=*/true);
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Length: 3\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n") << head;  // no body follows
  ASSERT_TRUE(raw.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string get = raw.read_all();
  EXPECT_EQ(get.rfind("HTTP/1.1 200", 0), 0u) << get;
  EXPECT_EQ(get.substr(get.size() - 3), "ok\n") << get;
}

// Framing the server cannot read safely is refused with a JSON Status, and the connection ends.
TEST_F(ServerTest, UnreadableRequestsAreRefusedAndTheConnectionEnds) {
  start();
  struct Case {
    std::string request;
    const char* status;
  };
  const std::vector<Case> cases = {
      {"NOT A REQUEST\r\n\r\n", "HTTP/1.1 400"},
      {"POST /validate HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
       "Transfer-Encoding: chunked\r\n\r\n",
       "HTTP/1.1 400"},
      {"POST /validate HTTP/1.1\r\nContent-Type: application/json\r\n"
       "Transfer-Encoding: gzip\r\n\r\n",
       "HTTP/1.1 501"},
      {"GET /healthz HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n", "HTTP/1.1 431"},
      {"POST /validate HTTP/1.1\r\nContent-Type: application/json\r\n"
       "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
       "HTTP/1.1 400"},
  };
  for (const Case& c : cases) {
    RawTls raw(server_->port(), ca_file_);
    ASSERT_TRUE(raw.handshake_ok());
    ASSERT_TRUE(raw.write(c.request));
    const std::string reply = raw.read_all();
    EXPECT_EQ(reply.rfind(c.status, 0), 0u) << c.request.substr(0, 80) << " -> " << reply;
    EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
    EXPECT_NE(reply.find("\"kind\":\"Status\""), std::string::npos) << reply;
    EXPECT_EQ(raw.read_all(), "");  // closed
  }
  EXPECT_EQ(handled_, 0);
  expect_good_request();
}

TEST_F(ServerTest, RotatedCertificateIsServedToNewConnections) {
  start();
  auto kept = client();
  ASSERT_TRUE(kept->Post("/validate", review_named("a"), "application/json"));
  {
    RawTls first(server_->port(), ca_file_);
    ASSERT_TRUE(first.handshake_ok());
    EXPECT_EQ(first.peer_serial(), "01");
  }
  auto next = ca_.issue("latticeguard.webhook.svc", 2);
  write_file(cert_file_, next.cert);
  write_file(key_file_, next.key);
  ASSERT_TRUE(server_->certs().reload_now());
  const auto handshakes = server_->tls_handshakes();
  {
    RawTls fresh(server_->port(), ca_file_);
    ASSERT_TRUE(fresh.handshake_ok());
    EXPECT_EQ(fresh.peer_serial(), "02");
  }
  // The connection opened before the rotation carries on without a new handshake.
  auto res = kept->Post("/validate", review_named("b"), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  // One handshake for `fresh`; on a heavily loaded machine the client has been seen to reopen
  // its idle keep-alive connection once (under investigation), so allow that one.
  EXPECT_LE(server_->tls_handshakes(), handshakes + 2);

  // A broken pair (key of another certificate) is refused; the current pair stays in use.
  auto other = ca_.issue("other", 3);
  write_file(cert_file_, other.cert);
  write_file(key_file_, next.key);
  EXPECT_FALSE(server_->certs().reload_now());
  RawTls after(server_->port(), ca_file_);
  ASSERT_TRUE(after.handshake_ok());
  EXPECT_EQ(after.peer_serial(), "02");
  expect_good_request();
}

TEST_F(ServerTest, ClientCertificateRequiredWithClientCa) {
  TestCa client_ca("client CA");
  const std::string client_ca_file = dir_ + "/client-ca.crt";
  write_file(client_ca_file, client_ca.cert_pem());
  auto apiserver = client_ca.issue("kube-apiserver", 7, /*client=*/true);
  write_file(dir_ + "/client.crt", apiserver.cert);
  write_file(dir_ + "/client.key", apiserver.key);
  options_.client_ca_file = client_ca_file;
  start();

  auto anonymous = client();
  auto res = anonymous->Post("/validate", review_named("a"), "application/json");
  EXPECT_FALSE(res && res->status == 200);

  httplib::SSLClient with_cert("127.0.0.1", server_->port(), dir_ + "/client.crt",
                               dir_ + "/client.key");
  with_cert.set_ca_cert_path(ca_file_.c_str());
  with_cert.enable_server_certificate_verification(true);
  res = with_cert.Post("/validate", review_named("a"), "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
}

TEST_F(ServerTest, MetricsExposeTheFamilies) {
  start();
  auto c = client();
  ASSERT_TRUE(c->Post("/validate", review_named("deny"), "application/json"));
  auto res = c->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = res->body;
  EXPECT_NE(text.find("latticeguard_admission_requests_total{kind=\"HTTPRoute\",operation="
                      "\"CREATE\",decision=\"deny\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("latticeguard_admission_duration_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(text.find("latticeguard_findings_total{rule=\"test-rule\",action=\"deny\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("latticeguard_cert_expiry_timestamp_seconds "), std::string::npos);
}

TEST_F(ServerTest, ProbesFollowReadinessAndShutdown) {
  options_.shutdown_delay = std::chrono::milliseconds(200);
  start();
  auto c = client();
  auto res = c->Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = c->Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  ready_ = false;
  res = c->Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  ready_ = true;

  // A request in flight when shutdown begins still gets its answer.
  auto in_flight = std::async(std::launch::async, [&] {
    auto slow_client = client();
    return slow_client->Post("/validate", review_named("slow"), "application/json");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server_->stop_gracefully();
  EXPECT_FALSE(server_->ready());
  res = c->Get("/readyz");  // still listening during shutdown_delay, but not ready
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  auto answered = in_flight.get();
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 200);
  // The idle keep-alive connection `c` must not keep the server up for keep_alive_timeout_s.
  const auto t0 = Clock::now();
  server_->wait();
  EXPECT_LT(seconds_since(t0), 5.0);
}

}  // namespace
}  // namespace latticeguard::webhook

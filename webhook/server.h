// The HTTPS server of `latticeguard serve`: AdmissionReview endpoints, probes and metrics.
//
//   Metrics metrics;
//   Server server(ServerOptions{.listen = "0.0.0.0:8443", .cert_file = ..., .key_file = ...},
//                 metrics);
//   server.handle("/validate", [&](AdmissionRequest r) { return engine_answer(std::move(r)); });
//   server.set_ready_check([&] { return cache.synced(); });
//   if (auto s = server.start(); !s) return fail(s.error().message);   // binds, serves
//   ...on SIGTERM: server.stop_gracefully();  server.wait();
//
// Endpoints: POST <each registered path> (AdmissionReview in, AdmissionReview out), GET /healthz
// (process alive), GET /readyz (certificate loaded, not shutting down, ready_check() true),
// GET /metrics (Prometheus text). Bad input gets a 4xx with a metav1.Status JSON body and never
// reaches a handler: 405 wrong method, 415 not application/json, 413 body over max_body_bytes
// (refused from Content-Length before the body is read), 400 empty body, invalid JSON, not an
// AdmissionReview, missing request or uid, wrong field types. A handler that throws gets a 500
// whose body is still an AdmissionReview with the uid, so the API server applies failurePolicy.
//
// Model: `threads` event loops (epoll, non-blocking sockets and OpenSSL), each serving any number
// of keep-alive connections; a request costs one wake-up, one read and one write. A handler runs
// on the loop that read its request, so handlers run concurrently across loops, and a loop's
// other connections wait while it runs (reviews take well under a millisecond).
//
// Slow clients: every request must arrive within read_timeout_s from its first byte (and the TLS
// handshake within read_timeout_s of the connection), or the connection is cut; a client
// trickling one byte per second holds nothing but its own connection. Large bodies being read
// share one budget of threads x max_body_bytes (beyond 64 KiB each); a request that would exceed
// it gets 503, so memory does not grow with the number of clients sending large reviews.
//
// Thread safety: configure (handle, set_ready_check) before start(); afterwards start, port,
// stop_gracefully, wait and the accessors may be called from any thread. Handlers are called
// from the loop threads, concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "rules/core/result.h"
#include "webhook/admission.h"
#include "webhook/metrics.h"
#include "webhook/tls.h"

namespace latticeguard::webhook {

struct ServerOptions {
  std::string listen = "127.0.0.1:8443";  // host:port, [v6]:port or :port (all interfaces)
  std::string cert_file{};
  std::string key_file{};
  std::string client_ca_file{};  // optional: require client certificates signed by this CA
  // The API server sends the object and, on UPDATE, the old object; etcd caps an object at
  // 1.5 MiB by default and 3 MiB at most, so two of them plus the envelope fit in 7 MiB.
  std::size_t max_body_bytes = 7 * 1024 * 1024;
  int threads = 8;  // event loops; connections are spread over them as they are accepted
  // The API server keeps connections open; long keep-alive avoids a TLS handshake per request.
  int keep_alive_max = 1000;
  int keep_alive_timeout_s = 60;
  int read_timeout_s = 5;  // per request, from its first byte to its last
  int write_timeout_s = 5;
  std::chrono::milliseconds cert_poll_interval{2000};
  // Between /readyz turning false and closing the listener, so endpoints can drop this pod
  // before connections are refused. 0 in tests; a few seconds in a Deployment.
  std::chrono::milliseconds shutdown_delay{0};
};

// Takes the request by value: the server moves the objects in, keeping the rest for the reply.
using AdmissionHandler = std::function<AdmissionResponse(AdmissionRequest)>;

class Server {
 public:
  Server(ServerOptions options, Metrics& metrics);
  ~Server();  // stops the server if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers a POST endpoint. Call before start().
  void handle(std::string path, AdmissionHandler handler);
  // Extra readiness condition (e.g. cluster cache synced). Call before start().
  void set_ready_check(std::function<bool()> check);

  // Loads the certificate (a broken pair is an error), binds and starts serving on background
  // threads. Returns once the port is bound.
  Status start();
  int port() const;  // the bound port (useful with ":0")
  bool ready() const;

  // Readiness goes false, the listener closes after shutdown_delay, requests in flight finish,
  // idle keep-alive connections are closed. Returns without waiting; call wait().
  void stop_gracefully();
  // Blocks until the server has stopped.
  void wait();

  CertReloader& certs();                 // after start()
  std::uint64_t tls_handshakes() const;  // completed TLS handshakes, for tests and metrics

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace latticeguard::webhook

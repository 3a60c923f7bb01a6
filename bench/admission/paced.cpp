// Fixed-rate HTTPS load generator for the admission benchmark. wrk sends as fast as it can;
// this sends POSTs at a fixed rate over keep-alive TLS connections and reports latency
// percentiles measured from each request's scheduled send time, so a stall shows up in the
// tail instead of silently lowering the rate (no coordinated omission).
//
// Usage: lg_paced --url https://127.0.0.1:8443/validate --body FILE
//                 [--rate 1000] [--duration 10] [--connections 4] [--warmup 1] [--ca FILE]
//                 [--samples FILE]
// Prints one line of key=value pairs; exit 1 when any request failed or got a non-200.
// --samples writes every latency (nanoseconds, one per line, sorted) so a caller can pool
// several runs into one distribution.
// Paired servers: give --url (and --samples) once per server. Each server then gets --rate
// over its own --connections, and the servers' sends alternate evenly in time (A, B, A, B, ...),
// so a slow spell of the machine falls on every server alike. One line per server, in --url
// order, each starting with url=URL.
// Each connection runs on its own thread; results are merged after the threads join.

#include <httplib.h>
#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "percentile.h"

namespace {

using latticeguard::bench::percentile_ms;
using Clock = std::chrono::steady_clock;

struct Target {
  std::string url;
  std::string host;
  int port = 443;
  std::string path = "/";
  std::string samples_file;
};

struct Options {
  std::vector<Target> targets;
  std::string body;
  std::string ca_file;
  double rate = 1000;
  double duration_s = 10;
  double warmup_s = 1;
  int connections = 4;
};

struct Samples {
  std::vector<int64_t> latency_ns;  // after warm-up only
  uint64_t sent = 0;
  uint64_t failed = 0;
  Clock::time_point last_done{};
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "lg_paced: %s\nusage: lg_paced --url https://HOST:PORT/PATH --body FILE [--rate N]"
               " [--duration S] [--connections N] [--warmup S] [--ca FILE] [--samples FILE]\n"
               "       (--url and --samples once per server to pace several side by side)\n",
               why);
  std::exit(2);
}

bool parse_url(const std::string& url, Target& opt) {
  const std::string scheme = "https://";
  if (url.rfind(scheme, 0) != 0) return false;
  const std::string rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  opt.path = slash == std::string::npos ? "/" : rest.substr(slash);
  const auto colon = authority.rfind(':');
  if (colon == std::string::npos) {
    opt.host = authority;
  } else {
    opt.host = authority.substr(0, colon);
    opt.port = std::atoi(authority.substr(colon + 1).c_str());
  }
  return !opt.host.empty() && opt.port > 0 && opt.port < 65536;
}

Options parse_args(int argc, char** argv) {
  Options opt;
  std::vector<std::string> urls, samples;
  std::string body_file;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + arg).c_str());
    const std::string value = argv[++i];
    if (arg == "--url") {
      urls.push_back(value);
    } else if (arg == "--body") {
      body_file = value;
    } else if (arg == "--ca") {
      opt.ca_file = value;
    } else if (arg == "--samples") {
      samples.push_back(value);
    } else if (arg == "--rate") {
      opt.rate = std::atof(value.c_str());
    } else if (arg == "--duration") {
      opt.duration_s = std::atof(value.c_str());
    } else if (arg == "--warmup") {
      opt.warmup_s = std::atof(value.c_str());
    } else if (arg == "--connections") {
      opt.connections = std::atoi(value.c_str());
    } else {
      usage(("unknown option " + arg).c_str());
    }
  }
  if (urls.empty()) usage("--url is required");
  if (!samples.empty() && samples.size() != urls.size()) usage("give --samples once per --url");
  for (size_t i = 0; i < urls.size(); ++i) {
    Target t;
    t.url = urls[i];
    if (!parse_url(t.url, t)) usage("--url must be https://HOST:PORT/PATH");
    if (!samples.empty()) t.samples_file = samples[i];
    opt.targets.push_back(std::move(t));
  }
  std::ifstream in(body_file, std::ios::binary);
  if (!in) usage("cannot read --body file");
  std::ostringstream text;
  text << in.rdbuf();
  opt.body = text.str();
  if (opt.rate <= 0 || opt.duration_s <= 0 || opt.warmup_s < 0 || opt.connections < 1) {
    usage("rate, duration and connections must be positive");
  }
  return opt;
}

Clock::time_point after(Clock::time_point t, double seconds) {
  return t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// One keep-alive connection to `target` sending every `connections / rate` seconds, shifted by
// `offset_s` so the connections (and the targets) interleave evenly.
Samples run_connection(const Options& opt, const Target& target, double offset_s,
                       Clock::time_point start) {
  httplib::SSLClient client(target.host, target.port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(5));
  client.set_write_timeout(std::chrono::seconds(5));
  if (opt.ca_file.empty()) {
    client.enable_server_certificate_verification(false);
  } else {
    client.set_ca_cert_path(opt.ca_file);
  }

  const double interval_s = opt.connections / opt.rate;
  const auto warmup_end = after(start, opt.warmup_s);
  const auto end = after(warmup_end, opt.duration_s);
  Samples samples;
  samples.latency_ns.reserve(static_cast<size_t>(opt.rate * opt.duration_s / opt.connections) + 16);
  for (uint64_t k = 0;; ++k) {
    const auto scheduled = after(start, offset_s + interval_s * static_cast<double>(k));
    if (scheduled >= end) break;
    std::this_thread::sleep_until(scheduled);
    auto result = client.Post(target.path.c_str(), opt.body, "application/json");
    const auto done = Clock::now();
    if (scheduled < warmup_end) continue;
    ++samples.sent;
    samples.last_done = std::max(samples.last_done, done);
    if (!result || result->status != 200) {
      ++samples.failed;
      continue;
    }
    samples.latency_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(done - scheduled).count());
  }
  return samples;
}

// Merges the connections' samples, writes --samples, prints the summary line; true when every
// request succeeded.
bool report(const Options& opt, const Target& target, std::vector<Samples> per_connection,
            Clock::time_point start) {
  Samples all;
  for (auto& s : per_connection) {
    all.last_done = std::max(all.last_done, s.last_done);
    all.sent += s.sent;
    all.failed += s.failed;
    all.latency_ns.insert(all.latency_ns.end(), s.latency_ns.begin(), s.latency_ns.end());
  }
  std::sort(all.latency_ns.begin(), all.latency_ns.end());
  if (!target.samples_file.empty()) {
    std::ofstream out(target.samples_file, std::ios::trunc);
    for (int64_t ns : all.latency_ns) out << ns << '\n';
    if (!out) {
      std::fprintf(stderr, "lg_paced: cannot write %s\n", target.samples_file.c_str());
      std::exit(2);
    }
  }
  // A server that falls behind stretches the run; the rate is what it actually sustained.
  const auto warmup_end = after(start, opt.warmup_s);
  const double measured_s = std::chrono::duration<double>(all.last_done - warmup_end).count();
  const std::string prefix = opt.targets.size() > 1 ? "url=" + target.url + " " : "";
  std::printf(
      "%starget_rate=%.0f achieved_rate=%.1f sent=%llu failed=%llu p50_ms=%.3f p99_ms=%.3f "
      "p999_ms=%.3f max_ms=%.3f\n",
      prefix.c_str(), opt.rate,
      static_cast<double>(all.sent) / std::max(opt.duration_s, measured_s),
      static_cast<unsigned long long>(all.sent), static_cast<unsigned long long>(all.failed),
      percentile_ms(all.latency_ns, 0.50), percentile_ms(all.latency_ns, 0.99),
      percentile_ms(all.latency_ns, 0.999),
      all.latency_ns.empty() ? 0.0 : static_cast<double>(all.latency_ns.back()) / 1e6);
  return all.failed == 0 && all.sent > 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse_args(argc, argv);
  // Linux lets a sleeping thread wake up to its timer slack late, 50 us by default, and every
  // such delay would count in the latency of the request sent after it. Asked before the
  // connection threads start, which inherit it.
  if (prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) != 0) {
    std::fprintf(stderr,
                 "lg_paced: cannot set the timer slack; latencies include up to 50 us of it\n");
  }
  const auto start = Clock::now() + std::chrono::milliseconds(100);
  const size_t n_targets = opt.targets.size();
  const size_t per_target = static_cast<size_t>(opt.connections);
  // Sends in time order: connection slot 0 of every target, then slot 1, ...; one send every
  // 1 / (rate * targets) seconds overall.
  std::vector<std::vector<Samples>> samples(n_targets, std::vector<Samples>(per_target));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < n_targets; ++t) {
    for (size_t i = 0; i < per_target; ++i) {
      const double offset_s =
          (static_cast<double>(i * n_targets + t)) / (opt.rate * static_cast<double>(n_targets));
      threads.emplace_back([&, t, i, offset_s] {
        samples[t][i] = run_connection(opt, opt.targets[t], offset_s, start);
      });
    }
  }
  for (auto& t : threads) t.join();
  bool ok = true;
  for (size_t t = 0; t < n_targets; ++t) {
    ok = report(opt, opt.targets[t], std::move(samples[t]), start) && ok;
  }
  return ok ? 0 : 1;
}

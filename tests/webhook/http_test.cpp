#include "webhook/http.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace latticeguard::webhook::http {
namespace {

constexpr std::size_t kLimit = 16384;

// What kube-apiserver sends for an admission review (Go's net/http client).
const std::string kApiserverHead =
    "POST /validate?timeout=10s HTTP/1.1\r\n"
    "Host: latticeguard.latticeguard-system.svc:443\r\n"
    "User-Agent: kube-apiserver-admission\r\n"
    "Content-Length: 1234\r\n"
    "Accept: application/json, */*\r\n"
    "Content-Type: application/json\r\n"
    "Accept-Encoding: gzip\r\n"
    "\r\n";

RequestHead parse_ok(std::string_view bytes) {
  RequestHead head;
  EXPECT_EQ(parse_head(bytes, kLimit, head), HeadStatus::kComplete) << head.error;
  return head;
}

// A GET with the given extra header lines (each without its line end).
std::string get_with(const std::vector<std::string>& fields, std::string_view version = "1.1") {
  std::string s = "GET /healthz HTTP/" + std::string(version) + "\r\n";
  for (const std::string& f : fields) s += f + "\r\n";
  return s + "\r\n";
}

TEST(HttpHead, ParsesAKubeApiserverRequest) {
  const std::string body(1234, 'x');
  RequestHead head;
  ASSERT_EQ(parse_head(kApiserverHead + body, kLimit, head), HeadStatus::kComplete);
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.path, "/validate");
  EXPECT_EQ(head.minor_version, 1);
  EXPECT_EQ(head.content_type, "application/json");
  EXPECT_TRUE(head.has_content_length);
  EXPECT_EQ(head.content_length, 1234u);
  EXPECT_FALSE(head.chunked);
  EXPECT_FALSE(head.expect_continue);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_EQ(head.head_bytes, kApiserverHead.size());
  EXPECT_EQ(head.error_status, 0);
  EXPECT_EQ(head.error, "");
}

TEST(HttpHead, IsIncompleteAtEverySplitPoint) {
  for (std::size_t n = 0; n < kApiserverHead.size(); ++n) {
    RequestHead head;
    EXPECT_EQ(parse_head(std::string_view(kApiserverHead).substr(0, n), kLimit, head),
              HeadStatus::kIncomplete)
        << "after " << n << " bytes: " << head.error;
  }
}

TEST(HttpHead, AcceptsBareLfLineEnds) {
  const std::string lf =
      "POST /validate HTTP/1.1\n"
      "Content-Type: application/json\n"
      "Content-Length: 2\r\n"  // mixed, line by line
      "\n";
  const RequestHead head = parse_ok(lf + "{}");
  EXPECT_EQ(head.head_bytes, lf.size());
  EXPECT_EQ(head.path, "/validate");
  EXPECT_EQ(head.content_length, 2u);
  EXPECT_EQ(head.content_type, "application/json");
}

TEST(HttpHead, ResetsAHeadThatIsReused) {
  RequestHead head;
  ASSERT_EQ(parse_head(kApiserverHead, kLimit, head), HeadStatus::kComplete);
  ASSERT_EQ(parse_head("GET /healthz HTTP/1.0\r\n\r\n", kLimit, head), HeadStatus::kComplete);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.path, "/healthz");
  EXPECT_EQ(head.minor_version, 0);
  EXPECT_EQ(head.content_type, "");
  EXPECT_FALSE(head.has_content_length);
  EXPECT_EQ(head.head_bytes, 25u);
  ASSERT_EQ(parse_head("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", kLimit, head),
            HeadStatus::kBad);
  ASSERT_EQ(parse_head("GET / HTTP/1.1\r\n\r\n", kLimit, head), HeadStatus::kComplete);
  EXPECT_EQ(head.error_status, 0);
  EXPECT_EQ(head.error, "");
}

TEST(HttpHead, HeaderNamesAreCaseInsensitive) {
  RequestHead head = parse_ok(
      "POST /v HTTP/1.1\r\ncontent-type: application/json\r\nCONTENT-LENGTH: 7\r\n"
      "eXpEcT: 100-Continue\r\ncOnNeCtIoN: CLOSE\r\n\r\n");
  EXPECT_EQ(head.content_type, "application/json");
  EXPECT_EQ(head.content_length, 7u);
  EXPECT_TRUE(head.expect_continue);
  EXPECT_FALSE(head.keep_alive);
  head = parse_ok(get_with({"tRaNsFeR-eNcOdInG: ChUnKeD"}));
  EXPECT_TRUE(head.chunked);
}

TEST(HttpHead, KeepsTheTrimmedContentTypeAndTheFirstOfTwo) {
  EXPECT_EQ(
      parse_ok(get_with({"Content-Type: \t application/json; charset=utf-8 \t"})).content_type,
      "application/json; charset=utf-8");
  EXPECT_EQ(parse_ok(get_with({"Content-Type: application/json", "Content-Type: text/plain"}))
                .content_type,
            "application/json");
  EXPECT_EQ(parse_ok(get_with({"Content-Type:"})).content_type, "");
}

TEST(HttpHead, KeepAliveFollowsVersionAndConnection) {
  EXPECT_TRUE(parse_ok(get_with({})).keep_alive);
  EXPECT_FALSE(parse_ok(get_with({"Connection: close"})).keep_alive);
  EXPECT_FALSE(parse_ok(get_with({"Connection: Upgrade, Close"})).keep_alive);
  EXPECT_FALSE(parse_ok(get_with({"Connection: keep-alive", "Connection: close"})).keep_alive);
  EXPECT_TRUE(parse_ok(get_with({"Connection: keep-alive, Upgrade"})).keep_alive);
  EXPECT_TRUE(parse_ok(get_with({"Connection: closed"})).keep_alive);  // not the option "close"

  EXPECT_FALSE(parse_ok(get_with({}, "1.0")).keep_alive);
  EXPECT_TRUE(parse_ok(get_with({"Connection: Keep-Alive"}, "1.0")).keep_alive);
  EXPECT_TRUE(parse_ok(get_with({"Connection: foo,, keep-alive ,"}, "1.0")).keep_alive);
  EXPECT_FALSE(parse_ok(get_with({"Connection: keep-alive, close"}, "1.0")).keep_alive);
  EXPECT_EQ(parse_ok(get_with({}, "1.0")).minor_version, 0);
}

TEST(HttpHead, ExpectContinueOnlyOnHttp11) {
  EXPECT_TRUE(parse_ok(get_with({"Expect: 100-continue"})).expect_continue);
  EXPECT_TRUE(parse_ok(get_with({"Expect:   100-CONTINUE  "})).expect_continue);
  EXPECT_FALSE(parse_ok(get_with({"Expect: 100-continue"}, "1.0")).expect_continue);
  EXPECT_FALSE(parse_ok(get_with({"Expect: something-else"})).expect_continue);
}

TEST(HttpHead, ContentLengthForms) {
  EXPECT_EQ(parse_ok(get_with({"Content-Length: 0"})).content_length, 0u);
  EXPECT_EQ(parse_ok(get_with({"Content-Length: 007"})).content_length, 7u);
  EXPECT_EQ(parse_ok(get_with({"Content-Length: 18446744073709551615"})).content_length,
            18446744073709551615u);
  const RequestHead twice = parse_ok(get_with({"Content-Length: 5", "content-length: 5"}));
  EXPECT_TRUE(twice.has_content_length);
  EXPECT_EQ(twice.content_length, 5u);
  EXPECT_FALSE(parse_ok(get_with({})).has_content_length);
}

TEST(HttpHead, KeepsThePathBeforeTheQuery) {
  EXPECT_EQ(parse_ok("GET /a/b?c=d?e HTTP/1.1\r\n\r\n").path, "/a/b");
  EXPECT_EQ(parse_ok("GET /? HTTP/1.1\r\n\r\n").path, "/");
  EXPECT_EQ(parse_ok("GET ?x HTTP/1.1\r\n\r\n").path, "");
  EXPECT_EQ(parse_ok("OPTIONS * HTTP/1.1\r\n\r\n").path, "*");
  EXPECT_EQ(parse_ok("M-SEARCH! /x HTTP/1.1\r\n\r\n").method, "M-SEARCH!");
}

struct Refusal {
  const char* name;
  std::string bytes;
  HeadStatus status;
  int error_status;
  std::string error;
};

TEST(HttpHead, RefusesWhatItCannotReadOneWay) {
  const std::vector<Refusal> cases = {
      {"empty method", " / HTTP/1.1\r\n\r\n", HeadStatus::kBad, 400, "invalid request method"},
      {"method not a token", "GE(T / HTTP/1.1\r\n\r\n", HeadStatus::kBad, 400,
       "invalid request method"},
      {"empty line first", "\r\nGET / HTTP/1.1\r\n\r\n", HeadStatus::kBad, 400,
       "invalid request method"},
      {"no target", "GET\r\n\r\n", HeadStatus::kBad, 400, "invalid request method"},
      {"two spaces", "GET  / HTTP/1.1\r\n\r\n", HeadStatus::kBad, 400, "invalid request target"},
      {"target CTL", std::string("GET /a\x01z HTTP/1.1\r\n\r\n"), HeadStatus::kBad, 400,
       "invalid request target"},
      {"target DEL", "GET /a\x7f HTTP/1.1\r\n\r\n", HeadStatus::kBad, 400,
       "invalid request target"},
      {"target tab", "GET /a\tb HTTP/1.1\r\n\r\n", HeadStatus::kBad, 400, "invalid request target"},
      {"no version", "GET /\r\n\r\n", HeadStatus::kBad, 400, "invalid request target"},
      {"empty version", "GET / \r\n\r\n", HeadStatus::kBad, 400, "invalid HTTP version"},
      {"lowercase version", "GET / http/1.1\r\n\r\n", HeadStatus::kBad, 400,
       "invalid HTTP version"},
      {"short version", "GET / HTTP/1\r\n\r\n", HeadStatus::kBad, 400, "invalid HTTP version"},
      {"long version", "GET / HTTP/1.10\r\n\r\n", HeadStatus::kBad, 400, "invalid HTTP version"},
      {"space after version", "GET / HTTP/1.1 \r\n\r\n", HeadStatus::kBad, 400,
       "invalid HTTP version"},
      {"bare CR after version", "GET / HTTP/1.1\rX\r\n\r\n", HeadStatus::kBad, 400,
       "invalid HTTP version"},
      {"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", HeadStatus::kBad, 505, "HTTP version not supported"},
      {"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HeadStatus::kBad, 505,
       "HTTP version not supported"},
      {"HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", HeadStatus::kBad, 505, "HTTP version not supported"},
      {"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", HeadStatus::kBad, 505, "HTTP version not supported"},
      {"obs-fold", get_with({"X-A: b", " c"}), HeadStatus::kBad, 400, "obsolete header folding"},
      {"obs-fold tab", get_with({"X-A: b", "\tc"}), HeadStatus::kBad, 400,
       "obsolete header folding"},
      {"space before colon", get_with({"Host : x"}), HeadStatus::kBad, 400, "invalid header name"},
      {"no colon", get_with({"Host"}), HeadStatus::kBad, 400, "invalid header name"},
      {"empty name", get_with({": x"}), HeadStatus::kBad, 400, "invalid header name"},
      {"name not a token", get_with({"X(A): x"}), HeadStatus::kBad, 400, "invalid header name"},
      {"NUL in value", get_with({std::string("X-A: a\0b", 8)}), HeadStatus::kBad, 400,
       "invalid character in header value"},
      {"DEL in value", get_with({"X-A: a\x7f"}), HeadStatus::kBad, 400,
       "invalid character in header value"},
      {"bare CR in value", get_with({"X-A: a\rb"}), HeadStatus::kBad, 400,
       "invalid character in header value"},
      {"bare CR as blank line", "GET / HTTP/1.1\r\n\rX", HeadStatus::kBad, 400,
       "invalid line ending"},
      {"Content-Length letters", get_with({"Content-Length: abc"}), HeadStatus::kBad, 400,
       "invalid Content-Length"},
      {"Content-Length empty", get_with({"Content-Length:"}), HeadStatus::kBad, 400,
       "invalid Content-Length"},
      {"Content-Length negative", get_with({"Content-Length: -5"}), HeadStatus::kBad, 400,
       "invalid Content-Length"},
      {"Content-Length plus", get_with({"Content-Length: +5"}), HeadStatus::kBad, 400,
       "invalid Content-Length"},
      {"Content-Length hex", get_with({"Content-Length: 0x5"}), HeadStatus::kBad, 400,
       "invalid Content-Length"},
      {"Content-Length two numbers", get_with({"Content-Length: 5 5"}), HeadStatus::kBad, 400,
       "invalid Content-Length"},
      {"Content-Length list", get_with({"Content-Length: 5, 5"}), HeadStatus::kBad, 400,
       "invalid Content-Length"},
      {"Content-Length overflow", get_with({"Content-Length: 18446744073709551616"}),
       HeadStatus::kBad, 400, "invalid Content-Length"},
      {"Content-Length conflict", get_with({"Content-Length: 5", "Content-Length: 6"}),
       HeadStatus::kBad, 400, "conflicting Content-Length values"},
      {"Content-Length then chunked", get_with({"Content-Length: 5", "Transfer-Encoding: chunked"}),
       HeadStatus::kBad, 400, "both Content-Length and Transfer-Encoding"},
      {"chunked then Content-Length", get_with({"Transfer-Encoding: chunked", "Content-Length: 5"}),
       HeadStatus::kBad, 400, "both Content-Length and Transfer-Encoding"},
      {"gzip", get_with({"Transfer-Encoding: gzip"}), HeadStatus::kBad, 501,
       "unsupported Transfer-Encoding"},
      {"coding list", get_with({"Transfer-Encoding: gzip, chunked"}), HeadStatus::kBad, 501,
       "unsupported Transfer-Encoding"},
      {"chunked twice", get_with({"Transfer-Encoding: chunked, chunked"}), HeadStatus::kBad, 501,
       "unsupported Transfer-Encoding"},
      {"two chunked fields", get_with({"Transfer-Encoding: chunked", "Transfer-Encoding: chunked"}),
       HeadStatus::kBad, 501, "unsupported Transfer-Encoding"},
      {"chunked parameter", get_with({"Transfer-Encoding: chunked;q=1"}), HeadStatus::kBad, 501,
       "unsupported Transfer-Encoding"},
      {"empty coding", get_with({"Transfer-Encoding:"}), HeadStatus::kBad, 501,
       "unsupported Transfer-Encoding"},
      {"chunked on 1.0", get_with({"Transfer-Encoding: chunked"}, "1.0"), HeadStatus::kBad, 400,
       "Transfer-Encoding in an HTTP/1.0 request"},
  };
  for (const Refusal& c : cases) {
    RequestHead head;
    EXPECT_EQ(parse_head(c.bytes, kLimit, head), c.status) << c.name;
    EXPECT_EQ(head.error_status, c.error_status) << c.name;
    EXPECT_EQ(head.error, c.error) << c.name;
    // The promise that lets the server parse again after every read: once refused, more bytes
    // change nothing.
    RequestHead more;
    EXPECT_EQ(parse_head(c.bytes + "GET / HTTP/1.1\r\n\r\n", kLimit, more), c.status) << c.name;
    EXPECT_EQ(more.error, c.error) << c.name;
  }
}

TEST(HttpHead, RefusesABadLineBeforeTheHeadIsComplete) {
  RequestHead head;
  EXPECT_EQ(parse_head("GET / HTTP/1.1\r\nBad Name: x\r\n", kLimit, head), HeadStatus::kBad);
  EXPECT_EQ(head.error_status, 400);
  EXPECT_EQ(parse_head("GET / HTTP/2.0\r\n", kLimit, head), HeadStatus::kBad);
  EXPECT_EQ(head.error_status, 505);
  EXPECT_EQ(parse_head("GET /\x01", kLimit, head), HeadStatus::kBad);
  // A line not yet complete is not judged on what it may still become.
  EXPECT_EQ(parse_head("GET / HTTP/1.1\r\nContent-Length: 12", kLimit, head),
            HeadStatus::kIncomplete);
  EXPECT_EQ(parse_head("GET / HTTP/1.1\r\nX: a\r", kLimit, head), HeadStatus::kIncomplete);
}

TEST(HttpHead, RefusesAHeadOverTheLimitWith431) {
  const std::string head_text = get_with({"X-Pad: " + std::string(100, 'p')});
  RequestHead head;
  // Exactly at the limit is fine; the blank line counts.
  EXPECT_EQ(parse_head(head_text, head_text.size(), head), HeadStatus::kComplete);
  EXPECT_EQ(head.head_bytes, head_text.size());
  // A complete head one byte over.
  EXPECT_EQ(parse_head(head_text + "body", head_text.size() - 1, head), HeadStatus::kTooLarge);
  EXPECT_EQ(head.error_status, 431);
  EXPECT_EQ(head.error, "request head over " + std::to_string(head_text.size() - 1) + " bytes");
  // No blank line yet: incomplete up to the limit, too large past it.
  const std::string partial = head_text.substr(0, 60);
  EXPECT_EQ(parse_head(partial, 60, head), HeadStatus::kIncomplete);
  EXPECT_EQ(parse_head(partial, 59, head), HeadStatus::kTooLarge);
  EXPECT_EQ(head.error_status, 431);
  EXPECT_EQ(parse_head(std::string(kLimit + 1, 'G'), kLimit, head), HeadStatus::kTooLarge);
  EXPECT_EQ(head.error, "request head over 16384 bytes");
  // The final CR inside the limit but its LF past it.
  const std::string crlf = "GET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(parse_head(crlf, crlf.size() - 1, head), HeadStatus::kTooLarge);
}

TEST(HttpHead, RefusesMoreThanMaxHeadersWith431) {
  std::vector<std::string> fields;
  for (std::size_t i = 0; i < kMaxHeaders; ++i) fields.push_back("X-H" + std::to_string(i) + ": v");
  RequestHead head;
  EXPECT_EQ(parse_head(get_with(fields), kLimit, head), HeadStatus::kComplete) << head.error;
  fields.push_back("X-One-Too-Many: v");
  EXPECT_EQ(parse_head(get_with(fields), kLimit, head), HeadStatus::kTooLarge);
  EXPECT_EQ(head.error_status, 431);
  EXPECT_EQ(head.error, "more than 100 header fields");
}

// A chunked body with extensions and trailers, then the next pipelined request.
const std::string kChunkedBody =
    "4;name=value\r\nWiki\r\n"
    "5 ; quoted=\"a;b\"\r\npedia\r\n"
    "e\r\n in\r\n\r\nchunks.\r\n"
    "0;last\r\n"
    "Expires: never\r\n"
    "X-Checksum: 1\r\n"
    "\r\n";
const std::string kPipelined = "GET /healthz HTTP/1.1\r\n\r\n";
const std::string kDecoded = "Wikipedia in\r\n\r\nchunks.";

struct Decoded {
  ChunkedDecoder::Status status;
  std::string body;
  std::size_t consumed;  // in total, over all feeds
};

// Feeds `in` in pieces of `step` bytes until a status other than kNeedMore.
Decoded decode(std::string_view in, std::size_t step, std::size_t max_body = 1 << 20) {
  ChunkedDecoder d;
  Decoded out{ChunkedDecoder::Status::kNeedMore, "", 0};
  std::size_t at = 0;
  do {
    const std::string_view piece = in.substr(at, step);
    std::size_t consumed = 0;
    out.status = d.feed(piece, max_body, out.body, consumed);
    EXPECT_LE(consumed, piece.size());
    if (out.status == ChunkedDecoder::Status::kNeedMore) {
      EXPECT_EQ(consumed, piece.size());
    }
    out.consumed += consumed;
    at += piece.size();
  } while (out.status == ChunkedDecoder::Status::kNeedMore && at < in.size());
  return out;
}

TEST(HttpChunked, DecodesInOnePieceAndByteByByteAlike) {
  const std::string in = kChunkedBody + kPipelined;
  const Decoded whole = decode(in, in.size());
  EXPECT_EQ(whole.status, ChunkedDecoder::Status::kDone);
  EXPECT_EQ(whole.body, kDecoded);
  EXPECT_EQ(whole.consumed, kChunkedBody.size());

  const Decoded bytes = decode(in, 1);
  EXPECT_EQ(bytes.status, ChunkedDecoder::Status::kDone);
  EXPECT_EQ(bytes.body, kDecoded);
  EXPECT_EQ(bytes.consumed, kChunkedBody.size());
}

TEST(HttpChunked, EverySplitInTwoGivesTheSameResult) {
  const std::string in = kChunkedBody + kPipelined;
  for (std::size_t split = 0; split <= in.size(); ++split) {
    ChunkedDecoder d;
    std::string body;
    std::size_t first = 0;
    std::size_t second = 0;
    auto status = d.feed(std::string_view(in).substr(0, split), 1 << 20, body, first);
    if (status == ChunkedDecoder::Status::kNeedMore) {
      EXPECT_EQ(first, split);
      status = d.feed(std::string_view(in).substr(split), 1 << 20, body, second);
    }
    EXPECT_EQ(status, ChunkedDecoder::Status::kDone) << split;
    EXPECT_EQ(body, kDecoded) << split;
    EXPECT_EQ(first + second, kChunkedBody.size()) << split;
  }
}

TEST(HttpChunked, StaysDoneAndConsumesNothingMore) {
  ChunkedDecoder d;
  std::string body;
  std::size_t consumed = 99;
  ASSERT_EQ(d.feed("0\r\n\r\n", 10, body, consumed), ChunkedDecoder::Status::kDone);
  EXPECT_EQ(consumed, 5u);
  EXPECT_EQ(body, "");
  EXPECT_EQ(d.feed(kPipelined, 10, body, consumed), ChunkedDecoder::Status::kDone);
  EXPECT_EQ(consumed, 0u);
}

TEST(HttpChunked, AcceptsBareLfOnSizeAndTrailerLines) {
  const Decoded d = decode("3\nabc\r\nA;x\n0123456789\r\n0\nX: y\n\nNEXT", 1000);
  EXPECT_EQ(d.status, ChunkedDecoder::Status::kDone);
  EXPECT_EQ(d.body, "abc0123456789");
  EXPECT_EQ(d.consumed, 31u);
}

TEST(HttpChunked, EmptyInputNeedsMore) {
  ChunkedDecoder d;
  std::string body;
  std::size_t consumed = 7;
  EXPECT_EQ(d.feed("", 10, body, consumed), ChunkedDecoder::Status::kNeedMore);
  EXPECT_EQ(consumed, 0u);
}

TEST(HttpChunked, RefusesBadFraming) {
  const std::vector<std::string> bad = {
      "g\r\n",                 // not hex
      "\r\n",                  // no size
      ";x\r\n",                // extension without a size
      "0x5\r\n",               // C prefix
      "-1\r\n",                // sign
      "3 \r\nabc\r\n",         // whitespace not before ';'
      "3\rX",                  // CR without LF
      "3\r\nabcX",             // no line end after data
      "3\r\nabc\n0\r\n\r\n",   // bare LF after data
      "3\r\nabc\rX",           // CR then not LF after data
      "3\r\nabcd\r\n",         // more data than the size
      "1000000000000000\r\n",  // 16 hex digits
      "0000000000000001\r\n",  // leading zeros count too
      "0\r\nX: y\rZ\r\n\r\n",  // bare CR in a trailer line
      "0\r\n\rX",              // bare CR as the final line
      "3;ext\rX",              // bare CR in an extension
  };
  for (const std::string& in : bad) {
    const Decoded d = decode(in, in.size());
    EXPECT_EQ(d.status, ChunkedDecoder::Status::kBad) << in;
    EXPECT_EQ(decode(in, 1).status, ChunkedDecoder::Status::kBad) << in;
  }
  // Once refused, it stays refused.
  ChunkedDecoder d;
  std::string body;
  std::size_t consumed = 0;
  ASSERT_EQ(d.feed("g", 10, body, consumed), ChunkedDecoder::Status::kBad);
  EXPECT_EQ(d.feed("0\r\n\r\n", 10, body, consumed), ChunkedDecoder::Status::kBad);
  EXPECT_EQ(consumed, 0u);
}

TEST(HttpChunked, AcceptsFifteenHexDigits) {
  // 15 digits parse; the size is refused by max_body, not by overflow.
  EXPECT_EQ(decode("fffffffffffffff\r\n", 100, 1000).status, ChunkedDecoder::Status::kTooLarge);
  EXPECT_EQ(decode("000000000000003\r\nabc\r\n0\r\n\r\n", 100).body, "abc");
}

TEST(HttpChunked, RefusesEndlessExtensionsAndTrailers) {
  EXPECT_EQ(decode("1;" + std::string(5000, 'x'), 4096).status, ChunkedDecoder::Status::kBad);
  EXPECT_EQ(decode("1;" + std::string(4000, 'x') + "\r\na\r\n0\r\n\r\n", 4096).status,
            ChunkedDecoder::Status::kDone);
  std::string trailers = "0\r\n";
  for (int i = 0; i < 2000; ++i) trailers += "X: 1234\r\n";
  EXPECT_EQ(decode(trailers, 4096).status, ChunkedDecoder::Status::kBad);
}

TEST(HttpChunked, RefusesABodyOverMaxBody) {
  const std::string in = "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
  EXPECT_EQ(decode(in, in.size(), 6).status, ChunkedDecoder::Status::kDone);
  const Decoded d = decode(in, in.size(), 5);
  EXPECT_EQ(d.status, ChunkedDecoder::Status::kTooLarge);
  // Refused at the second size line, before any of its data is appended.
  EXPECT_EQ(d.body, "abc");
  EXPECT_EQ(d.consumed, 11u);
  EXPECT_EQ(decode(in, 1, 5).status, ChunkedDecoder::Status::kTooLarge);
  EXPECT_EQ(decode("1\r\n", 10, 0).status, ChunkedDecoder::Status::kTooLarge);
}

TEST(HttpChunked, AppendsToWhatTheBodyHeld) {
  ChunkedDecoder d;
  std::string body = "kept:";
  std::size_t consumed = 0;
  // max_body counts decoded bytes, not what the string held before.
  ASSERT_EQ(d.feed("3\r\nabc\r\n0\r\n\r\n", 3, body, consumed), ChunkedDecoder::Status::kDone);
  EXPECT_EQ(body, "kept:abc");
}

}  // namespace
}  // namespace latticeguard::webhook::http

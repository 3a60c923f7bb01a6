// rules/core/json_reader.h: parse_json accepts exactly what json::parse accepts and builds the
// identical document, on the API server's real reviews and responses and on the edge cases where
// two JSON readers usually differ.
#include "rules/core/json_reader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace latticeguard {
namespace {

using nlohmann::json;

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The body of a captured HTTP response (after the blank line), when it is not compressed.
std::string http_body(const std::string& capture) {
  if (capture.find("Content-Encoding: gzip") != std::string::npos) return "";
  size_t at = capture.find("\r\n\r\n");
  if (at != std::string::npos) return capture.substr(at + 4);
  at = capture.find("\n\n");
  return at == std::string::npos ? "" : capture.substr(at + 2);
}

TEST(JsonReaderTest, BuildsTheSameDocumentsAsJsonParseFromTheApiServersOwnBytes) {
  int compared = 0;
  for (const auto& e : std::filesystem::directory_iterator(LG_CORPUS_DIR "/admission-captures")) {
    if (e.path().extension() != ".json") continue;
    const std::string text = read(e.path());
    const json expected = json::parse(text, nullptr, false);
    ASSERT_FALSE(expected.is_discarded()) << e.path();
    const json got = parse_json(text);
    EXPECT_TRUE(identical(expected, got)) << e.path();
    ++compared;
  }
  for (const auto& e : std::filesystem::directory_iterator(LG_CORPUS_DIR "/apiserver-captures")) {
    const std::string body = http_body(read(e.path()));
    // Watch streams are one event per line; every other body is one document.
    std::vector<std::string> docs;
    if (e.path().filename().string().find("watch") != std::string::npos) {
      std::istringstream lines(body);
      for (std::string line; std::getline(lines, line);) docs.push_back(line);
    } else {
      docs.push_back(body);
    }
    for (const std::string& d : docs) {
      const json expected = json::parse(d, nullptr, false);
      if (expected.is_discarded()) continue;  // chunk sizes, empty lines
      EXPECT_TRUE(identical(expected, parse_json(d))) << e.path();
      ++compared;
    }
  }
  EXPECT_GT(compared, 120);
}

struct Case {
  std::string text;
  bool valid;
  // json::parse takes a raw NUL byte outside strings as the end of the text and ignores what
  // follows; parse_json rejects the text (the one place the two differ, on purpose).
  bool json_parse_accepts_anyway = false;
};

TEST(JsonReaderTest, AcceptsAndRejectsWhatJsonParseDoes) {
  const std::vector<Case> cases = {
      {R"({"a":1})", true},
      {"", false},
      {" \t\r\n", false},
      {R"({"a":1} x)", false},
      {R"({"a":1} )", true},
      {std::string("{}\0", 3), false, true},  // a raw NUL after the value
      {std::string("{}\0[", 4), false, true},
      {std::string("[\"a\0b\"]", 7), false},  // a raw NUL inside a string
      {"\xEF\xBB\xBF{}", true},               // byte order mark
      {"\xEF\xBB{}", false},
      {R"(["\uD83D\uDE00"])", true},  // surrogate pair
      {R"(["\uDC00"])", false},       // lone low surrogate
      {R"(["a\uDFFFb"])", false},
      {R"(["\uD800"])", false},  // lone high surrogate
      {R"(["\uD800\u0041"])", false},
      {R"(["\u0000"])", true},            // escaped NUL is a character
      {"[\"\xFF\"]", false},              // not UTF-8
      {"[\"\xC0\xAF\"]", false},          // overlong
      {"[\"\xED\xA0\x80\"]", false},      // raw surrogate bytes
      {"[\"\xF4\x90\x80\x80\"]", false},  // beyond U+10FFFF
      {"[\"\xE2\x82\xAC\xF0\x9F\x98\x80\"]", true},
      {"[\"\xE0\x80\x80\"]", false},      // overlong, three bytes
      {"[\"\xF0\x80\x80\x80\"]", false},  // overlong, four bytes
      {"[\"\xC3\"]", false},              // cut short
      {"[\"abcdefghijklmnop\xE2\x82\"]", false},
      {"[\"\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF\xF4\x8F\xBF\xBF\"]",
       true},                    // U+D7FF U+E000 U+FFFF U+10FFFF
      {"[\"\x80\"]", false},     // a continuation byte alone
      {"{\"k\xFF\":1}", false},  // keys are checked too
      {"{\"0123456789abcdef\xC3\xA9\":1}", true},
      {"[\xC3\xA9]", false},  // outside a string
      {"[\"\x01\"]", false},  // control character
      {"[\"\x7F\"]", true},
      {R"(["\x"])", false},
      {R"(["\/"])", true},
      {"[-0]", true},
      {"[-0.0]", true},
      {"[01]", false},
      {"[1.]", false},
      {"[.5]", false},
      {"[1e]", false},
      {"[1E+2]", true},
      {"[1e400]", false},  // overflows a double
      {"[-1e400]", false},
      {"[1e-400]", true},
      {"[18446744e308]", false},  // overflows; RapidJSON alone says -5.7e-302
      {"[0e400]", true},          // RapidJSON alone refuses these two
      {"[-0.0e999]", true},
      {"[0.00001e310]", true},
      {"[18446744073709551615]", true},
      {"[18446744073709551616]", true},
      {"[-9223372036854775808]", true},
      {"[-9223372036854775809]", true},
      {"[0.1, 123456789012345678901234567890, 2.2250738585072011e-308]", true},
      {"[1,]", false},
      {R"({"a":1,})", false},
      {R"({"a" 1})", false},
      {R"({1:1})", false},
      {R"({"a":1,"a":2})", true},  // duplicate keys: the last one stays
      {"[NaN]", false},
      {"[Infinity]", false},
      {"// c\n{}", false},
      {"[true, false, null]", true},
      {"[tru]", false},
      {"'a'", false},
      {"\"top-level string\"", true},
      {"42", true},
  };
  for (const Case& c : cases) {
    const json expected = json::parse(c.text, nullptr, false);
    ASSERT_EQ(!expected.is_discarded(), c.valid || c.json_parse_accepts_anyway)
        << "json::parse on: " << c.text;
    const json got = parse_json(c.text);
    EXPECT_EQ(!got.is_discarded(), c.valid) << c.text;
    if (c.valid) {
      EXPECT_TRUE(identical(expected, got)) << c.text << " -> " << got.dump();
    }
  }
}

TEST(JsonReaderTest, KeepsNumberTypesAsJsonParseDoes) {
  const json doc = parse_json("[0, -0, -1, 4294967296, 18446744073709551616, 1.0, -0.0]");
  ASSERT_TRUE(doc.is_array());
  EXPECT_TRUE(doc[0].is_number_unsigned());
  EXPECT_TRUE(doc[1].is_number_integer() && !doc[1].is_number_unsigned());
  EXPECT_EQ(doc[2].get<int64_t>(), -1);
  EXPECT_EQ(doc[3].get<uint64_t>(), 4294967296u);
  EXPECT_TRUE(doc[4].is_number_float());
  EXPECT_TRUE(doc[5].is_number_float());
  EXPECT_TRUE(std::signbit(doc[6].get<double>()));
  EXPECT_EQ(parse_json(R"({"a":1,"a":2})")["a"], 2);
  EXPECT_EQ(parse_json(R"(["\u0000x"])")[0].get<std::string>(), std::string("\0x", 2));
}

TEST(JsonReaderTest, NestingCostsHeapNotStack) {
  const size_t depth = 200000;
  const std::string text = std::string(depth, '[') + std::string(depth, ']');
  const json doc = parse_json(text);
  ASSERT_TRUE(doc.is_array());
  EXPECT_FALSE(parse_json(std::string(depth, '[') + std::string(depth - 1, ']')).is_array());
}

// A failed read names the byte where the text goes wrong and what is wrong there, counted in the
// text as given (a byte order mark included).
TEST(JsonReaderTest, SaysWhereAndWhyTheTextIsNotJson) {
  using Dom = nlohmann::detail::json_sax_dom_parser<json>;
  struct Case {
    std::string text;
    std::size_t offset;
    std::string_view reason;
  };
  const std::vector<Case> cases = {
      {"", 0, "no value"},
      {"   ", 3, "no value"},
      {R"({"a":1 "b":2})", 7, "expected ',' or '}' after a member"},
      {"[1,2", 4, "expected ',' or ']' after an element"},
      {R"({"a" 1})", 5, "expected ':' after a member name"},
      {R"({"a":1,})", 7, "expected a member name"},
      {R"({"a":tru})", 8, "invalid value"},
      {"{} x", 3, "text after the value"},
      {R"(["abc)", 5, "unterminated string"},
      {R"(["\q"])", 2, "invalid escape"},
      {R"(["\u12G4"])", 2, "invalid \\u escape"},
      {R"(["\uD800x"])", 2, "invalid surrogate pair"},
      {"[1.]", 3, "invalid number"},
      {"[1e]", 3, "invalid number"},
      {"[18446744e308]", 1, "number out of range"},
      {"[\"a\xFF"
       "b\"]",
       5, "invalid UTF-8 or a lone surrogate in the string that ends here"},
      {R"(["\uDC00"])", 8, "invalid UTF-8 or a lone surrogate in the string that ends here"},
      {std::string("{\"a\":1}\0", 8), 7, "NUL byte"},
      {"\xEF\xBB\xBF{\"a\":}", 8, "invalid value"},
      // The second read, by json::sax_parse, for an exponent past 308.
      {"[0e400, x]", 8, "syntax error"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    json doc;
    const ReadResult r = sax_read<Dom>(c.text, doc, false);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.offset, c.offset);
    EXPECT_EQ(r.reason, c.reason);
  }
  json doc;
  EXPECT_TRUE(sax_read<Dom>("[0e400]", doc, false));
  EXPECT_EQ(doc, json::parse("[0e400]"));
}

// A handler that refuses a value stops the read, and the read reports failure.
TEST(JsonReaderTest, AHandlerCanStopTheRead) {
  // sax_read calls the handler statically: hiding key() is enough.
  struct StopAtSecondKey : nlohmann::detail::json_sax_dom_parser<json> {
    StopAtSecondKey(json& doc, int& n) : json_sax_dom_parser(doc, false), keys(n) {}
    bool key(json::string_t& k) { return ++keys < 2 && json_sax_dom_parser::key(k); }
    int& keys;
  };
  json doc;
  int keys = 0;
  const ReadResult stopped = sax_read<StopAtSecondKey>(R"({"a":1,"b":2,"c":3})", doc, keys);
  EXPECT_FALSE(stopped);
  EXPECT_EQ(stopped.reason, "refused by the reader's handler");
  EXPECT_EQ(keys, 2);
  keys = 0;
  EXPECT_TRUE(sax_read<StopAtSecondKey>(R"({"a":[1,2,{}]})", doc, keys));
  EXPECT_EQ(keys, 1);
  EXPECT_EQ(doc, json::parse(R"({"a":[1,2,{}]})"));
}

}  // namespace
}  // namespace latticeguard

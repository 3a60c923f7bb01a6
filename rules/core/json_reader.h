// JSON text to nlohmann events and DOMs, read by RapidJSON's tokenizer.
//
//   json doc = parse_json(body);                 // like json::parse(body, nullptr, false)
//   if (doc.is_discarded()) ...                  // not valid JSON
//   if (ReadResult r = read_json(body, doc); !r) ... "not JSON" + at_byte(r)
//   ReadResult r = sax_read<MySax>(body, args);  // any handler with nlohmann's SAX interface
//   if (!r) ... r.offset, r.reason               // where and why the text is not valid JSON
//
// nlohmann's own lexer reads one byte at a time through an input adapter and copies every byte
// it reads into an error-reporting buffer; on the API server's reviews and list pages that is
// more than half of parsing. RapidJSON's reader tokenizes the same text about three times
// faster. Here it only tokenizes: values still become nlohmann values through nlohmann's own DOM
// builder (or the caller's SAX handler), so documents come out exactly as json::parse builds
// them.
//
// What is accepted is what json::parse accepts (fuzz/json_reader.cpp checks this against
// json::parse on every input): RFC 8259 text, UTF-8 validated inside strings, a leading UTF-8
// byte order mark skipped, integers kept as nlohmann keeps them (non-negative as unsigned,
// negative as signed, beyond 64 bits as double), no comments, NaN or trailing text. One
// difference, on purpose: json::parse takes a raw NUL byte outside strings as the end of the
// text and ignores the rest; here such a text is invalid. The reader never recurses, so nesting
// depth costs heap, not stack. A failed read says where it stopped (a byte offset into the text)
// and why, in a few words, so an error can point at the byte a client got wrong.
//
// Thread safety: stateless; call from any number of threads.
#pragma once

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "rules/core/utf8.h"

namespace latticeguard {

// The outcome of sax_read: true when the text was read to its end. Otherwise `offset` is the
// byte of the text where reading stopped and `reason` (static text) says what was wrong there.
struct ReadResult {
  bool ok = true;
  std::size_t offset = 0;
  std::string_view reason;
  explicit operator bool() const { return ok; }
};

namespace json_reader_detail {

// A few words for each way RapidJSON's reader stops; kParseErrorTermination (a handler said no)
// carries the handler's own reason instead.
inline std::string_view reason_of(rapidjson::ParseErrorCode code) {
  switch (code) {
    case rapidjson::kParseErrorDocumentEmpty:
      return "no value";
    case rapidjson::kParseErrorDocumentRootNotSingular:
      return "text after the value";
    case rapidjson::kParseErrorValueInvalid:
      return "invalid value";
    case rapidjson::kParseErrorObjectMissName:
      return "expected a member name";
    case rapidjson::kParseErrorObjectMissColon:
      return "expected ':' after a member name";
    case rapidjson::kParseErrorObjectMissCommaOrCurlyBracket:
      return "expected ',' or '}' after a member";
    case rapidjson::kParseErrorArrayMissCommaOrSquareBracket:
      return "expected ',' or ']' after an element";
    case rapidjson::kParseErrorStringUnicodeEscapeInvalidHex:
      return "invalid \\u escape";
    case rapidjson::kParseErrorStringUnicodeSurrogateInvalid:
      return "invalid surrogate pair";
    case rapidjson::kParseErrorStringEscapeInvalid:
      return "invalid escape";
    case rapidjson::kParseErrorStringMissQuotationMark:
      return "unterminated string";
    case rapidjson::kParseErrorStringInvalidEncoding:
      return "invalid UTF-8 in a string";
    case rapidjson::kParseErrorNumberTooBig:
    case rapidjson::kParseErrorNumberMissFraction:
    case rapidjson::kParseErrorNumberMissExponent:
      return "invalid number";
    default:
      return "syntax error";
  }
}

// Sax with the position of nlohmann's parse error kept, for the second read.
template <class Sax>
struct Positioned : Sax {
  using Sax::Sax;
  bool parse_error(std::size_t pos, const std::string& token,
                   const nlohmann::detail::exception& e) {
    error_pos = pos;
    return Sax::parse_error(pos, token, e);
  }
  std::size_t error_pos = 0;
};

// Turns RapidJSON's handler calls into calls of a handler with nlohmann's SAX interface.
template <class Sax>
class Events {
 public:
  using json = nlohmann::json;
  explicit Events(Sax& sax) : sax_(sax) {}

  bool Null() { return sax_.null(); }
  bool Bool(bool b) { return sax_.boolean(b); }
  // Numbers arrive as their text (kParseNumbersAsStringsFlag): RapidJSON's own conversion can
  // return a wrong value instead of failing on an overflowing exponent ("18446744e308").
  bool Int(int) { return false; }
  bool Uint(unsigned) { return false; }
  bool Int64(int64_t) { return false; }
  bool Uint64(uint64_t) { return false; }
  bool Double(double) { return false; }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return number(s, n); }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (!valid_utf8(s, n)) return false;
    text_.assign(s, n);
    return sax_.string(text_);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (!valid_utf8(s, n)) return false;
    text_.assign(s, n);
    return sax_.key(text_);
  }
  bool StartObject() { return sax_.start_object(static_cast<std::size_t>(-1)); }
  bool EndObject(rapidjson::SizeType) { return sax_.end_object(); }
  bool StartArray() { return sax_.start_array(static_cast<std::size_t>(-1)); }
  bool EndArray(rapidjson::SizeType) { return sax_.end_array(); }

  // Why the call that returned false did so (reading stops at the first); the handler's own
  // refusals keep the default.
  std::string_view reason() const { return reason_; }
  // How far before the reader's position the fault is: RapidJSON hands a string over after
  // reading its closing quote, and the fault is reported at that quote.
  std::size_t back() const { return back_; }

 private:
  // As nlohmann's lexer converts a number token (already checked against the JSON grammar): an
  // integer that fits 64 bits stays an integer (unsigned unless negative), anything else is a
  // double from strtod, and a double that overflows is invalid.
  bool number(const char* s, std::size_t n) {
    const char* end = s + n;
    if (std::find_if(s, end, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) == end) {
      if (*s == '-') {
        json::number_integer_t v = 0;
        if (auto r = std::from_chars(s, end, v); r.ec == std::errc() && r.ptr == end) {
          return sax_.number_integer(v);
        }
      } else {
        json::number_unsigned_t v = 0;
        if (auto r = std::from_chars(s, end, v); r.ec == std::errc() && r.ptr == end) {
          return sax_.number_unsigned(v);
        }
      }
    }
    // strtod, not from_chars: from_chars reports underflow ("1e-400") as an error, where
    // json::parse takes the 0 strtod returns. The C locale (never changed here) reads '.'.
    text_.assign(s, n);
    const double d = std::strtod(text_.c_str(), nullptr);
    if (!std::isfinite(d)) {
      reason_ = "number out of range";
      return false;
    }
    return sax_.number_float(d, text_);
  }

  // Strings are checked here rather than by RapidJSON (kParseValidateEncodingFlag), which
  // transcodes every byte and costs a fifth of the whole read. The check refuses surrogates, so
  // it also catches RapidJSON's decoding of a lone low surrogate escape (\uDC00 becomes ED B0
  // 80), which json::parse rejects.
  bool valid_utf8(const char* s, std::size_t n) {
    if (invalid_utf8_at(std::string_view(s, n)) == std::string_view::npos) return true;
    reason_ = "invalid UTF-8 or a lone surrogate in the string that ends here";
    back_ = 1;
    return false;
  }

  Sax& sax_;
  json::string_t text_;
  std::string_view reason_ = "refused by the reader's handler";
  std::size_t back_ = 0;
};

}  // namespace json_reader_detail

// Reads `text` into a handler with nlohmann's SAX interface (null(), boolean(),
// number_integer(), ..., key(), end_array(), parse_error()), made as Sax(args...); false when
// the text is not valid JSON or a handler call returned false, with where and why. The handler
// is made afresh for a second read in one case: RapidJSON refuses a number whose written
// exponent passes 308 even when its value does not ("0e400"), and such a text is then read again
// by json::sax_parse.
template <class Sax, class... Args>
ReadResult sax_read(std::string_view text, Args&&... args) {
  // A raw NUL byte is never valid JSON text, and RapidJSON's streams use NUL as their end mark.
  if (const void* nul = std::memchr(text.data(), '\0', text.size()); nul != nullptr) {
    return {false, static_cast<std::size_t>(static_cast<const char*>(nul) - text.data()),
            "NUL byte"};
  }
  {
    std::string_view body = text;
    if (body.size() >= 3 && body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);
    constexpr unsigned kFlags =
        rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;
    rapidjson::MemoryStream in(body.data(), body.size());
    Sax sax(args...);
    json_reader_detail::Events<Sax> events(sax);
    rapidjson::Reader reader;
    const rapidjson::ParseResult r = reader.Parse<kFlags>(in, events);
    if (!r.IsError()) return {};
    if (r.Code() != rapidjson::kParseErrorNumberTooBig) {
      const bool handler = r.Code() == rapidjson::kParseErrorTermination;
      return {false, r.Offset() - (handler ? events.back() : 0) + (text.size() - body.size()),
              handler ? events.reason() : json_reader_detail::reason_of(r.Code())};
    }
  }
  json_reader_detail::Positioned<Sax> sax(args...);
  if (nlohmann::json::sax_parse(text, &sax)) return {};
  // nlohmann counts the bytes read, the offending one included.
  return {false, sax.error_pos > 0 ? sax.error_pos - 1 : 0, "syntax error"};
}

// Reads `text` into `doc`; on failure says where and why (`doc` is then unspecified).
inline ReadResult read_json(std::string_view text, nlohmann::json& doc) {
  using Dom = nlohmann::detail::json_sax_dom_parser<nlohmann::json>;
  return sax_read<Dom>(text, doc, false);
}

// " at byte N: reason" for a failed read, to follow "... is not JSON" in an error message.
inline std::string at_byte(const ReadResult& r) {
  return " at byte " + std::to_string(r.offset) + ": " + std::string(r.reason);
}

// The DOM of `text`, or a discarded value (is_discarded()) when it is not valid JSON: the same
// as json::parse(text, nullptr, false).
inline nlohmann::json parse_json(std::string_view text) {
  nlohmann::json doc;
  if (!read_json(text, doc)) return nlohmann::json(nlohmann::json::value_t::discarded);
  return doc;
}

// True when `a` and `b` hold the same values with the same types throughout. json's operator==
// calls 1 (unsigned) and 1 (signed) equal, and 0.0 and -0.0; this does not. For checking that two
// readers agree (tests, fuzz/json_reader.cpp).
inline bool identical(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_number_float()) {
    const double x = a.get<double>(), y = b.get<double>();
    return std::memcmp(&x, &y, sizeof x) == 0;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
      if (i.key() != j.key() || !identical(*i, *j)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!identical(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace latticeguard

#pragma once

// Where report.html's parts write: markup appended as is, text from the document escaped. Into
// a stream through a small buffer (handed on every 64 kB, so that no part of the page, not
// even the heatmap, is held whole), or into one string that is the page itself.

#include "html_text.hpp"

#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>

namespace bdd::report {

class HtmlOut {
public:
  // Writes to `stream`, or, when it is nullptr, keeps the page for `take()`.
  explicit HtmlOut(std::ostream* stream) : m_stream(stream) {}
  HtmlOut(const HtmlOut&) = delete;
  HtmlOut& operator=(const HtmlOut&) = delete;
  ~HtmlOut() { flush(); }

  // Markup written as it is: only ever bdd's own text, never the document's.
  HtmlOut& operator<<(std::string_view markup) {
    m_buffer += markup;
    spill();
    return *this;
  }
  // Text from the document, escaped (append_html).
  HtmlOut& text(std::string_view untrusted, std::size_t max_code_points = k_whole_text) {
    append_html(m_buffer, untrusted, max_code_points);
    spill();
    return *this;
  }
  // Hand the buffer to the stream.
  void flush();
  // The page, when there is no stream.
  std::string take() { return std::move(m_buffer); }

private:
  void spill() {
    if (m_stream != nullptr && m_buffer.size() >= k_spill_bytes) {
      flush();
    }
  }

  static constexpr std::size_t k_spill_bytes = 64 * 1024;
  std::ostream* m_stream;
  std::string m_buffer;
};

} // namespace bdd::report

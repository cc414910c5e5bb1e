#include <bdd/storage/parquet_thrift.hpp>

#include <limits>

namespace bdd::storage::parquet::thrift {

namespace {

void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

std::uint64_t zigzag(std::int64_t value) {
  return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}

std::int64_t unzigzag(std::uint64_t value) {
  return static_cast<std::int64_t>(value >> 1) ^ -static_cast<std::int64_t>(value & 1);
}

} // namespace

// --- Writer --------------------------------------------------------------------------------

void Writer::end_struct() {
  m_out.push_back(static_cast<char>(Type::stop));
  m_last_ids.pop_back();
}

void Writer::field_header(std::int16_t id, Type type) {
  const int delta = id - m_last_ids.back();
  if (delta > 0 && delta <= 15) {
    m_out.push_back(static_cast<char>((delta << 4) | static_cast<int>(type)));
  } else {
    m_out.push_back(static_cast<char>(type));
    append_varint(m_out, zigzag(id));
  }
  m_last_ids.back() = id;
}

void Writer::field_i32(std::int16_t id, std::int32_t value) {
  field_header(id, Type::i32);
  append_varint(m_out, zigzag(value));
}

void Writer::field_i64(std::int16_t id, std::int64_t value) {
  field_header(id, Type::i64);
  append_varint(m_out, zigzag(value));
}

void Writer::field_bool(std::int16_t id, bool value) {
  field_header(id, value ? Type::bool_true : Type::bool_false);
}

void Writer::field_binary(std::int16_t id, std::string_view value) {
  field_header(id, Type::binary);
  element_binary(value);
}

void Writer::field_struct(std::int16_t id) {
  field_header(id, Type::structure);
  begin_struct();
}

void Writer::field_list(std::int16_t id, Type element, std::size_t size) {
  field_header(id, Type::list);
  if (size < 15) {
    m_out.push_back(static_cast<char>((size << 4) | static_cast<std::size_t>(element)));
  } else {
    m_out.push_back(static_cast<char>(0xF0 | static_cast<int>(element)));
    append_varint(m_out, size);
  }
}

void Writer::element_i32(std::int32_t value) {
  append_varint(m_out, zigzag(value));
}

void Writer::element_binary(std::string_view value) {
  append_varint(m_out, value.size());
  m_out.append(value);
}

// --- Reader --------------------------------------------------------------------------------

void Reader::fail(std::string what) {
  if (m_error.empty()) {
    m_error = std::move(what);
  }
  m_pos = m_bytes.size();
}

std::uint64_t Reader::read_varint() {
  std::uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (m_pos >= m_bytes.size()) {
      fail("the metadata ends inside a number");
      return 0;
    }
    const auto byte = static_cast<std::uint8_t>(m_bytes[m_pos++]);
    if (shift == 63 && byte > 1) {
      break;
    }
    value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      return value;
    }
  }
  fail("the metadata holds a number longer than 64 bits");
  return 0;
}

void Reader::begin_struct() {
  if (m_last_ids.size() >= static_cast<std::size_t>(k_max_depth)) {
    fail("the metadata is nested too deeply");
  }
  m_last_ids.push_back(0);
}

void Reader::end_struct() {
  if (!m_last_ids.empty()) {
    m_last_ids.pop_back();
  }
}

Reader::Field Reader::next_field() {
  if (failed() || m_last_ids.empty()) {
    return {};
  }
  if (m_pos >= m_bytes.size()) {
    fail("the metadata ends inside a struct");
    return {};
  }
  const auto byte = static_cast<std::uint8_t>(m_bytes[m_pos++]);
  const auto type = static_cast<Type>(byte & 0x0F);
  if (type == Type::stop) {
    return {};
  }
  if (static_cast<std::uint8_t>(type) > static_cast<std::uint8_t>(Type::structure)) {
    fail("the metadata holds an unknown type");
    return {};
  }
  const int delta = byte >> 4;
  std::int64_t id = 0;
  if (delta != 0) {
    id = m_last_ids.back() + delta;
  } else {
    id = unzigzag(read_varint());
  }
  if (id <= 0 || id > std::numeric_limits<std::int16_t>::max()) {
    fail("the metadata holds a field id out of range");
    return {};
  }
  m_last_ids.back() = static_cast<std::int16_t>(id);
  return {type, static_cast<std::int16_t>(id)};
}

std::int32_t Reader::read_i32() {
  const std::int64_t value = unzigzag(read_varint());
  if (value < std::numeric_limits<std::int32_t>::min()
      || value > std::numeric_limits<std::int32_t>::max()) {
    fail("the metadata holds a 32-bit number out of range");
    return 0;
  }
  return static_cast<std::int32_t>(value);
}

std::int64_t Reader::read_i64() {
  return unzigzag(read_varint());
}

std::int8_t Reader::read_byte() {
  if (m_pos >= m_bytes.size()) {
    fail("the metadata ends inside a number");
    return 0;
  }
  return static_cast<std::int8_t>(m_bytes[m_pos++]);
}

std::string_view Reader::read_binary() {
  const std::uint64_t size = read_varint();
  if (size > m_bytes.size() - m_pos) {
    fail("the metadata holds a string longer than the bytes left");
    return {};
  }
  const std::string_view value = m_bytes.substr(m_pos, size);
  m_pos += size;
  return value;
}

Reader::ListHeader Reader::read_list() {
  if (m_pos >= m_bytes.size()) {
    fail("the metadata ends inside a list");
    return {};
  }
  const auto byte = static_cast<std::uint8_t>(m_bytes[m_pos++]);
  ListHeader header;
  header.element = static_cast<Type>(byte & 0x0F);
  header.size = byte >> 4;
  if (header.size == 15) {
    const std::uint64_t size = read_varint();
    // Every element takes at least one byte: a longer list cannot be in what is left.
    if (size > m_bytes.size() - m_pos) {
      fail("the metadata holds a list longer than the bytes left");
      return {};
    }
    header.size = size;
  }
  if (header.size > 0
      && (header.element == Type::stop
          || static_cast<std::uint8_t>(header.element)
                 > static_cast<std::uint8_t>(Type::structure))) {
    fail("the metadata holds a list of an unknown type");
    return {};
  }
  return header;
}

void Reader::skip_in_list(Type type) {
  if (type == Type::bool_true || type == Type::bool_false) {
    read_byte(); // a list's booleans are one byte each
  } else {
    skip(type);
  }
}

void Reader::skip(Type type) {
  if (failed()) {
    return;
  }
  switch (type) {
  case Type::bool_true:
  case Type::bool_false:
  case Type::stop:
    return;
  case Type::byte:
    read_byte();
    return;
  case Type::i16:
  case Type::i32:
  case Type::i64:
    read_varint();
    return;
  case Type::dbl:
    if (m_bytes.size() - m_pos < 8) {
      fail("the metadata ends inside a number");
    } else {
      m_pos += 8;
    }
    return;
  case Type::binary:
    read_binary();
    return;
  case Type::list:
  case Type::set: {
    begin_struct(); // counts the nesting
    const ListHeader header = read_list();
    for (std::size_t i = 0; i < header.size && !failed(); ++i) {
      skip_in_list(header.element);
    }
    end_struct();
    return;
  }
  case Type::map: {
    begin_struct();
    const std::uint64_t size = read_varint();
    if (size > m_bytes.size() - m_pos) {
      fail("the metadata holds a map longer than the bytes left");
    } else if (size > 0) {
      const auto types = static_cast<std::uint8_t>(read_byte());
      for (std::uint64_t i = 0; i < size && !failed(); ++i) {
        skip_in_list(static_cast<Type>(types >> 4));
        skip_in_list(static_cast<Type>(types & 0x0F));
      }
    }
    end_struct();
    return;
  }
  case Type::structure:
    begin_struct();
    for (Field field = next_field(); field.type != Type::stop; field = next_field()) {
      skip(field.type);
    }
    end_struct();
    return;
  }
  fail("the metadata holds an unknown type");
}

} // namespace bdd::storage::parquet::thrift

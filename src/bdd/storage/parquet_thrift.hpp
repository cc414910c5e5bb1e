#pragma once

// The Thrift compact protocol, as far as Parquet's footer and page headers use it
// (https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md): a writer
// of structs, lists, integers and binaries, and a bounded pull reader for untrusted bytes.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::storage::parquet::thrift {

// The compact protocol's type codes (in field headers and list headers).
enum class Type : std::uint8_t {
  stop = 0,
  bool_true = 1,
  bool_false = 2,
  byte = 3,
  i16 = 4,
  i32 = 5,
  i64 = 6,
  dbl = 7,
  binary = 8,
  list = 9,
  set = 10,
  map = 11,
  structure = 12,
};

// Appends a Thrift struct to a string. Fields must be written in increasing id order inside
// each struct (the deltas are what the protocol stores); `begin`/`end` nest.
class Writer {
public:
  explicit Writer(std::string& out) : m_out(out) {}

  void begin_struct() { m_last_ids.push_back(0); }
  void end_struct();

  void field_i32(std::int16_t id, std::int32_t value);
  void field_i64(std::int16_t id, std::int64_t value);
  void field_bool(std::int16_t id, bool value);
  void field_binary(std::int16_t id, std::string_view value);
  // Begins a struct-typed field: its fields follow, then `end_struct()`.
  void field_struct(std::int16_t id);
  // Begins a list-typed field of `size` elements of `element`: the elements follow (a struct
  // element as `begin_struct()` ... `end_struct()`).
  void field_list(std::int16_t id, Type element, std::size_t size);

  void element_i32(std::int32_t value);
  void element_binary(std::string_view value);

private:
  void field_header(std::int16_t id, Type type);
  std::string& m_out;
  std::vector<std::int16_t> m_last_ids;
};

// Reads a struct from untrusted bytes. Every length and count is checked against the bytes
// left, nesting is bounded, and the first failure is kept (`error()`): after it every read
// returns zero values and `next_field` ends the struct, so callers check once at the end.
class Reader {
public:
  static constexpr int k_max_depth = 32;

  explicit Reader(std::string_view bytes) : m_bytes(bytes) {}

  struct Field {
    Type type = Type::stop; // stop at the struct's end
    std::int16_t id = 0;
  };
  // Call after entering a struct (`begin_struct`): the next field's header, or stop.
  void begin_struct();
  Field next_field();
  void end_struct();

  std::int32_t read_i32();
  std::int64_t read_i64();
  std::int8_t read_byte();
  // A field's bool value is in its type (`Field::type`).
  static bool field_bool(const Field& field) { return field.type == Type::bool_true; }
  std::string_view read_binary();
  struct ListHeader {
    Type element = Type::stop;
    std::size_t size = 0;
  };
  ListHeader read_list();
  // Skips a value of `type` (a field's or a list element's), nested values included.
  void skip(Type type);

  // Marks the input damaged (a value out of range for the caller) with `what`.
  void fail(std::string what);
  bool failed() const { return !m_error.empty(); }
  const std::string& error() const { return m_error; }
  std::size_t consumed() const { return m_pos; }

private:
  std::uint64_t read_varint();
  void skip_in_list(Type type);
  std::string_view m_bytes;
  std::size_t m_pos = 0;
  std::vector<std::int16_t> m_last_ids;
  std::string m_error;
};

} // namespace bdd::storage::parquet::thrift

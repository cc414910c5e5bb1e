#include <bdd/storage/parquet_metadata.hpp>
#include <bdd/storage/parquet_thrift.hpp>

namespace bdd::storage::parquet {

namespace {

using thrift::Type;

// --- encoding ----------------------------------------------------------------------------

void write_logical_type(thrift::Writer& out, Logical logical) {
  out.field_struct(10); // SchemaElement.logicalType, a union
  switch (logical) {
  case Logical::string:
    out.field_struct(1); // STRING
    out.end_struct();
    break;
  case Logical::json:
    out.field_struct(12); // JSON
    out.end_struct();
    break;
  case Logical::timestamp_micros_utc:
    out.field_struct(8);     // TIMESTAMP
    out.field_bool(1, true); // isAdjustedToUTC
    out.field_struct(2);     // unit (TimeUnit union)
    out.field_struct(2);     // MICROS
    out.end_struct();
    out.end_struct();
    out.end_struct();
    break;
  case Logical::none:
  case Logical::other:
    break;
  }
  out.end_struct();
}

ConvertedType converted_type(Logical logical) {
  switch (logical) {
  case Logical::json:
    return ConvertedType::json;
  case Logical::timestamp_micros_utc:
    return ConvertedType::timestamp_micros;
  default:
    return ConvertedType::utf8;
  }
}

void write_statistics(thrift::Writer& out, std::int16_t id, const Statistics& stats) {
  out.field_struct(id);
  if (stats.null_count) {
    out.field_i64(3, *stats.null_count);
  }
  if (stats.max_value) {
    out.field_binary(5, *stats.max_value);
  }
  if (stats.min_value) {
    out.field_binary(6, *stats.min_value);
  }
  out.end_struct();
}

void write_column_chunk(thrift::Writer& out, const ColumnMetaData& column) {
  out.begin_struct();
  const std::int64_t start = column.dictionary_page_offset.value_or(column.data_page_offset);
  out.field_i64(2, start); // file_offset
  out.field_struct(3);     // meta_data
  out.field_i32(1, static_cast<std::int32_t>(column.type));
  out.field_list(2, Type::i32, column.encodings.size());
  for (const Encoding encoding : column.encodings) {
    out.element_i32(static_cast<std::int32_t>(encoding));
  }
  out.field_list(3, Type::binary, 1);
  out.element_binary(column.path);
  out.field_i32(4, static_cast<std::int32_t>(column.codec));
  out.field_i64(5, column.num_values);
  out.field_i64(6, column.total_uncompressed_size);
  out.field_i64(7, column.total_compressed_size);
  out.field_i64(9, column.data_page_offset);
  if (column.dictionary_page_offset) {
    out.field_i64(11, *column.dictionary_page_offset);
  }
  if (column.statistics) {
    write_statistics(out, 12, *column.statistics);
  }
  out.end_struct();
  out.end_struct();
}

// --- decoding ----------------------------------------------------------------------------

Statistics read_statistics(thrift::Reader& in) {
  Statistics stats;
  in.begin_struct();
  for (auto field = in.next_field(); field.type != Type::stop; field = in.next_field()) {
    if (field.id == 3 && field.type == Type::i64) {
      stats.null_count = in.read_i64();
    } else if (field.id == 5 && field.type == Type::binary) {
      stats.max_value = std::string(in.read_binary());
    } else if (field.id == 6 && field.type == Type::binary) {
      stats.min_value = std::string(in.read_binary());
    } else {
      in.skip(field.type);
    }
  }
  in.end_struct();
  return stats;
}

Logical read_logical_type(thrift::Reader& in) {
  Logical logical = Logical::other;
  int members = 0;
  in.begin_struct();
  for (auto field = in.next_field(); field.type != Type::stop; field = in.next_field()) {
    ++members;
    if (field.type != Type::structure) {
      in.skip(field.type);
      continue;
    }
    if (field.id == 1 || field.id == 12) {
      logical = field.id == 1 ? Logical::string : Logical::json;
      in.skip(field.type);
    } else if (field.id == 8) {
      bool utc = false;
      bool micros = false;
      in.begin_struct();
      for (auto ts = in.next_field(); ts.type != Type::stop; ts = in.next_field()) {
        if (ts.id == 1 && (ts.type == Type::bool_true || ts.type == Type::bool_false)) {
          utc = thrift::Reader::field_bool(ts);
        } else if (ts.id == 2 && ts.type == Type::structure) {
          in.begin_struct();
          for (auto unit = in.next_field(); unit.type != Type::stop; unit = in.next_field()) {
            micros = unit.id == 2 && unit.type == Type::structure;
            in.skip(unit.type);
          }
          in.end_struct();
        } else {
          in.skip(ts.type);
        }
      }
      in.end_struct();
      logical = utc && micros ? Logical::timestamp_micros_utc : Logical::other;
    } else {
      in.skip(field.type);
    }
  }
  in.end_struct();
  return members == 1 ? logical : Logical::other;
}

SchemaElement read_schema_element(thrift::Reader& in) {
  SchemaElement element;
  in.begin_struct();
  for (auto field = in.next_field(); field.type != Type::stop; field = in.next_field()) {
    if (field.id == 1 && field.type == Type::i32) {
      element.type = static_cast<PhysicalType>(in.read_i32());
    } else if (field.id == 3 && field.type == Type::i32) {
      element.repetition = static_cast<Repetition>(in.read_i32());
    } else if (field.id == 4 && field.type == Type::binary) {
      element.name = std::string(in.read_binary());
    } else if (field.id == 5 && field.type == Type::i32) {
      element.num_children = in.read_i32();
    } else if (field.id == 10 && field.type == Type::structure) {
      element.logical = read_logical_type(in);
    } else {
      in.skip(field.type);
    }
  }
  in.end_struct();
  return element;
}

ColumnMetaData read_column_meta(thrift::Reader& in) {
  ColumnMetaData column;
  in.begin_struct();
  for (auto field = in.next_field(); field.type != Type::stop; field = in.next_field()) {
    switch (field.type == Type::i32 || field.type == Type::i64 ? field.id : -field.id) {
    case 1:
      column.type = static_cast<PhysicalType>(in.read_i32());
      break;
    case 4:
      column.codec = static_cast<Codec>(in.read_i32());
      break;
    case 5:
      column.num_values = in.read_i64();
      break;
    case 6:
      column.total_uncompressed_size = in.read_i64();
      break;
    case 7:
      column.total_compressed_size = in.read_i64();
      break;
    case 9:
      column.data_page_offset = in.read_i64();
      break;
    case 11:
      column.dictionary_page_offset = in.read_i64();
      break;
    case -2:
      if (field.type == Type::list) {
        const auto list = in.read_list();
        if (list.size > 0 && list.element != Type::i32) {
          in.fail("a column's encodings are not numbers");
        }
        for (std::size_t i = 0; i < list.size && !in.failed(); ++i) {
          column.encodings.push_back(static_cast<Encoding>(in.read_i32()));
        }
        break;
      }
      in.skip(field.type);
      break;
    case -3:
      if (field.type == Type::list) {
        const auto list = in.read_list();
        if (list.size != 1 || list.element != Type::binary) {
          in.fail("a column's path is not one name");
        } else {
          column.path = std::string(in.read_binary());
        }
        break;
      }
      in.skip(field.type);
      break;
    case -12:
      if (field.type == Type::structure) {
        column.statistics = read_statistics(in);
        break;
      }
      in.skip(field.type);
      break;
    default:
      in.skip(field.type);
    }
  }
  in.end_struct();
  return column;
}

RowGroup read_row_group(thrift::Reader& in) {
  RowGroup group;
  in.begin_struct();
  for (auto field = in.next_field(); field.type != Type::stop; field = in.next_field()) {
    if (field.id == 1 && field.type == Type::list) {
      const auto list = in.read_list();
      if (list.size > 0 && list.element != Type::structure) {
        in.fail("a row group's columns are not structs");
      }
      for (std::size_t i = 0; i < list.size && !in.failed(); ++i) {
        // ColumnChunk: only its meta_data (field 3) matters; file_path (1) is refused.
        bool has_meta = false;
        in.begin_struct();
        for (auto chunk = in.next_field(); chunk.type != Type::stop; chunk = in.next_field()) {
          if (chunk.id == 3 && chunk.type == Type::structure) {
            group.columns.push_back(read_column_meta(in));
            has_meta = true;
          } else if (chunk.id == 1) {
            in.fail("a column chunk is in another file");
          } else {
            in.skip(chunk.type);
          }
        }
        in.end_struct();
        if (!has_meta) {
          in.fail("a column chunk has no metadata");
        }
      }
    } else if (field.id == 2 && field.type == Type::i64) {
      group.total_byte_size = in.read_i64();
    } else if (field.id == 3 && field.type == Type::i64) {
      group.num_rows = in.read_i64();
    } else if (field.id == 5 && field.type == Type::i64) {
      group.file_offset = in.read_i64();
    } else if (field.id == 6 && field.type == Type::i64) {
      group.total_compressed_size = in.read_i64();
    } else {
      in.skip(field.type);
    }
  }
  in.end_struct();
  return group;
}

} // namespace

Error damaged(std::string_view what) {
  return {Errc::storage, "damaged parquet file: " + std::string(what)};
}

std::string encode_file_metadata(std::int64_t num_rows, const std::vector<RowGroup>& row_groups) {
  std::string bytes;
  thrift::Writer out(bytes);
  out.begin_struct();
  out.field_i32(1, 1); // version
  out.field_list(2, Type::structure, k_column_count + 1);
  out.begin_struct(); // the root
  out.field_binary(4, "schema");
  out.field_i32(5, static_cast<std::int32_t>(k_column_count));
  out.end_struct();
  for (const ColumnSpec& column : k_columns) {
    out.begin_struct();
    out.field_i32(1, static_cast<std::int32_t>(column.type));
    out.field_i32(3, static_cast<std::int32_t>(column.repetition));
    out.field_binary(4, column.name);
    out.field_i32(6, static_cast<std::int32_t>(converted_type(column.logical)));
    write_logical_type(out, column.logical);
    out.end_struct();
  }
  out.field_i64(3, num_rows);
  out.field_list(4, Type::structure, row_groups.size());
  for (const RowGroup& group : row_groups) {
    out.begin_struct();
    out.field_list(1, Type::structure, group.columns.size());
    for (const ColumnMetaData& column : group.columns) {
      write_column_chunk(out, column);
    }
    out.field_i64(2, group.total_byte_size);
    out.field_i64(3, group.num_rows);
    out.field_i64(5, group.file_offset);
    out.field_i64(6, group.total_compressed_size);
    out.end_struct();
  }
  out.field_binary(6, "bdd");
  // column_orders: TYPE_ORDER for every column, so readers trust min_value/max_value.
  out.field_list(7, Type::structure, k_column_count);
  for (std::size_t i = 0; i < k_column_count; ++i) {
    out.begin_struct();
    out.field_struct(1);
    out.end_struct();
    out.end_struct();
  }
  out.end_struct();
  return bytes;
}

void append_page_header(std::string& bytes, const PageHeader& header) {
  thrift::Writer out(bytes);
  out.begin_struct();
  out.field_i32(1, static_cast<std::int32_t>(header.type));
  out.field_i32(2, header.uncompressed_page_size);
  out.field_i32(3, header.compressed_page_size);
  if (header.type == PageType::data) {
    out.field_struct(5);
    out.field_i32(1, header.num_values);
    out.field_i32(2, static_cast<std::int32_t>(header.encoding));
    out.field_i32(3, static_cast<std::int32_t>(Encoding::rle)); // definition levels
    out.field_i32(4, static_cast<std::int32_t>(Encoding::rle)); // repetition levels (none)
    if (header.statistics) {
      write_statistics(out, 5, *header.statistics);
    }
    out.end_struct();
  } else {
    out.field_struct(7);
    out.field_i32(1, header.num_values);
    out.field_i32(2, static_cast<std::int32_t>(header.encoding));
    out.end_struct();
  }
  out.end_struct();
}

Result<FileMetaData> decode_file_metadata(std::string_view bytes) {
  thrift::Reader in(bytes);
  FileMetaData meta;
  bool has_rows = false;
  in.begin_struct();
  for (auto field = in.next_field(); field.type != Type::stop; field = in.next_field()) {
    if (field.id == 2 && field.type == Type::list) {
      const auto list = in.read_list();
      if (list.size > 0 && list.element != Type::structure) {
        in.fail("the schema is not a list of structs");
      }
      for (std::size_t i = 0; i < list.size && !in.failed(); ++i) {
        meta.schema.push_back(read_schema_element(in));
      }
    } else if (field.id == 3 && field.type == Type::i64) {
      meta.num_rows = in.read_i64();
      has_rows = true;
    } else if (field.id == 4 && field.type == Type::list) {
      const auto list = in.read_list();
      if (list.size > 0 && list.element != Type::structure) {
        in.fail("the row groups are not a list of structs");
      }
      for (std::size_t i = 0; i < list.size && !in.failed(); ++i) {
        meta.row_groups.push_back(read_row_group(in));
      }
    } else if (field.id == 8) {
      in.fail("the file is encrypted");
    } else {
      in.skip(field.type);
    }
  }
  in.end_struct();
  if (in.failed()) {
    return damaged(in.error());
  }
  if (!has_rows) {
    return damaged("the footer has no row count");
  }
  return meta;
}

Result<PageHeader> decode_page_header(std::string_view bytes, std::size_t& consumed) {
  thrift::Reader in(bytes);
  PageHeader header;
  header.type = static_cast<PageType>(-1);
  bool has_sizes = false;
  bool has_values = false;
  in.begin_struct();
  for (auto field = in.next_field(); field.type != Type::stop; field = in.next_field()) {
    if (field.id == 1 && field.type == Type::i32) {
      header.type = static_cast<PageType>(in.read_i32());
    } else if (field.id == 2 && field.type == Type::i32) {
      header.uncompressed_page_size = in.read_i32();
    } else if (field.id == 3 && field.type == Type::i32) {
      header.compressed_page_size = in.read_i32();
      has_sizes = true;
    } else if ((field.id == 5 || field.id == 7) && field.type == Type::structure) {
      const bool data = field.id == 5;
      in.begin_struct();
      for (auto page = in.next_field(); page.type != Type::stop; page = in.next_field()) {
        if (page.id == 1 && page.type == Type::i32) {
          header.num_values = in.read_i32();
          has_values = true;
        } else if (page.id == 2 && page.type == Type::i32) {
          header.encoding = static_cast<Encoding>(in.read_i32());
        } else if (data && (page.id == 3 || page.id == 4) && page.type == Type::i32) {
          if (in.read_i32() != static_cast<std::int32_t>(Encoding::rle)) {
            in.fail("a page's levels are not RLE");
          }
        } else {
          in.skip(page.type);
        }
      }
      in.end_struct();
    } else {
      in.skip(field.type);
    }
  }
  in.end_struct();
  if (in.failed()) {
    return damaged(in.error());
  }
  if (!has_sizes || !has_values || header.uncompressed_page_size < 0
      || header.compressed_page_size < 0 || header.num_values < 0) {
    return damaged("a page header is incomplete");
  }
  if (header.type != PageType::data && header.type != PageType::dictionary) {
    return damaged("a page is of a type bdd does not write");
  }
  consumed = in.consumed();
  return header;
}

} // namespace bdd::storage::parquet

#include "common/protowire.h"

namespace relay::common {
namespace {

Error malformed(std::string message) { return make_error("invalid_protobuf", std::move(message)); }

}  // namespace

Result<uint64_t> WireReader::read_varint() {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) return malformed("truncated varint");
    uint8_t byte = data_[pos_++];
    if (shift == 63 && byte > 1) return malformed("varint longer than 64 bits");
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  return malformed("varint longer than 10 bytes");
}

Result<std::optional<WireField>> WireReader::next() {
  if (pos_ == data_.size()) return std::optional<WireField>();
  RELAY_ASSIGN_OR_RETURN(uint64_t key, read_varint());
  WireField field;
  uint64_t number = key >> 3;
  if (number == 0 || number > 0x1fffffff) {
    return malformed("field number " + std::to_string(number) + " is out of range");
  }
  field.number = static_cast<uint32_t>(number);
  switch (key & 7) {
    case 0: {
      field.type = WireType::kVarint;
      RELAY_ASSIGN_OR_RETURN(field.varint, read_varint());
      break;
    }
    case 1:
    case 5: {
      size_t width = (key & 7) == 1 ? 8 : 4;
      field.type = width == 8 ? WireType::kFixed64 : WireType::kFixed32;
      if (data_.size() - pos_ < width) return malformed("truncated fixed-width field");
      for (size_t i = 0; i < width; ++i) field.varint |= uint64_t{data_[pos_ + i]} << (8 * i);
      pos_ += width;
      break;
    }
    case 2: {
      field.type = WireType::kLengthDelimited;
      RELAY_ASSIGN_OR_RETURN(uint64_t length, read_varint());
      if (length > data_.size() - pos_)
        return malformed("length-delimited field runs past the end");
      field.bytes = data_.subspan(pos_, length);
      pos_ += length;
      break;
    }
    default:
      return malformed("unsupported wire type " + std::to_string(key & 7));
  }
  return std::optional<WireField>(field);
}

}  // namespace relay::common

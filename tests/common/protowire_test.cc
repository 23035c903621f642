#include "common/protowire.h"

#include <gtest/gtest.h>

namespace relay::common {
namespace {

TEST(WireReader, ReadsEveryWireType) {
  // field 1 varint 150, field 2 bytes "ab", field 3 fixed64 1, field 4 fixed32 2
  Bytes data = {0x08, 0x96, 0x01, 0x12, 0x02, 'a',  'b', 0x19, 1, 0, 0,
                0,    0,    0,    0,    0,    0x25, 2,   0,    0, 0};
  WireReader reader(data);
  auto f1 = reader.next();
  ASSERT_TRUE(f1.ok() && f1->has_value());
  EXPECT_EQ((*f1)->number, 1u);
  EXPECT_EQ((*f1)->varint, 150u);
  auto f2 = reader.next();
  EXPECT_EQ(as_chars((*f2)->bytes), "ab");
  auto f3 = reader.next();
  EXPECT_EQ((*f3)->varint, 1u);
  auto f4 = reader.next();
  EXPECT_EQ((*f4)->varint, 2u);
  auto end = reader.next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
}

TEST(WireReader, MalformedInputIsAnError) {
  for (const Bytes& bad : std::vector<Bytes>{
           {0x08},                                                              // truncated varint
           {0x12, 0x05, 'a'},                                                   // length past end
           {0x0b},                                                              // group start
           {0x00, 0x01},                                                        // field number 0
           {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},  // > 64 bits
           {0x19, 1, 2},                                                        // truncated fixed64
       }) {
    WireReader reader(bad);
    auto field = reader.next();
    EXPECT_FALSE(field.ok()) << to_hex(bad);
    if (!field.ok()) {
      EXPECT_EQ(field.error().code, "invalid_protobuf");
    }
  }
}

}  // namespace
}  // namespace relay::common

#include "engine/id_generator.h"

#include <gtest/gtest.h>

#include <string>

namespace mamori::engine {
namespace {

TEST(IdGenerator, TwelveHexDigitsOfTheTimeThenEightOfTheCounter) {
  IdGenerator ids(0x1234abcd);
  EXPECT_EQ(ids.next(from_unix_ms(0x18b0f00dcafe)), "18b0f00dcafe1234abcd");
  EXPECT_EQ(ids.next(from_unix_ms(0x18b0f00dcafe)), "18b0f00dcafe1234abce");
}

TEST(IdGenerator, PadsWithZerosAndKeepsOnlyTheLowFortyEightBitsOfTheTime) {
  IdGenerator ids(0);
  EXPECT_EQ(ids.next(from_unix_ms(1)), "00000000000100000000");
  EXPECT_EQ(ids.next(from_unix_ms(0x7fff000000000001)), "00000000000100000001");
}

TEST(IdGenerator, TheCounterWrapsAroundAfterItsLastValue) {
  IdGenerator ids(0xffffffff);
  EXPECT_EQ(ids.next(from_unix_ms(0xa)), "00000000000affffffff");
  EXPECT_EQ(ids.next(from_unix_ms(0xa)), "00000000000a00000000");
}

TEST(IdGenerator, IdsSortByTime) {
  IdGenerator ids(0xfffffff0);
  const std::string earlier = ids.next(from_unix_ms(1'800'000'000'000));
  const std::string later = ids.next(from_unix_ms(1'800'000'000'001));
  EXPECT_LT(earlier, later);
}

}  // namespace
}  // namespace mamori::engine

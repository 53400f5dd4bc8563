#include <gtest/gtest.h>

TEST(Cases, Passes) {
    EXPECT_EQ(2, 1 + 1);
}
TEST(Cases, AlsoPasses) {
    EXPECT_TRUE(true);
}

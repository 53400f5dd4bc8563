#include <gtest/gtest.h>

TEST(Cases, Heavy) {
    EXPECT_EQ(2, 1 + 1);
}
TEST(Cases, Light) {
    EXPECT_TRUE(true);
}

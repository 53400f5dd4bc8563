#include <gtest/gtest.h>

#include "common/text.hpp"

using namespace corral;

TEST(Text, PathBoundaryMatchesOnlyWholeComponents) {
    EXPECT_TRUE(starts_with_path("/s/001", "/s/001"));
    EXPECT_TRUE(starts_with_path("/s/001/vm.sock", "/s/001"));
    EXPECT_TRUE(starts_with_path("/s/001/vm.sock", "/s/001/"));
    EXPECT_FALSE(starts_with_path("/s/0010", "/s/001"));
    EXPECT_FALSE(starts_with_path("/s/001-old/x", "/s/001"));
    EXPECT_TRUE(starts_with_path("/anything", "/"));
}

TEST(Text, ParseU64RejectsAnythingButDigits) {
    EXPECT_EQ(parse_u64("42"), 42u);
    EXPECT_EQ(parse_u64("18446744073709551615"), 18446744073709551615ull);
    EXPECT_FALSE(parse_u64("18446744073709551616"));
    EXPECT_FALSE(parse_u64(""));
    EXPECT_FALSE(parse_u64(" 1"));
    EXPECT_FALSE(parse_u64("-1"));
    EXPECT_FALSE(parse_u64("1k"));
    EXPECT_EQ(parse_i64("-1"), -1);
}

TEST(Text, CountsKernelCpuLists) {
    EXPECT_EQ(count_cpu_list("0-3,8,10-11\n"), 7);
    EXPECT_EQ(count_cpu_list("0"), 1);
    EXPECT_EQ(count_cpu_list(""), 0);
    EXPECT_FALSE(count_cpu_list("3-1"));
    EXPECT_FALSE(count_cpu_list("a"));
}

TEST(Text, SplitKeepsEmptyFields) {
    auto parts = split("a::b", ':');
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[1], "");
    EXPECT_EQ(split_lines("x\ny\n").size(), 2u);
}

TEST(Text, SplitRecordsDropsOnlyTheFinalTerminator) {
    using V = std::vector<std::string_view>;
    EXPECT_EQ(split_lines("a\nb\n"), (V{"a", "b"}));
    EXPECT_EQ(split_lines("a\n\nb"), (V{"a", "", "b"}));
    EXPECT_EQ(split_lines(""), V{});
    using namespace std::string_view_literals;
    EXPECT_EQ(split_records("sleep\0abc\0"sv, '\0'), (V{"sleep", "abc"}));
}

TEST(Text, ShortestDecimalRoundTrips) {
    EXPECT_EQ(shortest_decimal(1.5), "1.5");
    EXPECT_EQ(shortest_decimal(3), "3");
    EXPECT_EQ(shortest_decimal(0.1 + 0.2), "0.30000000000000004");
}

TEST(Text, HumanNumberHidesBinaryNoise) {
    EXPECT_EQ(human_number(0.3 * 3), "0.9");
    EXPECT_EQ(human_number(60), "60");
    EXPECT_EQ(human_number(1.5), "1.5");
}

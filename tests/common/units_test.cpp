// The value grammar (src/common/units.hpp) against the one table of cases,
// tests/data/units-cases.json, which the CMake functions must pass too
// (tests/common/units_cases.cmake).
#include "common/units.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace corral::units {
namespace {

const nlohmann::json& cases() {
    static const nlohmann::json j = [] {
        std::ifstream in(std::string(CORRAL_TEST_DATA_DIR) + "/units-cases.json");
        return nlohmann::json::parse(in);
    }();
    return j;
}

template <typename T, typename F>
void check_errors(const char* section, F parse) {
    for (const auto& c : cases().at(section)) {
        const std::string in = c.at("in");
        SCOPED_TRACE(std::string(section) + " \"" + in + "\"");
        Parsed<T> p = parse(in);
        if (c.contains("error")) {
            EXPECT_FALSE(p) << "accepted";
            EXPECT_NE(p.error.find(c.at("error").get<std::string>()), std::string::npos)
                << "message: " << p.error;
        } else {
            EXPECT_TRUE(p) << p.error;
        }
    }
}

TEST(Units, SizesFollowTheSharedTable) {
    ASSERT_GT(cases().at("size").size(), 20u);
    check_errors<uint64_t>("size", parse_size);
    for (const auto& c : cases().at("size")) {
        if (!c.contains("bytes")) continue;
        SCOPED_TRACE(c.at("in").get<std::string>());
        auto p = parse_size(c.at("in").get<std::string>());
        ASSERT_TRUE(p) << p.error;
        EXPECT_EQ(std::to_string(*p), c.at("bytes").get<std::string>());
    }
}

TEST(Units, SixteenGIsTheSameEverywhere) {
    // The old contradiction: 16GB was 16e9 in corral plan and 2^34 in corral run.
    EXPECT_EQ(*parse_size("16G"), uint64_t{16} << 30);
    EXPECT_FALSE(parse_size("16GB"));
    EXPECT_NE(parse_size("16GB").error.find("write 16G or 16GiB"), std::string::npos)
        << parse_size("16GB").error;
}

TEST(Units, DurationsFollowTheSharedTable) {
    check_errors<double>("duration", parse_duration);
    for (const auto& c : cases().at("duration")) {
        if (!c.contains("seconds")) continue;
        SCOPED_TRACE(c.at("in").get<std::string>());
        auto p = parse_duration(c.at("in").get<std::string>());
        ASSERT_TRUE(p) << p.error;
        EXPECT_DOUBLE_EQ(*p, c.at("seconds").get<double>());
    }
}

TEST(Units, BooleansFollowTheSharedTable) {
    check_errors<bool>("bool", parse_bool);
    for (const auto& c : cases().at("bool")) {
        if (!c.contains("value")) continue;
        SCOPED_TRACE(c.at("in").get<std::string>());
        EXPECT_EQ(*parse_bool(c.at("in").get<std::string>()), c.at("value").get<bool>());
    }
}

TEST(Units, LockNamesFollowTheSharedTable) {
    check_errors<std::string>("lock_name", parse_lock_name);
}

TEST(Units, GraceFollowsTheSharedTable) {
    check_errors<int>("grace", parse_grace);
    for (const auto& c : cases().at("grace")) {
        if (!c.contains("value")) continue;
        SCOPED_TRACE(c.at("in").get<std::string>());
        EXPECT_EQ(*parse_grace(c.at("in").get<std::string>()), c.at("value").get<int>());
    }
}

}  // namespace
}  // namespace corral::units

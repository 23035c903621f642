#include "api/metrics.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace relay::api {
namespace {

TEST(MetricsRegistryTest, RendersCountersWithLabels) {
  MetricsRegistry metrics;
  metrics.declare_counter("requests_total", "Requests answered", {"route", "status"});
  metrics.increment("requests_total", {{"route", "/v1/keys"}, {"status", "200"}});
  metrics.increment("requests_total", {{"route", "/v1/keys"}, {"status", "200"}}, 2);
  metrics.increment("requests_total", {{"route", "/health"}, {"status", "503"}});
  EXPECT_EQ(metrics.render(),
            "# HELP requests_total Requests answered\n"
            "# TYPE requests_total counter\n"
            "requests_total{route=\"/health\",status=\"503\"} 1\n"
            "requests_total{route=\"/v1/keys\",status=\"200\"} 3\n");
}

TEST(MetricsRegistryTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry metrics;
  metrics.declare_counter("c", "line one\nback\\slash", {"l"});
  metrics.increment("c", {{"l", "quote\" back\\ nl\n"}});
  EXPECT_EQ(metrics.render(),
            "# HELP c line one\\nback\\\\slash\n"
            "# TYPE c counter\n"
            "c{l=\"quote\\\" back\\\\ nl\\n\"} 1\n");
}

TEST(MetricsRegistryTest, RendersCumulativeHistogramBuckets) {
  MetricsRegistry metrics;
  metrics.declare_histogram("latency_seconds", "Latency", {"route"}, {0.1, 0.5, 1});
  metrics.observe("latency_seconds", {{"route", "/a"}}, 0.05);
  metrics.observe("latency_seconds", {{"route", "/a"}}, 0.1);  // le is inclusive
  metrics.observe("latency_seconds", {{"route", "/a"}}, 0.7);
  metrics.observe("latency_seconds", {{"route", "/a"}}, 3);
  EXPECT_EQ(metrics.render(),
            "# HELP latency_seconds Latency\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{route=\"/a\",le=\"0.1\"} 2\n"
            "latency_seconds_bucket{route=\"/a\",le=\"0.5\"} 2\n"
            "latency_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
            "latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{route=\"/a\"} 3.85\n"
            "latency_seconds_count{route=\"/a\"} 4\n");
}

TEST(MetricsRegistryTest, GaugesAreReadAtRenderTime) {
  MetricsRegistry metrics;
  double value = 1;
  metrics.declare_gauge("open_connections", "Open connections", [&] { return value; });
  metrics.declare_gauge("broken", "Throws", []() -> double { throw std::runtime_error("x"); });
  EXPECT_NE(metrics.render().find("open_connections 1\n"), std::string::npos);
  value = 7;
  std::string text = metrics.render();
  EXPECT_NE(text.find("# TYPE open_connections gauge\nopen_connections 7\n"), std::string::npos);
  EXPECT_NE(text.find("broken NaN\n"), std::string::npos);
}

TEST(MetricsRegistryTest, DeclaredButUnusedFamiliesRenderOnlyTheirHeader) {
  MetricsRegistry metrics;
  metrics.declare_counter("quiet_total", "Nothing yet", {});
  EXPECT_EQ(metrics.render(), "# HELP quiet_total Nothing yet\n# TYPE quiet_total counter\n");
  metrics.increment("quiet_total", {});
  EXPECT_NE(metrics.render().find("\nquiet_total 1\n"), std::string::npos);
}

}  // namespace
}  // namespace relay::api

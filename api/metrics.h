// MetricsRegistry: the few Prometheus metrics tronrelayd exposes on GET /metrics — counters with
// labels, histograms, and gauges read from a callback at scrape time — rendered in the text
// exposition format 0.0.4. Thread-safe. Metric names are declared once, up front; using an
// undeclared name, or the wrong label names, is a programming error.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace relay::api {

// Label name → value. Kept small: every distinct combination is a separate time series.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class MetricsRegistry {
 public:
  void declare_counter(std::string name, std::string help, std::vector<std::string> label_names);
  // `bucket_bounds`: ascending upper bounds; +Inf is added.
  void declare_histogram(std::string name, std::string help, std::vector<std::string> label_names,
                         std::vector<double> bucket_bounds);
  // `read` runs during render(), on the scraping thread; it must be quick and must not call back
  // into this registry.
  void declare_gauge(std::string name, std::string help, std::function<double()> read);
  // A gauge family whose series are only known at scrape time (one per chain endpoint, per pool).
  using GaugeSeries = std::vector<std::pair<MetricLabels, double>>;
  void declare_gauge_family(std::string name, std::string help, std::function<GaugeSeries()> read);

  void increment(const std::string& name, const MetricLabels& labels, double by = 1);
  void observe(const std::string& name, const MetricLabels& labels, double value);

  std::string render() const;

  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  enum class Kind { kCounter, kHistogram, kGauge };
  struct HistogramSeries {
    std::vector<uint64_t> bucket_counts;  // not cumulative; rendered cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  struct Family {
    Kind kind = Kind::kCounter;
    std::string help;
    std::vector<std::string> label_names;
    std::vector<double> bounds;
    std::function<double()> read;
    std::function<GaugeSeries()> read_family;
    // Keyed by the rendered label set, e.g. {method="GET",route="/health"}.
    std::map<std::string, double> counters;
    std::map<std::string, HistogramSeries> histograms;
  };

  // Null (and an assert in debug builds) when `name` is not declared as `kind` with these labels.
  Family* family(const std::string& name, Kind kind, const MetricLabels& labels);
  static std::string render_labels(const MetricLabels& labels);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;  // sorted: a stable scrape
};

}  // namespace relay::api

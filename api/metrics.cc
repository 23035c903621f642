#include "api/metrics.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>

namespace relay::api {
namespace {

// Label values escape backslash, double quote and newline; HELP text only backslash and newline.
std::string escape(const std::string& text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string format_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // The shortest text that reads back as the same double: "0.1", not "0.10000000000000001".
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof(text), value);
  return ec == std::errc() ? std::string(text, end) : std::to_string(value);
}

// Adds `le` to an already rendered label set.
std::string with_le(const std::string& labels, const std::string& le) {
  std::string pair = "le=\"" + le + "\"";
  if (labels.empty()) return "{" + pair + "}";
  return labels.substr(0, labels.size() - 1) + "," + pair + "}";
}

const char* type_name(int kind) {
  switch (kind) {
    case 0:
      return "counter";
    case 1:
      return "histogram";
    default:
      return "gauge";
  }
}

}  // namespace

void MetricsRegistry::declare_counter(std::string name, std::string help,
                                      std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  Family& f = families_[std::move(name)];
  f.kind = Kind::kCounter;
  f.help = std::move(help);
  f.label_names = std::move(label_names);
}

void MetricsRegistry::declare_histogram(std::string name, std::string help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bucket_bounds) {
  assert(std::is_sorted(bucket_bounds.begin(), bucket_bounds.end()));
  std::lock_guard lock(mutex_);
  Family& f = families_[std::move(name)];
  f.kind = Kind::kHistogram;
  f.help = std::move(help);
  f.label_names = std::move(label_names);
  f.bounds = std::move(bucket_bounds);
}

void MetricsRegistry::declare_gauge(std::string name, std::string help,
                                    std::function<double()> read) {
  std::lock_guard lock(mutex_);
  Family& f = families_[std::move(name)];
  f.kind = Kind::kGauge;
  f.help = std::move(help);
  f.read = std::move(read);
}

void MetricsRegistry::declare_gauge_family(std::string name, std::string help,
                                           std::function<GaugeSeries()> read) {
  std::lock_guard lock(mutex_);
  Family& f = families_[std::move(name)];
  f.kind = Kind::kGauge;
  f.help = std::move(help);
  f.read_family = std::move(read);
}

MetricsRegistry::Family* MetricsRegistry::family(const std::string& name, Kind kind,
                                                 const MetricLabels& labels) {
  auto it = families_.find(name);
  bool fits = it != families_.end() && it->second.kind == kind &&
              labels.size() == it->second.label_names.size();
  for (size_t i = 0; fits && i < labels.size(); ++i) {
    fits = labels[i].first == it->second.label_names[i];
  }
  assert(fits && "metric not declared with this kind and these label names, in this order");
  return fits ? &it->second : nullptr;
}

std::string MetricsRegistry::render_labels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ",";
    out += labels[i].first + "=\"" + escape(labels[i].second, true) + "\"";
  }
  return out + "}";
}

void MetricsRegistry::increment(const std::string& name, const MetricLabels& labels, double by) {
  std::string key = render_labels(labels);
  std::lock_guard lock(mutex_);
  if (Family* f = family(name, Kind::kCounter, labels)) f->counters[key] += by;
}

void MetricsRegistry::observe(const std::string& name, const MetricLabels& labels, double value) {
  std::string key = render_labels(labels);
  std::lock_guard lock(mutex_);
  Family* f = family(name, Kind::kHistogram, labels);
  if (f == nullptr) return;
  HistogramSeries& series = f->histograms[key];
  if (series.bucket_counts.empty()) series.bucket_counts.assign(f->bounds.size() + 1, 0);
  size_t bucket = f->bounds.size();  // +Inf
  for (size_t i = 0; i < f->bounds.size(); ++i) {
    if (value <= f->bounds[i]) {
      bucket = i;
      break;
    }
  }
  ++series.bucket_counts[bucket];
  ++series.count;
  series.sum += value;
}

std::string MetricsRegistry::render() const {
  // Gauges are read outside the lock: a callback may take its own locks, and a slow one should
  // not hold up request threads recording metrics.
  struct GaugeRead {
    std::string name;
    std::string help;
    std::function<double()> read;
    std::function<GaugeSeries()> read_family;
  };
  std::vector<GaugeRead> gauges;
  std::string out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, f] : families_) {
      if (f.kind == Kind::kGauge) {
        gauges.push_back(GaugeRead{name, f.help, f.read, f.read_family});
        continue;
      }
      out += "# HELP " + name + " " + escape(f.help, false) + "\n";
      out += "# TYPE " + name + " " + type_name(static_cast<int>(f.kind)) + "\n";
      if (f.kind == Kind::kCounter) {
        for (const auto& [labels, value] : f.counters) {
          out += name + labels + " " + format_number(value) + "\n";
        }
        continue;
      }
      for (const auto& [labels, series] : f.histograms) {
        uint64_t cumulative = 0;
        for (size_t i = 0; i < series.bucket_counts.size(); ++i) {
          cumulative += series.bucket_counts[i];
          std::string le = i < f.bounds.size() ? format_number(f.bounds[i]) : "+Inf";
          out += name + "_bucket" + with_le(labels, le) + " " + std::to_string(cumulative) + "\n";
        }
        out += name + "_sum" + labels + " " + format_number(series.sum) + "\n";
        out += name + "_count" + labels + " " + std::to_string(series.count) + "\n";
      }
    }
  }
  for (const GaugeRead& gauge : gauges) {
    out += "# HELP " + gauge.name + " " + escape(gauge.help, false) + "\n";
    out += "# TYPE " + gauge.name + " gauge\n";
    if (gauge.read_family) {
      GaugeSeries series;
      try {
        series = gauge.read_family();
      } catch (const std::exception&) {
        // A failing source shows no series rather than breaking the whole scrape.
      }
      for (const auto& [labels, value] : series) {
        out += gauge.name + render_labels(labels) + " " + format_number(value) + "\n";
      }
      continue;
    }
    double value = std::numeric_limits<double>::quiet_NaN();
    try {
      value = gauge.read();
    } catch (const std::exception&) {
      // A failing probe shows as NaN rather than breaking the whole scrape.
    }
    out += gauge.name + " " + format_number(value) + "\n";
  }
  return out;
}

}  // namespace relay::api

#include "lepsim/record.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "toml_reader.hpp"

namespace lepsim {

namespace {

constexpr RecordMetricStatus AVAILABLE = RecordMetricStatus::Available;

}  // namespace

const std::vector<RecordMetric>& record_metrics() {
  // The one list of base names a milestone may use: the output registry's metrics that
  // take a month (the [milestones] ones need that table in the scenario). A Proposed entry
  // names an output the model does not write yet; none is left today.
  static const std::vector<RecordMetric> list = {
      {"completed_cumulative", AVAILABLE, "schools (projects) completed by the month", ""},
      {"leps_formed", AVAILABLE, "LEPs formed by the month (financial close of a first procurement)", ""},
      {"exclusive_leps", AVAILABLE, "formed LEPs still holding exclusivity at the month", ""},
      {"transformation", AVAILABLE, "transformation score of the schools completed by the month", ""},
      {"schools_in_construction", AVAILABLE, "schools whose construction has started and that are not handed over", ""},
      {"schools_in_programme", AVAILABLE, "schools released into the programme by the month", ""},
      {"schools_in_strategy", AVAILABLE, "schools not yet in construction whose authority is at the strategy stage", ""},
      {"schools_in_procurement", AVAILABLE, "schools not yet in construction whose authority is in procurement", ""},
      {"schools_in_followon", AVAILABLE, "schools not yet in construction whose authority is past procurement", ""},
      {"authorities_entered", AVAILABLE, "authorities that have entered the programme by the month", ""},
      {"authorities_in_strategy", AVAILABLE, "authorities working on their Strategy for Change at the month", ""},
      {"authorities_in_procurement", AVAILABLE, "authorities in procurement at the month", ""},
      {"authorities_past_procurement", AVAILABLE, "authorities that have closed their first procurement by the month", ""},
      {"non_lep_deals", AVAILABLE, "authorities past procurement with a deal that formed no LEP", ""},
      {"authorities_partner_selected", AVAILABLE, "authorities that have selected a private sector partner", ""},
  };
  return list;
}

const RecordMetric* find_record_metric(const std::string& base) {
  for (const RecordMetric& m : record_metrics())
    if (base == m.name) return &m;
  return nullptr;
}

std::vector<const Milestone*> ObservedRecord::expressible(MilestoneUse use) const {
  std::vector<const Milestone*> out;
  for (const Milestone& m : milestones) {
    const RecordMetric* rm = find_record_metric(m.base);
    if (m.use == use && rm && rm->status == RecordMetricStatus::Available) out.push_back(&m);
  }
  return out;
}

std::optional<double> months_to_end_of(const std::string& text, const MonthOrigin& origin) {
  static const std::regex shape(R"(([0-9]{4})-([0-9]{2}))");
  std::smatch m;
  if (!std::regex_match(text, m, shape)) return std::nullopt;
  const int y = std::stoi(m[1]), mo = std::stoi(m[2]);
  if (mo < 1 || mo > 12 || y < 1900 || y > 2200) return std::nullopt;
  return static_cast<double>((y - origin.year) * 12 + (mo - origin.month) + 1);
}

namespace {

using TValue = detail::TomlValue;

class RecordReader : detail::TomlReader {
 public:
  RecordReader(std::string path, std::optional<MonthOrigin> origin) : TomlReader(std::move(path)), origin_(origin) {}

  ObservedRecord read(const std::string& text) {
    const TValue root = parse(text);
    ObservedRecord rec;
    rec.source_path = path_;
    if (!root.is_table()) fail(0, "", "", "must be a TOML table");
    check_keys(root, "", {"record", "milestone"});
    read_header(root, rec);
    read_milestones(root, rec);
    finish();
    return rec;
  }

 private:
  std::optional<MonthOrigin> origin_;

  void read_header(const TValue& root, ObservedRecord& rec) {
    const TValue* r = find(root, "record");
    if (!r) {
      fail(0, "record", "", "missing: a [record] table with `name` is required");
      return;
    }
    if (!r->is_table()) return fail_at(*r, "record", "must be a table");
    check_keys(*r, "record.", {"name", "description", "start", "secondary_sd_factor"});
    if (auto n = string(*r, "name", "record.name"))
      rec.name = *n;
    else if (!find(*r, "name"))
      fail(line_of(*r), "record.name", "", "missing: the record needs a name");
    rec.description = string(*r, "description", "record.description").value_or("");
    if (auto s = string(*r, "start", "record.start")) {
      MonthOrigin o{};
      static const std::regex shape(R"(([0-9]{4})-([0-9]{2}))");
      std::smatch m;
      if (std::regex_match(*s, m, shape) && std::stoi(m[2]) >= 1 && std::stoi(m[2]) <= 12) {
        o = {std::stoi(m[1]), std::stoi(m[2])};
        if (origin_ && (origin_->year != o.year || origin_->month != o.month))
          fail_at(*find(*r, "start"), "record.start",
                  "must match the scenario's [time] start (" + std::to_string(origin_->year) + "-" +
                      (origin_->month < 10 ? "0" : "") + std::to_string(origin_->month) + ")");
        origin_ = o;
      } else {
        fail_at(*find(*r, "start"), "record.start", "must be a year-month like \"2005-04\"");
      }
    }
    if (origin_) rec.start_year = origin_->year, rec.start_month = origin_->month;
    if (auto f = number(*r, "secondary_sd_factor", "record.secondary_sd_factor")) {
      if (*f < 1)
        fail_at(*find(*r, "secondary_sd_factor"), "record.secondary_sd_factor",
                "must be >= 1 (secondary figures are no more precise than audited ones)");
      else
        rec.secondary_sd_factor = *f;
    }
  }

  void read_milestones(const TValue& root, ObservedRecord& rec) {
    const TValue* ms = find(root, "milestone");
    if (!ms) return fail(0, "milestone", "", "missing: at least one [[milestone]] is required");
    if (!ms->is_array()) return fail_at(*ms, "milestone", "must be an array of tables ([[milestone]])");
    std::map<std::string, int> ids;
    for (std::size_t i = 0; i < ms->as_array().size(); ++i) {
      const TValue& t = ms->as_array()[i];
      const std::string at = "milestone[" + std::to_string(i) + "].";
      if (!t.is_table()) {
        fail_at(t, "milestone[" + std::to_string(i) + "]", "must be a table");
        continue;
      }
      const std::size_t before = diags_.size();
      Milestone m = read_milestone(t, at);
      if (!m.id.empty()) {
        if (auto [it, fresh] = ids.emplace(m.id, m.line); !fresh)
          fail_at(*find(t, "id"), at + "id", "must be unique (also at line " + std::to_string(it->second) + ")");
      }
      if (diags_.size() == before) rec.milestones.push_back(std::move(m));
    }
  }

  Milestone read_milestone(const TValue& t, const std::string& at) {
    check_keys(t, at, {"id", "date", "month", "metric", "value", "sd", "range", "evidence", "use", "source", "note"});
    Milestone m;
    m.line = line_of(t);
    const auto missing = [&](const std::string& k, const std::string& why) { fail(m.line, at + k, "", "missing: " + why); };

    static const std::regex id_shape(R"([a-z][a-z0-9_]*)");
    if (auto id = string(t, "id", at + "id")) {
      if (!std::regex_match(*id, id_shape))
        fail_at(*find(t, "id"), at + "id", "must be snake_case: a-z, 0-9 and _, starting with a letter");
      else
        m.id = *id;
    } else if (!find(t, "id")) {
      missing("id", "every milestone needs an id");
    }

    // The month: from `month`, from `date` (the end of that calendar month), or from the
    // metric's own @MONTH; when more than one is given they must agree.
    std::optional<double> month;
    if (auto x = number(t, "month", at + "month")) {
      if (*x <= 0)
        fail_at(*find(t, "month"), at + "month", "must be > 0 (months from the scenario's start)");
      else
        month = *x;
    }
    if (auto d = string(t, "date", at + "date")) {
      if (month) {
        fail_at(*find(t, "date"), at + "date", "give `date` or `month`, not both");
      } else if (!origin_) {
        fail_at(*find(t, "date"), at + "date",
                "a date needs the months' origin: [record] start, or the scenario's [time] start");
      } else if (auto x = months_to_end_of(*d, *origin_)) {
        if (*x <= 0)
          fail_at(*find(t, "date"), at + "date", "must be after the start (months from it must be > 0)");
        else
          month = *x;
      } else {
        fail_at(*find(t, "date"), at + "date", "must be a year-month like \"2008-12\" (the end of that month)");
      }
    }

    static const std::regex metric_shape(R"(([a-z][a-z0-9_]*)(@([0-9]+(\.[0-9]+)?))?)");
    if (auto name = string(t, "metric", at + "metric")) {
      const TValue& v = *find(t, "metric");
      std::smatch mm;
      if (!std::regex_match(*name, mm, metric_shape)) {
        fail_at(v, at + "metric", "must be NAME or NAME@MONTH (NAME snake_case, MONTH a number of months)");
      } else if (const RecordMetric* rm = find_record_metric(mm[1]); !rm) {
        std::string names;
        for (const RecordMetric& r : record_metrics()) names += (names.empty() ? "" : ", ") + std::string(r.name);
        fail_at(v, at + "metric", "unknown metric " + std::string(mm[1]) + " (known: " + names + ")");
      } else {
        m.base = mm[1];
        if (mm[3].matched) {
          const double named = std::stod(mm[3]);
          if (month && std::abs(*month - named) > 1e-9)
            fail_at(v, at + "metric",
                    "names month " + std::string(mm[3]) + " but the milestone's date or month is " +
                        (std::ostringstream() << *month).str());
          month = named;
        }
        if (!month) {
          // A date or month that was given but is wrong has its own message already.
          if (!find(t, "date") && !find(t, "month"))
            fail_at(v, at + "metric", "needs a month: `date`, `month` or NAME@MONTH");
        } else if (*month <= 0) {
          fail_at(v, at + "metric", "its month must be > 0");
        } else {
          m.month = *month;
          std::ostringstream os;
          os << m.base << "@" << m.month;
          m.metric = os.str();
        }
      }
    } else if (!find(t, "metric")) {
      missing("metric", "the output metric the figure is compared with, e.g. \"completed_cumulative\"");
    }

    if (auto x = number(t, "value", at + "value"))
      m.value = *x;
    else if (!find(t, "value"))
      missing("value", "the recorded figure");

    const TValue* sd = find(t, "sd");
    const TValue* range = find(t, "range");
    if (sd && range) {
      fail_at(*range, at + "range", "give `sd` or `range`, not both");
    } else if (sd) {
      if (auto x = number(t, "sd", at + "sd")) {
        if (*x <= 0)
          fail_at(*sd, at + "sd", "must be > 0 (no figure is exact: state its error)");
        else
          m.sd = *x;
      }
    } else if (range) {
      const bool pair = range->is_array() && range->as_array().size() == 2 &&
                        std::all_of(range->as_array().begin(), range->as_array().end(),
                                    [](const TValue& e) { return e.is_integer() || e.is_floating(); });
      if (!pair) {
        fail_at(*range, at + "range", "must be [low, high], two numbers");
      } else {
        const auto num = [](const TValue& e) {
          return e.is_integer() ? static_cast<double>(e.as_integer()) : e.as_floating();
        };
        const double lo = num(range->as_array()[0]), hi = num(range->as_array()[1]);
        if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi))
          fail_at(*range, at + "range", "must have finite low < high");
        else if (find(t, "value") && (m.value < lo || m.value > hi))
          fail_at(*range, at + "range", "must contain the value");
        else
          m.lo = lo, m.hi = hi, m.sd = (hi - lo) / 4;  // a range is read as +-2 sd (about 95%)
      }
    } else {
      missing("sd", "the figure's observation error: `sd` or `range = [low, high]`");
    }

    if (auto e = choice(t, "evidence", at + "evidence", {"audited", "secondary"}))
      m.evidence = *e == 0 ? Evidence::Audited : Evidence::Secondary;
    else if (!find(t, "evidence"))
      missing("evidence", "\"audited\" (NAO, PAC, Hansard) or \"secondary\" (trade press)");
    if (auto u = choice(t, "use", at + "use", {"fit", "validate"}))
      m.use = *u == 0 ? MilestoneUse::Fit : MilestoneUse::Validate;
    if (auto s = string(t, "source", at + "source")) {
      if (s->empty())
        fail_at(*find(t, "source"), at + "source", "must name where the figure comes from");
      else
        m.source = *s;
    } else if (!find(t, "source")) {
      missing("source", "where the figure comes from, e.g. \"NAO09 para 2.1\"");
    }
    m.note = string(t, "note", at + "note").value_or("");
    return m;
  }
};

}  // namespace

ObservedRecord parse_record(const std::string& text, const std::string& path, std::optional<MonthOrigin> origin) {
  return RecordReader(path, origin).read(text);
}

ObservedRecord load_record(const std::string& path, std::optional<MonthOrigin> origin) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScenarioError({{path, 0, "", "", "cannot open the record file"}});
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_record(ss.str(), path, origin);
}

}  // namespace lepsim

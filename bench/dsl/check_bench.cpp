// Front-end throughput on a large generated catalog (bench/dsl/generate_policy).
//
//   BM_Parse/A          dsl::parse of one file of A apps x 5 roles
//   BM_CheckFiles/A     dsl::check_files: load (parse) + check, as `portcullis check`
//   BM_CheckProgram/A   dsl::check_program alone on an already loaded program
//
// The policy is generated once per size, in memory, and served through a
// FileReader, so no disk I/O is measured. Figures: docs/PERFORMANCE.md.

#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "bench/dsl/generate_policy.hpp"
#include "dsl/checker.hpp"
#include "dsl/loader.hpp"
#include "dsl/parser.hpp"

namespace {

namespace dsl = portcullis::dsl;

constexpr int kRolesPerApp = 5;
constexpr unsigned kSeed = 1;
const std::string kPath = "generated.policy";

const std::string& policy_text(int apps) {
  static std::map<int, std::string> cache;
  auto it = cache.find(apps);
  if (it == cache.end()) it = cache.emplace(apps, portcullis::bench::generate_policy(apps, kRolesPerApp, kSeed)).first;
  return it->second;
}

dsl::FileReader reader_for(const std::string& text) {
  return [&text](const std::string& path) -> std::optional<std::string> {
    if (path == kPath) return text;
    return std::nullopt;
  };
}

void set_counters(benchmark::State& state, const std::string& text) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(text.size()));
  state.counters["apps"] = static_cast<double>(state.range(0));
  state.counters["MB"] = static_cast<double>(text.size()) / 1e6;
}

void BM_Parse(benchmark::State& state) {
  const std::string& text = policy_text(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto source = std::make_shared<const dsl::SourceFile>(kPath, text);
    dsl::ParseResult result = dsl::parse(source);
    if (result.diagnostics.has_errors()) {
      state.SkipWithError("the generated policy has syntax errors");
      break;
    }
    benchmark::DoNotOptimize(result.file.items.data());
  }
  set_counters(state, text);
}

void BM_CheckFiles(benchmark::State& state) {
  const std::string& text = policy_text(static_cast<int>(state.range(0)));
  const auto reader = reader_for(text);
  for (auto _ : state) {
    dsl::CheckRun run = dsl::check_files({kPath}, reader);
    if (run.diagnostics.has_errors()) {
      state.SkipWithError("the generated policy does not check cleanly");
      break;
    }
    benchmark::DoNotOptimize(run.programs.data());
  }
  set_counters(state, text);
}

void BM_CheckProgram(benchmark::State& state) {
  const std::string& text = policy_text(static_cast<int>(state.range(0)));
  const dsl::LoadResult loaded = dsl::load_program(kPath, reader_for(text));
  if (loaded.diagnostics.has_errors()) {
    state.SkipWithError("the generated policy has syntax errors");
    return;
  }
  for (auto _ : state) {
    dsl::Diagnostics diagnostics;
    dsl::check_program(loaded.program, diagnostics);
    benchmark::DoNotOptimize(diagnostics.items().data());
  }
  set_counters(state, text);
}

BENCHMARK(BM_Parse)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CheckFiles)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CheckProgram)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

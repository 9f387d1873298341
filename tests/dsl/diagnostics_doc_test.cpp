// Keeps docs/diagnostics.md in step with the diagnostic codes: every code
// has a section, every runnable example still triggers its code, and the
// output shown under it is still what `portcullis check` prints.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dsl/checker.hpp"
#include "dsl/diagnostics.hpp"

namespace portcullis::dsl {
namespace {

constexpr const char* kDocPath = PORTCULLIS_SOURCE_DIR "/docs/diagnostics.md";

// The documented examples are saved as this file and checked with
// `portcullis check example.policy`.
constexpr const char* kExamplePath = "example.policy";

// Codes whose example cannot be a small runnable file, and is therefore a
// ```text block explained in words: bytes that are not UTF-8 (this page is
// UTF-8), a file over 64 MiB, a program of more than 1000 files.
const std::set<std::string> kNotRunnable = {"E0109", "E0901", "E0904"};

struct Block {
  std::string tag;   // the word after the opening fence: policy, text, console, ...
  std::string body;  // the lines between the fences, each ending in '\n'
  std::size_t line = 0;
};

struct Section {
  std::string id;    // "E0201"
  std::string name;  // "unknown-bucket"
  std::size_t line = 0;
  std::string text;  // everything under the heading, fences included
  std::vector<Block> blocks;

  const Block* first(std::string_view tag) const {
    for (const auto& block : blocks) {
      if (block.tag == tag) return &block;
    }
    return nullptr;
  }
};

struct Doc {
  std::string text;
  std::vector<Section> sections;  // the `## CODE name` sections, in order

  const Section* find(std::string_view id) const {
    for (const auto& section : sections) {
      if (section.id == id) return &section;
    }
    return nullptr;
  }
};

// `## E0201 unknown-bucket` -> {"E0201", "unknown-bucket"}.
std::optional<std::pair<std::string, std::string>> code_heading(const std::string& line) {
  if (line.rfind("## ", 0) != 0) return std::nullopt;
  const std::string rest = line.substr(3);
  const auto space = rest.find(' ');
  if (space != 5 || (rest[0] != 'E' && rest[0] != 'W')) return std::nullopt;
  if (!std::all_of(rest.begin() + 1, rest.begin() + 5, [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::make_pair(rest.substr(0, 5), rest.substr(6));
}

Doc read_doc() {
  Doc doc;
  std::ifstream in(kDocPath, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << kDocPath;
    return doc;
  }
  std::ostringstream all;
  all << in.rdbuf();
  doc.text = all.str();

  std::istringstream lines(doc.text);
  std::string line;
  std::size_t number = 0;
  Section* current = nullptr;
  std::optional<Block> fence;
  while (std::getline(lines, line)) {
    ++number;
    if (fence) {
      if (line == "```") {
        if (current) current->blocks.push_back(std::move(*fence));
        fence.reset();
      } else {
        fence->body += line + "\n";
      }
      if (current) current->text += line + "\n";
      continue;
    }
    if (line.rfind("```", 0) == 0) {
      fence = Block{line.substr(3), {}, number};
      if (current) current->text += line + "\n";
      continue;
    }
    if (line.rfind("## ", 0) == 0) {
      current = nullptr;
      if (auto heading = code_heading(line)) {
        doc.sections.push_back({heading->first, heading->second, number, {}, {}});
        current = &doc.sections.back();
      }
      continue;
    }
    if (current) current->text += line + "\n";
  }
  EXPECT_FALSE(fence) << kDocPath << ":" << fence->line << ": code block is never closed";
  return doc;
}

// Checks `text` as `portcullis check example.policy` would, in memory.
CheckRun check_example(const std::string& text) {
  FileReader reader = [text](const std::string& path) -> std::optional<std::string> {
    if (path == kExamplePath) return text;
    return std::nullopt;
  };
  return check_files({kExamplePath}, reader);
}

std::string render_all(const CheckRun& run) {
  std::string out;
  for (const auto& d : run.diagnostics.items()) out += render_text(d) + "\n";
  return out;
}

TEST(DiagnosticsDoc, EveryCodeHasASection) {
  const Doc doc = read_doc();
  ASSERT_FALSE(doc.sections.empty()) << "no `## CODE name` section in " << kDocPath;
  for (Code code : all_codes()) {
    const std::string id(code_id(code));
    SCOPED_TRACE(id);
    const Section* section = doc.find(id);
    if (!section) {
      ADD_FAILURE() << kDocPath << " has no section `## " << id << " " << code_name(code) << "`";
      continue;
    }
    EXPECT_EQ(section->name, code_name(code)) << kDocPath << ":" << section->line;
    EXPECT_NE(section->text.find(std::string(code_summary(code))), std::string::npos)
        << kDocPath << ":" << section->line << ": the section does not state the code's meaning: "
        << code_summary(code);
    // docs/diagnostics.md#E0201 is the link that SARIF rules give.
    EXPECT_NE(doc.text.find("<a id=\"" + id + "\"></a>"), std::string::npos)
        << "no anchor <a id=\"" << id << "\"></a>";
  }
}

TEST(DiagnosticsDoc, SectionsAreKnownCodesInNumericOrder) {
  const Doc doc = read_doc();
  std::vector<std::string> documented;
  std::vector<std::string> known;
  for (Code code : all_codes()) known.emplace_back(code_id(code));
  for (const auto& section : doc.sections) {
    EXPECT_NE(std::find(known.begin(), known.end(), section.id), known.end())
        << kDocPath << ":" << section.line << ": `" << section.id << "` is not a diagnostic code";
    EXPECT_EQ(std::count(documented.begin(), documented.end(), section.id), 0)
        << kDocPath << ":" << section.line << ": `" << section.id << "` is documented twice";
    documented.push_back(section.id);
  }
  EXPECT_EQ(documented, known);
}

TEST(DiagnosticsDoc, PolicyExamplesTriggerTheirCode) {
  const Doc doc = read_doc();
  for (const auto& section : doc.sections) {
    const Block* example = section.first("policy");
    if (!example) continue;
    SCOPED_TRACE(section.id);
    const CheckRun run = check_example(example->body);
    bool found = false;
    for (const auto& d : run.diagnostics.items()) found = found || code_id(d.code) == section.id;
    EXPECT_TRUE(found) << kDocPath << ":" << example->line << ": the example of " << section.id << " "
                       << section.name << " does not trigger it; `check` reports:\n"
                       << render_all(run);
  }
}

TEST(DiagnosticsDoc, DocumentedOutputIsWhatCheckPrints) {
  const Doc doc = read_doc();
  const std::string command = std::string("$ portcullis check ") + kExamplePath + "\n";
  for (const auto& section : doc.sections) {
    const Block* example = section.first("policy");
    if (!example) continue;
    SCOPED_TRACE(section.id);
    const Block* output = section.first("console");
    if (!output) {
      ADD_FAILURE() << kDocPath << ":" << section.line << ": no ```console block with the output of the example";
      continue;
    }
    const std::string expected = command + render_all(check_example(example->body));
    // The output ends with the one summary line, `checked 1 file: ...`.
    const std::string& shown = output->body;
    const std::string head = shown.substr(0, std::min(shown.size(), expected.size()));
    EXPECT_EQ(head, expected) << kDocPath << ":" << output->line << ": the output shown is out of date";
    const std::string tail = shown.size() > expected.size() ? shown.substr(expected.size()) : std::string();
    EXPECT_TRUE(tail.rfind("checked 1 file: ", 0) == 0 && std::count(tail.begin(), tail.end(), '\n') == 1)
        << kDocPath << ":" << output->line << ": expected one `checked 1 file: ...` line after the diagnostics, found:\n"
        << tail;
  }
}

TEST(DiagnosticsDoc, OnlyCodesThatCannotBeTriggeredSmallUseTextExamples) {
  const Doc doc = read_doc();
  std::set<std::string> text_only;
  for (const auto& section : doc.sections) {
    if (section.first("policy")) continue;
    EXPECT_NE(section.first("text"), nullptr)
        << kDocPath << ":" << section.line << ": " << section.id << " has neither a ```policy nor a ```text example";
    text_only.insert(section.id);
  }
  for (const auto& id : text_only) {
    EXPECT_EQ(kNotRunnable.count(id), 1u)
        << id << " has no runnable ```policy example; only " << kNotRunnable.size()
        << " codes (E0109, E0901, E0904) may be explained with a ```text block instead";
  }
  EXPECT_LE(text_only.size(), kNotRunnable.size());
}

}  // namespace
}  // namespace portcullis::dsl

#include "dsl/loader.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "dsl/limits.hpp"
#include "dsl/parser.hpp"

namespace portcullis::dsl {
namespace fs = std::filesystem;
namespace {

// Identity of a file: its canonical path when it exists, so `a/../b.policy`
// and `b.policy` are one file.
std::string identity(const std::string& path) {
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(path, ec);
  return ec ? fs::path(path).lexically_normal().string() : canonical.string();
}

class Loader {
 public:
  explicit Loader(const FileReader& reader) : reader_(reader) {}

  LoadResult run(const std::string& root) {
    LoadResult result;
    result.root_readable = load(root, nullptr);
    result.program.files = std::move(files_);
    result.diagnostics = std::move(diagnostics_);
    return result;
  }

 private:
  // Loads `path` (reached through `via`, or the root when null). Returns
  // false when the file could not be read.
  bool load(const std::string& path, const ast::Import* via) {
    const std::string key = identity(path);
    if (auto on_stack = std::find(stack_.begin(), stack_.end(), key); on_stack != stack_.end()) {
      auto& d = diagnostics_.error(Code::import_cycle, via->path.span, "import cycle: `" + path + "` imports itself");
      for (auto it = on_stack; it != stack_.end(); ++it) {
        d.notes.push_back({{}, "`" + display_.at(*it) + "` is on the import chain"});
      }
      d.help = "move the shared definitions into a module that both files import";
      return true;
    }
    if (loaded_.count(key)) return true;
    if (loaded_.size() >= limits::kMaxFiles) {
      diagnostics_.error(Code::too_many_files, via ? via->path.span : Span{},
                         "more than " + std::to_string(limits::kMaxFiles) + " files in one program");
      return true;
    }
    auto text = reader_(path);
    if (!text) {
      if (via) {
        auto& d = diagnostics_.error(Code::import_not_found, via->path.span,
                                     "cannot read imported file `" + path + "`");
        d.help = "import paths are relative to the importing file's folder";
      }
      return false;
    }
    loaded_.insert(key);
    display_[key] = path;
    auto source = std::make_shared<SourceFile>(path, std::move(*text));
    ParseResult parsed = parse(source);
    diagnostics_.append(parsed.diagnostics);
    const std::size_t index = files_.size();
    files_.push_back(std::move(parsed.file));

    stack_.push_back(key);
    // Copy the imports: files_ may reallocate while loading them.
    const auto imports = files_[index].all<ast::Import>();
    std::vector<ast::Import> pending;
    for (const auto* import : imports) pending.push_back(*import);
    const fs::path folder = fs::path(path).parent_path();
    for (const auto& import : pending) {
      const std::string target = (folder / import.path.value).lexically_normal().string();
      load(target, &import);
    }
    stack_.pop_back();
    return true;
  }

  const FileReader& reader_;
  std::vector<ast::File> files_;
  Diagnostics diagnostics_;
  std::vector<std::string> stack_;
  std::set<std::string> loaded_;
  std::map<std::string, std::string> display_;
};

}  // namespace

std::optional<std::string> read_file_from_disk(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(out).str();
}

LoadResult load_program(const std::string& root_path, const FileReader& reader) {
  return Loader(reader).run(root_path);
}

ExpandedPaths expand_policy_paths(const std::vector<std::string>& paths) {
  ExpandedPaths result;
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> found;
      fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
      for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (it->is_directory(ec)) {
          if (name.starts_with(".") || name.starts_with("build")) it.disable_recursion_pending();
          continue;
        }
        if (it->path().extension() == ".policy") found.push_back(it->path().lexically_normal().string());
      }
      std::sort(found.begin(), found.end());
      result.files.insert(result.files.end(), found.begin(), found.end());
    } else if (fs::exists(path, ec) || path == "-") {
      result.files.push_back(path);
    } else {
      result.missing.push_back(path);
    }
  }
  return result;
}

}  // namespace portcullis::dsl

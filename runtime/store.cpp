#include "runtime/store.hpp"

#include <type_traits>

namespace portcullis::runtime {

void add_effects(Commit& commit, const std::vector<interpreter::Effect>& effects) {
  for (const auto& effect : effects) {
    std::visit(
        [&](const auto& e) {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, interpreter::ScheduleTimerEffect>) {
            commit.timers.push_back(TimerChange{e.kind, e.step, e.at, std::nullopt});
          } else if constexpr (std::is_same_v<E, interpreter::CancelTimerEffect>) {
            commit.timers.push_back(TimerChange{e.kind, 0, std::nullopt, std::nullopt});
          } else {
            commit.effects.push_back(e);
          }
        },
        effect);
  }
}

}  // namespace portcullis::runtime

// `mosaic scrub [--wait] --config FILE`: starts a deep scrub on the running gateway of FILE
// (POST /admin/v1/scrub) and, with --wait, follows its progress until it ends: a progress
// bar on a terminal, one plain line every few seconds otherwise.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "common/units.h"
#include "server/commands.h"
#include "server/gateway/admin.h"
#include "server/gateway/config.h"

namespace mosaic {
namespace {


// The number after "name": in the flat JSON object of GET /admin/v1/scrub (0 if absent).
uint64_t Field(const std::string& json, const std::string& name) {
  size_t at = json.find("\"" + name + "\": ");
  if (at == std::string::npos) return 0;
  return std::strtoull(json.c_str() + at + name.size() + 4, nullptr, 10);
}

bool Running(const std::string& json) { return json.find("\"running\": true") != std::string::npos; }

std::string ErrorOf(const std::string& json) {
  size_t at = json.find("\"error\": \"");
  if (at == std::string::npos) return "";
  at += 10;
  return json.substr(at, json.find('"', at) - at);
}


absl::StatusOr<std::string> Ask(const gateway::AdminTarget& t, const std::string& method) {
  return gateway::AdminRequest(t.address, t.token, method, "/admin/v1/scrub");
}

void Show(const std::string& json, bool tty) {
  uint64_t done = Field(json, "pieces_done"), total = Field(json, "pieces_total");
  double share = total ? double(done) / double(total) : (Running(json) ? 0.0 : 1.0);
  std::string sizes = FormatSize(Field(json, "bytes"));
  if (!tty) {
    std::printf("scrub: %llu/%llu pieces, %s read, %llu bad shards\n",
                static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                sizes.c_str(), static_cast<unsigned long long>(Field(json, "failures")));
    std::fflush(stdout);
    return;
  }
  constexpr int kWidth = 30;
  int filled = static_cast<int>(share * kWidth);
  std::string bar(size_t(filled), '#');
  bar.append(size_t(kWidth - filled), '-');
  std::printf("\rscrub [%s] %3d%%  %llu/%llu pieces  %s  %llu bad ", bar.c_str(),
              static_cast<int>(share * 100), static_cast<unsigned long long>(done),
              static_cast<unsigned long long>(total), sizes.c_str(),
              static_cast<unsigned long long>(Field(json, "failures")));
  std::fflush(stdout);
}

// Follows run `run` (or the one after it, if it has not started yet) until it ends.
int Follow(const gateway::AdminTarget& t, uint64_t run) {
  bool tty = isatty(STDOUT_FILENO);
  auto last_line = std::chrono::steady_clock::now() - std::chrono::hours(1);
  while (true) {
    auto json = Ask(t, "GET");
    if (!json.ok()) {
      std::fprintf(stderr, "\nmosaic: %s\n", json.status().ToString().c_str());
      return 1;
    }
    bool ours = Field(*json, "run") >= run;
    bool over = ours && !Running(*json);
    auto now = std::chrono::steady_clock::now();
    if (ours && (tty || over || now - last_line >= std::chrono::seconds(5))) {
      Show(*json, tty);
      last_line = now;
    }
    if (over) {
      if (tty) std::printf("\n");
      std::string error = ErrorOf(*json);
      if (!error.empty()) {
        std::fprintf(stderr, "mosaic: the deep scrub stopped: %s\n", error.c_str());
        return 1;
      }
      std::printf("scrub finished: %llu shards checked, %llu bad (queued for repair), %llu "
                  "on unreachable nodes\n",
                  static_cast<unsigned long long>(Field(*json, "shards_checked")),
                  static_cast<unsigned long long>(Field(*json, "failures")),
                  static_cast<unsigned long long>(Field(*json, "skipped")));
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(tty ? 250 : 1000));
  }
}

}  // namespace

void AddScrubCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "scrub", "Start a deep scrub on the running gateway: read and check every shard");
  auto config = std::make_shared<std::string>();
  auto wait = std::make_shared<bool>(false);
  cmd->add_option("--config,-c", *config, "Gateway configuration file")->required();
  cmd->add_flag("--wait,-w", *wait, "Follow the scrub's progress until it ends");
  cmd->callback([config, wait] {
    gateway::AdminTarget t = gateway::AdminTargetOrExit(*config);
    auto before = Ask(t, "GET");
    if (!before.ok()) {
      std::fprintf(stderr, "mosaic: %s\n", before.status().ToString().c_str());
      throw CLI::RuntimeError(1);
    }
    uint64_t run = Field(*before, "run") + 1;
    if (Running(*before)) {
      std::printf("a deep scrub is running already\n");
      run = Field(*before, "run");
    } else {
      auto started = Ask(t, "POST");
      if (!started.ok() && started.status().code() != absl::StatusCode::kFailedPrecondition) {
        std::fprintf(stderr, "mosaic: %s\n", started.status().ToString().c_str());
        throw CLI::RuntimeError(1);
      }
      std::printf("deep scrub started\n");
    }
    std::fflush(stdout);
    if (*wait) {
      int rc = Follow(t, run);
      if (rc != 0) throw CLI::RuntimeError(rc);
    }
  });
}

}  // namespace mosaic

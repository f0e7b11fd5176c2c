// `mosaic scrub [--wait] --config FILE`: starts a deep scrub on the running gateway of FILE
// (POST /admin/v1/scrub) and, with --wait, follows its progress until it ends: a progress
// bar on a terminal, one plain line every few seconds otherwise.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "common/status.h"
#include "common/units.h"
#include "server/commands.h"
#include "server/gateway/admin_client.h"
#include "server/gateway/config.h"
#include "server/gateway/jobs/scrubber.h"

namespace mosaic {
namespace {

// GET or POST /admin/v1/scrub, its JSON body read (scrubber.h, ParseProgressJson).
absl::StatusOr<gateway::DeepScrubProgress> Ask(const gateway::AdminTarget& t,
                                               const std::string& method) {
  ASSIGN_OR_RETURN(std::string body,
                   gateway::AdminRequest(t.address, t.token, method, "/admin/v1/scrub"));
  return gateway::ParseProgressJson(body);
}

unsigned long long U(uint64_t v) { return static_cast<unsigned long long>(v); }

void Show(const gateway::DeepScrubProgress& p, bool tty) {
  double share =
      p.pieces_total ? double(p.pieces_done) / double(p.pieces_total) : (p.running ? 0.0 : 1.0);
  std::string sizes = FormatSize(p.bytes);
  if (!tty) {
    std::printf("scrub: %llu/%llu pieces, %s read, %llu bad shards\n", U(p.pieces_done),
                U(p.pieces_total), sizes.c_str(), U(p.failures));
    std::fflush(stdout);
    return;
  }
  constexpr int kWidth = 30;
  int filled = static_cast<int>(share * kWidth);
  std::string bar(size_t(filled), '#');
  bar.append(size_t(kWidth - filled), '-');
  std::printf("\rscrub [%s] %3d%%  %llu/%llu pieces  %s  %llu bad ", bar.c_str(),
              static_cast<int>(share * 100), U(p.pieces_done), U(p.pieces_total), sizes.c_str(),
              U(p.failures));
  std::fflush(stdout);
}

// Follows run `run` (or the one after it, if it has not started yet) until it ends.
int Follow(const gateway::AdminTarget& t, uint64_t run) {
  bool tty = isatty(STDOUT_FILENO);
  auto last_line = std::chrono::steady_clock::now() - std::chrono::hours(1);
  while (true) {
    auto p = Ask(t, "GET");
    if (!p.ok()) {
      std::fprintf(stderr, "\nmosaic: %s\n", p.status().ToString().c_str());
      return 1;
    }
    bool ours = p->run >= run;
    bool over = ours && !p->running;
    auto now = std::chrono::steady_clock::now();
    if (ours && (tty || over || now - last_line >= std::chrono::seconds(5))) {
      Show(*p, tty);
      last_line = now;
    }
    if (over) {
      if (tty) std::printf("\n");
      if (!p->error.empty()) {
        std::fprintf(stderr, "mosaic: the deep scrub stopped: %s\n", p->error.c_str());
        return 1;
      }
      std::printf(
          "scrub finished: %llu shards checked, %llu bad (queued for repair), %llu "
          "on unreachable nodes\n",
          U(p->shards_checked), U(p->failures), U(p->skipped));
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
    uint64_t run = before->run + 1;
    if (before->running) {
      std::printf("a deep scrub is running already\n");
      run = before->run;
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

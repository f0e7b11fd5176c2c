#pragma once
// Subcommands of the `mosaic` executable. Each Add*Command registers its subcommand and
// its callback on `app`; the callbacks run after parsing and exit the process with their
// status (CLI11's convention: throw CLI::RuntimeError(code)).

#include <CLI/CLI.hpp>

#include "absl/status/status.h"

namespace mosaic {

void AddNodeCommand(CLI::App& app);
// `mosaic node init` and `mosaic node tenant add` (node/onboard_command.cc), under `node`.
void AddNodeOnboardCommands(CLI::App& node);
// `mosaic node tenant list|set-quota|remove` (node/tenant_command.cc), under `node tenant`.
void AddNodeTenantCommands(CLI::App& tenant);
// `mosaic gateway init` and `mosaic gateway node add` (gateway/onboard_command.cc).
void AddGatewayOnboardCommands(CLI::App& gateway);
void AddKeygenCommand(CLI::App& app);
void AddDevCommand(CLI::App& app);
void AddGatewayCommand(CLI::App& app);  // also `mosaic key`
// `mosaic status` (gateway/status_command.cc).
void AddStatusCommands(CLI::App& app);
// For the commands of the admin API (status_command.cc): prints "mosaic: <s>" to stderr and
// ends the command with exit code `code`.
[[noreturn]] void FailCommand(int code, const absl::Status& s);
// `mosaic node add|drain|remove|undrain` (gateway/node_command.cc), under `node`.
void AddNodeStateCommands(CLI::App& node);
// `mosaic restore --key FILE (--nodes FILE | --node ADDRESS ...) --into DIR`
// (gateway/restore_command.cc).
void AddRestoreCommand(CLI::App& app);
// `mosaic meta migrate --config FILE --to postgresql://…` (gateway/meta_command.cc).
void AddMetaCommand(CLI::App& app);
// `mosaic member …` and `mosaic team …`: the console's people (gateway/member_command.cc).
void AddMemberAndTeamCommands(CLI::App& app);

}  // namespace mosaic

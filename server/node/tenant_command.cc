// `mosaic node tenant list|set-quota|remove`: a provider's view and edits of the groups that
// store on its node. Edits rewrite node.toml in place (the rest of the file as it was) and
// signal the running node to reload its tenants, as `mosaic node tenant add` does.

#include <cstdio>
#include <memory>
#include <string>

#include "common/toml_config.h"
#include "common/units.h"
#include "server/commands.h"
#include "server/node/config.h"
#include "server/node/tenant_admin.h"

namespace mosaic {
namespace {

[[noreturn]] void Fail(const std::string& command, const std::string& why, int code = 1) {
  std::fprintf(stderr, "mosaic node tenant %s: %s\n", command.c_str(), why.c_str());
  throw CLI::RuntimeError(code);
}

node::NodeConfig LoadOrFail(const std::string& command, const std::string& config_path) {
  auto config = node::LoadNodeConfig(config_path);
  if (!config.ok()) Fail(command, std::string(config.status().message()), 2);
  return *config;
}

std::map<std::string, node::TenantUsage> UsageOrFail(const std::string& command,
                                                     const node::NodeConfig& config) {
  auto usage = node::ReadTenantUsage(config.store.dir);
  if (!usage.ok()) Fail(command, "reading usage: " + std::string(usage.status().message()));
  return *usage;
}

std::string QuotaText(uint64_t quota_bytes) {
  return quota_bytes == 0 ? "unlimited" : FormatSize(quota_bytes);
}

// Writes `updated` over the config and has a running node reload it; returns the clause
// that says whether one did.
std::string WriteAndReload(const std::string& command, const std::string& config_path,
                           const node::NodeConfig& config, const std::string& updated) {
  if (auto s = config::WriteNewFile(config_path, updated, 0600, true); !s.ok()) {
    Fail(command, std::string(s.message()));
  }
  return node::SignalRunningNode(config.store.dir)
             ? "the running node reloaded its tenants"
             : "no running node found (it reads the change when it starts)";
}

void RunList(const std::string& config_path, bool json) {
  node::NodeConfig config = LoadOrFail("list", config_path);
  auto usage = UsageOrFail("list", config);
  if (json) std::printf("[");
  if (!json) std::printf("%-24s %12s %12s %10s\n", "TENANT", "QUOTA", "USED", "CHUNKS");
  for (size_t i = 0; i < config.tenants.size(); ++i) {
    const node::TenantConfig& t = config.tenants[i];
    node::TenantUsage u = usage.count(t.name) ? usage[t.name] : node::TenantUsage{};
    if (json) {
      std::printf(
          "%s{\"name\":%s,\"quota_bytes\":%llu,\"used_bytes\":%llu,\"chunks\":%llu}", i ? "," : "",
          config::Quote(t.name).c_str(), static_cast<unsigned long long>(t.quota_bytes),
          static_cast<unsigned long long>(u.bytes), static_cast<unsigned long long>(u.chunks));
    } else {
      std::printf("%-24s %12s %12s %10llu\n", t.name.c_str(), QuotaText(t.quota_bytes).c_str(),
                  FormatSize(u.bytes).c_str(), static_cast<unsigned long long>(u.chunks));
    }
  }
  std::printf(json ? "]\n" : "");
  if (auto disk = node::DiskCapacityBytes(config.store.dir); disk.ok()) {
    if (auto w = node::QuotasOverDisk(config.tenants, *disk))
      std::fprintf(stderr, "warning: %s\n", w->c_str());
  }
}

void RunSetQuota(const std::string& name, const std::string& quota,
                 const std::string& config_path) {
  node::NodeConfig config = LoadOrFail("set-quota", config_path);
  auto text = config::ReadFile(config_path);
  if (!text.ok()) Fail("set-quota", std::string(text.status().message()));
  auto updated = node::SetTenantQuotaInToml(*text, name, quota);
  if (!updated.ok()) Fail("set-quota", std::string(updated.status().message()), 2);
  uint64_t before = 0;
  for (const node::TenantConfig& t : config.tenants)
    before = t.name == name ? t.quota_bytes : before;
  std::string reloaded = WriteAndReload("set-quota", config_path, config, *updated);
  auto after = node::ParseNodeConfig(*updated);  // valid: SetTenantQuotaInToml checked it
  uint64_t quota_bytes = ParseSize(quota).value_or(0);
  std::printf("tenant %s's quota is now %s (was %s) in %s; %s\n", name.c_str(),
              QuotaText(quota_bytes).c_str(), QuotaText(before).c_str(), config_path.c_str(),
              reloaded.c_str());
  auto usage = UsageOrFail("set-quota", config);
  if (quota_bytes != 0 && usage[name].bytes > quota_bytes) {
    std::fprintf(stderr, "warning: tenant %s already stores %s: its writes fail until it deletes\n",
                 name.c_str(), FormatSize(usage[name].bytes).c_str());
  }
  if (auto disk = node::DiskCapacityBytes(config.store.dir); disk.ok() && after.ok()) {
    if (auto w = node::QuotasOverDisk(after->tenants, *disk))
      std::fprintf(stderr, "warning: %s\n", w->c_str());
  }
}

void RunRemove(const std::string& name, bool force, const std::string& config_path) {
  node::NodeConfig config = LoadOrFail("remove", config_path);
  auto text = config::ReadFile(config_path);
  if (!text.ok()) Fail("remove", std::string(text.status().message()));
  auto updated = node::RemoveTenantFromToml(*text, name);
  if (!updated.ok()) Fail("remove", std::string(updated.status().message()), 2);
  node::TenantUsage held = UsageOrFail("remove", config)[name];
  std::string holds = std::to_string(held.chunks) + " chunk(s) (" + FormatSize(held.bytes) + ")";
  if (held.chunks > 0 && !force) {
    Fail("remove",
         "tenant " + name + " still holds " + holds +
             " on this node; ask the group to move them away first (`mosaic gateway node drain`"
             " on its gateway), or pass --force to remove it anyway",
         3);
  }
  std::string reloaded = WriteAndReload("remove", config_path, config, *updated);
  std::printf("tenant %s removed from %s; %s\n", name.c_str(), config_path.c_str(),
              reloaded.c_str());
  if (held.chunks > 0) {
    std::printf("its %s stay on disk, unreadable: its token no longer works\n", holds.c_str());
  }
}

}  // namespace

void AddNodeTenantCommands(CLI::App& tenant) {
  auto config_path = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  CLI::App* list = tenant.add_subcommand(
      "list", "Show each group's quota, the bytes it stores and its chunk count");
  auto json = std::make_shared<bool>(false);
  list->add_option("--config,-c", *config_path, "The node's config file")->required();
  list->add_flag("--json", *json, "Print a JSON array instead of a table");
  list->callback([=] { RunList(*config_path, *json); });

  CLI::App* set = tenant.add_subcommand("set-quota", "Change a group's quota");
  auto quota = std::make_shared<std::string>();
  set->add_option("name", *name, "The group's name")->required();
  set->add_option("--quota", *quota, "Most bytes it may store (e.g. 500GiB; 0 = unlimited)")
      ->required();
  set->add_option("--config,-c", *config_path, "The node's config file")->required();
  set->callback([=] { RunSetQuota(*name, *quota, *config_path); });

  CLI::App* remove = tenant.add_subcommand(
      "remove", "Remove a group (refused while it holds chunks here, unless --force)");
  auto force = std::make_shared<bool>(false);
  remove->add_option("name", *name, "The group's name")->required();
  remove->add_flag("--force", *force, "Remove it even though it still holds chunks");
  remove->add_option("--config,-c", *config_path, "The node's config file")->required();
  remove->callback([=] { RunRemove(*name, *force, *config_path); });
}

}  // namespace mosaic

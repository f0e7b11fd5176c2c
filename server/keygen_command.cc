// `mosaic keygen`: creates a master key file. The logic lives in client/crypto/key_file.h;
// this file only wires the command line.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "client/crypto/key_file.h"
#include "common/bytes.h"
#include "server/commands.h"

namespace mosaic {
namespace {

struct KeygenOptions {
  std::string out;
  bool passphrase = false;
};

absl::StatusOr<client::KeyId> RunKeygen(const KeygenOptions& options) {
  if (!options.passphrase) return client::WriteNewKeyFile(options.out);
  absl::StatusOr<client::SecretBytes> passphrase =
      client::ReadPassphrase(std::getenv("MOSAIC_PASSPHRASE"), stdin);
  if (!passphrase.ok()) return passphrase.status();
  return client::WriteNewPassphraseKeyFile(options.out, *passphrase);
}

}  // namespace

void AddKeygenCommand(CLI::App& app) {
  auto options = std::make_shared<KeygenOptions>();
  CLI::App* keygen = app.add_subcommand(
      "keygen", "Create a master key file (mode 0600; an existing file is never overwritten)");
  keygen->add_option("--out", options->out, "Path of the key file to create")->required();
  keygen->add_flag("--passphrase", options->passphrase,
                   "Derive the key from a passphrase with Argon2id, read from $MOSAIC_PASSPHRASE "
                   "or else the first line of stdin; the file keeps only the salt and cost");
  keygen->callback([options] {
    absl::StatusOr<client::KeyId> key_id = RunKeygen(*options);
    if (!key_id.ok()) {
      std::fprintf(stderr, "mosaic keygen: %s\n", key_id.status().ToString().c_str());
      // CLI11's own way to end a command with an exit code; its parse loop catches it.
      throw CLI::RuntimeError(1);
    }
    std::printf("wrote %s (key id %s)\n", options->out.c_str(), HexEncode(*key_id).c_str());
  });
}

}  // namespace mosaic

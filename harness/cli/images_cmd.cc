// `blackout images` (list, build): cloud images to qualify, made from Debian
// packages and kept in the cache by what they were made from.
#include <cstdio>

#include "base/fsutil.h"
#include "base/log.h"
#include "guests/image.h"
#include "harness/cli/command.h"
#include "kernels/cache.h"

namespace blackout {
namespace {

int CmdImagesList() {
  std::printf("%-12s %-10s %s\n", "IMAGE", "SUITE", "WHAT");
  for (const ImageRecipe& r : ImageRecipes()) std::printf("%-12s %-10s %s\n", r.name.c_str(), r.suite.c_str(), r.about.c_str());
  std::printf("\nbuilt (blackout images build NAME):\n");
  int built = 0;
  for (const CacheEntryInfo& e : ListCache(CacheDir())) {
    if (e.path.find("/images/") == std::string::npos) continue;
    std::printf("  %s/image.qcow2 (%.0fM)\n", e.path.c_str(), static_cast<double>(e.bytes) / (1 << 20));
    ++built;
  }
  if (built == 0) std::printf("  none\n");
  return 0;
}

int CmdImagesBuild(const std::string& name, bool force, bool json) {
  BuiltImage image = BuildImage(name, CacheDir(), force, [](const std::string& s) { Status(s, true); });
  ClearStatus();
  if (json) {
    nlohmann::json record = nlohmann::json::parse(ReadFile(image.record_path), nullptr, false);
    record["path"] = image.path;
    record["cached"] = image.cached;
    std::printf("%s\n", record.dump(2).c_str());
    return 0;
  }
  std::printf("image:    %s\nrecord:   %s\nsha256:   %s\nkernel:   %s\n%s\n", image.path.c_str(),
              image.record_path.c_str(), image.sha256.c_str(), image.kernel_release.c_str(),
              image.cached ? "cached:   yes (--force builds it again)"
                           : ("built in: " + std::to_string(static_cast<int>(image.seconds + 0.5)) + " s").c_str());
  return 0;
}

}  // namespace

void AddImagesCommands(CLI::App& app, CommandTable& table) {
  CLI::App* images = app.add_subcommand("images", "cloud images to qualify: the recipes, and building them");
  table.Add(images->add_subcommand("list", "the image recipes, and the images built in the cache"), CmdImagesList);
  auto name = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  auto json = std::make_shared<bool>(false);
  CLI::App* build = images->add_subcommand(
      "build", "make a cloud-style image (qcow2: the cloud kernel, systemd, cloud-init, GRUB, ext4 root) from "
               "Debian packages with mmdebstrap, through this host's apt sources; cached by recipe");
  build->add_option("name", *name, "recipe: debian-12 or debian-11")->required();
  build->add_flag("--force", *force, "build again even when the cache holds it");
  build->add_flag("--json", *json, "print the image's record as JSON: its path, sha256, kernel, packages and what was run");
  table.Add(build, [name, force, json] { return CmdImagesBuild(*name, *force, *json); });
  table.Add(images, CmdImagesList);
}

}  // namespace blackout

// MappedFile maps exactly the bytes of the file, of any size, and reports missing or
// unmappable paths as values.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/mapped_file.h"

namespace xy {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("xy_mapped_" + name + "_" + std::to_string(::getpid())))
      .string();
}

TEST(MappedFile, MapsExactBytesOfAwkwardSizes) {
  std::mt19937 rng(11);
  for (size_t size : {size_t{1}, size_t{7}, size_t{4095}, size_t{4096}, size_t{4097},
                      size_t{65536 + 3}, size_t{1000003}}) {
    std::vector<char> bytes(size);
    for (char& b : bytes) b = static_cast<char>(rng());
    const std::string path = temp_path(std::to_string(size));
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
    {
      Result<std::unique_ptr<MappedFile>> f = MappedFile::open(path);
      ASSERT_TRUE(f.is_ok()) << f.status().to_string();
      EXPECT_EQ((*f)->size(), size);
      EXPECT_EQ((*f)->path(), path);
      EXPECT_EQ(reinterpret_cast<uintptr_t>((*f)->data()) % 4096, 0u);
      EXPECT_EQ(std::memcmp((*f)->data(), bytes.data(), size), 0);
    }
    std::filesystem::remove(path);
  }
}

TEST(MappedFile, EmptyFile) {
  const std::string path = temp_path("empty");
  std::ofstream(path).close();
  Result<std::unique_ptr<MappedFile>> f = MappedFile::open(path);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ((*f)->size(), 0u);
  EXPECT_EQ((*f)->data(), nullptr);
  std::filesystem::remove(path);
}

TEST(MappedFile, Errors) {
  const std::string missing = temp_path("missing");
  Result<std::unique_ptr<MappedFile>> f = MappedFile::open(missing);
  EXPECT_EQ(f.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(f.status().message().find(missing), std::string::npos);

  const std::string dir = temp_path("dir");
  std::filesystem::create_directories(dir);
  Result<std::unique_ptr<MappedFile>> d = MappedFile::open(dir);
  EXPECT_EQ(d.status().code(), ErrorCode::kIoError) << d.status().to_string();
  EXPECT_NE(d.status().message().find(dir), std::string::npos);
  std::filesystem::remove(dir);
}

}  // namespace
}  // namespace xy

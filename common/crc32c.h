#pragma once
// CRC32C (Castagnoli), as used by iSCSI, ext4 and RocksDB, computed by ISA-L with the
// hardware crc32 instruction. Thread-safe, no allocation.

#include <cstdint>

#include "common/bytes.h"

namespace mosaic {

// Returns the CRC32C of `data`. Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(ConstByteSpan data);

// Continues a CRC32C: Crc32cExtend(Crc32c(a), b) == Crc32c(a ‖ b).
uint32_t Crc32cExtend(uint32_t crc, ConstByteSpan data);

}  // namespace mosaic

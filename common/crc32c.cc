#include "common/crc32c.h"

#include <isa-l/crc.h>

namespace mosaic {

// ISA-L's crc32_iscsi takes and returns the raw register (no final inversion); the standard
// CRC32C starts from ~0 and inverts the result, so each step inverts on the way in and out.
uint32_t Crc32cExtend(uint32_t crc, ConstByteSpan data) {
  return ~crc32_iscsi(
      const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(data.data())),
      static_cast<int>(data.size()), ~crc);
}

uint32_t Crc32c(ConstByteSpan data) { return Crc32cExtend(0, data); }

}  // namespace mosaic

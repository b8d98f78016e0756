// Writing an LMDB database as BasicSR's create_lmdb.py leaves it (data.mdb of one committed
// transaction, records in key order), without liblmdb; read by data/lmdb_reader.h and by the
// LMDB library itself (python3-lmdb, BasicSR).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sr::data {

struct LmdbRecord {
  std::string key;             // 1..511 bytes (LMDB's key size limit)
  std::vector<uint8_t> value;  // under 4 GiB
};

// Writes <folder>/data.mdb (4096-byte pages: leaf pages, branch pages above them, overflow pages
// for values too large for a leaf) holding records 0..count-1, asked for in order from `record`;
// their keys must increase strictly (bytewise), an error otherwise. Streamed: one page and the
// branch keys are held, never the values, so a database may be larger than memory. The folder is
// created; an existing data.mdb is refused so no database is overwritten, and a failed write
// leaves none. lock.mdb is not written (LMDB makes it when a writer opens the folder).
void write_lmdb(const std::string& folder, size_t count, const std::function<LmdbRecord(size_t)>& record);

}  // namespace sr::data

// NumPy's .npy arrays and .npz archives of them (a zip of `<name>.npy` entries), as much as
// numerical model files need: little-endian float64 / float32 arrays of rank 0..8 in C or
// Fortran order, read into float64 C-order buffers. The reader treats the file as hostile:
// the zip is validated before any entry is read (engine/zip_reader.h), each header is parsed
// as the literal dictionary NumPy writes ({'descr': .., 'fortran_order': .., 'shape': (..)})
// and never evaluated, and an entry's byte count must equal its shape exactly. Object arrays
// (pickles) and every other dtype are refused by name. The writer makes what np.savez makes:
// version 1.0 '<f8' arrays, stored (uncompressed) entries, each header padded to 64 bytes.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sr::data {

struct NpyArray {
  std::vector<int64_t> shape;  // () for a scalar
  std::vector<double> values;  // C order (the last axis fastest)
  int64_t numel() const;
};

// One .npy file's bytes; `where` names it in errors. At most max_elements values.
NpyArray parse_npy(const uint8_t* data, size_t size, const std::string& where, int64_t max_elements);

// Every `<name>.npy` entry of an .npz file, keyed by name (".npy" dropped). Any other entry,
// an unreadable one, more than max_elements values in one array or more than
// 8 x max_elements + 1 MiB bytes in all entries together (from the central directory, before
// reading) is an error naming the file and the entry.
std::map<std::string, NpyArray> read_npz(const std::string& path, int64_t max_elements = int64_t(1) << 24);

// Writes the arrays (as float64) to `path` atomically.
void write_npz(const std::string& path, const std::map<std::string, NpyArray>& arrays);

}  // namespace sr::data

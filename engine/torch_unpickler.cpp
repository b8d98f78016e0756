// The restricted unpickler (see torch_unpickler.h). Values live in one arena and refer to each
// other by index, so cycles (a list appended to itself) and deep nesting cost neither leaks nor
// recursion; only the final flattening recurses, with a depth limit and a visit budget.
// Opcode meanings follow CPython's Lib/pickle.py and pickletools.py.
#include "engine/torch_unpickler.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>
#include <unordered_map>

#include "engine/error.h"

namespace sr {

namespace {

enum class Kind : uint8_t { none, boolean, integer, big_integer, real, str, tuple, list, dict, global, storage, tensor };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::none: return "None";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::big_integer: return "int over 64 bits";
    case Kind::real: return "float";
    case Kind::str: return "str";
    case Kind::tuple: return "tuple";
    case Kind::list: return "list";
    case Kind::dict: return "dict";
    case Kind::global: return "class or function";
    case Kind::storage: return "storage";
    case Kind::tensor: return "tensor";
  }
  return "?";
}

// The only names an allowed pickle may import.
enum class Callable : uint8_t { ordered_dict, rebuild_tensor_v1, rebuild_tensor_v2, rebuild_parameter, storage_class };

struct StorageClass {
  const char* name;
  TorchStorageType type;
  size_t bytes;
};
constexpr StorageClass kStorageClasses[] = {
    {"FloatStorage", TorchStorageType::f32, 4},  {"HalfStorage", TorchStorageType::f16, 2},
    {"BFloat16Storage", TorchStorageType::bf16, 2}, {"DoubleStorage", TorchStorageType::f64, 8},
    {"LongStorage", TorchStorageType::i64, 8},   {"IntStorage", TorchStorageType::i32, 4},
    {"ShortStorage", TorchStorageType::i16, 2},  {"CharStorage", TorchStorageType::i8, 1},
    {"ByteStorage", TorchStorageType::u8, 1},    {"BoolStorage", TorchStorageType::b8, 1},
};

struct Value {
  Kind kind = Kind::none;
  int64_t i = 0;  // bool / int; global: Callable; tensor: index into the tensor records
  double f = 0;
  TorchStorageType storage_type = TorchStorageType::f32;  // global Callable::storage_class
  std::string s;                // str; storage key; big_integer: its little-endian bytes
  std::vector<uint32_t> items;  // tuple / list elements; dict: key, value, key, value, ...
};

struct TensorRecord {
  std::string storage_key;
  int64_t offset = 0;
  std::vector<int64_t> sizes, strides;
};

// Printable form of untrusted text for messages.
std::string printable(const std::string& s, size_t max_len = 80) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max_len; ++i) {
    const unsigned char c = (unsigned char)s[i];
    if (c >= 32 && c < 127 && c != '\'') out.push_back((char)c);
    else out += str_cat("\\x", "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]);
  }
  if (s.size() > max_len) out += "...";
  return out;
}

const char* opcode_name(uint8_t op) {
  switch (op) {
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 0x81: return "NEWOBJ";
    case 0x92: return "NEWOBJ_EX";
    case 'P': return "PERSID";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 'S': return "STRING";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x8e: return "BINBYTES8";
    case 0x96: return "BYTEARRAY8";
    case 'V': return "UNICODE";
    case 0x8b: return "LONG4";
    case 'F': return "FLOAT";
    case 'g': return "GET";
    case 'p': return "PUT";
    case 'l': return "LIST";
    case 'd': return "DICT";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

// What a pickle may hold: a state dict (in either format's persistent ids) or plain values.
enum class Mode { zip, legacy, plain };

class Unpickler {
 public:
  Unpickler(const PickleInput& in, Mode mode, const UnpickleLimits& limits)
      : p_(in.data),
        n_(in.size),
        pos_(in.start),
        where_(in.where),
        name_(in.name),
        end_note_(in.end_note),
        ran_out_(in.ran_out),
        mode_(mode),
        limits_(limits) {
    SR_CHECK(in.start <= in.size, where_, ": ", name_, " starts at byte ", in.start, ", past the end (", end_note_, ")");
  }

  size_t end() const { return pos_; }

  PickledStateDict run() {
    const uint32_t root = execute();
    const Value& r = values_[root];
    SR_CHECK(r.kind == Kind::dict, where_, ": holds a ", kind_name(r.kind),
             r.kind == Kind::tensor ? " (a single tensor)" : "",
             ", not a state dict (a dict of tensors); save model.state_dict() instead");
    flatten(root, "", 0);
    for (const PickledTensor& t : out_.tensors) out_.storages[t.storage_key] = storages_.at(t.storage_key);
    // Each tensor is copied out on its own, so one storage under many names is many copies: the
    // tensors may hold at most twice the elements of their storages, plus 16M (tied weights and
    // views are fine; a 4 MB file naming one 1M-element storage 1,500 times asked for 6 GB).
    uint64_t tensor_elements = 0, storage_elements = 0;
    for (const PickledTensor& t : out_.tensors) {
      uint64_t n = 1;
      for (int64_t d : t.sizes) n *= (uint64_t)d;  // at most its storage's numel (check_view)
      SR_CHECK(!__builtin_add_overflow(tensor_elements, n, &tensor_elements), where_,
               ": its tensors' element counts overflow");
    }
    for (const auto& [key, st] : out_.storages)  // saturating: a huge sum only lets more tensors through
      if (__builtin_add_overflow(storage_elements, st.numel, &storage_elements)) storage_elements = UINT64_MAX;
    const uint64_t slack = std::min<uint64_t>(tensor_elements, 16u << 20);
    SR_CHECK((tensor_elements - slack + 1) / 2 <= storage_elements, where_, ": its ", out_.tensors.size(),
             " tensors hold ", tensor_elements, " elements but their storages only ", storage_elements,
             " (one storage under many names?); refused");
    out_.declared = storages_;
    return std::move(out_);
  }

  PlainValue run_plain() {
    const uint32_t root = execute();
    return plain(root, 0);
  }

 private:
  // ---- Reading the byte stream ---------------------------------------------------------
  [[noreturn]] void truncated(const char* what) {
    if (ran_out_) *ran_out_ = true;
    fail(where_, ": ", name_, " ends inside ", what, " at byte ", pos_, " (", end_note_, ")");
  }
  const uint8_t* take(uint64_t k, const char* what) {
    if (k > n_ - pos_) truncated(what);
    const uint8_t* q = p_ + pos_;
    pos_ += k;
    return q;
  }
  uint64_t le(const uint8_t* q, int k) {
    uint64_t v = 0;
    for (int b = k - 1; b >= 0; --b) v = (v << 8) | q[b];
    return v;
  }
  std::string line(const char* what) {
    const size_t start = pos_;
    while (pos_ < n_ && p_[pos_] != '\n') {
      SR_CHECK(pos_ - start < 256, where_, ": ", name_, " has a ", what, " name over 256 bytes at byte ", start);
      ++pos_;
    }
    if (pos_ >= n_) truncated(what);
    ++pos_;
    return std::string(reinterpret_cast<const char*>(p_ + start), pos_ - 1 - start);
  }

  // ---- The arena and the stack -----------------------------------------------------------
  uint32_t make(Value v) {
    SR_CHECK(values_.size() < limits_.max_objects, where_, ": ", name_, " creates over ", limits_.max_objects,
             " objects (not a plausible state dict)");
    values_.push_back(std::move(v));
    return (uint32_t)(values_.size() - 1);
  }
  uint32_t make(Kind k) {
    Value v;
    v.kind = k;
    return make(std::move(v));
  }
  // The stack, the marks and the memo hold indices of values; each is bounded like the values
  // (a pickle of 60 MB of MEMOIZE or MARK opcodes made gigabytes of them).
  void push(uint32_t v) {
    SR_CHECK(stack_.size() < limits_.max_objects, where_, ": ", name_, " stacks over ", limits_.max_objects,
             " values (not a plausible state dict)");
    stack_.push_back(v);
  }
  void memoize(uint32_t slot, uint32_t v) {
    SR_CHECK(memo_.size() < limits_.max_objects || memo_.count(slot), where_, ": ", name_, " memoizes over ",
             limits_.max_objects, " values (not a plausible state dict)");
    memo_[slot] = v;
  }
  uint32_t pop(const char* op) {
    SR_CHECK(stack_.size() > (marks_.empty() ? 0 : marks_.back()), where_, ": ", name_, " ", op, " at byte ", op_pos_,
             " finds an empty stack (corrupt pickle)");
    const uint32_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  uint32_t top(const char* op) {
    SR_CHECK(stack_.size() > (marks_.empty() ? 0 : marks_.back()), where_, ": ", name_, " ", op, " at byte ", op_pos_,
             " finds an empty stack (corrupt pickle)");
    return stack_.back();
  }
  // Pops everything above the last MARK (and the mark).
  std::vector<uint32_t> pop_mark(const char* op) {
    SR_CHECK(!marks_.empty(), where_, ": ", name_, " ", op, " at byte ", op_pos_, " has no MARK (corrupt pickle)");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<uint32_t> items(stack_.begin() + (ptrdiff_t)m, stack_.end());
    stack_.resize(m);
    return items;
  }
  Value& at(uint32_t v) { return values_[v]; }
  Value& expect(uint32_t v, Kind k, const char* what) {
    SR_CHECK(values_[v].kind == k, where_, ": ", name_, " ", what, " at byte ", op_pos_, " expects a ", kind_name(k),
             ", got a ", kind_name(values_[v].kind));
    return values_[v];
  }

  // ---- Names and calls ---------------------------------------------------------------------
  uint32_t import(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    SR_CHECK(mode_ != Mode::plain, where_, ": ", name_, " imports '", printable(full), "' (byte ", op_pos_,
             "): refused, nothing was executed (this pickle holds plain values only)");
    Value v;
    v.kind = Kind::global;
    if (full == "collections.OrderedDict") {
      v.i = (int64_t)Callable::ordered_dict;
    } else if (full == "torch._utils._rebuild_tensor_v2") {
      v.i = (int64_t)Callable::rebuild_tensor_v2;
    } else if (full == "torch._utils._rebuild_tensor") {
      v.i = (int64_t)Callable::rebuild_tensor_v1;
    } else if (full == "torch._utils._rebuild_parameter") {
      v.i = (int64_t)Callable::rebuild_parameter;
    } else {
      for (const StorageClass& c : kStorageClasses)
        if (module == "torch" && name == c.name) {
          v.i = (int64_t)Callable::storage_class;
          v.storage_type = c.type;
          return make(std::move(v));
        }
      const std::string shown = printable(full);
      if (full == "torch.storage._load_from_bytes")
        fail(where_, ": ", name_, " imports 'torch.storage._load_from_bytes' (byte ", op_pos_,
             "): a storage pickled as raw bytes would need torch.load of untrusted bytes, so it is refused; "
             "re-save with torch.save(model.state_dict(), path) or convert with tools/convert_pth.py");
      // Other tensor and storage kinds (quantized, sparse, uint8, complex, ...).
      if (module == "torch" || module == "torch._utils" || module == "torch._tensor")
        fail(where_, ": ", name_, " imports '", shown, "' (byte ", op_pos_,
             "), a tensor or storage kind srengine does not read; refused (not executed). Readable: dense "
             "float32/float16/bfloat16/float64/int64/int32 tensors (torch._utils._rebuild_tensor_v2 or "
             "_rebuild_tensor, torch.<Float|Half|BFloat16|Double|Long|Int>Storage)");
      fail(where_, ": ", name_, " imports '", shown, "' (byte ", op_pos_,
           "): refused, nothing was executed. A state dict needs only collections.OrderedDict, "
           "torch._utils._rebuild_tensor_v2 and torch.*Storage; this file holds other objects (a pickled model "
           "or code: save model.state_dict() instead, and do not torch.load a file you do not trust)");
    }
    return make(std::move(v));
  }

  uint32_t reduce(uint32_t fn, uint32_t args) {
    const Value& f = at(fn);
    SR_CHECK(f.kind == Kind::global, where_, ": ", name_, " REDUCE at byte ", op_pos_, " calls a ", kind_name(f.kind),
             " (only allowed names may be called)");
    const std::vector<uint32_t> a = expect(args, Kind::tuple, "REDUCE arguments").items;
    switch ((Callable)f.i) {
      case Callable::ordered_dict: return ordered_dict(a);
      case Callable::rebuild_tensor_v1: return rebuild_tensor(a, "_rebuild_tensor", 4, 4);
      case Callable::rebuild_tensor_v2: return rebuild_tensor(a, "_rebuild_tensor_v2", 6, 7);
      case Callable::rebuild_parameter:
        SR_CHECK(a.size() >= 1 && a.size() <= 3 && at(a[0]).kind == Kind::tensor, where_,
                 ": ", name_, " REDUCE at byte ", op_pos_, " calls torch._utils._rebuild_parameter without a tensor");
        if (a.size() == 3) check_empty_hooks(a[2]);
        return a[0];
      case Callable::storage_class: break;
    }
    fail(where_, ": ", name_, " REDUCE at byte ", op_pos_,
         " calls a storage class (storages are only loaded by persistent id); refused");
  }

  void check_empty_hooks(uint32_t v) {
    const Value& h = at(v);
    SR_CHECK((h.kind == Kind::dict && h.items.empty()) || h.kind == Kind::none, where_, ": ", name_, " tensor at byte ",
             op_pos_, " has backward hooks (", kind_name(h.kind), "); refused");
  }

  int64_t as_int(uint32_t v, const char* what) { return expect(v, Kind::integer, what).i; }

  // OrderedDict() gets its items by SETITEMS; Python 2's OrderedDict pickles them as its one
  // argument, a list of [key, value] lists.
  uint32_t ordered_dict(const std::vector<uint32_t>& a) {
    const uint32_t d = make(Kind::dict);
    if (a.empty()) return d;
    const Value& pairs = at(a[0]);
    SR_CHECK(a.size() == 1 && (pairs.kind == Kind::list || pairs.kind == Kind::tuple), where_, ": ", name_,
             " REDUCE at byte ", op_pos_,
             " calls collections.OrderedDict with arguments other than one list of (key, value) pairs");
    std::vector<uint32_t> kv;
    for (uint32_t p : pairs.items) {
      const Value& pair = at(p);
      SR_CHECK((pair.kind == Kind::list || pair.kind == Kind::tuple) && pair.items.size() == 2, where_, ": ", name_,
               " REDUCE at byte ", op_pos_, " gives collections.OrderedDict an item that is not a (key, value) pair");
      kv.insert(kv.end(), pair.items.begin(), pair.items.end());
    }
    at(d).items = std::move(kv);
    return d;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]);
  // PyTorch < 0.4 wrote _rebuild_tensor(storage, storage_offset, size, stride).
  uint32_t rebuild_tensor(const std::vector<uint32_t>& a, const char* fn, size_t min_args, size_t max_args) {
    SR_CHECK(a.size() >= min_args && a.size() <= max_args, where_, ": ", name_, " ", fn, " at byte ", op_pos_,
             " has ", a.size(), " arguments, expected ", min_args, min_args == max_args ? std::string() : str_cat(" or ", max_args));
    TensorRecord t;
    t.storage_key = expect(a[0], Kind::storage, "tensor storage").s;
    t.offset = as_int(a[1], "tensor storage_offset");
    const Value& size = expect(a[2], Kind::tuple, "tensor size");
    const Value& stride = expect(a[3], Kind::tuple, "tensor stride");
    SR_CHECK(size.items.size() == stride.items.size(), where_, ": ", name_, " tensor at byte ", op_pos_, " has ",
             size.items.size(), " sizes but ", stride.items.size(), " strides");
    SR_CHECK((int)size.items.size() <= limits_.max_dims, where_, ": ", name_, " tensor at byte ", op_pos_, " has ",
             size.items.size(), " dimensions (at most ", limits_.max_dims, ")");
    for (uint32_t s : size.items) t.sizes.push_back(as_int(s, "tensor size"));
    for (uint32_t s : stride.items) t.strides.push_back(as_int(s, "tensor stride"));
    if (a.size() >= 6) {
      SR_CHECK(at(a[4]).kind == Kind::boolean || at(a[4]).kind == Kind::integer, where_, ": ", name_,
               " tensor at byte ", op_pos_, " has requires_grad of type ", kind_name(at(a[4]).kind));
      check_empty_hooks(a[5]);
    }
    if (a.size() == 7)
      SR_CHECK(at(a[6]).kind == Kind::none || at(a[6]).kind == Kind::dict, where_, ": ", name_, " tensor at byte ",
               op_pos_, " has metadata of type ", kind_name(at(a[6]).kind));
    tensors_.push_back(std::move(t));
    Value v;
    v.kind = Kind::tensor;
    v.i = (int64_t)tensors_.size() - 1;
    return make(std::move(v));
  }

  uint32_t persistent_load(uint32_t pid) {
    SR_CHECK(mode_ != Mode::plain, where_, ": ", name_, " loads a persistent id at byte ", op_pos_,
             " (this pickle holds plain values only); refused");
    const Value& t = expect(pid, Kind::tuple, "BINPERSID id");
    const bool legacy = mode_ == Mode::legacy;
    SR_CHECK(t.items.size() == (legacy ? 6u : 5u) && at(t.items[0]).kind == Kind::str && at(t.items[0]).s == "storage",
             where_, ": ", name_, " persistent id at byte ", op_pos_, " is not ('storage', class, key, location, numel",
             legacy ? ", view_metadata" : "", ") (not a torch.save checkpoint?)");
    const Value& cls = at(t.items[1]);
    SR_CHECK(cls.kind == Kind::global && (Callable)cls.i == Callable::storage_class, where_,
             ": ", name_, " storage at byte ", op_pos_, " has no storage class");
    PickledStorage s;
    s.type = cls.storage_type;
    s.key = expect(t.items[2], Kind::str, "storage key").s;
    s.location = expect(t.items[3], Kind::str, "storage location").s;
    const int64_t numel = as_int(t.items[4], "storage size");
    SR_CHECK(!s.key.empty() && s.key.size() <= 64, where_, ": ", name_, " storage key '", printable(s.key),
             "' is empty or too long");
    for (char c : s.key)
      SR_CHECK(std::isalnum((unsigned char)c) || c == '_', where_, ": ", name_, " storage key '", printable(s.key),
               "' has characters other than letters, digits and '_'");
    SR_CHECK(numel >= 0 && (uint64_t)numel <= (uint64_t(1) << 60) / torch_storage_element_size(s.type), where_,
             ": ", name_, " storage '", s.key, "' has an impossible size of ", numel, " elements");
    // A view would need its root's key remapped, and only a sliced storage (never a state dict's
    // tensor) was ever saved as one, so it is refused rather than supported untested.
    SR_CHECK(!legacy || at(t.items[5]).kind == Kind::none, where_, ": ", name_, " storage '", s.key, "' at byte ",
             op_pos_, " is a view of another storage (view_metadata is a ", kind_name(at(t.items[5]).kind),
             ", not None): PyTorch < 0.4 wrote these only for sliced storages, never for a state dict's tensors; "
             "not supported");
    s.numel = (uint64_t)numel;
    auto [it, inserted] = storages_.emplace(s.key, s);
    SR_CHECK(inserted || (it->second.type == s.type && it->second.numel == s.numel), where_, ": ", name_, " storage '",
             s.key, "' is declared twice with different types or sizes");
    Value v;
    v.kind = Kind::storage;
    v.s = s.key;
    return make(std::move(v));
  }

  // ---- The VM --------------------------------------------------------------------------------
  uint32_t execute() {
    while (true) {
      if (pos_ >= n_) {
        if (ran_out_) *ran_out_ = true;
        fail(where_, ": ", name_, " ends at byte ", pos_, " without STOP (", end_note_, ")");
      }
      op_pos_ = pos_;
      const uint8_t op = p_[pos_++];
      switch (op) {
        case 0x80: {  // PROTO
          const uint8_t v = *take(1, "PROTO");
          SR_CHECK(v >= 2 && v <= 5, where_, ": ", name_, " pickle protocol ", (int)v, " (expected 2..5)");
          break;
        }
        case 0x95: {  // FRAME: a length hint; checked, then ignored
          const uint64_t len = le(take(8, "FRAME"), 8);
          if (len > n_ - pos_ && ran_out_) *ran_out_ = true;
          SR_CHECK(len <= n_ - pos_, where_, ": ", name_, " frame of ", len, " bytes at byte ", op_pos_,
                   " runs past the end (truncated file?)");
          break;
        }
        case '}': push(make(Kind::dict)); break;    // EMPTY_DICT
        case ']': push(make(Kind::list)); break;    // EMPTY_LIST
        case ')': push(make(Kind::tuple)); break;   // EMPTY_TUPLE
        case '(':  // MARK
          SR_CHECK(marks_.size() < limits_.max_objects, where_, ": ", name_, " opens over ", limits_.max_objects,
                   " marks (not a plausible state dict)");
          marks_.push_back(stack_.size());
          break;
        case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
          const int k = op - 0x84;
          Value v;
          v.kind = Kind::tuple;
          v.items.resize(k);
          for (int j = k - 1; j >= 0; --j) v.items[j] = pop("TUPLEn");
          push(make(std::move(v)));
          break;
        }
        case 't': {  // TUPLE
          Value v;
          v.kind = Kind::tuple;
          v.items = pop_mark("TUPLE");
          push(make(std::move(v)));
          break;
        }
        case 's': {  // SETITEM
          const uint32_t val = pop("SETITEM"), key = pop("SETITEM");
          set_items(top("SETITEM"), {key, val});
          break;
        }
        case 'u': {  // SETITEMS
          std::vector<uint32_t> kv = pop_mark("SETITEMS");
          SR_CHECK(kv.size() % 2 == 0, where_, ": ", name_, " SETITEMS at byte ", op_pos_, " has an odd item count");
          set_items(top("SETITEMS"), kv);
          break;
        }
        case 'a': {  // APPEND
          const uint32_t val = pop("APPEND");
          Value& l = expect(top("APPEND"), Kind::list, "APPEND");
          l.items.push_back(val);
          break;
        }
        case 'e': {  // APPENDS
          std::vector<uint32_t> vals = pop_mark("APPENDS");
          Value& l = expect(top("APPENDS"), Kind::list, "APPENDS");
          l.items.insert(l.items.end(), vals.begin(), vals.end());
          break;
        }
        case 'J': push_int((int64_t)(int32_t)(uint32_t)le(take(4, "BININT"), 4)); break;
        case 'K': push_int(*take(1, "BININT1")); break;
        case 'M': push_int((int64_t)le(take(2, "BININT2"), 2)); break;
        case 0x8a: {  // LONG1: little-endian two's complement of n bytes
          const uint8_t k = *take(1, "LONG1");
          push_twos_complement(take(k, "LONG1"), k);
          break;
        }
        case 'I': push_text_int(false); break;  // INT (protocols 0 and 1)
        case 'L': push_text_int(true); break;   // LONG (protocols 0 and 1)
        case 'G': {  // BINFLOAT: big-endian double
          const uint8_t* q = take(8, "BINFLOAT");
          uint64_t bits = 0;
          for (int b = 0; b < 8; ++b) bits = (bits << 8) | q[b];
          Value v;
          v.kind = Kind::real;
          v.f = std::bit_cast<double>(bits);
          push(make(std::move(v)));
          break;
        }
        case 'X': push_str(le(take(4, "BINUNICODE"), 4)); break;
        // Python 2's str: text here, as torch.load decodes it (a legacy file from Python 2).
        case 'T': push_str(le(take(4, "BINSTRING"), 4)); break;
        case 'U': push_str(*take(1, "SHORT_BINSTRING")); break;
        case 0x8c: push_str(*take(1, "SHORT_BINUNICODE")); break;
        case 0x8d: push_str(le(take(8, "BINUNICODE8"), 8)); break;
        case 'q': memoize((uint32_t)*take(1, "BINPUT"), top("BINPUT")); break;
        case 'r': memoize((uint32_t)le(take(4, "LONG_BINPUT"), 4), top("LONG_BINPUT")); break;
        case 0x94: memoize((uint32_t)memo_.size(), top("MEMOIZE")); break;
        case 'h': get((uint32_t)*take(1, "BINGET")); break;
        case 'j': get((uint32_t)le(take(4, "LONG_BINGET"), 4)); break;
        case 0x88: case 0x89: push_bool(op == 0x88); break;  // NEWTRUE / NEWFALSE
        case 'N': push(make(Kind::none)); break;
        case 'Q': push(persistent_load(pop("BINPERSID"))); break;
        case 'c': {  // GLOBAL "module\nname\n"
          const std::string module = line("GLOBAL module"), name = line("GLOBAL");
          push(import(module, name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          const uint32_t name = pop("STACK_GLOBAL"), module = pop("STACK_GLOBAL");
          push(import(expect(module, Kind::str, "STACK_GLOBAL module").s, expect(name, Kind::str, "STACK_GLOBAL").s));
          break;
        }
        case 'R': {  // REDUCE
          const uint32_t args = pop("REDUCE"), fn = pop("REDUCE");
          push(reduce(fn, args));
          break;
        }
        case 'b': {  // BUILD: only an OrderedDict's __dict__ (state_dict()'s _metadata), ignored
          const uint32_t state = pop("BUILD");
          const Value& obj = at(top("BUILD"));
          SR_CHECK(obj.kind == Kind::dict && (at(state).kind == Kind::dict || at(state).kind == Kind::none), where_,
                   ": ", name_, " BUILD at byte ", op_pos_, " sets the state of a ", kind_name(obj.kind), " from a ",
                   kind_name(at(state).kind), " (only an OrderedDict's attributes are accepted); refused");
          break;
        }
        case '.': {  // STOP
          SR_CHECK(marks_.empty(), where_, ": ", name_, " STOP at byte ", op_pos_, " with an open MARK (corrupt pickle)");
          return pop("STOP");
        }
        default: {
          const char* name = opcode_name(op);
          if (name)
            fail(where_, ": ", name_, " uses the pickle opcode ", name, " at byte ", op_pos_,
                 ", which a state dict does not need; refused (nothing was executed)");
          fail(where_, ": ", name_, " has an unknown pickle opcode 0x", "0123456789abcdef"[op >> 4],
               "0123456789abcdef"[op & 15], " at byte ", op_pos_, " (corrupt file, or not a torch.save checkpoint)");
        }
      }
    }
  }

  void push_int(int64_t x) {
    Value v;
    v.kind = Kind::integer;
    v.i = x;
    push(make(std::move(v)));
  }
  void push_bool(bool x) {
    Value v;
    v.kind = Kind::boolean;
    v.i = x;
    push(make(std::move(v)));
  }
  // A little-endian two's complement number of k bytes (LONG1's form): an int when it fits in 8
  // bytes, else kept as its bytes (the legacy format's magic number is 10 bytes long).
  void push_twos_complement(const uint8_t* q, size_t k) {
    if (k > 8) {
      Value v;
      v.kind = Kind::big_integer;
      v.s.assign(reinterpret_cast<const char*>(q), k);
      push(make(std::move(v)));
      return;
    }
    uint64_t v = le(q, (int)k);
    if (k > 0 && k < 8 && (q[k - 1] & 0x80)) v |= ~uint64_t(0) << (8 * k);
    push_int((int64_t)v);
  }

  // INT and LONG, the text integers of protocols 0 and 1: decimal text, then a newline.
  // Protocol 1 writes a bool as INT "01" / "00" (Python 2's True / False; CPython reads those two
  // texts as bools) and an int outside 32 bits as LONG text with an 'L' suffix, so a legacy
  // torch.save(..., pickle_protocol=1) file holds both: its magic number is a 24-digit LONG, its
  // sys_info's little_endian an INT. Only the text repr() writes is read, where CPython's readers
  // take more and disagree on it: an optional '-', then digits without a leading zero (Python 3
  // refuses "007", Python 2's cPickle read it as octal 7), not "-0" (cPickle read "-0", "+0" and
  // "+1" as bools, Python 3 as ints), and for LONG one optional 'L' (Python 2's repr writes it,
  // Python 3's reader drops it); no '+', spaces, '\r', underscores or base prefixes.
  // INT must fit in an int64 (Python 2's int; larger numbers are pickled as LONG); a LONG past
  // 64 bits is kept as bytes, like LONG1's. The value is LONG1's form: the magnitude in base 256
  // (each digit: times 10 plus the digit, carried byte by byte), then negated in two's complement
  // (~m + 1), with one more byte where the top bit does not already give the sign, so the bytes
  // are the fewest that hold the number, as pickle's encode_long writes them.
  void push_text_int(bool is_long) {
    const char* op = is_long ? "LONG" : "INT";
    // An int64 has at most 19 digits (a sign and 20 more leave room); the longest LONG a
    // state dict holds is the magic number's 24 digits and 'L'. The text is read only this far,
    // so a megabyte of digits costs nothing, and the decimal-to-binary conversion below
    // (quadratic in the digits) stays short.
    const size_t max_chars = is_long ? 32 : 24;
    const size_t start = pos_;
    while (true) {
      if (pos_ >= n_) truncated(op);
      if (p_[pos_] == '\n') break;
      SR_CHECK(pos_ - start < max_chars, where_, ": ", name_, " ", op, " at byte ", op_pos_, " is over ", max_chars,
               " characters long ('", printable(std::string(reinterpret_cast<const char*>(p_ + start), 24)),
               "...'): ", is_long ? "longer than any number a state dict holds (torch.save's 24-digit magic number)"
                                  : "not an int64", ", or has no newline; refused");
      ++pos_;
    }
    const std::string text(reinterpret_cast<const char*>(p_ + start), pos_ - start);
    ++pos_;
    if (!is_long && (text == "00" || text == "01")) {
      push_bool(text == "01");
      return;
    }
    std::string digits = text;
    if (is_long && !digits.empty() && digits.back() == 'L') digits.pop_back();
    const bool negative = !digits.empty() && digits[0] == '-';
    if (negative) digits.erase(0, 1);
    // Built only for an error (most INTs are valid).
    const auto what = [&] { return str_cat(where_, ": ", name_, " ", op, " at byte ", op_pos_, " is '", printable(text, 40), "'"); };
    SR_CHECK(!digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }),
             what(), ", not a decimal integer as repr() writes it (an optional '-', digits",
             is_long ? ", an optional 'L'" : "", ", then a newline); refused");
    SR_CHECK(digits.size() == 1 || digits[0] != '0', what(),
             ": a leading zero (Python 3 refuses it, Python 2's cPickle read it as octal); refused");
    SR_CHECK(!negative || digits != "0", what(), ": -0 (Python 2's cPickle read it as False, Python 3 as 0); refused");
    std::vector<uint8_t> b;  // little-endian magnitude, no zero top byte (empty for 0)
    for (char c : digits) {
      unsigned carry = (unsigned)(c - '0');
      for (uint8_t& x : b) {
        const unsigned v = x * 10u + carry;
        x = (uint8_t)v;
        carry = v >> 8;
      }
      if (carry) b.push_back((uint8_t)carry);
    }
    if (negative && !b.empty()) {
      unsigned carry = 1;
      for (uint8_t& x : b) {
        const unsigned v = (uint8_t)~x + carry;
        x = (uint8_t)v;
        carry = v >> 8;
      }
      if (!(b.back() & 0x80)) b.push_back(0xff);  // the magnitude was over 2^(8k-1)
    } else if (!b.empty() && (b.back() & 0x80)) {
      b.push_back(0);
    }
    SR_CHECK(is_long || b.size() <= 8, what(), ": outside the int64 range (an INT holds what Python 2's int held; "
             "larger numbers are pickled as LONG); refused");
    push_twos_complement(b.data(), b.size());
  }
  void push_str(uint64_t len) {
    const uint8_t* q = take(len, "a string");
    Value v;
    v.kind = Kind::str;
    v.s.assign(reinterpret_cast<const char*>(q), len);
    push(make(std::move(v)));
  }
  void get(uint32_t idx) {
    const auto it = memo_.find(idx);
    SR_CHECK(it != memo_.end(), where_, ": ", name_, " reads memo slot ", idx, " at byte ", op_pos_,
             " before it was set (corrupt pickle)");
    push(it->second);
  }
  void set_items(uint32_t target, const std::vector<uint32_t>& kv) {
    Value& d = expect(target, Kind::dict, "SETITEM(S)");
    d.items.insert(d.items.end(), kv.begin(), kv.end());
  }

  // ---- The result ----------------------------------------------------------------------------
  // A plain value as a tree. Shared items are copied, so the tree may have at most about as many
  // nodes as the pickle made values: lists holding one list twice, 32 levels deep, would
  // otherwise be 2^32 nodes from a few hundred bytes.
  PlainValue plain(uint32_t v, int depth) {
    SR_CHECK(depth <= limits_.max_dict_depth, where_, ": ", name_, " nests values over ", limits_.max_dict_depth,
             " levels deep (a cycle?)");
    SR_CHECK(++visits_ <= 2 * values_.size() + 16, where_, ": ", name_,
             " refers to its values over twice each on average (shared lists?); refused");
    const Value& x = at(v);
    PlainValue out;
    switch (x.kind) {
      case Kind::none: out.kind = PlainValue::Kind::none; break;
      case Kind::boolean: out.kind = PlainValue::Kind::boolean; out.i = x.i; break;
      case Kind::integer: out.kind = PlainValue::Kind::integer; out.i = x.i; break;
      case Kind::big_integer: out.kind = PlainValue::Kind::big_integer; out.s = copied(x.s); break;
      case Kind::real: out.kind = PlainValue::Kind::real; out.f = x.f; break;
      case Kind::str: out.kind = PlainValue::Kind::str; out.s = copied(x.s); break;
      case Kind::tuple: out.kind = PlainValue::Kind::tuple; break;
      case Kind::list: out.kind = PlainValue::Kind::list; break;
      case Kind::dict: out.kind = PlainValue::Kind::dict; break;
      case Kind::global: case Kind::storage: case Kind::tensor:  // unreachable: plain mode makes none
        fail(where_, ": ", name_, " holds a ", kind_name(x.kind), " (plain values only)");
    }
    for (uint32_t item : x.items) out.items.push_back(plain(item, depth + 1));
    return out;
  }

  // A string of the plain tree: the bytes copied are bounded by the pickle's size plus 1 MiB (a
  // memoized 1 MiB string referred to 4,000 times made 4 GB).
  std::string copied(const std::string& v) {
    copied_bytes_ += v.size();
    SR_CHECK(copied_bytes_ <= (uint64_t)n_ + (1u << 20), where_, ": ", name_, " refers to its strings over and over "
             "(", copied_bytes_, " bytes from a pickle of ", n_, "); refused");
    return v;
  }

  void flatten(uint32_t dict, const std::string& prefix, int depth) {
    SR_CHECK(depth <= limits_.max_dict_depth, where_, ": dicts are nested over ", limits_.max_dict_depth,
             " levels deep at '", printable(prefix), "' (a cycle?)");
    const std::vector<uint32_t>& items = at(dict).items;
    for (size_t j = 0; j + 1 < items.size(); j += 2) {
      SR_CHECK(++visits_ <= limits_.max_objects, where_, ": the state dict's structure is too large to flatten");
      const Value& k = at(items[j]);
      const Value& v = at(items[j + 1]);
      if (k.kind != Kind::str) {
        skip(str_cat(printable(prefix), "<", kind_name(k.kind), " key> (", kind_name(v.kind), ")"));
        continue;
      }
      SR_CHECK(k.s.size() <= 4096, where_, ": a key of ", k.s.size(), " bytes under '", printable(prefix),
               "' is too long");
      const std::string name = prefix + k.s;
      // Every name built counts (those of nested dicts and skipped entries too): shared dicts
      // under long keys made 4M names of 100 KB from a 4.5 KB file.
      name_bytes_ += name.size();
      SR_CHECK(name_bytes_ <= (64u << 20), where_, ": the state dict's names add up to over 64 MB");
      if (v.kind == Kind::tensor) {
        const TensorRecord& r = tensors_[v.i];
        PickledTensor t;
        t.name = name;
        t.storage_key = r.storage_key;
        t.sizes = r.sizes;
        t.strides = r.strides;
        t.storage_offset = check_view(name, r);
        const auto [it, inserted] = index_.emplace(name, out_.tensors.size());
        if (inserted) out_.tensors.push_back(std::move(t));
        else out_.tensors[it->second] = std::move(t);  // a repeated key: the later value wins, as in Python
      } else if (v.kind == Kind::dict) {
        flatten(items[j + 1], name + ".", depth + 1);
      } else {
        skip(str_cat(printable(name), " (", kind_name(v.kind), ")"));
      }
    }
  }

  void skip(std::string what) {
    if (out_.skipped.size() < 100) out_.skipped.push_back(std::move(what));
    else if (out_.skipped.size() == 100) out_.skipped.push_back("...");
  }

  // The view must lie inside its storage: offset + sum((size-1)*stride) < numel, without overflow.
  uint64_t check_view(const std::string& name, const TensorRecord& r) {
    const PickledStorage& s = storages_.at(r.storage_key);
    const std::string tw = str_cat(where_, ": tensor '", printable(name), "' (storage '", r.storage_key, "', ",
                                   s.numel, " elements)");
    SR_CHECK(r.offset >= 0 && (uint64_t)r.offset <= s.numel, tw, ": storage offset ", r.offset, " is out of range");
    uint64_t numel = 1, last = (uint64_t)r.offset;
    for (size_t d = 0; d < r.sizes.size(); ++d) {
      SR_CHECK(r.sizes[d] >= 0 && r.strides[d] >= 0, tw, ": negative size or stride (", r.sizes[d], ", ",
               r.strides[d], ") in dimension ", d);
      SR_CHECK(!__builtin_mul_overflow(numel, (uint64_t)r.sizes[d], &numel) && numel <= (uint64_t(1) << 60), tw,
               ": its sizes overflow");
    }
    // Each element once at most, as in every state dict: an expanded view (stride 0) with more
    // elements than its storage would let a tiny file demand any amount of memory.
    SR_CHECK(numel <= s.numel, tw, ": ", numel, " elements viewed in a storage of ", s.numel,
             " (expanded or overlapping views are not supported)");
    if (numel == 0) return (uint64_t)r.offset;
    for (size_t d = 0; d < r.sizes.size(); ++d) {
      uint64_t reach = 0;
      SR_CHECK(!__builtin_mul_overflow((uint64_t)(r.sizes[d] - 1), (uint64_t)r.strides[d], &reach) &&
                   !__builtin_add_overflow(last, reach, &last),
               tw, ": its strides overflow");
    }
    SR_CHECK(last < s.numel, tw, ": offset ", r.offset, ", sizes ", dims(r.sizes), " and strides ", dims(r.strides),
             " reach element ", last, ", outside the storage");
    return (uint64_t)r.offset;
  }
  static std::string dims(const std::vector<int64_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
  }

  const uint8_t* p_;
  size_t n_, pos_, op_pos_ = 0;
  std::string where_, name_, end_note_;
  bool* ran_out_;
  Mode mode_;
  UnpickleLimits limits_;
  std::vector<Value> values_;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, uint32_t> memo_;
  std::vector<TensorRecord> tensors_;
  std::map<std::string, PickledStorage> storages_;
  PickledStateDict out_;
  std::unordered_map<std::string, size_t> index_;
  uint64_t visits_ = 0, name_bytes_ = 0, copied_bytes_ = 0;
};

}  // namespace

const char* torch_storage_class_name(TorchStorageType t) {
  for (const StorageClass& c : kStorageClasses)
    if (c.type == t) return c.name;
  return "?";
}

size_t torch_storage_element_size(TorchStorageType t) {
  for (const StorageClass& c : kStorageClasses)
    if (c.type == t) return c.bytes;
  return 1;
}

PickledStateDict unpickle_state_dict(const uint8_t* data, size_t size, const std::string& where,
                                     const UnpickleLimits& limits) {
  PickleInput in;
  in.data = data;
  in.size = size;
  in.where = where;
  return Unpickler(in, Mode::zip, limits).run();
}

PickledStateDict unpickle_state_dict(const PickleInput& in, TorchSaveFormat format, size_t* end,
                                     const UnpickleLimits& limits) {
  Unpickler u(in, format == TorchSaveFormat::legacy ? Mode::legacy : Mode::zip, limits);
  PickledStateDict sd = u.run();
  if (end) *end = u.end();
  return sd;
}

PlainValue unpickle_plain(const PickleInput& in, size_t* end, const UnpickleLimits& limits) {
  Unpickler u(in, Mode::plain, limits);
  PlainValue v = u.run_plain();
  if (end) *end = u.end();
  return v;
}

const PlainValue* PlainValue::get(const std::string& key) const {
  for (size_t j = 0; kind == Kind::dict && j + 1 < items.size(); j += 2)
    if (items[j].kind == Kind::str && items[j].s == key) return &items[j + 1];
  return nullptr;
}

const char* plain_kind_name(PlainValue::Kind k) {
  switch (k) {
    case PlainValue::Kind::none: return "None";
    case PlainValue::Kind::boolean: return "bool";
    case PlainValue::Kind::integer: return "int";
    case PlainValue::Kind::big_integer: return "int over 64 bits";
    case PlainValue::Kind::real: return "float";
    case PlainValue::Kind::str: return "str";
    case PlainValue::Kind::tuple: return "tuple";
    case PlainValue::Kind::list: return "list";
    case PlainValue::Kind::dict: return "dict";
  }
  return "?";
}

}  // namespace sr

// Module bookkeeping: registration, hierarchical names, mode, placement, state dicts.
#include "layers/module.h"

#include <algorithm>

#include "engine/autograd.h"
#include "engine/error.h"

namespace sr {

std::string StateDictReport::str() const {
  // At most kShown lines per kind: a wrong architecture would otherwise print hundreds.
  constexpr size_t kShown = 12;
  std::string s;
  auto list = [&](const std::vector<std::string>& keys, const char* what) {
    for (size_t i = 0; i < keys.size() && i < kShown; ++i) s += std::string("\n  ") + what + keys[i];
    if (keys.size() > kShown) s += "\n  ... and " + std::to_string(keys.size() - kShown) + " more " + what;
  };
  list(missing, "missing key: ");
  list(unexpected, "unexpected key: ");
  list(mismatched, "shape mismatch: ");
  return s;
}

Tensor Module::forward(const Tensor&) {
  fail(type_name(), " has no single-input forward");
}

void Module::check_new_name(const std::string& name) const {
  SR_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name(), ": invalid name '",
           name, "' (must be non-empty without '.')");
  auto taken = [&](const auto& v) {
    return std::any_of(v.begin(), v.end(), [&](const auto& p) { return p.first == name; });
  };
  SR_CHECK(!taken(params_) && !taken(buffers_) && !taken(children_), type_name(), ": name '", name,
           "' is registered twice");
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  check_new_name(name);
  SR_CHECK(t.defined() && t.is_leaf(), type_name(), ": parameter '", name, "' must be a defined leaf tensor");
  t.set_requires_grad(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_new_name(name);
  SR_CHECK(t.defined(), type_name(), ": buffer '", name, "' is undefined");
  buffers_.emplace_back(name, t);
  return t;
}

Tensor Module::register_derived_buffer(const std::string& name, Tensor t) {
  Tensor b = register_buffer(name, std::move(t));
  derived_.push_back(name);
  return b;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_new_name(name);
  SR_CHECK(m != nullptr, type_name(), ": child module '", name, "' is null");
  children_.emplace_back(name, std::move(m));
}

void Module::collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const {
  if (params)
    for (const auto& [n, t] : params_) out.emplace_back(prefix + n, t);
  if (buffers)
    for (const auto& [n, t] : buffers_) out.emplace_back(prefix + n, t);
  for (const auto& [n, c] : children_) c->collect(prefix + n + ".", params, buffers, out);
}

void Module::collect_derived(const std::string& prefix, std::map<std::string, bool>& out) const {
  for (const std::string& n : derived_) out[prefix + n] = true;
  for (const auto& [n, c] : children_) c->collect_derived(prefix + n + ".", out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, false, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, true, out);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect("", true, true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_children() const {
  std::vector<std::pair<std::string, Module*>> out;
  for (const auto& [n, c] : children_) out.emplace_back(n, c.get());
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void assign_tensor_in_place(Tensor& dst, const Tensor& value) {
  TensorImpl* d = dst.impl();
  const bool rg = d->requires_grad;
  *d = *value.impl();
  d->requires_grad = rg;
  d->grad = nullptr;
  d->grad_fn = nullptr;
}

void Module::to(Device device) {
  for (auto& [n, t] : state_dict()) {
    Tensor moved = t.to(device);
    Tensor handle = t;
    if (moved.impl() != t.impl()) assign_tensor_in_place(handle, moved);
  }
}

void Module::to(DType dtype) {
  for (auto& [n, t] : state_dict()) {
    Tensor converted = t.to(dtype);
    Tensor handle = t;
    if (converted.impl() != t.impl()) assign_tensor_in_place(handle, converted);
  }
}

void Module::set_requires_grad(bool on) {
  for (auto& [n, t] : named_parameters()) t.set_requires_grad(on);
}

void Module::zero_grad() {
  for (auto& [n, t] : named_parameters()) t.zero_grad();
}

namespace {

// A derived buffer's value in a dict must be the module's own, element for element (both hold
// small integers, exact in every float type).
void check_derived_value(const std::string& key, const Tensor& own, const Tensor& given, const std::string& source) {
  const std::vector<double> a = own.to_vector(), b = given.to_vector();
  for (size_t i = 0; i < a.size(); ++i)
    SR_CHECK(a[i] == b[i], "cannot load ", source, ": '", key, "' holds ", b[i], " at element ", i, " where this ",
             "network computes ", a[i], " (the buffer follows from the network's options: the file is of another ",
             "architecture, or the buffer was edited)");
}

}  // namespace

StateDictReport Module::load_state_dict(const NamedTensors& dict, bool strict, const std::string& source) {
  std::map<std::string, Tensor> m;
  for (const auto& [k, v] : dict) m[k] = v;
  return load_state_dict(m, strict, source);
}

StateDictReport Module::load_state_dict(const std::map<std::string, Tensor>& dict, bool strict,
                                        const std::string& source) {
  StateDictReport report;
  const NamedTensors own = state_dict();
  std::map<std::string, bool> known, derived;
  collect_derived("", derived);
  std::vector<std::pair<Tensor, Tensor>> loads;  // (destination, source)
  for (const auto& [k, t] : own) {
    known[k] = true;
    auto it = dict.find(k);
    if (it == dict.end()) {
      if (!derived.count(k)) report.missing.push_back(k);  // a derived buffer keeps its computed value
    } else if (!it->second.defined() || it->second.shape() != t.shape()) {
      report.mismatched.push_back(k + ": " + source + " " +
                                  (it->second.defined() ? it->second.shape().str() : "undefined") +
                                  " vs module " + t.shape().str());
    } else {
      if (derived.count(k)) check_derived_value(k, t, it->second, source);
      loads.emplace_back(t, it->second);
    }
  }
  for (const auto& [k, v] : dict)
    if (!known.count(k)) report.unexpected.push_back(k);
  if (strict && !report.clean())
    fail(type_name(), ": cannot load ", source, ": ", report.missing.size(), " missing, ",
         report.unexpected.size(), " unexpected, ", report.mismatched.size(), " mis-shaped key(s)",
         report.str());
  NoGradGuard no_grad;
  for (auto& [dst, src] : loads) {
    Tensor d = dst;
    d.copy_(src);
  }
  return report;
}

}  // namespace sr

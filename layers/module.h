// Module: the base of every layer and network. It owns named parameters (trainable
// leaves) and buffers (state that is saved but not trained, e.g. spectral-norm u/v, batch
// norm running statistics) and child modules, and names them hierarchically as PyTorch
// does ("body.0.rdb1.conv1.weight"), in registration order, so state dicts carry
// BasicSR's exact keys.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/safetensors.h"
#include "engine/tensor.h"

namespace sr {

// What load_state_dict found; with strict=true any non-empty list is an error instead.
struct StateDictReport {
  std::vector<std::string> missing;     // the module's keys absent from the dict
  std::vector<std::string> unexpected;  // dict keys the module does not have
  std::vector<std::string> mismatched;  // "key: dict [a, b] vs module [c, d]"
  bool clean() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  std::string str() const;  // one line per problem (empty when clean)
};

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The class name for messages ("Conv2d", "RRDBNet").
  virtual std::string type_name() const = 0;
  // One-input forward; modules with another signature throw an error naming the type.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  // ---- Upscaling networks (the generators: RRDBNet, SRVGGNetCompact) ---------------------
  // The factor by which forward enlarges each side of its input; 0 for a module that is not
  // an upscaling network (a discriminator, a layer).
  virtual int output_scale() const { return 0; }
  // The multiple that forward needs of its input's sides (RRDBNet x2 / x1 pixel-unshuffle
  // them); 1 when any size is accepted.
  virtual int input_multiple() const { return 1; }
  // Why forward on overlapping tiles (each with enough context around it) does not give the
  // whole image's output, as a phrase after the type name ("pools over its whole input"); empty
  // when it does. RCAN's channel attention averages each channel over the image, so a tile sees
  // its own averages; SwinIR's windows are laid on the whole image's grid.
  virtual std::string why_tiles_differ() const { return ""; }

  // ---- Naming (registration order, depth first: own parameters, own buffers, children) ----
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, Module*>> named_children() const;
  int64_t num_parameters() const;  // total element count

  // ---- Mode and placement --------------------------------------------------------------
  void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Move or convert every parameter and buffer in place: handles held elsewhere (an
  // optimizer, a member Tensor) see the new data; gradients are dropped.
  void to(Device device);
  void to(DType dtype);
  void set_requires_grad(bool on);  // every parameter (freezing a discriminator, VGG)
  void zero_grad();

  // ---- State dicts ----------------------------------------------------------------------
  // Parameters and buffers, PyTorch's order and names. The tensors are the module's own
  // (not copies): clone them to snapshot.
  NamedTensors state_dict() const;
  // Copies values in (converting dtype and device). strict: any missing, unexpected or
  // mis-shaped key is an error listing all of them, and nothing is loaded. Not strict:
  // matching keys are loaded, the rest skipped and reported. `source` names the origin
  // in messages (a file name).
  StateDictReport load_state_dict(const std::map<std::string, Tensor>& dict, bool strict = true,
                                  const std::string& source = "state dict");
  StateDictReport load_state_dict(const NamedTensors& dict, bool strict = true,
                                  const std::string& source = "state dict");

 protected:
  // Registers and returns the tensor (a handle sharing its data). Parameters get
  // requires_grad = true. Names are unique within a module and contain no '.'.
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  // A buffer whose value follows from the module's options alone (HAT's relative position
  // indices): in the state dict like any buffer, but a dict without it loads all the same
  // (files written before the buffer existed), and a dict that has it must hold exactly the
  // value computed here: anything else is an error naming the key, strict or not (the file is
  // of another architecture, and loading it would change what the module computes).
  Tensor register_derived_buffer(const std::string& name, Tensor t);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name) const;
  void collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const;
  void collect_derived(const std::string& prefix, std::map<std::string, bool>& out) const;

  NamedTensors params_, buffers_;
  std::vector<std::string> derived_;  // the names of the buffers registered as derived
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Replaces a tensor's data in place (same handle) with `value`'s, keeping requires_grad
// and dropping the gradient. Used by Module::to and by optimizers' state moves.
void assign_tensor_in_place(Tensor& dst, const Tensor& value);

}  // namespace sr

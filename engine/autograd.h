// Reverse-mode autograd on a dynamic tape.
//
// Every differentiable op that sees an input with requires_grad (and grad mode on)
// records a Node on its output. A Node keeps what its backward needs (saved tensors,
// captured in a closure) and one Edge per input: to the Node that produced the input,
// or to the input itself when it is a leaf. backward() orders the reachable nodes
// topologically, feeds each its summed output gradient, accumulates leaf gradients into
// `.grad` (+=), and frees every node's saved tensors and edges as soon as it has run.
// A Node may stand for a whole fused block (forward and backward written by hand).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace sr {

struct Edge {
  std::shared_ptr<Node> fn;          // producer of the input, or
  std::shared_ptr<TensorImpl> leaf;  // the input itself when it is a leaf requiring grad
  bool valid() const { return fn || leaf; }
};

class Node {
 public:
  virtual ~Node() = default;
  // Given dL/d(output), returns dL/d(input_i) for every input (undefined where an input
  // needs no gradient). Called once; afterwards release() frees what was saved.
  virtual std::vector<Tensor> apply(const Tensor& grad_output) = 0;
  virtual void release() {}
  virtual std::string name() const = 0;

  std::vector<Edge> next_edges;  // one per input, in the op's argument order
  bool released = false;
};

// A Node whose backward is a closure; the closure's captures are its saved tensors.
class FunctionNode : public Node {
 public:
  using Backward = std::function<std::vector<Tensor>(const Tensor&)>;
  FunctionNode(std::string op, Backward backward) : op_(std::move(op)), backward_(std::move(backward)) {}
  std::vector<Tensor> apply(const Tensor& grad_output) override { return backward_(grad_output); }
  void release() override { backward_ = nullptr; }
  std::string name() const override { return op_; }

 private:
  std::string op_;
  Backward backward_;
};

// Grad mode (thread-local). NoGradGuard turns recording off for its scope.
bool grad_enabled();
void set_grad_enabled(bool enabled);
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// True when an op on these inputs must record a node.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Attaches `node` to `output` with one edge per input (inputs that need no gradient get
// an empty edge) and marks output as requiring grad. Returns output.
Tensor attach_node(Tensor output, std::shared_ptr<Node> node, const std::vector<Tensor>& inputs);

// Convenience: records a FunctionNode when any input needs grad, else returns output.
Tensor record(const char* op, Tensor output, const std::vector<Tensor>& inputs,
              FunctionNode::Backward backward);

// Runs backward from `root`. `gradient` defaults to 1 for a one-element root.
void run_backward(const Tensor& root, const Tensor& gradient);

// Called during backward() for each leaf as soon as its gradient for this backward is
// complete (every edge into it has delivered), in that order. Data parallelism uses it to
// start reducing a bucket of gradients while the rest of backward still runs. One hook
// per thread; an empty function removes it.
using LeafReadyHook = std::function<void(const std::shared_ptr<TensorImpl>& leaf)>;
void set_leaf_ready_hook(LeafReadyHook hook);

// Adds `g` into `dst` (dst += g), allocating dst when undefined. Same shape and dtype.
void accumulate_into(std::shared_ptr<TensorImpl>& dst, const Tensor& g);

}  // namespace sr

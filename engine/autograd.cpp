// The backward engine: topological order, gradient routing, graph release.
#include "engine/autograd.h"

#include <unordered_map>

#include "engine/ops.h"

namespace sr {

namespace {
thread_local bool g_grad_enabled = true;
thread_local LeafReadyHook g_leaf_ready_hook;
}  // namespace

void set_leaf_ready_hook(LeafReadyHook hook) { g_leaf_ready_hook = std::move(hook); }

bool grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool enabled) { g_grad_enabled = enabled; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor attach_node(Tensor output, std::shared_ptr<Node> node, const std::vector<Tensor>& inputs) {
  node->next_edges.clear();
  for (const Tensor& t : inputs) {
    Edge e;
    if (t.defined() && t.requires_grad()) {
      if (t.grad_fn())
        e.fn = t.grad_fn();
      else
        e.leaf = t.impl_ptr();
    }
    node->next_edges.push_back(std::move(e));
  }
  // The output is a fresh tensor (or a fresh view impl) owned by this op.
  output.impl()->grad_fn = std::move(node);
  output.impl()->requires_grad = true;
  return output;
}

Tensor record(const char* op, Tensor output, const std::vector<Tensor>& inputs,
              FunctionNode::Backward backward) {
  if (!needs_grad(inputs)) return output;
  return attach_node(std::move(output), std::make_shared<FunctionNode>(op, std::move(backward)),
                     inputs);
}

void accumulate_into(std::shared_ptr<TensorImpl>& dst, const Tensor& g) {
  // Gradients are never modified in place: one gradient tensor may be routed to several
  // inputs (add's backward returns g twice), so a sum is always a new tensor.
  if (!dst) {
    dst = g.contiguous().impl_ptr();
    return;
  }
  Tensor d(dst);
  SR_CHECK(d.shape() == g.shape(), "backward: gradient shape ", g.shape().str(),
           " does not match accumulated ", d.shape().str());
  dst = add(d, g).impl_ptr();
}

void run_backward(const Tensor& root, const Tensor& gradient) {
  SR_CHECK(root.defined(), "backward: undefined tensor");
  SR_CHECK(root.requires_grad(), "backward: tensor ", root.str(),
           " does not require grad and has no grad_fn");
  Tensor g = gradient;
  if (!g.defined()) {
    SR_CHECK(root.numel() == 1, "backward: implicit gradient needs a one-element output, got ",
             root.str(), "; pass an explicit gradient");
    g = Tensor::ones(root.shape(), root.dtype(), root.device());
  }
  SR_CHECK(g.shape() == root.shape(), "backward: gradient ", g.str(), " does not match output ",
           root.str());
  NoGradGuard no_grad;  // backward computations are not recorded

  if (root.is_leaf()) {
    accumulate_into(root.impl()->grad, g);
    if (g_leaf_ready_hook) g_leaf_ready_hook(root.impl_ptr());
    return;
  }

  // Count, for every reachable node, how many edges point at it. `alive` owns every
  // reachable node until the walk ends (edges are cleared as nodes run).
  std::vector<std::shared_ptr<Node>> alive{root.grad_fn()};
  Node* start = alive[0].get();
  SR_CHECK(!start->released, "backward: the graph of ", root.str(),
           " was already freed by an earlier backward()");
  std::unordered_map<Node*, int> pending{{start, 0}};
  std::unordered_map<TensorImpl*, int> leaf_pending;  // edges still to deliver into each leaf
  for (size_t k = 0; k < alive.size(); ++k) {
    for (const Edge& e : alive[k]->next_edges) {
      if (e.leaf) leaf_pending[e.leaf.get()]++;
      if (!e.fn) continue;
      auto it = pending.find(e.fn.get());
      if (it == pending.end()) {
        SR_CHECK(!e.fn->released, "backward: part of the graph (", e.fn->name(),
                 ") was already freed by an earlier backward()");
        pending[e.fn.get()] = 1;
        alive.push_back(e.fn);
      } else {
        it->second++;
      }
    }
  }

  // Kahn's algorithm: a node runs when all its consumers have delivered gradients.
  std::unordered_map<Node*, std::shared_ptr<TensorImpl>> grads;
  grads[start] = g.contiguous().impl_ptr();
  std::vector<Node*> ready{start};
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    // A node that received no gradient (all consumers returned none) is skipped, but
    // its edges are still walked so that its producers' counts reach zero.
    auto git = grads.find(n);
    std::vector<Tensor> gin(n->next_edges.size());
    if (git != grads.end()) {
      Tensor gout(git->second);
      grads.erase(git);
      gin = n->apply(gout);
    }
    SR_CHECK(gin.size() == n->next_edges.size(), "backward: node ", n->name(), " returned ",
             gin.size(), " gradients for ", n->next_edges.size(), " inputs");
    std::vector<Edge> edges = std::move(n->next_edges);
    n->next_edges.clear();
    n->release();
    n->released = true;
    for (size_t i = 0; i < edges.size(); ++i) {
      const Edge& e = edges[i];
      if (!e.valid()) continue;
      if (e.leaf) {
        if (gin[i].defined()) accumulate_into(e.leaf->grad, gin[i]);
        if (--leaf_pending[e.leaf.get()] == 0 && g_leaf_ready_hook) g_leaf_ready_hook(e.leaf);
        continue;
      }
      if (gin[i].defined()) accumulate_into(grads[e.fn.get()], gin[i]);
      if (--pending[e.fn.get()] == 0) ready.push_back(e.fn.get());
    }
  }
}

}  // namespace sr

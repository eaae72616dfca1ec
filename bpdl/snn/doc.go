// Package snn is the study's spiking net, a fully connected net of leaky integrate-and-fire (LIF) neurons
// trained by backpropagation through time with a surrogate gradient, as the study built it with norse
// 0.0.6 (Pehle & Pedersen), written anew in Go twice: as GoMLX graphs for any backend, and as event-driven
// CPU kernels with a written-out backward pass (see Two engines).
//
// # Model
//
// An input x (normalised pixels in [-1, 1]) becomes Poisson spike trains over T = 100 steps of DT = 1 ms:
// input unit j fires at step t when u < FMax*DT*x_j, u ~ U[0, 1) (FMax = 20 Hz: a pixel at 1 fires with
// probability 0.02 per step; pixels <= 0 never fire). The spikes go through
//
//	Linear(in, 1536) -> LIF -> Linear(1536, 256) -> LIF -> Linear(256, 10) -> LI
//
// with the Linear layers initialised as torch.nn.Linear's default. A LIF layer with input current
// c(t) = W z_in(t) + b (z_in the spikes of the layer below at step t) runs norse's feed-forward LIF step
// (LIF.Step), with tau_syn_inv = 200, tau_mem_inv = 100, v_leak = v_reset = 0 and the study's v_th = 0.4:
//
//	v'(t) = v(t-1) + DT*tau_mem_inv*((v_leak - v(t-1)) + i(t-1))
//	i'(t) = i(t-1) - DT*tau_syn_inv*i(t-1)
//	z(t)  = H(v'(t) - v_th)
//	v(t)  = (1 - z(t)) v'(t) + z(t) v_reset
//	i(t)  = i'(t) + c(t)
//
// from v(-1) = v_leak, i(-1) = 0. The readout is norse's leaky integrator (LI.Step), the same membrane
// without threshold: v(t) = v(t-1) + DT*tau_mem_inv*((v_leak - v(t-1)) + i(t-1)),
// i(t) = i(t-1) - DT*tau_syn_inv*i(t-1) + c(t). The logits are max_t v(t) (Decode), the loss the mean
// softmax cross-entropy. In the backward pass the derivative of the step H is replaced by SuperSpike's
// surrogate 1/(alpha |v' - v_th| + 1)^2, alpha = 100; gradients flow through every term above, the reset
// included, over all T steps.
//
// # The study's net is silent
//
// With FMax = 20 Hz and PyTorch's initial weights (|W| < 1/sqrt(fan_in)) the currents stay far below the
// threshold: a hidden neuron's potential settles near 5 (b + W z_in) with about 1.6 input spikes per step
// on an MNIST image, so no hidden neuron fires in 100 steps, the readout sees only its biases and every
// image gets the same logits. The surrogate gradient at v' - v_th = -0.4 is 1/1681, so SGD at lr 1e-3
// barely moves the weights: the net stays at chance. Probe reports the spike counts that show it.
//
// # Tuned
//
// Tuned changes the study's settings so that the same architecture learns; see its documentation for the
// changes and why.
//
// # Neuron models
//
// Config.Neuron and Config.Readout are Neuron values: a model is a pure step function in graph form,
// state in, state out. LIF and LI are the study's; a Models registry (DefaultModels) names models ("lif",
// "li") and gives them a JSON form, so that a program chooses or stores a net's models by name. A new
// model is one file holding its type plus one Register line; the graph engine runs any model, while the
// kernels implement LIF and LI only (NewOn with ImplAuto picks the graph engine for other models).
//
// # Two engines
//
// A Net trains on one of two engines (Impl), which compute the same net from the same input spike trains
// (drawn on the host from a random stream per example, so that neither the engine nor the way a batch is
// split changes them) and differ only in float32 rounding: the tests check identical spikes in every
// layer, equal gradients, and weights equal to float32 tolerance after several steps.
//
// The graph engine (ImplGraph) is the definition, written as GoMLX graph functions: each neuron model a
// pure step function, state in, state out (Neuron; LIF.GraphStep, LI.GraphStep), as in norse's functional
// API; SuperSpike's surrogate as a custom gradient (SuperSpike); a layer's input currents for all T steps
// as one matrix product (Currents) feeding its recurrence, unrolled over time (RunLayer); the decoder and
// the loss (Simulate, Loss); and the backward pass through time (Gradients), by GoMLX's autodiff inside
// each layer chained between layers through the products. One compiled graph runs a whole training step,
// optimiser included, with the weights kept on the backend's device: the engine for GPUs and any other
// backend.
//
// The kernels (ImplKernels) are the fast path on CPUs: hand-written, because the spikes are sparse and a
// dense product wastes most of its work on zeros. A step simulates one layer at a time over all T steps,
// all examples of the batch together (rows r = t*batch + b): a layer's input at step t depends only on the
// spikes of the layer below at step t, so once a layer has run, the next one has all of its input.
//
//   - Input currents are event-driven: W z(t) is the sum of the weight rows of the units that fired
//     (weights are kept input-major so those rows are contiguous).
//   - The weight gradients dL/dW = sum_t dL/dc(t)^T z_in(t) are event-driven too: dL/dc(t) is added to
//     the rows of the units that fired at step t.
//   - The spike gradient of a hidden layer, dL/dz(t) = dL/dc_above(t) W_above, is one dense product over
//     all T*batch rows (the only dense product of the step; AVX-512 or AVX2 with GOEXPERIMENT=simd).
//   - The recurrences, forward and backward in time, are fused elementwise loops over the LIF state.
//   - The optimiser is package optim's, stepping in place on the host (optim.Host): the same optimiser
//     value, with the same float32 arithmetic, that the graph engine applies in its graph and the MLPs
//     use, so both engines share one implementation of SGD and Adam and one layout of their state.
//
// Each layer's units are cut into blocks that free workers take in turn, sharing nothing; the backward
// product is split by rows as well when workers outnumber blocks. Every value is computed in the same
// order whatever the worker that computes it, so results do not depend on the number of workers. The
// backward pass is written out (Net.backward) and checked against GoMLX's autodiff of a dense reference of
// the same net.
//
// Measured speeds of both engines, and the ablation behind Tuned, are in docs/snn.md with the commands that
// produced them.
package snn

// Package snn is the study's spiking net, a fully connected net of leaky integrate-and-fire (LIF) neurons
// trained by backpropagation through time with a surrogate gradient, as the study built it with norse
// 0.0.6 (Pehle & Pedersen), written anew in Go with an event-driven first layer and an explicit backward
// pass.
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
// changes and the validation runs that chose them.
//
// # Fast path
//
// A step simulates one layer at a time over all T steps, all examples of the batch together (rows
// r = t*batch + b), rather than one time step at a time through all layers: a layer's input at step t
// depends only on the spikes of the layer below at step t, so once a layer has run, the next one has all
// of its input. Each layer's units are cut into blocks that workers take in turn, sharing nothing.
//
//   - Input currents are event-driven: W z(t) is the sum of the weight rows of the units that fired
//     (weights are kept input-major so those rows are contiguous). About 1% of the inputs fire per
//     step at 20 Hz, so this is ~100x less work than the dense product, at no loss of exactness.
//   - The weight gradients dL/dW = sum_t dL/dc(t)^T z_in(t) are event-driven too: dL/dc(t) is added to
//     the rows of the units that fired at step t.
//   - The spike gradient of a hidden layer, dL/dz(t) = dL/dc_above(t) W_above, is one dense product over
//     all T*batch rows (the only dense product of the step; AVX-512 or AVX2 with GOEXPERIMENT=simd).
//   - The recurrences, forward and backward in time, are fused elementwise loops over the LIF state.
//   - The optimiser runs in place on the host (same semantics as package optim, which the tests check).
//
// Results do not depend on the number of workers. The backward pass is written out (Net.backward) and
// checked against GoMLX's autodiff of a dense reference of the same net.
//
// On two cores of an AMD EPYC with AVX-512 and nothing else running (GOEXPERIMENT=simd; sh
// bench/compare_snn.sh 1 5, which runs BenchmarkSNNStep and bench/torch_snn.py in turn), a training step
// of Study's net ran at 672 examples/s on MNIST shapes at batch 4 and 359 examples/s on CIFAR-10 shapes
// (139 s per epoch of 50,000), against 50 and 31 examples/s for PyTorch 1.13 on the same two cores with
// each Linear applied once to all steps, and 6.6 and 3.0 examples/s with every Linear applied at every
// step, as the original code did.
package snn

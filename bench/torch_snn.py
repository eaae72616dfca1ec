#!/usr/bin/python3
"""Dense PyTorch formulations of bpdl's spiking net (package bpdl/snn), for comparing engines - not the study's code.

The study's own spiking net (norse 0.0.6's simpleSNN, the study's training loop) is the "snn" rule of
bench/torch_study.py, which `reproduce bench` compares bpdl against. This script writes the same dynamics
without norse, densely, in two forms (below); "layerwise" is a faster formulation than the study's code, a
bar for a CPU engine to clear rather than what the study ran. bench/compare_snn.sh uses it.

The net and its training step, exactly as bpdl/snn.Study() defines them:

  input   Poisson spikes over T = 100 steps of dt = 1 ms: unit j fires at a step when u < f_max*dt*x_j,
          u ~ U[0, 1), f_max = 20 Hz, x the normalised pixels in [-1, 1]
  layers  Linear(in, 1536) -> LIF -> Linear(1536, 256) -> LIF -> Linear(256, 10) -> leaky integrator
  LIF     v' = v + dt*tau_mem_inv*((v_leak - v) + i);  i' = i - dt*tau_syn_inv*i;  z = H(v' - v_th);
          v <- (1 - z) v' + z v_reset;  i <- i' + input      (tau_syn_inv 200, tau_mem_inv 100,
          v_leak 0, v_reset 0, v_th 0.4); dz/dv' replaced by SuperSpike's 1/(alpha |v' - v_th| + 1)^2,
          alpha 100
  LI      v <- v + dt*tau_mem_inv*((v_leak - v) + i);  i <- i - dt*tau_syn_inv*i + input; output v
  logits  the maximum over the T steps of the readout potential; softmax cross-entropy
  update  BPTT over all T steps by autograd; SGD lr 1e-3, momentum 0.9, gradient norm clipped to 2

Two dense forms: "per-step" applies every Linear at every time step to the (mostly zero) spike vectors,
as the study's code did through norse (autograd then sums 100 weight gradients per layer); "layerwise"
applies each Linear once to all T steps of the layer below, a faster dense formulation than the study's. The script prints one JSON line
per (shape, batch, variant): examples per second of wall time and per second of CPU time of the process
(the fairer number on a machine shared with other jobs).

Run with Debian's interpreter, which sees python3-torch: /usr/bin/python3 bench/torch_snn.py
"""

import argparse
import json
import time

import torch

STEPS = 100
DT = 1e-3
F_MAX = 20.0
TAU_SYN_INV = 200.0
TAU_MEM_INV = 100.0
V_LEAK = 0.0
V_TH = 0.4
V_RESET = 0.0
ALPHA = 100.0


class SuperSpike(torch.autograd.Function):
    """Heaviside step forward, SuperSpike surrogate derivative backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (ALPHA * x.abs() + 1.0) ** 2


def lif_step(inp, v, i):
    vd = v + DT * TAU_MEM_INV * ((V_LEAK - v) + i)
    idec = i - DT * TAU_SYN_INV * i
    z = SuperSpike.apply(vd - V_TH)
    v = (1 - z) * vd + z * V_RESET
    return z, v, idec + inp


def li_step(inp, v, i):
    v = v + DT * TAU_MEM_INV * ((V_LEAK - v) + i)
    return v, i - DT * TAU_SYN_INV * i + inp


class Net(torch.nn.Module):
    def __init__(self, inputs, hidden=(1536, 256), classes=10):
        super().__init__()
        sizes = (inputs,) + tuple(hidden) + (classes,)
        self.fc = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x, layerwise=False):
        batch = x.shape[0]
        spikes = (torch.rand(STEPS, *x.shape) < DT * F_MAX * x).float()
        if layerwise:
            return self.forward_layerwise(spikes)
        state = [(torch.full((batch, f.out_features), V_LEAK), torch.zeros(batch, f.out_features)) for f in self.fc]
        out = []
        for h in spikes.unbind(0):
            for k, f in enumerate(self.fc):
                v, i = state[k]
                if k < len(self.fc) - 1:
                    h, v, i = lif_step(f(h), v, i)
                else:
                    v, i = li_step(f(h), v, i)
                    out.append(v)
                state[k] = (v, i)
        logits, _ = torch.max(torch.stack(out), 0)
        return logits

    def forward_layerwise(self, spikes):
        """The same net, one layer at a time over all steps: each Linear is one product over T*batch rows."""
        h = spikes
        for k, f in enumerate(self.fc):
            c = f(h)
            v, i = torch.full(c.shape[1:], V_LEAK), torch.zeros(c.shape[1:])
            out = []
            for ct in c.unbind(0):  # unbind, not c[t]: one backward for all steps
                if k < len(self.fc) - 1:
                    z, v, i = lif_step(ct, v, i)
                    out.append(z)
                else:
                    v, i = li_step(ct, v, i)
                    out.append(v)
            h = torch.stack(out)
        logits, _ = torch.max(h, 0)
        return logits


def bench(shape, inputs, batch, seconds, min_steps, variant):
    torch.manual_seed(0)
    net = Net(inputs)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    x = torch.rand(batch, inputs) * 2 - 1
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x, layerwise=variant == "layerwise"), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 2.0)
        opt.step()

    step()  # warm-up
    steps = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while steps < min_steps or time.perf_counter() - wall0 < seconds:
        step()
        steps += 1
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {
        "shape": shape,
        "batch": batch,
        "variant": variant,
        "threads": torch.get_num_threads(),
        "steps": steps,
        "examples_per_s": steps * batch / wall,
        "examples_per_cpu_s": steps * batch / cpu,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("seconds", type=float, nargs="?", default=20, help="time each configuration for at least this long (reproduce bench passes it)")
    ap.add_argument("--min-steps", type=int, default=3, help="and at least this many steps")
    ap.add_argument("--shapes", default="mnist,cifar10", help="comma-separated: mnist (784 inputs), cifar10 (3072)")
    ap.add_argument("--batches", default="4,32", help="comma-separated batch sizes")
    ap.add_argument(
        "--variants",
        default="per-step,layerwise",
        help="per-step: every Linear applied at every time step, as the original code; layerwise: each Linear "
        "applied once to all steps (a faster dense baseline). When both run, the layerwise line comes last, "
        "so it is the one reproduce bench compares with",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    inputs = {"mnist": 784, "cifar10": 3072}
    for shape in args.shapes.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            for variant in args.variants.split(","):
                print(json.dumps(bench(shape, inputs[shape], batch, args.seconds, args.min_steps, variant)), flush=True)


if __name__ == "__main__":
    main()

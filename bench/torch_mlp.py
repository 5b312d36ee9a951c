#!/usr/bin/env python3
"""torch_mlp.py - PyTorch CPU baseline for bench/train_throughput.

Same workload as the C bench: MLP d-256-128-k (default 784-256-128-10) (ReLU, softmax
cross-entropy), minibatch 64 drawn by a fresh permutation each epoch,
SGD lr 0.1 momentum 0.9, one thread, synthetic data of the same shape.
Prints exactly one result line: "torch: N samples/s, M per CPU second"
(wall-clock rate, and the rate per second of this process's CPU time, which
a loaded machine distorts less).

With --serve it sets up and warms up, prints "ready", then reads commands
from stdin, one per line: "run S" trains for S seconds and prints one
result line; "quit" (or end of input) exits.  bench/train_throughput uses
this to interleave torch's slices with its own, so both see the same load.

usage: torch_mlp.py [--rows N] [--features D] [--classes K] [--seconds S]
                    [--warmup-steps W] [--serve]
"""
import sys
import argparse
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=60000)
    ap.add_argument("--features", type=int, default=784)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup-steps", type=int, default=50)
    ap.add_argument("--serve", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(1)
    n, d, k, batch = args.rows, args.features, args.classes, 64
    X = torch.rand(n, d)
    y = torch.randint(0, k, (n,))
    model = torch.nn.Sequential(
        torch.nn.Linear(d, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, k))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def batches():
        while True:
            perm = torch.randperm(n)
            for i in range(0, n, batch):
                yield perm[i:i + batch]

    def step(idx):
        xb, yb = X[idx], y[idx]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return len(idx)

    it = batches()
    for _ in range(args.warmup_steps):
        step(next(it))

    def timed(seconds):
        samples = 0
        t0, c0 = time.perf_counter(), time.process_time()
        while True:
            samples += step(next(it))
            elapsed = time.perf_counter() - t0
            if elapsed >= seconds:
                break
        cpu = time.process_time() - c0
        print("torch: %.0f samples/s, %.0f per CPU second"
              % (samples / elapsed, samples / cpu if cpu > 0 else 0.0), flush=True)

    if not args.serve:
        timed(args.seconds)
        return
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "run" and len(cmd) == 2:
            timed(float(cmd[1]))
        else:
            print("torch: bad command %r" % line.strip(), flush=True)


if __name__ == "__main__":
    main()

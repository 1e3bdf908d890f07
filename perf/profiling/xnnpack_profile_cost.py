"""What profiling costs on the XNNPACK delegate: execute latency of a zoo
model (default MobileNetV2) unprofiled and in each xnnpack.profile mode,
and, in per-node mode, the fused runtime's time beside the sum of the
per-node times (the cost of running each node on its own).

    taskset -c 1 python3 perf/profiling/xnnpack_profile_cost.py \\
        [--model mobilenet_v2] [--input-size 32] [--iterations 200]

Medians over the iterations, after a warm-up; pin to one core and read
the numbers as this machine's, not as absolutes.
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DDK_BUILD_DIR", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("DDK_LIBRARY", os.path.join(BUILD, "libddk.so"))
PLUGIN = os.path.join(BUILD, "sample_delegates", "libddk_backend_xnnpack.so")


def _median_us(xs):
    return statistics.median(xs) / 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--input-size", type=int, default=32)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    args = ap.parse_args()
    import ddk
    from ddk import zoo
    built = zoo.build(args.model, seed=0, input_size=args.input_size)
    inputs = [t.numpy() for t in built.example_inputs]
    program = built.export().to_bytes()
    modes = [("unprofiled", None), ("fused", "fused"), ("per_node", "per_node"),
             ("per_node_only", "per_node_only")]
    with ddk.Runtime() as rt:
        low = rt.lower(program, [rt.add_backend(PLUGIN)])
        print(f"{args.model} {args.input_size}x{args.input_size}: "
              f"{sum(len(d['nodes']) for d in low.delegates)} of {low.num_nodes} nodes "
              f"on XNNPACK in {low.num_delegates} partition(s); medians of "
              f"{args.iterations} runs")
        base = None
        for label, mode in modes:
            opts = {} if mode is None else {"profile": True, "xnnpack.profile": mode}
            t_create = time.perf_counter_ns()
            m = rt.method(low, options=opts)
            t_create = time.perf_counter_ns() - t_create
            m.set_inputs(inputs)
            for _ in range(args.warmup):
                m.execute()
            wall, fused, nodes = [], [], []
            for _ in range(args.iterations):
                t0 = time.perf_counter_ns()
                m.execute()
                wall.append(time.perf_counter_ns() - t0)
                if mode is None:
                    continue
                ev = m.backend_events()
                fused += [e["end_ns"] - e["start_ns"] for e in ev
                          if e["name"] in ("xnnpack: fused runtime", "xnnpack: runtime")]
                per = [e["end_ns"] - e["start_ns"] for e in ev
                       if e["kind"] == "op" and e["node_index"] is not None]
                if per:
                    nodes.append(sum(per))
            m.close()
            w = _median_us(wall)
            base = base or w
            line = (f"  {label:<14} execute {w:9.1f} us ({w / base:4.2f}x)  "
                    f"method create {t_create / 1e6:6.1f} ms")
            if fused:
                line += f"  fused runtime {_median_us(fused):8.1f} us"
            if nodes:
                line += f"  sum of nodes {_median_us(nodes):8.1f} us"
            if fused and nodes:
                line += f" ({statistics.median(nodes) / statistics.median(fused):4.2f}x fused)"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run the command line in this process and print its wall time and the CPU seconds of the main
process and of its (waited-for) children, i.e. the run's workers.

    PYTHONPATH=. BENCHMARK_QUIET=1 python tests/perf/cpu_run.py run --folds 5 --n-jobs 2 --out runs/f5

Not a test: on a machine shared with other work, wall time says how loaded it was; the CPU
seconds say how much work the run was, and their sum over the workers against the serial run's
shows what a pool adds (worker start-up, shipping, the main process's bookkeeping).
"""
import resource
import runpy
import sys
import time

if __name__ == "__main__":
    t0 = time.time()
    sys.argv = ["benchmark", *sys.argv[1:]]
    try:
        runpy.run_module("benchmark", run_name="__main__")
    except SystemExit:
        pass
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"wall {time.time() - t0:.1f} s, CPU main {own.ru_utime + own.ru_stime:.1f} s, "
          f"workers {children.ru_utime + children.ru_stime:.1f} s", file=sys.stderr)

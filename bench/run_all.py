"""Run every bench/bench_*.py in turn and print their figures."""
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

for path in sorted(glob.glob(os.path.join(HERE, "bench_*.py"))):
    print("== %s" % os.path.basename(path), flush=True)
    subprocess.run([sys.executable, path], cwd=os.path.dirname(HERE), check=False)

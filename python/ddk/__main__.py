"""``python3 -m ddk export|zoo|compare ...`` (see ddk.cli)."""
import os
import sys

from ddk.cli import main

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:  # `ddk zoo list | head`: the reader left; not an error
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 0
sys.exit(code)

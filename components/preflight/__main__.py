"""`python -m components.preflight` (in the project) or `python -m eks_gpu_spot.preflight` (installed)."""

import sys

from .cli import main

sys.exit(main(prog=f"python -m {__package__}"))

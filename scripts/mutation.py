"""Mutation testing of the pure modules: how many deliberate bugs make each module's own tests fail.

    venv/bin/python scripts/mutation.py [MODULE ...] [--all] [--survivors]     (or: make mutation)

For each module of `MODULES` (all by default, or those named, e.g. `gpu` or `preflight/scheduling`):

1. copies the project into a temporary folder and configures mutmut there: mutate that one module,
   select that module's test files. mutmut reads its settings from the pyproject.toml of the folder
   it runs in and writes its mutants/ folder there, so each module gets its own copy; the checkout
   is never touched and nothing is left behind;
2. draws `SAMPLE_SIZE` of the module's mutants with the fixed seed `SEED` (`--all`: every one) and
   runs `mutmut run` on them. mutmut runs each mutant against the tests it saw call the mutated
   function; `process_isolation = "forkserver"` because tests that run the program under Pulumi
   mocks (gRPC threads) hang in a worker forked from a process that already ran them, and a hang
   reads as a false "timeout";
3. runs each mutant that survived (or that mutmut found no test for) once more against ALL of the
   module's test files, each in a fresh pytest process (where code run at import is mutated too),
   and counts it killed if they fail;
4. prints a table: module, mutants measured (of all generated), killed, survived, score
   (killed / measured), seconds.

`--survivors` also prints each survivor's diff. docs/testing.md records the scores and the
survivors judged equivalent (a change that cannot alter behaviour).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Module (under components/) -> its own test files: the ones whose subject it is. A mutant is a
# bug in the module; these tests are the ones that should notice.
MODULES: dict[str, tuple[str, ...]] = {
    "validation": ("tests/test_validation.py", "tests/test_types.py"),
    "allocatable": ("tests/test_allocatable.py", "tests/test_local_storage.py"),
    "node_template": ("tests/test_node_template.py",),
    "gpu": ("tests/test_gpu.py", "tests/test_time_slicing.py"),
    "pool_spec": ("tests/test_pool_spec.py", "tests/test_types.py", "tests/test_node_template.py", "tests/test_gpu.py",
                  "tests/test_time_slicing.py", "tests/test_image_pull.py"),
    "settings": ("tests/test_settings.py", "tests/test_types.py", "tests/test_config_errors.py",
                 "tests/test_refusals.py"),
    "plan": ("tests/test_plan.py", "tests/test_refusals.py", "tests/test_config_errors.py", "tests/test_network.py",
             "tests/test_stable_plans.py"),
    "userdata": ("tests/test_userdata.py", "tests/test_local_storage.py"),
    "quotas": ("tests/test_quotas.py",),
    "preflight/quantities": ("tests/test_preflight_quantities.py",),
    "preflight/scheduling": ("tests/test_preflight_scheduling.py",),
}
# Not copied into the temporary project: environments, caches and outputs.
NOT_COPIED = shutil.ignore_patterns(".git", "venv", ".venv*", "__pycache__", ".pytest_cache", ".ruff_cache",
                                    "mutants", "rendered", "build", "dist", "*.egg-info", ".pulumi-state")
# mutmut's statuses (mutmut/stats.py) that mean the tests noticed the mutant.
DETECTED = {"killed", "timeout", "segfault", "caught by type check"}
# A pytest process that runs longer than this on one mutant is taken as hung by it (detected).
RECHECK_TIMEOUT_SECONDS = 300
# Mutants measured per module, drawn with a fixed seed from all of the module's mutants (all when fewer).
SAMPLE_SIZE = 120
SEED = 22
# The names of a module's mutants, as mutmut 3.8 generates them (run in the configured copy; its
# command line has no way to list them before a run).
LIST_MUTANTS = ("import sys; from pathlib import Path; from mutmut.mutation.file_mutation import mutate_file_contents; "
                "path = Path(sys.argv[1]); print(*mutate_file_contents(str(path), path.read_text()).mutant_names)")


@dataclass(frozen=True)
class Score:
    module: str
    generated: int
    mutants: int
    killed: int
    survivors: tuple[str, ...]
    seconds: float

    @property
    def percent(self) -> float:
        return 100 * self.killed / self.mutants if self.mutants else 100.0


def mutmut(workdir: Path, *args: str, log: Path | None = None) -> str:
    """Runs the venv's mutmut in `workdir`; its output goes to `log` (its spinner is not for a terminal)."""
    command = [str(Path(sys.executable).parent / "mutmut"), *args]
    with open(log or os.devnull, "w") as out:
        done = subprocess.run(command, cwd=workdir, stdout=subprocess.PIPE if log is None else out,
                              stderr=subprocess.STDOUT, text=True, check=False)
    if done.returncode != 0:
        tail = log.read_text()[-4000:] if log else done.stdout
        raise SystemExit(f"mutmut {' '.join(args)} failed in {workdir}:\n{tail}")
    return done.stdout or ""


def configure(workdir: Path, module: str, tests: tuple[str, ...]) -> None:
    source = f"components/{module}.py"
    also_copy = sorted(p.name for p in workdir.iterdir() if p.name not in ("components", "tests"))
    with open(workdir / "pyproject.toml", "a") as pyproject:
        pyproject.write(f"""
[tool.mutmut]
source_paths = ["components"]
only_mutate = ["{source}"]
also_copy = {also_copy!r}
pytest_add_cli_args = ["-p", "no:cacheprovider"]
pytest_add_cli_args_test_selection = {list(tests)!r}
process_isolation = "forkserver"
use_git_change_detection = false
""".replace("'", '"'))


def statuses(workdir: Path) -> dict[str, str]:
    listed = mutmut(workdir, "results", "--all", "true")
    return dict(re.findall(r"^\s*(\S+): (.+)$", listed, flags=re.MULTILINE))


def fails(workdir: Path, mutant: str, tests: tuple[str, ...]) -> bool:
    """Whether the module's test files, all of them, fail with `mutant` active."""
    env = {**os.environ, "MUTANT_UNDER_TEST": mutant}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        done = subprocess.run(command, cwd=workdir / "mutants", env=env, capture_output=True, text=True,
                              timeout=RECHECK_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        return True
    # 1: a test failed; 2: collection failed (the mutant broke an import; the clean run collected);
    # 3: pytest's internal error, which mutmut counts as killed too. 4 and 5 would be this script's fault.
    if done.returncode not in (0, 1, 2, 3):
        raise SystemExit(f"pytest could not run {' '.join(tests)} against {mutant}:\n{done.stdout[-4000:]}")
    return done.returncode != 0


def mutant_names(workdir: Path, module: str) -> list[str]:
    listed = subprocess.run([sys.executable, "-c", LIST_MUTANTS, f"components/{module}.py"], cwd=workdir,
                            capture_output=True, text=True, check=True).stdout.split()
    return sorted(f"components.{module.replace('/', '.')}.{name}" for name in listed)


def sample(names: list[str], size: int | None) -> list[str]:
    """`size` of the mutants drawn with `SEED`, or all of them (`size` None or at least their number)."""
    return names if size is None or size >= len(names) else sorted(random.Random(SEED).sample(sorted(names), size))


def measure(module: str, size: int | None, show_survivors: bool) -> Score:
    tests = MODULES[module]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutation-") as temp:
        workdir = Path(temp) / "project"
        shutil.copytree(ROOT, workdir, ignore=NOT_COPIED)
        configure(workdir, module, tests)
        generated = mutant_names(workdir, module)
        chosen = sample(generated, size)
        mutmut(workdir, "run", *chosen, log=Path(temp) / "mutmut.log")
        wanted = set(chosen)
        found = {name: status for name, status in statuses(workdir).items() if name in wanted}
        undetected = [name for name, status in found.items() if status not in DETECTED]
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            verdicts = list(pool.map(lambda name: fails(workdir, name, tests), undetected))
        survivors = tuple(name for name, failed in zip(undetected, verdicts, strict=True) if not failed)
        if show_survivors:
            for name in survivors:
                print(mutmut(workdir, "show", name), flush=True)
    return Score(module, len(generated), len(found), len(found) - len(survivors), survivors,
                 time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"one of: {', '.join(MODULES)} (default: all)")
    parser.add_argument("--all", action="store_true", help=f"every mutant, not a sample of {SAMPLE_SIZE} per module")
    parser.add_argument("--survivors", action="store_true", help="print the diff of each surviving mutant")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    scores = []
    for module in args.modules or MODULES:
        score = measure(module, None if args.all else SAMPLE_SIZE, args.survivors)
        scores.append(score)
        print(f"{module}: {score.killed}/{score.mutants} killed ({score.percent:.1f}%) in {score.seconds:.0f}s",
              flush=True)
    print()
    print(f"{'module':<36} {'mutants':>12} {'killed':>6} {'survived':>8} {'score':>6} {'seconds':>7}")
    for s in scores:
        print(f"{'components/' + s.module + '.py':<36} {f'{s.mutants} of {s.generated}':>12} {s.killed:>6} "
              f"{len(s.survivors):>8} {s.percent:>5.1f}% {s.seconds:>7.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

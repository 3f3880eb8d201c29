"""`make mutation` (scripts/mutation.py) stays runnable: every module it measures and every test file
it runs exists, its sample is fixed, and the mutmut internals it reads still answer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from scripts import mutation
from tests.harness import ROOT

# The pure modules issue 22 names.
PURE_MODULES = {"validation", "allocatable", "node_template", "gpu", "pool_spec", "settings", "plan", "userdata",
                "quotas", "preflight/quantities", "preflight/scheduling"}


def test_every_pure_module_is_measured_against_test_files_that_exist() -> None:
    assert set(mutation.MODULES) == PURE_MODULES
    for module, tests in mutation.MODULES.items():
        assert (ROOT / "components" / f"{module}.py").is_file(), module
        assert tests and all((ROOT / test).is_file() for test in tests), module


def test_the_sample_is_fixed_and_takes_all_of_a_small_module() -> None:
    names = [f"m.x_f__mutmut_{i}" for i in range(300)]
    chosen = mutation.sample(names, 120)
    assert len(chosen) == len(set(chosen)) == 120 and set(chosen) <= set(names)
    assert mutation.sample(list(reversed(names)), 120) == chosen  # the same whatever order they come in
    assert mutation.sample(names[:100], 120) == names[:100]
    assert mutation.sample(names, None) == names


def test_mutmut_lists_a_modules_mutants_in_a_configured_copy(tmp_path: Path) -> None:
    (tmp_path / "components").mkdir()
    shutil.copy(ROOT / "components" / "userdata.py", tmp_path / "components" / "userdata.py")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    mutation.configure(tmp_path, "userdata", ("tests/test_userdata.py",))
    names = mutation.mutant_names(tmp_path, "userdata")
    assert len(names) > 20
    assert all(name.startswith("components.userdata.x") and "__mutmut_" in name for name in names)


def test_make_mutation_runs_the_script_with_the_modules_asked_for() -> None:
    planned = subprocess.run(["make", "-n", "mutation", "MODULES=gpu quotas"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    assert "venv/bin/python scripts/mutation.py gpu quotas" in planned

"""The manual follows the code (issue #25, item 8).

The API reference (docs/reference/api.md) is rendered from docstrings by mkdocstrings, which
reads them as Markdown: a Sphinx role (``:class:`X```) would be printed literally, so none may
appear in a docstring of a rendered module. Every public class or function the guides name must
be rendered there, or a reader following a guide finds no reference for it. Every committed
results page must be in the site's navigation, or a new one silently falls out of it.

All checks read the files statically (ast, text): nothing is imported, so this stays fast and
does not depend on torch or the data. Each check is a function of its inputs, and a self-check
runs it on fabricated ones, so a check that could never fail would fail here.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "datasets", "methods", "protocols", "reports", "benchmark")
API_PAGE = ROOT / "docs" / "reference" / "api.md"
GUIDES = sorted((ROOT / "docs").glob("extending/*.md")) + sorted((ROOT / "docs").glob("concepts/*.md"))

ROLE = re.compile(r":[a-z]+:`")
DIRECTIVE = re.compile(r"^::: *([\w.]+)[ \t]*$", re.M)
SPAN = re.compile(r"`([^`]+)`")
# a dotted name, optionally a call or a decorator: `TorchMethod`, `methods.contract.check_prediction`,
# `register_dataset(name, doc, constraints)`, `@register`
REFERENCE = re.compile(r"@?([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(\(.*)?$", re.S)
CAMEL = re.compile(r"^[A-Z][a-z0-9]+[A-Z]")  # two humps at least: FeatureSet, TorchMethod


def suite_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the suite's packages."""
    out = {}
    for pkg in PACKAGES:
        for path in (root / pkg).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def public_names(source: str) -> set[str]:
    """The classes and functions a module defines at top level without a leading underscore,
    plus what its ``__all__`` lists: what mkdocstrings renders of it (``filters: ["!^_"]``)."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            names.add(node.name)
        elif (isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets)
              and isinstance(node.value, (ast.List, ast.Tuple))):
            names |= {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    return names


def rendered_modules(api_text: str) -> list[str]:
    """The modules the API page renders (its ``::: module`` directives)."""
    return DIRECTIVE.findall(api_text)


def literal_roles(source: str) -> list[str]:
    """Sphinx roles in the docstrings of a module (module, class, function and attribute
    docstrings: every string that stands alone as a statement), as ``line: text``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            for i, line in enumerate(node.value.value.splitlines()):
                if ROLE.search(line):
                    out.append(f"{node.lineno + i}: {line.strip()}")
    return out


def rst_literal_markers(source: str) -> list[str]:
    """Lines of a module's docstrings ending in reStructuredText's ``::`` (a literal block
    follows): Markdown shows the indented block as code but prints the ``::``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            for i, line in enumerate(node.value.value.splitlines()):
                if line.rstrip().endswith("::") and not line.strip().startswith((">>>", "...")):
                    out.append(f"{node.lineno + i}: {line.strip()}")
    return out


def guide_references(text: str, modules: set[str]) -> set[str]:
    """The names a guide mentions in code spans that could be a public class or function of
    ours: module-qualified names (the attribute right after the longest module prefix), calls,
    decorators, two-hump CamelCase and snake_case with an underscore. A bare single word
    (`split`, `group`, `kfold`, `Prior`) is left out: in the guides such a word is an option, a
    protocol or a column title far more often than a function, and would make the check cry
    wolf."""
    out = set()
    for span in SPAN.findall(text):
        m = REFERENCE.match(span.strip())
        if not m:
            continue
        chain = m.group(1).split(".")
        name, qualified = chain[0], False
        for i in range(len(chain) - 1, 0, -1):
            if ".".join(chain[:i]) in modules:
                name, qualified = chain[i], True
                break
        called = bool(m.group(2)) or span.strip().startswith("@")
        if qualified or called or CAMEL.match(name) or ("_" in name.strip("_")):
            out.add(name)
    return out


def missing_from_reference(guides: dict[str, str], api_text: str, sources: dict[str, str]) -> dict[str, list[str]]:
    """Public names of the suite's modules that a guide mentions but no rendered module makes
    public: name -> the guides that mention it. ``sources``: module name -> source text."""
    defined = set().union(*(public_names(s) for s in sources.values()))
    rendered = set()
    for mod in rendered_modules(api_text):
        rendered |= public_names(sources[mod]) if mod in sources else set()
    missing: dict[str, list[str]] = {}
    for guide, text in guides.items():
        for name in sorted(guide_references(text, set(sources)) & defined - rendered):
            missing.setdefault(name, []).append(guide)
    return missing


def nav_pages(mkdocs_text: str) -> set[str]:
    """The pages (paths under docs/) in mkdocs.yml's ``nav``."""
    nav = mkdocs_text.partition("\nnav:")[2]
    return set(re.findall(r"[\s:-]([\w./-]+\.md)\s*$", nav, re.M))


def results_pages_outside_nav(pages: list[str], mkdocs_text: str) -> list[str]:
    return sorted(p for p in pages if p not in nav_pages(mkdocs_text))


# --- the checks on the repository ------------------------------------------------------------

def _sources() -> dict[str, str]:
    return {name: path.read_text() for name, path in suite_modules().items()}


def test_the_api_page_renders_modules_that_exist():
    sources = _sources()
    modules = rendered_modules(API_PAGE.read_text())
    assert modules, "no ::: directive found in docs/reference/api.md"
    assert [m for m in modules if m not in sources] == []


def test_no_literal_sphinx_role_in_a_rendered_docstring():
    sources = _sources()
    found = {m: literal_roles(sources[m]) for m in rendered_modules(API_PAGE.read_text())}
    found = {m: hits for m, hits in found.items() if hits}
    assert not found, ("mkdocstrings prints Sphinx roles literally; write `X`, not :class:`X`:\n"
                       + "\n".join(f"{m}:{h}" for m, hits in found.items() for h in hits))


def test_no_rst_literal_block_marker_in_a_rendered_docstring():
    sources = _sources()
    found = {m: hits for m in rendered_modules(API_PAGE.read_text()) if (hits := rst_literal_markers(sources[m]))}
    assert not found, f"end the line with ':' (Markdown prints '::' literally): {found}"


def test_every_public_name_the_guides_mention_is_in_the_api_reference():
    guides = {str(g.relative_to(ROOT)): g.read_text() for g in GUIDES}
    assert guides
    missing = missing_from_reference(guides, API_PAGE.read_text(), _sources())
    assert not missing, ("named in the guides but not rendered in docs/reference/api.md (add a "
                         f"`::: module` directive for the module that defines it): {missing}")


def test_every_results_page_is_in_the_nav():
    pages = [f"results/{p.name}" for p in sorted((ROOT / "docs" / "results").glob("*.md"))]
    assert pages
    assert results_pages_outside_nav(pages, (ROOT / "mkdocs.yml").read_text()) == []


REPO_PATH = re.compile(r"^(?:core|datasets|methods|protocols|reports|benchmark|examples|tests|docs|results)/[\w./-]*$")


def missing_paths(text: str, root: Path) -> list[str]:
    """Repository paths a page names in code spans (``benchmark/rundir.py``, ``examples/plugin/``)
    that do not exist; placeholders (``results/NAME/``) are not paths."""
    return sorted({span for span in SPAN.findall(text) if REPO_PATH.match(span)
                   and not re.search(r"[A-Z]{3,}", span) and not (root / span.rstrip("/")).exists()})


def test_every_file_the_manual_names_exists():
    pages = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
    missing = {str(p.relative_to(ROOT)): m for p in pages if (m := missing_paths(p.read_text(), ROOT))}
    assert not missing, f"the manual names files that do not exist (moved or renamed?): {missing}"


@pytest.mark.realdata
@pytest.mark.slow
def test_getting_started_data_commands_run(tmp_path):
    """The commands of docs/getting-started.md's "Your data", taken from the page, with
    ``MIXED_EMOTION_DATA`` set to the project's copy of the data (one folder holding
    ``dmer_sample/`` and ``ldl/``): the layout the page draws is the one the loaders read."""
    import os
    import subprocess
    import sys

    from conftest import shared_data

    data = shared_data("dmer_sample").parent
    shared_data("ldl")
    page = (ROOT / "docs" / "getting-started.md").read_text()
    block = page.partition("export MIXED_EMOTION_DATA=")[2].partition("```")[0]
    commands = [line.split() for line in block.splitlines()[1:] if line.startswith("python -m benchmark run")]
    assert len(commands) == 2, block
    env = {**os.environ, "MIXED_EMOTION_DATA": str(data), "PYTHONPATH": "", "BENCHMARK_QUIET": "1"}
    for i, cmd in enumerate(commands):
        done = subprocess.run([sys.executable, *cmd[1:], "--out", str(tmp_path / str(i))], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stderr[-3000:]}"
        assert "AA-KNN" in done.stdout and "Prior" in done.stdout


# --- the checks can fail ---------------------------------------------------------------------

FAKE_SOURCES = {
    "methods.training": 'class TorchMethod:\n    """The deep loop (see :class:`BaseMethod`)."""\n',
    "methods.base": '"""Base."""\nclass BaseMethod:\n    """Plain `fit`; a role in code is no docstring."""\n'
                    'x = ":class:`not a docstring`"\n',
    "datasets": "def register_dataset(name, doc=''):\n    pass\n\ndef _private():\n    pass\n",
}
FAKE_GUIDE = ("Subclass `TorchMethod` (or `methods.base.BaseMethod`) and register the loader "
              "with `datasets.register_dataset(name, doc)`; `split` and `_private` are words.")


def test_self_check_missing_names_are_found():
    only_base = "# API\n\n::: methods.base\n    options:\n      show_if_no_docstring: true\n"
    missing = missing_from_reference({"fake.md": FAKE_GUIDE}, only_base, FAKE_SOURCES)
    assert missing == {"TorchMethod": ["fake.md"], "register_dataset": ["fake.md"]}
    complete = only_base + "\n::: methods.training\n\n::: datasets\n"
    assert missing_from_reference({"fake.md": FAKE_GUIDE}, complete, FAKE_SOURCES) == {}


def test_self_check_literal_roles_are_found_in_docstrings_only():
    assert literal_roles(FAKE_SOURCES["methods.training"]) == ["2: The deep loop (see :class:`BaseMethod`)."]
    assert literal_roles(FAKE_SOURCES["methods.base"]) == []
    example = '"""Run it so::\n\n    python -m benchmark run\n"""\nx = "a::"\n'
    assert rst_literal_markers(example) == ["1: Run it so::"]


def test_self_check_a_missing_file_is_found():
    text = "See `benchmark/rundir.py`, `reports/metrics_old.py`, `results/NAME/` and `examples/plugin/`."
    assert missing_paths(text, ROOT) == ["reports/metrics_old.py"]


def test_self_check_a_page_outside_the_nav_is_found():
    mkdocs = "site_name: x\nnav:\n  - Home: index.md\n  - Results:\n      - results/index.md\n      - A: results/a.md\n"
    assert results_pages_outside_nav(["results/index.md", "results/a.md", "results/b.md"], mkdocs) == ["results/b.md"]

"""Imports inside ``rtmdet_plus`` point one way: down these layers, never up.

    layer       units (``rtmdet_plus.<unit>``)                  may import (rtmdet_plus)
    ----------  ----------------------------------------------  -------------------------------
    apis        apis                                            every layer below
    deploy      deploy                                          package and below
    package     the package itself (rtmdet_plus/__init__.py)    engine and below
    engine      engine                                          components and below
    components  models, datasets, evaluation, visualization     structures, base, each other
    structures  structures                                      base
    base        registry, version, utils                        base
    (above all) tools/, tests/ of the repository                nothing in rtmdet_plus imports them

A unit may import units of its own layer or of lower ones (``import rtmdet_plus`` is the
``package`` unit, which imports models, datasets, evaluation, engine and utils to register them).
On top of the layers, the units import each other without a cycle (within a layer too: models
imports evaluation, so evaluation must not import models). Every module of ``rtmdet_plus`` is
parsed with ``ast``: imports at the top and inside functions, absolute and relative.

An import inside a function must not hide a cycle: one of an ``rtmdet_plus`` module inside a
function is allowed only into a unit that needs an optional package (:data:`OPTIONAL_UNITS`:
``deploy`` needs mmdeploy), from another unit, with a comment saying so (the word "optional").
"""

import ast
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence

PACKAGE = 'rtmdet_plus'
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
PACKAGE_UNIT = '__init__'  # the unit of ``rtmdet_plus/__init__.py`` (``import rtmdet_plus``)

# (layer, units), lowest first
LAYERS = (
    ('base', ('registry', 'version', 'utils')),
    ('structures', ('structures',)),
    ('components', ('models', 'datasets', 'evaluation', 'visualization')),
    ('engine', ('engine',)),
    ('package', (PACKAGE_UNIT,)),
    ('deploy', ('deploy',)),
    ('apis', ('apis',)),
)
RANK = {unit: rank for rank, (_, units) in enumerate(LAYERS) for unit in units}
LAYER_OF = {unit: layer for layer, units in LAYERS for unit in units}
# repository packages above all layers: rtmdet_plus never imports them
ABOVE_ALL = ('tools', 'tests')
# unit -> the optional package it needs at import (why others import it inside functions)
OPTIONAL_UNITS = {'deploy': 'mmdeploy'}


class Import(NamedTuple):
    importer: str  # module, e.g. 'rtmdet_plus.deploy.apis'
    target: str  # module imported, e.g. 'rtmdet_plus.visualization'
    line: int
    in_function: bool
    # a comment says "optional": on the lines of the run of imports it is in, or the line above
    commented: bool

    def __str__(self) -> str:
        where = ' (inside a function)' if self.in_function else ''
        return f'{self.importer}:{self.line} imports {self.target}{where}'


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def package_modules(root: Path = ROOT) -> Dict[str, Path]:
    """Module name -> file, for every ``.py`` file of the package (hidden folders such as
    ``.mim``, which holds copies of the repository's tools, left out)."""
    return {
        module_name(path, root): path
        for path in sorted(root.rglob('*.py'))
        if not any(part.startswith('.') for part in path.relative_to(root).parts)
    }


def unit_of(module: str) -> Optional[str]:
    """'rtmdet_plus.deploy.apis' -> 'deploy'; 'rtmdet_plus' -> '__init__'; None outside."""
    parts = module.split('.')
    if parts[0] != PACKAGE:
        return None
    return parts[1] if len(parts) > 1 else PACKAGE_UNIT


def _function_nodes(tree: ast.AST) -> set:
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside.update(id(child) for child in ast.walk(node) if child is not node)
    return inside


def _import_spans(tree: ast.AST) -> Dict[int, tuple]:
    """id(import node) -> (first line, last line) of the run of consecutive import statements
    it is in (so that one comment above a run of imports covers them all)."""
    spans = {}
    for node in ast.walk(tree):
        for field in ('body', 'orelse', 'finalbody'):
            statements = getattr(node, field, None)
            if not isinstance(statements, list):
                continue
            run: list = []
            for statement in statements + [None]:
                if isinstance(statement, (ast.Import, ast.ImportFrom)):
                    run.append(statement)
                    continue
                for member in run:
                    spans[id(member)] = (run[0].lineno, run[-1].end_lineno)
                run = []
    return spans


def _commented(lines: Sequence[str], span: tuple) -> bool:
    """Whether a comment on the lines of ``span`` or on the line above says "optional"."""
    first, last = span
    return any(
        '#' in line and 'optional' in line.split('#', 1)[1].lower()
        for line in lines[max(first - 2, 0) : last]
    )


def imports_of(module: str, source: str, modules: Sequence[str]) -> List[Import]:
    """Every import statement of ``module`` (top level and nested), as the modules it
    imports: ``from package import name`` is ``package.name`` when that is a module."""
    tree = ast.parse(source)
    lines = source.splitlines()
    nested = _function_nodes(tree)
    spans = _import_spans(tree)
    is_package = any(other.startswith(module + '.') for other in modules) or module == PACKAGE
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split('.') if is_package else module.split('.')[:-1]
                base = base[: len(base) - (node.level - 1)]
                parent = '.'.join(base + ([node.module] if node.module else []))
            else:
                parent = node.module
            targets = [
                f'{parent}.{alias.name}' if f'{parent}.{alias.name}' in modules else parent
                for alias in node.names
            ]
        else:
            continue
        for target in dict.fromkeys(targets):
            span = spans.get(id(node), (node.lineno, node.end_lineno))
            found.append(
                Import(module, target, node.lineno, id(node) in nested, _commented(lines, span))
            )
    return found


def all_imports(root: Path = ROOT) -> List[Import]:
    modules = package_modules(root)
    return [
        found
        for module, path in modules.items()
        for found in imports_of(module, path.read_text(), list(modules))
    ]


def layer_violations(imports: Sequence[Import]) -> List[str]:
    """Imports of a higher layer, of the repository's tools/tests, or of an unknown unit."""
    problems = []
    for imp in imports:
        top = imp.target.split('.')[0]
        if top in ABOVE_ALL:
            problems.append(f'{imp}: {top}/ is above every layer of {PACKAGE}')
            continue
        source, target = unit_of(imp.importer), unit_of(imp.target)
        if target is None:
            continue
        for unit in (source, target):
            if unit not in RANK:
                problems.append(f'{imp}: unit {unit!r} is in no layer of LAYERS')
        if source in RANK and target in RANK and RANK[target] > RANK[source]:
            problems.append(
                f'{imp}: layer {LAYER_OF[source]!r} imports the higher layer {LAYER_OF[target]!r}'
            )
    return problems


def function_import_violations(imports: Sequence[Import]) -> List[str]:
    """``rtmdet_plus`` imports inside functions that are not of an optional unit from another
    unit, with a comment saying so."""
    problems = []
    for imp in imports:
        source, target = unit_of(imp.importer), unit_of(imp.target)
        if not imp.in_function or target is None:
            continue
        if target not in OPTIONAL_UNITS or target == source:
            problems.append(
                f'{imp}: import it at the top of the module (an import inside a '
                f'function may only reach a unit that needs an optional package: '
                f'{sorted(OPTIONAL_UNITS)})'
            )
        elif not imp.commented:
            problems.append(
                f'{imp}: say why it is inside the function (a comment with '
                f'"optional", e.g. "# optional: needs {OPTIONAL_UNITS[target]}")'
            )
    return problems


def unit_cycles(imports: Sequence[Import]) -> List[List[str]]:
    """The cycles of the unit graph (one per strongly connected component of several units)."""
    graph: Dict[str, set] = {}
    for imp in imports:
        source, target = unit_of(imp.importer), unit_of(imp.target)
        if target is not None and source != target:
            graph.setdefault(source, set()).add(target)
            graph.setdefault(target, set())
    return cycles(graph)


def cycles(graph: Dict[str, set]) -> List[List[str]]:
    """The strongly connected components of several nodes of ``graph`` (node -> successors)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def connect(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return components


def tools_graph(root: Path = ROOT.parent / 'tools') -> Dict[str, set]:
    """Module -> the modules of ``tools/`` it imports (top level and inside functions), for
    every script and helper of ``tools/`` (imported as ``tools.<folder>.<name>``)."""
    paths = {module_name(path, root): path for path in sorted(root.rglob('*.py'))}
    graph = {module: set() for module in paths}
    for module, path in paths.items():
        for imp in imports_of(module, path.read_text(), list(paths)):
            if imp.target in paths and imp.target != module:
                graph[module].add(imp.target)
    return graph


def _edges(imports: Sequence[Import], units: Sequence[str]) -> List[str]:
    return [
        str(imp)
        for imp in imports
        if unit_of(imp.importer) in units
        and unit_of(imp.target) in units
        and unit_of(imp.importer) != unit_of(imp.target)
    ]


# -- the checks -----------------------------------------------------------------------------
def test_every_unit_is_in_a_layer():
    units = {unit_of(module) for module in package_modules()}
    assert units - set(RANK) == set(), f'add these to LAYERS: {sorted(units - set(RANK))}'


def test_no_module_imports_a_higher_layer():
    problems = layer_violations(all_imports())
    assert not problems, '\n'.join(problems)


def test_no_import_cycle_between_units():
    imports = all_imports()
    cycles = unit_cycles(imports)
    assert not cycles, '\n'.join(
        f'cycle between {cycle}:\n  ' + '\n  '.join(_edges(imports, cycle)) for cycle in cycles
    )


def test_no_import_inside_a_function_hides_a_cycle():
    problems = function_import_violations(all_imports())
    assert not problems, '\n'.join(problems)


def test_tools_import_each_other_without_a_cycle():
    """The scripts and helpers of ``tools/`` (above every layer: they may import anything of
    ``rtmdet_plus``) import each other one way, by one name (``tools.analysis_tools.x``)."""
    graph = tools_graph()
    assert 'tools.analysis_tools.benchmarking' in graph['tools.analysis_tools.benchmark_inference']
    found = cycles(graph)
    assert not found, f'import cycles in tools/: {found}'
    for module, path in (
        (module_name(path, ROOT.parent / 'tools'), path)
        for path in (ROOT.parent / 'tools').rglob('*.py')
    ):
        for imp in imports_of(module, path.read_text(), list(graph)):
            bare = imp.target.split('.')[0]
            assert f'tools.analysis_tools.{bare}' not in graph, (
                f'{imp}: import it as tools.analysis_tools.{bare} (one name everywhere)'
            )


# -- the checker itself ---------------------------------------------------------------------
def test_parser_sees_relative_nested_and_from_imports():
    modules = [
        'rtmdet_plus',
        'rtmdet_plus.deploy',
        'rtmdet_plus.deploy.apis',
        'rtmdet_plus.deploy.sdk',
        'rtmdet_plus.registry',
        'rtmdet_plus.structures',
    ]
    source = (
        'import os\n'
        'from . import sdk\n'
        'from .. import registry, structures\n'
        'from rtmdet_plus import registry as reg\n'
        'def f():\n'
        '    # optional: needs mmdeploy\n'
        '    from ..apis import inference\n'
    )
    found = imports_of('rtmdet_plus.deploy.apis', source, modules)
    assert [(imp.target, imp.in_function, imp.commented) for imp in found] == [
        ('os', False, False),
        ('rtmdet_plus.deploy.sdk', False, False),
        ('rtmdet_plus.registry', False, False),
        ('rtmdet_plus.structures', False, False),
        ('rtmdet_plus.registry', False, False),
        ('rtmdet_plus.apis', True, True),
    ]
    package_init = imports_of('rtmdet_plus', 'from . import registry\nfrom .x import y\n', modules)
    assert [imp.target for imp in package_init] == ['rtmdet_plus.registry', 'rtmdet_plus.x']


def test_checker_reports_upward_imports_cycles_and_hidden_imports():
    imports = [
        Import('rtmdet_plus.models.head', 'rtmdet_plus.deploy.sdk', 3, False, False),
        Import('rtmdet_plus.utils.x', 'tools.deploy', 4, False, False),
        Import('rtmdet_plus.models.head', 'rtmdet_plus.evaluation.metric', 5, False, False),
        Import('rtmdet_plus.evaluation.metric', 'rtmdet_plus.models', 6, True, False),
        Import('rtmdet_plus.apis.x', 'rtmdet_plus.deploy.apis', 7, True, False),
    ]
    problems = layer_violations(imports)
    assert len(problems) == 2 and 'higher layer' in problems[0] and 'tools/' in problems[1]
    assert unit_cycles(imports) == [['evaluation', 'models']]
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]
    hidden = function_import_violations(imports)
    assert len(hidden) == 2
    assert 'top of the module' in hidden[0] and 'optional' in hidden[1]

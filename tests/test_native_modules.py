"""Native code (``@micropython.viper``/``native``/``asm_*``) lives only in its own modules,
and every import of one may fail (CPython).

A port without the native emitter refuses a whole module that holds native code when
it compiles it (SyntaxError), and an ``.mpy`` built for another architecture does not
load (ValueError). So in the meter's tree (tokens/, firmware/, boards/):

* every module with native code is named ``*_viper.py`` and holds nothing else;
* every other module compiles with mpy-cross without ``-march`` (no native code at all);
* every import of a native module sits in a ``try`` that catches ImportError,
  SyntaxError and ValueError, so the plain code beside it really is the fallback
  (tests/test_native_fallback.py runs that fallback on MicroPython).
"""
import ast
import os
import subprocess

from host.provisioning.bundle import mpy_cross_command

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TREES = ("tokens", "firmware", "boards")
NATIVE_DECORATORS = ("native", "viper", "asm_thumb", "asm_xtensa", "asm_rv32")
MUST_CATCH = {"ImportError", "SyntaxError", "ValueError"}


def modules():
    """{path relative to ROOT: parsed module} for the meter's Python files."""
    found = {}
    for top in TREES:
        for folder, dirs, files in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    with open(path) as f:
                        found[os.path.relpath(path, ROOT)] = ast.parse(f.read(), path)
    return found


def is_native(function):
    for d in function.decorator_list:
        if (isinstance(d, ast.Attribute) and isinstance(d.value, ast.Name)
                and d.value.id == "micropython" and d.attr in NATIVE_DECORATORS):
            return True
    return False


def native_module_names(tree):
    return {path[:-3].replace(os.sep, ".") for path, module in tree.items()
            if any(isinstance(n, ast.FunctionDef) and is_native(n) for n in ast.walk(module))}


def test_native_code_is_alone_in_its_own_modules():
    tree = modules()
    natives = native_module_names(tree)
    assert "tokens.sta_viper" in natives and "boards.sim.blockdev_viper" in natives
    for name in natives:
        path = name.replace(".", os.sep) + ".py"
        assert name.endswith("_viper"), "%s holds native code: move it to a *_viper module" % path
        for node in tree[path].body:
            if isinstance(node, ast.FunctionDef):
                assert is_native(node), "%s: %s is plain code in a native module" % (path, node.name)
            elif isinstance(node, ast.Import):
                assert [a.name for a in node.names] == ["micropython"], path
            else:
                assert isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant), \
                    "%s: only the docstring, 'import micropython' and native functions" % path


def test_every_other_module_compiles_without_a_native_emitter(tmp_path):
    tree = modules()
    natives = native_module_names(tree)
    for path in sorted(tree):
        if path[:-3].replace(os.sep, ".") in natives:
            continue
        proc = subprocess.run([mpy_cross_command(), "-o", str(tmp_path / "x.mpy"),
                               os.path.join(ROOT, path)], capture_output=True, text=True)
        assert proc.returncode == 0, (path, proc.stderr)


def _imported_names(node, package):
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                            + ([base] if base else []))
        return [base] + [base + "." + a.name for a in node.names]
    return []


def _caught(handler):
    if handler.type is None:
        return MUST_CATCH
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {t.id for t in types if isinstance(t, ast.Name)}


def test_every_native_import_may_fail():
    tree = modules()
    natives = native_module_names(tree)
    importers = 0
    for path, module in tree.items():
        package = os.path.dirname(path).replace(os.sep, ".")
        guarded = set()
        for node in ast.walk(module):
            if isinstance(node, ast.Try):
                caught = set()
                for handler in node.handlers:
                    caught |= _caught(handler)
                if MUST_CATCH <= caught:
                    for inner in node.body:
                        guarded.update(id(n) for n in ast.walk(inner))
        for node in ast.walk(module):
            if natives.intersection(_imported_names(node, package)):
                importers += 1
                assert id(node) in guarded, \
                    "%s:%d imports native code outside try/except (ImportError, SyntaxError, " \
                    "ValueError)" % (path, node.lineno)
    assert importers == len(natives)

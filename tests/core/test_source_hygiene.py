"""What the code and the templates never do (ASVS 4.0.3 V5.2.4, V5.2.5, V5.3.6, V5.3.8, V5.5.3, V5.5.4,
V6.3.1, V8.2.2, V10.2.1, V10.3.2, V12.3.5, V12.3.6, V14.2.3): no dynamic code, no shell, no unsafe
deserialisation, no non-cryptographic randomness for secrets, no calls home, no script or style from
another site, no secrets in browser storage. Each check reads the sources, so a new use fails here."""
from __future__ import annotations

import re
from pathlib import Path

import tracker

ROOT = Path(tracker.__file__).resolve().parent.parent
PYTHON = sorted((ROOT / "tracker").rglob("*.py"))
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
# Our own scripts (the vendored libraries under static/vendor are checked for where they come from).
SCRIPTS = sorted((ROOT / "static").glob("*.js"))


def offenders(files, pattern: str, skip=()) -> list[str]:
    """`file:line` of each line matching `pattern` in `files`, leaving out files named in `skip`."""
    found = []
    regex = re.compile(pattern)
    for path in files:
        if path.name in skip:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if regex.search(line) and not line.lstrip().startswith("#"):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_no_dynamic_code_shell_or_unsafe_deserialisation():
    # V5.2.4 eval/exec; V5.3.8, V12.3.5 no OS command at all; V5.5.3 no pickle/marshal/yaml/shelve.
    assert offenders(PYTHON, r"(?<![.\w])(eval|exec|compile)\(") == []
    assert offenders(PYTHON, r"\b(subprocess|os\.system|os\.popen|os\.exec\w*|os\.spawn\w*|pty)\b") == []
    assert offenders(PYTHON, r"\b(import|from)\s+(pickle|cPickle|marshal|shelve|yaml|dill|jsonpickle)\b") == []


def test_templates_are_files_and_user_text_is_never_marked_safe():
    # V5.2.5: no template is built from a string (user text never becomes template source); V5.3.3:
    # autoescaping is never switched off for HTML, and no value is marked safe.
    assert offenders(PYTHON, r"render_template_string|from_string\(") == []
    assert offenders(PYTHON, r"\bMarkup\(") == []
    assert offenders(TEMPLATES, r"\|\s*safe\b|autoescape\s+false") == []
    autoescape_off = offenders(PYTHON, r"autoescape=False")
    # The one environment without autoescaping renders the plain-text part of mails.
    assert [line.split(":")[0] for line in autoescape_off] == ["tracker/notify/render.py"]
    assert "_text_env" in autoescape_off[0]


def test_secrets_come_from_the_cryptographic_generator():
    # V6.3.1: tokens, keys and file names come from `secrets` (uuid4 for Message-IDs, V6.3.2); the
    # `random` module is used nowhere but in the demo data.
    assert offenders(PYTHON, r"\b(import random|from random import)", skip=("demo.py",)) == []
    assert offenders(PYTHON, r"secrets\.token_") != []


def test_the_application_calls_no_one_but_its_mail_server():
    # V10.2.1: no HTTP client library; the only outbound connections are SMTP to TRACKER_SMTP_URL and
    # the antivirus daemon at TRACKER_CLAMD_URL (tracker/core/antivirus.py, which scans uploads).
    assert offenders(PYTHON, r"\b(import|from)\s+(requests|httpx|urllib\.request|urllib3|http\.client|aiohttp)\b") == []
    # `socket` only names the host in a scheduler lease, and reaches clamd.
    assert offenders(PYTHON, r"\bsocket\.(?!gethostname\b)", skip=("antivirus.py",)) == []


def test_every_script_and_stylesheet_comes_from_this_site():
    # V10.3.2, V12.3.6, V14.2.3: no CDN and no script from elsewhere (so no SRI is needed);
    # templates load scripts only through url_for('static', ...), and never inline.
    assert offenders(TEMPLATES, r"""<(script|link|img|iframe)\b[^>]*(src|href)=["'](https?:)?//""") == []
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "url_for('static'" in tag or 'type="application/json"' in tag, (path.name, tag)


def test_our_scripts_parse_json_with_json_parse_and_keep_nothing_in_browser_storage():
    # V5.3.6, V5.5.4: no eval or Function, JSON through JSON.parse; V8.2.2: no web storage at all;
    # V2.1.11: nothing stops pasting.
    assert SCRIPTS
    assert offenders(SCRIPTS, r"\beval\(|new Function\(|setTimeout\(\s*['\"]|document\.write") == []
    assert offenders(SCRIPTS, r"localStorage|sessionStorage|indexedDB|document\.cookie") == []
    assert offenders(SCRIPTS, r"paste") == []

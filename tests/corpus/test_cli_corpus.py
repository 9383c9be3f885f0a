"""Issue 14, item 3: every file of the corpus to every ``provenance`` command that reads image files offline:
``fingerprint`` and ``compare --pairs`` (the whole corpus in one run each, one line per file), ``sign`` and
``audit file`` (once per file). A valid image succeeds; anything else exits non-zero with one line naming the
problem and no traceback, and every command reads the same files. The commands run in process (typer's runner);
``test_real_server_corpus.py`` runs the real ``provenance`` process over the corpus (``register``).

``audit file`` is given a chain that does not answer: a file it cannot read must be refused before the chain is
asked, and a readable one must then fail on the chain in one line, not in a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from typer.testing import CliRunner

from ledger.cli.main import app
from tests.corpus.generate import FileCase, file_cases, picture, save

FILES = file_cases()
TEST_KEY = "0x" + "6b" * 32  # a test key, named as such
PASSWORD = "corpus-test-password-not-secret"
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DEAD_RPC = "http://127.0.0.1:9"  # discard port: nothing answers


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-corpus")
    (root / "files").mkdir()
    for case in FILES:
        (root / "files" / case.filename).write_bytes(case.data)
    (root / "reference.jpg").write_bytes(save(picture(424_242), "JPEG"))
    # pbkdf2 with one iteration: this test key's keystore decrypts at once (the service's own keys use scrypt)
    (root / "key.json").write_text(json.dumps(Account.encrypt(TEST_KEY, PASSWORD, kdf="pbkdf2", iterations=1)))
    (root / "password").write_text(PASSWORD)
    return root


def per_file_commands(root: Path, path: Path) -> dict[str, list[str]]:
    return {
        "sign": ["sign", str(path), "--key", str(root / "key.json"), "--password-file", str(root / "password"),
                 "--chain-id", "31337", "--contract", CONTRACT, "--nonce", "0", "--caption", "c", "--credit", "d",
                 "--out", str(root / "signed")],  # fmt: skip
        "audit-file": ["audit", "file", str(path), "--rpc-url", DEAD_RPC, "--contract", CONTRACT, "--from-block", "0"],
    }


def one_line_failure(result, what: str) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code not in (0, None), f"{what}: exit 0 for a file it cannot read: {result.output[:300]}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{what}: {type(result.exception).__name__}: {result.exception}")  # fmt: skip
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"{what}: expected one line on stderr, got {lines!r}"
    assert "Traceback" not in result.output and "Traceback" not in result.stderr, what
    return lines[0]


def check_outcome(case: FileCase, readable: bool, what: str) -> None:
    if case.expect == "image":
        assert readable, f"{what}: a valid image was refused"
    elif case.expect == "reject":
        assert not readable, f"{what}: accepted a file that must be refused"


@pytest.fixture(scope="module")
def readable(workspace: Path) -> dict[str, bool]:
    """``provenance fingerprint`` over the whole corpus in one run: per file, one JSON line on stdout or one error
    line on stderr naming it; exit 1 because some files are not images."""
    paths = {case.name: workspace / "files" / case.filename for case in FILES}
    result = CliRunner().invoke(app, ["fingerprint", *map(str, paths.values())])
    assert result.exit_code == 1 and (result.exception is None or isinstance(result.exception, SystemExit)), result.output[-500:]
    assert "Traceback" not in result.output
    printed = {json.loads(line)["file"] for line in result.stdout.splitlines()}
    errors = result.stderr.splitlines()
    assert len(printed) + len(errors) == len(FILES), "one line per file"
    answers = {}
    for case in FILES:
        path = str(paths[case.name])
        refused = [line for line in errors if line.startswith(path + ": ")]
        assert (path in printed) != bool(refused) and len(refused) <= 1, case.name
        answers[case.name] = path in printed
        check_outcome(case, answers[case.name], f"provenance fingerprint {case.name}")
    return answers


def test_compare_reads_what_fingerprint_reads(workspace: Path, readable: dict[str, bool]) -> None:
    """``provenance compare --pairs``: the corpus file as the circulating copy of a valid original, one line each."""
    pairs = workspace / "pairs.tsv"
    paths = {case.name: workspace / "files" / case.filename for case in FILES}
    pairs.write_text("".join(f"{workspace / 'reference.jpg'}\t{path}\n" for path in paths.values()))
    result = CliRunner().invoke(app, ["compare", "--pairs", str(pairs)])
    assert result.exit_code == 1 and (result.exception is None or isinstance(result.exception, SystemExit)), result.output[-500:]
    compared = {json.loads(line)["copy"] for line in result.stdout.splitlines()}
    errors = result.stderr.splitlines()
    assert len(compared) + len(errors) == len(FILES), "one line per pair"
    for case in FILES:
        assert (str(paths[case.name]) in compared) == readable[case.name], case.name


@pytest.mark.parametrize("case", FILES, ids=[c.name for c in FILES])
def test_sign_and_audit_each_file(workspace: Path, readable: dict[str, bool], case: FileCase) -> None:
    runner = CliRunner()
    path = workspace / "files" / case.filename
    for name, argv in per_file_commands(workspace, path).items():
        result = runner.invoke(app, argv)
        what = f"provenance {name} {case.name}"
        if name == "audit-file":  # never 0: either the file or the dead chain stops it, in one line
            line = one_line_failure(result, what)
            assert ("chain" in line) == readable[case.name], f"{what}: {line}"
        elif readable[case.name]:
            assert result.exit_code == 0 and result.exception is None, f"{what}: {result.output[:400]}"
        else:
            one_line_failure(result, what)


def test_odd_file_names_are_printed_not_interpreted(workspace: Path) -> None:
    """Rich markup in a file name (or in a decoder's message) must be printed as text, not parsed."""
    bad = workspace / "odd[red]name[bold].jpg"
    bad.write_bytes(b"not an image")
    for argv in (["fingerprint", str(bad)], ["compare", str(bad), str(workspace / "reference.jpg")]):
        result = CliRunner().invoke(app, argv)
        line = one_line_failure(result, " ".join(argv[:1]))
        assert "odd[red]name[bold].jpg" in line, line

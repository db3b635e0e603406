"""`python -m dashapp.accounts` as an administrator's script runs it: passwords on stdin, a
token alone on stdout, tab-separated lists, exit 2 and one line for a mistake, exit 1 and one
line when the database is not ready, and never a migration."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from dashapp.accounts import __main__ as cli
from dashapp.accounts.tokens import create_token, holder_of, list_tokens, revoke_token
from dashapp.accounts.users import create_user, list_users, sign_in
from dashapp.services.portfolios import create_portfolio
from tests.servers import ROOT

PASSWORD = "correct horse battery"


def environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    """What a deployment's shell would have: the same database as the test's app_context."""
    return {
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "MARKET_DATA": "demo",
        "LOG_LEVEL": "WARNING",
    }


def run(
    tmp_path: Path, database_url: str, *arguments: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashapp.accounts", *arguments],
        cwd=ROOT,
        env={**os.environ, **environment(tmp_path, database_url)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def in_process(monkeypatch, tmp_path, database_url, capsys):
    """Run the command in this process against the test's database; returns (status, out, err)."""
    for name, value in environment(tmp_path, database_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AUTH", raising=False)

    def call(*arguments: str, stdin: io.StringIO | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            status = cli.main(list(arguments), stdin or io.StringIO(""))
        except SystemExit as usage:  # argparse's own exit, as a process would see it
            status = usage.code
        out, err = capsys.readouterr()
        return status, out, err

    return call


class Terminal(io.StringIO):
    """A stdin that says it is a terminal: the command asks with getpass instead of reading."""

    def isatty(self) -> bool:
        return True


def one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_create_user_reads_the_password_from_stdin_and_takes_over_local(
    app_context, tmp_path, database_url, clock
):
    create_portfolio(app_context, "Savings")
    create_portfolio(app_context, "Pension")

    created = run(tmp_path, database_url, "create-user", "alice", stdin=f"{PASSWORD}\n")

    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines() == [
        "created user alice (id 1, admin)",
        "alice took over local, the one user of AUTH=local, with its 2 portfolio(s)",
    ]
    # The line end is not part of the password.
    assert sign_in(app_context.db, "alice", PASSWORD, clock.now()).account.id == 1
    second = run(tmp_path, database_url, "create-user", "bob", stdin=PASSWORD)
    assert (second.returncode, second.stdout) == (0, "created user bob (id 2, user)\n")


def test_create_token_prints_only_the_token_and_revoke_token_ends_it(
    app_context, tmp_path, database_url, clock
):
    alice = create_user(app_context.db, "alice", PASSWORD)

    created = run(tmp_path, database_url, "create-token", "alice", "--scope", "read")

    assert created.returncode == 0, created.stderr
    token = created.stdout.removesuffix("\n")
    assert "\n" not in token and token.startswith("st_")
    holder = holder_of(app_context.db, token, clock.now())
    assert (holder.account.id, holder.scope) == (alice.id, "read")
    [listed] = list_tokens(app_context.db)
    assert "not shown again" in one_line(created.stderr)
    assert f"revoke-token {listed.id}" in created.stderr
    assert token not in created.stderr

    revoked = run(tmp_path, database_url, "revoke-token", str(listed.id))

    assert (revoked.returncode, revoked.stdout) == (0, f"revoked token {listed.id}\n")
    assert holder_of(app_context.db, token, clock.now()) is None
    again = run(tmp_path, database_url, "revoke-token", str(listed.id))
    assert again.returncode == 2
    assert one_line(again.stderr).endswith(f"no live token with id {listed.id}")


@pytest.mark.parametrize(
    ("arguments", "stdin", "message"),
    [
        (("create-user", "alice"), "short\n", "a password needs at least 10 characters"),
        (("create-user", "alice"), "", "no password on stdin: give it as one line"),
        (("create-user", "al ice"), f"{PASSWORD}\n", "a username is 1 to 64"),
        (("create-user", "LOCAL"), f"{PASSWORD}\n", 'a user named "LOCAL" exists already'),
        (("create-token", "carol", "--scope", "read"), "", 'no user named "carol"'),
        (("create-token", "alice", "--scope", "admin"), "", "invalid choice: 'admin'"),
        (("revoke-token", "seven"), "", "a token id is a number"),
        (("revoke-token", "99"), "", "no live token with id 99"),
        ((), "", "the following arguments are required: COMMAND"),
    ],
)
def test_a_mistake_exits_2_with_one_line_on_stderr(
    app_context, in_process, arguments, stdin, message
):
    status, out, err = in_process(*arguments, stdin=io.StringIO(stdin))
    assert (status, out) == (2, "")
    assert message in one_line(err)
    assert [user.username for user in list_users(app_context.db)] == ["local"]


def test_a_mistake_in_a_real_process_is_one_line_too(app_context, tmp_path, database_url):
    answer = run(tmp_path, database_url, "create-user", "alice", stdin="short\n")
    assert (answer.returncode, answer.stdout) == (2, "")
    assert one_line(answer.stderr) == (
        "python -m dashapp.accounts: a password needs at least 10 characters"
    )


def test_a_database_not_at_head_is_named_and_left_alone(in_process, database_url, tmp_path):
    # No app_context here: nothing has migrated this database.
    status, out, err = in_process("list-users")
    assert (status, out) == (1, "")
    assert "`python -m dashapp.db upgrade`" in one_line(err)
    engine = create_engine(database_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_an_empty_sqlite_file_is_reported_as_not_migrated(in_process, monkeypatch, tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{empty}")
    status, _, err = in_process("list-users")
    assert status == 1
    assert one_line(err).endswith(
        "the database schema is at no revision (an empty database), this code needs"
        " 0004_accounts: run `python -m dashapp.db upgrade` first"
    )


def test_a_malformed_setting_exits_1_with_one_line(in_process, monkeypatch):
    monkeypatch.setenv("AUTH", "everyone")
    status, _, err = in_process("list-users")
    assert status == 1
    assert one_line(err) == "python -m dashapp.accounts: AUTH: must be one of local, accounts"


def test_list_users_is_one_tab_separated_line_per_user(app_context, in_process):
    create_user(app_context.db, "alice", PASSWORD)
    create_user(app_context.db, "bob", PASSWORD)
    assert in_process("list-users") == (
        0,
        "id\tusername\tadmin\tcan_sign_in\n1\talice\tyes\tyes\n2\tbob\tno\tyes\n",
        "",
    )


def test_list_tokens_shows_prefix_scope_and_times_of_all_or_one_user(
    app_context, in_process, clock
):
    db = app_context.db
    create_user(db, "alice", PASSWORD)
    create_user(db, "bob", PASSWORD, admin=True)
    alice_token = create_token(db, "alice", "read", clock.now())
    clock.advance(timedelta(hours=1))
    bob_token = create_token(db, "bob", "write", clock.now())
    holder_of(db, bob_token, clock.now() + timedelta(minutes=5))
    revoke_token(db, 1, clock.now() + timedelta(minutes=10))

    status, out, _ = in_process("list-tokens")

    assert status == 0
    assert out.splitlines() == [
        "id\tuser\tprefix\tscope\tcreated\tlast_used\trevoked",
        f"1\talice\t{alice_token[:10]}\tread\t2024-12-04T22:00:00Z\t-\t2024-12-04T23:10:00Z",
        f"2\tbob\t{bob_token[:10]}\twrite\t2024-12-04T23:00:00Z\t2024-12-04T23:05:00Z\t-",
    ]
    assert in_process("list-tokens", "BOB")[1].splitlines()[1:] == out.splitlines()[2:]
    status, out, err = in_process("list-tokens", "carol")
    assert (status, out) == (2, "")
    assert one_line(err).endswith('no user named "carol"')


def test_set_password_replaces_the_password(app_context, in_process, clock):
    create_user(app_context.db, "alice", PASSWORD)
    assert in_process("set-password", "ALICE", stdin=io.StringIO("a brand new password\n")) == (
        0,
        "password set for alice\n",
        "",
    )
    assert sign_in(app_context.db, "alice", PASSWORD, clock.now()).account is None
    assert sign_in(app_context.db, "alice", "a brand new password", clock.now()).account
    status, _, err = in_process("set-password", "carol", stdin=io.StringIO(f"{PASSWORD}\n"))
    assert status == 2
    assert one_line(err).endswith('no user named "carol"')


def test_at_a_terminal_the_password_is_asked_twice_and_must_match(
    app_context, in_process, monkeypatch
):
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: next(answers))
    status, _, err = in_process("create-user", "alice", stdin=Terminal())
    assert status == 2
    assert one_line(err).endswith("the two passwords differ")
    assert [user.username for user in list_users(app_context.db)] == ["local"]

    answers = iter([PASSWORD, PASSWORD])
    status, out, _ = in_process("create-user", "alice", "--admin", stdin=Terminal())
    assert status == 0
    assert out.startswith("created user alice (id 1, admin)\n")

"""`python -m dashapp.accounts`: the users and API tokens of AUTH=accounts, for an administrator
or a script.

    python -m dashapp.accounts create-user USERNAME [--admin]    # the password on stdin
    python -m dashapp.accounts set-password USERNAME             # the password on stdin
    python -m dashapp.accounts list-users
    python -m dashapp.accounts create-token USERNAME --scope read|write
    python -m dashapp.accounts list-tokens [USERNAME]
    python -m dashapp.accounts revoke-token TOKEN_ID

A password is one line on stdin (`printf '%s\\n' "$PASSWORD" | python -m dashapp.accounts
create-user alice`); at a terminal it is asked for twice, unechoed. The first account created
takes over `local`, the one user of AUTH=local, with its portfolios, and administers.
create-token prints the token alone on stdout, so `TOKEN=$(python -m dashapp.accounts
create-token alice --scope read)` keeps it; the note that it is never shown again goes to
stderr. The lists are tab-separated under a header line; times are UTC, `-` for never.

Exit status: 0 done; 1 the deployment cannot do it (a setting, a database that does not answer
or is not migrated); 2 the command was wrong (usage, an unknown user or token, a refused name or
password). Either failure is one line on stderr. Settings come from the environment as for every
process. This command never migrates: `python -m dashapp.db upgrade` does.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import NoReturn, TextIO

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from dashapp.accounts.tokens import (
    SCOPES,
    SHOWN_PREFIX_LENGTH,
    TokenInfo,
    create_token,
    list_tokens,
    revoke_token,
)
from dashapp.accounts.users import (
    Account,
    AccountError,
    check_password,
    check_username,
    create_user,
    find_user_named,
    list_users,
    set_password,
)
from dashapp.clock import SystemClock
from dashapp.db.engine import Database
from dashapp.db.migrate import schema_state
from dashapp.db.models import Portfolio
from dashapp.settings import Settings, SettingsError

PROG = "python -m dashapp.accounts"
# Ids are PostgreSQL `integer`s: a larger number is a typing mistake, not a database error.
MAX_TOKEN_ID = 2**31 - 1
NEVER = "-"


class CannotRun(RuntimeError):
    """The deployment cannot do what was asked (exit 1); the message says what to fix."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (exit 2), as every other mistake."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def main(argv: list[str] | None = None, stdin: TextIO | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        return _fail(str(error), 1)
    try:
        db = _open(settings)
    except CannotRun as reason:
        return _fail(str(reason), 1)
    try:
        _check_schema(db)
        return arguments.command(db, arguments, stdin or sys.stdin)
    except AccountError as mistake:
        return _fail(str(mistake), 2)
    except CannotRun as reason:
        return _fail(str(reason), 1)
    except OperationalError as error:
        return _fail(f"DATABASE_URL: the database did not answer ({_first_line(error)})", 1)
    except SQLAlchemyError as error:
        return _fail(f"the database refused: {_first_line(error)}", 1)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    finally:
        db.dispose()


def _parser() -> OneLineParser:
    parser = OneLineParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run: Callable[..., int], summary: str) -> OneLineParser:
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.set_defaults(command=run)
        return sub

    create = command("create-user", _create_user, "Create a user; the password is read from stdin.")
    create.add_argument("username", metavar="USERNAME")
    create.add_argument("--admin", action="store_true", help="may administer the cache")
    password = command(
        "set-password", _set_password, "Give a user a new password, read from stdin."
    )
    password.add_argument("username", metavar="USERNAME")
    command("list-users", _list_users, "List the users.")
    token = command(
        "create-token",
        _create_token,
        "Create a personal API token and print it, once, on stdout.",
    )
    token.add_argument("username", metavar="USERNAME")
    token.add_argument(
        "--scope",
        choices=SCOPES,
        required=True,
        help="read: GET requests only; write: changes too",
    )
    tokens = command("list-tokens", _list_tokens, "List API tokens, of one user or of all.")
    tokens.add_argument("username", nargs="?", metavar="USERNAME")
    revoke = command("revoke-token", _revoke_token, "Revoke an API token by its id.")
    revoke.add_argument("token_id", type=_token_id, metavar="TOKEN_ID")
    return parser


def _create_user(db: Database, arguments: argparse.Namespace, stdin: TextIO) -> int:
    username = check_username(arguments.username)
    if find_user_named(db, username) is not None:
        raise AccountError(f'a user named "{username}" exists already')
    users = list_users(db)
    # create_user gives the first account `local`'s row; its id says whether it did.
    unclaimed = users[0] if len(users) == 1 and not users[0].can_sign_in else None
    account = create_user(db, username, _read_password(stdin), admin=arguments.admin)
    print(f"created user {account.username} (id {account.id}, {_role(account)})")
    if unclaimed is not None and account.id == unclaimed.id:
        print(
            f"{account.username} took over {unclaimed.username}, the one user of AUTH=local,"
            f" with its {_portfolio_count(db, account.id)} portfolio(s)"
        )
    return 0


def _set_password(db: Database, arguments: argparse.Namespace, stdin: TextIO) -> int:
    account = _user_named(db, arguments.username)
    set_password(db, account.username, _read_password(stdin))
    print(f"password set for {account.username}")
    return 0


def _list_users(db: Database, arguments: argparse.Namespace, stdin: TextIO) -> int:
    _table(
        ("id", "username", "admin", "can_sign_in"),
        [
            (str(user.id), user.username, _yes(user.is_admin), _yes(user.can_sign_in))
            for user in list_users(db)
        ],
    )
    return 0


def _create_token(db: Database, arguments: argparse.Namespace, stdin: TextIO) -> int:
    account = _user_named(db, arguments.username)
    token = create_token(db, account.username, arguments.scope, SystemClock().now())
    created = _token_listed_as(db, account.username, token)
    print(token, flush=True)
    print(
        f"API token {created.id} for {created.username} (scope {created.scope}, listed as"
        f" {created.prefix}): it is not shown again; `{PROG} revoke-token {created.id}` ends it",
        file=sys.stderr,
    )
    return 0


def _list_tokens(db: Database, arguments: argparse.Namespace, stdin: TextIO) -> int:
    username = None
    if arguments.username is not None:
        username = _user_named(db, arguments.username).username
    _table(
        ("id", "user", "prefix", "scope", "created", "last_used", "revoked"),
        [
            (
                str(token.id),
                token.username,
                token.prefix,
                token.scope,
                _when(token.created_at),
                _when(token.last_used_at),
                _when(token.revoked_at),
            )
            for token in list_tokens(db, username)
        ],
    )
    return 0


def _revoke_token(db: Database, arguments: argparse.Namespace, stdin: TextIO) -> int:
    revoke_token(db, arguments.token_id, SystemClock().now())
    print(f"revoked token {arguments.token_id}")
    return 0


def _open(settings: Settings) -> Database:
    """The database of `settings`, without creating one: a SQLite file that is not there yet
    would otherwise be made, empty, by the first look."""
    url = make_url(settings.database_url)
    path = url.database if url.get_backend_name() == "sqlite" else None
    if path and path != ":memory:" and not Path(path).exists():
        raise CannotRun(
            f"there is no database at {path}: create it with"
            " `python -m dashapp.db upgrade` (or start the app once)"
        )
    return Database.from_url(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )


def _check_schema(db: Database) -> None:
    state = schema_state(db.engine)
    if not state.at_head:
        raise CannotRun(f"{state.describe()}: run `python -m dashapp.db upgrade` first")


def _read_password(stdin: TextIO) -> str:
    """One line of stdin without its line end; at a terminal, asked twice and compared."""
    if stdin.isatty():
        try:
            password = getpass.getpass("Password: ")
            check_password(password)
            if getpass.getpass("Password again: ") != password:
                raise AccountError("the two passwords differ")
        except EOFError:
            raise AccountError("no password given") from None
        return password
    line = stdin.readline()
    if not line:
        raise AccountError("no password on stdin: give it as one line")
    return line.removesuffix("\n").removesuffix("\r")


def _user_named(db: Database, username: str) -> Account:
    account = find_user_named(db, username)
    if account is None:
        raise AccountError(f'no user named "{username}"')
    return account


def _token_listed_as(db: Database, username: str, token: str) -> TokenInfo:
    """The list entry of the token just made: the newest of the user's with its prefix."""
    prefix = token[:SHOWN_PREFIX_LENGTH]
    return [info for info in list_tokens(db, username) if info.prefix == prefix][-1]


def _portfolio_count(db: Database, user_id: int) -> int:
    with db.engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(Portfolio).where(Portfolio.user_id == user_id)
        ).scalar_one()


def _token_id(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_TOKEN_ID:
        raise argparse.ArgumentTypeError(f"a token id is a number from `list-tokens`, not {text!r}")
    return int(text)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    for row in (header, *rows):
        print("\t".join(row))


def _role(account: Account) -> str:
    return "admin" if account.is_admin else "user"


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _when(instant: datetime | None) -> str:
    return NEVER if instant is None else f"{instant:%Y-%m-%dT%H:%M:%SZ}"


def _fail(reason: str, status: int) -> int:
    print(f"{PROG}: {reason}", file=sys.stderr)
    return status


def _first_line(error: SQLAlchemyError) -> str:
    origin = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(origin).splitlines() if line.strip()]
    return (lines[0] if lines else type(error).__name__)[:200]


if __name__ == "__main__":
    sys.exit(main())

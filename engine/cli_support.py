"""What every ``masterclass`` command shares: its database opened with a one-line error, and errors of the
file system and the database said in one line rather than a traceback."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .storage.db import Store


CONFIG_FILE = click.Path(exists=True, dir_okay=False)
"""A ``--config`` option's type: a settings file named that is not there is a mistake, not the defaults."""


def open_store(db_path: str, *, existing: bool = False, erase: bool = True) -> Store:
    """The command's database. ``existing``: a command that only reads or changes what is there refuses a file
    that is not, rather than making an empty database under a mistyped name. ``erase``: carry out the recorded
    erasures first (``erasures.erase_again``); `serve` leaves them to ``create_app``, which does it for every app."""
    from .erasures import erase_again
    from .storage.db import SchemaTooNew, Store  # here: ``masterclass check`` needs no database code

    if existing and not Path(db_path).is_file():
        raise click.ClickException(f"there is no database at {db_path}")
    try:
        store = Store(db_path)
    except SchemaTooNew as exc:
        raise click.ClickException(str(exc)) from None
    except sqlite3.Error as exc:  # a folder, a file that is not SQLite, a folder that cannot be written
        raise click.ClickException(f"cannot use {db_path} as the database: {exc}") from None
    try:
        # A database restored from a backup may hold accounts erased since: no command shows them, or acts on them.
        again = erase_again(store) if erase else 0
    except BaseException:
        store.close()
        raise
    if again:
        click.echo(f"Deleted again {again} account(s) erased after the backup this database was restored from",
                   err=True)
    return store


class Commands(click.Group):
    """The one group: a command's failure for a reason outside it is one line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        from .settings import SettingsError

        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
        except sqlite3.OperationalError as exc:  # another process holds the database ("database is locked")
            raise click.ClickException(f"the database could not be used: {exc}") from None
        except BrokenPipeError:
            raise  # the reader went away (``| head``): click ends quietly
        except OSError as exc:  # a folder that cannot be written, a name too long
            where = f": {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}{where}") from None


class Stopped(BaseException):
    """A signal (SIGTERM, SIGHUP) raised as an exception where the command is (``stopped_by``), so that it cleans
    up as for Ctrl+C's KeyboardInterrupt: their default action ends the process at once, past any ``finally``. A
    BaseException, so that no ``except Exception`` on the way out takes it for an error."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def stopped_by(*signums: signal.Signals) -> Iterator[None]:
    """Within the block, these signals raise :class:`Stopped`; their handlers are put back after it."""
    def stop(signum: int, frame: FrameType | None) -> None:
        raise Stopped(signum)

    previous = {signum: signal.signal(signum, stop) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)  # None: set outside Python

"""Studies kept in Optuna's RDB storage: resume after a crash, many workers on one study.

A study records what it was started on (data hash, folds, config); a worker or a resumed run
given other data or folds is refused. Trials left RUNNING by a dead process are marked FAIL:
at once when the process ran on this machine, else by Optuna's heartbeat after its grace period.
"""

from __future__ import annotations

import json
import os
import socket
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState
from sqlalchemy.exc import IntegrityError, OperationalError

from boosttune.core.errors import BoostTuneError, first_line

HEARTBEAT_SECONDS = 10  # a live worker stamps its running trial this often
GRACE_SECONDS = 60  # a trial unstamped this long belongs to a dead worker: FAIL
MARK_SECONDS = 2.0  # a live worker marks a trial it created well within this
PROCESS_STARTED = datetime.now()  # an unmarked trial created before it is an orphan
IDENTITY_KEY = "boosttune_identity"
WORKER_KEY = "boosttune_worker"
PARAMS_KEY = "boosttune_params"  # a trial's full params, fixed ones included
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)
SURPLUS_KEY = "surplus"  # a trial begun past n_trials (workers asking at once): ran nothing
SCHEMA_RACE_TRIES = 5  # opening a fresh storage while another process creates its schema


def storage_url(storage: str | os.PathLike[str]) -> str:
    """An Optuna RDB URL; a plain path means a SQLite file there."""
    text = os.fspath(storage)
    if "://" in text:
        return text
    path = Path(text).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def open_storage(storage: str | os.PathLike[str]) -> optuna.storages.RDBStorage:
    url = storage_url(storage)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):  # several local processes write one file: wait for its lock
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    try:
        return _rdb_storage(url, kwargs)
    except Exception as exc:  # SQLAlchemy's errors name the driver or server problem
        reason = first_line(exc, type(exc).__name__)
        raise BoostTuneError(
            f"Cannot open the study storage {redacted(url)}: {reason}. Check the "
            "URL (e.g. postgresql+psycopg2://user:pass@host/db), that the server runs, and that "
            "its driver is installed (pip install 'boosttune[postgres]')."
        ) from None


def _rdb_storage(url: str, kwargs: dict[str, Any]) -> optuna.storages.RDBStorage:
    """Opens the storage; retried while another process is creating the same fresh schema.

    Two processes opening a new file or database at once both create Optuna's tables, and the
    slower one fails on the schema version row (IntegrityError) or an existing table
    (OperationalError); once the other has finished, opening again finds the schema made.
    """
    def attempt() -> optuna.storages.RDBStorage:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_SECONDS,
                                              grace_period=GRACE_SECONDS, **kwargs)

    for tried in range(1, SCHEMA_RACE_TRIES):
        try:
            return attempt()
        except (IntegrityError, OperationalError) as exc:
            if not (isinstance(exc, IntegrityError) or "already exists" in str(exc)):
                raise
            time.sleep(0.5 * tried)
    return attempt()  # the last try: its error, whatever it is, is the caller's


def check_identity(study: optuna.Study, identity: dict[str, Any]) -> None:
    """Record what the study runs on, or refuse a worker whose data, folds or config differ."""
    recorded = study.user_attrs.get(IDENTITY_KEY)
    if recorded is None:
        study.set_user_attr(IDENTITY_KEY, identity)
        return
    differs = [key for key in identity if json.dumps(recorded.get(key), sort_keys=True)
               != json.dumps(identity[key], sort_keys=True)]
    if differs:
        details = "; ".join(f"{key}: study has {_short(recorded.get(key))}, this run has "
                            f"{_short(identity[key])}" for key in differs)
        raise BoostTuneError(
            f"Study {study.study_name!r} was started on other {', '.join(differs)} ({details}). "
            "Use the same data, folds and settings to join it, or a new study name (or run "
            "directory) to start afresh."
        )


def fail_dead_local_trials(study: optuna.Study) -> int:
    """Mark FAIL the RUNNING trials whose worker process on this machine no longer exists,
    and those no worker marked (killed between creating a trial and marking it) once they
    are older than a heartbeat, or created before this process started (a run resumed at
    once after a kill): a live worker marks its trial at once."""
    host = socket.gethostname()
    now = datetime.now()
    failed = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get(WORKER_KEY)
        unmarked = worker is None and trial.datetime_start is not None and (
            (now - trial.datetime_start).total_seconds() > HEARTBEAT_SECONDS
            or (PROCESS_STARTED - trial.datetime_start).total_seconds() > MARK_SECONDS)
        dead = worker is not None and worker.get("host") == host and \
            not _alive(int(worker.get("pid", -1)))
        if unmarked or dead:
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            failed += 1
    with warnings.catch_warnings():  # experimental in name only since Optuna 2.9
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # other machines: by heartbeat
    return failed


def mark_worker(trial: optuna.Trial) -> None:
    trial.set_user_attr(WORKER_KEY, {"host": socket.gethostname(), "pid": os.getpid()})


def n_counted(study: optuna.Study, running: bool = True) -> int:
    """Trials that count toward n_trials: finished ones, and those running now."""
    states = (*COUNTED, TrialState.RUNNING) if running else COUNTED
    return len(study.get_trials(deepcopy=False, states=states))


def is_surplus(trial: optuna.Trial, n_trials: int) -> bool:
    """Whether the trials numbered before this one already make ``n_trials``. Two workers that
    each see one trial left can both begin one; the storage numbers trials in order, so the
    later of them finds it is past the count and ends without training."""
    before = trial.study.get_trials(deepcopy=False, states=(*COUNTED, TrialState.RUNNING))
    return sum(t.number < trial.number for t in before) >= n_trials


def wait_for_running(study: optuna.Study, poll: float = 1.0) -> None:
    """Wait until no trial runs: other workers' trials finish, dead ones are failed."""
    while study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        fail_dead_local_trials(study)
        time.sleep(poll)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def redacted(url: str) -> str:
    """The URL without its password."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


"""Optuna's private names that kerascraft uses (Optuna 4 and 5 are what it is tested on)."""

from __future__ import annotations

from kerascraft.compat import missing

#: functions of ``optuna.pruners._successive_halving``: name -> why
SUCCESSIVE_HALVING = {
    "_completed_rung_key": "to give the trials of an earlier process, when a resumed search "
                           "rebuilds its study, the rungs they passed (the successive-halving "
                           "pruner compares a trial with the values kept under these keys)",
}


def rung_attributes(values) -> dict:
    """The system attributes with which Optuna's ``SuccessiveHalvingPruner`` marks a trial
    that reached rungs 0, 1, ... with ``values`` (its reported value at each)."""
    from optuna.pruners import _successive_halving

    return {_successive_halving._completed_rung_key(rung): float(v)
            for rung, v in enumerate(values)}


def check() -> list:
    """One line for each private name the installed Optuna lacks."""
    try:
        from optuna.pruners import _successive_halving
    except ImportError as err:
        return [f"optuna.pruners._successive_halving cannot be imported ({err}): kerascraft "
                f"uses {', '.join(SUCCESSIVE_HALVING)} from it."]
    return missing(_successive_halving, SUCCESSIVE_HALVING,
                   "optuna.pruners._successive_halving", "optuna")


def stale_trial_callback(max_retries: int) -> dict:
    """``RDBStorage``'s keyword for the callback that queues a trial again when its
    heartbeat stopped: ``heartbeat_stale_trial_callback`` since Optuna 4.9 (where
    ``failed_trial_callback`` became deprecated), ``failed_trial_callback`` before."""
    import inspect

    import optuna

    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback",
                    optuna.storages.RetryFailedTrialCallback)(max_retry=max_retries)
    params = inspect.signature(optuna.storages.RDBStorage.__init__).parameters
    key = "heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in params \
        else "failed_trial_callback"
    return {key: retry}

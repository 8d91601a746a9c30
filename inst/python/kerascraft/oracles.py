"""Optuna's samplers (TPE, Gaussian process) as KerasTuner oracles, and the ``"auto"`` choice.

An :class:`OptunaOracle` is a KerasTuner ``Oracle``: trials, their files, resuming with
``overwrite=False``, retries and the chief/worker mode are KerasTuner's, unchanged. Only the
choice of the next configuration is Optuna's. The oracle keeps an in-memory Optuna study
that mirrors its trials: a finished trial is told to the study, and trials the study has
not seen (those of an earlier process, after a resume) are added to it from their files, so
the study is rebuilt from the trials alone and nothing else needs saving.

With ``pruning``, each trial reports its objective so far to its Optuna trial at every
epoch, and Optuna's successive-halving pruner decides whether it goes on; a trial it stops
is told to the study as ``PRUNED`` (its last reported value is not a finished trial's score,
and the samplers treat it so).

With ``storage`` (a database or a journal file, :mod:`kerascraft.storages`), the study lives
in the storage instead, and any number of processes share it: each asks the storage for its
next trial (trial ids are the study's trial numbers), records a heartbeat while it trains,
and tells the storage the result; the other workers' trials are the study's, so the
sampler learns from all of them. KerasTuner's chief and retry queue are not used: a trial
whose worker died is queued again by the storage.

How hyperparameters become Optuna's distributions: :mod:`kerascraft.samplers`.
Conditional hyperparameters (``conditional_scope``) are suggested only when active, as
KerasTuner's own oracles do.
"""

from __future__ import annotations

import math
import os
import socket
import time
import zlib

import keras_tuner as kt
import numpy as np
import optuna

from kerascraft import storages as kc_storage
from kerascraft.compat import keras_tuner as compat_kt
from kerascraft.compat import optuna as compat_optuna
from kerascraft.direction import Direction
from kerascraft.errors import InputError
from kerascraft.samplers import (
    GP_SAMPLERS,
    SAMPLERS,
    choose_sampler,
    contains,
    distribution,
    make_pruner,
    make_sampler,
    pruning_settings,
    quiet_optuna,
    require_gp,
    rung_epochs,
    startup_trials,
    stream_seed,
    suggest,
)
from kerascraft.trials import TrialStatus, in_trial_order

_HP = kt.engine.hyperparameters
_Trial = kt.engine.trial.Trial

#: seconds a worker of a shared search waits before asking again, when every trial left is
#: running elsewhere
WAIT_SECONDS = 1.0

#: suggestions that repeat a tried configuration before random ones are drawn instead
_MAX_REPEATS = 20


class OptunaOracle(kt.Oracle):
    """A KerasTuner oracle whose configurations come from an Optuna sampler.

    Args:
        sampler: ``"tpe"``, ``"gp"``, ``"gp+tpe"`` (taking turns) or ``"auto"`` (chosen by
            :func:`choose_sampler` from the space and ``max_trials`` when the first trial
            is created, kept when the search is resumed with the same ``max_trials``, and
            chosen again when it is resumed with another).
        sampler_options: keyword arguments of the Optuna sampler (``n_startup_trials``...).
        pruning: stop unpromising trials early (see :data:`PRUNING_DEFAULTS`).
        ordinal_choices: search numeric ``Choice`` values by index (``True``) or as
            categories (``False``); by default by index for the GP (alone or taking turns),
            as categories for TPE alone.
        defaults_first: the first trial of a new search is the space's default values (a
            recipe known to work: the search starts from it, and the sampler learns from it
            as from any trial). A resumed search never repeats it.
        storage: share the search through an Optuna storage (a database URL, a journal
            file's path, or what :func:`kerascraft.storages.storage` returns): see the
            module's notes. The study is named by the tuner's ``project_name``.
        The other arguments are those of ``keras_tuner.Oracle``.
    """

    def __init__(self, objective=None, max_trials=10, sampler="auto", sampler_options=None,
                 pruning=None, ordinal_choices=None, defaults_first=False, seed=None,
                 storage=None, hyperparameters=None, allow_new_entries=True,
                 tune_new_entries=True, max_retries_per_trial=0,
                 max_consecutive_failed_trials=3):
        if sampler not in SAMPLERS + ("auto",):
            raise InputError(f"unknown sampler {sampler!r}; use 'auto' or one of: "
                             f"{', '.join(SAMPLERS)}.")
        if sampler in ("gp", "gp+tpe"):
            require_gp()  # says what to install now, not at the first trial
        if storage is not None and max_retries_per_trial:
            raise InputError("with a storage, a trial whose process died is run again by the "
                             "storage (kerascraft.storage(max_retries=)): leave "
                             "max_retries_per_trial at 0.")
        super().__init__(objective=objective, max_trials=max_trials, seed=seed,
                         hyperparameters=hyperparameters,
                         allow_new_entries=allow_new_entries,
                         tune_new_entries=tune_new_entries,
                         max_retries_per_trial=max_retries_per_trial,
                         max_consecutive_failed_trials=max_consecutive_failed_trials)
        self.sampler = sampler
        self.sampler_options = dict(sampler_options or {})
        self.pruning = pruning_settings(pruning)
        self.ordinal_choices = ordinal_choices
        self.defaults_first = bool(defaults_first)
        self.pruned = {}    # trial_id -> the epoch (1-based) at which it was stopped
        self.epochs = None  # the search's epochs (set by the tuner): no pruning at the last
        self.chosen_sampler = None if sampler == "auto" else sampler
        self.choice_reason = None if sampler == "auto" else "chosen by the user"
        self.chosen_for = None  # the max_trials "auto" chose for
        self._study = None
        self._asked = {}    # trial_id -> the Optuna trial asked for it in this process
        self._reported = {}  # trial_id -> the last epoch it reported (pruning)
        self._in_study = set()  # trial_ids the study knows as finished
        self._mapping_cache = None
        # a shared search: the storage, opened now (a database that cannot be reached is
        # an error before the search starts); the study is named by the tuner
        self._store = None if storage is None else kc_storage.storage(storage)
        self.study_name = None
        self._beats = {}    # Optuna trial number -> its Heartbeat
        self.reloaded = False
        self.model_digest = None  # what identifies the build function (set by the tuner)
        self._waiting_said = False

    @property
    def shared(self) -> bool:
        """Whether the search is shared through a storage."""
        return self._store is not None

    def storage_handle(self):
        """The Optuna storage the search is shared through (``None``: none)."""
        return self._store

    def storage_description(self) -> str | None:
        """The storage in words (password masked), or ``None``."""
        return kc_storage.describe(self._store) if self.shared else None

    # state: only the choice; trials come from their own files
    def get_state(self):
        state = super().get_state()
        state.update(sampler=self.sampler, chosen_sampler=self.chosen_sampler,
                     choice_reason=self.choice_reason, chosen_for=self.chosen_for,
                     pruned=self.pruned)
        return state

    def set_state(self, state):
        super().set_state(state)
        self.chosen_sampler = state.get("chosen_sampler", self.chosen_sampler)
        self.choice_reason = state.get("choice_reason", self.choice_reason)
        # a state saved before the budget was kept: its choice stays
        self.chosen_for = state.get("chosen_for", self.max_trials)
        self.pruned = dict(state.get("pruned", {}))
        self._study = None  # rebuilt from the trials at the next suggestion
        self._asked, self._in_study, self._reported = {}, set(), {}
        self._mapping_cache = None

    def decide(self):
        """Fix the sampler and return the reason. ``"auto"`` chooses from the space and
        ``max_trials``, and chooses again when a search is resumed with another
        ``max_trials`` (the study is rebuilt from the trials, so a new sampler learns from
        all of them)."""
        if self.sampler == "auto" and (self.chosen_sampler is None
                                       or self.chosen_for != self.max_trials):
            before, budget = self.chosen_sampler, self.chosen_for
            self.chosen_sampler, self.choice_reason = choose_sampler(self.hyperparameters,
                                                                     self.max_trials)
            self.chosen_for = self.max_trials
            if self.defaults_first and before is None:
                self.choice_reason += " (the first of them the space's defaults)"
            if before not in (None, self.chosen_sampler):
                self.choice_reason += (f"; chosen again on resuming with max_trials="
                                       f"{self.max_trials} (it was {before} for {budget})")
        return self.choice_reason

    def _mappings(self):
        """Each hyperparameter's Optuna distribution; made again only when the space grew
        (a conditional hyperparameter first seen)."""
        ordinal = self.ordinal_choices
        if ordinal is None:
            self.decide()
            ordinal = self.chosen_sampler in GP_SAMPLERS
        key = (ordinal, tuple(hp.name for hp in self.hyperparameters.space))
        if self._mapping_cache is None or self._mapping_cache[0] != key:
            self._mapping_cache = (key, {hp.name: m for hp in self.hyperparameters.space
                                         if (m := distribution(hp, ordinal)) is not None})
        return self._mapping_cache[1]

    def _new_study(self):
        self.decide()
        direction = Direction.of(self.objective).optuna
        # a resumed search draws a fresh stream: it must not repeat its first suggestions
        seed = stream_seed(self.seed, len(self.trials))
        options = dict(self.sampler_options)
        startup = startup_trials(self.chosen_sampler, self.max_trials)
        if startup is not None and (self.sampler == "auto"
                                    or self.chosen_sampler == "gp-numpy"):
            # kerascraft's GP has no default but this rule; TPE keeps Optuna's unless "auto"
            options.setdefault("n_startup_trials", startup)
        if self.shared:
            # every worker its own stream; TPE counts the others' running trials as bad
            seed = stream_seed(self.seed, len(self.trials), os.getpid(),
                               zlib.crc32(socket.gethostname().encode()))
            if self.chosen_sampler == "tpe":
                options.setdefault("constant_liar", True)
        sampler = make_sampler(self.chosen_sampler, seed, options)
        self._asked, self._in_study = {}, set()
        if not self.shared:
            return optuna.create_study(direction=direction, sampler=sampler,
                                       pruner=make_pruner(self.pruning))
        name = self.study_name or "untitled_project"
        study = optuna.create_study(storage=self._store, study_name=name, direction=direction,
                                    sampler=sampler, pruner=make_pruner(self.pruning),
                                    load_if_exists=True)
        kc_storage.check_search(
            study, kc_storage.space_record(self.hyperparameters, self.objective.name,
                                           Direction.of(self.objective).value,
                                           self.model_digest),
            kc_storage.describe(self._store))
        self._study_id = self._store.get_study_id_from_name(name)
        if study.metric_names is None:  # the dashboard names the objective
            study.set_metric_names([self.objective.name])
        self._reconcile(study)
        return study

    def expect_trials(self, trials):
        """Told by a search under a time limit how many trials the time allows (from the
        median trial so far): the random start-up that the rule sized from ``max_trials``
        (:func:`~kerascraft.samplers.startup_trials`) is sized from the smaller count, so a
        60 s search with ``max_trials=1000`` and time for 12 trials models the results
        after 3 random ones, not 10. Only shrinks it; for kerascraft's GP (Optuna's samplers
        fix theirs when made); never a start-up the user set. Returns what changed, or
        ``None``."""
        if (self._study is None or self.chosen_sampler != "gp-numpy"
                or "n_startup_trials" in self.sampler_options):
            return None
        trials = max(1, int(min(trials, self.max_trials or trials)))
        sampler = self._study.sampler
        startup = startup_trials("gp-numpy", trials)
        if startup >= sampler.n_startup_trials:
            return None
        sampler.n_startup_trials = startup
        return (f"about {trials} trials fit in the time limit: {startup} random before the "
                "Gaussian process models the results")

    def _known(self, trial, mappings):
        """A finished KerasTuner trial of an earlier process as an Optuna trial: its active
        values, and with pruning its curve and the rungs it passed (as if it had been
        asked and pruned here); a pruned one as ``PRUNED``."""
        values = trial.hyperparameters.values
        params, dists = {}, {}
        for hp in self.hyperparameters.space:
            m = mappings.get(hp.name)
            if m is None or hp.name not in values or not trial.hyperparameters.is_active(hp):
                continue
            internal = m.to_internal(values[hp.name])
            if contains(m.dist, internal):
                params[hp.name], dists[hp.name] = internal, m.dist
        curve, rungs = {}, {}
        if self.pruning:
            curve = self._curve(trial, self.pruned.get(trial.trial_id))
            last = max(curve, default=0) + 1 if self.epochs is None else self.epochs
            rungs = compat_optuna.rung_attributes(
                [curve[e] for e in rung_epochs(self.pruning, last) if e in curve])
        if trial.trial_id in self.pruned:
            return optuna.trial.create_trial(
                state=optuna.trial.TrialState.PRUNED, params=params, distributions=dists,
                intermediate_values=curve, system_attrs=rungs)
        return optuna.trial.create_trial(params=params, distributions=dists,
                                         value=float(trial.score), intermediate_values=curve,
                                         system_attrs=rungs)

    def _curve(self, trial, until=None) -> dict:
        """``{epoch: the objective's best value up to that epoch}`` (1-based), up to epoch
        ``until`` (``None``: all it trained)."""
        name = self.objective.name
        if not trial.metrics.exists(name):
            return {}
        best, curve, direction = None, {}, Direction.of(self.objective)
        for o in sorted(trial.metrics.get_history(name), key=lambda o: o.step):
            epoch = int(o.step) + 1
            if until is not None and epoch > until:
                break
            value = float(np.mean(o.value))
            best = value if best is None else direction.best([best, value])
            if math.isfinite(best):
                curve[epoch] = best
        return curve

    def _sync(self):
        """Tell the study every trial that finished since the last suggestion."""
        if self._study is None:
            self._study = self._new_study()
        mappings = self._mappings()
        # in the order the trials were made (KerasTuner reloads them in the file system's
        # order): a rebuilt study numbers them as the first one did
        for trial in in_trial_order(self.trials.values()):
            trial_id = trial.trial_id
            ended = trial.status in (TrialStatus.COMPLETED, TrialStatus.FAILED)
            if trial_id in self._in_study or not ended:
                continue
            if self.shared and trial_id not in self._asked:
                self._in_study.add(trial_id)  # the study has it from the worker that ran it
                continue
            score = trial.score
            ok = trial.status == TrialStatus.COMPLETED and score is not None and math.isfinite(score)
            if trial_id in self._asked:
                self._tell(self._asked.pop(trial_id), trial if ok else None, reported=True)
            elif ok:
                self._study.add_trial(self._known(trial, mappings))
            self._in_study.add(trial_id)
            self._reported.pop(trial_id, None)
        return mappings

    def _tell(self, asked, trial, reported=False):
        """Tell the study how ``trial`` (a KerasTuner trial; ``None``: failed) ended, as the
        Optuna trial ``asked``: complete with its score, pruned, or failed. A pruned trial
        ends on the curve it ``reported`` epoch by epoch, or else (``asked`` repeats an
        earlier configuration) on that trial's curve."""
        beat = self._beats.pop(asked.number, None)
        if beat is not None:
            beat.stop()
        try:
            self._tell_state(asked, trial, reported)
        except optuna.exceptions.UpdateFinishedTrialError:
            # a shared search's storage failed it already: no heartbeat for its grace period
            kc_storage.log.warning(
                f"kerascraft: trial {self._trial_id(asked.number)} was failed by the storage "
                "while it ran (no heartbeat within its grace period: give storage() a longer "
                "grace_period); its result stays in its files, and the trial is run again")

    def _tell_state(self, asked, trial, reported):
        states = optuna.trial.TrialState
        if trial is None:
            if self.shared and reported:  # its own error: it counts among max_trials
                asked.set_user_attr(kc_storage.ERROR_ATTR, "failed")
            self._study.tell(asked, state=states.FAIL)
        elif trial.trial_id in self.pruned:
            if not reported:
                for epoch, value in self._curve(trial, self.pruned[trial.trial_id]).items():
                    asked.report(value, epoch)
            self._study.tell(asked, state=states.PRUNED)
        else:
            self._study.tell(asked, float(trial.score))

    @kt.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        """Record a trial's metrics. With pruning, an epoch's report (``step``: the epoch,
        0-based) goes to the trial's Optuna trial, and Optuna's pruner may stop it there
        (not at the search's last epoch). KerasTuner's own report at the end of a trial
        (``step``: its best epoch, one already reported) is only recorded."""
        trial = super().update_trial(trial_id, metrics, step)
        epoch = int(step) + 1
        asked = self._asked.get(trial_id)  # None: a retried trial of an earlier process
        if not self.pruning or asked is None or epoch <= self._reported.get(trial_id, 0):
            return trial
        self._reported[trial_id] = epoch
        curve = self._curve(trial, epoch)
        if epoch not in curve:  # the objective not logged, or not finite
            return trial
        with quiet_optuna():
            try:
                asked.report(curve[epoch], epoch)
            except optuna.exceptions.UpdateFinishedTrialError:
                return trial  # failed by a shared search's storage meanwhile (_tell says so)
            last = self.epochs is not None and epoch >= self.epochs
            if not last and asked.should_prune():
                self.pruned[trial_id] = epoch
                # KerasTuner's signal to stop (read by OptunaTuner)
                trial.status = TrialStatus.STOPPED.value
        return trial

    @kt.synchronized
    def end_trial(self, trial):
        super().end_trial(trial)
        if self._study is not None:  # the sampler learns the result now, not at the next ask
            with quiet_optuna():
                self._sync()

    def _ask(self, mappings):
        """One configuration from the sampler: ``(values, Optuna trial)``."""
        optuna_trial = self._study.ask()
        values = self._values(lambda hp: None if (m := mappings.get(hp.name)) is None
                              else m.to_value(suggest(optuna_trial, hp.name, m.dist)))
        return values, optuna_trial

    def _values(self, choose=lambda hp: None):
        """A value for each active hyperparameter: ``choose(hp)``, or its default where
        that is ``None``."""
        hps = _HP.HyperParameters()
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if hps.is_active(hp):
                value = choose(hp)
                hps.values[hp.name] = hp.default if value is None else value
        return hps.values

    def populate_space(self, trial_id):
        with quiet_optuna():
            mappings = self._sync()
            if not mappings:  # nothing to search: one trial of the defaults, then stop
                values = self.hyperparameters.values
                if self._twin(values) is None:
                    return {"status": TrialStatus.RUNNING.value, "values": values}
                return {"status": TrialStatus.STOPPED.value, "values": None}
            if self.defaults_first and not self.trials:  # learnt from as any finished trial
                return {"status": TrialStatus.RUNNING.value, "values": self._values()}
            sampler = self._study.sampler
            try:
                for attempt in range(2 * _MAX_REPEATS):
                    if attempt == _MAX_REPEATS:  # the sampler keeps repeating itself
                        self._study.sampler = optuna.samplers.RandomSampler(
                            seed=stream_seed(self.seed, len(self.trials), attempt))
                    values, optuna_trial = self._ask(mappings)
                    twin = self._twin(values)
                    if twin is None:
                        self._asked[trial_id] = optuna_trial
                        return {"status": TrialStatus.RUNNING.value, "values": values}
                    # a configuration already tried: the sampler learns its result again
                    finished = twin.score is not None and math.isfinite(twin.score)
                    self._tell(optuna_trial, twin if finished else None)
            finally:
                self._study.sampler = sampler
        # as KerasTuner's oracles: a space with nothing left untried ends the search
        return {"status": TrialStatus.STOPPED.value, "values": None}

    def _twin(self, values):
        """The earlier trial with these values, if any."""
        for trial in self.trials.values():
            if trial.hyperparameters.values == values:
                return trial
        return None

    # -- a search shared through a storage ------------------------------------------------

    def _trial_id(self, number) -> str:
        """The KerasTuner trial id of the study's trial ``number`` (padded as KerasTuner
        pads its own)."""
        return f"{int(number):0{len(str(self.max_trials or 0))}d}"

    @kt.synchronized
    def create_trial(self, tuner_id):
        """A shared search's next trial, from the storage: a trial queued again (its worker
        died) first, then the sampler's; ``STOPPED`` once ``max_trials`` trials have
        finished, ``IDLE`` (asked again in a moment) while the trials left all run
        elsewhere. Without a storage, KerasTuner's own."""
        if not self.shared:
            return super().create_trial(tuner_id)
        if tuner_id in self.ongoing_trials:
            return self.ongoing_trials[tuner_id]
        self.tuner_ids.add(tuner_id)
        with quiet_optuna():
            mappings = self._sync()
            got = self._ask_shared(mappings, tuner_id)
        if isinstance(got, str):  # "stopped" or "idle"
            status = TrialStatus.STOPPED.value if got == "stopped" else TrialStatus.IDLE.value
            if got == "stopped":
                self.tuner_ids.discard(tuner_id)
            else:
                time.sleep(WAIT_SECONDS)
            return _Trial(self.hyperparameters.copy(), trial_id=None, status=status)
        asked, values = got
        hps = self.hyperparameters.copy()
        hps.values = values
        trial = _Trial(hps, trial_id=self._trial_id(asked.number),
                       status=TrialStatus.RUNNING.value)
        self._asked[trial.trial_id] = asked
        compat_kt.start_trial(self, trial, tuner_id)
        self._waiting_said = False
        return trial

    def _ask_shared(self, mappings, tuner_id):
        """``(Optuna trial, values)``, or ``"stopped"`` / ``"idle"``."""
        study = self._study
        if kc_storage.has_heartbeat(self._store):
            optuna.storages.fail_stale_trials(study)  # a dead worker's trial: queued again
        have = kc_storage.counts(study)
        if self.max_trials and have["done"] >= self.max_trials:
            return "stopped"
        if self.max_trials and not have["waiting"] and \
                have["done"] + have["busy"] >= self.max_trials:
            if not self._waiting_said:
                kc_storage.log.info(f"kerascraft: {tuner_id}: the trials left run in other "
                                    "workers; waiting for them (a dead worker's trial is "
                                    "queued again)")
                self._waiting_said = True
            return "idle"
        if self.defaults_first and not study.get_trials(deepcopy=False):
            study.enqueue_trial(self._params(self._values(), mappings), skip_if_exists=True)
        sampler = study.sampler
        try:
            for attempt in range(2 * _MAX_REPEATS):
                if attempt == _MAX_REPEATS:  # the sampler keeps repeating itself
                    study.sampler = optuna.samplers.RandomSampler(
                        seed=stream_seed(self.seed, os.getpid(), attempt))
                values, asked = self._ask(mappings)
                number = asked.number
                self._beats[number] = kc_storage.Heartbeat(
                    self._store, self._store.get_trial_id_from_study_id_trial_number(
                        self._study_id, number))
                asked.set_user_attr(kc_storage.TRIAL_ID_ATTR, self._trial_id(number))
                asked.set_user_attr(kc_storage.WORKER_ATTR, str(tuner_id))
                asked.set_user_attr(kc_storage.VALUES_ATTR, values)
                ahead = kc_storage.counts(study, below=number)
                if self.max_trials and ahead["done"] + ahead["busy"] >= self.max_trials:
                    # another worker asked at the same moment and took the last trial
                    asked.set_user_attr(kc_storage.SURPLUS_ATTR, True)
                    self._tell(asked, None)
                    return "idle"
                twin = self._shared_twin(values, number)
                if twin is None:
                    return asked, values
                # a configuration already tried (the sampler learnt its result from the
                # trial that ran it): failed, marked a repeat, and asked again
                asked.set_user_attr(kc_storage.REPEAT_ATTR, twin.number)
                self._tell(asked, None)
        finally:
            study.sampler = sampler
        return "stopped"  # as KerasTuner's oracles: nothing left untried ends the search

    def _params(self, values, mappings) -> dict:
        """KerasTuner ``values`` as the study's parameters."""
        return {name: mappings[name].to_internal(value) for name, value in values.items()
                if name in mappings}

    def _shared_twin(self, values, number):
        """The study's other trial (run, running or finished) with these values, if any."""
        S = optuna.trial.TrialState
        for t in self._study.get_trials(deepcopy=False, states=(S.COMPLETE, S.PRUNED,
                                                                  S.RUNNING)):
            attrs = t.user_attrs
            if t.number != number and attrs.get(kc_storage.VALUES_ATTR) == values and \
                    kc_storage.REPEAT_ATTR not in attrs and kc_storage.SURPLUS_ATTR not in attrs:
                return t
        return None

    def _reconcile(self, study):
        """The trials read from the search's directory, as the study knows them: a trial
        whose worker died (no heartbeat) is failed, saying so; a pruned one is pruned."""
        S = optuna.trial.TrialState
        by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
        again_of = optuna.storages.RetryFailedTrialCallback.retried_trial_number
        retried = {again_of(t): t.number for t in by_number.values()
                   if again_of(t) is not None}
        for trial in self.trials.values():
            if trial.trial_id in self._asked or not str(trial.trial_id).isdigit():
                continue
            known = by_number.get(int(trial.trial_id))
            if known is None:
                continue
            if known.state == S.PRUNED and trial.trial_id not in self.pruned:
                self.pruned[trial.trial_id] = max(known.intermediate_values, default=0)
            if trial.status == TrialStatus.RUNNING and known.state == S.FAIL:
                again = retried.get(known.number)
                trial.status = TrialStatus.FAILED.value
                trial.message = ("its worker stopped sending heartbeats (killed, or its "
                                 "machine lost)" + (f"; run again as trial "
                                                    f"{self._trial_id(again)}"
                                                    if again is not None else ""))
                compat_kt.save_trial(self, trial)
            self._in_study.add(trial.trial_id)

    def reload(self):
        """Without a storage, KerasTuner's. With one: every worker's trials from their
        files, their state from the study (the storage is the search's record; a worker
        keeps no oracle file)."""
        if not self.shared:
            return super().reload()
        for path in compat_kt.trial_files(self):
            trial = _Trial.load(path)
            self.trials[trial.trial_id] = trial
            self.update_space(trial.hyperparameters)
        self._study = None  # opened (and checked against this search) at the next suggestion
        self.reloaded = True
        try:
            with quiet_optuna():
                self._reconcile(optuna.load_study(study_name=self.study_name or
                                                  "untitled_project", storage=self._store))
        except KeyError:  # no study yet
            pass

    def forget_study(self):
        """``overwrite=True`` with a storage: the study is deleted too (its trials' files go
        with the project's directory). Refused in a worker, which joins a search."""
        if os.environ.get(kc_storage.WORKER_ENV):
            raise InputError("this process is a worker of a shared search, and overwrite=True "
                             "would delete the trials of every worker: build the tuner with "
                             "overwrite=False in the worker's script.")
        try:
            optuna.delete_study(study_name=self.study_name, storage=self._store)
        except KeyError:  # no such study yet
            pass

    def save(self):
        """Without a storage, KerasTuner's. With one nothing: the storage and the trials'
        files are the record (several workers writing one oracle file would race)."""
        if not self.shared:
            super().save()


# -- the tuner --------------------------------------------------------------------------

class OptunaTuner(kt.Tuner):
    """KerasTuner's ``Tuner`` on an :class:`OptunaOracle`; the subclasses fix the sampler."""

    SAMPLER = "auto"

    def __init__(self, hypermodel=None, objective=None, max_trials=10, seed=None,
                 sampler_options=None, pruning=None, ordinal_choices=None,
                 defaults_first=False, storage=None, study_name=None, hyperparameters=None,
                 tune_new_entries=True, allow_new_entries=True, max_retries_per_trial=0,
                 max_consecutive_failed_trials=3, **kwargs):
        oracle = OptunaOracle(
            objective=objective, max_trials=max_trials, sampler=self.SAMPLER,
            sampler_options=sampler_options, pruning=pruning,
            ordinal_choices=ordinal_choices, defaults_first=defaults_first, seed=seed,
            storage=storage, hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries, allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials)
        if study_name is not None and storage is None:
            raise InputError("study_name names a search in a storage: give storage too.")
        if oracle.shared:
            oracle.study_name = study_name or kwargs.get("project_name") or "untitled_project"
            if kwargs.get("overwrite"):
                oracle.forget_study()
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)
        if oracle.shared:
            from kerascraft.hypermodels import identity

            oracle.model_digest = (identity(hypermodel) or {}).get("digest")
            if not oracle.reloaded:  # joining: every worker's trials so far
                oracle.reload()
        # kept on the tuner too: a distributed worker's oracle is the chief's, over gRPC
        self.pruning = oracle.pruning
        if self.pruning and self.executions_per_trial != 1:
            raise InputError("pruning compares trials epoch by epoch, which needs "
                             "executions_per_trial=1.")

    def search(self, *fit_args, **fit_kwargs):
        if isinstance(self.oracle, OptunaOracle):  # not on a worker (its oracle is the chief's)
            self.oracle.epochs = fit_kwargs.get("epochs")
        return super().search(*fit_args, **fit_kwargs)

    def on_epoch_end(self, trial, model, epoch, logs=None):
        """With pruning: report the epoch to the oracle, and stop when it says so."""
        super().on_epoch_end(trial, model, epoch, logs=logs)
        if not self.pruning or not logs or self.oracle.objective.name not in logs:
            return
        metrics = {k: float(v) for k, v in logs.items()}
        status = self.oracle.update_trial(trial.trial_id, metrics, step=epoch).status
        if status == TrialStatus.STOPPED:
            model.stop_training = True


class AutoSearch(OptunaTuner):
    """TPE or a Gaussian process, chosen from the search space and the budget
    (:func:`choose_sampler`)."""

    SAMPLER = "auto"


class TPESearch(OptunaTuner):
    """Optuna's Tree-structured Parzen Estimator."""

    SAMPLER = "tpe"


class GPSearch(OptunaTuner):
    """Optuna's Gaussian-process sampler (needs PyTorch)."""

    SAMPLER = "gp"


class NumpyGPSearch(OptunaTuner):
    """kerascraft's Gaussian-process sampler on NumPy and SciPy (:mod:`kerascraft.gp`)."""

    SAMPLER = "gp-numpy"

"""Episode recording, bit-exact replay, and export as a GIF or per-layer images.

:func:`run_episode` plays one episode of an :class:`~mbag_env.envs.single.MbagEnv` with a policy
in the agent's seat and returns an :class:`EpisodeRecording`: the configuration, the goal, the
state right after reset, every player's actions, per-step outcomes and a digest of the state
after every step. :meth:`EpisodeRecording.save` writes it to one compressed ``.npz`` file
(a few kilobytes); :func:`replay` steps the recorded actions through a fresh env built from the
recorded configuration and checks that worlds, rewards and outcomes match at every step. :func:`export_gif`
and :func:`export_layer_images` draw a replayed episode and write it with
:mod:`mbag_env.render.export`; the config is stored with :meth:`~mbag_env.config.MbagConfig.to_dict`.

File format (``format_version`` 1; stable: readers check the version, new fields only add).
One ``.npz`` (``numpy.savez_compressed``, no pickles) with ``T`` steps, ``P`` players and a
``W×H×D`` world:

==========================  ================  ================================================
array                       dtype, shape      meaning
==========================  ================  ================================================
``metadata``                str (0-d)         JSON: ``format_version``, ``config`` (the
                                              :class:`~mbag_env.config.MbagConfig` fields;
                                              ``goal`` holds a description, the goal itself is
                                              the ``goal`` array), ``agent`` (the seat the
                                              policy played), ``seed`` (of ``reset``),
                                              ``human`` (``{"type": "HumanModel", ...fields}``
                                              or ``{"type": "python", "repr": ...}``),
                                              ``assistant`` (a name), ``terminated``,
                                              ``truncated``, ``extra`` (free-form, e.g. the
                                              leaderboard's suite, house and human label)
``goal``                    uint8 (W,H,D)     θ
``initial_<field>``         as the env state  the state row right after reset, one array per
                                              field of :class:`~mbag_env.core.state.BatchState`
                                              (``blocks``, ``goal``, ``last_interacted``,
                                              ``env_ints``, ``player_ints``, ... — the
                                              env's internal layout: replay restores the
                                              fields it knows and recomputes derived ones)
``actions``                 int64 (T,P)       the action each player took (the scripted
                                              human's own choice included)
``rewards``                 float64 (T,P)     each player's reward
``action_valid``            bool (T,P)        whether the action was valid
``action_delta``            int8 (T,P)        the edit-distance drop it caused (+1 correct
                                              place/break, -1 incorrect, 0 otherwise)
``edit_distance``           int64 (T+1,)      after reset, then after each step
``state_digests``           uint32 (T+1,)     :func:`state_digest` after reset and each step
``final_blocks``            uint8 (W,H,D)     the world at the end
==========================  ================  ================================================
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mbag_env.blocks import NUM_BLOCK_TYPES
from mbag_env.config import MbagConfig
from mbag_env.core.actions import ActionSpace
from mbag_env.core.reward import goal_percentage
from mbag_env.core.state import (
    ENV_EDIT_DISTANCE,
    ENV_RNG,
    ENV_TERMINATED,
    ENV_TIMESTEP,
    ENV_TRUNCATED,
    PLAYER_LAST_ACTION,
    PLAYER_LAST_DELTA,
    PLAYER_LAST_VALID,
)
from mbag_env.core.validation import StateError, derived_fields, expected_layout, validate_state_row
from mbag_env.envs.batch import config_params
from mbag_env.envs.single import MbagEnv
from mbag_env.goals import validate_goal
from mbag_env.humans.policy import Policy, as_policy
from mbag_env.humans.scripted import HumanModel
from mbag_env.render.export import write_layer_images, write_video

RECORDING_FORMAT_VERSION = 1
"""Version of the ``.npz`` layout written by :meth:`EpisodeRecording.save`."""

REQUIRED_STATE_FIELDS = ("blocks", "goal", "last_interacted", "env_ints", "player_ints")
"""State-row fields every recording holds (it holds all of :meth:`BatchState.get_row`'s fields)."""

_ARRAY_FIELDS = ("actions", "rewards", "action_valid", "action_delta", "edit_distance", "state_digests")


class RecordingError(ValueError):
    """A file is not a readable, valid episode recording: truncated, corrupted, not a ``.npz``, with
    missing or malformed arrays, or with values no env could have produced (the message names the
    file and what is wrong)."""


class InvalidActionError(ValueError):
    """A policy returned something that is not an action of the env (the message says what)."""


class ReplayMismatchError(AssertionError):
    """A replay diverged from its recording (the message names the step and the quantity)."""


def state_digest(state: Mapping[str, np.ndarray]) -> int:
    """A CRC-32 of one world's state row: blocks, last interacted, players and episode counters.

    The world's random-generator state is left out, so a replay that feeds the scripted human's
    recorded actions (instead of running it) digests the same.
    """
    env_ints = np.asarray(state["env_ints"])
    digest = 0
    for array in (
        state["blocks"],
        state["last_interacted"],
        state["player_ints"],
        env_ints[:ENV_RNG],
        env_ints[ENV_RNG + 1 :],
    ):
        digest = zlib.crc32(np.ascontiguousarray(array).data, digest)
    return digest


def describe_human(policy: Any) -> dict[str, Any]:
    """How a recording names the env's human: a :class:`HumanModel`'s fields, or a repr."""
    if isinstance(policy, HumanModel):
        return {"type": "HumanModel", **policy.to_dict()}
    return {"type": "python", "repr": repr(policy)}


@dataclass
class EpisodeRecording:
    """One recorded episode (see the module docstring for the file layout).

    Attributes:
        config: the env's configuration; its ``goal`` is :attr:`goal` (the array).
        agent: the seat the recorded policy played (1 = the assistant in ``mbag/Assist-v0``).
        seed: the seed given to ``reset``.
        goal: θ, ``uint8 (W, H, D)``.
        initial_state: the state row right after reset
            (:meth:`~mbag_env.core.state.BatchState.get_row`).
        actions: ``int64 (T, P)``, the action each player took.
        rewards: ``float64 (T, P)``.
        action_valid: ``bool (T, P)``.
        action_delta: ``int8 (T, P)``, each action's edit-distance drop.
        edit_distance: ``int64 (T + 1,)``, after reset and after each step.
        state_digests: ``uint32 (T + 1,)``, :func:`state_digest` after reset and each step.
        final_blocks: ``uint8 (W, H, D)``, the world at the end.
        terminated: the episode ended with the goal complete.
        truncated: the episode ended at the horizon (or the no-progress limit). Both false: the
            episode was stopped before it ended (e.g. the person left ``mbag-play``).
        human: :func:`describe_human` of the env's human.
        assistant: a name for the recorded policy.
        extra: free-form JSON-ready metadata (e.g. the leaderboard's suite and house).
        format_version: :data:`RECORDING_FORMAT_VERSION`.
    """

    config: MbagConfig
    agent: int
    seed: int | None
    goal: np.ndarray
    initial_state: dict[str, np.ndarray]
    actions: np.ndarray
    rewards: np.ndarray
    action_valid: np.ndarray
    action_delta: np.ndarray
    edit_distance: np.ndarray
    state_digests: np.ndarray
    final_blocks: np.ndarray
    terminated: bool
    truncated: bool
    human: dict[str, Any] = field(default_factory=dict)
    assistant: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    format_version: int = RECORDING_FORMAT_VERSION

    @property
    def num_steps(self) -> int:
        """Number of steps T."""
        return int(self.actions.shape[0])

    @property
    def num_players(self) -> int:
        """Number of players P."""
        return int(self.actions.shape[1])

    @property
    def world_size(self) -> tuple[int, int, int]:
        """``(W, H, D)``."""
        return self.config.world_size

    def goal_percentage(self) -> np.ndarray:
        """``float64 (T + 1,)``: ``1 - d / d0`` after reset and after each step (1 if ``d0 = 0``)."""
        return goal_percentage(int(self.edit_distance[0]), self.edit_distance)

    def human_model(self) -> HumanModel:
        """The recorded compiled human.

        Raises:
            ValueError: if the episode's human was a Python policy.
        """
        if self.human.get("type") != "HumanModel":
            raise ValueError(f"the recorded human is not a compiled HumanModel: {self.human!r}")
        try:
            return HumanModel.from_dict({key: value for key, value in self.human.items() if key != "type"})
        except TypeError as error:
            raise ValueError(
                f"the recorded human {self.human!r} is not a valid HumanModel: {error}"
            ) from error

    def metadata(self) -> dict[str, Any]:
        """The JSON metadata stored beside the arrays."""
        return {
            "format_version": self.format_version,
            "config": self.config.to_dict(),
            "agent": self.agent,
            "seed": self.seed,
            "human": self.human,
            "assistant": self.assistant,
            "terminated": bool(self.terminated),
            "truncated": bool(self.truncated),
            "extra": self.extra,
        }

    def save(self, path: str | Path) -> Path:
        """Write the recording to ``path`` (a ``.npz``; the suffix is added if missing)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {
            "metadata": np.array(json.dumps(self.metadata(), sort_keys=True)),
            "goal": self.goal,
            "final_blocks": self.final_blocks,
        }
        for name, value in self.initial_state.items():
            arrays[f"initial_{name}"] = value
        for name in _ARRAY_FIELDS:
            arrays[name] = getattr(self, name)
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> EpisodeRecording:
        """Read a recording written by :meth:`save` and check it: every array's dtype and shape,
        the metadata, the configuration and goal, the recorded initial state (every value the
        compiled core relies on, see :func:`~mbag_env.core.validation.validate_state_row`) and the
        ranges of the actions, so that no damaged or crafted file reaches the compiled core.

        Raises:
            FileNotFoundError: if there is no such file.
            RecordingError: (a ``ValueError``) if the file is not a readable recording (truncated,
                corrupted, another kind of file), lacks an array, has an unsupported format
                version, or holds a value out of range; the message names the file.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no episode recording at {path}")
        contents = _read_npz(path)
        required = {
            "metadata",
            "goal",
            "final_blocks",
            *(f"initial_{n}" for n in REQUIRED_STATE_FIELDS),
            *_ARRAY_FIELDS,
        }
        missing = sorted(required - set(contents))
        if missing:
            raise RecordingError(f"{path} is not an episode recording: it lacks {', '.join(missing)}")
        try:
            return _recording_from_contents(cls, contents)
        except RecordingError as error:
            raise RecordingError(_one_line(f"{path}: {error}")) from error


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path``; a :class:`RecordingError` for anything unreadable."""
    try:
        data = np.load(path, allow_pickle=False)
        try:
            if not hasattr(data, "files"):
                raise RecordingError(
                    f"{path} is not an episode recording: it is a single array, not a .npz archive"
                )
            return {name: data[name] for name in data.files}
        finally:
            if hasattr(data, "close"):
                data.close()
    except RecordingError:
        raise
    except Exception as error:  # zip, zlib, npy-header and EOF errors: the file is damaged
        raise RecordingError(
            _one_line(
                f"{path} is not a readable episode recording (truncated, corrupted or another kind of file): "
                f"{type(error).__name__}: {error}"
            )
        ) from error


def _recording_from_contents(
    cls: type[EpisodeRecording], contents: dict[str, np.ndarray]
) -> EpisodeRecording:
    """Build and check a recording from a ``.npz``'s arrays (:meth:`EpisodeRecording.load`)."""
    metadata = _metadata(contents["metadata"])
    try:
        goal = validate_goal(contents["goal"], tuple(np.shape(contents["goal"])))
        config = MbagConfig.from_dict(metadata["config"], goal)
    except (KeyError, TypeError, ValueError) as error:
        raise RecordingError(
            f"its configuration or goal is invalid: {type(error).__name__}: {error}"
        ) from error
    if contents["goal"].dtype != np.uint8 or contents["goal"].shape != config.world_size:
        raise RecordingError(
            f"its goal has shape {contents['goal'].shape} and dtype {contents['goal'].dtype}, expected "
            f"{config.world_size} uint8"
        )
    stored: dict[str, Any] = {key: metadata[key] for key in _METADATA_TYPES if key != "config"}
    stored.update({name: contents[name] for name in _ARRAY_FIELDS})
    recording = cls(
        config=config,
        goal=goal,
        initial_state={
            name.removeprefix("initial_"): value
            for name, value in contents.items()
            if name.startswith("initial_")
        },
        final_blocks=contents["final_blocks"],
        **stored,
    )
    _check_recording(recording)
    return recording


_METADATA_TYPES: dict[str, tuple[type, ...]] = {
    "config": (dict,),
    "agent": (int,),
    "seed": (int, type(None)),
    "human": (dict,),
    "assistant": (str,),
    "terminated": (bool,),
    "truncated": (bool,),
    "extra": (dict,),
}


def _metadata(array: np.ndarray) -> dict[str, Any]:
    if array.shape != () or array.dtype.kind != "U":
        raise RecordingError(
            f"its metadata is a {array.dtype} array of shape {array.shape}, not a JSON string"
        )
    try:
        metadata = json.loads(str(array))
    except ValueError as error:
        raise RecordingError(f"its metadata is not valid JSON: {error}") from error
    if not isinstance(metadata, dict):
        raise RecordingError(f"its metadata is a JSON {type(metadata).__name__}, not an object")
    version = metadata.get("format_version")
    if version != RECORDING_FORMAT_VERSION:
        raise RecordingError(
            f"it has recording format version {version!r}; this mbag_env reads version "
            f"{RECORDING_FORMAT_VERSION}"
        )
    for key, types in _METADATA_TYPES.items():
        if key not in metadata:
            raise RecordingError(f"its metadata lacks {key!r}")
        value = metadata[key]
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            expected = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise RecordingError(f"its metadata {key!r} is {value!r}, expected {expected}")
    if metadata["seed"] is not None and metadata["seed"] < 0:
        raise RecordingError(f"its metadata 'seed' is {metadata['seed']}, not a seed (>= 0)")
    return metadata


def _check_recording(recording: EpisodeRecording) -> None:
    """Check a loaded recording's arrays against its configuration (see :meth:`EpisodeRecording.load`).

    Raises:
        RecordingError: naming the array, and where it applies the index and the value.
    """
    config = recording.config
    num_players = config.num_players
    steps = recording.actions.shape[0] if recording.actions.ndim == 2 else -1
    expected = {
        "actions": ((steps, num_players), np.int64),
        "rewards": ((steps, num_players), np.float64),
        "action_valid": ((steps, num_players), np.bool_),
        "action_delta": ((steps, num_players), np.int8),
        "edit_distance": ((steps + 1,), np.int64),
        "state_digests": ((steps + 1,), np.uint32),
        "final_blocks": (config.world_size, np.uint8),
    }
    for name, (shape, dtype) in expected.items():
        array = getattr(recording, name)
        if array.shape != shape or array.dtype != dtype:
            raise RecordingError(
                f"its {name!r} has shape {array.shape} and dtype {array.dtype}, expected {shape} "
                f"{np.dtype(dtype)} (T = {steps} steps, {num_players} players)"
            )
    if steps > config.horizon:
        raise RecordingError(f"it has {steps} steps, more than the horizon {config.horizon}")
    if not 0 <= recording.agent < num_players:
        raise RecordingError(f"its agent {recording.agent} is not a player index in [0, {num_players})")
    num_actions = ActionSpace(config.world_size, config.infinite_blocks).n
    _check_range(recording.actions, "actions", 0, num_actions - 1)
    _check_range(recording.action_delta, "action_delta", -1, 1)
    _check_range(recording.edit_distance, "edit_distance", 0, 2 * int(np.prod(config.world_size)))
    _check_range(recording.final_blocks, "final_blocks", 0, NUM_BLOCK_TYPES - 1)
    if not np.isfinite(recording.rewards).all():
        raise RecordingError("its 'rewards' are not all finite")
    if recording.human.get("type") == "HumanModel":
        try:
            recording.human_model()
        except (TypeError, ValueError) as error:
            raise RecordingError(
                f"its human {recording.human!r} is not a valid HumanModel: {error}"
            ) from error
    row = initial_state_row(recording.initial_state, config.world_size, num_players)
    try:
        validate_state_row(row, config_params(config), config.world_size)
    except StateError as error:
        raise RecordingError(f"its initial_{error.field} is invalid: {error}") from error
    if row["env_ints"][ENV_TIMESTEP] != 0:
        raise RecordingError(
            f"its initial state is at timestep {row['env_ints'][ENV_TIMESTEP]}, not right after reset"
        )
    if not np.array_equal(row["goal"], recording.goal):
        raise RecordingError("its initial state's goal differs from its 'goal'")


def _check_range(array: np.ndarray, name: str, low: int, high: int) -> None:
    bad = (array < low) | (array > high)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise RecordingError(
            f"its {name!r} at index {index} holds {array[index].item()!r}, outside [{low}, {high}]"
        )


def initial_state_row(
    recorded: Mapping[str, np.ndarray], world_size: tuple[int, int, int], num_players: int
) -> dict[str, np.ndarray]:
    """A complete state row from a recording's ``initial_*`` arrays: the fields this mbag_env keeps,
    with the derived ones a recording may lack (``layer_errors``, ``solid_neighbours``) computed from
    its blocks and goal; fields of other versions are left out.

    Raises:
        RecordingError: if a recorded field does not have the shape and dtype this mbag_env keeps.
    """
    row: dict[str, np.ndarray] = {}
    for name, (shape, dtype) in expected_layout(world_size, num_players).items():
        if name not in recorded:
            continue
        value = recorded[name]
        if value.shape != shape or value.dtype != dtype:
            raise RecordingError(
                f"the recording's initial {name!r} has shape {value.shape} and dtype {value.dtype}, but "
                f"this mbag_env keeps {shape} {dtype}: it was made by an incompatible version"
            )
        row[name] = value.copy()
    missing = [name for name in REQUIRED_STATE_FIELDS if name not in row]
    if missing:
        raise RecordingError(f"the recording lacks the initial state fields {', '.join(missing)}")
    _, layer_errors, solid_neighbours = derived_fields(row["blocks"], row["goal"])
    row.setdefault("layer_errors", layer_errors)
    row.setdefault("solid_neighbours", solid_neighbours)
    return row


def check_action(action: Any, num_actions: int, who: str, step: int) -> int:
    """``action`` as an ``int`` if it is an integer in ``[0, num_actions)``.

    Raises:
        InvalidActionError: naming ``who``, the step, the value and the valid range.
    """
    valid_type = isinstance(action, (int, np.integer)) and not isinstance(action, (bool, np.bool_))
    if isinstance(action, np.ndarray) and action.shape == () and np.issubdtype(action.dtype, np.integer):
        action, valid_type = action.item(), True
    if not valid_type or not 0 <= int(action) < num_actions:
        raise InvalidActionError(
            f"{who} returned an invalid action {action!r} at step {step}: actions are integers in "
            f"[0, {num_actions - 1}]"
        )
    return int(action)


def run_episode(
    env: Any,
    policy: Any,
    seed: int | None = None,
    *,
    assistant_name: str = "",
    extra: Mapping[str, Any] | None = None,
) -> EpisodeRecording:
    """Play one episode with ``policy`` in the env's agent seat and record it.

    Args:
        env: an :class:`~mbag_env.envs.single.MbagEnv` (Gymnasium wrappers are unwrapped). Its
            other players are played by the env (the scripted human in ``mbag/Assist-v0``).
        policy: a :class:`~mbag_env.humans.Policy` or a callable ``observation -> action``.
        seed: seed of ``reset``.
        assistant_name: a name for the policy, stored in the recording.
        extra: JSON-ready metadata stored in the recording.

    Raises:
        InvalidActionError: when the policy returns anything but an integer in range.
        ValueError: if ``env`` is not an MbagEnv.
    """
    env = getattr(env, "unwrapped", env)
    if not isinstance(env, MbagEnv):
        raise ValueError(f"run_episode needs an mbag_env MbagEnv, got {env!r}")
    if isinstance(policy, str):
        raise ValueError(
            f"run_episode needs a policy object, got the name {policy!r}; build the scripted assistants "
            "with mbag_env.evaluation.make_scripted_assistant(name, env)"
        )
    policy = as_policy(policy)
    if not isinstance(policy, Policy):
        raise ValueError(f"the agent's policy must have act(observation) or be a callable, got {policy!r}")
    batch = env.batch
    state = batch.state
    observation, _ = env.reset(seed=seed)
    initial_state = state.get_row(0)
    num_actions = batch.actions.n
    actions: list[np.ndarray] = []
    rewards: list[np.ndarray] = []
    valid: list[np.ndarray] = []
    delta: list[np.ndarray] = []
    distances = [int(state.env_ints[0, ENV_EDIT_DISTANCE])]
    digests = [state_digest(initial_state)]
    who = f"the policy {assistant_name!r}" if assistant_name else "the policy"
    terminated = truncated = False
    while not (terminated or truncated):
        action = check_action(policy.act(observation), num_actions, who, len(actions))
        observation, _, terminated, truncated, _ = env.step(action)
        players = state.player_ints[0]
        actions.append(players[:, PLAYER_LAST_ACTION].copy())
        valid.append(players[:, PLAYER_LAST_VALID] != 0)
        delta.append(players[:, PLAYER_LAST_DELTA].astype(np.int8))
        rewards.append(batch.rewards[0].copy())
        distances.append(int(state.env_ints[0, ENV_EDIT_DISTANCE]))
        digests.append(_row_digest(env))
    num_players = env.config.num_players
    human = env.human_policy if env.agent != 0 else None  # with agent 0 the env plays no human
    return EpisodeRecording(
        config=env.config.replace(goal=state.goal[0].copy()),
        agent=env.agent,
        seed=seed,
        goal=state.goal[0].copy(),
        initial_state=initial_state,
        actions=np.array(actions, dtype=np.int64).reshape(-1, num_players),
        rewards=np.array(rewards, dtype=np.float64).reshape(-1, num_players),
        action_valid=np.array(valid, dtype=np.bool_).reshape(-1, num_players),
        action_delta=np.array(delta, dtype=np.int8).reshape(-1, num_players),
        edit_distance=np.array(distances, dtype=np.int64),
        state_digests=np.array(digests, dtype=np.uint32),
        final_blocks=state.blocks[0].copy(),
        terminated=bool(terminated),
        truncated=bool(truncated),
        human=describe_human(human) if human is not None else {"type": "none"},
        assistant=assistant_name,
        extra=dict(extra or {}),
    )


def _row_digest(env: MbagEnv) -> int:
    state = env.batch.state
    return state_digest(
        {
            "blocks": state.blocks[0],
            "last_interacted": state.last_interacted[0],
            "player_ints": state.player_ints[0],
            "env_ints": state.env_ints[0],
        }
    )


def _restore_initial_state(env: MbagEnv, recorded: Mapping[str, np.ndarray]) -> None:
    """Put the recorded initial state into ``env`` (reset already) through its ``set_state``, which
    checks every value (:func:`~mbag_env.core.validation.validate_state_row`); derived fields the
    recording lacks are computed from its blocks and goal (:func:`initial_state_row`).

    Raises:
        ValueError: a :class:`RecordingError` if a recorded field does not fit the env's state
            layout, a :class:`~mbag_env.core.validation.StateError` if a value is out of range.
    """
    row = initial_state_row(recorded, env.config.world_size, env.config.num_players)
    env.set_state({"world": row, "needs_reset": False})


class _RecordedActions:
    """Plays back one player's recorded actions, one per call (the replay's human)."""

    def __init__(self, actions: np.ndarray) -> None:
        self.actions = actions
        self.step = 0

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        action = int(self.actions[self.step])
        self.step += 1
        return action


def replay(recording: EpisodeRecording, *, rerun_human: bool = False) -> Iterator[MbagEnv]:
    """Replay a recording through a fresh env, checking every step; yields the env after reset
    and after each step (read ``env.batch.state`` or call ``env.render()``).

    The env is built from the recorded configuration and goal, reset with the recorded seed,
    and set to the recorded initial state; the agent's recorded actions are stepped, and the
    human's either played back (default) or, with ``rerun_human``, chosen again by the recorded
    compiled :class:`~mbag_env.humans.HumanModel` (which must then choose the same actions).

    Raises:
        ReplayMismatchError: at the first step where actions, validity, edit-distance drops,
            rewards, edit distance, state digest or the end of the episode differ.
        ValueError: with ``rerun_human`` when the recorded human is not a HumanModel.
    """
    agent = recording.agent
    if rerun_human:
        human: Any = recording.human_model()
    else:
        human = _RecordedActions(recording.actions[:, 0]) if agent != 0 else None
    env = MbagEnv(recording.config.replace(goal=recording.goal), agent=agent, human_policy=human)
    env.reset(seed=recording.seed)
    _restore_initial_state(env, recording.initial_state)
    state = env.batch.state
    _expect(_row_digest(env) == int(recording.state_digests[0]), 0, "the state after reset")
    yield env
    for step in range(recording.num_steps):
        _, _, terminated, truncated, _ = env.step(int(recording.actions[step, agent]))
        players = state.player_ints[0]
        _expect(
            np.array_equal(players[:, PLAYER_LAST_ACTION], recording.actions[step]), step + 1, "the actions"
        )
        _expect(
            np.array_equal(players[:, PLAYER_LAST_VALID] != 0, recording.action_valid[step]),
            step + 1,
            "validity",
        )
        _expect(
            np.array_equal(players[:, PLAYER_LAST_DELTA], recording.action_delta[step]), step + 1, "the drops"
        )
        _expect(np.array_equal(env.batch.rewards[0], recording.rewards[step]), step + 1, "the rewards")
        _expect(
            state.env_ints[0, ENV_EDIT_DISTANCE] == recording.edit_distance[step + 1],
            step + 1,
            "edit distance",
        )
        _expect(_row_digest(env) == int(recording.state_digests[step + 1]), step + 1, "the world state")
        # a recording neither terminated nor truncated was stopped early (a person left mbag-play):
        # its env must not have ended at any step
        ends_here = step + 1 == recording.num_steps and (recording.terminated or recording.truncated)
        _expect((terminated or truncated) == ends_here, step + 1, "the end of the episode")
        yield env
    _expect(
        bool(state.env_ints[0, ENV_TERMINATED]) == recording.terminated, recording.num_steps, "terminated"
    )
    _expect(bool(state.env_ints[0, ENV_TRUNCATED]) == recording.truncated, recording.num_steps, "truncated")
    _expect(np.array_equal(state.blocks[0], recording.final_blocks), recording.num_steps, "the final world")


def _expect(condition: bool, step: int, what: str) -> None:
    if not condition:
        raise ReplayMismatchError(f"replay diverged from the recording at step {step}: {what} differ")


def verify_replay(recording: EpisodeRecording, *, rerun_human: bool = False) -> int:
    """Replay the whole recording (:func:`replay`) and return the number of steps checked.

    Raises:
        ReplayMismatchError: if the replay differs anywhere.
    """
    for _ in replay(recording, rerun_human=rerun_human):
        pass
    return recording.num_steps


def export_gif(
    recording: EpisodeRecording,
    path: str | Path,
    *,
    every: int = 1,
    fps: float = 10.0,
    cell_pixels: int = 12,
    show_goal: bool = True,
) -> Path:
    """Replay the recording and write an animated GIF of the world (isometric view) with
    :func:`~mbag_env.render.export.write_video`.

    Args:
        recording: the episode.
        path: the GIF file to write (a GIF whatever its suffix).
        every: keep every ``every``-th step (the last frame is always kept).
        fps: frames per second.
        cell_pixels: block size on screen (see :func:`~mbag_env.render.render_isometric`).
        show_goal: draw the goal's missing blocks as ghosts and wrong blocks tinted red.

    Raises:
        ImportError: when imageio is missing (``pip install 'mbag_env[render]'``).
        ValueError: on ``every < 1`` or ``fps <= 0``.
    """
    if every < 1 or fps <= 0:
        raise ValueError(f"every must be >= 1 and fps > 0, got every={every!r}, fps={fps!r}")
    from mbag_env.render import render_isometric

    goal = recording.goal if show_goal else None
    frames = (
        render_isometric(
            env.batch.state.blocks[0], env.batch.state.player_ints[0, :, :3], goal, cell_pixels=cell_pixels
        )
        for step, env in enumerate(replay(recording))
        if step % every == 0 or step == recording.num_steps
    )
    write_video(frames, path, fps, kind="gif")
    return Path(path)


def export_layer_images(
    recording: EpisodeRecording, folder: str | Path, *, step: int | None = None, cell_pixels: int = 24
) -> list[Path]:
    """Write one top-down PNG per y layer of the world after ``step`` (default: the last), with
    :func:`~mbag_env.render.export.write_layer_images`.

    Each image shows layer ``y`` seen from above, x to the right and z downward: blocks in their
    colours, cells the goal still wants as a pale version of the goal block, and wrong blocks
    outlined in red. Files are named ``layer_00.png``, ``layer_01.png``, ... (bottom first).

    Raises:
        ValueError: if ``step`` is outside ``[0, T]``.
    """
    last = recording.num_steps
    step = last if step is None else int(step)
    if not 0 <= step <= last:
        raise ValueError(f"step must be in [0, {last}], got {step}")
    blocks = None
    for index, env in enumerate(replay(recording)):
        if index == step:
            blocks = env.batch.state.blocks[0].copy()
            break
    assert blocks is not None
    return write_layer_images(blocks, recording.goal, folder, cell_pixels)

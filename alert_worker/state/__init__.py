"""Where the engine keeps alert state, pipeline state, silences and history."""

from alert_worker.state.base import GroupSnapshot, HistoryQuery, StateStore
from alert_worker.state.memory import MemoryStore
from alert_worker.state.redis_store import RedisStore

__all__ = ["GroupSnapshot", "HistoryQuery", "MemoryStore", "RedisStore", "StateStore"]

"""Planning: who is due, what they get, and one ``Delivery`` row each (the sharding and batching live here).

The due subscribers are split into shards (``plan_shards``: bounded runs of ascending ids, found
through the ``next_due_at`` index). ``deliveries_plan_shard`` plans one shard: it matches its
subscribers against the papers of their window (``PlanWindow``: the papers and their index, built
once per process and reused by every shard of the same window), writes one row each (UNIQUE
subscriber + slot, so planning twice plans nothing new), ``PLAN_BATCH`` rows per transaction, and
moves each subscriber's ``next_due_at`` to the following slot in the same transaction. The beat
queues one task per shard (any number of workers plan in parallel); ``deliveries_plan`` runs them
one after the other in-process (operators, ``make demo``, tests). Queueing the rows is the caller's
(``on_chunks``): this module imports no task.

The parts: ``runs`` (shards and the run they belong to), ``matching`` (what each subscriber gets) and
``shards`` (planning a shard, batch by batch).
"""

from digest.delivery.plan.matching import ContentMaker, match_candidates
from digest.delivery.plan.runs import (
    CUTTING,
    plan_shard_first,
    plan_shards,
    run_open_for_shards,
    run_planning_finish,
    run_shard_finish,
    run_shards_add,
)
from digest.delivery.plan.shards import (
    PLAN_BATCH,
    ChunksQueue,
    PlanResult,
    deliveries_plan,
    deliveries_plan_run_shard,
    deliveries_plan_shard,
    subscriptions_reschedule,
)

__all__ = [
    "CUTTING",
    "PLAN_BATCH",
    "ChunksQueue",
    "ContentMaker",
    "PlanResult",
    "deliveries_plan",
    "deliveries_plan_run_shard",
    "deliveries_plan_shard",
    "match_candidates",
    "plan_shard_first",
    "plan_shards",
    "run_open_for_shards",
    "run_planning_finish",
    "run_shard_finish",
    "run_shards_add",
    "subscriptions_reschedule",
]

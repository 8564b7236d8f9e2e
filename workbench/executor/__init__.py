"""The job executor: runs recorded runs in worker processes, with the run store as its queue.

`Executor.submit` records a run with status `queued` (in the `RunStore`) plus a row in the job table
(`jobs`: the `executor_jobs` table of the same SQLite file); the pool (`pool`) hands queued jobs to warm
worker processes, which train them (`worker`) so every step and epoch lands in the store, where pages and
notebooks read them."""

from .jobs import JOB_KINDS, JobTable, Progress, boot_id, fair_order
from .pool import CRASH_PAUSE_SECONDS, Executor, pid_alive
from .worker import execute_job, teacher_job_config

__all__ = [
    "CRASH_PAUSE_SECONDS",
    "JOB_KINDS",
    "Executor",
    "JobTable",
    "Progress",
    "boot_id",
    "execute_job",
    "fair_order",
    "pid_alive",
    "teacher_job_config",
]

"""Uploaded teachers on a shared server: a per-owner quota (files, megabytes) refused in one line, and expiry that
spares an upload a queued or running run still needs."""

import io
import os
import time

import pytest
import torch
from conftest import tiny_config

from workbench.errors import WorkbenchError
from workbench.store import RunStore
from workbench.teachers import find_teacher
from workbench.uploads import UploadLimits, accept_teacher_upload, expire_uploads, upload_owners


def teacher_bytes(variant=0):
    """A digits mlp teacher's state_dict file; each variant is a different file (one weight nudged)."""
    state = torch.load(find_teacher("mlp", "digits", 0).path, weights_only=True)
    state["classifier.bias"] = state["classifier.bias"] + variant * 1e-6
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def upload(folder, data, owner, limits, store=None):
    return accept_teacher_upload(
        data, "t.pt", "mlp", "digits", uploads_dir=folder, limit_mb=50, owner=owner, limits=limits, store=store
    )


def test_an_owner_over_the_upload_count_quota_is_refused_in_one_line(tmp_path):
    limits = UploadLimits(count=2)
    first = upload(tmp_path, teacher_bytes(0), "alice", limits)
    upload(tmp_path, teacher_bytes(1), "alice", limits)
    with pytest.raises(WorkbenchError, match=r"already keep 2 uploaded teachers .*\(2, KDW_UPLOAD_QUOTA_COUNT\)"):
        upload(tmp_path, teacher_bytes(2), "alice", limits)
    assert len(list(tmp_path.glob("*.pt"))) == 2
    assert upload(tmp_path, teacher_bytes(0), "alice", limits).path == first.path  # the same file again adds nothing
    shared = upload(tmp_path, teacher_bytes(0), "bob", limits)  # another owner has room; the file is kept once
    assert shared.path == first.path and upload_owners(first.path) == ["alice", "bob"]


def test_an_owner_over_the_upload_megabytes_quota_is_refused_in_one_line(tmp_path):
    size = len(teacher_bytes(0))
    limits = UploadLimits(megabytes=1.5 * size / 2**20)
    upload(tmp_path, teacher_bytes(0), "alice", limits)
    with pytest.raises(WorkbenchError, match=r"over the .* MB one session may keep \(KDW_UPLOAD_QUOTA_MB\)"):
        upload(tmp_path, teacher_bytes(1), "alice", limits)


def age(path, days):
    old = time.time() - days * 86400
    os.utime(path, (old, old))


def test_expiry_removes_old_uploads_but_not_one_a_queued_run_needs(tmp_path):
    folder, store = tmp_path / "uploads", RunStore(tmp_path / "runs")
    old, needed, fresh = (upload(folder, teacher_bytes(n), "alice", UploadLimits()).path for n in range(3))
    age(old, 10)
    age(needed, 10)
    store.create_run(tiny_config(teachers=["mlp"], teacher_checkpoint=str(needed)).to_dict())  # queued
    assert expire_uploads(folder, 7, store) == [old]
    assert not old.exists() and not old.with_suffix(".owners").exists()
    assert needed.exists() and fresh.exists()


def test_an_upload_expires_old_files_first_so_they_no_longer_count(tmp_path):
    limits = UploadLimits(count=1, days=7)
    old = upload(tmp_path, teacher_bytes(0), "alice", limits).path
    age(old, 8)
    kept = upload(tmp_path, teacher_bytes(1), "alice", limits).path
    assert not old.exists() and list(tmp_path.glob("*.pt")) == [kept]

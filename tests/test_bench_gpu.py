"""bench/bench_gpu.py's smoke mode: every path of the GPU benchmark runs on the CPU (it measures nothing)."""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_the_gpu_benchmark_runs_every_pair_and_the_grid_in_smoke_mode(monkeypatch, capsys, tmp_path):
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_gpu

    output = tmp_path / "RESULTS.md"
    monkeypatch.setattr(sys, "argv", ["bench_gpu.py", "--smoke", "--output", str(output)])
    bench_gpu.main()
    text = output.read_text()
    assert "## GPU throughput (issue 17 item 4)" in text
    for pair in ("cnn → lenet5_half", "resnet56 → resnet20"):
        assert f"| {pair} | workbench | fp32 | off |" in text and f"| {pair} | torchdistill |" in text
    assert "- cnn → lenet5_half: 1: " in text and ", 2: " in text  # a grid of 1, then of 2 stacked students
